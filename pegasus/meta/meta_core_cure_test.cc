// MetaCore's Tick: failure detection and the guardian's cure, driven by
// hand with explicit time.

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/meta/meta_test_harness.h"

namespace pegasus {
namespace {

constexpr NodeId kN1{1}, kN2{2}, kN3{3}, kN4{4};
constexpr Gpid kP0{1, 0};
const std::set<NodeId> kThree = {kN1, kN2, kN3};
const std::set<NodeId> kFour = {kN1, kN2, kN3, kN4};

proto::ReplicaReport Report(Gpid gpid, int64_t ballot) {
  proto::ReplicaReport report;
  report.set_app_id(gpid.app_id);
  report.set_partition_index(gpid.partition_index);
  report.set_ballot(ballot);
  return report;
}

class MetaCoreCureTest : public ::testing::Test {
 protected:
  explicit MetaCoreCureTest(const MetaOptions& options = NeverFreeze())
      : h_(options) {}

  void SetUp() override { ASSERT_TRUE(h_.Start().ok()); }

  // A table of `partitions` partitions, replica count 3, healed on `nodes`.
  void MakeFullTable(const std::set<NodeId>& nodes, int partitions = 1) {
    h_.BeaconAll(nodes);
    ASSERT_TRUE(h_.CreateTable("t1", partitions, 3).ok());
    h_.Drain();
    h_.Settle();
    Heal(h_, nodes);
    for (Gpid gpid : h_.core().Partitions()) {
      ASSERT_EQ(h_.core().GetConfig(gpid)->secondaries_size(), 2);
    }
    h_.TakeSent();
  }

  // Runs 100 ms steps with `alive` beaconing until `done` holds (at most
  // `limit_ns`); returns whether it did.
  template <typename Done>
  bool RunUntil(const std::set<NodeId>& alive, Done done,
                int64_t limit_ns = 20 * kSecondNs) {
    for (int64_t t = 0; t < limit_ns && !done(); t += 100 * kMsNs) {
      h_.Run(100 * kMsNs, alive);
      h_.core().CheckInvariants();
    }
    return done();
  }

  const proto::PartitionConfig& Config(Gpid gpid = kP0) {
    return *h_.core().GetConfig(gpid);
  }

  MetaHarness h_;
};

// A whole run from an empty cluster to healthy partitions, as a transcript.
std::string Transcript(const MetaOptions& options) {
  MetaHarness h(options);
  PEGASUS_CHECK_OK(h.Start());
  h.BeaconAll(kFour);
  PEGASUS_CHECK_OK(h.CreateTable("t1", 8, 3));
  h.Drain();
  h.Settle();
  std::string transcript;
  for (int round = 0; round < 20; ++round) {
    h.Run(100 * kMsNs, kFour);
    for (const SentMessage& m : h.sent()) {
      transcript += m.to.ToString() + " " + std::to_string(m.out.reply_token) +
                    " " + std::to_string(m.out.message.index()) + " ";
      std::visit([&](const auto& msg) { transcript += msg.ShortDebugString(); },
                 m.out.message);
      transcript += "\n";
    }
    CompleteLearners(h);
  }
  return transcript;
}

TEST_F(MetaCoreCureTest, NewTableGetsPrimariesBalancedAcrossAliveNodes) {
  h_.BeaconAll(kThree);
  ASSERT_TRUE(h_.CreateTable("t1", 8, 3).ok());
  h_.Tick();
  // Assigned, but nobody hears of it before the ballot is durable.
  EXPECT_TRUE(h_.Proposals().empty());
  EXPECT_EQ(Config().ballot(), 0);
  h_.Settle();
  const auto assigned = ProposalsOf(h_, proto::CONFIG_ASSIGN_PRIMARY);
  ASSERT_EQ(assigned.size(), 8u);
  const uint64_t expected[] = {1, 2, 3, 1, 2, 3, 1, 2};
  for (int i = 0; i < 8; ++i) {
    const proto::PartitionConfig& config = Config(Gpid{1, i});
    EXPECT_EQ(config.primary(), expected[i]) << i;
    EXPECT_EQ(config.ballot(), 1);
    EXPECT_EQ(assigned[i].first.value, expected[i]);
    EXPECT_EQ(assigned[i].second.config().ballot(), 1);
    EXPECT_EQ(assigned[i].second.node(), expected[i]);
  }
  h_.core().CheckInvariants();
}

TEST(MetaCoreDeterminismTest, SameInputsGiveTheSameOutputs) {
  const std::string first = Transcript(NeverFreeze());
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, Transcript(NeverFreeze()));
}

TEST_F(MetaCoreCureTest, NewPartitionGetsSecondariesWithoutWaiting) {
  h_.BeaconAll(kFour);
  ASSERT_TRUE(h_.CreateTable("t1", 1, 3).ok());
  h_.Drain();
  h_.Settle();
  h_.TickAndSettle();
  h_.TakeSent();
  h_.Advance(100 * kMsNs);
  h_.TickAndSettle();
  const auto adds = ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY);
  ASSERT_EQ(adds.size(), 1u);
  EXPECT_EQ(adds[0].first, kN1);  // to the primary
  EXPECT_EQ(adds[0].second.node(), kN2.value);
  EXPECT_EQ(adds[0].second.config().ballot(), Config().ballot());
}

