#include "pegasus/storage/predicates.h"

#include <limits>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"

namespace pegasus {
namespace {

TEST(ParseInt64Test, AcceptsWhatPegasusAccepts) {
  EXPECT_EQ(ParseInt64("123"), 123);
  EXPECT_EQ(ParseInt64("-5"), -5);
  EXPECT_EQ(ParseInt64("+7"), 7);
  EXPECT_EQ(ParseInt64(" 12"), 12);
  EXPECT_EQ(ParseInt64("\t7"), 7);
  EXPECT_EQ(ParseInt64("0x1f"), 31);
  EXPECT_EQ(ParseInt64("0X1F"), 31);
  EXPECT_EQ(ParseInt64("012"), 10);  // A leading 0 means octal.
  EXPECT_EQ(ParseInt64("0"), 0);
  EXPECT_EQ(ParseInt64("9223372036854775807"),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseInt64("-9223372036854775808"),
            std::numeric_limits<int64_t>::min());
}

TEST(ParseInt64Test, RejectsEverythingElse) {
  for (std::string bad : {std::string(""), std::string(" "), std::string("-"),
                          std::string("12 "), std::string("1a"), std::string("0x"),
                          std::string("08"), std::string("1.5"), std::string("abc"),
                          std::string("1\0" "2", 3), std::string("9223372036854775808"),
                          std::string("-9223372036854775809")}) {
    EXPECT_FALSE(ParseInt64(bad).has_value()) << "'" << bad << "'";
  }
}

TEST(MatchesFilterTest, EachTypeAndEmptyPattern) {
  EXPECT_TRUE(MatchesFilter(FilterType::kNoFilter, "zzz", "abc"));
  EXPECT_TRUE(MatchesFilter(FilterType::kMatchAnywhere, "", "abc"));
  EXPECT_TRUE(MatchesFilter(FilterType::kMatchAnywhere, "b", "abc"));
  EXPECT_FALSE(MatchesFilter(FilterType::kMatchAnywhere, "d", "abc"));
  EXPECT_TRUE(MatchesFilter(FilterType::kMatchPrefix, "ab", "abc"));
  EXPECT_FALSE(MatchesFilter(FilterType::kMatchPrefix, "bc", "abc"));
  EXPECT_TRUE(MatchesFilter(FilterType::kMatchPostfix, "bc", "abc"));
  EXPECT_FALSE(MatchesFilter(FilterType::kMatchPostfix, "ab", "abc"));
  EXPECT_FALSE(MatchesFilter(FilterType::kMatchPrefix, "abcd", "abc"));
  EXPECT_TRUE(MatchesFilter(FilterType::kMatchAnywhere, std::string("\0", 1),
                            std::string("a\0b", 3)));
}

TEST(ValidTypesTest, RangesMatchPegasusEnums) {
  EXPECT_TRUE(IsValidFilterType(FilterType::kMatchPostfix));
  EXPECT_FALSE(IsValidFilterType(static_cast<FilterType>(4)));
  EXPECT_FALSE(IsValidFilterType(static_cast<FilterType>(-1)));
  EXPECT_TRUE(IsValidCheckType(CheckType::kValueIntGreater));
  EXPECT_FALSE(IsValidCheckType(static_cast<CheckType>(18)));
  EXPECT_FALSE(IsValidCheckType(static_cast<CheckType>(-1)));
}

TEST(ValidateHashKeyTest, RejectsEmptyAndTooLong) {
  EXPECT_TRUE(ValidateHashKey("h").ok());
  EXPECT_TRUE(ValidateHashKey(std::string(65534, 'h')).ok());
  EXPECT_EQ(ToErrorCode(ValidateHashKey("")), ErrorCode::kInvalidHashKey);
  EXPECT_EQ(ToErrorCode(ValidateHashKey(std::string(65535, 'h'))),
            ErrorCode::kInvalidHashKey);
  EXPECT_EQ(ToErrorCode(ValidateHashKey(std::string(70000, 'h'))),
            ErrorCode::kInvalidHashKey);
}

struct CheckCase {
  CheckType type;
  std::string operand;
  bool exists;
  std::string value;
  CheckResult expected;
};

constexpr auto kPass = CheckResult::kPassed;
constexpr auto kFail = CheckResult::kFailed;
constexpr auto kBad = CheckResult::kInvalidArgument;

TEST(EvaluateCheckTest, EveryCheckType) {
  using C = CheckType;
  const CheckCase cases[] = {
      {C::kNoCheck, "", false, "", kPass},
      {C::kNoCheck, "", true, "x", kPass},
      {C::kValueNotExist, "", false, "", kPass},
      {C::kValueNotExist, "", true, "", kFail},
      {C::kValueNotExistOrEmpty, "", false, "", kPass},
      {C::kValueNotExistOrEmpty, "", true, "", kPass},
      {C::kValueNotExistOrEmpty, "", true, "x", kFail},
      {C::kValueExist, "", true, "", kPass},
      {C::kValueExist, "", false, "", kFail},
      {C::kValueNotEmpty, "", true, "x", kPass},
      {C::kValueNotEmpty, "", true, "", kFail},
      {C::kValueNotEmpty, "", false, "", kFail},
      {C::kValueMatchAnywhere, "ell", true, "hello", kPass},
      {C::kValueMatchAnywhere, "xyz", true, "hello", kFail},
      {C::kValueMatchAnywhere, "", true, "hello", kPass},
      {C::kValueMatchAnywhere, "", false, "", kFail},
      {C::kValueMatchPrefix, "he", true, "hello", kPass},
      {C::kValueMatchPrefix, "lo", true, "hello", kFail},
      {C::kValueMatchPrefix, "hello!", true, "hello", kFail},
      {C::kValueMatchPostfix, "lo", true, "hello", kPass},
      {C::kValueMatchPostfix, "he", true, "hello", kFail},
      {C::kValueBytesLess, "b", true, "a", kPass},
      {C::kValueBytesLess, "a", true, "a", kFail},
      {C::kValueBytesLess, "ab", true, "a", kPass},  // A prefix is smaller.
      {C::kValueBytesLess, "\x80", true, "\x7f", kPass},  // Unsigned bytes.
      {C::kValueBytesLess, "b", false, "", kFail},
      {C::kValueBytesLessOrEqual, "a", true, "a", kPass},
      {C::kValueBytesLessOrEqual, "a", true, "b", kFail},
      {C::kValueBytesEqual, "abc", true, "abc", kPass},
      {C::kValueBytesEqual, "abc", true, "abd", kFail},
      {C::kValueBytesEqual, "", true, "", kPass},
      {C::kValueBytesEqual, "", false, "", kFail},
      {C::kValueBytesGreaterOrEqual, "a", true, "a", kPass},
      {C::kValueBytesGreaterOrEqual, "b", true, "a", kFail},
      {C::kValueBytesGreater, "a", true, "b", kPass},
      {C::kValueBytesGreater, "\x7f", true, "\x80", kPass},
      {C::kValueBytesGreater, "b", true, "b", kFail},
      {C::kValueIntLess, "10", true, "9", kPass},  // Bytewise "9" > "10".
      {C::kValueIntLess, "9", true, "10", kFail},
      {C::kValueIntLess, "1", false, "", kFail},  // Missing: no parse at all.
      {C::kValueIntLessOrEqual, "-3", true, "-3", kPass},
      {C::kValueIntLessOrEqual, "-4", true, "-3", kFail},
      {C::kValueIntEqual, "0x10", true, "16", kPass},
      {C::kValueIntEqual, "16", true, "15", kFail},
      {C::kValueIntGreaterOrEqual, "5", true, "5", kPass},
      {C::kValueIntGreaterOrEqual, "6", true, "5", kFail},
      {C::kValueIntGreater, "5", true, "6", kPass},
      {C::kValueIntGreater, "6", true, "6", kFail},
      {C::kValueIntEqual, "1", true, "one", kBad},
      {C::kValueIntEqual, "1", true, "", kBad},
      {C::kValueIntEqual, "one", true, "1", kBad},
      {C::kValueIntGreater, "x", true, "y", kBad},
  };
  for (const CheckCase& c : cases) {
    EXPECT_EQ(EvaluateCheck(c.type, c.operand, c.exists, c.value), c.expected)
        << "type " << static_cast<int>(c.type) << " operand '" << c.operand
        << "' exists " << c.exists << " value '" << c.value << "'";
  }
  // All 18 types are covered.
  std::set<int> covered;
  for (const CheckCase& c : cases) covered.insert(static_cast<int>(c.type));
  EXPECT_EQ(covered.size(), 18u);
}

}  // namespace
}  // namespace pegasus
