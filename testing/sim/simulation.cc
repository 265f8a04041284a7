#include "testing/sim/simulation.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "pegasus/base/check.h"
#include "pegasus/base/crc64.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"
#include "pegasus/storage/memory/memory_engine.h"
#include "testing/sim/cluster.h"
#include "testing/sim/process.h"

namespace pegasus::sim {
namespace {

// A hash of every row a storage engine holds, in key order.
uint64_t StorageDigest(const StorageEngine& engine) {
  std::unique_ptr<StorageIterator> it = engine.NewIterator(IteratorOptions{});
  uint64_t digest = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    digest = MixBits(digest ^ Crc64(it->key()));
    digest = MixBits(digest ^ Crc64(it->value()));
  }
  return digest;
}

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

absl::Status ScriptError(int line_number, const std::string& line,
                         const std::string& why) {
  return PegasusError(
      ErrorCode::kInvalidArgument,
      absl::StrCat("script line ", line_number, " '", line, "': ", why));
}

absl::StatusOr<int64_t> ParseSeconds(absl::string_view text) {
  double seconds = 0;
  if (!absl::SimpleAtod(text, &seconds) || seconds < 0) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "not a number of seconds: " + std::string(text));
  }
  return static_cast<int64_t>(seconds * kSecond);
}

absl::StatusOr<int> ParseNode(absl::string_view text, int servers) {
  int n = 0;
  if (!absl::ConsumePrefix(&text, "n") || !absl::SimpleAtoi(text, &n) ||
      n < 1 || n > servers) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        absl::StrCat("not a server name (n1..n", servers,
                                     "): ", std::string(text)));
  }
  return n - 1;
}

absl::StatusOr<std::vector<int>> ParseNodeList(absl::string_view text,
                                               int servers) {
  std::vector<int> nodes;
  for (absl::string_view name : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    PEGASUS_ASSIGN_OR_RETURN(int node, ParseNode(name, servers));
    nodes.push_back(node);
  }
  return nodes;
}

absl::StatusOr<std::vector<ScriptStep>> ParseScript(const std::string& script,
                                                    int servers) {
  std::vector<ScriptStep> steps;
  int line_number = 0;
  for (absl::string_view raw : absl::StrSplit(script, '\n')) {
    ++line_number;
    absl::string_view line = raw.substr(0, raw.find('#'));
    std::vector<std::string> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (words.empty()) continue;
    const std::string text(line);
    auto fail = [&](const std::string& why) {
      return ScriptError(line_number, text, why);
    };
    if (words.size() < 3 || words[0] != "at") {
      return fail("expected 'at <seconds> <action> ...'");
    }
    ScriptStep step;
    step.line = text;
    absl::StatusOr<int64_t> at = ParseSeconds(words[1]);
    if (!at.ok()) return fail(std::string(at.status().message()));
    step.at_ns = *at;
    step.verb = words[2];
    const std::vector<std::string> args(words.begin() + 3, words.end());
    auto nodes = [&](size_t i) -> absl::Status {
      if (i >= args.size()) return fail("missing server name");
      absl::StatusOr<std::vector<int>> parsed = ParseNodeList(args[i], servers);
      if (!parsed.ok()) return fail(std::string(parsed.status().message()));
      step.nodes.insert(step.nodes.end(), parsed->begin(), parsed->end());
      return absl::OkStatus();
    };
    auto length = [&](size_t i) -> absl::Status {
      if (i >= args.size()) return fail("missing length in seconds");
      absl::StatusOr<int64_t> parsed = ParseSeconds(args[i]);
      if (!parsed.ok()) return fail(std::string(parsed.status().message()));
      step.length_ns = *parsed;
      return absl::OkStatus();
    };
    size_t expected = 0;
    if (step.verb == "crash" || step.verb == "restart" ||
        step.verb == "isolate" || step.verb == "flip") {
      PEGASUS_RETURN_IF_ERROR(nodes(0));
      expected = 1;
    } else if (step.verb == "pause") {
      PEGASUS_RETURN_IF_ERROR(nodes(0));
      PEGASUS_RETURN_IF_ERROR(length(1));
      expected = 2;
    } else if (step.verb == "cut") {
      PEGASUS_RETURN_IF_ERROR(nodes(0));
      PEGASUS_RETURN_IF_ERROR(nodes(1));
      expected = 2;
    } else if (step.verb == "clog") {
      PEGASUS_RETURN_IF_ERROR(nodes(0));
      PEGASUS_RETURN_IF_ERROR(nodes(1));
      PEGASUS_RETURN_IF_ERROR(length(2));
      expected = 3;
    } else if (step.verb == "split") {
      if (args.size() != 3 || args[1] != "|") {
        return fail("expected 'split n1,n2 | n3,n4'");
      }
      PEGASUS_RETURN_IF_ERROR(nodes(0));
      absl::StatusOr<std::vector<int>> b = ParseNodeList(args[2], servers);
      if (!b.ok()) return fail(std::string(b.status().message()));
      step.group_b = *b;
      expected = 3;
    } else if (step.verb == "heal") {
      expected = 0;
    } else {
      return fail(
          "unknown action (known: crash, restart, pause, isolate, "
          "split, cut, clog, heal, flip)");
    }
    if (args.size() != expected) return fail("wrong number of arguments");
    steps.push_back(std::move(step));
  }
  return steps;
}