TEST_F(MetaCoreCureTest, DeadNodeLosesItsPrimariesToSecondaries) {
  MakeFullTable(kThree, 4);  // primaries on n1, n2, n3, n1
  ASSERT_EQ(Config(Gpid{1, 0}).primary(), kN1.value);
  ASSERT_EQ(Config(Gpid{1, 3}).primary(), kN1.value);
  std::vector<int64_t> ballots;
  for (int i = 0; i < 4; ++i) ballots.push_back(Config(Gpid{1, i}).ballot());
  ASSERT_TRUE(RunUntil({kN2, kN3}, [&] {
    return Config(Gpid{1, 0}).primary() != 0 &&
           Config(Gpid{1, 0}).primary() != kN1.value;
  }));
  EXPECT_EQ(h_.core().GetNodeStatus(kN1), NodeStatus::kDead);
  // Downgraded, then the secondary with the fewest primaries (a tie: n2 and
  // n3 have one each; the lower id wins) upgraded: ballot + 2.
  const proto::PartitionConfig& p0 = Config(Gpid{1, 0});
  EXPECT_EQ(p0.ballot(), ballots[0] + 2);
  EXPECT_EQ(p0.primary(), kN2.value);
  ASSERT_EQ(p0.secondaries_size(), 1);
  EXPECT_EQ(p0.secondaries(0), kN3.value);
  ASSERT_EQ(p0.last_drops_size(), 1);
  EXPECT_EQ(p0.last_drops(0), kN1.value);
  // Where n1 was a secondary it is removed: ballot + 1.
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(Config(Gpid{1, i}).ballot(), ballots[i] + 1);
    EXPECT_EQ(Config(Gpid{1, i}).secondaries_size(), 1);
  }
  const auto downgrades = ProposalsOf(h_, proto::CONFIG_DOWNGRADE_TO_INACTIVE);
  EXPECT_EQ(downgrades.size(), 8u);  // to both remaining members, 4 times
  const auto upgrades = ProposalsOf(h_, proto::CONFIG_UPGRADE_TO_PRIMARY);
  // The new primary and the secondary, for p0 and p3.
  ASSERT_EQ(upgrades.size(), 4u);
  EXPECT_EQ(upgrades[0].first, kN2);
  EXPECT_EQ(upgrades[0].second.node(), kN2.value);
  EXPECT_EQ(upgrades[0].second.config().ballot(), ballots[0] + 2);
  // Two live nodes cannot make three replicas: no learner is ever asked for.
  h_.Run(10 * kSecondNs, {kN2, kN3});
  EXPECT_TRUE(ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY).empty());
}

TEST_F(MetaCoreCureTest, DeadSecondaryIsReplacedAfterTheDelay) {
  MakeFullTable(kFour);
  ASSERT_EQ(Config().secondaries(1), kN3.value);
  const int64_t ballot = Config().ballot();
  const std::set<NodeId> alive = {kN1, kN2, kN4};
  ASSERT_TRUE(RunUntil(alive, [&] { return Config().ballot() > ballot; }));
  EXPECT_EQ(Config().ballot(), ballot + 1);
  EXPECT_EQ(Config().secondaries_size(), 1);
  EXPECT_EQ(Config().last_drops(0), kN3.value);
  const auto removed = ProposalsOf(h_, proto::CONFIG_DOWNGRADE_TO_INACTIVE);
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(removed[0].first, kN1);
  EXPECT_EQ(removed[0].second.node(), kN3.value);
  // The partition waits for n3 to come back...
  h_.Run(2'800 * kMsNs, alive);
  EXPECT_TRUE(ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY).empty());
  // ...then asks the primary for a learner on n4.
  h_.Run(500 * kMsNs, alive);
  const auto adds = ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY);
  ASSERT_EQ(adds.size(), 1u);
  EXPECT_EQ(adds[0].first, kN1);
  EXPECT_EQ(adds[0].second.node(), kN4.value);
}

