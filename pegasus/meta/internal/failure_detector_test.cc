#include "pegasus/meta/internal/failure_detector.h"

#include "gtest/gtest.h"

namespace pegasus::meta_internal {
namespace {

constexpr int64_t kGraceNs = 5'000;

TEST(FailureDetectorTest, NodeIsDeadAfterGraceWithoutBeacon) {
  FailureDetector fd(kGraceNs, 10);
  EXPECT_EQ(fd.Status(NodeId{1}), NodeStatus::kDead);  // never heard from
  fd.OnBeacon(NodeId{1}, 100);
  EXPECT_TRUE(fd.IsAlive(NodeId{1}));
  EXPECT_TRUE(fd.DeclareDead(100 + kGraceNs - 1).empty());
  EXPECT_EQ(fd.DeclareDead(100 + kGraceNs), (std::vector<NodeId>{NodeId{1}}));
  EXPECT_TRUE(fd.IsDead(NodeId{1}));
  EXPECT_TRUE(fd.DeclareDead(100 + 2 * kGraceNs).empty());  // only once
  fd.OnBeacon(NodeId{1}, 20'000);
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
  EXPECT_TRUE(fd.OnBeacon(NodeId{1}, 0));
  EXPECT_TRUE(fd.OnBeacon(NodeId{2}, 0));
  EXPECT_FALSE(fd.OnBeacon(NodeId{3}, 1));
  fd.OnBeacon(NodeId{2}, kGraceNs);
  fd.DeclareDead(kGraceNs);
  EXPECT_TRUE(fd.OnBeacon(NodeId{3}, kGraceNs));
  EXPECT_EQ(fd.tracked(), 2u);
  EXPECT_EQ(fd.AliveNodes(), (std::vector<NodeId>{NodeId{2}, NodeId{3}}));
}

}  // namespace
}  // namespace pegasus::meta_internal
