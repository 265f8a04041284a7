#include "testing/sim/faults.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"

namespace pegasus::sim {
namespace {

std::set<FaultKind> DefaultKinds() {
  std::set<FaultKind> kinds;
  for (FaultKind kind : AllFaultKinds()) {
    if (kind != FaultKind::kBitFlip) kinds.insert(kind);
  }
  return kinds;
}

FaultSelection Parse(const std::string& text) {
  absl::StatusOr<FaultSelection> selection = ParseFaultSelection(text);
  EXPECT_TRUE(selection.ok()) << text << ": " << selection.status();
  return selection.ok() ? *selection : FaultSelection{};
}

FaultPlan Draw(const FaultSelection& selection, uint64_t seed,
               bool meta_servers = true) {
  SeededRandom random(seed);
  return DrawFaultPlan(selection, meta_servers, random);
}

TEST(ParseFaultSelectionTest, SwarmAndEmptyMeanSwarmOverEveryKindButBitflip) {
  for (const std::string text : {"swarm", ""}) {
    const FaultSelection selection = Parse(text);
    EXPECT_TRUE(selection.swarm) << "'" << text << "'";
    EXPECT_EQ(selection.kinds, DefaultKinds()) << "'" << text << "'";
  }
  EXPECT_EQ(DefaultKinds().size(), AllFaultKinds().size() - 1);
}

TEST(ParseFaultSelectionTest, NoneSelectsNothing) {
  const FaultSelection selection = Parse("none");
  EXPECT_FALSE(selection.swarm);
  EXPECT_TRUE(selection.kinds.empty());
}

TEST(ParseFaultSelectionTest, AllSelectsEveryKindButBitflipWithoutSwarm) {
  const FaultSelection selection = Parse("all");
  EXPECT_FALSE(selection.swarm);
  EXPECT_EQ(selection.kinds, DefaultKinds());
}

TEST(ParseFaultSelectionTest, ListSelectsExactlyTheNamedKinds) {
  const FaultSelection selection = Parse("loss,crash,bitflip");
  EXPECT_FALSE(selection.swarm);
  EXPECT_EQ(selection.kinds,
            (std::set<FaultKind>{FaultKind::kCrash, FaultKind::kLoss,
                                 FaultKind::kBitFlip}));
}

TEST(ParseFaultSelectionTest, EveryKindParsesByItsName) {
  std::set<std::string> names;
  for (FaultKind kind : AllFaultKinds()) {
    const std::string name = FaultKindName(kind);
    EXPECT_TRUE(names.insert(name).second) << "duplicate name " << name;
    EXPECT_EQ(Parse(name).kinds, std::set<FaultKind>{kind}) << name;
  }
}

TEST(ParseFaultSelectionTest, UnknownKindIsRejectedWithTheKnownKinds) {
  absl::StatusOr<FaultSelection> selection =
      ParseFaultSelection("crash,meteor");
  ASSERT_FALSE(selection.ok());
  EXPECT_EQ(ToErrorCode(selection.status()), ErrorCode::kInvalidArgument);
  const std::string message(selection.status().message());
  EXPECT_NE(message.find("'meteor'"), std::string::npos) << message;
  for (const char* word : {"swarm", "none", "all"}) {
    EXPECT_NE(message.find(word), std::string::npos) << word;
  }
  for (FaultKind kind : AllFaultKinds()) {
    EXPECT_NE(message.find(FaultKindName(kind)), std::string::npos)
        << FaultKindName(kind);
  }
}

TEST(ParseFaultSelectionTest, EmptyListEntryIsRejected) {
  EXPECT_FALSE(ParseFaultSelection("crash,").ok());
}

TEST(DrawFaultPlanTest, SwarmNeverEnablesBitflip) {
  const FaultSelection swarm = Parse("swarm");
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    EXPECT_FALSE(Draw(swarm, seed).has(FaultKind::kBitFlip)) << seed;
  }
}

TEST(DrawFaultPlanTest, SwarmEnablesEachDefaultKindOnSomeSeedsOnly) {
  const FaultSelection swarm = Parse("swarm");
  std::map<FaultKind, int> enabled;
  constexpr int kSeeds = 300;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    for (FaultKind kind : Draw(swarm, seed).enabled) ++enabled[kind];
  }
  for (FaultKind kind : DefaultKinds()) {
    EXPECT_GT(enabled[kind], 0) << FaultKindName(kind) << " never enabled";
    EXPECT_LT(enabled[kind], kSeeds) << FaultKindName(kind) << " always on";
  }
}

TEST(DrawFaultPlanTest, SwarmSeedsDrawDifferentSubsets) {
  const FaultSelection swarm = Parse("swarm");
  std::set<std::string> subsets;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    subsets.insert(Draw(swarm, seed).Describe());
  }
  EXPECT_GT(subsets.size(), 40u);
}

TEST(DrawFaultPlanTest, ExplicitListEnablesExactlyThoseKindsOnEverySeed) {
  const FaultSelection list = Parse("pause,clog,torn_writes");
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    EXPECT_EQ(Draw(list, seed).enabled,
              (std::set<FaultKind>{FaultKind::kPause, FaultKind::kClog,
                                   FaultKind::kTornWrites}))
        << seed;
  }
  EXPECT_EQ(Draw(Parse("all"), 1).enabled, DefaultKinds());
  EXPECT_TRUE(Draw(Parse("none"), 1).enabled.empty());
}

