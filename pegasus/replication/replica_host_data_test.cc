// The whole data API over the wire, served by ReplicaHost on the
// simulator's deterministic world (replica_host_test_harness.h): every
// operation at the primary, check_and_mutate through replication, the
// scanners batch by batch, and the scanner contract across a lapsed lease,
// a restart, a failover and a membership change (docs/data_api.md).

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pegasus/base/ids.h"
#include "pegasus/base/key_schema.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/proto/data.pb.h"
#include "pegasus/proto/partition_config.h"
#include "pegasus/replication/replica_host.h"
#include "pegasus/replication/replica_host_test_harness.h"
#include "pegasus/storage/data_codec.h"
#include "pegasus/storage/partition_types.h"

namespace pegasus::replication::host_test {
namespace {

proto::DataRequest To(Gpid gpid) {
  proto::DataRequest request;
  request.set_app_id(gpid.app_id);
  request.set_partition_index(gpid.partition_index);
  return request;
}

proto::DataRequest MultiPut(Gpid gpid, const std::string& hash_key,
                            const std::vector<std::string>& sort_keys,
                            uint32_t expire_ts_s = 0) {
  proto::DataRequest request = To(gpid);
  proto::MultiPutRequest* multi_put = request.mutable_multi_put();
  multi_put->set_hash_key(hash_key);
  for (const std::string& sort_key : sort_keys) {
    proto::KeyValue* kv = multi_put->add_kvs();
    kv->set_key(sort_key);
    kv->set_value(hash_key + sort_key);
  }
  multi_put->set_expire_ts_s(expire_ts_s);
  return request;
}

proto::DataRequest HashScan(Gpid gpid, const std::string& hash_key,
                            int32_t batch_size) {
  proto::DataRequest request = To(gpid);
  proto::HashKeyRange* range =
      request.mutable_get_scanner()->mutable_hash_key_range();
  range->set_hash_key(hash_key);
  range->set_start_inclusive(true);
  request.mutable_get_scanner()->set_batch_size(batch_size);
  return request;
}

proto::DataRequest PartitionScan(Gpid gpid, int32_t batch_size) {
  proto::DataRequest request = To(gpid);
  request.mutable_get_scanner()->mutable_partition_range();
  request.mutable_get_scanner()->set_batch_size(batch_size);
  return request;
}

proto::DataRequest Scan(Gpid gpid, int64_t context_id) {
  proto::DataRequest request = To(gpid);
  request.mutable_scan()->set_context_id(context_id);
  return request;
}

// "hash/sort=value" per row.
std::vector<std::string> Rows(const proto::DataResponse& response) {
  std::vector<std::string> rows;
  for (const proto::FullKeyValue& row : response.rows()) {
    rows.push_back(row.hash_key() + "/" + row.sort_key() + "=" + row.value());
  }
  return rows;
}

std::string CodeName(const proto::DataResponse& response) {
  return std::string(ErrorCodeName(static_cast<ErrorCode>(response.error())));
}

class ReplicaHostDataTest : public ReplicaHostTest {
 protected:
  // Host `h`'s answer; an RPC that failed is answered with its own error.
  proto::DataResponse Ask(int h, const proto::DataRequest& request) {
    absl::StatusOr<proto::DataResponse> response = Data(h, request);
    if (response.ok()) return *response;
    proto::DataResponse failed;
    StatusToProto(response.status(), &failed);
    return failed;
  }
  proto::DataResponse AskPrimary(const proto::DataRequest& request) {
    const int primary =
        PrimaryOf(Gpid{request.app_id(), request.partition_index()});
    PEGASUS_CHECK_GE(primary, 0);
    return Ask(primary, request);
  }
  // Writes through the primary; returns the decree once acknowledged.
  Decree MustWrite(const proto::DataRequest& request) {
    proto::DataResponse response = AskPrimary(request);
    EXPECT_EQ(CodeName(response), "PERR_OK") << response.error_message();
    return response.decree();
  }

  // What host `h`'s storage holds at the row (whatever the replica's role),
  // or "<absent>".
  std::string Stored(int h, Gpid gpid, const std::string& hash_key,
                     const std::string& sort_key) {
    std::string raw;
    absl::Status got =
        Host(h).storage(gpid)->Get(EncodeStorageKey(hash_key, sort_key), &raw);
    if (!got.ok()) return "<absent>";
    absl::StatusOr<ValueFields> fields = DecodeValue(raw);
    return fields.ok() ? std::string(fields->user_data) : "<undecodable>";
  }

