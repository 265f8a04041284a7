#include "pegasus/meta/balance/greedy_balancer.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/balance/balancer_test_util.h"

namespace pegasus::balance {
namespace {

// 6 partitions x 3 replicas on 3 nodes, every primary on n1.
ClusterSnapshot AllPrimariesOnOneNode() {
  std::vector<Layout> layouts(6, Layout{1, 2, 3});
  return ClusterSnapshot{Nodes(3), {Table(1, layouts)}};
}

// 6 partitions x 3 replicas, balanced on n1..n3, and an empty n4.
ClusterSnapshot NewEmptyNode() {
  return ClusterSnapshot{
      Nodes(4),
      {Table(
          1,
          {{1, 2, 3}, {2, 3, 1}, {3, 1, 2}, {1, 3, 2}, {2, 1, 3}, {3, 2, 1}})}};
}

TEST(GreedyBalancerTest, SwapsRolesToSpreadPrimariesOfAFullyReplicatedTable) {
  ClusterSnapshot cluster = AllPrimariesOnOneNode();
  const std::vector<Move> moves = ProposeMoves(cluster, BalancerOptions{});
  const std::vector<Move> expected = {
      {Gpid{1, 0}, MoveKind::kMovePrimary, NodeId{1}, NodeId{2}, 7},
      {Gpid{1, 1}, MoveKind::kMovePrimary, NodeId{1}, NodeId{3}, 7},
      {Gpid{1, 2}, MoveKind::kMovePrimary, NodeId{1}, NodeId{2}, 7},
      {Gpid{1, 3}, MoveKind::kMovePrimary, NodeId{1}, NodeId{3}, 7},
  };
  EXPECT_EQ(moves, expected) << Describe(moves);
  ApplyRound(cluster, moves);
  EXPECT_EQ(Primaries(cluster, 1), (std::vector<int64_t>{2, 2, 2}));
  EXPECT_TRUE(IsBalanced(cluster));
  EXPECT_TRUE(ProposeMoves(cluster, BalancerOptions{}).empty());
}

TEST(GreedyBalancerTest, SwapsAlongAPathWhenNoDirectSwapReachesTheTaker) {
  // n1 -> n2 (partitions 0 and 1), n2 -> n3 (partition 2); n3 holds no
  // secondary of n1's primaries.
  ClusterSnapshot cluster{Nodes(3), {Table(1, {{1, 2}, {1, 2}, {2, 3}})}};
  const std::vector<Move> moves = ProposeMoves(cluster, BalancerOptions{});
  const std::vector<Move> expected = {
      {Gpid{1, 0}, MoveKind::kMovePrimary, NodeId{1}, NodeId{2}, 7},
      {Gpid{1, 2}, MoveKind::kMovePrimary, NodeId{2}, NodeId{3}, 7},
  };
  EXPECT_EQ(moves, expected) << Describe(moves);
  ApplyRound(cluster, moves);
  EXPECT_EQ(Primaries(cluster, 1), (std::vector<int64_t>{1, 1, 1}));
  // Replicas are 2/3/1: the next round moves a secondary of n2 to n3.
  const std::vector<Move> next = ProposeMoves(cluster, BalancerOptions{});
  const std::vector<Move> expected_next = {
      {Gpid{1, 1}, MoveKind::kCopySecondary, NodeId{2}, NodeId{3}, 7}};
  EXPECT_EQ(next, expected_next) << Describe(next);
  ApplyRound(cluster, next);
  EXPECT_TRUE(IsBalanced(cluster));
}

TEST(GreedyBalancerTest, FillsANewNodeWithTheFewestCopiesAndNoSwaps) {
  ClusterSnapshot cluster = NewEmptyNode();
  const std::vector<std::vector<Move>> rounds =
      RunToFixpoint(cluster, BalancerOptions{});
  // n4 holds no secondary, so no swap can give it a primary: one primary
  // is copied to it, then secondaries until replicas are 4 or 5 each.
  ASSERT_EQ(rounds.size(), 2u);
  const std::vector<Move> copy_primary = {
      {Gpid{1, 0}, MoveKind::kCopyPrimary, NodeId{1}, NodeId{4}, 7}};
  EXPECT_EQ(rounds[0], copy_primary) << Describe(rounds[0]);
  EXPECT_EQ(CountKind(rounds, MoveKind::kMovePrimary), 0);
  EXPECT_EQ(CountKind(rounds, MoveKind::kCopySecondary), 3);
  // 18 replicas on 4 nodes: 6/6/6/0 needs four copies to reach 4..5.
  EXPECT_EQ(BandOf({6, 6, 6, 0}).MinTransfers(), 4);
  EXPECT_EQ(Primaries(cluster, 1), (std::vector<int64_t>{1, 2, 2, 1}));
  EXPECT_EQ(Replicas(cluster, 1), (std::vector<int64_t>{4, 5, 5, 4}));
  EXPECT_TRUE(IsBalanced(cluster));
}

TEST(GreedyBalancerTest, OnlyMovePrimaryFillsANewNodeBySwapsAfterCopies) {
  ClusterSnapshot cluster = NewEmptyNode();
  BalancerOptions options;
  options.only_move_primary = true;
  const std::vector<std::vector<Move>> rounds = RunToFixpoint(cluster, options);
  // Secondaries are copied to n4 first; then it holds secondaries, and a
  // swap gives it its primary.
  EXPECT_EQ(CountKind(rounds, MoveKind::kCopyPrimary), 0);
  EXPECT_EQ(CountKind(rounds, MoveKind::kCopySecondary), 4);
  EXPECT_EQ(CountKind(rounds, MoveKind::kMovePrimary), 1);
  EXPECT_TRUE(IsBalanced(cluster));
}

TEST(GreedyBalancerTest, CopiesNothingWhenOnlyRoleSwapsArePermitted) {
  ClusterSnapshot cluster = NewEmptyNode();
  BalancerOptions options;
  options.only_move_primary = true;
  options.only_primary_balancer = true;
  EXPECT_TRUE(ProposeMoves(cluster, options).empty());
}

TEST(GreedyBalancerTest, OnlyPrimaryBalancerLeavesReplicaCountsAlone) {
  // Primaries 1/1/1, replicas 3/2/1.
  ClusterSnapshot cluster{Nodes(3), {Table(1, {{1, 2}, {2, 1}, {3, 1}})}};
  BalancerOptions options;
  options.only_primary_balancer = true;
  EXPECT_TRUE(ProposeMoves(cluster, options).empty());
  const std::vector<Move> moves = ProposeMoves(cluster, BalancerOptions{});
  const std::vector<Move> expected = {
      {Gpid{1, 1}, MoveKind::kCopySecondary, NodeId{1}, NodeId{3}, 7}};
  EXPECT_EQ(moves, expected) << Describe(moves);
}

TEST(GreedyBalancerTest, MaxMovesPerRoundSplitsTheSwapsIntoRounds) {
  ClusterSnapshot cluster = AllPrimariesOnOneNode();
  BalancerOptions options;
  options.max_moves_per_round = 3;
  const std::vector<std::vector<Move>> rounds = RunToFixpoint(cluster, options);
  ASSERT_EQ(rounds.size(), 2u);
  EXPECT_EQ(rounds[0].size(), 3u);
  EXPECT_EQ(rounds[1].size(), 1u);
  EXPECT_TRUE(IsBalanced(cluster));

  cluster = NewEmptyNode();
  options.max_moves_per_round = 2;
  for (const auto& round : RunToFixpoint(cluster, options)) {
    EXPECT_LE(round.size(), 2u) << Describe(round);
  }
  EXPECT_TRUE(IsBalanced(cluster));
}

TEST(GreedyBalancerTest, BalancedSnapshotGetsNoMoves) {
  ClusterSnapshot cluster = NewEmptyNode();
  cluster.alive_nodes = Nodes(3);
  EXPECT_TRUE(IsBalanced(cluster));
  EXPECT_TRUE(ProposeMoves(cluster, BalancerOptions{}).empty());
}

TEST(GreedyBalancerTest, UnhealthyPartitionInAnyTableStopsTheBalancer) {
  ClusterSnapshot cluster = AllPrimariesOnOneNode();
  TableSnapshot short_table = Table(2, {{1, 2, 3}});
  short_table.partitions[0].mutable_secondaries()->RemoveLast();
  cluster.tables.push_back(short_table);
  EXPECT_TRUE(ProposeMoves(cluster, BalancerOptions{}).empty());
  EXPECT_TRUE(HasErrorCode(CheckBalanceable(cluster), ErrorCode::kTryAgain))
      << CheckBalanceable(cluster);

  cluster.tables[1].partitions[0].add_secondaries(3);
  cluster.tables[1].partitions[0].set_primary(0);
  EXPECT_TRUE(ProposeMoves(cluster, BalancerOptions{}).empty());
  EXPECT_TRUE(HasErrorCode(CheckBalanceable(cluster), ErrorCode::kTryAgain));

  cluster.tables[1].partitions[0].set_primary(1);
  EXPECT_TRUE(CheckBalanceable(cluster).ok()) << CheckBalanceable(cluster);
  EXPECT_FALSE(ProposeMoves(cluster, BalancerOptions{}).empty());
}

TEST(GreedyBalancerTest, DeadMemberStopsTheBalancer) {
  ClusterSnapshot cluster = AllPrimariesOnOneNode();
  cluster.alive_nodes = {NodeId{1}, NodeId{2}, NodeId{4}};
  EXPECT_TRUE(HasErrorCode(CheckBalanceable(cluster), ErrorCode::kTryAgain));
  EXPECT_TRUE(ProposeMoves(cluster, BalancerOptions{}).empty());
}

TEST(GreedyBalancerTest, MalformedSnapshotIsRefused) {
  auto expect_invalid = [](const ClusterSnapshot& cluster,
                           const std::string& what) {
    EXPECT_TRUE(
        HasErrorCode(CheckBalanceable(cluster), ErrorCode::kInvalidArgument))
        << what << ": " << CheckBalanceable(cluster);
    EXPECT_TRUE(ProposeMoves(cluster, BalancerOptions{}).empty()) << what;
  };
  ClusterSnapshot cluster = AllPrimariesOnOneNode();
  cluster.alive_nodes.push_back(NodeId{2});
  expect_invalid(cluster, "node listed twice");
  cluster.alive_nodes.back() = NodeId{0};
  expect_invalid(cluster, "node 0");

  cluster = AllPrimariesOnOneNode();
  cluster.tables.push_back(cluster.tables[0]);
  expect_invalid(cluster, "table listed twice");

  cluster = AllPrimariesOnOneNode();
  cluster.tables[0].partitions[2].set_partition_index(3);
  expect_invalid(cluster, "partition out of place");

  cluster = AllPrimariesOnOneNode();
  cluster.tables[0].partitions[1].set_secondaries(0, 1);
  expect_invalid(cluster, "member listed twice");
}

TEST(GreedyBalancerTest, BalancesOneTableARoundLowestAppIdFirst) {
  ClusterSnapshot cluster = AllPrimariesOnOneNode();
  TableSnapshot second = AllPrimariesOnOneNode().tables[0];
  second.app_id = 2;
  for (auto& config : second.partitions) config.set_app_id(2);
  // Listed first, balanced second.
  cluster.tables.insert(cluster.tables.begin(), second);
  const std::vector<std::vector<Move>> rounds =
      RunToFixpoint(cluster, BalancerOptions{});
  ASSERT_EQ(rounds.size(), 2u);
  for (const Move& move : rounds[0]) EXPECT_EQ(move.gpid.app_id, 1);
  for (const Move& move : rounds[1]) EXPECT_EQ(move.gpid.app_id, 2);
  EXPECT_EQ(Primaries(cluster, 1), (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(Primaries(cluster, 2), (std::vector<int64_t>{2, 2, 2}));
}

TEST(GreedyBalancerTest, PrimariesOfEveryTableComeBeforeAnyReplicas) {
  // Table 1 needs a secondary moved, table 2 a primary.
  ClusterSnapshot cluster{Nodes(3),
                          {Table(1, {{1, 2}, {2, 1}, {3, 1}}),
                           Table(2, {{1, 2, 3}, {1, 2, 3}, {1, 2, 3}})}};
  const std::vector<Move> first = ProposeMoves(cluster, BalancerOptions{});
  ASSERT_FALSE(first.empty());
  for (const Move& move : first) {
    EXPECT_EQ(move.gpid.app_id, 2) << Describe(first);
    EXPECT_EQ(move.kind, MoveKind::kMovePrimary) << Describe(first);
  }
  ApplyRound(cluster, first);
  const std::vector<Move> second = ProposeMoves(cluster, BalancerOptions{});
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].gpid.app_id, 1);
  EXPECT_EQ(second[0].kind, MoveKind::kCopySecondary);
}

TEST(GreedyBalancerTest, CopiesAPrimaryWhenNoSecondaryCanMove) {
  // n1 holds 3 replicas and n2 1; every partition of n1 that n2 lacks has
  // n1 as primary. Primaries are 2/1/1/1, so copying one of n1's keeps
  // them balanced.
  ClusterSnapshot cluster{Nodes(4),
                          {Table(1, {{1, 3}, {1, 4}, {2, 1}, {3, 4}, {4, 3}})}};
  const std::vector<Move> moves = ProposeMoves(cluster, BalancerOptions{});
  const std::vector<Move> expected = {
      {Gpid{1, 0}, MoveKind::kCopyPrimary, NodeId{1}, NodeId{2}, 7}};
  EXPECT_EQ(moves, expected) << Describe(moves);
  ApplyRound(cluster, moves);
  EXPECT_EQ(Primaries(cluster, 1), (std::vector<int64_t>{1, 2, 1, 1}));
  EXPECT_EQ(Replicas(cluster, 1), (std::vector<int64_t>{2, 2, 3, 3}));
  EXPECT_TRUE(IsBalanced(cluster));
}

TEST(GreedyBalancerTest, CopiedPrimaryGoesWithASwapBackWhenCountsAreEqual) {
  // Replicas 4/2/3/3, primaries 2/2/1/1: n1's partitions without n2 both
  // have n1 as primary, and n1 and n2 hold as many primaries each.
  ClusterSnapshot cluster{
      Nodes(4), {Table(1, {{1, 3}, {1, 4}, {2, 1}, {2, 1}, {3, 4}, {4, 3}})}};
  const std::vector<Move> moves = ProposeMoves(cluster, BalancerOptions{});
  const std::vector<Move> expected = {
      {Gpid{1, 0}, MoveKind::kCopyPrimary, NodeId{1}, NodeId{2}, 7},
      {Gpid{1, 2}, MoveKind::kMovePrimary, NodeId{2}, NodeId{1}, 7}};
  EXPECT_EQ(moves, expected) << Describe(moves);
  ApplyRound(cluster, moves);
  EXPECT_EQ(Primaries(cluster, 1), (std::vector<int64_t>{2, 2, 1, 1}));
  EXPECT_EQ(Replicas(cluster, 1), (std::vector<int64_t>{3, 3, 3, 3}));
  EXPECT_TRUE(IsBalanced(cluster));

  // With only_move_primary nothing can help: no secondary of n1 can move
  // and its primaries may not be copied.
  cluster = ClusterSnapshot{
      Nodes(4), {Table(1, {{1, 3}, {1, 4}, {2, 1}, {2, 1}, {3, 4}, {4, 3}})}};
  BalancerOptions options;
  options.only_move_primary = true;
  EXPECT_TRUE(ProposeMoves(cluster, options).empty());
}

TEST(GreedyBalancerTest, OrderOfNodesAndTablesInTheSnapshotDoesNotMatter) {
  ClusterSnapshot cluster{Nodes(4),
                          {Table(1, {{1, 2}, {1, 2}, {2, 3}, {1, 3}}),
                           Table(2, {{4, 1, 2}, {4, 2, 3}, {4, 1, 3}})}};
  ClusterSnapshot shuffled = cluster;
  std::reverse(shuffled.alive_nodes.begin(), shuffled.alive_nodes.end());
  std::reverse(shuffled.tables.begin(), shuffled.tables.end());
  EXPECT_EQ(ProposeMoves(cluster, BalancerOptions{}),
            ProposeMoves(shuffled, BalancerOptions{}));
  EXPECT_FALSE(ProposeMoves(cluster, BalancerOptions{}).empty());
}

TEST(GreedyBalancerTest, ValidateBalancerOptionsNeedsRoomForTwoMoves) {
  BalancerOptions options;
  EXPECT_TRUE(ValidateBalancerOptions(options).ok());
  options.max_moves_per_round = 1;
  EXPECT_TRUE(HasErrorCode(ValidateBalancerOptions(options),
                           ErrorCode::kInvalidArgument));
}

TEST(GreedyBalancerTest, MoveStepsFollowPegasus) {
  using S = std::vector<std::pair<proto::ConfigType, uint64_t>>;
  auto steps = [](MoveKind kind) {
    S out;
    for (const MoveStep& step :
         MoveSteps(Move{Gpid{1, 0}, kind, NodeId{1}, NodeId{2}, 7})) {
      out.emplace_back(step.type, step.node.value);
    }
    return out;
  };
  EXPECT_EQ(steps(MoveKind::kMovePrimary),
            (S{{proto::CONFIG_DOWNGRADE_TO_SECONDARY, 1},
               {proto::CONFIG_UPGRADE_TO_PRIMARY, 2}}));
  EXPECT_EQ(steps(MoveKind::kCopyPrimary),
            (S{{proto::CONFIG_UPGRADE_TO_SECONDARY, 2},
               {proto::CONFIG_DOWNGRADE_TO_SECONDARY, 1},
               {proto::CONFIG_UPGRADE_TO_PRIMARY, 2},
               {proto::CONFIG_REMOVE, 1}}));
  EXPECT_EQ(
      steps(MoveKind::kCopySecondary),
      (S{{proto::CONFIG_UPGRADE_TO_SECONDARY, 2}, {proto::CONFIG_REMOVE, 1}}));
}

TEST(GreedyBalancerTest, ApplyMoveChangesMembersAndBallotAsItsSteps) {
  proto::PartitionConfig config = Config(1, 0, {1, 2, 3});
  config.add_last_drops(4);
  config.add_last_drops(1);

  auto swapped = ApplyMove(config, Move{Gpid{1, 0}, MoveKind::kMovePrimary,
                                        NodeId{1}, NodeId{3}, 7});
  ASSERT_TRUE(swapped.ok()) << swapped.status();
  EXPECT_EQ(swapped->ballot(), 9);
  EXPECT_EQ(swapped->primary(), 3u);
  EXPECT_EQ(std::vector<uint64_t>(swapped->secondaries().begin(),
                                  swapped->secondaries().end()),
            (std::vector<uint64_t>{2, 1}));

  auto copied = ApplyMove(config, Move{Gpid{1, 0}, MoveKind::kCopyPrimary,
                                       NodeId{1}, NodeId{4}, 7});
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(copied->ballot(), 11);
  EXPECT_EQ(copied->primary(), 4u);
  EXPECT_EQ(std::vector<uint64_t>(copied->secondaries().begin(),
                                  copied->secondaries().end()),
            (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(std::vector<uint64_t>(copied->last_drops().begin(),
                                  copied->last_drops().end()),
            (std::vector<uint64_t>{1}));

  auto moved = ApplyMove(config, Move{Gpid{1, 0}, MoveKind::kCopySecondary,
                                      NodeId{2}, NodeId{5}, 7});
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->ballot(), 9);
  EXPECT_EQ(moved->primary(), 1u);
  EXPECT_EQ(std::vector<uint64_t>(moved->secondaries().begin(),
                                  moved->secondaries().end()),
            (std::vector<uint64_t>{3, 5}));
  EXPECT_EQ(std::vector<uint64_t>(moved->last_drops().begin(),
                                  moved->last_drops().end()),
            (std::vector<uint64_t>{4, 1, 2}));
}

TEST(GreedyBalancerTest, ApplyMoveRefusesAStaleOrMisfittingMove) {
  const proto::PartitionConfig config = Config(1, 0, {1, 2, 3});
  auto apply = [&](Move move) { return ApplyMove(config, move).status(); };
  const Gpid gpid{1, 0};
  EXPECT_TRUE(HasErrorCode(
      apply({gpid, MoveKind::kMovePrimary, NodeId{1}, NodeId{2}, 6}),
      ErrorCode::kServerChanged));
  EXPECT_TRUE(HasErrorCode(
      apply({Gpid{1, 1}, MoveKind::kMovePrimary, NodeId{1}, NodeId{2}, 7}),
      ErrorCode::kInvalidArgument));
  // Roles: a secondary is not moved as primary, no copy goes to a member,
  // no swap goes to a non-member.
  for (const Move& move : std::vector<Move>{
           {gpid, MoveKind::kMovePrimary, NodeId{2}, NodeId{3}, 7},
           {gpid, MoveKind::kMovePrimary, NodeId{1}, NodeId{4}, 7},
           {gpid, MoveKind::kCopyPrimary, NodeId{1}, NodeId{2}, 7},
           {gpid, MoveKind::kCopyPrimary, NodeId{2}, NodeId{4}, 7},
           {gpid, MoveKind::kCopySecondary, NodeId{1}, NodeId{4}, 7},
           {gpid, MoveKind::kCopySecondary, NodeId{2}, NodeId{3}, 7}}) {
    EXPECT_TRUE(HasErrorCode(apply(move), ErrorCode::kInvalidArgument))
        << move.ToString();
  }
}

TEST(GreedyBalancerTest, IsBalancedAllowsFloorToCeilOfTheAverage) {
  // 4 partitions x 2 on 3 nodes: primaries within [1, 2], replicas [2, 3].
  ClusterSnapshot cluster{Nodes(3),
                          {Table(1, {{1, 2}, {2, 3}, {3, 1}, {1, 2}})}};
  EXPECT_TRUE(IsBalanced(cluster));
  // Primaries 2/2/0.
  cluster.tables[0].partitions[2] = Config(1, 2, {1, 3});
  cluster.tables[0].partitions[1] = Config(1, 1, {2, 3});
  cluster.tables[0].partitions[3] = Config(1, 3, {2, 1});
  EXPECT_FALSE(IsBalanced(cluster));
  // A node holding nothing of the table.
  ClusterSnapshot with_empty{Nodes(3), {Table(1, {{1, 2}, {2, 1}})}};
  EXPECT_FALSE(IsBalanced(with_empty));
  EXPECT_TRUE(IsBalanced(ClusterSnapshot{{}, {TableSnapshot{1, {}}}}));
}

}  // namespace
}  // namespace pegasus::balance
