// MetaCore's meta levels (what each level lets the meta server do, their
// persistence, the automatic freeze while too few replica servers are alive)
// and the cluster queries list_nodes and cluster_info. Driven by hand through
// MetaHarness.

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/internal/partition_configs.h"
#include "pegasus/meta/meta_admin_test_util.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/meta/meta_test_harness.h"

namespace pegasus {
namespace {

class MetaLevelsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h_.Start().ok()); }

  const proto::PartitionConfig& Config(Gpid gpid) {
    return *h_.core().GetConfig(gpid);
  }

  MetaHarness h_;
};

// --- Meta levels -----------------------------------------------------------

TEST_F(MetaLevelsTest, MetaLevelIsSetPersistedAndRecovered) {
  proto::MetaLevelResponse level = GetLevel(h_);
  EXPECT_EQ(level.level(), proto::META_LEVEL_STEADY);
  EXPECT_EQ(level.effective_level(), proto::META_LEVEL_STEADY);
  const proto::AdminResponse set =
      h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_LIVELY));
  ASSERT_EQ(set.error(), 0);
  EXPECT_EQ(set.meta_level().level(), proto::META_LEVEL_LIVELY);
  EXPECT_EQ(set.meta_level().effective_level(), proto::META_LEVEL_LIVELY);
  EXPECT_EQ(h_.medium().Snapshot().at("meta/level"), "500");
  ASSERT_EQ(h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_BLIND)).error(),
            0);
  EXPECT_EQ(h_.medium().Snapshot().at("meta/level"), "200");
  ASSERT_TRUE(h_.Start().ok());
  level = GetLevel(h_);
  EXPECT_EQ(level.level(), proto::META_LEVEL_BLIND);
  EXPECT_EQ(level.effective_level(), proto::META_LEVEL_BLIND);
}

TEST(MetaLevelsOnStartTest, LevelOnStartAppliesUntilALevelIsSet) {
  MetaHarness h(NeverFreeze({.level_on_start = proto::META_LEVEL_FREEZED}));
  ASSERT_TRUE(h.Start().ok());
  EXPECT_EQ(GetLevel(h).level(), proto::META_LEVEL_FREEZED);
  EXPECT_EQ(GetLevel(h).effective_level(), proto::META_LEVEL_FREEZED);
  // A level once set is persisted, and wins over level_on_start.
  ASSERT_EQ(h.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_STEADY)).error(),
            0);
  ASSERT_TRUE(h.Start().ok());
  EXPECT_EQ(GetLevel(h).level(), proto::META_LEVEL_STEADY);
}

TEST_F(MetaLevelsTest, InvalidMetaLevelIsRefused) {
  for (int level : {0, 7, 250, 600}) {
    ExpectRefused(h_, MakeSetLevel(static_cast<proto::MetaLevel>(level)),
                  ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(h_.core().level(), proto::META_LEVEL_STEADY);
}

TEST_F(MetaLevelsTest, AtStoppedTableOperationsAreDisabledButNotTheLevel) {
  MakeHealedTable(h_, "t", 1, 3, kThree);
  ASSERT_TRUE(h_.CreateTable("gone", 1, 1).ok());
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("gone", 1)).error(), 0);
  const proto::PartitionConfig before = Config({1, 0});
  ASSERT_EQ(h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_STOPPED)).error(),
            0);
  for (const proto::AdminRequest& request :
       {MakeCreate("x", 1, 1), MakeDrop("t"), MakeRecall(2),
        MakeRename("t", "x"), MakeSetEnvs("t", {{"default_ttl", "1"}}),
        MakeSetReplicaCount("t", 2)}) {
    ExpectRefused(h_, request, ErrorCode::kOperationDisabled);
  }
  EXPECT_EQ(Listed(h_, false), std::vector<std::string>{"t"});
  EXPECT_EQ(GetLevel(h_).effective_level(), proto::META_LEVEL_STOPPED);
  const ReplyToken update = h_.ConfigUpdate(
      kN1,
      MakeUpdate(before, proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT, kN1, kN1));
  EXPECT_EQ(h_.ResponseFor<proto::ConfigUpdateResponse>(update)->error(),
            Code(ErrorCode::kOperationDisabled));
  // Past the hold, with n3 dead: no purge, no cure.
  h_.Run(6 * kSecondNs, {kN1, kN2});
  EXPECT_EQ(h_.core().GetTable(2)->status(), proto::TABLE_DROPPED);
  EXPECT_TRUE(meta_internal::SameConfig(Config({1, 0}), before));
  EXPECT_TRUE(h_.Proposals().empty());
  ASSERT_EQ(h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_STEADY)).error(),
            0);
  h_.Run(200 * kMsNs, {kN1, kN2});
  EXPECT_EQ(h_.core().GetTable(2)->status(), proto::TABLE_PURGED);
  EXPECT_FALSE(meta_internal::IsMember(Config({1, 0}), kN3));
}