TEST_F(MetaCoreCureTest, ReturningDroppedNodeIsPreferredAsTheLearner) {
  MakeFullTable(kFour);
  const int64_t ballot = Config().ballot();
  ASSERT_TRUE(
      RunUntil({kN1, kN2, kN4}, [&] { return Config().ballot() > ballot; }));
  h_.Run(1 * kSecondNs, {kN1, kN2, kN4});
  EXPECT_TRUE(ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY).empty());
  h_.Run(200 * kMsNs, kFour);  // n3 is back: taken at once, not n4
  const auto adds = ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY);
  ASSERT_EQ(adds.size(), 1u);
  EXPECT_EQ(adds[0].second.node(), kN3.value);
  CompleteLearners(h_);
  EXPECT_EQ(Config().secondaries_size(), 2);
  EXPECT_EQ(Config().last_drops_size(), 0);  // n3 is a member again
}

TEST_F(MetaCoreCureTest, AddSecondaryIsResentAtMostEveryDelay) {
  h_.BeaconAll(kFour);
  ASSERT_TRUE(h_.CreateTable("t1", 1, 2).ok());
  h_.Drain();
  h_.Settle();
  h_.Run(200 * kMsNs, kFour);
  ASSERT_EQ(ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY).size(), 1u);
  h_.Run(2'500 * kMsNs, kFour);  // the learner has not finished
  EXPECT_EQ(ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY).size(), 1u);
  h_.Run(600 * kMsNs, kFour);
  EXPECT_EQ(ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY).size(), 2u);
}

TEST_F(MetaCoreCureTest, FailedStoreWriteIsRetriedByTheCure) {
  h_.Beacon(kN1);
  ASSERT_TRUE(h_.CreateTable("t1", 1, 1).ok());
  h_.Drain();
  h_.Settle();
  h_.store().set_fail_writes(true);
  h_.TickAndSettle();
  h_.TickAndSettle();
  EXPECT_EQ(Config().ballot(), 0);
  EXPECT_EQ(Config().primary(), 0u);
  EXPECT_TRUE(h_.Proposals().empty());
  EXPECT_EQ(h_.core().stats().writes_failed, 2u);
  h_.store().set_fail_writes(false);
  h_.TickAndSettle();
  EXPECT_EQ(Config().ballot(), 1);
  EXPECT_EQ(Config().primary(), kN1.value);
  EXPECT_EQ(ProposalsOf(h_, proto::CONFIG_ASSIGN_PRIMARY).size(), 1u);
}

TEST_F(MetaCoreCureTest, FailedCreationWriteIsWrittenAgain) {
  h_.Beacon(kN1);
  proto::AdminRequest request;
  request.mutable_create_table()->set_name("t1");
  request.mutable_create_table()->set_partition_count(1);
  request.mutable_create_table()->set_replica_count(1);
  const ReplyToken token = h_.Admin(request);
  // The table record lands; the partition's write fails.
  h_.store().set_fail_writes(true);
  h_.Settle();
  EXPECT_EQ(h_.medium().Snapshot().size(), 1u);
  EXPECT_FALSE(h_.ResponseFor<proto::AdminResponse>(token));
  h_.store().set_fail_writes(false);
  h_.TickAndSettle();  // the creation write again
  EXPECT_EQ(h_.medium().Snapshot().size(), 2u);
  EXPECT_EQ(Config().ballot(), 0);
  auto response = h_.ResponseFor<proto::AdminResponse>(token);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->error(), 0);
  h_.TickAndSettle();
  EXPECT_EQ(Config().ballot(), 1);
}

