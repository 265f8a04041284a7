// The simulator's internals, shared by its .cc files: the Simulation class
// that runs one seed (simulation.cc) and checks it (simulation_checks.cc).
// Not an API: use simulation.h.

#ifndef PEGASUS_TESTING_SIM_SIMULATION_INTERNAL_H_
#define PEGASUS_TESTING_SIM_SIMULATION_INTERNAL_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/base/random.h"
#include "pegasus/meta/meta_store.h"
#include "pegasus/proto/replication.pb.h"
#include "pegasus/replication/core/replica.h"
#include "pegasus/replication/core/replica_types.h"
#include "pegasus/replication/replica_host.h"
#include "testing/checkers/history.h"
#include "testing/sim/faults.h"
#include "testing/sim/kv_client.h"
#include "testing/sim/network.h"
#include "testing/sim/process.h"
#include "testing/sim/simulation.h"
#include "testing/sim/world.h"

namespace pegasus::sim::internal {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMs = 1'000'000;

// One line of a scenario script: "at <seconds> <verb> <args...>".
struct ScriptStep {
  int64_t at_ns = 0;
  std::string verb;
  std::vector<int> nodes;    // Server indexes named by the arguments.
  std::vector<int> group_b;  // For split: the side after '|'.
  int64_t length_ns = 0;     // For pause and clog.
  std::string line;
};

// Lease and grace: the servers stop serving (lease) well before the meta
// server declares them dead (grace), unless a planted bug says otherwise.
constexpr int64_t kLeaseNs = 3 * kSecond;
constexpr int64_t kGraceNs = 5 * kSecond;
// After the faults stop, every partition must have a serving primary within
// this long: the grace, and time for failover and learning.
constexpr int64_t kLivenessBoundNs = kGraceNs + 5 * kSecond;
// How often the meta server's balancer may start a round (Pegasus's 10 s
// would barely run in a run of seconds).
constexpr int64_t kBalancerIntervalNs = 2 * kSecond;

class Simulation final : public EventGate {
 public:
  explicit Simulation(const SimulationOptions& options);
  SimulationResult Run();

  std::optional<int64_t> Admit(const EventOwner& owner,
                               int64_t now_ns) override {
    // A message to a node id no process has is dropped.
    if (owner.process >= static_cast<int>(processes_.size())) {
      return std::nullopt;
    }
    return processes_[owner.process]->Admit(owner, now_ns);
  }
  void BeginEvent(const EventOwner& owner) override {
    processes_[owner.process]->BeginEvent(world_.now_ns(), owner.strand);
  }
  void EndEvent(const EventOwner& owner) override {
    processes_[owner.process]->EndEvent();
    if (cluster() && owner.process < options_.servers) {
      CheckServer(owner.process, owner.strand);
    }
  }

