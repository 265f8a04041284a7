// One simulated run: a world with server nodes running the key-value
// service, simulated clients, the faults of one seed, and the checkers at
// the end. The same options give the same run, event for event, and the
// same digest.

#ifndef PEGASUS_TESTING_SIM_SIMULATION_H_
#define PEGASUS_TESTING_SIM_SIMULATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pegasus/meta/balance/greedy_balancer.h"
#include "pegasus/meta/meta_core.h"
#include "testing/checkers/history.h"
#include "testing/checkers/linearizability.h"
#include "testing/sim/faults.h"
#include "testing/sim/kv_client.h"
#include "testing/sim/kv_service.h"
#include "testing/sim/world.h"

namespace pegasus::sim {

// What the servers run.
enum class ServiceKind {
  // Each partition on one server alone (kv_service.h).
  kSingleCopy,
  // A meta server and replica servers: every partition replicated by
  // PacificA (cluster.h).
  kCluster,
};

const char* ServiceKindName(ServiceKind kind);

struct SimulationOptions {
  uint64_t seed = 1;
  ServiceKind service = ServiceKind::kSingleCopy;
  // Replicas per partition (cluster only).
  int32_t replica_count = 3;
  // Simulated time the run lasts. Faults stop at three quarters of it (the
  // network heals and crashed servers restart) and clients start nothing in
  // the last timeout, so the run ends quiet.
  int64_t duration_ns = 20'000'000'000;
  int servers = 5;
  // Cluster only: the first `initial_servers` servers start at time 0 (0:
  // every one) and the others at `late_start_ns`. The table is created on
  // the servers up first, so the balancer has to spread it.
  int initial_servers = 0;
  int64_t late_start_ns = 0;
  int clients = 16;
  int32_t partition_count = 16;
  FaultSelection faults;
  // A scripted scenario (see ParseScript); when set, the swarm's episodes are
  // off and only the script's faults happen (rates from `faults` still
  // apply).
  std::string script;
  PlantedBug planted_bug = PlantedBug::kNone;
  // Keep a record per event, for FirstDivergence.
  bool trace = false;
  // Wall-clock budget of the linearizability check.
  int64_t check_budget_ms = 20'000;
  WorkloadOptions workload;
};

struct SimulationResult {
  uint64_t seed = 0;
  uint64_t digest = 0;
  uint64_t events = 0;
  int64_t simulated_ns = 0;
  std::string faults;  // The plan's kinds.
  uint64_t ops_ok = 0;
  uint64_t ops_failed = 0;
  uint64_t ops_unknown = 0;
  uint64_t crashes = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_delivered = 0;
  checkers::CheckReport linearizability;
  // Every failed check, one readable line each. Empty means the run passed.
  std::vector<std::string> violations;
  // Things worth knowing that are not failures (a node that refused to start
  // after a bit flip, say).
  std::vector<std::string> notes;
  // Cluster only, at the end of the run: what the meta server's balancer
  // sees (nothing while the meta server is down), and its counters.
  balance::ClusterSnapshot balance_snapshot;
  MetaStats meta_stats;
  // Recalls of the workload's table that succeeded (drop_recall, scripts).
  uint64_t tables_recalled = 0;
  std::vector<checkers::Operation> history;
  std::vector<TraceRecord> trace;

  bool ok() const { return violations.empty(); }
};

// Validates the script's syntax and names (for the CLI to report early).
// `service`: drop and recall need the cluster.
absl::Status ValidateScript(const std::string& script, int servers,
                            ServiceKind service);

SimulationResult RunSimulation(const SimulationOptions& options);

}  // namespace pegasus::sim

#endif  // PEGASUS_TESTING_SIM_SIMULATION_H_
