#include "daemons/shell/args.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"

namespace pegasus::shell {
namespace {

std::vector<std::string> Tokens(const std::string& line) {
  absl::StatusOr<std::vector<std::string>> tokens = Tokenize(line);
  EXPECT_TRUE(tokens.ok()) << line << ": " << tokens.status();
  return tokens.ok() ? *tokens : std::vector<std::string>{};
}

TEST(ArgsTest, TokensSplitAtBlanksOutsideQuotes) {
  EXPECT_EQ(Tokens("  set  a b\tc "),
            (std::vector<std::string>{"set", "a", "b", "c"}));
  EXPECT_EQ(Tokens("set \"a b\" 'c d' e\\ f"),
            (std::vector<std::string>{"set", "a b", "c d", "e f"}));
  EXPECT_EQ(Tokens("get \"\" ''"), (std::vector<std::string>{"get", "", ""}));
  EXPECT_EQ(Tokens("x\"y\"z"), (std::vector<std::string>{"xyz"}));
  EXPECT_TRUE(Tokens("").empty());
}

TEST(ArgsTest, EscapesSpellAnyByte) {
  EXPECT_EQ(Tokens("\"\\x00\\x7f\\xFF\\n\\t\\\\\\\"\""),
            (std::vector<std::string>{std::string("\0\x7f\xff\n\t\\\"", 7)}));
  // Single quotes take everything as it is.
  EXPECT_EQ(Tokens("'\\x00'"), (std::vector<std::string>{"\\x00"}));
}

TEST(ArgsTest, BadLinesAreRefusedWithTheReason) {
  for (const char* bad :
       {"set \"open", "set 'open", "a\\", "\\q", "\\x0", "\"\\xZZ\""}) {
    absl::StatusOr<std::vector<std::string>> tokens = Tokenize(bad);
    EXPECT_FALSE(tokens.ok()) << bad;
    EXPECT_TRUE(HasErrorCode(tokens.status(), ErrorCode::kInvalidArgument));
  }
}

TEST(ArgsTest, EscapedBytesReadBackAsThemselves) {
  SeededRandom random(42);
  for (int round = 0; round < 500; ++round) {
    std::string bytes(random.Uniform(20), '\0');
    for (char& c : bytes) c = static_cast<char>(random.Uniform(256));
    const std::string printed = Escape(bytes);
    for (char c : printed) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "unprintable in " << printed;
    }
    EXPECT_EQ(Tokens(printed), std::vector<std::string>{bytes}) << printed;
  }
}

TEST(ArgsTest, ScriptsSplitAtSemicolonsOutsideQuotes) {
  EXPECT_EQ(SplitCommands("use t; set a b \"c;d\"; get 'x;y' z\\;w"),
            (std::vector<std::string>{"use t", " set a b \"c;d\"",
                                      " get 'x;y' z\\;w"}));
}

TEST(ArgsTest, OptionsAndPositionalArguments) {
  OptionSpec spec;
  spec.valued = {{"-p", "partitions"}, {"--partition_count", "partitions"}};
  spec.flags = {{"--success_if_exist", "exist_ok"}};
  absl::StatusOr<Args> args = ParseArgs(
      {"temp", "-p", "8", "--success_if_exist", "-5", "--", "--literal"}, spec);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->positional,
            (std::vector<std::string>{"temp", "-5", "--literal"}));
  EXPECT_EQ(*args->GetInt("partitions", 4), 8);
  EXPECT_TRUE(args->Has("exist_ok"));
  args = ParseArgs({"--partition_count=16"}, spec);
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(*args->GetInt("partitions", 4), 16);
  EXPECT_EQ(*args->GetInt("missing", 4), 4);

  EXPECT_FALSE(ParseArgs({"--nope"}, spec).ok());
  EXPECT_FALSE(ParseArgs({"-p"}, spec).ok());
  EXPECT_FALSE(ParseArgs({"--success_if_exist=1"}, spec).ok());
  args = ParseArgs({"-p", "eight"}, spec);
  ASSERT_TRUE(args.ok());
  EXPECT_FALSE(args->GetInt("partitions", 4).ok());
}

}  // namespace
}  // namespace pegasus::shell