// Lease and grace: the servers stop serving (lease) well before the meta
// server declares them dead (grace), unless a planted bug says otherwise.
constexpr int64_t kLeaseNs = 3 * kSecond;
constexpr int64_t kGraceNs = 5 * kSecond;
// After the faults stop, every partition must have a serving primary within
// this long: the grace, and time for failover and learning.
constexpr int64_t kLivenessBoundNs = kGraceNs + 5 * kSecond;

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

Simulation::Simulation(const SimulationOptions& options)
    : options_(options), world_(options.seed) {
  world_.set_gate(this);
  serving_.assign(options_.servers,
                  std::vector<Ballot>(options_.partition_count, 0));
  walked_.assign(options_.servers, {-1, 0});
  max_committed_.assign(options_.partition_count, 0);
  commit_views_.assign(options_.servers,
                       std::vector<CommitView>(options_.partition_count));
  if (options_.trace) world_.EnableTrace();
  std::unique_ptr<Random> plan_random = world_.NewRandom("fault_plan");
  plan_ =
      DrawFaultPlan(options_.faults, /*meta_servers=*/cluster(), *plan_random);
  nemesis_random_ = world_.NewRandom("nemesis");
  network_ = std::make_unique<SimNetwork>(
      &world_, plan_.network, world_.NewRandom("network"),
      [this](int from, int to, const std::string& message) {
        if (to < 0 || to >= static_cast<int>(processes_.size())) return false;
        return processes_[to]->Receive(NodeId{static_cast<uint64_t>(from) + 1},
                                       message);
      });
  std::unique_ptr<Random> clock_random = world_.NewRandom("clocks");
  const int total = first_client() + options_.clients;
  for (int i = 0; i < total; ++i) {
    const bool server = i < options_.servers;
    const bool meta = cluster() && i == meta_index();
    ProcessOptions process;
    // Drawn for every process so that the count of servers does not shift
    // what the clients get.
    const double drift =
        (clock_random->UniformDouble() * 2 - 1) * plan_.max_clock_drift;
    const int64_t offset =
        plan_.max_wall_offset_us == 0
            ? 0
            : clock_random->UniformIn(-plan_.max_wall_offset_us,
                                      plan_.max_wall_offset_us);
    if (server) {
      process.has_disk = true;
      process.disk = plan_.disk;
    }
    if (server || meta) {
      process.clock_drift = drift;
      process.wall_offset_us = offset;
    }
    processes_.push_back(std::make_unique<SimProcess>(
        &world_, network_.get(), i, NodeId{static_cast<uint64_t>(i) + 1},
        server ? absl::StrCat("n", i + 1)
               : (meta ? std::string("meta")
                       : absl::StrCat("client", i - first_client())),
        process));
    if (server) {
      processes_.back()->set_on_fail_stop([this](SimProcess* p) {
        RestartLater(p->index(),
                     100 * kMs + nemesis_random_->Exponential(500 * kMs));
      });
    }
  }
}

std::vector<int> Simulation::Servers() const {
  std::vector<int> servers;
  for (int i = 0; i < options_.servers; ++i) servers.push_back(i);
  return servers;
}

std::vector<int> Simulation::Everyone() const {
  std::vector<int> all;
  for (int i = 0; i < static_cast<int>(processes_.size()); ++i)
    all.push_back(i);
  return all;
}

absl::StatusOr<std::unique_ptr<Service>> Simulation::StartServer(
    int index, const ProcessEnv& env) {
  if (cluster()) return StartReplicaServer(index, env);
  KvServiceOptions service;
  service.partition_count = options_.partition_count;
  service.planted_bug = options_.planted_bug;
  for (int32_t p = 0; p < options_.partition_count; ++p) {
    if (p % options_.servers == index) service.partitions.push_back(p);
  }
  PEGASUS_ASSIGN_OR_RETURN(std::unique_ptr<KvService> kv,
                           KvService::Start(env, service));
  return std::unique_ptr<Service>(std::move(kv));
}