TEST(DrawFaultPlanTest, MetaServerFaultsNeedMetaServers) {
  for (FaultKind kind : {FaultKind::kPartitionMeta, FaultKind::kDropRecall}) {
    for (const std::string& text : {std::string("swarm"), std::string("all"),
                                   std::string(FaultKindName(kind))}) {
      const FaultSelection selection = Parse(text);
      bool enabled_with_meta = false;
      for (uint64_t seed = 1; seed <= 100; ++seed) {
        EXPECT_FALSE(Draw(selection, seed, /*meta_servers=*/false).has(kind))
            << FaultKindName(kind) << " " << text << " seed " << seed;
        enabled_with_meta |=
            Draw(selection, seed, /*meta_servers=*/true).has(kind);
      }
      EXPECT_TRUE(enabled_with_meta) << FaultKindName(kind) << " " << text;
    }
  }
}

TEST(DrawFaultPlanTest, SameSeedDrawsTheSamePlan) {
  const FaultSelection swarm = Parse("swarm");
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const FaultPlan a = Draw(swarm, seed);
    const FaultPlan b = Draw(swarm, seed);
    EXPECT_EQ(a.enabled, b.enabled);
    EXPECT_EQ(a.episode_interval_ns, b.episode_interval_ns);
    EXPECT_EQ(a.episode_length_ns, b.episode_length_ns);
    EXPECT_EQ(a.network.loss_probability, b.network.loss_probability);
    EXPECT_EQ(a.network.duplicate_probability, b.network.duplicate_probability);
    EXPECT_EQ(a.disk.latency_jitter_mean_ns, b.disk.latency_jitter_mean_ns);
    EXPECT_EQ(a.disk.torn_write_probability, b.disk.torn_write_probability);
    EXPECT_EQ(a.max_clock_drift, b.max_clock_drift);
    EXPECT_EQ(a.max_wall_offset_us, b.max_wall_offset_us);
  }
}

TEST(DrawFaultPlanTest, DisabledKindsLeaveTheirKnobsAtRest) {
  const FaultPlan plan = Draw(Parse("none"), 9);
  const NetworkOptions network;
  const DiskOptions disk;
  EXPECT_EQ(plan.network.loss_probability, 0);
  EXPECT_EQ(plan.network.duplicate_probability, 0);
  EXPECT_FALSE(plan.network.reorder);
  EXPECT_EQ(plan.network.latency_min_ns, network.latency_min_ns);
  EXPECT_EQ(plan.network.latency_mean_ns, network.latency_mean_ns);
  EXPECT_EQ(plan.disk.latency_jitter_mean_ns, 0);
  EXPECT_EQ(plan.disk.read_error_probability, 0);
  EXPECT_EQ(plan.disk.write_error_probability, 0);
  EXPECT_EQ(plan.disk.torn_write_probability, 0);
  EXPECT_EQ(plan.disk.write_latency_ns, disk.write_latency_ns);
  EXPECT_EQ(plan.max_clock_drift, 0);
  EXPECT_EQ(plan.max_wall_offset_us, 0);
}

TEST(DrawFaultPlanTest, EnabledKindsGetRatesInTheirRanges) {
  const FaultSelection selection = Parse(
      "loss,duplicate,reorder,slow_disk,disk_errors,torn_writes,clock_drift");
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    const FaultPlan plan = Draw(selection, seed);
    EXPECT_GT(plan.network.loss_probability, 0);
    EXPECT_LT(plan.network.loss_probability, 0.2);
    EXPECT_GT(plan.network.duplicate_probability, 0);
    EXPECT_LT(plan.network.duplicate_probability, 0.3);
    EXPECT_TRUE(plan.network.reorder);
    EXPECT_GE(plan.disk.latency_jitter_mean_ns, 100'000);
    EXPECT_LE(plan.disk.latency_jitter_mean_ns, 5'000'000);
    EXPECT_GT(plan.disk.read_error_probability, 0);
    EXPECT_LT(plan.disk.read_error_probability, 0.01);
    EXPECT_GT(plan.disk.write_error_probability, 0);
    EXPECT_LT(plan.disk.write_error_probability, 0.005);
    EXPECT_GE(plan.disk.torn_write_probability, 0.3);
    EXPECT_LT(plan.disk.torn_write_probability, 1.0);
    EXPECT_GT(plan.max_clock_drift, 0);
    EXPECT_LT(plan.max_clock_drift, 0.005);
    EXPECT_GE(plan.max_wall_offset_us, 0);
    EXPECT_LE(plan.max_wall_offset_us, 500'000);
    EXPECT_GE(plan.episode_interval_ns, 500'000'000);
    EXPECT_LE(plan.episode_interval_ns, 4'000'000'000);
    EXPECT_GE(plan.episode_length_ns, 100'000'000);
    EXPECT_LE(plan.episode_length_ns, 2'000'000'000);
  }
}

TEST(DrawFaultPlanTest, TurningAKindOffDoesNotShiftAnotherKindsRate) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const FaultPlan alone = Draw(Parse("loss"), seed);
    const FaultPlan crowded =
        Draw(Parse("loss,duplicate,crash,slow_disk"), seed);
    EXPECT_EQ(alone.network.loss_probability, crowded.network.loss_probability)
        << seed;
    EXPECT_EQ(alone.episode_interval_ns, crowded.episode_interval_ns) << seed;
  }
}

TEST(FaultPlanTest, DescribeListsEnabledKindsInCanonicalOrder) {
  EXPECT_EQ(Draw(Parse("none"), 1).Describe(), "none");
  EXPECT_EQ(Draw(Parse("reorder,crash,partition_oneway"), 1).Describe(),
            "crash,partition_oneway,reorder");
  FaultPlan plan;
  plan.enabled = {FaultKind::kBitFlip, FaultKind::kClockDrift};
  EXPECT_EQ(plan.Describe(), "clock_drift,bitflip");
}

}  // namespace
}  // namespace pegasus::sim
