#include "pegasus/meta/internal/failure_detector.h"

#include <cstdint>
#include <utility>

#include "gtest/gtest.h"

namespace pegasus::meta_internal {
namespace {

constexpr int64_t kGraceNs = 5'000;

// The tests' sessions start in the order of their ids.
int64_t Start(uint64_t session) { return static_cast<int64_t>(session) * 100; }

TEST(FailureDetectorTest, NodeIsDeadAfterGraceWithoutBeacon) {
  FailureDetector fd(kGraceNs, 10);
  EXPECT_EQ(fd.Status(NodeId{1}), NodeStatus::kDead);  // never heard from
  fd.OnBeacon(NodeId{1}, 100, 7, Start(7), 1);
  EXPECT_TRUE(fd.IsAlive(NodeId{1}));
  EXPECT_TRUE(fd.DeclareDead(100 + kGraceNs - 1).empty());
  EXPECT_EQ(fd.DeclareDead(100 + kGraceNs), (std::vector<NodeId>{NodeId{1}}));
  EXPECT_TRUE(fd.IsDead(NodeId{1}));
  EXPECT_TRUE(fd.DeclareDead(100 + 2 * kGraceNs).empty());  // only once
  fd.OnBeacon(NodeId{1}, 20'000, 7, Start(7), 1);
  EXPECT_TRUE(fd.IsAlive(NodeId{1}));
}

TEST(FailureDetectorTest, ExpectedNodeHasGraceFromRecovery) {
  FailureDetector fd(kGraceNs, 10);
  fd.Expect(NodeId{2}, 1'000);
  EXPECT_EQ(fd.Status(NodeId{2}), NodeStatus::kUnknown);
  EXPECT_TRUE(fd.AliveNodes().empty());
  EXPECT_TRUE(fd.DeclareDead(1'000 + kGraceNs - 1).empty());
  EXPECT_EQ(fd.DeclareDead(1'000 + kGraceNs).size(), 1u);
}

TEST(FailureDetectorTest, FullTableEvictsTheLowestDeadNodeOrRefuses) {
  FailureDetector fd(kGraceNs, 2);
  EXPECT_TRUE(fd.OnBeacon(NodeId{1}, 0, 7, Start(7), 1));
  EXPECT_TRUE(fd.OnBeacon(NodeId{2}, 0, 7, Start(7), 1));
  EXPECT_FALSE(fd.OnBeacon(NodeId{3}, 1, 7, Start(7), 1));
  fd.OnBeacon(NodeId{2}, kGraceNs, 7, Start(7), 1);
  fd.DeclareDead(kGraceNs);
  EXPECT_TRUE(fd.OnBeacon(NodeId{3}, kGraceNs, 7, Start(7), 1));
  EXPECT_EQ(fd.tracked(), 2u);
  EXPECT_EQ(fd.AliveNodes(), (std::vector<NodeId>{NodeId{2}, NodeId{3}}));
}

// The fence names the latest session to beacon and its highest seq, however
// the beacons of that session arrive; a beacon of another session replaces
// it, whatever its seq.
TEST(FailureDetectorTest, FenceIsTheLatestSessionsHighestBeacon) {
  FailureDetector fd(kGraceNs, 10);
  auto fence = [&](NodeId node) {
    const proto::LeaseFence f = fd.Fence(node);
    return std::make_pair(f.session(), f.beacon());
  };
  EXPECT_EQ(fence(NodeId{1}), std::make_pair(uint64_t{0}, uint64_t{0}));
  fd.OnBeacon(NodeId{1}, 0, 7, Start(7), 3);
  fd.OnBeacon(NodeId{1}, 1, 7, Start(7), 5);
  fd.OnBeacon(NodeId{1}, 2, 7, Start(7), 4);  // Overtaken on the way.
  EXPECT_EQ(fence(NodeId{1}), std::make_pair(uint64_t{7}, uint64_t{5}));
  fd.OnBeacon(NodeId{1}, 3, 9, Start(9), 1);  // The server restarted.
  EXPECT_EQ(fence(NodeId{1}), std::make_pair(uint64_t{9}, uint64_t{1}));
  fd.OnBeacon(NodeId{1}, 3, 7, Start(7), 6);  // Late, from before the restart.
  EXPECT_EQ(fence(NodeId{1}), std::make_pair(uint64_t{9}, uint64_t{1}));
  // Declared dead, the node keeps its fence; others have none.
  fd.DeclareDead(3 + kGraceNs);
  EXPECT_EQ(fence(NodeId{1}), std::make_pair(uint64_t{9}, uint64_t{1}));
  EXPECT_EQ(fence(NodeId{2}), std::make_pair(uint64_t{0}, uint64_t{0}));
}

// A process that is gone may have its beacons delivered after its
// successor's, and its session may never have been seen before: its start
// time says it is the earlier one, and it changes nothing, not even the
// node's liveness. Once the current session is declared dead, another one
// may follow it whatever its start (a clock set back across a restart),
// but not one it replaced.
TEST(FailureDetectorTest, ALateBeaconOfAnEarlierSessionChangesNothing) {
  FailureDetector fd(kGraceNs, 10);
  const NodeId node{1};
  auto fence = [&] {
    const proto::LeaseFence f = fd.Fence(node);
    return std::make_pair(f.session(), f.beacon());
  };
  ASSERT_TRUE(fd.OnBeacon(node, 0, 7, Start(7), 1));
  // Session 9 started last; 8's beacon, never seen before, arrives after.
  ASSERT_TRUE(fd.OnBeacon(node, 10, 9, Start(9), 1));
  EXPECT_FALSE(fd.OnBeacon(node, 20, 8, Start(8), 4));
  EXPECT_FALSE(fd.OnBeacon(node, 30, 7, Start(7), 2));
  EXPECT_EQ(fence(), std::make_pair(uint64_t{9}, uint64_t{1}));
  EXPECT_EQ(fd.DeclareDead(10 + kGraceNs), (std::vector<NodeId>{node}));
  // Dead: a session with an earlier start may follow (not 7, replaced).
  EXPECT_FALSE(fd.OnBeacon(node, 2 * kGraceNs, 7, Start(7), 3));
  EXPECT_TRUE(fd.OnBeacon(node, 2 * kGraceNs, 5, Start(5), 1));
  EXPECT_EQ(fence(), std::make_pair(uint64_t{5}, uint64_t{1}));
  EXPECT_TRUE(fd.IsAlive(node));
  // And a later start takes over again.
  EXPECT_TRUE(fd.OnBeacon(node, 2 * kGraceNs + 1, 9, Start(9), 2));
  EXPECT_EQ(fence(), std::make_pair(uint64_t{9}, uint64_t{2}));
}

proto::ConfigSyncRequest Sync(uint64_t session, uint64_t lease_beacon,
                              uint64_t seq) {
  proto::ConfigSyncRequest sync;
  sync.set_node(1);
  sync.set_session(session);
  sync.set_lease_beacon(lease_beacon);
  sync.set_seq(seq);
  return sync;
}

// A sync counts only if it is of the node's session, newer than the last
// that counted, and sent under a lease that started after the node was last
// declared dead: its lease beacon is above every seq heard by then.
TEST(FailureDetectorTest, OnlyACurrentSyncIsAccepted) {
  FailureDetector fd(kGraceNs, 10);
  const NodeId node{1};
  EXPECT_FALSE(fd.AcceptSync(node, Sync(7, 1, 1)));  // Never heard from.
  fd.OnBeacon(node, 0, 7, Start(7), 1);
  fd.OnBeacon(node, 1, 7, Start(7), 2);
  EXPECT_TRUE(fd.AcceptSync(node, Sync(7, 1, 2)));
  EXPECT_FALSE(fd.AcceptSync(node, Sync(7, 1, 1)));  // Overtaken.
  EXPECT_FALSE(fd.AcceptSync(node, Sync(7, 1, 2)));  // A retry.
  EXPECT_FALSE(fd.AcceptSync(node, Sync(8, 1, 3)));  // Another session.
  fd.DeclareDead(1 + kGraceNs);
  EXPECT_FALSE(fd.AcceptSync(node, Sync(7, 1, 3)));  // The node is dead.
  fd.OnBeacon(node, 2 * kGraceNs, 7, Start(7), 3);   // Back.
  // Sent before the declaration (its lease started with beacon 1).
  EXPECT_FALSE(fd.AcceptSync(node, Sync(7, 1, 4)));
  EXPECT_FALSE(fd.AcceptSync(node, Sync(7, 2, 5)));
  // Under the lease beacon 3 started.
  EXPECT_TRUE(fd.AcceptSync(node, Sync(7, 3, 6)));
  // A restart starts the new session's count afresh.
  fd.OnBeacon(node, 2 * kGraceNs + 1, 9, Start(9), 1);
  EXPECT_FALSE(fd.AcceptSync(node, Sync(7, 3, 7)));
  EXPECT_TRUE(fd.AcceptSync(node, Sync(9, 1, 1)));
}

}  // namespace
}  // namespace pegasus::meta_internal
