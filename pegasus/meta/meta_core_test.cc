// MetaCore's answers to replica servers (beacons, configuration updates and
// syncs), tables, store failures and recovery. The cure is tested in
// meta_core_cure_test.cc.

#include "pegasus/meta/meta_core.h"

#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/internal/partition_configs.h"
#include "pegasus/meta/meta_test_harness.h"

namespace pegasus {
namespace {

constexpr NodeId kN1{1}, kN2{2}, kN3{3}, kN4{4};
constexpr Gpid kP0{1, 0};
const std::set<NodeId> kThree = {kN1, kN2, kN3};

int ErrorOf(const proto::ConfigUpdateResponse& response) {
  return response.error();
}
constexpr int Code(ErrorCode code) { return static_cast<int>(code); }

class MetaCoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h_.Start().ok()); }

  // One table of `partitions` partitions, replica count 3, healed on n1-n3.
  void MakeFullTable(int partitions = 1) {
    h_.BeaconAll(kThree);
    ASSERT_TRUE(h_.CreateTable("t1", partitions, 3).ok());
    h_.Drain();
    h_.Settle();
    Heal(h_, kThree);
    for (Gpid gpid : h_.core().Partitions()) {
      const proto::PartitionConfig* config = h_.core().GetConfig(gpid);
      ASSERT_NE(config->primary(), 0u);
      ASSERT_EQ(config->secondaries_size(), 2);
    }
    h_.TakeSent();
  }

  const proto::PartitionConfig& Config(Gpid gpid = kP0) {
    return *h_.core().GetConfig(gpid);
  }
  NodeId Primary(Gpid gpid = kP0) { return NodeId{Config(gpid).primary()}; }
  NodeId Secondary(int i, Gpid gpid = kP0) {
    return NodeId{Config(gpid).secondaries(i)};
  }

  // Sends `request` and expects it refused at once with `code`, changing
  // nothing and writing nothing.
  void ExpectRefused(NodeId from, const proto::ConfigUpdateRequest& request,
                     ErrorCode code) {
    const std::string before = Config().SerializeAsString();
    const uint64_t writes = h_.writes_issued();
    const ReplyToken token = h_.ConfigUpdate(from, request);
    auto response = h_.ResponseFor<proto::ConfigUpdateResponse>(token);
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(ErrorOf(*response), Code(code)) << response->error_message();
    EXPECT_EQ(response->config().SerializeAsString(), before);
    h_.Settle();
    EXPECT_EQ(Config().SerializeAsString(), before);
    EXPECT_EQ(h_.writes_issued(), writes);
    h_.core().CheckInvariants();
  }

  MetaHarness h_;
};

TEST_F(MetaCoreTest, BeaconIsAnsweredWithItsSendTimeAndAllowed) {
  h_.Advance(7 * kMsNs);
  const ReplyToken token = h_.Beacon(kN1);
  auto response = h_.ResponseFor<proto::BeaconResponse>(token);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->send_time_ns(), 7 * kMsNs);
  EXPECT_TRUE(response->allowed());
  EXPECT_EQ(h_.core().GetNodeStatus(kN1), NodeStatus::kAlive);
}

TEST_F(MetaCoreTest, BeaconNamingAnotherNodeIsDropped) {
  proto::Beacon beacon;
  beacon.set_node(2);
  h_.core().OnBeacon(kN1, beacon, 5, h_.now());
  EXPECT_TRUE(h_.core().TakeReady().empty());
  EXPECT_EQ(h_.core().stats().malformed_messages, 1u);
  EXPECT_EQ(h_.core().GetNodeStatus(kN1), NodeStatus::kDead);
}