  // Runs a scan opened by `open` at host `h` to its end; every call must
  // succeed. Returns the rows; `calls` counts the calls made.
  std::vector<std::string> ScanAll(int h, const proto::DataRequest& open,
                                   int* calls = nullptr) {
    const Gpid gpid{open.app_id(), open.partition_index()};
    std::vector<std::string> rows;
    proto::DataResponse response = Ask(h, open);
    for (int n = 1;; ++n) {
      if (calls != nullptr) *calls = n;
      EXPECT_EQ(CodeName(response), "PERR_OK") << response.error_message();
      if (response.error() != 0 || n > 100) break;
      for (const std::string& row : Rows(response)) rows.push_back(row);
      if (response.context_id() == kScanContextCompleted) break;
      EXPECT_GE(response.context_id(), 0);
      response = Ask(h, Scan(gpid, response.context_id()));
    }
    return rows;
  }

  // Opens a scan of `hash_key` at `gpid`'s primary, one row per batch, and
  // returns its context id after the first row.
  int64_t OpenScan(Gpid gpid, const std::string& hash_key) {
    proto::DataResponse first = AskPrimary(HashScan(gpid, hash_key, 1));
    EXPECT_EQ(CodeName(first), "PERR_OK") << first.error_message();
    EXPECT_EQ(Rows(first).size(), 1u);
    EXPECT_GE(first.context_id(), 0);
    return first.context_id();
  }

