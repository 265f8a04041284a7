#include "testing/sim/simulation.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/meta/balance/greedy_balancer.h"
#include "testing/checkers/history.h"
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

// --- The balancer in a whole cluster ----------------------------------------

// A cluster of five replica servers and a meta server at level lively,
// sixteen clients writing and reading the whole time, no faults.
SimulationOptions Balancing(uint64_t seed) {
  SimulationOptions options;
  options.seed = seed;
  options.service = ServiceKind::kCluster;
  options.duration_ns = 30 * kSecond;
  options.servers = 5;
  options.partition_count = 8;
  options.workload.partition_count = 8;
  options.faults = *ParseFaultSelection("none");
  return options;
}

// Per partition, the longest stretch within [from_ns, to_ns] in which no
// write to it was acknowledged.
std::map<int32_t, int64_t> LongestWriteGaps(const SimulationResult& result,
                                            int32_t partitions, int64_t from_ns,
                                            int64_t to_ns) {
  std::map<int32_t, std::vector<int64_t>> acked;
  for (const checkers::Operation& op : result.history) {
    if (op.kind == checkers::OpKind::kGet ||
        op.kind == checkers::OpKind::kMultiGet ||
        op.result != checkers::OpResult::kOk) {
      continue;
    }
    acked[PartitionOf(op.hashkey, partitions)].push_back(op.return_ns);
  }
  std::map<int32_t, int64_t> gaps;
  for (int32_t p = 0; p < partitions; ++p) {
    std::vector<int64_t>& times = acked[p];
    times.push_back(from_ns);
    times.push_back(to_ns);
    std::sort(times.begin(), times.end());
    int64_t longest = 0;
    for (size_t i = 1; i < times.size(); ++i) {
      if (times[i] < from_ns || times[i - 1] > to_ns) continue;
      longest = std::max(
          longest, std::min(times[i], to_ns) - std::max(times[i - 1], from_ns));
    }
    gaps[p] = longest;
  }
  return gaps;
}

int PrimariesOn(const balance::ClusterSnapshot& snapshot, uint64_t node) {
  int count = 0;
  for (const balance::TableSnapshot& table : snapshot.tables) {
    for (const proto::PartitionConfig& config : table.partitions) {
      count += config.primary() == node ? 1 : 0;
    }
  }
  return count;
}

std::string Gaps(const std::map<int32_t, int64_t>& gaps) {
  std::string text;
  for (const auto& [p, gap] : gaps) {
    text +=
        " p" + std::to_string(p) + "=" + std::to_string(gap / 1'000'000) + "ms";
  }
  return text;
}

// The table is created while three of the five servers are up; the other
// two come at 3 s holding nothing. The balancer copies primaries and
// secondaries onto them while the clients go on: every check passes (no
// acknowledged write lost, reads linearizable, one serving primary per
// partition), every partition keeps taking writes, and the cluster ends
// balanced.
TEST(SimulationBalancerTest, TableCreatedOnSomeServersIsSpreadOverAll) {
  SimulationOptions options = Balancing(11);
  options.initial_servers = 3;
  options.late_start_ns = 3 * kSecond;
  const SimulationResult result = RunSimulation(options);
  EXPECT_TRUE(result.ok()) << Summary(result);
  EXPECT_EQ(result.linearizability.verdict, checkers::Verdict::kLinearizable);
  ASSERT_EQ(result.balance_snapshot.alive_nodes.size(), 5u);
  EXPECT_TRUE(balance::IsBalanced(result.balance_snapshot));
  EXPECT_GE(PrimariesOn(result.balance_snapshot, 4), 1);
  EXPECT_GE(PrimariesOn(result.balance_snapshot, 5), 1);
  EXPECT_GE(result.meta_stats.moves_finished, 8u);
  EXPECT_EQ(result.meta_stats.moves_abandoned, 0u);
  EXPECT_EQ(result.meta_stats.moves_started, result.meta_stats.moves_finished);
  // From the first second (the table is served) to the clients' end.
  const std::map<int32_t, int64_t> gaps =
      LongestWriteGaps(result, options.partition_count, kSecond, 29 * kSecond);
  for (const auto& [p, gap] : gaps) {
    EXPECT_LE(gap, kSecond) << "partition " << p << Gaps(gaps);
  }
}

// A server down past the grace loses its primaries to failover; back, it
// learns its replicas again and holds no primary. The balancer gives it
// primaries back by role swaps (move_primary: each asks the primary to step
// down, then upgrades the server), with every check passing and every
// partition taking writes throughout once the server is back.
TEST(SimulationBalancerTest, PrimariesReturnToAServerAfterItsFailover) {
  SimulationOptions options = Balancing(12);
  options.script =
      "at 3 crash n1\n"
      "at 10 restart n1\n";
  const SimulationResult result = RunSimulation(options);
  EXPECT_TRUE(result.ok()) << Summary(result);
  EXPECT_EQ(result.linearizability.verdict, checkers::Verdict::kLinearizable);
  ASSERT_EQ(result.balance_snapshot.alive_nodes.size(), 5u);
  EXPECT_TRUE(balance::IsBalanced(result.balance_snapshot));
  EXPECT_GE(PrimariesOn(result.balance_snapshot, 1), 1);
  EXPECT_GT(result.meta_stats.moves_finished, 0u);
  EXPECT_EQ(result.meta_stats.moves_abandoned, 0u);
  const std::map<int32_t, int64_t> gaps = LongestWriteGaps(
      result, options.partition_count, 13 * kSecond, 29 * kSecond);
  for (const auto& [p, gap] : gaps) {
    EXPECT_LE(gap, kSecond) << "partition " << p << Gaps(gaps);
  }
}