TEST(MetaCoreNotReadyTest, RefusesEverythingUntilRecovered) {
  auto core = MetaCore::Create(MetaOptions{});
  ASSERT_TRUE(core.ok());
  MetaCore& meta = **core;
  proto::Beacon beacon;
  beacon.set_node(1);
  meta.OnBeacon(kN1, beacon, 1, 0);
  proto::ConfigSyncRequest sync;
  sync.set_node(1);
  meta.OnConfigSync(kN1, sync, 2, 0);
  proto::ConfigUpdateRequest update;
  update.set_from(1);
  update.set_node(2);
  update.set_type(proto::CONFIG_REMOVE);
  meta.OnConfigUpdate(kN1, update, 3, 0);
  proto::AdminRequest create;
  create.mutable_create_table()->set_name("t1");
  meta.OnAdmin(kN1, create, 4, 0, 0);
  MetaReady ready = meta.TakeReady();
  ASSERT_EQ(ready.messages.size(), 4u);
  EXPECT_FALSE(std::get<proto::BeaconResponse>(ready.messages[0].second.message)
                   .allowed());
  EXPECT_EQ(
      std::get<proto::ConfigSyncResponse>(ready.messages[1].second.message)
          .error(),
      Code(ErrorCode::kTryAgain));
  EXPECT_EQ(
      std::get<proto::ConfigUpdateResponse>(ready.messages[2].second.message)
          .error(),
      Code(ErrorCode::kTryAgain));
  EXPECT_EQ(
      std::get<proto::AdminResponse>(ready.messages[3].second.message).error(),
      Code(ErrorCode::kTryAgain));
  meta.Tick(100 * kSecondNs);
  EXPECT_TRUE(meta.TakeReady().empty());
  EXPECT_EQ(meta.GetNodeStatus(kN1), NodeStatus::kDead);
}

TEST(MetaCoreCreateTest, RefusesInvalidOptions) {
  auto core = MetaCore::Create({.lease_ns = 6'000'000'000});
  EXPECT_TRUE(HasErrorCode(core.status(), ErrorCode::kInvalidArgument));
}

TEST_F(MetaCoreTest, CreateTableValidatesItsArguments) {
  EXPECT_TRUE(
      HasErrorCode(h_.CreateTable("", 1, 3), ErrorCode::kInvalidAppName));
  EXPECT_TRUE(
      HasErrorCode(h_.CreateTable("a b", 1, 3), ErrorCode::kInvalidAppName));
  EXPECT_TRUE(HasErrorCode(h_.CreateTable(std::string(129, 'a'), 1, 3),
                           ErrorCode::kInvalidAppName));
  EXPECT_TRUE(
      HasErrorCode(h_.CreateTable("t1", 0, 3), ErrorCode::kInvalidParCount));
  EXPECT_TRUE(
      HasErrorCode(h_.CreateTable("t1", 3, 3), ErrorCode::kInvalidParCount));
  EXPECT_TRUE(HasErrorCode(h_.CreateTable("t1", 131072, 3),
                           ErrorCode::kInvalidParCount));
  EXPECT_TRUE(
      HasErrorCode(h_.CreateTable("t1", 1, 0), ErrorCode::kInvalidRepCount));
  EXPECT_TRUE(
      HasErrorCode(h_.CreateTable("t1", 1, 6), ErrorCode::kInvalidRepCount));
  EXPECT_TRUE(h_.core().Partitions().empty());
  EXPECT_TRUE(h_.medium().Snapshot().empty()) << "a refusal writes nothing";
  ASSERT_TRUE(h_.CreateTable("t1", 2, 3).ok());
  EXPECT_TRUE(HasErrorCode(h_.CreateTable("t1", 2, 3), ErrorCode::kAppExist));
  EXPECT_EQ(h_.core().Partitions().size(), 2u);
}

TEST(MetaCoreLimitsTest, CreateTableRefusesBeyondMaxPartitions) {
  MetaHarness h(NeverFreeze({.max_partitions = 4}));
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.CreateTable("t1", 2, 1).ok());
  EXPECT_TRUE(
      HasErrorCode(h.CreateTable("t2", 4, 1), ErrorCode::kInvalidParCount));
  EXPECT_TRUE(h.CreateTable("t2", 2, 1).ok());
}

TEST_F(MetaCoreTest, CreateTablePersistsTheTableThenEveryPartitionAtBallotZero) {
  proto::AdminRequest request;
  auto* create = request.mutable_create_table();
  create->set_name("t1");
  create->set_partition_count(2);
  create->set_replica_count(3);
  const ReplyToken token = h_.Admin(request);
  // The table record first; its partitions only once it is durable.
  EXPECT_TRUE(h_.core().Partitions().empty());
  h_.executor().RunOne();
  EXPECT_EQ(h_.medium().Snapshot().size(), 1u);
  EXPECT_TRUE(h_.core().HasChangeInFlight(kP0));
  EXPECT_FALSE(h_.ResponseFor<proto::AdminResponse>(token))
      << "answered before its partitions are durable";
  h_.Settle();
  auto response = h_.ResponseFor<proto::AdminResponse>(token);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->error(), 0);
  EXPECT_EQ(response->create_table().app_id(), 1);
  const auto stored = h_.medium().Snapshot();
  ASSERT_EQ(stored.size(), 3u);
  proto::PartitionConfig config;
  ASSERT_TRUE(config.ParseFromString(stored.at("partition/1/1")));
  EXPECT_EQ(config.ballot(), 0);
  EXPECT_EQ(config.max_replica_count(), 3);
  EXPECT_EQ(config.primary(), 0u);
  proto::TableInfo table;
  ASSERT_TRUE(table.ParseFromString(stored.at("table/1")));
  EXPECT_EQ(table.name(), "t1");
  EXPECT_EQ(table.status(), proto::TABLE_AVAILABLE);
  EXPECT_EQ(table.create_time_s(), kHarnessWallStartS);
  EXPECT_FALSE(h_.core().HasChangeInFlight(kP0));
}