TEST_F(MetaCoreCureTest, FailedTableWriteFailsTheCreateAndChangesNothing) {
  h_.store().set_fail_writes(true);
  EXPECT_TRUE(
      HasErrorCode(h_.CreateTable("t1", 1, 1), ErrorCode::kIoError));
  EXPECT_TRUE(h_.core().Partitions().empty());
  EXPECT_EQ(h_.core().FindTable("t1"), nullptr);
  h_.store().set_fail_writes(false);
  ASSERT_TRUE(h_.CreateTable("t1", 1, 1).ok());
  EXPECT_EQ(h_.core().FindTable("t1")->app_id(), 1);
}

// Kills n1-n3 (primary n1, secondaries n2 and n3) and waits until the
// partition has no member left; returns the ballot then.
int64_t KillEveryReplica(MetaHarness& h) {
  for (int i = 0; i < 100 && h.core().GetConfig(kP0)->last_drops_size() < 3;
       ++i) {
    h.Run(100 * kMsNs, {});
  }
  const proto::PartitionConfig& config = *h.core().GetConfig(kP0);
  PEGASUS_CHECK_EQ(config.last_drops_size(), 3);
  PEGASUS_CHECK_EQ(config.primary(), 0u);
  PEGASUS_CHECK_EQ(config.secondaries_size(), 0);
  return config.ballot();
}

TEST_F(MetaCoreCureTest, AllDeadPartitionWaitsForTheLastDroppedNode) {
  MakeFullTable(kThree);
  const int64_t ballot = KillEveryReplica(h_);
  // Dropped in order: the primary, then the secondaries.
  EXPECT_EQ(Config().last_drops(0), kN1.value);
  EXPECT_EQ(Config().last_drops(2), kN3.value);
  h_.TakeSent();
  // n1 and n2 come back with their replicas: neither is safe.
  h_.BeaconAll({kN1, kN2});
  h_.ConfigSync(kN1, {Report(kP0, ballot - 3)});
  h_.ConfigSync(kN2, {Report(kP0, ballot - 2)});
  h_.Run(10 * kSecondNs, {kN1, kN2});
  EXPECT_EQ(Config().ballot(), ballot);
  EXPECT_TRUE(ProposalsOf(h_, proto::CONFIG_ASSIGN_PRIMARY).empty());
  // n3 is alive but has not said it still has the replica.
  h_.Run(1 * kSecondNs, kThree);
  EXPECT_EQ(Config().ballot(), ballot);
  h_.ConfigSync(kN3, {Report(kP0, ballot - 1)});
  h_.Run(100 * kMsNs, kThree);
  EXPECT_EQ(Config().ballot(), ballot + 1);
  EXPECT_EQ(Config().primary(), kN3.value);
  const auto assigned = ProposalsOf(h_, proto::CONFIG_ASSIGN_PRIMARY);
  ASSERT_EQ(assigned.size(), 1u);
  EXPECT_EQ(assigned[0].first, kN3);
  // The other dropped nodes come back as learners, newest first.
  h_.Run(100 * kMsNs, kThree);
  const auto adds = ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY);
  ASSERT_EQ(adds.size(), 1u);
  EXPECT_EQ(adds[0].second.node(), kN2.value);
}

// A sync n3 sent before it was declared dead, arriving once it is back,
// tells of no replica: believed, the cure would skip n3, the newest drop, for
// n2, which may lack writes committed after it left.
TEST_F(MetaCoreCureTest, ASyncSentBeforeTheNodeDiedDoesNotCount) {
  MakeFullTable(kThree);
  proto::ConfigSyncRequest stale;
  stale.set_node(kN3.value);
  stale.set_session(kN3.value + 100);  // The harness's session for n3.
  stale.set_lease_beacon(h_.beacons_sent(kN3));
  stale.set_seq(1000);
  const int64_t ballot = KillEveryReplica(h_);
  h_.BeaconAll(kThree);
  h_.ConfigSync(kN1, {Report(kP0, ballot - 3)});
  h_.ConfigSync(kN2, {Report(kP0, ballot - 2)});
  h_.core().OnConfigSync(kN3, stale, 99, h_.now());
  h_.Drain();
  h_.Run(1 * kSecondNs, kThree);
  EXPECT_EQ(Config().ballot(), ballot) << "n2 was made primary";
  h_.ConfigSync(kN3, {Report(kP0, ballot - 1)});
  h_.Run(100 * kMsNs, kThree);
  EXPECT_EQ(Config().primary(), kN3.value);
}