// Each operation is checked against the level the ones before it left.
TEST_F(MetaLevelsTest, OperationQueuedBehindALevelChangeRunsAtThatLevel) {
  ASSERT_TRUE(h_.CreateTable("t", 1, 1).ok());
  const ReplyToken stop = h_.Admin(MakeSetLevel(proto::META_LEVEL_STOPPED));
  const ReplyToken drop = h_.Admin(MakeDrop("t"));
  h_.Settle();
  EXPECT_EQ(h_.ResponseFor<proto::AdminResponse>(stop)->error(), 0);
  EXPECT_EQ(h_.ResponseFor<proto::AdminResponse>(drop)->error(),
            Code(ErrorCode::kOperationDisabled));
  EXPECT_EQ(Stored(h_, 1).status(), proto::TABLE_AVAILABLE);
  const ReplyToken start = h_.Admin(MakeSetLevel(proto::META_LEVEL_STEADY));
  const ReplyToken drop_again = h_.Admin(MakeDrop("t", 1));
  h_.Settle();
  EXPECT_EQ(h_.ResponseFor<proto::AdminResponse>(start)->error(), 0);
  EXPECT_EQ(h_.ResponseFor<proto::AdminResponse>(drop_again)->error(), 0);
  EXPECT_EQ(Stored(h_, 1).status(), proto::TABLE_DROPPED);
  // A purge queued behind a stop does not run either.
  h_.Advance(kSecondNs);
  h_.Admin(MakeSetLevel(proto::META_LEVEL_STOPPED));
  h_.core().PurgeExpiredTables(h_.now(), h_.wall_now_s());
  h_.Drain();
  EXPECT_EQ(h_.core().pending_admin(), 2u);
  h_.Settle();
  EXPECT_EQ(h_.core().pending_admin(), 0u);
  EXPECT_EQ(Stored(h_, 1).status(), proto::TABLE_DROPPED);
}

TEST_F(MetaLevelsTest, AtBlindNothingIsCuredAndPrimariesAreRefused) {
  MakeHealedTable(h_, "t", 1, 3, kThree);
  const proto::PartitionConfig before = Config({1, 0});
  ASSERT_EQ(h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_BLIND)).error(),
            0);
  // Table operations still run.
  ASSERT_TRUE(h_.CreateTable("u", 1, 1).ok());
  ASSERT_EQ(h_.AdminAndSettle(MakeSetEnvs("t", {{"default_ttl", "1"}})).error(),
            0);
  const ReplyToken update = h_.ConfigUpdate(
      kN1,
      MakeUpdate(before, proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT, kN1, kN1));
  EXPECT_EQ(h_.ResponseFor<proto::ConfigUpdateResponse>(update)->error(),
            Code(ErrorCode::kOperationDisabled));
  h_.Run(6 * kSecondNs, {kN1, kN2});
  EXPECT_EQ(h_.core().GetNodeStatus(kN3), NodeStatus::kDead);
  EXPECT_TRUE(meta_internal::SameConfig(Config({1, 0}), before));
  EXPECT_EQ(Config({2, 0}).primary(), 0u);
  EXPECT_TRUE(h_.Proposals().empty());
  ASSERT_EQ(h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_STEADY)).error(),
            0);
  h_.Run(200 * kMsNs, {kN1, kN2});
  EXPECT_FALSE(meta_internal::IsMember(Config({1, 0}), kN3));
  EXPECT_NE(Config({2, 0}).primary(), 0u);
}

TEST_F(MetaLevelsTest, FreezedPromotesASecondaryButAssignsAndCopiesNothing) {
  MakeHealedTable(h_, "t", 1, 3, kFour);
  ASSERT_EQ(Config({1, 0}).primary(), kN1.value);
  ASSERT_EQ(h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_FREEZED)).error(),
            0);
  ASSERT_TRUE(h_.CreateTable("u", 1, 1).ok());
  // n1, the primary, dies: a secondary takes over; nobody replaces n1 even
  // with n4 alive and the delay long past.
  h_.Run(10 * kSecondNs, {kN2, kN3, kN4});
  EXPECT_EQ(Config({1, 0}).primary(), kN2.value);
  ASSERT_EQ(Config({1, 0}).secondaries_size(), 1);
  EXPECT_EQ(Config({1, 0}).secondaries(0), kN3.value);
  EXPECT_EQ(ProposalsOf(h_, proto::CONFIG_UPGRADE_TO_PRIMARY).size(), 2u);
  EXPECT_TRUE(ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY).empty());
  EXPECT_TRUE(ProposalsOf(h_, proto::CONFIG_ASSIGN_PRIMARY).empty());
  EXPECT_EQ(Config({2, 0}).primary(), 0u);
  // Primaries' requests are served.
  const ReplyToken update = h_.ConfigUpdate(
      kN2, MakeUpdate(Config({1, 0}), proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT,
                      kN2, kN2));
  h_.Settle();
  EXPECT_EQ(h_.ResponseFor<proto::ConfigUpdateResponse>(update)->error(), 0);
  h_.TakeSent();
  ASSERT_EQ(h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_STEADY)).error(),
            0);
  h_.Run(100 * kMsNs, {kN2, kN3, kN4});
  const auto learners = ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY);
  ASSERT_EQ(learners.size(), 1u);
  EXPECT_EQ(learners[0].second.node(), kN4.value);
  h_.Run(100 * kMsNs, {kN2, kN3, kN4});
  EXPECT_NE(Config({2, 0}).primary(), 0u);
}

