// generate_history FILE [--operations=N] [--hashkeys=N] [--clients_per_hashkey=N]
//     [--sortkeys_per_hashkey=N] [--distinct_values=N] [--unknown_fraction=F]
//     [--seed=N] [--corrupt_read=K]
//
// Writes a random history that is linearizable by construction (see
// history_generator.h), or, with --corrupt_read, one where an ok read
// returns a value nothing wrote: input for measuring and trying
// check_history.

#include <cstdint>
#include <cstdio>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "testing/checkers/history.h"
#include "testing/checkers/history_generator.h"

ABSL_FLAG(int64_t, operations, 20000, "Operations in the history.");
ABSL_FLAG(int32_t, hashkeys, 100, "Hashkeys the operations spread over.");
ABSL_FLAG(int32_t, clients_per_hashkey, 8, "Most concurrent operations per hashkey.");
ABSL_FLAG(int32_t, distinct_values, 5, "Distinct values written (few make reads ambiguous).");
ABSL_FLAG(int32_t, sortkeys_per_hashkey, 4, "Sortkeys per hashkey.");
ABSL_FLAG(double, unknown_fraction, 0.02, "Share of operations with an unknown result.");
ABSL_FLAG(uint64_t, seed, 1, "Random seed.");
ABSL_FLAG(int64_t, corrupt_read, -1,
          "When >= 0, the ok read with this number (in completion order) returns a "
          "value nothing wrote.");

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    std::fprintf(stderr, "usage: generate_history FILE [--operations=N] ...\n");
    return 2;
  }
  pegasus::checkers::GeneratorOptions options;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.operations = absl::GetFlag(FLAGS_operations);
  options.hashkeys = absl::GetFlag(FLAGS_hashkeys);
  options.clients_per_hashkey = absl::GetFlag(FLAGS_clients_per_hashkey);
  options.unknown_fraction = absl::GetFlag(FLAGS_unknown_fraction);
  options.distinct_values = absl::GetFlag(FLAGS_distinct_values);
  options.sortkeys_per_hashkey = absl::GetFlag(FLAGS_sortkeys_per_hashkey);
  std::vector<pegasus::checkers::Operation> history =
      pegasus::checkers::GenerateLinearizableHistory(options);
  int64_t reads = 0;
  for (pegasus::checkers::Operation& op : history) {
    if (op.read.empty() || reads++ != absl::GetFlag(FLAGS_corrupt_read)) continue;
    op.read[0] = "never written";
  }
  absl::Status status = pegasus::checkers::WriteHistoryFile(args[1], history);
  if (!status.ok()) {
    std::fprintf(stderr, "generate_history: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
