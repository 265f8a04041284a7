#include "pegasus/meta/internal/partition_configs.h"

#include "gtest/gtest.h"
#include "pegasus/base/status.h"

namespace pegasus::meta_internal {
namespace {

proto::PartitionConfig Config(uint64_t primary,
                              std::vector<uint64_t> secondaries,
                              std::vector<uint64_t> drops = {}) {
  proto::PartitionConfig config;
  config.set_app_id(1);
  config.set_ballot(5);
  config.set_max_replica_count(3);
  config.set_primary(primary);
  for (uint64_t s : secondaries) config.add_secondaries(s);
  for (uint64_t d : drops) config.add_last_drops(d);
  return config;
}

std::vector<uint64_t> Drops(const proto::PartitionConfig& config) {
  return {config.last_drops().begin(), config.last_drops().end()};
}

TEST(ApplyChangeTest, DroppingAMemberAppendsItToLastDropsOnce) {
  auto next = ApplyChange(Config(1, {2, 3}, {2, 4}),
                          proto::CONFIG_DOWNGRADE_TO_INACTIVE, NodeId{1}, 6);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->ballot(), 6);
  EXPECT_EQ(next->primary(), 0u);
  EXPECT_EQ(Drops(*next), (std::vector<uint64_t>{2, 4, 1}));
  next = ApplyChange(*next, proto::CONFIG_REMOVE, NodeId{2}, 6);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(Drops(*next), (std::vector<uint64_t>{4, 1, 2}));
}

TEST(ApplyChangeTest, LastDropsKeepsOnlyTheNewest) {
  auto next =
      ApplyChange(Config(1, {2}, {7, 8}), proto::CONFIG_REMOVE, NodeId{2}, 2);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(Drops(*next), (std::vector<uint64_t>{8, 2}));
}

TEST(ApplyChangeTest, BecomingAMemberLeavesLastDrops) {
  auto next = ApplyChange(Config(1, {}, {3, 2}),
                          proto::CONFIG_UPGRADE_TO_SECONDARY, NodeId{2}, 6);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(Drops(*next), (std::vector<uint64_t>{3}));
  next = ApplyChange(Config(0, {}, {3, 2}), proto::CONFIG_ASSIGN_PRIMARY,
                     NodeId{2}, 6);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->primary(), 2u);
  EXPECT_EQ(Drops(*next), (std::vector<uint64_t>{3}));
}

TEST(ApplyChangeTest, UpgradeToPrimaryMovesTheSecondary) {
  auto next = ApplyChange(Config(0, {2, 3}), proto::CONFIG_UPGRADE_TO_PRIMARY,
                          NodeId{3}, 6);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->primary(), 3u);
  ASSERT_EQ(next->secondaries_size(), 1);
  EXPECT_EQ(next->secondaries(0), 2u);
}

TEST(ApplyChangeTest, ForceUpdateBallotKeepsTheMembers) {
  auto next =
      ApplyChange(Config(1, {2, 3}, {4}),
                  proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT, NodeId{1}, 6);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->ballot(), 6);
  EXPECT_TRUE(SameConfig(*next, [] {
    auto c = Config(1, {2, 3}, {4});
    c.set_ballot(6);
    return c;
  }()));
  EXPECT_FALSE(ApplyChange(Config(1, {2}),
                           proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT, NodeId{2},
                           6)
                   .ok());
}

TEST(ApplyChangeTest, ChangesThatDoNotApplyAreRefused) {
  auto refused = [](const proto::PartitionConfig& config,
                    proto::ConfigType type, uint64_t node) {
    return HasErrorCode(ApplyChange(config, type, NodeId{node}, 6).status(),
                        ErrorCode::kInvalidArgument);
  };
  EXPECT_TRUE(refused(Config(1, {}), proto::CONFIG_ASSIGN_PRIMARY, 2));
  EXPECT_TRUE(refused(Config(0, {2}), proto::CONFIG_ASSIGN_PRIMARY, 2));
  EXPECT_TRUE(refused(Config(0, {2}), proto::CONFIG_UPGRADE_TO_PRIMARY, 3));
  EXPECT_TRUE(
      refused(Config(1, {2, 3}), proto::CONFIG_UPGRADE_TO_SECONDARY, 4));
  EXPECT_TRUE(refused(Config(1, {2}), proto::CONFIG_UPGRADE_TO_SECONDARY, 2));
  EXPECT_TRUE(refused(Config(0, {2}), proto::CONFIG_UPGRADE_TO_SECONDARY, 3));
  EXPECT_TRUE(refused(Config(1, {2}), proto::CONFIG_DOWNGRADE_TO_SECONDARY, 2));
  EXPECT_TRUE(refused(Config(1, {2}), proto::CONFIG_REMOVE, 3));
  EXPECT_TRUE(refused(Config(1, {2}), proto::CONFIG_ADD_SECONDARY, 3));
  EXPECT_TRUE(refused(Config(1, {2}), proto::CONFIG_REMOVE, 0));
}

TEST(PartitionConfigsTest, MalformedMembersAreNamed) {
  EXPECT_TRUE(CheckMembersWellFormed(Config(1, {2, 3})).ok());
  EXPECT_FALSE(CheckMembersWellFormed(Config(1, {2, 2})).ok());
  EXPECT_FALSE(CheckMembersWellFormed(Config(1, {0})).ok());
  EXPECT_FALSE(CheckMembersWellFormed(Config(1, {1})).ok());
  EXPECT_FALSE(CheckMembersWellFormed(Config(1, {}, {0})).ok());
  EXPECT_FALSE(CheckConfigWellFormed(Config(1, {2, 3, 4}), 6).ok());
  EXPECT_FALSE(CheckConfigWellFormed(Config(1, {}, {5, 5}), 6).ok());
  EXPECT_FALSE(CheckConfigWellFormed(Config(1, {}, {5, 6}), 1).ok());
}

TEST(PartitionConfigsTest, PartitionKeysRoundTripAndRejectOtherSpellings) {
  EXPECT_EQ(PartitionKey(Gpid{3, 14}), "partition/3/14");
  EXPECT_EQ(ParsePartitionKey("partition/3/14"), (Gpid{3, 14}));
  EXPECT_FALSE(ParsePartitionKey("table/3"));
  EXPECT_FALSE(IsPartitionKey("table/3"));
  for (const char* bad :
       {"partition/3", "partition/x/1", "partition/3/+1", "partition/03/1",
        "partition/0/1", "partition/3/-1", "partition/3/1/2"}) {
    EXPECT_TRUE(IsPartitionKey(bad)) << bad;
    EXPECT_FALSE(ParsePartitionKey(bad)) << bad;
  }
}

}  // namespace
}  // namespace pegasus::meta_internal
