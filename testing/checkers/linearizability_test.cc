#include "testing/checkers/linearizability.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pegasus/storage/partition_types.h"
#include "testing/checkers/history_generator.h"

namespace pegasus::checkers {
namespace {

using ::testing::HasSubstr;

constexpr OpResult kOk = OpResult::kOk;
constexpr OpResult kFailed = OpResult::kFailed;
constexpr OpResult kUnknown = OpResult::kUnknown;
using Read = std::optional<std::string>;

Operation MakeOp(OpKind kind, std::vector<std::string> sortkeys, int64_t call,
                 int64_t ret, OpResult result) {
  static int64_t next_client = 0;
  Operation op;
  op.client = next_client++;
  op.kind = kind;
  op.hashkey = "h";
  op.sortkeys = std::move(sortkeys);
  op.call_ns = call;
  op.return_ns = ret;
  op.result = result;
  return op;
}

Operation Set(const std::string& sortkey, const std::string& value,
              int64_t call, int64_t ret, OpResult result = kOk) {
  Operation op = MakeOp(OpKind::kSet, {sortkey}, call, ret, result);
  op.values = {value};
  return op;
}

Operation MultiSet(const std::vector<std::pair<std::string, std::string>>& rows,
                   int64_t call, int64_t ret, OpResult result = kOk) {
  Operation op = MakeOp(OpKind::kMultiSet, {}, call, ret, result);
  for (const auto& [sortkey, value] : rows) {
    op.sortkeys.push_back(sortkey);
    op.values.push_back(value);
  }
  return op;
}

Operation Get(const std::string& sortkey, Read read, int64_t call, int64_t ret,
              OpResult result = kOk) {
  Operation op = MakeOp(OpKind::kGet, {sortkey}, call, ret, result);
  if (result == kOk) op.read = {std::move(read)};
  return op;
}

Operation MultiGet(std::vector<std::string> sortkeys, std::vector<Read> read,
                   int64_t call, int64_t ret) {
  Operation op = MakeOp(OpKind::kMultiGet, std::move(sortkeys), call, ret, kOk);
  op.read = std::move(read);
  return op;
}

Operation Del(const std::string& sortkey, int64_t call, int64_t ret,
              OpResult result = kOk) {
  return MakeOp(OpKind::kDel, {sortkey}, call, ret, result);
}

Operation MultiDel(std::vector<std::string> sortkeys, int64_t call,
                   int64_t ret) {
  return MakeOp(OpKind::kMultiDel, std::move(sortkeys), call, ret, kOk);
}

Operation Incr(const std::string& sortkey, int64_t increment, int64_t new_value,
               int64_t call, int64_t ret, OpResult result = kOk) {
  Operation op = MakeOp(OpKind::kIncr, {sortkey}, call, ret, result);
  op.increment = increment;
  if (result == kOk) op.new_value = new_value;
  return op;
}

// check_and_set on "a" that sets "b"; ok, without returning the check value.
Operation CheckAndSet(CheckType type, const std::string& operand,
                      const std::string& set_value, bool succeeded,
                      int64_t call, int64_t ret) {
  Operation op = MakeOp(OpKind::kCheckAndSet, {}, call, ret, kOk);
  op.check_sortkey = "a";
  op.check_type = static_cast<int32_t>(type);
  op.check_operand = operand;
  op.set_sortkey = "b";
  op.set_value = set_value;
  op.check_succeeded = succeeded;
  return op;
}

Operation ReturningCheckValue(Operation op, Read check_value) {
  op.return_check_value = true;
  op.check_value = std::move(check_value);
  return op;
}

// A mutation of a check_and_mutate: set to a value, or delete (nullopt).
using Mutation = std::pair<std::string, Read>;

// check_and_mutate on "a"; ok, without returning the check value.
Operation CheckAndMutate(CheckType type, const std::string& operand,
                         const std::vector<Mutation>& mutations, bool succeeded,
                         int64_t call, int64_t ret, OpResult result = kOk) {
  Operation op = MakeOp(OpKind::kCheckAndMutate, {}, call, ret, result);
  op.check_sortkey = "a";
  op.check_type = static_cast<int32_t>(type);
  op.check_operand = operand;
  for (const auto& [sortkey, value] : mutations) {
    op.sortkeys.push_back(sortkey);
    op.mutate_values.push_back(value);
  }
  if (result == kOk) op.check_succeeded = succeeded;
  return op;
}

// multi_get_range over [start, stop) that returned `rows`.
Operation MultiGetRange(
    const std::string& start, const std::string& stop,
    const std::vector<std::pair<std::string, std::string>>& rows, int64_t call,
    int64_t ret, bool incomplete = false) {
  Operation op = MakeOp(OpKind::kMultiGetRange, {}, call, ret, kOk);
  op.start_sortkey = start;
  op.stop_sortkey = stop;
  for (const auto& [sortkey, value] : rows) {
    op.read_sortkeys.push_back(sortkey);
    op.read.push_back(value);
  }
  op.incomplete = incomplete;
  return op;
}

// multi_get of the whole hashkey (no sort keys given).
Operation GetAll(const std::vector<std::pair<std::string, std::string>>& rows,
                 int64_t call, int64_t ret) {
  return MultiGetRange("", "", rows, call, ret);
}

Operation SortkeyCount(int64_t count, int64_t call, int64_t ret) {
  Operation op = MakeOp(OpKind::kSortkeyCount, {}, call, ret, kOk);
  op.count = count;
  return op;
}

Operation Exist(const std::string& sortkey, bool exists, int64_t call,
                int64_t ret) {
  Operation op = MakeOp(OpKind::kExist, {sortkey}, call, ret, kOk);
  op.exists = exists;
  return op;
}

Operation OnHashkey(Operation op, const std::string& hashkey) {
  op.hashkey = hashkey;
  return op;
}

Verdict VerdictOf(const std::vector<Operation>& history) {
  return CheckLinearizability(history).verdict;
}

// ---------------------------------------------------------------------------
// Hand-written histories that are linearizable.

TEST(LinearizabilityTest, EmptyHistoryIsLinearizable) {
  CheckReport report = CheckLinearizability({});
  EXPECT_EQ(report.verdict, Verdict::kLinearizable);
  EXPECT_EQ(report.operations, 0);
  EXPECT_EQ(report.hashkeys, 0);
}

TEST(LinearizabilityTest, ConcurrentSetAndGetMayOrderEitherWay) {
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10), Get("a", std::nullopt, 5, 15)}),
            Verdict::kLinearizable);
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10), Get("a", "1", 5, 15)}),
            Verdict::kLinearizable);
  EXPECT_EQ(VerdictOf({Get("a", "1", 0, 10), Set("a", "1", 5, 15)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, ManyUnknownWritesNobodyObservedAreDecidedQuickly) {
  // One hashkey of a simulated run (single-copy service, seed 1, 30 s,
  // loss and disk errors): 77 operations, 23 of them writes that gave up.
  // Searched in full it takes seconds; taking the unknown writes whose
  // values no read returned as never having happened, it linearizes at once.
  absl::StatusOr<std::vector<Operation>> history =
      ReadHistoryFile("testing/checkers/testdata/unknown_writes_h11.jsonl");
  ASSERT_TRUE(history.ok()) << history.status();
  CheckOptions options;
  options.time_budget_ms = 3000;
  EXPECT_EQ(CheckLinearizability(*history, options).verdict,
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, UnobservedUnknownWriteThatACheckNeedsStillCounts) {
  // Only the unknown set can have made "a" exist for the check that
  // succeeded: dropping it does not linearize, and the full search must
  // still find the order in which it took effect.
  EXPECT_EQ(
      VerdictOf({Set("a", "u1", 0, 10, kUnknown),
                 CheckAndSet(CheckType::kValueExist, "", "x", true, 20, 30)}),
      Verdict::kLinearizable);
  EXPECT_EQ(
      VerdictOf({CheckAndSet(CheckType::kValueExist, "", "x", true, 20, 30)}),
      Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, OperationsThatTouchAtAnInstantAreConcurrent) {
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10), Get("a", std::nullopt, 10, 20)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, UnknownWriteMayTakeEffectLongAfterItsClientGaveUp) {
  EXPECT_EQ(
      VerdictOf({Set("a", "1", 0, 10, kUnknown), Get("a", std::nullopt, 20, 30),
                 Get("a", "1", 40, 50), Get("a", "1", 60, 70)}),
      Verdict::kLinearizable);
}

TEST(LinearizabilityTest, UnknownWriteMayNeverTakeEffect) {
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10, kUnknown),
                       Get("a", std::nullopt, 20, 30)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, UnknownWriteCannotTakeEffectBeforeItsCall) {
  EXPECT_EQ(VerdictOf({Get("a", "1", 0, 10), Set("a", "1", 20, 30, kUnknown)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, UnknownWriteTakesEffectAtMostOnce) {
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10, kUnknown), Get("a", "1", 20, 30),
                       Set("a", "2", 40, 50), Get("a", "1", 60, 70)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, FailedOperationsTookNoEffect) {
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10, kFailed),
                       Get("a", std::nullopt, 20, 30)}),
            Verdict::kLinearizable);
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10, kFailed), Get("a", "1", 20, 30)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, OutputsOfUnknownOperationsAreNotChecked) {
  Operation get = Get("a", "never written", 0, 10);
  get.result = kUnknown;
  Operation incr = Incr("a", 1, 99, 20, 30);
  incr.result = kUnknown;
  EXPECT_EQ(VerdictOf({get, incr, Get("a", "1", 40, 50)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, IncrSequenceCountsFromAbsentAndEmpty) {
  EXPECT_EQ(VerdictOf({Incr("a", 1, 1, 0, 10), Incr("a", 2, 3, 20, 30),
                       Get("a", "3", 40, 50), Set("b", "", 60, 70),
                       Incr("b", -4, -4, 80, 90)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, ConcurrentIncrsLinearizeInTheOrderTheirResultsShow) {
  EXPECT_EQ(VerdictOf({Incr("a", 1, 2, 0, 100), Incr("a", 1, 1, 0, 100),
                       Incr("a", 1, 3, 0, 100), Get("a", "3", 200, 210)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, CheckAndSetSucceedsThenFailsOnTheValueItSet) {
  Operation first =
      CheckAndSet(CheckType::kValueNotExist, "", "x", true, 0, 10);
  first.set_sortkey = "a";
  Operation second = ReturningCheckValue(
      CheckAndSet(CheckType::kValueNotExist, "", "y", false, 20, 30), "x");
  second.set_sortkey = "a";
  EXPECT_EQ(VerdictOf({first, second, Get("a", "x", 40, 50)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, CheckAndSetIntCheckComparesNumbers) {
  EXPECT_EQ(VerdictOf({Set("a", "10", 0, 10),
                       CheckAndSet(CheckType::kValueIntGreater, "9", "big",
                                   true, 20, 30),
                       CheckAndSet(CheckType::kValueBytesGreater, "9", "small",
                                   false, 40, 50),
                       Get("b", "big", 60, 70)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, MultiSetIsSeenWhole) {
  const std::vector<std::pair<std::string, std::string>> rows = {{"a", "1"},
                                                                 {"b", "1"}};
  EXPECT_EQ(VerdictOf({MultiSet(rows, 0, 100),
                       MultiGet({"a", "b"}, {"1", "1"}, 10, 90)}),
            Verdict::kLinearizable);
  EXPECT_EQ(
      VerdictOf({MultiSet(rows, 0, 100),
                 MultiGet({"a", "b"}, {std::nullopt, std::nullopt}, 10, 90)}),
      Verdict::kLinearizable);
}

TEST(LinearizabilityTest, MultiDelRemovesEverySortkey) {
  EXPECT_EQ(
      VerdictOf({MultiSet({{"a", "1"}, {"b", "2"}}, 0, 10),
                 MultiDel({"a", "b"}, 20, 30),
                 MultiGet({"b", "a"}, {std::nullopt, std::nullopt}, 40, 50)}),
      Verdict::kLinearizable);
}

TEST(LinearizabilityTest,
     MultiSetWritingOneSortkeyTwiceKeepsTheLastAndUndoesCleanly) {
  // The search tries the multi_set first, backtracks past it (the first read
  // saw nothing), and must find "a" absent again.
  EXPECT_EQ(
      VerdictOf({MultiSet({{"a", "1"}, {"a", "2"}}, 0, 100),
                 Get("a", std::nullopt, 10, 20), Get("a", "2", 200, 210)}),
      Verdict::kLinearizable);
}

TEST(LinearizabilityTest, UnknownWritesToDifferentSortkeysMayBothPrecedeARead) {
  Operation first = MultiSet({{"a", ""}}, 3, 13, kUnknown);
  Operation second = Set("b", "1", 7, 25, kUnknown);
  EXPECT_EQ(VerdictOf({first, second, Incr("a", 2, 2, 8, 38),
                       MultiGet({"a", "b"}, {"", "1"}, 10, 23)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, ManyIdenticalUnknownIncrementsAreDecidedNotTimedOut) {
  std::vector<Operation> history;
  for (int i = 0; i < 40; ++i)
    history.push_back(Incr("a", 1, 0, i, 1000, kUnknown));
  history.push_back(Get("a", "17", 2000, 2010));
  EXPECT_EQ(VerdictOf(history), Verdict::kLinearizable);
  history.back() = Get("a", "41", 2000, 2010);
  EXPECT_EQ(VerdictOf(history), Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, HashkeysAreIndependent) {
  CheckReport report =
      CheckLinearizability({OnHashkey(Set("a", "1", 0, 10), "x"),
                            OnHashkey(Get("a", std::nullopt, 20, 30), "y"),
                            OnHashkey(Get("a", "1", 20, 30), "x"),
                            OnHashkey(Del("a", 0, 5, kFailed), "z")});
  EXPECT_EQ(report.verdict, Verdict::kLinearizable);
  EXPECT_EQ(report.operations, 3);
  EXPECT_EQ(report.hashkeys, 2);
}

// ---------------------------------------------------------------------------
// Hand-written histories that are not.

TEST(LinearizabilityTest, RejectsStaleReadAfterAcknowledgedWrite) {
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10), Set("a", "2", 20, 30),
                       Get("a", "1", 40, 50)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RejectsReadOfNeverWrittenValue) {
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10), Get("a", "3", 5, 50)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RejectsLostAcknowledgedWrite) {
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10), Get("a", std::nullopt, 20, 30)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RejectsReadsThatGoBackInTime) {
  // Concurrent with the write, a read may see it or not, but once one read
  // has seen it a later one must too.
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 100), Get("a", "1", 10, 20),
                       Get("a", std::nullopt, 30, 40)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RejectsMultiGetSeeingHalfAMultiSet) {
  EXPECT_EQ(VerdictOf({MultiSet({{"a", "1"}, {"b", "1"}}, 0, 100),
                       MultiGet({"a", "b"}, {"1", std::nullopt}, 10, 90)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RejectsIncrResultThatSkipsAValue) {
  EXPECT_EQ(VerdictOf({Incr("a", 1, 1, 0, 10), Incr("a", 1, 3, 20, 30)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RejectsAcknowledgedIncrOfANonInteger) {
  EXPECT_EQ(VerdictOf({Set("a", "x", 0, 10), Incr("a", 1, 1, 20, 30)}),
            Verdict::kNotLinearizable);
  // Unknown, it may just have failed.
  EXPECT_EQ(VerdictOf({Set("a", "x", 0, 10), Incr("a", 1, 0, 20, 30, kUnknown),
                       Get("a", "x", 40, 50)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, RejectsIncrPastInt64) {
  EXPECT_EQ(VerdictOf({Set("a", "9223372036854775807", 0, 10),
                       Incr("a", 1, INT64_MIN, 20, 30)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RejectsCheckAndSetClaimingSuccessWhenCheckMustFail) {
  EXPECT_EQ(
      VerdictOf({Set("a", "x", 0, 10), CheckAndSet(CheckType::kValueNotExist,
                                                   "", "y", true, 20, 30)}),
      Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RejectsCheckAndSetWhoseSetIsLost) {
  EXPECT_EQ(VerdictOf({CheckAndSet(CheckType::kNoCheck, "", "y", true, 0, 10),
                       Get("b", std::nullopt, 20, 30)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RejectsCheckAndSetReturningAValueNeverThere) {
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10),
                       ReturningCheckValue(CheckAndSet(CheckType::kValueExist,
                                                       "", "y", true, 20, 30),
                                           "2")}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RejectsAcknowledgedIntCheckOnANonInteger) {
  EXPECT_EQ(
      VerdictOf({Set("a", "x", 0, 10), CheckAndSet(CheckType::kValueIntLess,
                                                   "5", "y", false, 20, 30)}),
      Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, ReportsTheFirstFailingHashkeyWithAReadableAccount) {
  const std::string binary("\x00\xff", 2);
  CheckReport report =
      CheckLinearizability({OnHashkey(Set("a", "1", 0, 10), "z"),
                            OnHashkey(Get("a", "2", 20, 30), "z"),
                            OnHashkey(Set("s", "v", 0, 10), binary),
                            OnHashkey(Get("s", "w", 20, 30), binary)});
  EXPECT_EQ(report.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(report.hashkey, binary);
  EXPECT_THAT(report.explanation, HasSubstr("hashkey \"\\x00\\xff\""));
  EXPECT_THAT(report.explanation,
              HasSubstr("Longest linearizable prefix: 1 of 2"));
  EXPECT_THAT(report.explanation,
              HasSubstr("read \"w\" at sortkey \"s\", but the value is \"v\""));
  EXPECT_THAT(report.explanation, HasSubstr("ok set {\"s\"=\"v\"} [0]"));
}

TEST(LinearizabilityTest, MalformedOperationIsNeverAPass) {
  Operation get = Get("a", "1", 0, 10);
  get.read.clear();
  CheckReport report = CheckLinearizability({get});
  EXPECT_EQ(report.verdict, Verdict::kUnknown);
  EXPECT_THAT(report.explanation, HasSubstr("malformed"));
}

// ---------------------------------------------------------------------------
// check_and_mutate, multi_get of a whole hashkey or a range, sortkey_count
// and exist: histories that are linearizable, and histories that are not.

TEST(LinearizabilityTest, CheckAndMutateIsSeenWholeOrNotAtAll) {
  const std::vector<Mutation> mutations = {{"b", "x"}, {"c", std::nullopt}};
  const Operation set_c = Set("c", "1", 0, 10);
  const Operation cam =
      CheckAndMutate(CheckType::kNoCheck, "", mutations, true, 20, 100);
  EXPECT_EQ(VerdictOf({set_c, cam,
                       MultiGet({"b", "c"}, {"x", std::nullopt}, 30, 90)}),
            Verdict::kLinearizable);
  EXPECT_EQ(VerdictOf({set_c, cam, GetAll({{"c", "1"}}, 30, 90)}),
            Verdict::kLinearizable);
  EXPECT_EQ(VerdictOf({set_c, cam, GetAll({{"b", "x"}}, 110, 120)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, RejectsCheckAndMutateThatAppliedOnlySomeMutations) {
  const std::vector<Mutation> mutations = {{"b", "x"}, {"c", "y"}};
  const Operation cam =
      CheckAndMutate(CheckType::kValueNotExist, "", mutations, true, 0, 10);
  EXPECT_EQ(VerdictOf({cam, MultiGet({"b", "c"}, {"x", "y"}, 20, 30)}),
            Verdict::kLinearizable);
  EXPECT_EQ(VerdictOf({cam, MultiGet({"b", "c"}, {"x", std::nullopt}, 20, 30)}),
            Verdict::kNotLinearizable);
  // Concurrent with it, a read sees both mutations or neither.
  EXPECT_EQ(VerdictOf({CheckAndMutate(CheckType::kValueNotExist, "", mutations,
                                      true, 0, 100),
                       MultiGet({"b", "c"}, {std::nullopt, "y"}, 20, 30)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, CheckAndMutateWhoseCheckFailedChangesNothing) {
  const std::vector<Mutation> mutations = {{"b", "x"}};
  const Operation set_a = Set("a", "1", 0, 10);
  EXPECT_EQ(VerdictOf({set_a,
                       CheckAndMutate(CheckType::kValueNotExist, "", mutations,
                                      false, 20, 30),
                       Get("b", std::nullopt, 40, 50)}),
            Verdict::kLinearizable);
  EXPECT_EQ(VerdictOf({set_a,
                       CheckAndMutate(CheckType::kValueNotExist, "", mutations,
                                      false, 20, 30),
                       Get("b", "x", 40, 50)}),
            Verdict::kNotLinearizable);
  // Nor may it claim to have passed.
  EXPECT_EQ(VerdictOf({set_a, CheckAndMutate(CheckType::kValueNotExist, "",
                                             mutations, true, 20, 30)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, CheckAndMutateAppliesItsMutationsInOrder) {
  const std::vector<Mutation> set_then_del = {{"b", "x"}, {"b", std::nullopt}};
  const std::vector<Mutation> del_then_set = {{"b", std::nullopt}, {"b", "y"}};
  EXPECT_EQ(
      VerdictOf(
          {CheckAndMutate(CheckType::kNoCheck, "", set_then_del, true, 0, 10),
           Get("b", std::nullopt, 20, 30),
           CheckAndMutate(CheckType::kNoCheck, "", del_then_set, true, 40, 50),
           Get("b", "y", 60, 70)}),
      Verdict::kLinearizable);
  EXPECT_EQ(VerdictOf({CheckAndMutate(CheckType::kNoCheck, "", set_then_del,
                                      true, 0, 10),
                       Get("b", "x", 20, 30)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, CheckAndMutateReturnsTheValueItChecked) {
  const std::vector<Mutation> mutations = {{"a", "2"}};
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10),
                       ReturningCheckValue(
                           CheckAndMutate(CheckType::kValueBytesEqual, "1",
                                          mutations, true, 20, 30),
                           "1"),
                       Get("a", "2", 40, 50)}),
            Verdict::kLinearizable);
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10),
                       ReturningCheckValue(
                           CheckAndMutate(CheckType::kValueBytesEqual, "1",
                                          mutations, true, 20, 30),
                           std::nullopt)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, UnknownCheckAndMutateThatDeletesMayStillBeNeeded) {
  // Nobody observed a value it wrote, but only its delete explains the
  // last read: it must not be taken as never having happened.
  const std::vector<Mutation> mutations = {{"b", "x"}, {"a", std::nullopt}};
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10),
                       CheckAndMutate(CheckType::kValueExist, "", mutations,
                                      false, 20, 30, kUnknown),
                       Get("a", std::nullopt, 40, 50)}),
            Verdict::kLinearizable);
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10),
                       CheckAndMutate(CheckType::kValueNotExist, "", mutations,
                                      false, 20, 30, kUnknown),
                       Get("a", std::nullopt, 40, 50)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, WholeHashkeyReadReturnsEveryRowThere) {
  EXPECT_EQ(
      VerdictOf({GetAll({}, 0, 10),
                 MultiSet({{"b", "2"}, {"a", "1"}, {"c", "3"}}, 20, 30),
                 Del("b", 40, 50), GetAll({{"a", "1"}, {"c", "3"}}, 60, 70)}),
      Verdict::kLinearizable);
}

TEST(LinearizabilityTest, RejectsWholeHashkeyReadMissingARowThatMustBeThere) {
  const std::vector<Operation> writes = {
      MultiSet({{"a", "1"}, {"c", "3"}}, 0, 10), Set("b", "2", 20, 30)};
  std::vector<Operation> history = writes;
  history.push_back(GetAll({{"a", "1"}, {"c", "3"}}, 40, 50));
  CheckReport report = CheckLinearizability(history);
  EXPECT_EQ(report.verdict, Verdict::kNotLinearizable);
  EXPECT_THAT(report.explanation,
              HasSubstr("it did not return sortkey \"b\", but the value is "
                        "\"2\""));
  // Concurrent with the set of "b", it may miss it.
  history = writes;
  history.push_back(GetAll({{"a", "1"}, {"c", "3"}}, 25, 50));
  EXPECT_EQ(VerdictOf(history), Verdict::kLinearizable);
}

TEST(LinearizabilityTest, RejectsWholeHashkeyReadOfARowNeverOrNoLongerThere) {
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10),
                       GetAll({{"a", "1"}, {"z", "1"}}, 20, 30)}),
            Verdict::kNotLinearizable);
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10), Del("a", 20, 30),
                       GetAll({{"a", "1"}}, 40, 50)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RejectsWholeHashkeyReadSeeingHalfAMultiSet) {
  EXPECT_EQ(VerdictOf({MultiSet({{"a", "1"}, {"b", "1"}}, 0, 100),
                       GetAll({{"b", "1"}}, 10, 90)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RangeReadAnswersForItsRangeOnly) {
  const Operation rows = MultiSet({{"a", "1"}, {"c", "3"}, {"e", "5"}}, 0, 10);
  EXPECT_EQ(VerdictOf({rows, MultiGetRange("b", "e", {{"c", "3"}}, 20, 30),
                       MultiGetRange("c", "", {{"c", "3"}, {"e", "5"}}, 20, 30),
                       MultiGetRange("d", "c", {}, 20, 30)}),
            Verdict::kLinearizable);
  // Missing a row inside the range, or returning one outside it.
  EXPECT_EQ(VerdictOf({rows, MultiGetRange("c", "", {{"c", "3"}}, 20, 30)}),
            Verdict::kNotLinearizable);
  EXPECT_EQ(VerdictOf({rows, MultiGetRange("b", "e", {{"c", "3"}, {"e", "5"}},
                                           20, 30)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, IncompleteRangeReadSaysNothingPastItsLastRow) {
  const Operation rows = MultiSet({{"a", "1"}, {"b", "2"}, {"c", "3"}}, 0, 10);
  EXPECT_EQ(VerdictOf({rows,
                       MultiGetRange("", "", {{"a", "1"}}, 20, 30,
                                     /*incomplete=*/true),
                       MultiGetRange("b", "", {}, 20, 30, true)}),
            Verdict::kLinearizable);
  // Its rows are still the first of the range, and complete up to the last.
  EXPECT_EQ(
      VerdictOf({rows, MultiGetRange("", "", {{"b", "2"}}, 20, 30, true)}),
      Verdict::kNotLinearizable);
  EXPECT_EQ(VerdictOf({rows, MultiGetRange("", "", {{"a", "1"}, {"c", "3"}}, 20,
                                           30, true)}),
            Verdict::kNotLinearizable);
  // Complete, the same rows are wrong.
  EXPECT_EQ(VerdictOf({rows, MultiGetRange("", "", {{"a", "1"}}, 20, 30)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, RejectsRangeReadWithRowsOutOfOrder) {
  CheckReport report =
      CheckLinearizability({MultiSet({{"a", "1"}, {"b", "2"}}, 0, 10),
                            GetAll({{"b", "2"}, {"a", "1"}}, 20, 30)});
  EXPECT_EQ(report.verdict, Verdict::kNotLinearizable);
  EXPECT_THAT(report.explanation,
              HasSubstr("it returned sortkey \"a\" after \"b\""));
}

TEST(LinearizabilityTest, SortkeyCountCountsTheRowsThere) {
  EXPECT_EQ(VerdictOf({SortkeyCount(0, 0, 10),
                       MultiSet({{"a", "1"}, {"b", "2"}}, 20, 30),
                       SortkeyCount(2, 40, 50), Set("a", "3", 60, 70),
                       SortkeyCount(2, 80, 90), Del("b", 100, 110),
                       Del("z", 100, 110), SortkeyCount(1, 120, 130)}),
            Verdict::kLinearizable);
  // Concurrent with a set of a new row, either count.
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 100), SortkeyCount(0, 10, 20),
                       SortkeyCount(1, 30, 40)}),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, RejectsSortkeyCountThatCountsADeletedRow) {
  EXPECT_EQ(VerdictOf({MultiSet({{"a", "1"}, {"b", "2"}}, 0, 10),
                       Del("a", 20, 30), SortkeyCount(2, 40, 50)}),
            Verdict::kNotLinearizable);
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 100), SortkeyCount(1, 10, 20),
                       SortkeyCount(0, 30, 40)}),
            Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, UnobservedUnknownWriteThatACountNeedsStillCounts) {
  EXPECT_EQ(
      VerdictOf({Set("a", "u", 0, 10, kUnknown), SortkeyCount(1, 20, 30)}),
      Verdict::kLinearizable);
  EXPECT_EQ(
      VerdictOf({Set("a", "u", 0, 10, kUnknown), SortkeyCount(2, 20, 30)}),
      Verdict::kNotLinearizable);
}

TEST(LinearizabilityTest, ExistSeesWhetherTheRowIsThere) {
  EXPECT_EQ(VerdictOf({Exist("a", false, 0, 10), Set("a", "", 20, 30),
                       Exist("a", true, 40, 50), Del("a", 60, 70),
                       Exist("a", false, 80, 90)}),
            Verdict::kLinearizable);
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10), Del("a", 20, 30),
                       Exist("a", true, 40, 50)}),
            Verdict::kNotLinearizable);
  EXPECT_EQ(VerdictOf({Set("a", "1", 0, 10), Exist("a", false, 20, 30)}),
            Verdict::kNotLinearizable);
}

// ---------------------------------------------------------------------------
// The time budget.

// Thirty writes of different values, all concurrent, then a read of a value
// none wrote: proving no order works means trying every subset of writes.
std::vector<Operation> Pathological() {
  std::vector<Operation> history;
  for (int i = 0; i < 30; ++i)
    history.push_back(Set("a", std::to_string(i), 0, 100));
  history.push_back(Get("a", "none", 200, 300));
  return history;
}

TEST(LinearizabilityTest, RunningOutOfTimeIsUnknownNotAPass) {
  for (int64_t budget_ms : {0, 1}) {
    CheckReport report =
        CheckLinearizability(Pathological(), {.time_budget_ms = budget_ms});
    EXPECT_EQ(report.verdict, Verdict::kUnknown) << budget_ms;
    EXPECT_EQ(report.hashkey, "h");
    EXPECT_THAT(report.explanation, HasSubstr("ran out of time"));
  }
}

// ---------------------------------------------------------------------------
// Generated histories with a known answer.

TEST(LinearizabilityTest, GeneratedLinearizableHistoriesPass) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    GeneratorOptions options;
    options.seed = seed;
    options.operations = 400;
    options.hashkeys = 1 + seed % 4;
    options.clients_per_hashkey = 1 + seed % 8;
    options.unknown_fraction = 0.1;
    const std::vector<Operation> history = GenerateLinearizableHistory(options);
    CheckReport report = CheckLinearizability(history);
    EXPECT_EQ(report.verdict, Verdict::kLinearizable) << "seed " << seed << "\n"
                                                      << report.explanation;
  }
}

TEST(LinearizabilityTest, LongHistoryOnOneHashkeyPasses) {
  GeneratorOptions options;
  options.operations = 5000;
  options.hashkeys = 1;
  options.clients_per_hashkey = 6;
  options.unknown_fraction = 0.02;
  EXPECT_EQ(VerdictOf(GenerateLinearizableHistory(options)),
            Verdict::kLinearizable);
}

TEST(LinearizabilityTest, CorruptingOneReadToANeverWrittenValueIsCaught) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    GeneratorOptions options;
    options.seed = seed;
    options.operations = 300;
    options.hashkeys = 3;
    options.clients_per_hashkey = 4;
    std::vector<Operation> history = GenerateLinearizableHistory(options);
    std::mt19937_64 rng(seed);
    size_t victim = rng() % history.size();
    while (history[victim].read.empty()) victim = (victim + 1) % history.size();
    history[victim].read[rng() % history[victim].read.size()] = "never written";
    CheckReport report = CheckLinearizability(history);
    EXPECT_EQ(report.verdict, Verdict::kNotLinearizable) << "seed " << seed;
    EXPECT_EQ(report.hashkey, history[victim].hashkey) << "seed " << seed;
  }
}

// Changes one output of a random ok operation, or turns an ok operation
// unknown, so the history may or may not stay linearizable.
void Perturb(std::mt19937_64& rng, std::vector<Operation>* history) {
  static const Read kReads[] = {std::nullopt, "", "x", "1"};
  Operation& op = (*history)[rng() % history->size()];
  if (op.result != kOk) return;
  switch (op.kind) {
    case OpKind::kGet:
    case OpKind::kMultiGet:
      op.read[rng() % op.read.size()] = kReads[rng() % 4];
      break;
    case OpKind::kIncr:
      op.new_value += static_cast<int64_t>(rng() % 3) - 1;
      break;
    case OpKind::kCheckAndSet:
    case OpKind::kCheckAndMutate:
      if (op.return_check_value && rng() % 2 == 0) {
        op.check_value = kReads[rng() % 4];
      } else {
        op.check_succeeded = !op.check_succeeded;
      }
      break;
    case OpKind::kMultiGetRange:
      if (!op.read.empty() && rng() % 3 == 0) {
        op.read[rng() % op.read.size()] = kReads[1 + rng() % 3];
      } else if (!op.read.empty() && rng() % 2 == 0) {
        const size_t row = rng() % op.read.size();
        op.read.erase(op.read.begin() + row);
        op.read_sortkeys.erase(op.read_sortkeys.begin() + row);
      } else {
        op.incomplete = !op.incomplete;
      }
      break;
    case OpKind::kSortkeyCount:
      op.count += rng() % 2 == 0 ? 1 : -1;
      break;
    case OpKind::kExist:
      op.exists = !op.exists;
      break;
    default:
      op.result = kUnknown;
      break;
  }
}

TEST(LinearizabilityTest, AgreesWithBruteForceOnSmallRandomHistories) {
  std::mt19937_64 rng(7);
  int linearizable = 0;
  constexpr int kHistories = 10000;
  for (int i = 0; i < kHistories; ++i) {
    GeneratorOptions options;
    options.seed = rng();
    options.operations = 1 + rng() % 7;
    options.hashkeys = 1;
    options.sortkeys_per_hashkey = 1 + rng() % 2;
    options.clients_per_hashkey = 1 + rng() % 4;
    options.distinct_values = 3;
    options.unknown_fraction = 0.2;
    options.max_duration_ns = 30;
    options.max_gap_ns = 10;
    std::vector<Operation> history = GenerateLinearizableHistory(options);
    for (int perturbations = 1 + rng() % 2; perturbations > 0;
         --perturbations) {
      Perturb(rng, &history);
    }
    const bool expected = BruteForceLinearizable(history);
    linearizable += expected ? 1 : 0;
    const Verdict verdict = VerdictOf(history);
    ASSERT_EQ(verdict,
              expected ? Verdict::kLinearizable : Verdict::kNotLinearizable)
        << "history " << i << ":\n"
        << CheckLinearizability(history).explanation;
  }
  // Both answers are well represented.
  EXPECT_GT(linearizable, kHistories / 4);
  EXPECT_LT(linearizable, kHistories * 3 / 4);
}

TEST(LinearizabilityTest, ChecksTwentyThousandOperationsOverAHundredHashkeys) {
  GeneratorOptions options;
  options.seed = 2024;
  options.operations = 20000;
  options.hashkeys = 100;
  options.clients_per_hashkey = 8;
  options.unknown_fraction = 0.02;
  const std::vector<Operation> history = GenerateLinearizableHistory(options);
  const auto start = std::chrono::steady_clock::now();
  CheckReport report = CheckLinearizability(history);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_EQ(report.verdict, Verdict::kLinearizable) << report.explanation;
  EXPECT_EQ(report.hashkeys, 100);
  std::printf("checked %lld operations over %lld hashkeys in %.3f s\n",
              static_cast<long long>(report.operations),
              static_cast<long long>(report.hashkeys), seconds);
}

}  // namespace
}  // namespace pegasus::checkers
