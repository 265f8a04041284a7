#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pegasus/base/key_schema.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/storage/partition.h"
#include "pegasus/storage/partition_test_util.h"

namespace pegasus {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class PartitionWriteTest : public PartitionTest {
 protected:
  ErrorCode Code(const WriteResponse& response) { return ToErrorCode(response.status); }

  // Stored value fields of a row, straight from the engine.
  ValueFields Stored(const std::string& hash_key, const std::string& sort_key) {
    raw_.clear();
    EXPECT_TRUE(engine_->Get(EncodeStorageKey(hash_key, sort_key), &raw_).ok());
    absl::StatusOr<ValueFields> fields = DecodeValue(raw_);
    EXPECT_TRUE(fields.ok());
    return fields.ok() ? *fields : ValueFields();
  }

  std::string raw_;
};

// ---- put / multi_put / remove / multi_remove ----

TEST_P(PartitionWriteTest, PutStoresValueWithExpiryAndTimetag) {
  WriteResponse response = WriteOne(PutRequest{"h", "s", "v", TestNowS() + 60});
  EXPECT_TRUE(response.status.ok());
  EXPECT_EQ(response.decree, 1);
  EXPECT_EQ(Value("h", "s"), "v");
  ValueFields fields = Stored("h", "s");
  EXPECT_EQ(fields.expire_ts, TestNowS() + 60);
  EXPECT_EQ(fields.timetag, MakeTimetag(kTestNowUs, 0, false));
  EXPECT_EQ(engine_->LastAppliedDecree(), 1);
}

TEST_P(PartitionWriteTest, PutOverwritesAndTimetagCarriesClusterId) {
  PartitionOptions options;
  options.cluster_id = 5;
  Open(options);
  Set("h", "s", "first");
  Set("h", "s", "second");
  EXPECT_EQ(Value("h", "s"), "second");
  EXPECT_EQ(Stored("h", "s").timetag, MakeTimetag(kTestNowUs, 5, false));
}

TEST_P(PartitionWriteTest, PutAcceptsBinaryAndEmptyKeysAndValues) {
  std::string hash("\0\xff", 2), sort("\xff\0", 2), value("\0\0\x01", 3);
  Set(hash, sort, value);
  Set(hash, "", "");
  EXPECT_EQ(Value(hash, sort), value);
  EXPECT_EQ(Value(hash, ""), "");
}

TEST_P(PartitionWriteTest, MultiPutWritesEverySortKeyWithOneExpiry) {
  WriteResponse response = WriteOne(MultiPutRequest{
      "h", {{"a", "1"}, {"b", "2"}, {"c", "3"}}, TestNowS() + 10});
  EXPECT_TRUE(response.status.ok());
  EXPECT_EQ(Value("h", "a"), "1");
  EXPECT_EQ(Value("h", "c"), "3");
  EXPECT_EQ(Stored("h", "b").expire_ts, TestNowS() + 10);
}

TEST_P(PartitionWriteTest, MultiPutWithoutSortKeysIsInvalidValue) {
  Set("h", "a", "1");
  std::vector<std::string> before = RawRows();
  EXPECT_EQ(Code(WriteOne(MultiPutRequest{"h", {}, 0})), ErrorCode::kInvalidValue);
  EXPECT_EQ(RawRows(), before);
}

TEST_P(PartitionWriteTest, RemoveDeletesOneRow) {
  Set("h", "a", "1");
  Set("h", "b", "2");
  EXPECT_TRUE(WriteOne(RemoveRequest{"h", "a"}).status.ok());
  EXPECT_EQ(Value("h", "a"), "<absent>");
  EXPECT_EQ(Value("h", "b"), "2");
  EXPECT_TRUE(WriteOne(RemoveRequest{"h", "missing"}).status.ok());
}

TEST_P(PartitionWriteTest, MultiRemoveCountsRequestedSortKeys) {
  Set("h", "a", "1");
  Set("h", "b", "2");
  WriteResponse response = WriteOne(MultiRemoveRequest{"h", {"a", "b", "missing"}});
  EXPECT_TRUE(response.status.ok());
  EXPECT_EQ(response.count, 3);  // Pegasus counts what was asked.
  EXPECT_THAT(RawRows(), IsEmpty());
}

TEST_P(PartitionWriteTest, MultiRemoveWithoutSortKeysIsInvalidValue) {
  Set("h", "a", "1");
  EXPECT_EQ(Code(WriteOne(MultiRemoveRequest{"h", {}})), ErrorCode::kInvalidValue);
  EXPECT_EQ(Value("h", "a"), "1");
}

// ---- incr ----

TEST_P(PartitionWriteTest, IncrOnMissingValueStartsFromZero) {
  WriteResponse response = WriteOne(IncrRequest{"h", "n", 5, 0});
  EXPECT_TRUE(response.status.ok());
  EXPECT_EQ(response.new_value, 5);
  EXPECT_EQ(Value("h", "n"), "5");
  EXPECT_EQ(Stored("h", "n").expire_ts, 0u);
}

TEST_P(PartitionWriteTest, IncrAddsToStoredIntegerAsPegasusParsesIt) {
  Set("h", "n", "0x10");
  WriteResponse response = WriteOne(IncrRequest{"h", "n", -20, 0});
  EXPECT_EQ(response.new_value, -4);
  EXPECT_EQ(Value("h", "n"), "-4");  // Stored back as decimal text.
  Set("h", "empty", "");
  EXPECT_EQ(WriteOne(IncrRequest{"h", "empty", 3, 0}).new_value, 3);
}

TEST_P(PartitionWriteTest, IncrOnNonIntegerFailsAndChangesNothing) {
  Set("h", "n", "12abc");
  std::vector<std::string> before = RawRows();
  WriteResponse response = WriteOne(IncrRequest{"h", "n", 1, 0});
  EXPECT_EQ(Code(response), ErrorCode::kInvalidArgument);
  EXPECT_EQ(RawRows(), before);
}

TEST_P(PartitionWriteTest, IncrOverflowFailsWithOldValueAndChangesNothing) {
  Set("h", "n", "9223372036854775800");
  std::vector<std::string> before = RawRows();
  WriteResponse response = WriteOne(IncrRequest{"h", "n", 8, 0});
  EXPECT_EQ(Code(response), ErrorCode::kInvalidArgument);
  EXPECT_EQ(response.new_value, 9223372036854775800);
  Set("h", "m", "-9223372036854775800");
  EXPECT_EQ(Code(WriteOne(IncrRequest{"h", "m", -9, 0})), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Value("h", "n"), "9223372036854775800");
  EXPECT_EQ(Value("h", "m"), "-9223372036854775800");
  EXPECT_EQ(WriteOne(IncrRequest{"h", "n", 7, 0}).new_value, INT64_MAX);
}

TEST_P(PartitionWriteTest, IncrExpiryZeroKeepsPositiveSetsNegativeClears) {
  Set("h", "n", "1", TestNowS() + 100);
  WriteOne(IncrRequest{"h", "n", 1, 0});
  EXPECT_EQ(Stored("h", "n").expire_ts, TestNowS() + 100);
  WriteOne(IncrRequest{"h", "n", 1, static_cast<int32_t>(TestNowS() + 500)});
  EXPECT_EQ(Stored("h", "n").expire_ts, TestNowS() + 500);
  WriteOne(IncrRequest{"h", "n", 1, -1});
  EXPECT_EQ(Stored("h", "n").expire_ts, 0u);
  EXPECT_EQ(Value("h", "n"), "4");
}

TEST_P(PartitionWriteTest, IncrTreatsExpiredValueAsMissing) {
  Set("h", "n", "100", TestNowS() - 1);
  WriteResponse response = WriteOne(IncrRequest{"h", "n", 2, 0});
  EXPECT_EQ(response.new_value, 2);
  EXPECT_EQ(Stored("h", "n").expire_ts, 0u);  // The old expiry is not kept.
}

// ---- check_and_set ----

CheckAndSetRequest Cas(CheckType type, std::string operand, std::string value) {
  CheckAndSetRequest request;
  request.hash_key = "h";
  request.check_sort_key = "k";
  request.check_type = type;
  request.check_operand = std::move(operand);
  request.set_value = std::move(value);
  return request;
}

TEST_P(PartitionWriteTest, CheckAndSetSetsWhenCheckPasses) {
  Set("h", "k", "5");
  WriteResponse response = WriteOne(Cas(CheckType::kValueIntLess, "10", "new"));
  EXPECT_TRUE(response.status.ok());
  EXPECT_TRUE(response.check_succeeded);
  EXPECT_FALSE(response.check_value_returned);
  EXPECT_EQ(Value("h", "k"), "new");
}

TEST_P(PartitionWriteTest, CheckAndSetFailedCheckIsTryAgainAndChangesNothing) {
  Set("h", "k", "5");
  std::vector<std::string> before = RawRows();
  CheckAndSetRequest request = Cas(CheckType::kValueBytesEqual, "6", "new");
  request.return_check_value = true;
  WriteResponse response = WriteOne(request);
  EXPECT_EQ(Code(response), ErrorCode::kTryAgain);
  EXPECT_FALSE(response.check_succeeded);
  EXPECT_TRUE(response.check_value_returned);
  EXPECT_TRUE(response.check_value_exist);
  EXPECT_EQ(response.check_value, "5");
  EXPECT_EQ(RawRows(), before);
}

TEST_P(PartitionWriteTest, CheckAndSetReturnsCheckValueOnlyWhenItExists) {
  CheckAndSetRequest request = Cas(CheckType::kValueNotExist, "", "first");
  request.return_check_value = true;
  WriteResponse response = WriteOne(request);
  EXPECT_TRUE(response.status.ok());
  EXPECT_TRUE(response.check_value_returned);
  EXPECT_FALSE(response.check_value_exist);
  EXPECT_EQ(response.check_value, "");
  EXPECT_EQ(Value("h", "k"), "first");
}

TEST_P(PartitionWriteTest, CheckAndSetCanSetADifferentSortKeyWithExpiry) {
  Set("h", "k", "flag");
  CheckAndSetRequest request = Cas(CheckType::kValueExist, "", "payload");
  request.set_diff_sort_key = true;
  request.set_sort_key = "other";
  request.set_expire_ts_s = TestNowS() + 30;
  EXPECT_TRUE(WriteOne(request).status.ok());
  EXPECT_EQ(Value("h", "k"), "flag");
  EXPECT_EQ(Value("h", "other"), "payload");
  EXPECT_EQ(Stored("h", "other").expire_ts, TestNowS() + 30);
}

TEST_P(PartitionWriteTest, CheckAndSetSeesExpiredValueAsMissing) {
  Set("h", "k", "old", TestNowS());
  CheckAndSetRequest request = Cas(CheckType::kValueNotExist, "", "fresh");
  request.return_check_value = true;
  WriteResponse response = WriteOne(request);
  EXPECT_TRUE(response.status.ok());
  EXPECT_FALSE(response.check_value_exist);
  EXPECT_EQ(Value("h", "k"), "fresh");
}

TEST_P(PartitionWriteTest, CheckAndSetIntCheckOnNonIntegerIsInvalidArgument) {
  Set("h", "k", "abc");
  CheckAndSetRequest request = Cas(CheckType::kValueIntEqual, "1", "new");
  request.return_check_value = true;
  WriteResponse response = WriteOne(request);
  EXPECT_EQ(Code(response), ErrorCode::kInvalidArgument);
  EXPECT_EQ(response.check_value, "abc");
  EXPECT_EQ(Value("h", "k"), "abc");
}

TEST_P(PartitionWriteTest, CheckAndSetUnknownCheckTypeChangesNothing) {
  Set("h", "k", "v");
  std::vector<std::string> before = RawRows();
  for (int type : {-1, 18, 1000}) {
    WriteResponse response =
        WriteOne(Cas(static_cast<CheckType>(type), "", "new"));
    EXPECT_EQ(Code(response), ErrorCode::kInvalidArgument) << type;
  }
  EXPECT_EQ(RawRows(), before);
}

// ---- check_and_mutate ----

CheckAndMutateRequest Cam(CheckType type, std::string operand,
                          std::vector<Mutate> mutations) {
  CheckAndMutateRequest request;
  request.hash_key = "h";
  request.check_sort_key = "k";
  request.check_type = type;
  request.check_operand = std::move(operand);
  request.mutate_list = std::move(mutations);
  return request;
}

TEST_P(PartitionWriteTest, CheckAndMutateAppliesMutationsInOrder) {
  Set("h", "k", "go");
  Set("h", "gone", "x");
  WriteResponse response = WriteOne(Cam(
      CheckType::kValueBytesEqual, "go",
      {Mutate{MutateOperation::kPut, "a", "1", 0},
       Mutate{MutateOperation::kDelete, "gone", "ignored", 0},
       Mutate{MutateOperation::kPut, "a", "2", TestNowS() + 9},
       Mutate{MutateOperation::kDelete, "k", "", 0}}));
  EXPECT_TRUE(response.status.ok());
  EXPECT_TRUE(response.check_succeeded);
  EXPECT_EQ(Value("h", "a"), "2");
  EXPECT_EQ(Stored("h", "a").expire_ts, TestNowS() + 9);
  EXPECT_EQ(Value("h", "gone"), "<absent>");
  EXPECT_EQ(Value("h", "k"), "<absent>");
}

TEST_P(PartitionWriteTest, CheckAndMutateFailedCheckChangesNothing) {
  Set("h", "k", "stop");
  std::vector<std::string> before = RawRows();
  CheckAndMutateRequest request =
      Cam(CheckType::kValueMatchPrefix, "go", {Mutate{MutateOperation::kPut, "a", "1", 0}});
  request.return_check_value = true;
  WriteResponse response = WriteOne(request);
  EXPECT_EQ(Code(response), ErrorCode::kTryAgain);
  EXPECT_EQ(response.check_value, "stop");
  EXPECT_EQ(RawRows(), before);
}

TEST_P(PartitionWriteTest, CheckAndMutateRejectsEmptyListAndUnknownOperation) {
  EXPECT_EQ(Code(WriteOne(Cam(CheckType::kNoCheck, "", {}))), ErrorCode::kInvalidArgument);
  Mutate bad{static_cast<MutateOperation>(7), "a", "1", 0};
  EXPECT_EQ(Code(WriteOne(Cam(CheckType::kNoCheck, "",
                              {Mutate{MutateOperation::kPut, "b", "1", 0}, bad}))),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Code(WriteOne(Cam(static_cast<CheckType>(42), "",
                              {Mutate{MutateOperation::kPut, "b", "1", 0}}))),
            ErrorCode::kInvalidArgument);
  EXPECT_THAT(RawRows(), IsEmpty());
}

// ---- bad input ----

std::vector<WriteRequest> EveryWriteWithHashKey(const std::string& hash_key) {
  CheckAndSetRequest cas = Cas(CheckType::kNoCheck, "", "v");
  cas.hash_key = hash_key;
  CheckAndMutateRequest cam =
      Cam(CheckType::kNoCheck, "", {Mutate{MutateOperation::kPut, "s", "v", 0}});
  cam.hash_key = hash_key;
  return {PutRequest{hash_key, "s", "v", 0},
          MultiPutRequest{hash_key, {{"s", "v"}}, 0},
          RemoveRequest{hash_key, "s"},
          MultiRemoveRequest{hash_key, {"s"}},
          IncrRequest{hash_key, "s", 1, 0},
          cas,
          cam};
}

TEST_P(PartitionWriteTest, EveryWriteRejectsEmptyHashKey) {
  Set("h", "s", "v");
  std::vector<std::string> before = RawRows();
  for (const WriteResponse& response : Write(EveryWriteWithHashKey(""))) {
    EXPECT_EQ(Code(response), ErrorCode::kInvalidHashKey) << response.status;
  }
  EXPECT_EQ(RawRows(), before);
}

TEST_P(PartitionWriteTest, EveryWriteRejectsHashKeyOf64KiBOrMore) {
  std::vector<std::string> before = RawRows();
  for (size_t size : {size_t{65535}, size_t{65536}, size_t{100000}}) {
    for (const WriteResponse& response : Write(EveryWriteWithHashKey(std::string(size, 'h')))) {
      EXPECT_EQ(Code(response), ErrorCode::kInvalidHashKey) << size;
    }
  }
  EXPECT_EQ(RawRows(), before);
  // The longest valid hash key works.
  Set(std::string(65534, 'h'), "s", "v");
  EXPECT_EQ(Value(std::string(65534, 'h'), "s"), "v");
}

TEST_P(PartitionWriteTest, WritesOverTheSizeLimitAreRejected) {
  PartitionOptions options;
  options.max_write_size_bytes = 100;
  Open(options);
  // hash key 1 + sort key 1 + value 98 = exactly the limit.
  EXPECT_TRUE(WriteOne(PutRequest{"h", "s", std::string(98, 'v'), 0}).status.ok());
  WriteResponse response = WriteOne(PutRequest{"h", "t", std::string(99, 'v'), 0});
  EXPECT_EQ(Code(response), ErrorCode::kInvalidArgument);
  EXPECT_THAT(std::string(response.status.message()), testing::HasSubstr("max_write_size_bytes"));
  EXPECT_EQ(Code(WriteOne(MultiPutRequest{"h", {{"a", std::string(50, 'v')},
                                                  {"b", std::string(50, 'v')}}, 0})),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Value("h", "t"), "<absent>");
  EXPECT_EQ(Value("h", "a"), "<absent>");
}

TEST_P(PartitionWriteTest, DefaultSizeLimitIsOneMiBAndZeroDisablesIt) {
  EXPECT_EQ(Code(WriteOne(PutRequest{"h", "s", std::string(1 << 20, 'v'), 0})),
            ErrorCode::kInvalidArgument);
  PartitionOptions options;
  options.max_write_size_bytes = 0;
  Open(options);
  EXPECT_TRUE(WriteOne(PutRequest{"h", "s", std::string(2 << 20, 'v'), 0}).status.ok());
}

// ---- one mutation, many requests ----

TEST_P(PartitionWriteTest, RequestsInAMutationSeeEarlierOnes) {
  CheckAndSetRequest cas = Cas(CheckType::kValueIntEqual, "6", "seen");
  cas.check_sort_key = "n";
  cas.set_diff_sort_key = true;
  cas.set_sort_key = "flag";
  std::vector<WriteResponse> responses = Write({
      PutRequest{"h", "n", "1", 0},
      IncrRequest{"h", "n", 5, 0},
      cas,
      RemoveRequest{"h", "n"},
      IncrRequest{"h", "n", 1, 0},
  });
  ASSERT_EQ(responses.size(), 5u);
  EXPECT_EQ(responses[1].new_value, 6);
  EXPECT_TRUE(responses[2].check_succeeded);
  EXPECT_EQ(responses[4].new_value, 1);  // After the remove, from zero.
  EXPECT_EQ(Value("h", "flag"), "seen");
  EXPECT_EQ(Value("h", "n"), "1");
  for (const WriteResponse& response : responses) EXPECT_EQ(response.decree, 1);
}

TEST_P(PartitionWriteTest, InvalidRequestDoesNotStopTheOthers) {
  std::vector<WriteResponse> responses = Write({
      PutRequest{"h", "a", "1", 0},
      PutRequest{"", "b", "2", 0},
      MultiPutRequest{"h", {}, 0},
      PutRequest{"h", "c", "3", 0},
  });
  EXPECT_TRUE(responses[0].status.ok());
  EXPECT_EQ(Code(responses[1]), ErrorCode::kInvalidHashKey);
  EXPECT_EQ(Code(responses[2]), ErrorCode::kInvalidValue);
  EXPECT_TRUE(responses[3].status.ok());
  EXPECT_EQ(RawRows().size(), 2u);
}

TEST_P(PartitionWriteTest, MutationOfOnlyInvalidRequestsStillAdvancesDecree) {
  Write({PutRequest{"", "s", "v", 0}});
  EXPECT_EQ(engine_->LastAppliedDecree(), 1);
  EXPECT_THAT(RawRows(), IsEmpty());
  Write({});
  EXPECT_EQ(engine_->LastAppliedDecree(), 2);
}

TEST_P(PartitionWriteTest, ValidateWriteMatchesWhatApplyRejects) {
  EXPECT_TRUE(partition_->ValidateWrite(PutRequest{"h", "s", "v", 0}).ok());
  EXPECT_EQ(ToErrorCode(partition_->ValidateWrite(PutRequest{"", "s", "v", 0})),
            ErrorCode::kInvalidHashKey);
  EXPECT_EQ(ToErrorCode(partition_->ValidateWrite(MultiRemoveRequest{"h", {}})),
            ErrorCode::kInvalidValue);
  EXPECT_EQ(ToErrorCode(partition_->ValidateWrite(Cas(static_cast<CheckType>(99), "", ""))),
            ErrorCode::kInvalidArgument);
}

// ---- default TTL ----

TEST_P(PartitionWriteTest, DefaultTtlAppliesToWritesWithoutExpiry) {
  partition_->SetDefaultTtl(600);
  Set("h", "plain", "v");
  Set("h", "own", "v", TestNowS() + 5);
  WriteOne(IncrRequest{"h", "counter", 1, -1});  // Clearing still gets it.
  WriteOne(Cas(CheckType::kNoCheck, "", "v"));
  EXPECT_EQ(Stored("h", "plain").expire_ts, TestNowS() + 600);
  EXPECT_EQ(Stored("h", "own").expire_ts, TestNowS() + 5);
  EXPECT_EQ(Stored("h", "counter").expire_ts, TestNowS() + 600);
  EXPECT_EQ(Stored("h", "k").expire_ts, TestNowS() + 600);
  partition_->SetDefaultTtl(0);
  Set("h", "later", "v");
  EXPECT_EQ(Stored("h", "later").expire_ts, 0u);
}

TEST_P(PartitionWriteTest, ExpiryIsJudgedByTheMutationTimeNotAClock) {
  Set("h", "n", "10", TestNowS() + 100);
  // The engine clock is far in the future, but the mutation's time rules.
  clock_.AdvanceUs(1000LL * 1000000);
  WriteResponse response = WriteOne(IncrRequest{"h", "n", 1, 0});
  EXPECT_EQ(response.new_value, 11);
  // A mutation stamped after the expiry sees the value as gone.
  response = WriteOne(IncrRequest{"h", "n", 1, 0}, kTestNowUs + 101LL * 1000000);
  EXPECT_EQ(response.new_value, 1);
}

PEGASUS_INSTANTIATE_PARTITION_TEST(PartitionWriteTest);

// ---- engine failures ----

// An engine whose reads or writes fail on demand.
class FailingEngine final : public StorageEngine {
 public:
  explicit FailingEngine(StorageEngine* base) : base_(base) {}