TEST_F(MetaCoreTest, UpdateIsAcceptedFromThePrimaryWithBallotPlusOne) {
  MakeFullTable();
  const proto::PartitionConfig before = Config();
  const NodeId removed = Secondary(1);
  const ReplyToken token = h_.ConfigUpdate(
      Primary(), MakeUpdate(before, proto::CONFIG_REMOVE, removed, Primary()));
  // Nothing is answered, and nothing changes, until the ballot is durable.
  EXPECT_FALSE(h_.ResponseFor<proto::ConfigUpdateResponse>(token));
  EXPECT_EQ(Config().ballot(), before.ballot());
  EXPECT_TRUE(h_.core().HasChangeInFlight(kP0));
  h_.Settle();
  auto response = h_.ResponseFor<proto::ConfigUpdateResponse>(token);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(ErrorOf(*response), 0);
  EXPECT_EQ(response->config().ballot(), before.ballot() + 1);
  EXPECT_EQ(Config().ballot(), before.ballot() + 1);
  ASSERT_EQ(Config().secondaries_size(), 1);
  EXPECT_EQ(Config().secondaries(0), before.secondaries(0));
  ASSERT_EQ(Config().last_drops_size(), 1);
  EXPECT_EQ(Config().last_drops(0), removed.value);
  proto::PartitionConfig stored;
  ASSERT_TRUE(
      stored.ParseFromString(h_.medium().Snapshot().at("partition/1/0")));
  EXPECT_EQ(stored.ballot(), before.ballot() + 1);
  h_.core().CheckInvariants();
}

TEST_F(MetaCoreTest, UpdateWithStaleOrSkippedBallotIsRefused) {
  MakeFullTable();
  auto request =
      MakeUpdate(Config(), proto::CONFIG_REMOVE, Secondary(0), Primary());
  request.mutable_config()->set_ballot(Config().ballot());
  ExpectRefused(Primary(), request, ErrorCode::kServerChanged);
  request.mutable_config()->set_ballot(Config().ballot() + 2);
  ExpectRefused(Primary(), request, ErrorCode::kServerChanged);
}

TEST_F(MetaCoreTest, UpdateFromANonPrimaryIsRefused) {
  MakeFullTable();
  const NodeId secondary = Secondary(0);
  ExpectRefused(
      secondary,
      MakeUpdate(Config(), proto::CONFIG_REMOVE, Secondary(1), secondary),
      ErrorCode::kServerChanged);
}