 private:
  int64_t quiet_ns() const { return options_.duration_ns * 3 / 4; }
  // A cluster run goes on after the faults stop for long enough that every
  // partition must have healed: failure detection (grace), then failover.
  int64_t end_ns() const {
    return cluster()
               ? std::max(options_.duration_ns, quiet_ns() + kLivenessBoundNs)
               : options_.duration_ns;
  }
  bool cluster() const { return options_.service == ServiceKind::kCluster; }
  // The meta server's process (cluster only): right after the servers.
  int meta_index() const { return options_.servers; }
  NodeId meta_node() const {
    return NodeId{static_cast<uint64_t>(meta_index()) + 1};
  }
  int first_client() const { return options_.servers + (cluster() ? 1 : 0); }
  absl::StatusOr<std::unique_ptr<Service>> StartReplicaServer(
      int index, const ProcessEnv& env);
  void StartMeta();
  void RecordApply(int server, Gpid gpid, const proto::Mutation& mutation);
  void CheckServer(int index, int strand);
  void CheckReplica(int index, const replication::ReplicaHost& host,
                    const replication::Replica& replica);
  // `serving`: the replica serves reads under its server's lease.
  void CheckCommitPoint(int index, Gpid gpid,
                        const replication::Replica& replica, bool serving);
  void CheckPrepareBallot(int server, Gpid gpid, Ballot seen,
                          const proto::Mutation& mutation,
                          const replication::Ready& ready);
  // Whether server `index`'s lease holds by its own clock.
  bool LeaseHeld(int index, const replication::ReplicaHost* host);
  void CheckConvergence();
  // The replica host of server `index`, or null while it is down.
  const replication::ReplicaHost* HostOf(int index);
  bool meta_up() const { return processes_[meta_index()]->up(); }
  // The meta server's configuration of `gpid`; null while it is down.
  const proto::PartitionConfig* MetaConfig(Gpid gpid);
  // The lease the servers hold, and the meta server validates.
  int64_t lease_ns() const;
  void Violation(const std::string& line);
  std::vector<int> Servers() const;
  std::vector<int> Everyone() const;
  NodeId ServerFor(int32_t partition) const {
    return NodeId{static_cast<uint64_t>(partition % options_.servers) + 1};
  }
  absl::StatusOr<std::unique_ptr<Service>> StartServer(int index,
                                                       const ProcessEnv& env);
  void Restart(int index);
  void RestartLater(int index, int64_t delay_ns);
  void Crash(int index, const std::string& reason);
  void ScheduleEpisode();
  void RunEpisode();
  // The meta server's configuration of a partition drawn at random.
  const proto::PartitionConfig* RandomPartitionConfig(Random& random);
  int PickServer(Random& random);
  std::vector<int> CrashVictims(int first, Random& random);
  void HealLater(int64_t length_ns);
  // An operator's drop of the workload's table and its recall, through the
  // meta server's own admin entry (as a shell on the meta host would). A
  // recall that fails for another reason than the table not being dropped
  // is tried again until it succeeds.
  void DropTable();
  void RecallTable();
  void MetaAdmin(const proto::AdminRequest& request,
                 std::function<void(const proto::AdminResponse&)> done);
  void RunStep(const ScriptStep& step);
  void Quiesce();
  void Check(SimulationResult* result);

  const SimulationOptions options_;
  World world_;
  std::unique_ptr<Random> nemesis_random_;
  FaultPlan plan_;
  std::unique_ptr<SimNetwork> network_;
  std::vector<std::unique_ptr<SimProcess>> processes_;
  std::vector<KvClient*> clients_;
  std::vector<checkers::Operation> history_;
  std::vector<std::string> violations_;
  std::vector<std::string> notes_;
  bool quiet_ = false;
  // Cluster only.
  // The workload's table is dropped, or a drop was asked, and no recall
  // has succeeded since.
  bool table_dropped_ = false;
  uint64_t tables_recalled_ = 0;
  std::shared_ptr<InMemoryMetaStore::Medium> meta_medium_ =
      std::make_shared<InMemoryMetaStore::Medium>();
  // Every partition's committed history as first applied anywhere: decree
  // -> the mutation's content (its writes and timestamp).
  std::map<Gpid, std::map<Decree, std::string>> committed_;
  // When each partition first had a serving primary after the faults
  // stopped.
  std::map<Gpid, int64_t> first_served_after_quiet_;
  // The highest decree committed anywhere, by partition index.
  std::vector<Decree> max_committed_;
  // Per server and partition index: what the commit invariant last saw.
  struct CommitView {
    replication::ReplicaStatus status;
    Ballot ballot;
    Decree last_committed;
    Decree last_prepared;
    bool serving;
    Decree max_committed;
    bool operator==(const CommitView&) const = default;
  };
  std::vector<std::vector<CommitView>> commit_views_;
  // Per server and partition index: the ballot it served the partition
  // at when last looked at, or 0.
  std::vector<std::vector<Ballot>> serving_;
  // Per server: its lease's end and its replica count when all its
  // replicas were last looked at.
  std::vector<std::pair<int64_t, size_t>> walked_;
  // Partitions whose highest commit rose in the running event.
  std::vector<int32_t> commit_rose_;
};

}  // namespace pegasus::sim::internal

#endif  // PEGASUS_TESTING_SIM_SIMULATION_INTERNAL_H_