  absl::Status Apply(Decree decree, const WriteBatch& batch) override {
    if (fail_writes) return PegasusError(ErrorCode::kIoError, "disk on fire");
    return base_->Apply(decree, batch);
  }
  absl::Status Get(std::string_view key, std::string* value) const override {
    if (fail_reads) return PegasusError(ErrorCode::kIoError, "disk on fire");
    return base_->Get(key, value);
  }
  std::unique_ptr<StorageIterator> NewIterator(const IteratorOptions& o) const override {
    return base_->NewIterator(o);
  }
  Decree LastAppliedDecree() const override { return base_->LastAppliedDecree(); }
  Decree LastDurableDecree() const override { return base_->LastDurableDecree(); }
  absl::Status Flush() override { return base_->Flush(); }
  absl::StatusOr<Decree> Checkpoint(const std::string& dir) override {
    return base_->Checkpoint(dir);
  }
  absl::Status Compact() override { return base_->Compact(); }
  void SetDefaultTtl(uint32_t ttl_s) override { base_->SetDefaultTtl(ttl_s); }

  bool fail_reads = false;
  bool fail_writes = false;

 private:
  StorageEngine* base_;
};

class PartitionFailureTest : public PartitionTest {};

TEST_P(PartitionFailureTest, EngineWriteFailureFailsTheMutation) {
  FailingEngine failing(engine_.get());
  Partition partition(&failing, PartitionOptions());
  failing.fail_writes = true;
  std::vector<WriteRequest> requests = {PutRequest{"h", "s", "v", 0}};
  auto responses = partition.ApplyMutation(1, kTestNowUs, requests);
  EXPECT_EQ(ToErrorCode(responses.status()), ErrorCode::kIoError);
  EXPECT_EQ(engine_->LastAppliedDecree(), 0);
}

TEST_P(PartitionFailureTest, EngineReadFailureFailsTheWholeMutation) {
  Set("h", "n", "1");
  FailingEngine failing(engine_.get());
  Partition partition(&failing, PartitionOptions());
  failing.fail_reads = true;
  std::vector<WriteRequest> requests = {PutRequest{"h", "a", "v", 0},
                                        IncrRequest{"h", "n", 1, 0}};
  auto responses = partition.ApplyMutation(2, kTestNowUs, requests);
  EXPECT_EQ(ToErrorCode(responses.status()), ErrorCode::kIoError);
  EXPECT_EQ(engine_->LastAppliedDecree(), 1);
  EXPECT_EQ(Value("h", "a"), "<absent>");
  EXPECT_EQ(Value("h", "n"), "1");
}

PEGASUS_INSTANTIATE_PARTITION_TEST(PartitionFailureTest);

}  // namespace
}  // namespace pegasus
