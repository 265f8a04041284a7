#include "testing/sim/simulation.h"

#include <algorithm>
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "testing/sim/kv_client.h"

namespace pegasus::sim {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

SimulationOptions Small(uint64_t seed) {
  SimulationOptions options;
  options.seed = seed;
  options.duration_ns = 6 * kSecond;
  options.servers = 3;
  options.clients = 6;
  options.partition_count = 8;
  options.workload.partition_count = 8;
  return options;
}

std::string Summary(const SimulationResult& result) {
  std::string text =
      "seed " + std::to_string(result.seed) + " faults " + result.faults;
  for (const std::string& violation : result.violations) {
    text += "\n  " + violation;
  }
  return text + "\n" + result.linearizability.explanation;
}

// Short names like "h17" cover only some residues of CRC64 mod 16; the
// workload's keys must reach every partition, evenly.
TEST(WorkloadHashKeysTest, SpreadEvenlyOverEveryPartition) {
  for (int32_t partitions : {1, 2, 3, 8, 16, 64, 100}) {
    WorkloadOptions options;
    options.partition_count = partitions;
    options.hashkeys = 64;
    const std::vector<std::string> keys = WorkloadHashKeys(options);
    ASSERT_EQ(keys.size(), 64u);
    std::map<int32_t, int> per_partition;
    for (const std::string& key : keys) {
      ++per_partition[PartitionOf(key, partitions)];
    }
    EXPECT_EQ(per_partition.size(),
              static_cast<size_t>(std::min<int32_t>(partitions, 64)))
        << partitions << " partitions";
    const int quota = (64 + partitions - 1) / partitions;
    for (const auto& [partition, count] : per_partition) {
      EXPECT_LE(count, quota) << partitions << " partitions";
    }
    EXPECT_EQ(WorkloadHashKeys(options), keys) << "not deterministic";
  }
}

TEST(SimulationTest, SameSeedGivesTheSameRunEventForEvent) {
  SimulationOptions options = Small(42);
  options.trace = true;
  const SimulationResult first = RunSimulation(options);
  const SimulationResult second = RunSimulation(options);
  EXPECT_EQ(first.digest, second.digest);
  EXPECT_EQ(first.events, second.events);
  EXPECT_EQ(first.history.size(), second.history.size());
  EXPECT_EQ(FirstDivergence(first.trace, second.trace), std::nullopt);
  EXPECT_GT(first.events, 1000u);
}

TEST(SimulationTest, DifferentSeedsGiveDifferentRuns) {
  EXPECT_NE(RunSimulation(Small(1)).digest, RunSimulation(Small(2)).digest);
}

TEST(SimulationTest, CorrectServicePassesWithEveryFaultOn) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    SimulationOptions options = Small(seed);
    options.faults = *ParseFaultSelection("all");
    const SimulationResult result = RunSimulation(options);
    EXPECT_TRUE(result.ok()) << Summary(result);
    EXPECT_EQ(result.linearizability.verdict, checkers::Verdict::kLinearizable);
    // Every fault at once leaves few operations succeeding, but some must.
    EXPECT_GT(result.ops_ok, 20u) << Summary(result);
  }
}

TEST(SimulationTest, WithoutFaultsEveryOperationSucceedsOrIsRefused) {
  SimulationOptions options = Small(5);
  options.faults = *ParseFaultSelection("none");
  const SimulationResult result = RunSimulation(options);
  EXPECT_TRUE(result.ok()) << Summary(result);
  EXPECT_EQ(result.ops_unknown, 0u);
  EXPECT_EQ(result.crashes, 0u);
  EXPECT_EQ(result.faults, "none");
}

TEST(SimulationTest, CheckerCatchesThePlantedStaleCache) {
  int caught = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SimulationOptions options = Small(seed);
    options.planted_bug = PlantedBug::kStaleCache;
    const SimulationResult result = RunSimulation(options);
    if (!result.ok()) {
      ++caught;
      EXPECT_EQ(result.linearizability.verdict,
                checkers::Verdict::kNotLinearizable);
    }
  }
  EXPECT_GE(caught, 3) << "the stale cache escaped most seeds";
}

TEST(SimulationTest, CheckerCatchesAcknowledgingBeforeTheLogIsSynced) {
  int caught = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SimulationOptions options = Small(seed);
    options.faults = *ParseFaultSelection("crash");
    options.planted_bug = PlantedBug::kAckBeforeSync;
    const SimulationResult result = RunSimulation(options);
    if (!result.ok()) {
      ++caught;
      EXPECT_EQ(result.linearizability.verdict,
                checkers::Verdict::kNotLinearizable);
    }
  }
  EXPECT_GE(caught, 3) << "lost acknowledged writes escaped most seeds";
}

// Crashing every server in turn, with torn writes, loses no acknowledged
// write: a read after recovery sees it (the checker would flag a lost one).
TEST(SimulationTest, ScriptedCrashesLoseNoAcknowledgedWrite) {
  SimulationOptions options = Small(9);
  options.faults = *ParseFaultSelection("torn_writes");
  options.script =
      "at 1 crash n1\n"
      "at 1.5 restart n1\n"
      "at 2 crash n2,n3   # two at once\n"
      "at 2.2 restart n2\n"
      "at 2.4 restart n3\n"
      "at 3 isolate n1\n"
      "at 3.5 heal\n";
  const SimulationResult result = RunSimulation(options);
  EXPECT_TRUE(result.ok()) << Summary(result);
  EXPECT_EQ(result.crashes, 3u);
  EXPECT_GT(result.ops_ok, 100u);
}

TEST(SimulationTest, ScriptErrorsNameTheLine) {
  absl::Status status = ValidateScript("at 1 crash n1\nat x crash n1\n", 3);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("line 2"), absl::string_view::npos) << status;
  EXPECT_FALSE(ValidateScript("at 1 crash n4", 3).ok());
  EXPECT_FALSE(ValidateScript("at 1 explode n1", 3).ok());
  EXPECT_FALSE(ValidateScript("at 1 split n1 n2", 3).ok());
  EXPECT_TRUE(ValidateScript("# nothing\n\nat 0.5 split n1 | n2,n3\n", 3).ok());
}

}  // namespace
}  // namespace pegasus::sim