absl::StatusOr<std::unique_ptr<Service>> Simulation::StartReplicaServer(
    int index, const ProcessEnv& env) {
  replication::ReplicaHostOptions host;
  host.meta = meta_node();
  host.lease_ns = lease_ns();
  host.open_engine = [fs = env.file_system,
                      clock = env.clock](const std::string& dir)
      -> absl::StatusOr<std::unique_ptr<StorageEngine>> {
    MemoryEngineOptions engine;
    engine.file_system = fs;
    engine.clock = clock;
    return OpenMemoryEngine(dir, engine);
  };
  replication::ReplicaPlantedBugs& bugs = host.replica.planted_bugs;
  bugs.majority_commit = options_.planted_bug == PlantedBug::kMajorityCommit;
  bugs.secondary_read = options_.planted_bug == PlantedBug::kSecondaryRead;
  bugs.ack_before_durable =
      options_.planted_bug == PlantedBug::kAckBeforeDurable;
  bugs.skip_reconciliation =
      options_.planted_bug == PlantedBug::kSkipReconciliation;
  bugs.stale_ballot_prepare =
      options_.planted_bug == PlantedBug::kStaleBallotPrepare;
  bugs.early_learner_upgrade =
      options_.planted_bug == PlantedBug::kEarlyLearnerUpgrade;
  host.on_apply = [this, index](Gpid gpid, const proto::Mutation& mutation) {
    RecordApply(index, gpid, mutation);
  };
  host.on_prepare = [this, index](Gpid gpid, Ballot seen,
                                  const proto::Mutation& mutation,
                                  const replication::Ready& ready) {
    CheckPrepareBallot(index, gpid, seen, mutation, ready);
  };
  PEGASUS_ASSIGN_OR_RETURN(std::unique_ptr<ReplicaServerService> service,
                           ReplicaServerService::Start(env, std::move(host)));
  return std::unique_ptr<Service>(std::move(service));
}

void Simulation::StartMeta() {
  MetaServiceOptions meta;
  meta.meta.grace_ns = kGraceNs;
  meta.meta.lease_ns = lease_ns();
  meta.meta.allow_lease_ge_grace =
      options_.planted_bug == PlantedBug::kLeaseGeGrace;
  meta.meta.add_secondary_delay_ns = kSecond;
  meta.meta.planted_promote_removed =
      options_.planted_bug == PlantedBug::kPromoteRemoved;
  meta.tables.push_back(TableSpec{options_.workload.app_id,
                                  options_.partition_count,
                                  options_.replica_count});
  meta.medium = meta_medium_;
  PEGASUS_CHECK_OK(processes_[meta_index()]->Start(
      [&](const ProcessEnv& env) -> absl::StatusOr<std::unique_ptr<Service>> {
        PEGASUS_ASSIGN_OR_RETURN(std::unique_ptr<MetaService> service,
                                 MetaService::Start(env, meta));
        return std::unique_ptr<Service>(std::move(service));
      }));
}

int64_t Simulation::lease_ns() const {
  return options_.planted_bug == PlantedBug::kLeaseGeGrace ? kGraceNs + kSecond
                                                           : kLeaseNs;
}

const replication::ReplicaHost* Simulation::HostOf(int index) {
  SimProcess* process = processes_[index].get();
  if (!process->up()) return nullptr;
  return &static_cast<const ReplicaServerService*>(process->service())->host();
}

const proto::PartitionConfig* Simulation::MetaConfig(Gpid gpid) {
  if (!meta_up()) return nullptr;
  return static_cast<const MetaService*>(processes_[meta_index()]->service())
      ->core()
      .GetConfig(gpid);
}

void Simulation::Violation(const std::string& line) {
  // The first few are enough to debug by; the run fails either way.
  if (violations_.size() < 20) violations_.push_back(line);
}

// Invariant 3 of docs/replication.md's checks: a committed decree has one
// mutation, whichever replica applies it, whenever.
void Simulation::RecordApply(int server, Gpid gpid,
                             const proto::Mutation& mutation) {
  proto::Mutation content = mutation;
  content.clear_ballot();
  content.clear_last_committed();
  std::string bytes;
  content.SerializeToString(&bytes);
  auto [it, first] = committed_[gpid].emplace(mutation.decree(), bytes);
  Decree& max = max_committed_[gpid.partition_index];
  if (mutation.decree() > max) {
    max = mutation.decree();
    commit_rose_.push_back(gpid.partition_index);
  }
  if (!first && it->second != bytes) {
    Violation(absl::StrCat("divergence: n", server + 1,
                           " applied a different "
                           "mutation at ",
                           gpid.ToString(), " decree ", mutation.decree(),
                           " (ballot ", mutation.ballot(), ") at ",
                           world_.now_ns(), " ns"));
  }
}

