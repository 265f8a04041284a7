// The simulator's command line: runs seeds, prints one line per seed with
// its digest, counts and verdicts, and for every failure a command that
// replays it. Exits non-zero on any violation.
//
//   bazel run //testing/sim:simulate -- --seed=7
//   bazel run //testing/sim:simulate -- --seeds=1..200 --duration_s=10
//   bazel run //testing/sim:simulate -- --seed=7 --verify_determinism
//   bazel run //testing/sim:simulate -- --seeds=1..20 --planted_bug=stale_cache

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "testing/checkers/history.h"
#include "testing/sim/simulation.h"

ABSL_FLAG(uint64_t, seed, 1, "The seed to run.");
ABSL_FLAG(std::string, seeds, "",
          "A range of seeds 'A..B' (inclusive) to run instead of --seed.");
ABSL_FLAG(double, duration_s, 20, "Simulated seconds per seed.");
ABSL_FLAG(std::string, faults, "swarm",
          "swarm (a random subset per seed), none, all, or a comma-separated "
          "list of fault kinds (see docs/simulator.md).");
ABSL_FLAG(std::string, service, "",
          "What the servers run: 'cluster' (a meta server and replica "
          "servers, PacificA) or 'single' (each partition on one server "
          "alone). Default: single for its planted bugs, else cluster.");
ABSL_FLAG(std::string, planted_bug, "none",
          "Run a deliberately broken service (see docs/simulator.md): "
          "stale_cache and ack_before_sync (single); majority_commit, "
          "secondary_read, lease_ge_grace, ack_before_durable, "
          "skip_reconciliation, stale_ballot_prepare, early_learner_upgrade "
          "and promote_removed (cluster).");
ABSL_FLAG(std::string, script, "",
          "A scenario file of timed faults; turns the swarm's episodes off.");
ABSL_FLAG(std::string, history_out, "",
          "Write the client history (JSON lines) here; with several seeds, "
          "to FILE.<seed>.");
ABSL_FLAG(bool, verify_determinism, false,
          "Run each seed twice and compare the runs event by event.");
ABSL_FLAG(int, servers, 5, "Server nodes.");
ABSL_FLAG(int, clients, 16, "Simulated clients.");
ABSL_FLAG(int, partitions, 16, "Partitions of the table.");
ABSL_FLAG(int64_t, check_budget_ms, 20000,
          "Wall-clock budget of each linearizability check.");
ABSL_FLAG(bool, quiet, false, "Print only failures and the summary.");
ABSL_FLAG(int, jobs, 1,
          "Seeds run at once, each on its own thread (runs stay "
          "deterministic; only the order of the lines changes).");