TEST_F(MetaLevelsTest, FreezedChangesNoReplicaCount) {
  MakeHealedTable(h_, "t", 1, 3, kThree);
  const proto::PartitionConfig before = Config({1, 0});
  ASSERT_EQ(h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_FREEZED)).error(),
            0);
  ASSERT_EQ(h_.AdminAndSettle(MakeSetReplicaCount("t", 2)).error(), 0);
  h_.Run(kSecondNs, kThree);
  EXPECT_TRUE(meta_internal::SameConfig(Config({1, 0}), before));
  ASSERT_EQ(h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_STEADY)).error(),
            0);
  h_.Run(100 * kMsNs, kThree);
  EXPECT_EQ(meta_internal::MemberCount(Config({1, 0})), 2);
  EXPECT_EQ(Config({1, 0}).max_replica_count(), 2);
}

// Default options: at least 3 replica servers alive and 65% of those
// tracked, or the meta server acts as if freezed.
TEST(MetaLevelsFreezeTest, TooFewAliveNodesFreezeUntilTheyComeBack) {
  MetaHarness h(MetaOptions{});
  ASSERT_TRUE(h.Start().ok());
  EXPECT_EQ(h.core().effective_level(), proto::META_LEVEL_FREEZED)
      << "no node alive yet";
  MakeHealedTable(h, "t", 1, 3, kFour);
  ASSERT_EQ(h.core().effective_level(), proto::META_LEVEL_STEADY);
  ASSERT_EQ(h.core().GetConfig({1, 0})->primary(), kN1.value);
  // n1 and n2 die: 2 alive of 4 tracked.
  h.Run(10 * kSecondNs, {kN3, kN4});
  proto::MetaLevelResponse level = GetLevel(h);
  EXPECT_EQ(level.level(), proto::META_LEVEL_STEADY);
  EXPECT_EQ(level.effective_level(), proto::META_LEVEL_FREEZED);
  const proto::PartitionConfig& config = *h.core().GetConfig({1, 0});
  EXPECT_EQ(config.primary(), kN3.value);
  EXPECT_EQ(config.secondaries_size(), 0);
  EXPECT_TRUE(ProposalsOf(h, proto::CONFIG_ADD_SECONDARY).empty());
  // n1 comes back: 3 of 4. The cure asks for it back as a learner at once.
  h.TakeSent();
  h.Run(100 * kMsNs, {kN1, kN3, kN4});
  EXPECT_EQ(GetLevel(h).effective_level(), proto::META_LEVEL_STEADY);
  const auto learners = ProposalsOf(h, proto::CONFIG_ADD_SECONDARY);
  ASSERT_EQ(learners.size(), 1u);
  EXPECT_EQ(learners[0].second.node(), kN1.value);
}

TEST(MetaLevelsFreezeTest, ThresholdsAreMinimumsAndLowerLevelsStay) {
  const std::set<NodeId> five = {kN1, kN2, kN3, kN4, kN5};
  // 60%: three of five alive is enough, two is not.
  MetaHarness percent(
      MetaOptions{.min_live_nodes = 0, .min_live_node_percent = 60});
  ASSERT_TRUE(percent.Start().ok());
  percent.Run(100 * kMsNs, five);
  EXPECT_EQ(percent.core().effective_level(), proto::META_LEVEL_STEADY);
  percent.Run(6 * kSecondNs, {kN1, kN2, kN3});
  EXPECT_EQ(percent.core().effective_level(), proto::META_LEVEL_STEADY);
  percent.Run(6 * kSecondNs, {kN1, kN2});
  EXPECT_EQ(percent.core().effective_level(), proto::META_LEVEL_FREEZED);
  // At least 3 alive, whatever the share.
  MetaHarness count(
      MetaOptions{.min_live_nodes = 3, .min_live_node_percent = 0});
  ASSERT_TRUE(count.Start().ok());
  count.Run(100 * kMsNs, {kN1, kN2});
  EXPECT_EQ(count.core().effective_level(), proto::META_LEVEL_FREEZED);
  count.Run(100 * kMsNs, {kN1, kN2, kN3});
  EXPECT_EQ(count.core().effective_level(), proto::META_LEVEL_STEADY);
  // Lively freezes too; a level below steady is kept as it is.
  ASSERT_EQ(
      count.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_LIVELY)).error(), 0);
  count.Run(6 * kSecondNs, {kN1});
  EXPECT_EQ(GetLevel(count).level(), proto::META_LEVEL_LIVELY);
  EXPECT_EQ(GetLevel(count).effective_level(), proto::META_LEVEL_FREEZED);
  ASSERT_EQ(count.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_BLIND)).error(),
            0);
  EXPECT_EQ(GetLevel(count).effective_level(), proto::META_LEVEL_BLIND);
}