// Invariant 4: a replica never accepts (logs or acknowledges) a prepare of
// an older ballot than one it has seen.
void Simulation::CheckPrepareBallot(int server, Gpid gpid, Ballot seen,
                                    const proto::Mutation& mutation,
                                    const replication::Ready& ready) {
  if (mutation.ballot() >= seen) return;
  auto same = [&](Ballot ballot, Decree decree) {
    return ballot == mutation.ballot() && decree == mutation.decree();
  };
  bool accepted = false;
  for (const replication::LogAppend& append : ready.log_appends) {
    accepted |= same(append.mutation.ballot(), append.mutation.decree());
  }
  for (const replication::PeerMessage& message : ready.messages) {
    const auto* ack = std::get_if<proto::PrepareResponse>(&message.body);
    accepted |= ack != nullptr && ack->error() == proto::REPLICA_OK &&
                same(ack->ballot(), ack->decree());
  }
  if (!accepted) return;
  Violation(absl::StrCat("stale prepare accepted: n", server + 1, " took ",
                         gpid.ToString(), " decree ", mutation.decree(),
                         " of ballot ", mutation.ballot(), " after ballot ",
                         seen, " at ", world_.now_ns(), " ns"));
}

// Invariant 2, the commit invariant, checked for the replicas of the server
// whose event just ran: a serving primary has committed every decree ever
// committed in its partition (no committed write is lost in a change of
// primary), and every secondary of its ballot holds every decree the
// primary committed.
void Simulation::CheckCommitPoint(int index, Gpid gpid,
                                  const replication::Replica& replica,
                                  bool serving) {
  using replication::ReplicaStatus;
  const replication::Replica* primary = nullptr;
  std::vector<std::pair<int, const replication::Replica*>> secondaries;
  auto replica_on = [&](uint64_t node) -> const replication::Replica* {
    if (node == 0 || node > static_cast<uint64_t>(options_.servers)) {
      return nullptr;
    }
    const replication::ReplicaHost* host = HostOf(static_cast<int>(node) - 1);
    if (host == nullptr) return nullptr;
    const replication::Replica* r = host->replica(gpid);
    return r != nullptr && r->ballot() == replica.ballot() ? r : nullptr;
  };
  if (replica.status() == ReplicaStatus::kPrimary) {
    primary = &replica;
    for (uint64_t node : replica.config().secondaries()) {
      const replication::Replica* r = replica_on(node);
      if (r != nullptr && r->status() == ReplicaStatus::kSecondary) {
        secondaries.emplace_back(static_cast<int>(node) - 1, r);
      }
    }
    const Decree committed = max_committed_[gpid.partition_index];
    if (serving && replica.last_committed() < committed) {
      Violation(absl::StrCat(
          "lost commit: n", index + 1, " serves ", gpid.ToString(),
          " as primary (ballot ", replica.ballot(), ") committed through ",
          replica.last_committed(), ", but decree ", committed,
          " was committed at ", world_.now_ns(), " ns"));
    }
  } else if (replica.status() == ReplicaStatus::kSecondary) {
    primary = replica_on(replica.config().primary());
    if (primary == nullptr || primary->status() != ReplicaStatus::kPrimary) {
      return;
    }
    secondaries.emplace_back(index, &replica);
  }
  // Every decree up to the primary's commit point: committed at the
  // secondary, or in its prepared list (a gap would slip past a comparison
  // of last prepared decrees).
  for (const auto& [server, secondary] : secondaries) {
    Decree missing = kNoDecree;
    for (Decree d = secondary->last_committed() + 1;
         d <= primary->last_committed() && missing == kNoDecree; ++d) {
      if (secondary->MutationAt(d) == nullptr) missing = d;
    }
    if (missing == kNoDecree) continue;
    Violation(absl::StrCat("commit invariant: ", gpid.ToString(), " primary n",
                           primary->config().primary(), " committed through ",
                           primary->last_committed(), " but secondary n",
                           server + 1, " lacks decree ", missing,
                           " (committed through ", secondary->last_committed(),
                           ", prepared through ", secondary->last_prepared(),
                           ", ballot ", replica.ballot(), ") at ",
                           world_.now_ns(), " ns"));
  }
}

// After each event of server `index`: the commit invariant for the
// replicas the event could change, and invariant 1: at most one replica of
// a partition serves as primary at any instant (ReplicaHost::Serves: a
// primary past reconciliation, under a lease unexpired by its server's
// clock). A replica changes only in a step on its own strand; the host
// strand changes only the lease and which replicas there are, and a
// replica starts serving only through one of these (time passing only ends
// leases). So an event on a replica's strand looks at that replica, an
// event on the host strand at all of them if the lease or the replicas
// changed, and what each server served stands while its lease does. When a
// partition's highest commit rose, its serving primaries are looked at
// again too.
void Simulation::CheckServer(int index, int strand) {
  const replication::ReplicaHost* host = HostOf(index);
  if (host == nullptr) {
    std::fill(serving_[index].begin(), serving_[index].end(), 0);
  } else if (strand != 0) {
    const Gpid gpid = GpidOfStrandKey(processes_[index]->StrandKey(strand));
    if (const replication::Replica* replica = host->replica(gpid)) {
      CheckReplica(index, *host, *replica);
    } else {
      serving_[index][gpid.partition_index] = 0;  // Reclaimed.
    }
  } else {
    const std::pair<int64_t, size_t> now{host->lease_until_ns(),
                                         host->replica_count()};
    if (now != walked_[index]) {
      walked_[index] = now;
      host->ForEachReplica(
          [&](Gpid, const replication::Replica& replica, const StorageEngine&) {
            CheckReplica(index, *host, replica);
          });
    }
  }
  std::vector<int32_t> rose;
  rose.swap(commit_rose_);
  for (int32_t partition : rose) {
    for (int other = 0; other < options_.servers; ++other) {
      const replication::ReplicaHost* their = HostOf(other);
      if (serving_[other][partition] == 0 || their == nullptr) continue;
      if (const replication::Replica* replica =
              their->replica(Gpid{options_.workload.app_id, partition})) {
        CheckReplica(other, *their, *replica);
      }
    }
  }
}

