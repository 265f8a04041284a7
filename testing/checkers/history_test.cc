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
         a.mutate_values == b.mutate_values && a.start_sortkey == b.start_sortkey &&
         a.stop_sortkey == b.stop_sortkey && a.read_sortkeys == b.read_sortkeys &&
         a.incomplete == b.incomplete && a.count == b.count && a.exists == b.exists &&
         a.call_ns == b.call_ns && a.return_ns == b.return_ns && a.result == b.result &&
         a.error == b.error;
}

constexpr int kKinds = 12;

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
  const bool multi = kind == OpKind::kMultiGet || kind == OpKind::kMultiSet ||
                     kind == OpKind::kMultiDel || kind == OpKind::kCheckAndMutate;
  if (kind != OpKind::kCheckAndSet && kind != OpKind::kMultiGetRange &&
      kind != OpKind::kSortkeyCount) {
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
  if (kind == OpKind::kCheckAndSet || kind == OpKind::kCheckAndMutate) {
    op.check_sortkey = kBinary;
    op.check_type = 17;
    op.check_operand = "12";
    op.return_check_value = true;
    if (ok) {
      op.check_succeeded = true;
      op.check_value = kBinary;
    }
  }
  if (kind == OpKind::kCheckAndSet) {
    op.set_sortkey = "";
    op.set_value = kBinary;
  }
  if (kind == OpKind::kCheckAndMutate) op.mutate_values = {kBinary, std::nullopt, ""};
  if (kind == OpKind::kMultiGetRange) {
    op.start_sortkey = kBinary;
    op.stop_sortkey = "";
    if (ok) {
      op.read_sortkeys = {kBinary, kBinary + "z"};
      op.read = {"", kBinary};
      op.incomplete = true;
    }
  }
  if (kind == OpKind::kSortkeyCount && ok) op.count = 3;
  if (kind == OpKind::kExist && ok) op.exists = true;
  return op;
}