TEST_F(MetaCoreTest, MalformedUpdatesAreRefusedAndChangeNothing) {
  MakeFullTable();
  const NodeId p = Primary();
  const NodeId s = Secondary(0);
  const auto valid = MakeUpdate(Config(), proto::CONFIG_REMOVE, s, p);

  auto wrong_from = valid;
  wrong_from.set_from(s.value);
  ExpectRefused(p, wrong_from, ErrorCode::kInvalidArgument);

  auto zero_node = valid;
  zero_node.set_node(0);
  ExpectRefused(p, zero_node, ErrorCode::kInvalidArgument);

  auto zero_secondary = valid;
  zero_secondary.mutable_config()->add_secondaries(0);
  ExpectRefused(p, zero_secondary, ErrorCode::kInvalidArgument);

  auto duplicate = valid;
  duplicate.mutable_config()->add_secondaries(
      duplicate.config().secondaries(0));
  ExpectRefused(p, duplicate, ErrorCode::kInvalidArgument);

  auto primary_also_secondary = valid;
  primary_also_secondary.mutable_config()->add_secondaries(p.value);
  ExpectRefused(p, primary_also_secondary, ErrorCode::kInvalidArgument);

  auto meta_only = valid;
  meta_only.set_type(proto::CONFIG_ASSIGN_PRIMARY);
  ExpectRefused(p, meta_only, ErrorCode::kInvalidArgument);

  auto two_removed = valid;
  two_removed.mutable_config()->clear_secondaries();
  ExpectRefused(p, two_removed, ErrorCode::kInvalidArgument);

  auto remove_self = MakeUpdate(Config(), proto::CONFIG_REMOVE, p, p);
  remove_self.mutable_config()->set_primary(0);
  ExpectRefused(p, remove_self, ErrorCode::kInvalidArgument);

  ExpectRefused(p, MakeUpdate(Config(), proto::CONFIG_REMOVE, kN4, p),
                ErrorCode::kInvalidArgument);
  EXPECT_EQ(h_.core().stats().updates_accepted, 2u);  // the two learners
}

TEST_F(MetaCoreTest, UpgradeToSecondaryRespectsTheReplicaCount) {
  MakeFullTable();
  const NodeId p = Primary();
  ExpectRefused(
      p, MakeUpdate(Config(), proto::CONFIG_UPGRADE_TO_SECONDARY, kN4, p),
      ErrorCode::kInvalidArgument);
  ExpectRefused(
      p,
      MakeUpdate(Config(), proto::CONFIG_UPGRADE_TO_SECONDARY, Secondary(0), p),
      ErrorCode::kInvalidArgument);
}

TEST_F(MetaCoreTest, UpdateForAnUnknownPartitionIsNotFound) {
  MakeFullTable();
  auto request =
      MakeUpdate(Config(), proto::CONFIG_REMOVE, Secondary(0), Primary());
  request.mutable_config()->set_partition_index(7);
  const ReplyToken token = h_.ConfigUpdate(Primary(), request);
  auto response = h_.ResponseFor<proto::ConfigUpdateResponse>(token);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(ErrorOf(*response), Code(ErrorCode::kObjectNotFound));
  EXPECT_EQ(response->config().partition_index(), 7);
}

TEST_F(MetaCoreTest, SecondConcurrentUpdateIsRefusedWhileTheFirstIsInFlight) {
  MakeFullTable();
  const proto::PartitionConfig before = Config();
  const NodeId p = Primary();
  const ReplyToken first = h_.ConfigUpdate(
      p, MakeUpdate(before, proto::CONFIG_REMOVE, Secondary(0), p));
  const ReplyToken second = h_.ConfigUpdate(
      p, MakeUpdate(before, proto::CONFIG_REMOVE, Secondary(1), p));
  auto refused = h_.ResponseFor<proto::ConfigUpdateResponse>(second);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(ErrorOf(*refused), Code(ErrorCode::kServerChanged));
  EXPECT_EQ(refused->config().ballot(), before.ballot());
  h_.Settle();
  auto accepted = h_.ResponseFor<proto::ConfigUpdateResponse>(first);
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(ErrorOf(*accepted), 0);
  EXPECT_EQ(Config().ballot(), before.ballot() + 1);
  EXPECT_EQ(Config().secondaries_size(), 1);
}

