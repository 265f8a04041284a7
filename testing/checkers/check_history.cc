// check_history FILE [--time_budget_ms=N]
//
// Checks a JSON-lines client history (docs/history_format.md) for
// linearizability and prints the verdict, what was checked and, when it is
// not a pass, why. Exit status: 0 linearizable, 1 not linearizable, 2 unknown
// (out of time, or a malformed operation), 3 bad input.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "testing/checkers/history.h"
#include "testing/checkers/linearizability.h"

ABSL_FLAG(int64_t, time_budget_ms, 10000,
          "Wall-clock budget for the whole check, in milliseconds; past it the "
          "verdict is unknown.");

namespace pegasus::checkers {
namespace {

constexpr int kExitBadInput = 3;

int ExitCode(Verdict verdict) {
  switch (verdict) {
    case Verdict::kLinearizable:
      return 0;
    case Verdict::kNotLinearizable:
      return 1;
    case Verdict::kUnknown:
      return 2;
  }
  return 2;
}

int Run(const std::string& path) {
  absl::StatusOr<std::vector<Operation>> history = ReadHistoryFile(path);
  if (!history.ok()) {
    std::fprintf(stderr, "check_history: %s\n", std::string(history.status().message()).c_str());
    return kExitBadInput;
  }
  const auto start = std::chrono::steady_clock::now();
  const CheckReport report =
      CheckLinearizability(*history, {.time_budget_ms = absl::GetFlag(FLAGS_time_budget_ms)});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("verdict: %s\n", VerdictName(report.verdict));
  std::printf("operations: %lld checked of %zu (failed ones left out)\n",
              static_cast<long long>(report.operations), history->size());
  std::printf("hashkeys: %lld\n", static_cast<long long>(report.hashkeys));
  std::printf("check time: %.3f s\n", seconds);
  if (!report.explanation.empty()) std::printf("\n%s", report.explanation.c_str());
  return ExitCode(report.verdict);
}

}  // namespace
}  // namespace pegasus::checkers

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "check_history FILE [--time_budget_ms=N]\n"
      "Checks a JSON-lines client history for linearizability. Exit status: 0 "
      "linearizable, 1 not linearizable, 2 unknown, 3 bad input.");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::fprintf(stderr, "usage: check_history FILE [--time_budget_ms=N]\n");
    return pegasus::checkers::kExitBadInput;
  }
  return pegasus::checkers::Run(args[1]);
}