  // A context from an earlier primary term is lost, and names no scan of
  // this one: `fresh` (opened in this term over "b") goes on as it
  // should.
  void ExpectLostNotServedFromAnother(Gpid gpid, int64_t stale, int64_t fresh) {
    EXPECT_NE(stale, fresh);
    proto::DataResponse lost = AskPrimary(Scan(gpid, stale));
    EXPECT_EQ(CodeName(lost), "PERR_NOT_FOUND") << lost.ShortDebugString();
    EXPECT_EQ(lost.context_id(), kScanContextNotExist);
    EXPECT_EQ(lost.rows_size(), 0);
    proto::DataResponse next = AskPrimary(Scan(gpid, fresh));
    EXPECT_EQ(CodeName(next), "PERR_OK") << next.error_message();
    EXPECT_EQ(Rows(next), std::vector<std::string>{"b/2=b2"});
  }
};

// Every read the data API has, at the primary, over the wire.
TEST_F(ReplicaHostDataTest, PrimaryServesEveryRead) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  MustWrite(MultiPut(gpid, "h", {"", "a", "b"}));
  // Expiring in 2079, whatever the simulated wall clock says.
  MustWrite(MultiPut(gpid, "t", {"x"}, /*expire_ts_s=*/2'000'000'000u));
  const uint64_t reads = Host(primary).stats().client_reads;

  proto::DataRequest count = To(gpid);
  count.mutable_sortkey_count()->set_hash_key("h");
  proto::DataResponse counted = AskPrimary(count);
  EXPECT_EQ(CodeName(counted), "PERR_OK");
  EXPECT_EQ(counted.count(), 3);

  proto::DataRequest ttl = To(gpid);
  ttl.mutable_ttl()->set_hash_key("h");
  ttl.mutable_ttl()->set_sort_key("a");
  proto::DataResponse forever = AskPrimary(ttl);
  EXPECT_EQ(CodeName(forever), "PERR_OK");
  EXPECT_EQ(forever.ttl_s(), -1);
  ttl.mutable_ttl()->set_hash_key("t");
  ttl.mutable_ttl()->set_sort_key("x");
  EXPECT_GT(AskPrimary(ttl).ttl_s(), 0);
  // exist is a ttl: found, or not found.
  ttl.mutable_ttl()->set_sort_key("missing");
  EXPECT_EQ(CodeName(AskPrimary(ttl)), "PERR_NOT_FOUND");

  // multi_get_sortkeys is a multi_get with no_value over the hash key.
  proto::DataRequest sort_keys = To(gpid);
  sort_keys.mutable_multi_get()->set_hash_key("h");
  sort_keys.mutable_multi_get()->set_no_value(true);
  sort_keys.mutable_multi_get()->set_start_inclusive(true);
  proto::DataResponse listed = AskPrimary(sort_keys);
  EXPECT_EQ(CodeName(listed), "PERR_OK");
  ASSERT_EQ(listed.kvs_size(), 3);
  EXPECT_EQ(listed.kvs(0).key(), "");
  EXPECT_EQ(listed.kvs(2).key(), "b");
  EXPECT_EQ(listed.kvs(2).value(), "");

  proto::DataRequest batch_get = To(gpid);
  BatchGetKeysToProto(std::vector<FullKey>{{"t", "x"}, {"h", "z"}, {"h", "a"}},
                      batch_get.mutable_batch_get());
  proto::DataResponse got = AskPrimary(batch_get);
  EXPECT_EQ(CodeName(got), "PERR_OK");
  EXPECT_EQ(Rows(got), (std::vector<std::string>{"t/x=tx", "h/a=ha"}));

  proto::DataRequest open = HashScan(gpid, "h", 2);
  open.mutable_get_scanner()->set_return_expire_ts(true);
  proto::DataResponse first = AskPrimary(open);
  EXPECT_EQ(CodeName(first), "PERR_OK");
  EXPECT_EQ(Rows(first), (std::vector<std::string>{"h/=h", "h/a=ha"}));
  ASSERT_GE(first.context_id(), 0);
  proto::DataRequest clear = To(gpid);
  clear.mutable_clear_scanner()->set_context_id(first.context_id());
  EXPECT_EQ(CodeName(AskPrimary(clear)), "PERR_OK");
  proto::DataResponse cleared = AskPrimary(Scan(gpid, first.context_id()));
  EXPECT_EQ(CodeName(cleared), "PERR_NOT_FOUND");
  EXPECT_EQ(cleared.context_id(), kScanContextNotExist);
  EXPECT_EQ(ScanAll(primary, HashScan(gpid, "t", 10)),
            std::vector<std::string>{"t/x=tx"});
  EXPECT_GE(Host(primary).stats().client_reads, reads + 10);
}

// check_and_mutate is a write like check_and_set: replicated as the
// request, evaluated alike by every replica when it applies, all of its
// mutations or none.
TEST_F(ReplicaHostDataTest,
       CheckAndMutateAppliesOnEveryReplicaWhenItsCheckPasses) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const int secondary = FirstSecondaryOf(gpid);
  MustWrite(MultiPut(gpid, "h", {"b"}));

  proto::DataRequest request = To(gpid);
  proto::CheckAndMutateRequest* cam = request.mutable_check_and_mutate();
  cam->set_hash_key("h");
  cam->set_check_sort_key("c");
  cam->set_check_type(static_cast<int32_t>(CheckType::kValueNotExist));
  cam->set_return_check_value(true);
  proto::Mutate* put_a = cam->add_mutate_list();
  put_a->set_sort_key("a");
  put_a->set_value("1");
  proto::Mutate* del_b = cam->add_mutate_list();
  del_b->set_operation(static_cast<int32_t>(MutateOperation::kDelete));
  del_b->set_sort_key("b");
  proto::Mutate* put_c = cam->add_mutate_list();
  put_c->set_sort_key("c");
  put_c->set_value("x");
  const uint64_t writes = Host(primary).stats().client_writes;
  proto::DataResponse passed = AskPrimary(request);
  EXPECT_EQ(CodeName(passed), "PERR_OK") << passed.error_message();
  EXPECT_TRUE(passed.check_succeeded());
  EXPECT_TRUE(passed.check_value_returned());
  EXPECT_FALSE(passed.check_value_exist());
  const Decree decree = passed.decree();
  EXPECT_GT(decree, 0);
  EXPECT_EQ(Host(primary).stats().client_writes, writes + 1);

  // Now "c" exists: the same request fails its check and changes nothing.
  put_a->set_value("2");
  proto::DataResponse failed = AskPrimary(request);
  EXPECT_EQ(CodeName(failed), "PERR_TRY_AGAIN");
  EXPECT_FALSE(failed.check_succeeded());
  EXPECT_TRUE(failed.check_value_exist());
  EXPECT_EQ(failed.check_value(), "x");

  ASSERT_TRUE(RunUntil(
      [&] {
        return Host(secondary).storage(gpid)->LastAppliedDecree() >= decree;
      },
      2 * kSecond));
  for (int h : {primary, secondary}) {
    EXPECT_EQ(Stored(h, gpid, "h", "a"), "1") << "host " << h;
    EXPECT_EQ(Stored(h, gpid, "h", "b"), "<absent>") << "host " << h;
    EXPECT_EQ(Stored(h, gpid, "h", "c"), "x") << "host " << h;
  }
}

// Writes that reach the primary while it is busy (here, syncing the first
// one's log record) wait on its strand, and then share mutations: fewer
// decrees than writes, each write acknowledged and applied.
TEST_F(ReplicaHostDataTest, WritesArrivingTogetherShareMutations) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const int secondary = FirstSecondaryOf(gpid);
  constexpr int kWrites = 8;
  auto answers = std::make_shared<std::vector<proto::DataResponse>>();
  OnClient([&, answers] {
    for (int i = 0; i < kWrites; ++i) {
      SendData(primary, MultiPut(gpid, "h" + std::to_string(i), {"s"}),
               answers);
    }
  });
  ASSERT_TRUE(RunUntil([&] { return answers->size() == kWrites; }, kSecond));
  std::set<Decree> decrees;
  for (const proto::DataResponse& answer : *answers) {
    EXPECT_EQ(CodeName(answer), "PERR_OK") << answer.error_message();
    decrees.insert(answer.decree());
  }
  EXPECT_LT(decrees.size(), static_cast<size_t>(kWrites));
  RunFor(kSecond);
  for (int i = 0; i < kWrites; ++i) {
    const std::string hash_key = "h" + std::to_string(i);
    EXPECT_EQ(Stored(primary, gpid, hash_key, "s"), hash_key + "s");
    EXPECT_EQ(Stored(secondary, gpid, hash_key, "s"), hash_key + "s");
  }
}

// Reads that reach the primary while its strand is busy (syncing a write's
// log record) run as one task there, and their answers leave it in one more
// task of the host strand, instead of two tasks each.
TEST_F(ReplicaHostDataTest, ReadsWaitingTogetherRunInOneTask) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  MustPut(gpid, "h", "before");
  constexpr int kReads = 16;
  auto answers = std::make_shared<std::vector<proto::DataResponse>>();
  const uint64_t events_before = ReplicaStrandEvents(ProcessOf(primary));
  OnClient([&, answers] {
    SendData(primary, Put(gpid, "w", "x"), answers);
    for (int i = 0; i < kReads; ++i) SendData(primary, Get(gpid, "h"), answers);
  });
  ASSERT_TRUE(RunUntil([&] { return answers->size() == kReads + 1; }, kSecond));
  const uint64_t events =
      ReplicaStrandEvents(ProcessOf(primary)) - events_before;
  int values = 0;
  for (const proto::DataResponse& answer : *answers) {
    EXPECT_EQ(CodeName(answer), "PERR_OK") << answer.error_message();
    values += answer.value() == "before";
  }
  EXPECT_EQ(values, kReads);
  // The write takes a few tasks there (its mutation, its log's group
  // commit, the acknowledgements) and the waiting reads about one more; a
  // task per read would be kReads = 16 on its own.
  EXPECT_LE(events, 10u) << events << " tasks on the primary's replica strand";
}