TEST_F(MetaCoreCureTest, NewPartitionWhosePrimaryNeverHeardIsAssignedAgain) {
  h_.BeaconAll({kN1});
  ASSERT_TRUE(h_.CreateTable("t1", 1, 3).ok());
  h_.Drain();
  h_.Settle();
  h_.Run(100 * kMsNs, {kN1});
  ASSERT_EQ(Config().primary(), kN1.value);
  // n1 never got the proposal and dies; it comes back with no replica.
  h_.Run(6 * kSecondNs, {kN2});
  ASSERT_EQ(Config().primary(), 0u);
  ASSERT_EQ(Config().last_drops_size(), 1);
  h_.Run(1 * kSecondNs, {kN1, kN2});
  EXPECT_EQ(Config().primary(), 0u) << "n1 has not synced yet";
  h_.ConfigSync(kN1, {});
  EXPECT_TRUE(RunUntil({kN1, kN2}, [&] { return Config().primary() != 0; }));
}

TEST_F(MetaCoreCureTest, DroppedNodeReportsAreForgottenWhenItDiesAgain) {
  MakeFullTable(kThree);
  const int64_t ballot = KillEveryReplica(h_);
  h_.Beacon(kN3);
  h_.ConfigSync(kN3, {Report(kP0, ballot - 1)});
  h_.Advance(6 * kSecondNs);  // n3 dies again before a tick
  h_.TickAndSettle();
  h_.Run(1 * kSecondNs, {kN3});  // back, but has not reported again
  EXPECT_EQ(Config().ballot(), ballot);
  h_.ConfigSync(kN3, {Report(kP0, ballot - 1)});
  h_.Run(100 * kMsNs, {kN3});
  EXPECT_EQ(Config().primary(), kN3.value);
}

class PlantedPromoteRemovedTest : public MetaCoreCureTest {
 protected:
  PlantedPromoteRemovedTest()
      : MetaCoreCureTest(NeverFreeze({.planted_promote_removed = true})) {}
};

TEST_F(PlantedPromoteRemovedTest, PromotesTheOldestDroppedNode) {
  MakeFullTable(kThree);
  const int64_t ballot = KillEveryReplica(h_);
  h_.Run(200 * kMsNs, {kN1});  // the first one dropped; no report needed
  EXPECT_EQ(Config().ballot(), ballot + 1);
  EXPECT_EQ(Config().primary(), kN1.value);
}

TEST_F(PlantedPromoteRemovedTest, PromotesADroppedNodeOverASecondary) {
  MakeFullTable(kFour);
  const uint64_t primary = Config().primary();
  const uint64_t dropped = Config().secondaries(1);
  auto member = [&](uint64_t node) {
    const proto::PartitionConfig& config = Config();
    return config.primary() == node ||
           std::count(config.secondaries().begin(), config.secondaries().end(),
                      node) > 0;
  };
  // A secondary dies and is dropped; it comes back, and the primary dies.
  std::set<NodeId> alive = kFour;
  alive.erase(NodeId{dropped});
  ASSERT_TRUE(RunUntil(alive, [&] { return !member(dropped); }));
  alive.insert(NodeId{dropped});
  alive.erase(NodeId{primary});
  ASSERT_TRUE(RunUntil(alive, [&] {
    return Config().primary() != primary && Config().primary() != 0;
  }));
  EXPECT_EQ(Config().primary(), dropped);
  EXPECT_GT(Config().secondaries_size(), 0);
}

TEST(MetaCoreNodeLimitTest, NewNodeIsRefusedWhenTheTableIsFullOfLiveNodes) {
  MetaHarness h(NeverFreeze({.max_nodes = 2}));
  ASSERT_TRUE(h.Start().ok());
  h.BeaconAll({kN1, kN2});
  const ReplyToken refused = h.Beacon(kN3);
  EXPECT_FALSE(h.ResponseFor<proto::BeaconResponse>(refused)->allowed());
  EXPECT_EQ(h.core().GetNodeStatus(kN3), NodeStatus::kDead);
  h.Run(6 * kSecondNs, {kN2});  // n1 dies: its place can be taken
  const ReplyToken allowed = h.Beacon(kN3);
  EXPECT_TRUE(h.ResponseFor<proto::BeaconResponse>(allowed)->allowed());
  EXPECT_EQ(h.core().GetNodeStatus(kN3), NodeStatus::kAlive);
  h.core().CheckInvariants();
}

}  // namespace
}  // namespace pegasus