namespace pegasus::sim {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string ReplayCommand(uint64_t seed) {
  std::string command =
      absl::StrCat("bazel run //testing/sim:simulate -- --seed=", seed,
                   " --duration_s=", absl::GetFlag(FLAGS_duration_s),
                   " --faults=", absl::GetFlag(FLAGS_faults));
  if (!absl::GetFlag(FLAGS_service).empty()) {
    absl::StrAppend(&command, " --service=", absl::GetFlag(FLAGS_service));
  }
  if (absl::GetFlag(FLAGS_planted_bug) != "none") {
    absl::StrAppend(&command,
                    " --planted_bug=", absl::GetFlag(FLAGS_planted_bug));
  }
  if (!absl::GetFlag(FLAGS_script).empty()) {
    absl::StrAppend(&command, " --script=", absl::GetFlag(FLAGS_script));
  }
  for (const auto& [name, value, fallback] :
       {std::tuple{"servers", absl::GetFlag(FLAGS_servers), 5},
        std::tuple{"clients", absl::GetFlag(FLAGS_clients), 16},
        std::tuple{"partitions", absl::GetFlag(FLAGS_partitions), 16}}) {
    if (value != fallback) absl::StrAppend(&command, " --", name, "=", value);
  }
  return command;
}

struct Totals {
  int passed = 0;
  int failed = 0;
  // The meta server's balancer moves (cluster only).
  uint64_t moves_finished = 0;
  uint64_t moves_abandoned = 0;
  uint64_t recalls = 0;
  double simulated_s = 0;
  double wall_s = 0;
};

std::mutex output_mutex;

bool RunSeed(const SimulationOptions& base, uint64_t seed, bool many,
             Totals* totals) {
  SimulationOptions options = base;
  options.seed = seed;
  options.trace = absl::GetFlag(FLAGS_verify_determinism);
  const auto start = std::chrono::steady_clock::now();
  SimulationResult result = RunSimulation(options);
  const double wall_s = SecondsSince(start);
  std::vector<std::string> problems = result.violations;
  if (absl::GetFlag(FLAGS_verify_determinism)) {
    SimulationResult again = RunSimulation(options);
    if (again.digest != result.digest) {
      std::optional<size_t> at = FirstDivergence(result.trace, again.trace);
      std::string where = "digests differ but the traces agree";
      if (at.has_value()) {
        where = absl::StrCat(
            "first divergence at event #", *at + 1, ": first run ",
            *at < result.trace.size() ? DescribeTraceRecord(result.trace[*at])
                                      : std::string("(ended)"),
            "; second run ",
            *at < again.trace.size() ? DescribeTraceRecord(again.trace[*at])
                                     : std::string("(ended)"));
      }
      problems.push_back(
          absl::StrFormat("nondeterminism: digests %016x and %016x; %s",
                          result.digest, again.digest, where));
    }
  }
  const std::string history_out = absl::GetFlag(FLAGS_history_out);
  if (!history_out.empty()) {
    const std::string path =
        many ? absl::StrCat(history_out, ".", seed) : history_out;
    absl::Status written = checkers::WriteHistoryFile(path, result.history);
    if (!written.ok()) {
      problems.push_back("writing the history: " + written.ToString());
    }
  }
  const double simulated_s = result.simulated_ns / 1e9;
  const bool ok = problems.empty();
  std::lock_guard<std::mutex> lock(output_mutex);
  totals->simulated_s += simulated_s;
  totals->wall_s += wall_s;
  ok ? ++totals->passed : ++totals->failed;
  totals->moves_finished += result.meta_stats.moves_finished;
  totals->moves_abandoned += result.meta_stats.moves_abandoned;
  totals->recalls += result.tables_recalled;
  if (ok && absl::GetFlag(FLAGS_quiet)) return ok;
  std::cout << absl::StrFormat(
                   "%sseed=%d digest=%016x events=%d sim=%.1fs wall=%.3fs "
                   "speed=%.0fx ops=%d/%d/%d crashes=%d moves=%d/%d "
                   "recalls=%d faults=%s %s",
                   ok ? "" : "FAIL ", seed, result.digest, result.events,
                   simulated_s, wall_s, simulated_s / wall_s, result.ops_ok,
                   result.ops_failed, result.ops_unknown, result.crashes,
                   result.meta_stats.moves_finished,
                   result.meta_stats.moves_started, result.tables_recalled,
                   result.faults,
                   checkers::VerdictName(result.linearizability.verdict))
            << "\n";
  for (const std::string& note : result.notes) {
    std::cout << "  note: " << note << "\n";
  }
  if (!ok) {
    for (const std::string& problem : problems) {
      std::cout << "  violation: " << problem << "\n";
    }
    if (!result.linearizability.explanation.empty()) {
      std::istringstream lines(result.linearizability.explanation);
      std::string line;
      for (int i = 0; i < 40 && std::getline(lines, line); ++i) {
        std::cout << "    " << line << "\n";
      }
    }
    std::cout << "  replay: " << ReplayCommand(seed) << "\n";
  }
  std::cout.flush();
  return ok;
}

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs whole-cluster simulations, one line per seed; see "
      "docs/simulator.md.");
  absl::ParseCommandLine(argc, argv);
  SimulationOptions options;
  options.duration_ns =
      static_cast<int64_t>(absl::GetFlag(FLAGS_duration_s) * 1e9);
  options.servers = absl::GetFlag(FLAGS_servers);
  options.clients = absl::GetFlag(FLAGS_clients);
  options.partition_count = absl::GetFlag(FLAGS_partitions);
  options.workload.partition_count = options.partition_count;
  options.check_budget_ms = absl::GetFlag(FLAGS_check_budget_ms);
  auto usage_error = [](const std::string& message) {
    std::cerr << "simulate: " << message << "\n";
    return 2;
  };
  if (options.servers < 1 || options.clients < 0 ||
      options.partition_count < 1) {
    return usage_error(
        "--servers and --partitions must be >= 1, --clients >= 0");
  }
  if (options.duration_ns <= options.workload.timeout_ns) {
    return usage_error("--duration_s must exceed the client timeout (0.5 s)");
  }
  absl::StatusOr<FaultSelection> faults =
      ParseFaultSelection(absl::GetFlag(FLAGS_faults));
  if (!faults.ok()) return usage_error(std::string(faults.status().message()));
  options.faults = *faults;
  absl::StatusOr<PlantedBug> bug =
      ParsePlantedBug(absl::GetFlag(FLAGS_planted_bug));
  if (!bug.ok()) return usage_error(std::string(bug.status().message()));
  options.planted_bug = *bug;
  const std::string service = absl::GetFlag(FLAGS_service);
  if (service == "cluster" || (service.empty() && !IsSingleCopyBug(*bug))) {
    options.service = ServiceKind::kCluster;
  } else if (service == "single" || service.empty()) {
    options.service = ServiceKind::kSingleCopy;
  } else {
    return usage_error("--service wants 'cluster' or 'single', got '" +
                       service + "'");
  }
  if (options.service == ServiceKind::kCluster && IsSingleCopyBug(*bug)) {
    return usage_error("--planted_bug=" + absl::GetFlag(FLAGS_planted_bug) +
                       " is a bug of --service=single");
  }
  if (options.service == ServiceKind::kSingleCopy &&
      *bug != PlantedBug::kNone && !IsSingleCopyBug(*bug)) {
    return usage_error("--planted_bug=" + absl::GetFlag(FLAGS_planted_bug) +
                       " is a bug of --service=cluster");
  }
  if (const std::string path = absl::GetFlag(FLAGS_script); !path.empty()) {
    std::ifstream in(path);
    if (!in) return usage_error("cannot read --script " + path);
    std::stringstream text;
    text << in.rdbuf();
    options.script = text.str();
    absl::Status valid =
        ValidateScript(options.script, options.servers, options.service);
    if (!valid.ok()) return usage_error(std::string(valid.message()));
  }
  uint64_t first = absl::GetFlag(FLAGS_seed);
  uint64_t last = first;
  if (const std::string range = absl::GetFlag(FLAGS_seeds); !range.empty()) {
    std::vector<std::string> ends = absl::StrSplit(range, "..");
    if (ends.size() != 2 || !absl::SimpleAtoi(ends[0], &first) ||
        !absl::SimpleAtoi(ends[1], &last) || first > last) {
      return usage_error("--seeds wants 'A..B' with A <= B, got '" + range +
                         "'");
    }
  }
  Totals totals;
  const int jobs = std::max(1, absl::GetFlag(FLAGS_jobs));
  const auto start = std::chrono::steady_clock::now();
  // Seeds are handed out in order; each runs start to end on one thread.
  std::atomic<uint64_t> next{first};
  std::atomic<bool> done{false};
  auto worker = [&] {
    while (!done.load()) {
      const uint64_t seed = next.fetch_add(1);
      if (seed > last || seed < first) break;
      RunSeed(options, seed, first != last, &totals);
      if (seed == last) done.store(true);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 1; i < jobs; ++i) threads.emplace_back(worker);
  worker();
  for (std::thread& thread : threads) thread.join();
  const double elapsed_s = SecondsSince(start);
  std::cout << absl::StrFormat(
      "%d seeds: %d passed, %d failed; %.1f simulated s in %.1f wall s, "
      "%.0fx per job, %.0fx overall; balancer moves %d finished, %d "
      "abandoned; tables dropped and recalled %d times\n",
      totals.passed + totals.failed, totals.passed, totals.failed,
      totals.simulated_s, elapsed_s,
      totals.wall_s > 0 ? totals.simulated_s / totals.wall_s : 0.0,
      elapsed_s > 0 ? totals.simulated_s / elapsed_s : 0.0,
      totals.moves_finished, totals.moves_abandoned, totals.recalls);
  return totals.failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace pegasus::sim

int main(int argc, char** argv) { return pegasus::sim::Main(argc, argv); }