// A scan over several batches returns every row of its range once, in
// storage order: the whole partition (the unordered scanner's unit), one
// hash key, and counts alone.
TEST_F(ReplicaHostDataTest, ScansReturnEveryRowOnceAcrossBatches) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  std::vector<std::string> expected;
  // Hash keys in storage order: by length, then bytes.
  for (const std::string hash_key : {"a", "b", "c", "aa", "ab"}) {
    std::vector<std::string> sort_keys;
    for (int i = 0; i < 6; ++i) {
      sort_keys.push_back(absl::StrCat("s", i));
      expected.push_back(
          absl::StrCat(hash_key, "/s", i, "=", hash_key, "s", i));
    }
    MustWrite(MultiPut(gpid, hash_key, sort_keys));
  }

  int calls = 0;
  EXPECT_EQ(ScanAll(primary, PartitionScan(gpid, 4), &calls), expected);
  EXPECT_GE(calls, 8);
  EXPECT_EQ(
      ScanAll(primary, HashScan(gpid, "aa", 4), &calls),
      std::vector<std::string>(expected.begin() + 18, expected.begin() + 24));
  EXPECT_EQ(calls, 2);

  proto::DataRequest count = PartitionScan(gpid, 7);
  count.mutable_get_scanner()->set_only_return_count(true);
  int64_t total = 0;
  proto::DataResponse response = AskPrimary(count);
  for (int n = 0; n < 20 && response.error() == 0; ++n) {
    EXPECT_EQ(response.rows_size(), 0);
    total += response.kv_count();
    if (response.context_id() == kScanContextCompleted) break;
    response = AskPrimary(Scan(gpid, response.context_id()));
  }
  EXPECT_EQ(CodeName(response), "PERR_OK");
  EXPECT_EQ(total, 30);
  EXPECT_EQ(response.context_id(), kScanContextCompleted);
}

