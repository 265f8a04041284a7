// The guardian's rules while a move is in progress on the partition (the
// other rules are exercised through MetaCore in meta_core_cure_test.cc).

#include "pegasus/meta/internal/guardian.h"

#include <cstdint>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/meta/meta_options.h"

namespace pegasus::meta_internal {
namespace {

constexpr int64_t kGraceNs = 5'000;
constexpr NodeId kN1{1}, kN2{2}, kN3{3}, kN4{4};

proto::PartitionConfig Config(uint64_t primary,
                              std::vector<uint64_t> secondaries,
                              int max_replica_count = 3) {
  proto::PartitionConfig config;
  config.set_app_id(1);
  config.set_ballot(7);
  config.set_primary(primary);
  for (uint64_t s : secondaries) config.add_secondaries(s);
  config.set_max_replica_count(max_replica_count);
  return config;
}

class GuardianTest : public ::testing::Test {
 protected:
  GuardianTest() : nodes_(kGraceNs, 16) {
    for (NodeId node : {kN1, kN2, kN3, kN4}) nodes_.OnBeacon(node, 0, 9, 0, 1);
  }

  CureAction Decide(const proto::PartitionConfig& config, bool moving,
                    NodeId preferred = NodeId{}) {
    return DecideCure({
        .config = config,
        .nodes = nodes_,
        .loads = loads_,
        .has_report = [](NodeId) { return true; },
        .has_synced = [](NodeId) { return true; },
        .short_since_ns = std::nullopt,
        .last_add_secondary_ns = std::nullopt,
        .now_ns = 1,
        .options = options_,
        .replica_count = 3,
        .freezed = false,
        .moving = moving,
        .preferred_primary = preferred,
    });
  }

  FailureDetector nodes_;
  LoadMap loads_;
  MetaOptions options_;
};

TEST_F(GuardianTest, NoPrimaryUpgradesThePreferredAliveSecondary) {
  const proto::PartitionConfig config = Config(0, {1, 2, 3});
  // Without a preference: the fewest primaries, then the lowest id.
  EXPECT_EQ(Decide(config, false).node, kN1);
  const CureAction action = Decide(config, true, kN3);
  EXPECT_EQ(action.kind, CureAction::Kind::kChange);
  EXPECT_EQ(action.type, proto::CONFIG_UPGRADE_TO_PRIMARY);
  EXPECT_EQ(action.node, kN3);
}

TEST_F(GuardianTest, PreferenceForANonSecondaryOrANodeNotAliveIsIgnored) {
  const proto::PartitionConfig config = Config(0, {1, 2, 3});
  EXPECT_EQ(Decide(config, true, kN4).node, kN1) << "not a secondary";
  nodes_.DeclareDead(kGraceNs);
  nodes_.OnBeacon(kN1, kGraceNs, 9, 0, 2);
  nodes_.OnBeacon(kN2, kGraceNs, 9, 0, 2);
  // n3 is dead: rule 2 drops it first.
  const CureAction action = Decide(config, true, kN3);
  EXPECT_EQ(action.type, proto::CONFIG_DOWNGRADE_TO_INACTIVE);
  EXPECT_EQ(action.node, kN3);
}

// A copy in progress has a raised max_replica_count and, for a while, one
// member too many: neither is undone, nor is a learner asked for.
TEST_F(GuardianTest, MovingPartitionKeepsItsExtraRoomAndMember) {
  const proto::PartitionConfig raised = Config(1, {2, 3}, 4);
  EXPECT_EQ(Decide(raised, false).type, proto::CONFIG_SET_REPLICA_COUNT);
  EXPECT_EQ(Decide(raised, true).kind, CureAction::Kind::kNone);
  const proto::PartitionConfig extra = Config(1, {2, 3, 4}, 4);
  EXPECT_EQ(Decide(extra, false).type, proto::CONFIG_REMOVE);
  EXPECT_EQ(Decide(extra, true).kind, CureAction::Kind::kNone);
  const proto::PartitionConfig short_one = Config(1, {2});
  EXPECT_EQ(Decide(short_one, false).kind, CureAction::Kind::kAddSecondary);
  EXPECT_EQ(Decide(short_one, true).kind, CureAction::Kind::kNone);
}

TEST_F(GuardianTest, MovingPartitionStillLosesItsDeadMembers) {
  nodes_.DeclareDead(kGraceNs);
  nodes_.OnBeacon(kN2, kGraceNs, 9, 0, 2);
  nodes_.OnBeacon(kN3, kGraceNs, 9, 0, 2);
  const CureAction action = Decide(Config(1, {2, 3}, 4), true);
  EXPECT_EQ(action.type, proto::CONFIG_DOWNGRADE_TO_INACTIVE);
  EXPECT_EQ(action.node, kN1);
}

}  // namespace
}  // namespace pegasus::meta_internal