void Simulation::CheckReplica(int index, const replication::ReplicaHost& host,
                              const replication::Replica& replica) {
  const Gpid gpid = replica.gpid();
  const int32_t partition = gpid.partition_index;
  const bool serves = host.Serves(replica);
  // The commit invariant can break only when one of the two sides moves:
  // looked at again when this replica's view changed.
  const CommitView view{
      replica.status(),        replica.ballot(), replica.last_committed(),
      replica.last_prepared(), serves,           max_committed_[partition]};
  CommitView& last = commit_views_[index][partition];
  if (!(view == last)) {
    last = view;
    CheckCommitPoint(index, gpid, replica, serves);
  }
  // A secondary serves only under the planted secondary_read.
  serving_[index][partition] = serves ? replica.ballot() : 0;
  if (!serves) return;
  if (quiet_ && replica.status() == replication::ReplicaStatus::kPrimary) {
    first_served_after_quiet_.emplace(gpid, world_.now_ns());
  }
  for (int other = 0; other < options_.servers; ++other) {
    if (other == index || serving_[other][partition] == 0 ||
        !LeaseHeld(other, HostOf(other))) {
      continue;
    }
    Violation(absl::StrCat("two primaries serve ", gpid.ToString(), ": n",
                           other + 1, " (ballot ", serving_[other][partition],
                           ") and n", index + 1, " (ballot ", replica.ballot(),
                           ") at ", world_.now_ns(), " ns"));
  }
}

bool Simulation::LeaseHeld(int index, const replication::ReplicaHost* host) {
  return host != nullptr &&
         host->lease_until_ns() > processes_[index]->MonotonicNowNs();
}

void Simulation::Restart(int index) {
  SimProcess* process = processes_[index].get();
  if (process->up()) return;
  absl::Status status = process->Start(
      [this, index](const ProcessEnv& env) { return StartServer(index, env); });
  if (status.ok()) return;
  const std::string line =
      absl::StrCat(process->name(), " refused to start: ", status.ToString());
  if (HasErrorCode(status, ErrorCode::kCorruption)) {
    // Without bit flips nothing may corrupt what a server wrote: recovery
    // must cope with crashes and torn writes alone.
    if (plan_.has(FaultKind::kBitFlip)) {
      notes_.push_back(line);
    } else {
      Violation(line);
    }
    return;
  }
  RestartLater(index, 500 * kMs);
}

void Simulation::RestartLater(int index, int64_t delay_ns) {
  world_.At(world_.now_ns() + delay_ns, EventOwner{}, "restart",
            static_cast<uint64_t>(index), [this, index] { Restart(index); });
}

void Simulation::Crash(int index, const std::string& reason) {
  SimProcess* process = processes_[index].get();
  if (!process->up()) return;
  process->Crash(reason);
}

void Simulation::ScheduleEpisode() {
  const int64_t at =
      world_.now_ns() + nemesis_random_->Exponential(plan_.episode_interval_ns);
  if (at >= quiet_ns()) return;
  world_.At(at, EventOwner{}, "nemesis", 0, [this] {
    RunEpisode();
    ScheduleEpisode();
  });
}

void Simulation::HealLater(int64_t length_ns) {
  world_.At(world_.now_ns() + length_ns, EventOwner{}, "heal", 0,
            [this] { network_->Heal(); });
}