// Scanner calls are reads: a secondary refuses them, and so does a primary
// whose lease lapsed. Its scans end with its term: once it serves again,
// under a new ballot, an id from before is lost.
TEST_F(ReplicaHostDataTest, ScannersAreRefusedOnASecondaryAndWithoutTheLease) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const int secondary = FirstSecondaryOf(gpid);
  MustWrite(MultiPut(gpid, "a", {"1", "2", "3"}));
  const int64_t id = OpenScan(gpid, "a");

  EXPECT_EQ(CodeName(Ask(secondary, HashScan(gpid, "a", 1))),
            "PERR_SERVER_CHANGED");
  EXPECT_EQ(CodeName(Ask(secondary, Scan(gpid, id))), "PERR_SERVER_CHANGED");
  proto::DataResponse next = Ask(primary, Scan(gpid, id));
  EXPECT_EQ(Rows(next), std::vector<std::string>{"a/2=a2"});
  const int64_t kept = next.context_id();
  ASSERT_GE(kept, 0);

  network_->CutBothWays(kMetaProcess, ProcessOf(primary));
  ASSERT_TRUE(RunUntil([&] { return !Host(primary).lease_valid(); },
                       kLeaseNs + kSecond));
  EXPECT_EQ(CodeName(Ask(primary, Scan(gpid, kept))), "PERR_SERVER_CHANGED");
  EXPECT_EQ(CodeName(Ask(primary, HashScan(gpid, "a", 1))),
            "PERR_SERVER_CHANGED");
  network_->Heal();
  ASSERT_TRUE(RunUntil(
      [&] { return Host(primary).lease_valid() && AllServed(); }, kSettleNs));
  ASSERT_EQ(PrimaryOf(gpid), primary);
  proto::DataResponse lost = Ask(primary, Scan(gpid, kept));
  EXPECT_EQ(CodeName(lost), "PERR_NOT_FOUND");
  EXPECT_EQ(lost.context_id(), kScanContextNotExist);
}

// A restarted primary numbers its scans anew, under a new ballot: a
// client's id from before the crash is lost, not another client's scan.
TEST_F(ReplicaHostDataTest, ScanFromBeforeARestartIsLostNotServedFromAnother) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  MustWrite(MultiPut(gpid, "a", {"1", "2", "3"}));
  MustWrite(MultiPut(gpid, "b", {"1", "2", "3"}));
  const int64_t stale = OpenScan(gpid, "a");

  CrashHost(primary);
  StartHost(primary);
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  ASSERT_EQ(PrimaryOf(gpid), primary);
  ExpectLostNotServedFromAnother(gpid, stale, OpenScan(gpid, "b"));
}

