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
#include "pegasus/base/status.h"
#include "testing/sim/process.h"

namespace pegasus::sim {
namespace {

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
  return PegasusError(ErrorCode::kInvalidArgument,
                      absl::StrCat("script line ", line_number, " '", line,
                                   "': ", why));
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
      return fail("unknown action (known: crash, restart, pause, isolate, "
                  "split, cut, clog, heal, flip)");
    }
    if (args.size() != expected) return fail("wrong number of arguments");
    steps.push_back(std::move(step));
  }
  return steps;
}

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
    processes_[owner.process]->BeginEvent(world_.now_ns());
  }
  void EndEvent(const EventOwner& owner) override {
    processes_[owner.process]->EndEvent();
  }

 private:
  int64_t quiet_ns() const { return options_.duration_ns * 3 / 4; }
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
};

Simulation::Simulation(const SimulationOptions& options)
    : options_(options), world_(options.seed) {
  world_.set_gate(this);
  if (options_.trace) world_.EnableTrace();
  std::unique_ptr<Random> plan_random = world_.NewRandom("fault_plan");
  plan_ = DrawFaultPlan(options_.faults, /*meta_servers=*/false, *plan_random);
  nemesis_random_ = world_.NewRandom("nemesis");
  network_ = std::make_unique<SimNetwork>(
      &world_, plan_.network, world_.NewRandom("network"),
      [this](int from, int to, const std::string& message) {
        if (to < 0 || to >= static_cast<int>(processes_.size())) return false;
        return processes_[to]->Receive(
            NodeId{static_cast<uint64_t>(from) + 1}, message);
      });
  std::unique_ptr<Random> clock_random = world_.NewRandom("clocks");
  const int total = options_.servers + options_.clients;
  for (int i = 0; i < total; ++i) {
    const bool server = i < options_.servers;
    ProcessOptions process;
    // Drawn for every process so that the count of servers does not shift
    // what the clients get.
    const double drift =
        (clock_random->UniformDouble() * 2 - 1) * plan_.max_clock_drift;
    const int64_t offset = plan_.max_wall_offset_us == 0
                               ? 0
                               : clock_random->UniformIn(
                                     -plan_.max_wall_offset_us,
                                     plan_.max_wall_offset_us);
    if (server) {
      process.has_disk = true;
      process.disk = plan_.disk;
      process.clock_drift = drift;
      process.wall_offset_us = offset;
    }
    processes_.push_back(std::make_unique<SimProcess>(
        &world_, network_.get(), i, NodeId{static_cast<uint64_t>(i) + 1},
        server ? absl::StrCat("n", i + 1)
               : absl::StrCat("client", i - options_.servers),
        process));
    if (server) {
      processes_.back()->set_on_fail_stop([this](SimProcess* p) {
        RestartLater(p->index(), 100 * kMs + nemesis_random_->Exponential(500 * kMs));
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
  for (int i = 0; i < static_cast<int>(processes_.size()); ++i) all.push_back(i);
  return all;
}

absl::StatusOr<std::unique_ptr<Service>> Simulation::StartServer(
    int index, const ProcessEnv& env) {
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

void Simulation::Restart(int index) {
  SimProcess* process = processes_[index].get();
  if (process->up()) return;
  absl::Status status = process->Start([this, index](const ProcessEnv& env) {
    return StartServer(index, env);
  });
  if (status.ok()) return;
  const std::string line =
      absl::StrCat(process->name(), " refused to start: ", status.ToString());
  if (HasErrorCode(status, ErrorCode::kCorruption)) {
    // Without bit flips nothing may corrupt what a server wrote: recovery
    // must cope with crashes and torn writes alone.
    if (plan_.has(FaultKind::kBitFlip)) {
      notes_.push_back(line);
    } else {
      violations_.push_back(line);
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
        FaultKind::kClog}) {
    if (plan_.has(kind)) kinds.push_back(kind);
  }
  if (kinds.empty()) return;
  Random& random = *nemesis_random_;
  const FaultKind kind = kinds[random.Uniform(kinds.size())];
  const int server = static_cast<int>(random.Uniform(options_.servers));
  const int64_t length = 1 + random.Exponential(plan_.episode_length_ns);
  switch (kind) {
    case FaultKind::kCrash:
      Crash(server, "nemesis crash");
      if (plan_.has(FaultKind::kBitFlip) && random.Bernoulli(0.5)) {
        processes_[server]->disk()->FlipBitAtRest();
      }
      RestartLater(server, 10 * kMs + length);
      break;
    case FaultKind::kPause:
      processes_[server]->Pause(world_.now_ns() + length);
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
      for (int i = options_.servers; i < static_cast<int>(processes_.size()); ++i) {
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
  for (int server : Servers()) {
    if (!processes_[server]->up()) Restart(server);
  }
}

SimulationResult Simulation::Run() {
  for (int server : Servers()) Restart(server);
  const int64_t stop_ns =
      options_.duration_ns - options_.workload.timeout_ns - 100 * kMs;
  for (int c = 0; c < options_.clients; ++c) {
    SimProcess* process = processes_[options_.servers + c].get();
    PEGASUS_CHECK_OK(process->Start([&](const ProcessEnv& env) {
      auto client = std::make_unique<KvClient>(
          env, c, options_.workload,
          [this](int32_t partition) { return ServerFor(partition); }, stop_ns,
          &history_);
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
  world_.RunUntil(options_.duration_ns);
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
  Check(&result);
  result.trace = world_.trace();
  return result;
}

void Simulation::Check(SimulationResult* result) {
  for (const checkers::Operation& op : history_) {
    switch (op.result) {
      case checkers::OpResult::kOk: ++result->ops_ok; break;
      case checkers::OpResult::kFailed: ++result->ops_failed; break;
      case checkers::OpResult::kUnknown: ++result->ops_unknown; break;
    }
  }
  checkers::CheckOptions check;
  check.time_budget_ms = options_.check_budget_ms;
  result->linearizability = checkers::CheckLinearizability(history_, check);
  switch (result->linearizability.verdict) {
    case checkers::Verdict::kLinearizable:
      break;
    case checkers::Verdict::kNotLinearizable:
      violations_.push_back("history not linearizable at hashkey '" +
                            result->linearizability.hashkey + "'");
      break;
    case checkers::Verdict::kUnknown:
      violations_.push_back("linearizability undecided within " +
                            std::to_string(options_.check_budget_ms) +
                            " ms at hashkey '" +
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

SimulationResult RunSimulation(const SimulationOptions& options) {
  Simulation simulation(options);
  return simulation.Run();
}

}  // namespace pegasus::sim