TEST_F(MetaCoreTest, RepeatedUpdateGetsTheSameAnswerAsTheFirst) {
  MakeFullTable();
  const NodeId p = Primary();
  const auto request =
      MakeUpdate(Config(), proto::CONFIG_REMOVE, Secondary(0), p);
  const ReplyToken first = h_.ConfigUpdate(p, request);
  const ReplyToken retry_in_flight = h_.ConfigUpdate(p, request);
  h_.Settle();
  const ReplyToken retry_after = h_.ConfigUpdate(p, request);
  for (ReplyToken token : {first, retry_in_flight, retry_after}) {
    auto response = h_.ResponseFor<proto::ConfigUpdateResponse>(token);
    ASSERT_TRUE(response.has_value()) << token;
    EXPECT_EQ(ErrorOf(*response), 0) << token;
    EXPECT_EQ(response->config().ballot(), request.config().ballot());
  }
  EXPECT_EQ(h_.core().stats().writes_failed, 0u);
  EXPECT_EQ(Config().ballot(), request.config().ballot());
}

TEST_F(MetaCoreTest, PrimaryMayDowngradeItselfToSecondary) {
  MakeFullTable();
  const NodeId p = Primary();
  const ReplyToken token = h_.ConfigUpdate(
      p, MakeUpdate(Config(), proto::CONFIG_DOWNGRADE_TO_SECONDARY, p, p));
  h_.Settle();
  auto response = h_.ResponseFor<proto::ConfigUpdateResponse>(token);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(ErrorOf(*response), 0) << response->error_message();
  EXPECT_EQ(Config().primary(), 0u);
  EXPECT_EQ(Config().secondaries_size(), 3);
  EXPECT_EQ(Config().last_drops_size(), 0);
}

TEST_F(MetaCoreTest, PrimaryMayAskForANewBallotWithTheSameMembers) {
  MakeFullTable();
  const proto::PartitionConfig before = Config();
  const NodeId p = Primary();
  const ReplyToken token = h_.ConfigUpdate(
      p, MakeUpdate(before, proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT, p, p));
  h_.Settle();
  auto response = h_.ResponseFor<proto::ConfigUpdateResponse>(token);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(ErrorOf(*response), 0) << response->error_message();
  EXPECT_EQ(Config().ballot(), before.ballot() + 1);
  EXPECT_TRUE(meta_internal::SameMembers(Config(), before));
  // Only for itself, and only the primary.
  ExpectRefused(p,
                MakeUpdate(Config(), proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT,
                           Secondary(0), p),
                ErrorCode::kInvalidArgument);
  ExpectRefused(Secondary(0),
                MakeUpdate(Config(), proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT,
                           Secondary(0), Secondary(0)),
                ErrorCode::kServerChanged);
}

TEST_F(MetaCoreTest, FailedStoreWriteLeavesTheConfigAndAnswersIoError) {
  MakeFullTable();
  const proto::PartitionConfig before = Config();
  h_.store().set_fail_writes(true);
  const NodeId p = Primary();
  const ReplyToken token = h_.ConfigUpdate(
      p, MakeUpdate(before, proto::CONFIG_REMOVE, Secondary(0), p));
  h_.Settle();
  auto response = h_.ResponseFor<proto::ConfigUpdateResponse>(token);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(ErrorOf(*response), Code(ErrorCode::kIoError));
  EXPECT_EQ(response->config().SerializeAsString(), before.SerializeAsString());
  EXPECT_EQ(Config().SerializeAsString(), before.SerializeAsString());
  EXPECT_FALSE(h_.core().HasChangeInFlight(kP0));
  EXPECT_EQ(h_.core().stats().writes_failed, 1u);
  // The primary may ask again once the store works.
  h_.store().set_fail_writes(false);
  const ReplyToken again =
      h_.ConfigUpdate(p, MakeUpdate(before, proto::CONFIG_REMOVE,
                                    NodeId{before.secondaries(0)}, p));
  h_.Settle();
  auto accepted = h_.ResponseFor<proto::ConfigUpdateResponse>(again);
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(ErrorOf(*accepted), 0);
}