// After a failover the new primary's scan ids are its own: an id the old
// primary gave out is lost there, not another client's scan.
TEST_F(ReplicaHostDataTest, ScanFromBeforeAFailoverIsLostNotServedFromAnother) {
  Build({.hosts = 3, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int old_primary = PrimaryOf(gpid);
  MustWrite(MultiPut(gpid, "a", {"1", "2", "3"}));
  MustWrite(MultiPut(gpid, "b", {"1", "2", "3"}));
  const int64_t stale = OpenScan(gpid, "a");

  CrashHost(old_primary);
  ASSERT_TRUE(
      RunUntil([&] { return PrimaryOf(gpid) != old_primary && AllServed(); },
               kSettleNs));
  ExpectLostNotServedFromAnother(gpid, stale, OpenScan(gpid, "b"));
}

// A membership change gives the primary a new ballot, not a new term: its
// open scans go on.
TEST_F(ReplicaHostDataTest, ScansLastThroughAMembershipChangeOfTheirPrimary) {
  Build({.hosts = 3, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  const int secondary = FirstSecondaryOf(gpid);
  const Ballot ballot = MetaConfig(gpid).ballot();
  MustWrite(MultiPut(gpid, "a", {"1", "2", "3"}));
  const int64_t id = OpenScan(gpid, "a");

  CrashHost(secondary);
  ASSERT_TRUE(RunUntil(
      [&] {
        return !IsMember(MetaConfig(gpid), NodeOf(secondary)) && AllServed();
      },
      kSettleNs));
  ASSERT_EQ(PrimaryOf(gpid), primary);
  EXPECT_GT(MetaConfig(gpid).ballot(), ballot);
  proto::DataResponse next = AskPrimary(Scan(gpid, id));
  EXPECT_EQ(CodeName(next), "PERR_OK") << next.error_message();
  EXPECT_EQ(Rows(next), std::vector<std::string>{"a/2=a2"});
}

// Requests the codec or the storage layer refuses get a clear error, and
// nothing is written, replicated or opened.
TEST_F(ReplicaHostDataTest, BadDataRequestsAreRefusedAndChangeNothing) {
  Build({.hosts = 2, .partitions = 1, .replicas = 2});
  ASSERT_TRUE(RunUntil([&] { return AllServed(); }, kSettleNs));
  const Gpid gpid{kAppId, 0};
  const int primary = PrimaryOf(gpid);
  MustWrite(MultiPut(gpid, "h", {"a"}));
  RunFor(3 * kSecond);
  const std::vector<HostState> before = Snapshot();

  proto::DataRequest good = To(gpid);
  proto::CheckAndMutateRequest* cam = good.mutable_check_and_mutate();
  cam->set_hash_key("h");
  cam->set_check_sort_key("a");
  proto::Mutate* mutate = cam->add_mutate_list();
  mutate->set_sort_key("b");
  mutate->set_value("v");
  struct Case {
    std::string what;
    proto::DataRequest request;
    std::string error;
  };
  std::vector<Case> cases;
  auto add = [&](std::string what, proto::DataRequest request,
                 std::string error) {
    cases.push_back({std::move(what), std::move(request), std::move(error)});
  };
  proto::DataRequest r = good;
  r.mutable_check_and_mutate()->set_check_type(18);
  add("unknown check type", r, "PERR_INVALID_ARGUMENT");
  r = good;
  r.mutable_check_and_mutate()->clear_hash_key();
  add("empty hash key", r, "PERR_INVALID_HASH_KEY");
  r = good;
  r.mutable_check_and_mutate()->clear_mutate_list();
  add("no mutations", r, "PERR_INVALID_ARGUMENT");
  r = good;
  r.mutable_check_and_mutate()->mutable_mutate_list(0)->set_operation(2);
  add("unknown mutate operation", r, "PERR_INVALID_ARGUMENT");
  r = good;
  r.mutable_check_and_mutate()->mutable_mutate_list(0)->set_value(
      std::string((1 << 20) + 1, 'v'));
  add("over the size limit", r, "PERR_INVALID_ARGUMENT");
  r = To(gpid);
  r.mutable_get_scanner()->set_batch_size(1);
  add("scanner without a range", r, "PERR_INVALID_ARGUMENT");
  r = HashScan(gpid, "", 1);
  add("scanner of an empty hash key", r, "PERR_INVALID_HASH_KEY");
  r = HashScan(gpid, "h", 1);
  r.mutable_get_scanner()->set_sort_key_filter_type(9);
  add("unknown filter type", r, "PERR_INVALID_ARGUMENT");
  r = To(gpid);
  r.mutable_batch_get();
  add("batch_get without keys", r, "PERR_INVALID_ARGUMENT");
  r = Scan(gpid, kScanContextCompleted);
  add("scan of the done id", r, "PERR_INVALID_ARGUMENT");
  r = To(gpid);
  r.mutable_sortkey_count();
  add("sortkey_count of an empty hash key", r, "PERR_INVALID_HASH_KEY");
  for (const Case& c : cases) {
    proto::DataResponse response = Ask(primary, c.request);
    EXPECT_EQ(CodeName(response), c.error) << c.what;
    EXPECT_FALSE(response.error_message().empty()) << c.what;
  }
  // A check_and_mutate that would write, made malformed by a bad last
  // byte.
  EXPECT_EQ(DataError(primary, good.SerializeAsString() + "\xff"),
            "PERR_INVALID_ARGUMENT");
  RunFor(2 * kSecond);

  const std::vector<HostState> after = Snapshot();
  EXPECT_EQ(after, before) << "before:\n"
                           << Describe(before) << "after:\n"
                           << Describe(after);
  EXPECT_EQ(Stored(primary, gpid, "h", "b"), "<absent>");
  // The well-formed one is served.
  EXPECT_EQ(CodeName(AskPrimary(good)), "PERR_OK");
  EXPECT_EQ(Stored(primary, gpid, "h", "b"), "v");
}

}  // namespace
}  // namespace pegasus::replication::host_test