void Simulation::RunEpisode() {
  if (quiet_) return;
  std::vector<FaultKind> kinds;
  for (FaultKind kind :
       {FaultKind::kCrash, FaultKind::kPause, FaultKind::kPartitionOne,
        FaultKind::kPartitionSplit, FaultKind::kPartitionOneWay,
        FaultKind::kClog, FaultKind::kPartitionMeta}) {
    if (plan_.has(kind)) kinds.push_back(kind);
  }
  if (kinds.empty()) return;
  Random& random = *nemesis_random_;
  const FaultKind kind = kinds[random.Uniform(kinds.size())];
  const int server = PickServer(random);
  int64_t length = 1 + random.Exponential(plan_.episode_length_ns);
  // In a cluster, an episode that cuts a server off or stops it sometimes
  // outlasts the grace, so that the meta server replaces it while it lives
  // on (and a deposed primary's messages arrive after its successor took
  // over).
  if (cluster() && kind != FaultKind::kCrash && random.Bernoulli(0.3)) {
    length += kGraceNs;
  }
  switch (kind) {
    case FaultKind::kCrash: {
      std::vector<int> victims = CrashVictims(server, random);
      for (int victim : victims) {
        Crash(victim, "nemesis crash");
        if (plan_.has(FaultKind::kBitFlip) && random.Bernoulli(0.5)) {
          processes_[victim]->disk()->FlipBitAtRest();
        }
        // Crashing several servers also keeps them down past the grace
        // half the time, so every member of a partition can be declared
        // dead (the all-dead cure).
        int64_t down = victim == victims.front()
                           ? length
                           : 1 + random.Exponential(plan_.episode_length_ns);
        if (victims.size() > 1 && random.Bernoulli(0.5)) down += kGraceNs;
        RestartLater(victim, 10 * kMs + down);
      }
      break;
    }
    case FaultKind::kPause:
      // Events held by a pause wait for its end, so no pause outlasts the
      // faults.
      processes_[server]->Pause(std::min(world_.now_ns() + length, quiet_ns()));
      break;
    case FaultKind::kPartitionOne:
      network_->Isolate(server, Everyone());
      HealLater(length);
      break;
    case FaultKind::kPartitionSplit: {
      // A minority of the servers on one side, and each client on a random
      // side.
      std::vector<int> a, b;
      std::vector<int> servers = Servers();
      for (size_t i = servers.size(); i > 1; --i) {
        std::swap(servers[i - 1], servers[random.Uniform(i)]);
      }
      const size_t minority = servers.size() / 2;
      for (size_t i = 0; i < servers.size(); ++i) {
        (i < minority ? a : b).push_back(servers[i]);
      }
      // The meta server and each client on a random side.
      for (int i = options_.servers; i < static_cast<int>(processes_.size());
           ++i) {
        (random.Bernoulli(0.5) ? a : b).push_back(i);
      }
      network_->Split(a, b);
      HealLater(length);
      break;
    }
    case FaultKind::kPartitionOneWay: {
      const int other = static_cast<int>(random.Uniform(processes_.size()));
      if (other == server) break;
      if (random.Bernoulli(0.5)) {
        network_->Cut(server, other);
      } else {
        network_->Cut(other, server);
      }
      HealLater(length);
      break;
    }
    case FaultKind::kPartitionMeta:
      network_->Cut(server, meta_index());
      network_->Cut(meta_index(), server);
      HealLater(length);
      break;
    case FaultKind::kClog: {
      const int other = static_cast<int>(random.Uniform(processes_.size()));
      if (other == server) break;
      const int64_t until = world_.now_ns() + length;
      if (random.Bernoulli(0.5)) {
        network_->Clog(server, other, until);
      } else {
        network_->Clog(other, server, until);
      }
      break;
    }
    default:
      break;
  }
}

const proto::PartitionConfig* Simulation::RandomPartitionConfig(
    Random& random) {
  return MetaConfig(
      {options_.workload.app_id,
       static_cast<int32_t>(random.Uniform(options_.partition_count))});
}

// The server an episode hits. In a cluster, half the time the node holding
// some partition's primary (Jepsen's "primaries" target): failovers are
// where replication protocols break.
int Simulation::PickServer(Random& random) {
  if (cluster() && random.Bernoulli(0.5) && meta_up()) {
    const proto::PartitionConfig* config = RandomPartitionConfig(random);
    if (config != nullptr && config->primary() != 0 &&
        config->primary() <= static_cast<uint64_t>(options_.servers)) {
      return static_cast<int>(config->primary()) - 1;
    }
  }
  return static_cast<int>(random.Uniform(options_.servers));
}

// Who a crash episode takes down: `first`, and in a cluster, three times in
// ten, more servers with it: every member of some partition (so a partition
// can lose all its replicas at once) or random others, up to a majority.
std::vector<int> Simulation::CrashVictims(int first, Random& random) {
  std::vector<int> victims = {first};
  if (!cluster() || !random.Bernoulli(0.3)) return victims;
  auto add = [&](int server) {
    if (server >= 0 && server < options_.servers &&
        std::find(victims.begin(), victims.end(), server) == victims.end()) {
      victims.push_back(server);
    }
  };
  if (random.Bernoulli(0.5) && meta_up()) {
    const proto::PartitionConfig* config = RandomPartitionConfig(random);
    if (config != nullptr) {
      victims.clear();
      if (config->primary() != 0) add(static_cast<int>(config->primary()) - 1);
      for (uint64_t id : config->secondaries()) add(static_cast<int>(id) - 1);
      if (victims.empty()) victims.push_back(first);
      return victims;
    }
  }
  const size_t want = 2 + random.Uniform(options_.servers / 2);
  for (int tries = 0; tries < 4 * options_.servers && victims.size() < want;
       ++tries) {
    add(static_cast<int>(random.Uniform(options_.servers)));
  }
  return victims;
}