TEST_F(MetaCoreTest, ConfigSyncReturnsThePartitionsTheNodeIsAMemberOf) {
  MakeFullTable(4);
  ASSERT_TRUE(h_.CreateTable("t2", 1, 1).ok());
  h_.Drain();
  h_.Settle();
  h_.BeaconAll({kN4});
  const ReplyToken token = h_.ConfigSync(kN1, {});
  auto response = h_.ResponseFor<proto::ConfigSyncResponse>(token);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->error(), 0);
  EXPECT_EQ(response->configs_size(), 4);  // table 2 has no member yet
  for (const auto& config : response->configs()) EXPECT_EQ(config.app_id(), 1);
  ASSERT_EQ(response->tables_size(), 1);
  EXPECT_EQ(response->tables(0).name(), "t1");
  const ReplyToken none = h_.ConfigSync(kN4, {});
  EXPECT_EQ(h_.ResponseFor<proto::ConfigSyncResponse>(none)->configs_size(), 0);
}

// Proposals and answers to a node carry the fence of its latest beacon (the
// harness's session for node n is n + 100).
TEST_F(MetaCoreTest, MessagesCarryTheFenceOfTheRecipientsLatestBeacon) {
  auto expect_fence = [&](NodeId to, const proto::LeaseFence& fence) {
    EXPECT_EQ(fence.session(), to.value + 100) << to.value;
    EXPECT_EQ(fence.beacon(), h_.beacons_sent(to)) << to.value;
  };
  h_.BeaconAll(kThree);
  h_.Beacon(kN2);
  ASSERT_TRUE(h_.CreateTable("t1", 2, 3).ok());
  h_.Drain();
  h_.Settle();
  h_.TickAndSettle();
  const auto proposals = h_.Proposals();
  ASSERT_FALSE(proposals.empty());
  for (const auto& [to, proposal] : proposals)
    expect_fence(to, proposal.fence());

  h_.Beacon(kN1);
  const ReplyToken sync = h_.ConfigSync(kN1, {});
  expect_fence(kN1, h_.ResponseFor<proto::ConfigSyncResponse>(sync)->fence());
  // Refused or accepted, an update's answer carries it too.
  const proto::PartitionConfig config = Config();
  const ReplyToken update =
      h_.ConfigUpdate(kN3, MakeUpdate(config, proto::CONFIG_REMOVE, kN3, kN3));
  expect_fence(kN3,
               h_.ResponseFor<proto::ConfigUpdateResponse>(update)->fence());
  // A node never heard from gets zeros, which no server's session is.
  const ReplyToken stranger = h_.ConfigSync(kN4, {});
  EXPECT_EQ(
      h_.ResponseFor<proto::ConfigSyncResponse>(stranger)->fence().session(),
      0u);
}

TEST_F(MetaCoreTest, ConfigSyncNamingAnotherNodeIsRefused) {
  proto::ConfigSyncRequest request;
  request.set_node(2);
  h_.core().OnConfigSync(kN1, request, 9, h_.now());
  MetaReady ready = h_.core().TakeReady();
  ASSERT_EQ(ready.messages.size(), 1u);
  EXPECT_EQ(ready.messages[0].second.reply_token, 9u);
  EXPECT_EQ(
      std::get<proto::ConfigSyncResponse>(ready.messages[0].second.message)
          .error(),
      Code(ErrorCode::kInvalidArgument));
}

