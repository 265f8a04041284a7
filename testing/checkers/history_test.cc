#include "testing/checkers/history.h"

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pegasus/base/status.h"

namespace pegasus::checkers {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Bytes that are not text: a NUL, a byte that is not UTF-8, a quote.
const std::string kBinary("k\0\xff\"", 4);

bool SameOperation(const Operation& a, const Operation& b) {
  return a.client == b.client && a.kind == b.kind && a.hashkey == b.hashkey &&
         a.sortkeys == b.sortkeys && a.values == b.values && a.read == b.read &&
         a.increment == b.increment && a.new_value == b.new_value &&
         a.check_sortkey == b.check_sortkey && a.check_type == b.check_type &&
         a.check_operand == b.check_operand && a.set_sortkey == b.set_sortkey &&
         a.set_value == b.set_value && a.return_check_value == b.return_check_value &&
         a.check_succeeded == b.check_succeeded && a.check_value == b.check_value &&
         a.call_ns == b.call_ns && a.return_ns == b.return_ns && a.result == b.result &&
         a.error == b.error;
}

// An operation of `kind` with every field its kind uses, outputs only when
// ok, as the format carries it.
Operation Example(OpKind kind, OpResult result) {
  Operation op;
  op.client = 7;
  op.kind = kind;
  op.hashkey = kBinary + "h";
  op.call_ns = 1000;
  op.return_ns = 2000;
  op.result = result;
  if (result != OpResult::kOk) op.error = "PERR_TIMEOUT";
  const bool ok = result == OpResult::kOk;
  const bool multi =
      kind == OpKind::kMultiGet || kind == OpKind::kMultiSet || kind == OpKind::kMultiDel;
  if (kind != OpKind::kCheckAndSet) {
    op.sortkeys =
        multi ? std::vector<std::string>{"a", kBinary, ""} : std::vector<std::string>{kBinary};
  }
  if (kind == OpKind::kSet || kind == OpKind::kMultiSet) {
    for (size_t i = 0; i < op.sortkeys.size(); ++i) op.values.push_back(kBinary + "v");
    op.values[0] = "";
  }
  if ((kind == OpKind::kGet || kind == OpKind::kMultiGet) && ok) {
    op.read.push_back(std::nullopt);
    for (size_t i = 1; i < op.sortkeys.size(); ++i) op.read.push_back(kBinary);
    if (multi) op.read[2] = "";
  }
  if (kind == OpKind::kIncr) {
    op.increment = -5;
    if (ok) op.new_value = INT64_MIN;
  }
  if (kind == OpKind::kCheckAndSet) {
    op.check_sortkey = kBinary;
    op.check_type = 17;
    op.check_operand = "12";
    op.set_sortkey = "";
    op.set_value = kBinary;
    op.return_check_value = true;
    if (ok) {
      op.check_succeeded = true;
      op.check_value = kBinary;
    }
  }
  return op;
}

TEST(HistoryTest, EveryKindAndResultRoundTrips) {
  for (int kind = 0; kind < 8; ++kind) {
    for (OpResult result : {OpResult::kOk, OpResult::kFailed, OpResult::kUnknown}) {
      const Operation op = Example(static_cast<OpKind>(kind), result);
      const std::string line = FormatHistoryLine(op);
      absl::StatusOr<Operation> parsed = ParseHistoryLine(line);
      ASSERT_TRUE(parsed.ok()) << line << ": " << parsed.status();
      EXPECT_TRUE(SameOperation(op, *parsed)) << line;
      EXPECT_EQ(FormatHistoryLine(*parsed), line);
      EXPECT_EQ(line.find('\n'), std::string::npos);
    }
  }
}

TEST(HistoryTest, CheckAndSetWithAbsentCheckValueRoundTrips) {
  Operation op = Example(OpKind::kCheckAndSet, OpResult::kOk);
  op.check_value = std::nullopt;
  op.check_succeeded = false;
  absl::StatusOr<Operation> parsed = ParseHistoryLine(FormatHistoryLine(op));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(SameOperation(op, *parsed));
  EXPECT_THAT(FormatHistoryLine(op), HasSubstr("\"check_value\":null"));
}

TEST(HistoryTest, FormatsTheDocumentedLine) {
  Operation op;
  op.client = 3;
  op.kind = OpKind::kSet;
  op.hashkey = "user1";
  op.sortkeys = {"name"};
  op.values = {"ann"};
  op.call_ns = 100;
  op.return_ns = 250;
  EXPECT_EQ(FormatHistoryLine(op),
            R"({"client":3,"op":"set","hashkey":"dXNlcjE=","sortkeys":["bmFtZQ=="],)"
            R"("values":["YW5u"],"call_ns":100,"return_ns":250,"result":"ok"})");
}

TEST(HistoryTest, EmitsOnlyTheFieldsOfTheKindAndResult) {
  const std::string unknown_get = FormatHistoryLine(Example(OpKind::kGet, OpResult::kUnknown));
  EXPECT_THAT(unknown_get, Not(HasSubstr("\"read\"")));
  EXPECT_THAT(unknown_get, HasSubstr("\"error\":\"PERR_TIMEOUT\""));
  const std::string failed_incr = FormatHistoryLine(Example(OpKind::kIncr, OpResult::kFailed));
  EXPECT_THAT(failed_incr, HasSubstr("\"increment\":-5"));
  EXPECT_THAT(failed_incr, Not(HasSubstr("new_value")));
  const std::string cas = FormatHistoryLine(Example(OpKind::kCheckAndSet, OpResult::kOk));
  EXPECT_THAT(cas, Not(HasSubstr("sortkeys")));
  EXPECT_THAT(cas, Not(HasSubstr("values")));
  const std::string del = FormatHistoryLine(Example(OpKind::kDel, OpResult::kOk));
  EXPECT_THAT(del, Not(HasSubstr("check")));
  EXPECT_THAT(del, Not(HasSubstr("error")));
}

TEST(HistoryTest, ErrorTextThatIsNotUtf8IsReplacedNotFatal) {
  Operation op = Example(OpKind::kDel, OpResult::kFailed);
  op.error = "bad \xff byte";
  absl::StatusOr<Operation> parsed = ParseHistoryLine(FormatHistoryLine(op));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(parsed->error, HasSubstr("bad "));
}

TEST(HistoryTest, NamesEveryKindAndResult) {
  EXPECT_STREQ(OpKindName(OpKind::kMultiDel), "multi_del");
  EXPECT_STREQ(OpKindName(OpKind::kCheckAndSet), "check_and_set");
  EXPECT_STREQ(OpResultName(OpResult::kUnknown), "unknown");
}

// A valid line with `field` replaced by `json` (or removed, when empty).
std::string WithField(const Operation& op, const std::string& field, const std::string& json) {
  std::string line = FormatHistoryLine(op);
  const std::string key = "\"" + field + "\":";
  size_t begin = line.find(key);
  if (begin == std::string::npos) {
    return line.substr(0, line.size() - 1) + "," + key + json + "}";
  }
  // The value ends at the next top-level comma or the closing brace.
  size_t end = begin + key.size();
  for (int depth = 0; end < line.size(); ++end) {
    const char c = line[end];
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  if (json.empty()) {
    if (line[end] == ',') ++end;
    return line.substr(0, begin) + line.substr(end);
  }
  return line.substr(0, begin + key.size()) + json + line.substr(end);
}

void ExpectRejected(const std::string& line, const std::string& mention) {
  absl::StatusOr<Operation> parsed = ParseHistoryLine(line);
  ASSERT_FALSE(parsed.ok()) << line;
  EXPECT_TRUE(HasErrorCode(parsed.status(), ErrorCode::kInvalidArgument)) << parsed.status();
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(mention)) << line;
}

TEST(HistoryTest, RejectsLinesThatAreNotJsonObjects) {
  ExpectRejected("{\"client\":", "not JSON");
  ExpectRejected("[1,2]", "JSON object");
  ExpectRejected("7", "JSON object");
}

TEST(HistoryTest, RejectsMissingAndMistypedFields) {
  const Operation set = Example(OpKind::kSet, OpResult::kOk);
  ExpectRejected(WithField(set, "client", ""), "\"client\": missing");
  ExpectRejected(WithField(set, "client", "\"7\""), "\"client\": must be an integer");
  ExpectRejected(WithField(set, "client", "9223372036854775808"), "\"client\": does not fit");
  ExpectRejected(WithField(set, "call_ns", "1.5"), "\"call_ns\": must be an integer");
  ExpectRejected(WithField(set, "hashkey", "3"), "\"hashkey\": must be a base64 string");
  ExpectRejected(WithField(set, "sortkeys", "\"YQ==\""), "\"sortkeys\": must be an array");
  ExpectRejected(WithField(set, "sortkeys", "[null]"), "\"sortkeys[0]\"");
  ExpectRejected(WithField(set, "values", ""), "\"values\": missing");
  ExpectRejected(WithField(set, "error", "5"), "\"error\": must be a string");
  const Operation cas = Example(OpKind::kCheckAndSet, OpResult::kOk);
  ExpectRejected(WithField(cas, "return_check_value", "1"), "\"return_check_value\"");
  ExpectRejected(WithField(cas, "check_succeeded", ""), "\"check_succeeded\": missing");
  ExpectRejected(WithField(cas, "check_value", ""), "\"check_value\": missing");
  ExpectRejected(WithField(cas, "check_value", "7"), "\"check_value\"");
  const Operation incr = Example(OpKind::kIncr, OpResult::kOk);
  ExpectRejected(WithField(incr, "new_value", ""), "\"new_value\": missing");
  ExpectRejected(WithField(incr, "increment", "2.0"), "\"increment\"");
  const Operation get = Example(OpKind::kMultiGet, OpResult::kOk);
  ExpectRejected(WithField(get, "read", "[1, null, null]"), "\"read[0]\"");
}

TEST(HistoryTest, RejectsBadBase64) {
  const Operation set = Example(OpKind::kSet, OpResult::kOk);
  ExpectRejected(WithField(set, "hashkey", "\"@@@@\""), "\"hashkey\": not valid base64");
  ExpectRejected(WithField(set, "hashkey", "\"YQ\""), "\"hashkey\": not valid base64");
  ExpectRejected(WithField(set, "hashkey", "\"YR==\""), "\"hashkey\": not valid base64");
  ExpectRejected(WithField(set, "hashkey", "\"Y Q==\""), "\"hashkey\": not valid base64");
  ExpectRejected(WithField(set, "values", "[\"-_==\"]"), "\"values[0]\": not valid base64");
}

TEST(HistoryTest, RejectsUnknownOperationsAndResults) {
  const Operation get = Example(OpKind::kGet, OpResult::kOk);
  ExpectRejected(WithField(get, "op", "\"scan\""), "\"op\": unknown operation \"scan\"");
  ExpectRejected(WithField(get, "op", "1"), "\"op\": must be a string");
  ExpectRejected(WithField(get, "result", "\"timeout\""), "\"result\": unknown result");
}

TEST(HistoryTest, RejectsArraysOfTheWrongLength) {
  const Operation set = Example(OpKind::kMultiSet, OpResult::kOk);
  ExpectRejected(WithField(set, "values", "[\"YQ==\"]"), "\"values\": 1 values for 3 sortkeys");
  const Operation get = Example(OpKind::kMultiGet, OpResult::kOk);
  ExpectRejected(WithField(get, "read", "[null]"), "\"read\": 1 values read for 3 sortkeys");
  ExpectRejected(WithField(get, "sortkeys", "[]"), "\"sortkeys\": multi_get needs at least one");
  const Operation single = Example(OpKind::kGet, OpResult::kOk);
  ExpectRejected(WithField(single, "sortkeys", "[\"YQ==\",\"Yg==\"]"),
                 "\"sortkeys\": get needs exactly one sort key, not 2");
}

TEST(HistoryTest, RejectsReturnBeforeCall) {
  const Operation del = Example(OpKind::kDel, OpResult::kOk);
  ExpectRejected(WithField(del, "return_ns", "999"), "\"return_ns\": 999 is before call_ns 1000");
}

TEST(HistoryTest, RejectsCheckTypeOutOfRange) {
  const Operation cas = Example(OpKind::kCheckAndSet, OpResult::kFailed);
  ExpectRejected(WithField(cas, "check_type", "18"), "\"check_type\": 18 is not in 0..17");
  ExpectRejected(WithField(cas, "check_type", "-1"), "\"check_type\": -1 is not in 0..17");
  ExpectRejected(WithField(cas, "check_type", "\"1\""), "\"check_type\": must be an integer");
}

TEST(HistoryTest, IgnoresFieldsItDoesNotUse) {
  Operation get = Example(OpKind::kGet, OpResult::kFailed);
  absl::StatusOr<Operation> parsed = ParseHistoryLine(WithField(get, "future_field", "{\"a\":1}"));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(SameOperation(get, *parsed));
}

TEST(HistoryTest, ReadHistorySkipsBlankLinesAndNamesTheBadLine) {
  const std::string a = FormatHistoryLine(Example(OpKind::kSet, OpResult::kOk));
  const std::string b = FormatHistoryLine(Example(OpKind::kGet, OpResult::kOk));
  std::istringstream good(a + "\n\n  \n" + b + "\r\n");
  absl::StatusOr<std::vector<Operation>> ops = ReadHistory(good);
  ASSERT_TRUE(ops.ok()) << ops.status();
  ASSERT_EQ(ops->size(), 2u);
  EXPECT_EQ((*ops)[1].kind, OpKind::kGet);

  std::istringstream bad(a + "\n\n" + "{\"client\":1}\n" + b + "\n");
  ops = ReadHistory(bad);
  ASSERT_FALSE(ops.ok());
  EXPECT_THAT(std::string(ops.status().message()), HasSubstr("line 3: "));
}

TEST(HistoryTest, FileRoundTrips) {
  std::vector<Operation> ops;
  for (int kind = 0; kind < 8; ++kind)
    ops.push_back(Example(static_cast<OpKind>(kind), OpResult::kOk));
  const std::string path = ::testing::TempDir() + "/history_test.jsonl";
  ASSERT_TRUE(WriteHistoryFile(path, ops).ok());
  absl::StatusOr<std::vector<Operation>> read = ReadHistoryFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i) EXPECT_TRUE(SameOperation(ops[i], (*read)[i]));
  std::remove(path.c_str());
}

TEST(HistoryTest, MissingFileIsAnIoError) {
  absl::StatusOr<std::vector<Operation>> read =
      ReadHistoryFile(::testing::TempDir() + "/no_such_history.jsonl");
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(HasErrorCode(read.status(), ErrorCode::kIoError)) << read.status();
}

TEST(HistoryTest, ValidateOperationAcceptsEveryExample) {
  for (int kind = 0; kind < 8; ++kind) {
    for (OpResult result : {OpResult::kOk, OpResult::kFailed, OpResult::kUnknown}) {
      EXPECT_TRUE(ValidateOperation(Example(static_cast<OpKind>(kind), result)).ok());
    }
  }
}

}  // namespace
}  // namespace pegasus::checkers