TEST(HistoryTest, EveryKindAndResultRoundTrips) {
  for (int kind = 0; kind < kKinds; ++kind) {
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

TEST(HistoryTest, FormatsTheDocumentedLinesOfTheMultiKeyKinds) {
  Operation cam;
  cam.client = 3;
  cam.kind = OpKind::kCheckAndMutate;
  cam.hashkey = "user1";
  cam.check_sortkey = "age";
  cam.check_type = 3;
  cam.sortkeys = {"badge", "name"};
  cam.mutate_values = {"ok", std::nullopt};
  cam.return_check_value = true;
  cam.check_succeeded = true;
  cam.check_value = "32";
  cam.call_ns = 5000;
  cam.return_ns = 5400;
  EXPECT_EQ(FormatHistoryLine(cam),
            R"({"client":3,"op":"check_and_mutate","hashkey":"dXNlcjE=","sortkeys":["YmFkZ2U=",)"
            R"("bmFtZQ=="],"check_sortkey":"YWdl","check_type":3,"check_operand":"",)"
            R"("mutate_values":["b2s=",null],"return_check_value":true,"check_succeeded":true,)"
            R"("check_value":"MzI=","call_ns":5000,"return_ns":5400,"result":"ok"})");
  Operation range;
  range.client = 2;
  range.kind = OpKind::kMultiGetRange;
  range.hashkey = "user1";
  range.start_sortkey = "b";
  range.read_sortkeys = {"badge", "city"};
  range.read = {"ok", ""};
  range.call_ns = 6000;
  range.return_ns = 6300;
  EXPECT_EQ(FormatHistoryLine(range),
            R"({"client":2,"op":"multi_get_range","hashkey":"dXNlcjE=","start_sortkey":"Yg==",)"
            R"("stop_sortkey":"","read_sortkeys":["YmFkZ2U=","Y2l0eQ=="],"read":["b2s=",""],)"
            R"("incomplete":false,"call_ns":6000,"return_ns":6300,"result":"ok"})");
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
  const std::string cam = FormatHistoryLine(Example(OpKind::kCheckAndMutate, OpResult::kUnknown));
  EXPECT_THAT(cam, HasSubstr("\"mutate_values\""));
  EXPECT_THAT(cam, Not(HasSubstr("set_")));
  EXPECT_THAT(cam, Not(HasSubstr("check_succeeded")));
  const std::string range = FormatHistoryLine(Example(OpKind::kMultiGetRange, OpResult::kFailed));
  EXPECT_THAT(range, HasSubstr("\"stop_sortkey\""));
  EXPECT_THAT(range, Not(HasSubstr("sortkeys")));
  EXPECT_THAT(range, Not(HasSubstr("read")));
  EXPECT_THAT(range, Not(HasSubstr("incomplete")));
  const std::string count = FormatHistoryLine(Example(OpKind::kSortkeyCount, OpResult::kOk));
  EXPECT_THAT(count, HasSubstr("\"count\":3"));
  EXPECT_THAT(count, Not(HasSubstr("sortkeys")));
  EXPECT_THAT(FormatHistoryLine(Example(OpKind::kExist, OpResult::kUnknown)),
              Not(HasSubstr("exists")));
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
  EXPECT_STREQ(OpKindName(OpKind::kCheckAndMutate), "check_and_mutate");
  EXPECT_STREQ(OpKindName(OpKind::kMultiGetRange), "multi_get_range");
  EXPECT_STREQ(OpKindName(OpKind::kSortkeyCount), "sortkey_count");
  EXPECT_STREQ(OpKindName(OpKind::kExist), "exist");
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
  const Operation cam = Example(OpKind::kCheckAndMutate, OpResult::kOk);
  ExpectRejected(WithField(cam, "mutate_values", ""), "\"mutate_values\": missing");
  ExpectRejected(WithField(cam, "mutate_values", "[1,null,null]"), "\"mutate_values[0]\"");
  ExpectRejected(WithField(cam, "check_succeeded", ""), "\"check_succeeded\": missing");
  ExpectRejected(WithField(cam, "sortkeys", ""), "\"sortkeys\": missing");
  const Operation range = Example(OpKind::kMultiGetRange, OpResult::kOk);
  ExpectRejected(WithField(range, "start_sortkey", ""), "\"start_sortkey\": missing");
  ExpectRejected(WithField(range, "stop_sortkey", "null"), "\"stop_sortkey\"");
  ExpectRejected(WithField(range, "read_sortkeys", ""), "\"read_sortkeys\": missing");
  ExpectRejected(WithField(range, "incomplete", ""), "\"incomplete\": missing");
  ExpectRejected(WithField(range, "incomplete", "0"), "\"incomplete\": must be true or false");
  ExpectRejected(WithField(Example(OpKind::kSortkeyCount, OpResult::kOk), "count", "\"3\""),
                 "\"count\": must be an integer");
  ExpectRejected(WithField(Example(OpKind::kExist, OpResult::kOk), "exists", ""),
                 "\"exists\": missing");
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
  const Operation cam = Example(OpKind::kCheckAndMutate, OpResult::kOk);
  ExpectRejected(WithField(cam, "mutate_values", "[null]"),
                 "\"mutate_values\": 1 mutations for 3 sortkeys");
  ExpectRejected(WithField(cam, "sortkeys", "[]"),
                 "\"sortkeys\": check_and_mutate needs at least one");
  const Operation range = Example(OpKind::kMultiGetRange, OpResult::kOk);
  ExpectRejected(WithField(range, "read", "[\"\"]"), "\"read\": 1 values read for 2 read_sortkeys");
  ExpectRejected(WithField(range, "read", "[\"\",null]"),
                 "\"read[1]\": a row returned has a value");
}

TEST(HistoryTest, ValidateOperationRejectsSortkeysWhereTheKindTakesNone) {
  Operation count = Example(OpKind::kSortkeyCount, OpResult::kOk);
  count.sortkeys = {"a"};
  absl::Status status = ValidateOperation(count);
  EXPECT_TRUE(HasErrorCode(status, ErrorCode::kInvalidArgument)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("sortkey_count takes no sort keys"));
  Operation range = Example(OpKind::kMultiGetRange, OpResult::kFailed);
  range.sortkeys = {"a"};
  EXPECT_FALSE(ValidateOperation(range).ok());
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
  for (int kind = 0; kind < kKinds; ++kind)
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
  for (int kind = 0; kind < kKinds; ++kind) {
    for (OpResult result : {OpResult::kOk, OpResult::kFailed, OpResult::kUnknown}) {
      EXPECT_TRUE(ValidateOperation(Example(static_cast<OpKind>(kind), result)).ok());
    }
  }
}

}  // namespace
}  // namespace pegasus::checkers