void Simulation::RunStep(const ScriptStep& step) {
  const int64_t now = world_.now_ns();
  if (step.verb == "crash") {
    for (int node : step.nodes) Crash(node, "script: " + step.line);
  } else if (step.verb == "restart") {
    for (int node : step.nodes) Restart(node);
  } else if (step.verb == "pause") {
    for (int node : step.nodes) processes_[node]->Pause(now + step.length_ns);
  } else if (step.verb == "isolate") {
    for (int node : step.nodes) network_->Isolate(node, Everyone());
  } else if (step.verb == "split") {
    network_->Split(step.nodes, step.group_b);
  } else if (step.verb == "cut") {
    network_->Cut(step.nodes[0], step.nodes[1]);
  } else if (step.verb == "clog") {
    network_->Clog(step.nodes[0], step.nodes[1], now + step.length_ns);
  } else if (step.verb == "heal") {
    network_->Heal();
  } else if (step.verb == "flip") {
    for (int node : step.nodes) {
      if (!processes_[node]->up()) processes_[node]->disk()->FlipBitAtRest();
    }
  }
}

void Simulation::Quiesce() {
  quiet_ = true;
  network_->Heal();
  if (cluster()) {
    // Liveness is judged after the final heal: no more lost messages, and
    // the disks healthy too (a disk failing writes stops its node, fail-stop,
    // over and over, which no protocol heals). Latency, duplication and
    // reordering go on.
    network_->options().loss_probability = 0;
    for (int server : Servers()) {
      processes_[server]->disk()->options().write_error_probability = 0;
      processes_[server]->disk()->options().read_error_probability = 0;
    }
  }
  for (int server : Servers()) {
    if (!processes_[server]->up()) Restart(server);
  }
}

SimulationResult Simulation::Run() {
  if (cluster()) StartMeta();
  for (int server : Servers()) Restart(server);
  // In a cluster the clients go on through the liveness bound: their writes
  // show every partition acknowledging writes again.
  const int64_t stop_ns = end_ns() - options_.workload.timeout_ns - 100 * kMs;
  for (int c = 0; c < options_.clients; ++c) {
    SimProcess* process = processes_[first_client() + c].get();
    PEGASUS_CHECK_OK(process->Start([&](const ProcessEnv& env) {
      auto client = std::make_unique<KvClient>(
          env, c, options_.workload,
          [this](int32_t partition) { return ServerFor(partition); }, stop_ns,
          &history_,
          cluster() ? std::optional<NodeId>(meta_node()) : std::nullopt);
      clients_.push_back(client.get());
      return absl::StatusOr<std::unique_ptr<Service>>(std::move(client));
    }));
  }
  if (options_.script.empty()) {
    ScheduleEpisode();
  } else {
    absl::StatusOr<std::vector<ScriptStep>> steps =
        ParseScript(options_.script, options_.servers);
    PEGASUS_CHECK_OK(steps.status());
    for (const ScriptStep& step : *steps) {
      world_.At(step.at_ns, EventOwner{}, "script", 0,
                [this, step] { RunStep(step); });
    }
  }
  world_.At(quiet_ns(), EventOwner{}, "quiesce", 0, [this] { Quiesce(); });
  world_.RunUntil(end_ns());
  for (KvClient* client : clients_) client->Abandon();

  SimulationResult result;
  result.seed = options_.seed;
  result.digest = world_.digest();
  result.events = world_.events_run();
  result.simulated_ns = world_.now_ns();
  result.faults = plan_.Describe();
  for (const auto& process : processes_) result.crashes += process->crashes();
  result.messages_sent = network_->stats().sent;
  result.messages_delivered = network_->stats().delivered;
  if (cluster()) CheckConvergence();
  Check(&result);
  result.trace = world_.trace();
  return result;
}