// --- Cluster queries -------------------------------------------------------

TEST_F(MetaLevelsTest, ListNodesAndClusterInfoDescribeTheCluster) {
  // n4 was seen and died before any table existed.
  h_.Beacon(kN4);
  h_.Run(6 * kSecondNs, kThree);
  ASSERT_EQ(h_.core().GetNodeStatus(kN4), NodeStatus::kDead);
  MakeHealedTable(h_, "t", 4, 3, kThree);
  struct Expected {
    uint64_t node;
    bool alive;
    int primaries;
    int secondaries;
  };
  auto expect_nodes = [&](const std::vector<Expected>& expected) {
    const proto::AdminResponse response = h_.AdminAndSettle(MakeListNodes());
    ASSERT_EQ(response.error(), 0);
    const auto& nodes = response.list_nodes().nodes();
    ASSERT_EQ(nodes.size(), static_cast<int>(expected.size()));
    for (int i = 0; i < nodes.size(); ++i) {
      EXPECT_EQ(nodes[i].node(), expected[i].node) << i;
      EXPECT_EQ(nodes[i].alive(), expected[i].alive) << i;
      EXPECT_EQ(nodes[i].primaries(), expected[i].primaries) << i;
      EXPECT_EQ(nodes[i].secondaries(), expected[i].secondaries) << i;
    }
  };
  // Primaries went n1, n2, n3, n1; every node holds every partition.
  expect_nodes(
      {{1, true, 2, 2}, {2, true, 1, 3}, {3, true, 1, 3}, {4, false, 0, 0}});
  proto::ClusterInfoResponse info =
      h_.AdminAndSettle(MakeClusterInfo()).cluster_info();
  EXPECT_EQ(info.level(), proto::META_LEVEL_STEADY);
  EXPECT_EQ(info.effective_level(), proto::META_LEVEL_STEADY);
  EXPECT_EQ(info.alive_nodes(), 3);
  EXPECT_EQ(info.dead_nodes(), 1);
  EXPECT_EQ(info.available_tables(), 1);
  EXPECT_EQ(info.dropped_tables(), 0);
  EXPECT_EQ(info.partitions(), 4);
  EXPECT_EQ(info.healthy_partitions(), 4);
  EXPECT_EQ(info.writable_ill_partitions(), 0);
  EXPECT_EQ(info.unwritable_partitions(), 0);

  // At blind nothing moves: a new table stays unassigned, a dead node stays
  // in its configurations.
  ASSERT_EQ(h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_BLIND)).error(),
            0);
  ASSERT_TRUE(h_.CreateTable("u", 2, 1).ok());
  ASSERT_TRUE(h_.CreateTable("v", 1, 1).ok());
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("v")).error(), 0);
  h_.Run(6 * kSecondNs, {kN1, kN2});
  expect_nodes(
      {{1, true, 2, 2}, {2, true, 1, 3}, {3, false, 1, 3}, {4, false, 0, 0}});
  info = h_.AdminAndSettle(MakeClusterInfo()).cluster_info();
  EXPECT_EQ(info.level(), proto::META_LEVEL_BLIND);
  EXPECT_EQ(info.alive_nodes(), 2);
  EXPECT_EQ(info.dead_nodes(), 2);
  EXPECT_EQ(info.available_tables(), 2);
  EXPECT_EQ(info.dropped_tables(), 1);
  EXPECT_EQ(info.partitions(), 7);
  // t's partitions lost n3 (p2 its primary); u's were never assigned.
  EXPECT_EQ(info.healthy_partitions(), 0);
  EXPECT_EQ(info.writable_ill_partitions(), 3);
  EXPECT_EQ(info.unwritable_partitions(), 0);
  EXPECT_EQ(info.unreadable_partitions(), 1);
  EXPECT_EQ(info.dead_partitions(), 2);
}

}  // namespace
}  // namespace pegasus
