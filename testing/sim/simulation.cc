#include "testing/sim/simulation.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "pegasus/base/check.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"
#include "pegasus/storage/memory/memory_engine.h"
#include "testing/sim/cluster.h"
#include "testing/sim/process.h"
#include "testing/sim/simulation_internal.h"

namespace pegasus::sim {
namespace internal {
namespace {

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
                                                    int servers,
                                                    ServiceKind service) {
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
    } else if (step.verb == "drop" || step.verb == "recall") {
      if (service != ServiceKind::kCluster) {
        return fail("drop and recall need the cluster (--service=cluster)");
      }
      expected = 0;
    } else {
      return fail(
          "unknown action (known: crash, restart, pause, isolate, "
          "split, cut, clog, heal, flip, drop, recall)");
    }
    if (args.size() != expected) return fail("wrong number of arguments");
    steps.push_back(std::move(step));
  }
  return steps;
}

}  // namespace

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
  // Freezing needs three servers alive (Pegasus's default) or as many as
  // the world has.
  meta.meta.min_live_nodes = std::min(3, options_.servers);
  // The balancer runs, and often enough for a run of seconds: failovers
  // leave primaries skewed, and its moves meet the faults.
  meta.meta.level_on_start = proto::META_LEVEL_LIVELY;
  meta.meta.balancer_interval_ns = kBalancerIntervalNs;
  meta.meta.move_step_timeout_ns = 10 * kSecond;
  meta.meta.move_retry_ns = 500 * kMs;
  meta.tables.push_back(
      TableSpec{"temp", options_.partition_count, options_.replica_count});
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
        FaultKind::kClog, FaultKind::kPartitionMeta, FaultKind::kDropRecall}) {
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
    case FaultKind::kDropRecall:
      // The recall comes when the faults stop at the latest, so the table
      // is there for the liveness check.
      if (table_dropped_) break;
      DropTable();
      world_.At(std::min(world_.now_ns() + length, quiet_ns()), EventOwner{},
                "recall", 0, [this] { RecallTable(); });
      break;
    default:
      break;
  }
}

void Simulation::MetaAdmin(
    const proto::AdminRequest& request,
    std::function<void(const proto::AdminResponse&)> done) {
  SimProcess* meta = processes_[meta_index()].get();
  if (!meta->up()) {
    proto::AdminResponse down;
    down.set_error(static_cast<int32_t>(ErrorCode::kNetworkFailure));
    down.set_error_message("the meta server is down");
    return done(down);
  }
  meta->Post([meta, request, done = std::move(done)]() mutable {
    static_cast<MetaService*>(meta->service())
        ->Admin(request,
                [done = std::move(done)](proto::AdminResponse response) {
                  done(response);
                });
  });
}

void Simulation::DropTable() {
  table_dropped_ = true;
  proto::AdminRequest drop;
  drop.mutable_drop_table()->set_name(options_.workload.table);
  // Nothing in a run refuses an operator's drop: a failure is a bug (and
  // would leave the episode testing nothing).
  MetaAdmin(drop, [this](const proto::AdminResponse& response) {
    if (response.error() != 0) {
      Violation("dropping table " + options_.workload.table +
                " failed: " + response.error_message());
    }
  });
}

void Simulation::RecallTable() {
  proto::AdminRequest recall;
  recall.mutable_recall_table()->set_app_id(options_.workload.app_id);
  MetaAdmin(recall, [this](const proto::AdminResponse& response) {
    const auto code = static_cast<ErrorCode>(response.error());
    if (code == ErrorCode::kOk || code == ErrorCode::kAppExist) {
      if (code == ErrorCode::kOk) ++tables_recalled_;
      table_dropped_ = false;
      return;
    }
    world_.At(world_.now_ns() + 200 * kMs, EventOwner{}, "recall", 0,
              [this] { RecallTable(); });
  });
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
  } else if (step.verb == "drop") {
    DropTable();
  } else if (step.verb == "recall") {
    RecallTable();
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
  for (int server : Servers()) {
    if (cluster() && options_.initial_servers > 0 &&
        server >= options_.initial_servers) {
      RestartLater(server, options_.late_start_ns);
    } else {
      Restart(server);
    }
  }
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
        ParseScript(options_.script, options_.servers, options_.service);
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
  if (cluster() && meta_up()) {
    const MetaCore& core =
        static_cast<const MetaService*>(processes_[meta_index()]->service())
            ->core();
    result.balance_snapshot = core.BalanceSnapshot();
    result.meta_stats = core.stats();
  }
  result.tables_recalled = tables_recalled_;
  if (table_dropped_) {
    Violation("the table is still dropped at the end: no recall succeeded");
  }
  Check(&result);
  result.trace = world_.trace();
  return result;
}

}  // namespace internal

absl::Status ValidateScript(const std::string& script, int servers,
                            ServiceKind service) {
  return internal::ParseScript(script, servers, service).status();
}

const char* ServiceKindName(ServiceKind kind) {
  return kind == ServiceKind::kCluster ? "cluster" : "single";
}

SimulationResult RunSimulation(const SimulationOptions& options) {
  internal::Simulation simulation(options);
  return simulation.Run();
}

}  // namespace pegasus::sim