// At the end, after the faults stopped: every partition has a serving
// primary (liveness), and replicas of a partition at the same commit point
// hold the same data (convergence).
void Simulation::CheckConvergence() {
  std::map<Gpid, std::map<Decree, std::pair<int, uint64_t>>> seen;
  for (int index : Servers()) {
    const replication::ReplicaHost* host = HostOf(index);
    if (host == nullptr) continue;
    host->ForEachReplica([&](Gpid gpid, const replication::Replica& replica,
                             const StorageEngine& storage) {
      if (replica.status() != replication::ReplicaStatus::kPrimary &&
          replica.status() != replication::ReplicaStatus::kSecondary) {
        return;
      }
      const uint64_t digest = StorageDigest(storage);
      auto [it, first] = seen[gpid].emplace(replica.last_committed(),
                                            std::make_pair(index, digest));
      if (!first && it->second.second != digest) {
        Violation(absl::StrCat("no convergence: ", gpid.ToString(),
                               " at decree ", replica.last_committed(),
                               " differs between n", it->second.first + 1,
                               " and n", index + 1));
      }
    });
  }
  // Liveness: after the faults stopped, every partition had a serving
  // primary and acknowledged a client's write, each within the bound (not
  // necessarily at the very end).
  const int64_t bound_ns = quiet_ns() + kLivenessBoundNs;
  std::set<Gpid> served, written;
  for (const auto& [gpid, at_ns] : first_served_after_quiet_) {
    if (at_ns <= bound_ns) served.insert(gpid);
  }
  for (const checkers::Operation& op : history_) {
    if (op.kind == checkers::OpKind::kGet ||
        op.kind == checkers::OpKind::kMultiGet ||
        op.result != checkers::OpResult::kOk || op.call_ns < quiet_ns() ||
        op.return_ns > bound_ns) {
      continue;
    }
    written.insert(Gpid{options_.workload.app_id,
                        PartitionOf(op.hashkey, options_.partition_count)});
  }
  std::set<int32_t> keyed;
  for (const std::string& key : WorkloadHashKeys(options_.workload)) {
    keyed.insert(PartitionOf(key, options_.partition_count));
  }
  std::vector<std::string> unhealed;
  for (int32_t p = 0; p < options_.partition_count; ++p) {
    const Gpid gpid{options_.workload.app_id, p};
    if (!served.count(gpid)) {
      unhealed.push_back(gpid.ToString() + " (no serving primary)");
    } else if (!written.count(gpid)) {
      unhealed.push_back(gpid.ToString() +
                         (keyed.count(p) ? " (no write acknowledged)"
                                         : " (no hash key of the workload "
                                           "maps to it)"));
    }
  }
  if (!unhealed.empty()) {
    Violation(absl::StrCat("liveness: within ", kLivenessBoundNs / kSecond,
                           " s after the faults stopped, ",
                           absl::StrJoin(unhealed, ", ")));
    // What each of them looks like, to debug by.
    for (int32_t p = 0; p < options_.partition_count; ++p) {
      const Gpid gpid{options_.workload.app_id, p};
      if (served.count(gpid) && written.count(gpid)) continue;
      std::string line = absl::StrCat("  ", gpid.ToString(), ": meta ");
      const proto::PartitionConfig* config = MetaConfig(gpid);
      absl::StrAppend(&line,
                      config == nullptr ? "-" : config->ShortDebugString());
      for (int index : Servers()) {
        const replication::ReplicaHost* host = HostOf(index);
        if (host == nullptr) {
          absl::StrAppend(&line, "; n", index + 1, " down");
          continue;
        }
        const replication::Replica* replica = host->replica(gpid);
        if (replica == nullptr) continue;
        absl::StrAppend(&line, "; n", index + 1, " ",
                        replication::ReplicaStatusName(replica->status()), " b",
                        replica->ballot(), " c", replica->last_committed(),
                        " p", replica->last_prepared(),
                        host->lease_valid() ? "" : " nolease");
      }
      notes_.push_back(line);
    }
  }
}

void Simulation::Check(SimulationResult* result) {
  for (const checkers::Operation& op : history_) {
    switch (op.result) {
      case checkers::OpResult::kOk:
        ++result->ops_ok;
        break;
      case checkers::OpResult::kFailed:
        ++result->ops_failed;
        break;
      case checkers::OpResult::kUnknown:
        ++result->ops_unknown;
        break;
    }
  }
  checkers::CheckOptions check;
  check.time_budget_ms = options_.check_budget_ms;
  result->linearizability = checkers::CheckLinearizability(history_, check);
  switch (result->linearizability.verdict) {
    case checkers::Verdict::kLinearizable:
      break;
    case checkers::Verdict::kNotLinearizable:
      Violation("history not linearizable at hashkey '" +
                result->linearizability.hashkey + "'");
      break;
    case checkers::Verdict::kUnknown:
      Violation("linearizability undecided within " +
                std::to_string(options_.check_budget_ms) + " ms at hashkey '" +
                result->linearizability.hashkey + "'");
      break;
  }
  result->violations = violations_;
  result->notes = notes_;
  result->history = std::move(history_);
}

}  // namespace

absl::Status ValidateScript(const std::string& script, int servers) {
  return ParseScript(script, servers).status();
}

const char* ServiceKindName(ServiceKind kind) {
  return kind == ServiceKind::kCluster ? "cluster" : "single";
}

SimulationResult RunSimulation(const SimulationOptions& options) {
  Simulation simulation(options);
  return simulation.Run();
}

}  // namespace pegasus::sim