// Under every fault at once, with a late start so that the balancer has
// work from the beginning: its moves keep every check passing.
TEST(SimulationBalancerTest, BalancingUnderEveryFaultKeepsEveryCheck) {
  for (uint64_t seed = 21; seed <= 23; ++seed) {
    SimulationOptions options = Balancing(seed);
    options.duration_ns = 20 * kSecond;
    options.initial_servers = 3;
    options.late_start_ns = 2 * kSecond;
    options.faults = *ParseFaultSelection("all");
    const SimulationResult result = RunSimulation(options);
    EXPECT_TRUE(result.ok()) << Summary(result);
    EXPECT_GT(result.meta_stats.moves_started, 0u) << Summary(result);
  }
}

// --- Dropping and recalling the table under the clients ---------------------

// An operator drops the table at 4 s and recalls it at 9 s, with a server
// crashed and restarted in between, while the clients go on. Once the drop
// reaches them the clients' operations are refused (and change nothing);
// after the recall every partition takes writes again, and every check
// passes: no acknowledged write is lost, reads stay linearizable.
TEST(SimulationTablesTest, DroppedTableRefusesAndRecalledTableKeepsItsData) {
  SimulationOptions options = Balancing(31);
  options.duration_ns = 20 * kSecond;
  options.script =
      "at 4 drop\n"
      "at 5 crash n2\n"
      "at 6 restart n2\n"
      "at 9 recall\n";
  const SimulationResult result = RunSimulation(options);
  EXPECT_TRUE(result.ok()) << Summary(result);
  EXPECT_EQ(result.linearizability.verdict, checkers::Verdict::kLinearizable);
  EXPECT_EQ(result.tables_recalled, 1u);
  int refused = 0, ok_while_dropped = 0, ok_before = 0;
  for (const checkers::Operation& op : result.history) {
    if (op.return_ns < 4 * kSecond && op.result == checkers::OpResult::kOk) {
      ++ok_before;
    }
    // The drop reaches every replica server within a config sync (1 s);
    // a call's retries end within its 0.5 s timeout.
    if (op.call_ns < 5 * kSecond + 500'000'000 || op.call_ns > 8 * kSecond) {
      continue;
    }
    if (op.result == checkers::OpResult::kOk) ++ok_while_dropped;
    if (op.result == checkers::OpResult::kFailed) ++refused;
  }
  EXPECT_GT(ok_before, 100);
  EXPECT_EQ(ok_while_dropped, 0);
  EXPECT_GT(refused, 100);
  const std::map<int32_t, int64_t> gaps = LongestWriteGaps(
      result, options.partition_count, 11 * kSecond, 19 * kSecond);
  for (const auto& [p, gap] : gaps) {
    EXPECT_LE(gap, kSecond) << "partition " << p << Gaps(gaps);
  }
}

// Drops and recalls as a swarm fault among crashes and partitions.
TEST(SimulationTablesTest, DropAndRecallAmongOtherFaultsKeepsEveryCheck) {
  uint64_t recalled = 0;
  for (uint64_t seed = 41; seed <= 43; ++seed) {
    SimulationOptions options = Balancing(seed);
    options.duration_ns = 20 * kSecond;
    options.faults =
        *ParseFaultSelection("drop_recall,crash,partition_split,loss");
    const SimulationResult result = RunSimulation(options);
    EXPECT_TRUE(result.ok()) << Summary(result);
    recalled += result.tables_recalled;
  }
  EXPECT_GT(recalled, 0u);
}

TEST(SimulationTest, ScriptErrorsNameTheLine) {
  absl::Status status = ValidateScript("at 1 crash n1\nat x crash n1\n", 3,
                                       ServiceKind::kCluster);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("line 2"), absl::string_view::npos) << status;
  EXPECT_FALSE(ValidateScript("at 1 crash n4", 3, ServiceKind::kCluster).ok());
  EXPECT_FALSE(
      ValidateScript("at 1 explode n1", 3, ServiceKind::kCluster).ok());
  EXPECT_FALSE(
      ValidateScript("at 1 split n1 n2", 3, ServiceKind::kCluster).ok());
  EXPECT_FALSE(ValidateScript("at 1 drop n1", 3, ServiceKind::kCluster).ok());
  EXPECT_TRUE(
      ValidateScript("at 1 drop\nat 2 recall\n", 3, ServiceKind::kCluster)
          .ok());
  EXPECT_FALSE(ValidateScript("at 1 drop", 3, ServiceKind::kSingleCopy).ok());
  EXPECT_TRUE(
      ValidateScript("at 1 crash n1", 3, ServiceKind::kSingleCopy).ok());
  EXPECT_TRUE(ValidateScript("# nothing\n\nat 0.5 split n1 | n2,n3\n", 3,
                             ServiceKind::kCluster)
                  .ok());
}

}  // namespace
}  // namespace pegasus::sim