TEST_F(MetaCoreTest, RecoversConfigurationsFromTheStore) {
  MakeFullTable(4);
  std::map<Gpid, std::string> before;
  for (Gpid gpid : h_.core().Partitions()) {
    before[gpid] = Config(gpid).SerializeAsString();
  }
  ASSERT_TRUE(h_.Start().ok());
  for (const auto& [gpid, config] : before) {
    EXPECT_EQ(Config(gpid).SerializeAsString(), config);
  }
  // Every member starts unknown with a full grace period from recovery.
  EXPECT_EQ(h_.core().GetNodeStatus(kN1), NodeStatus::kUnknown);
  EXPECT_TRUE(h_.core().AliveNodes().empty());
  h_.Run(4 * kSecondNs, {kN2, kN3});
  EXPECT_EQ(h_.core().GetNodeStatus(kN1), NodeStatus::kUnknown);
  for (const auto& [gpid, config] : before) {
    EXPECT_EQ(Config(gpid).SerializeAsString(), config);
  }
  // n1 never beacons: at grace it is dead and leaves every configuration.
  h_.Run(2 * kSecondNs, {kN2, kN3});
  EXPECT_EQ(h_.core().GetNodeStatus(kN1), NodeStatus::kDead);
  for (Gpid gpid : h_.core().Partitions()) {
    EXPECT_FALSE(meta_internal::IsMember(Config(gpid), kN1));
  }
}

TEST(MetaCoreRecoverTest, RefusesCorruptEntriesAndIgnoresOtherKeys) {
  proto::PartitionConfig good;
  good.set_app_id(1);
  good.set_partition_index(0);
  good.set_ballot(3);
  good.set_primary(1);
  good.set_max_replica_count(3);
  proto::TableInfo table;
  table.set_app_id(1);
  table.set_name("t1");
  table.set_status(proto::TABLE_AVAILABLE);
  table.set_partition_count(2);
  table.set_replica_count(3);
  const std::string table_entry = table.SerializeAsString();
  auto recover = [&](std::map<std::string, std::string> stored) {
    stored.emplace("table/1", table_entry);
    auto core = MetaCore::Create(MetaOptions{});
    PEGASUS_CHECK_OK(core.status());
    return (*core)->Recover(stored, 0);
  };
  EXPECT_TRUE(recover({{"partition/1/0", good.SerializeAsString()},
                       {"other/key", "anything"}})
                  .ok());
  EXPECT_TRUE(HasErrorCode(recover({{"partition/1/0", "\xff garbage"}}),
                           ErrorCode::kCorruption));
  EXPECT_TRUE(
      HasErrorCode(recover({{"partition/1/x", good.SerializeAsString()}}),
                   ErrorCode::kCorruption));
  EXPECT_TRUE(
      HasErrorCode(recover({{"partition/1/1", good.SerializeAsString()}}),
                   ErrorCode::kCorruption));
  proto::PartitionConfig twice = good;
  twice.add_secondaries(1);
  EXPECT_TRUE(
      HasErrorCode(recover({{"partition/1/0", twice.SerializeAsString()}}),
                   ErrorCode::kCorruption));
  // A partition of no table, or beyond its table's count; a bad table.
  proto::PartitionConfig orphan = good;
  orphan.set_app_id(2);
  EXPECT_TRUE(
      HasErrorCode(recover({{"partition/2/0", orphan.SerializeAsString()}}),
                   ErrorCode::kCorruption));
  proto::PartitionConfig beyond = good;
  beyond.set_partition_index(2);
  EXPECT_TRUE(
      HasErrorCode(recover({{"partition/1/2", beyond.SerializeAsString()}}),
                   ErrorCode::kCorruption));
  EXPECT_TRUE(HasErrorCode(recover({{"table/2", "\xff garbage"}}),
                           ErrorCode::kCorruption));
  EXPECT_TRUE(HasErrorCode(recover({{"table/x", table_entry}}),
                           ErrorCode::kCorruption));
  EXPECT_TRUE(HasErrorCode(recover({{"table/2", table_entry}}),
                           ErrorCode::kCorruption));  // names table 1
  EXPECT_TRUE(
      HasErrorCode(recover({{"meta/level", "7"}}), ErrorCode::kCorruption));
}

TEST_F(MetaCoreTest, RecoverTwiceIsRefused) {
  EXPECT_TRUE(HasErrorCode(h_.core().Recover({}, h_.now()),
                           ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace pegasus
