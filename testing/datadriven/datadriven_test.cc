#include "testing/datadriven/datadriven.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"

namespace pegasus::datadriven {
namespace {

std::vector<TestCase> Parse(absl::string_view content) {
  auto cases = ParseTestFile("t.txt", content);
  EXPECT_TRUE(cases.ok()) << cases.status();
  return cases.ok() ? *std::move(cases) : std::vector<TestCase>{};
}

std::string TempPath(absl::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

void Write(const std::string& path, absl::string_view content) {
  std::ofstream(path, std::ios::trunc) << content;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs `body`, returning the messages of the gtest failures it reported
// instead of failing the test.
template <typename Body>
std::vector<std::string> Failures(Body body) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::
            INTERCEPT_ONLY_CURRENT_THREAD,
        &results);
    body();
  }
  std::vector<std::string> out;
  for (int i = 0; i < results.size(); ++i) {
    const ::testing::TestPartResult& result = results.GetTestPartResult(i);
    out.push_back(
        absl::StrCat(result.file_name() ? result.file_name() : "?", ":",
                     result.line_number(), ": ",
                     absl::StripPrefix(result.message(), "Failed\n")));
  }
  return out;
}

TEST(ParseTestFileTest, ReadsCommandsArgumentsInputAndOutput) {
  auto cases = Parse(
      "# A comment.\n"
      "\n"
      "write node=1 keys=(a, b) empty=() drop label=\"x y\"\n"
      "input one\n"
      "input two\n"
      "----\n"
      "out 1\n"
      "out 2\n"
      "\n"
      "status\n"
      "----\n"
      "\n"
      "show\n"
      "----\n"
      "----\n"
      "a\n"
      "\n"
      "b\n"
      "----\n"
      "----\n");
  ASSERT_EQ(cases.size(), 3u);
  const TestCase& write = cases[0];
  EXPECT_EQ(write.command(), "write");
  EXPECT_EQ(write.line(), 3);
  EXPECT_EQ(write.Position(), "t.txt:3");
  EXPECT_EQ(write.Int("node"), 1);
  EXPECT_EQ(write.Strings("keys"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(write.HasArg("empty"));
  EXPECT_TRUE(write.Strings("empty").empty());
  EXPECT_EQ(write.String("label"), "x y");
  EXPECT_EQ(write.Positional(), std::vector<std::string>{"drop"});
  EXPECT_EQ(write.input(),
            (std::vector<std::string>{"input one", "input two"}));
  EXPECT_EQ(write.expected(), "out 1\nout 2\n");
  EXPECT_TRUE(write.ok());
  EXPECT_TRUE(write.UnusedArgs().empty());

  EXPECT_EQ(cases[1].command(), "status");
  EXPECT_EQ(cases[1].expected(), "");
  EXPECT_EQ(cases[2].expected(), "a\n\nb\n");
}

TEST(ParseTestFileTest, ErrorsNameTheFileAndLine) {
  auto expect_error = [](absl::string_view content, absl::string_view what) {
    auto cases = ParseTestFile("f.txt", content);
    ASSERT_FALSE(cases.ok());
    EXPECT_NE(cases.status().message().find(what), std::string::npos)
        << cases.status();
  };
  expect_error("\ncmd a=1\nno separator\n", "f.txt:2: no ----");
  expect_error("cmd a=(1, 2\n----\n", "f.txt:1: unbalanced '('");
  expect_error("cmd a=1)\n----\n", "f.txt:1: unbalanced ')'");
  expect_error("cmd a=1 a=2\n----\n", "f.txt:1: argument `a` is repeated");
  expect_error("cmd =1\n----\n", "f.txt:1: argument `=1` has no key");
  expect_error("cmd a=(1,,2)\n----\n", "f.txt:1: argument `a=(1,,2)`");
  expect_error("cmd a=\"x\n----\n", "f.txt:1: unterminated");
  expect_error("x\n----\n\ncmd\n----\n----\nout\n", "f.txt:4: the output");
}

TEST(TestCaseTest, BadArgumentsAreRecordedNotFatal) {
  auto cases = Parse("cmd n=x list=(1,y) flag=maybe many=(1,2)\n----\n");
  const TestCase& test = cases[0];
  EXPECT_EQ(test.Int("n", 7), 7);
  EXPECT_EQ(test.Int("missing"), 0);
  EXPECT_TRUE(test.Ints("list").empty());
  EXPECT_TRUE(test.Bool("flag", true));
  EXPECT_EQ(test.Int("many", 3), 3);
  EXPECT_FALSE(test.ok());
  EXPECT_EQ(test.errors(), (std::vector<std::string>{
                               "argument n=x is not an integer",
                               "missing argument missing=",
                               "argument list: y is not an integer",
                               "argument flag=maybe is not a boolean",
                               "argument many takes one value, not 2",
                           }));
}

TEST(TestCaseTest, ReportsArgumentsNeverAskedFor) {
  auto cases = Parse("cmd used=1 typo=2 word other\n----\n");
  const TestCase& test = cases[0];
  EXPECT_EQ(test.Int("used"), 1);
  EXPECT_TRUE(test.HasWord("word"));
  EXPECT_FALSE(test.HasWord("missing"));
  EXPECT_EQ(test.UnusedArgs(), (std::vector<std::string>{
                                   "unknown argument typo=",
                                   "unexpected word other",
                               }));
}

TEST(FormatOutputTest, BlankLinesUseTheDoubleSeparator) {
  EXPECT_EQ(FormatOutput(""), "");
  EXPECT_EQ(FormatOutput("a"), "a\n");
  EXPECT_EQ(FormatOutput("a\nb\n"), "a\nb\n");
  EXPECT_EQ(FormatOutput("a\n\nb"), "----\na\n\nb\n----\n----\n");
  EXPECT_EQ(FormatOutput("----\nx\n"), "----\n----\nx\n----\n----\n");
}

TEST(RewriteTestFileTest, ReplacesOutputsAndKeepsEverythingElse) {
  const std::string content =
      "# Comment one.\n"
      "a x=1\n"
      "in\n"
      "----\n"
      "old a\n"
      "\n"
      "# Comment two.\n"
      "b\n"
      "----\n"
      "\n"
      "c\n"
      "----\n"
      "----\n"
      "old\n"
      "\n"
      "c\n"
      "----\n"
      "----\n"
      "# Comment three, right after the output.\n"
      "d\n"
      "----\n"
      "old d\n";
  auto cases = Parse(content);
  ASSERT_EQ(cases.size(), 4u);
  std::vector<std::string> same;
  for (const TestCase& test : cases) same.push_back(test.expected());
  EXPECT_EQ(RewriteTestFile(content, cases, same), content);
  EXPECT_EQ(RewriteTestFile(content, cases,
                            {"new a\n\nwith blank", "b out", "single", ""}),
            "# Comment one.\n"
            "a x=1\n"
            "in\n"
            "----\n"
            "----\n"
            "new a\n"
            "\n"
            "with blank\n"
            "----\n"
            "----\n"
            "\n"
            "# Comment two.\n"
            "b\n"
            "----\n"
            "b out\n"
            "\n"
            "c\n"
            "----\n"
            "single\n"
            "\n"
            "# Comment three, right after the output.\n"
            "d\n"
            "----\n");
}

TEST(DiffTest, ShowsChangedLinesWithContext) {
  EXPECT_EQ(Diff("a\nb\nc\nd\ne\nf\ng\nh\ni\n", "a\nb\nc\nd\nX\nf\ng\nh\ni\n"),
            "--- expected\n"
            "+++ actual\n"
            "@@ -2,7 +2,7 @@\n"
            " b\n"
            " c\n"
            " d\n"
            "-e\n"
            "+X\n"
            " f\n"
            " g\n"
            " h\n");
  EXPECT_EQ(Diff("a\n", "a\nb\n"),
            "--- expected\n+++ actual\n@@ -1,1 +1,2 @@\n a\n+b\n");
}

TEST(RunTestTest, ReportsMismatchesAtTheirLine) {
  const std::string path = TempPath("mismatch.txt");
  Write(path,
        "echo text=one\n"
        "----\n"
        "one\n"
        "\n"
        "echo text=two\n"
        "----\n"
        "three\n");
  std::vector<std::string> commands;
  std::vector<std::string> failures = Failures([&] {
    RunTest(path, [&](const TestCase& test) {
      commands.push_back(test.command());
      return test.String("text");
    });
  });
  EXPECT_EQ(commands.size(), 2u);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find(path + ":5: the output of `echo text=two`"),
            std::string::npos)
      << failures[0];
  EXPECT_NE(failures[0].find("-three\n+two\n"), std::string::npos)
      << failures[0];
}

TEST(RunTestTest, BadArgumentsFailTheCaseAndTheRunGoesOn) {
  const std::string path = TempPath("bad_argument.txt");
  Write(path,
        "add a=1 b=x\n"
        "----\n"
        "1\n"
        "\n"
        "add a=1 b=2 c=3\n"
        "----\n"
        "3\n"
        "\n"
        "nope\n"
        "----\n"
        "\n"
        "add a=2 b=2\n"
        "----\n"
        "4\n");
  std::vector<std::string> failures = Failures([&] {
    RunTest(path, [](const TestCase& test) -> std::string {
      if (test.command() != "add") {
        test.Fail("unknown command");
        return "";
      }
      const int64_t a = test.Int("a");
      const int64_t b = test.Int("b");
      if (!test.ok()) return "";
      return absl::StrCat(a + b);
    });
  });
  ASSERT_EQ(failures.size(), 3u) << absl::StrJoin(failures, "\n");
  EXPECT_NE(failures[0].find(path + ":1: add a=1 b=x\n  argument b=x is not"),
            std::string::npos)
      << failures[0];
  EXPECT_NE(
      failures[1].find(path + ":5: add a=1 b=2 c=3\n  unknown argument c="),
      std::string::npos)
      << failures[1];
  EXPECT_NE(failures[2].find(path + ":9: nope\n  unknown command"),
            std::string::npos)
      << failures[2];
}

TEST(RunTestTest, RewriteWritesActualOutputs) {
  const std::string path = TempPath("rewrite.txt");
  const std::string original =
      "# Doubles its input.\n"
      "double\n"
      "a\n"
      "----\n"
      "stale\n"
      "\n"
      "double\n"
      "b\n"
      "----\n";
  Write(path, original);
  SetRewrite(true);
  std::vector<std::string> failures = Failures([&] {
    RunTest(path, [](const TestCase& test) {
      return absl::StrCat(test.input()[0], "\n\n", test.input()[0]);
    });
  });
  SetRewrite(false);
  EXPECT_TRUE(failures.empty()) << absl::StrJoin(failures, "\n");
  const std::string rewritten = Read(path);
  EXPECT_EQ(rewritten,
            "# Doubles its input.\n"
            "double\n"
            "a\n"
            "----\n"
            "----\n"
            "a\n"
            "\n"
            "a\n"
            "----\n"
            "----\n"
            "\n"
            "double\n"
            "b\n"
            "----\n"
            "----\n"
            "b\n"
            "\n"
            "b\n"
            "----\n"
            "----\n");
  // The rewritten file passes as it is.
  failures = Failures([&] {
    RunTest(path, [](const TestCase& test) {
      return absl::StrCat(test.input()[0], "\n\n", test.input()[0]);
    });
  });
  EXPECT_TRUE(failures.empty()) << absl::StrJoin(failures, "\n");
}

TEST(RunTestTest, MissingFileFails) {
  std::vector<std::string> failures = Failures([&] {
    RunTest(TempPath("absent.txt"),
            [](const TestCase&) { return std::string(); });
  });
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("cannot open"), std::string::npos);
}

// The library's own data-driven file: `args` prints how each input line
// parses as a command line.
TEST(DataDrivenFileTest, Args) {
  RunTest("testing/datadriven/testdata/args.txt", [](const TestCase& test) {
    std::string out;
    for (const std::string& line : test.input()) {
      auto cases = ParseTestFile("input", absl::StrCat(line, "\n----\n"));
      if (!cases.ok()) {
        absl::StrAppend(&out, "error: ", cases.status().message(), "\n");
        continue;
      }
      const TestCase& parsed = (*cases)[0];
      absl::StrAppend(&out, parsed.command(), ":");
      for (const Arg& arg : parsed.args()) {
        if (!arg.has_value) {
          absl::StrAppend(&out, " word[", arg.key, "]");
        } else if (arg.is_list) {
          absl::StrAppend(&out, " ", arg.key, "=list[",
                          absl::StrJoin(arg.values, "|"), "]");
        } else {
          absl::StrAppend(&out, " ", arg.key, "=[", arg.values[0], "]");
        }
      }
      absl::StrAppend(&out, "\n");
    }
    return out;
  });
}

TEST(ListTestFilesTest, ListsMatchingFilesSorted) {
  auto files = ListTestFiles("testing/datadriven/testdata");
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(*files,
            std::vector<std::string>{"testing/datadriven/testdata/args.txt"});
  EXPECT_FALSE(ListTestFiles("testing/datadriven/absent").ok());
}

}  // namespace
}  // namespace pegasus::datadriven
