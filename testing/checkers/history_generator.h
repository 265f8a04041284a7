// Random client histories with a known answer, and a reference sequential
// store and brute-force checker written independently of the checker, for
// testing and measuring the checker.
//
// Thread-compatible: pure functions of their arguments.

#ifndef PEGASUS_TESTING_CHECKERS_HISTORY_GENERATOR_H_
#define PEGASUS_TESTING_CHECKERS_HISTORY_GENERATOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "testing/checkers/history.h"

namespace pegasus::checkers {

struct GeneratorOptions {
  uint64_t seed = 1;
  int64_t operations = 1000;
  int hashkeys = 10;
  int sortkeys_per_hashkey = 4;
  // Clients per hashkey, each with one operation in flight at a time: the
  // most operations ever concurrent on one hashkey.
  int clients_per_hashkey = 4;
  // Values written come from a small set of integers, non-integers and the
  // empty string, so reads are ambiguous and incr sometimes fails.
  int distinct_values = 5;
  // Share of operations whose client gives up (result kUnknown); each takes
  // effect, at a random point after its call, or never, with equal odds.
  double unknown_fraction = 0.05;
  // Operation durations and gaps between a client's operations, in ns.
  int64_t max_duration_ns = 100;
  int64_t max_gap_ns = 50;
};

// A history that is linearizable by construction: each operation takes
// effect at a random point inside its interval, and its outputs come from
// running the reference store in that order. Operations the store rejects
// there get result kFailed. One multi_get_range in five is cut short (its
// first rows, incomplete). Lines are in completion (return) order.
std::vector<Operation> GenerateLinearizableHistory(const GeneratorOptions& options);

// One hashkey's rows: sortkey -> value.
using ReferenceRow = std::map<std::string, std::string>;

// Runs `op` against `row` as the store would, writing its outputs into `op`
// (read, new_value, check_succeeded, check_value, read_sortkeys, count,
// exists); a multi_get_range gets every row of its range, complete. False,
// with `row` unchanged, when the store rejects it (incr of a non-integer or
// past int64, an int check on a non-integer).
bool ExecuteReference(ReferenceRow* row, Operation* op);

// Whether some order of the history's operations, consistent with real time
// (a precedes b when a returned before b was called), explains every output
// (an incomplete multi_get_range's rows: the first rows of its range):
// tries all such orders, with no pruning beyond that. For small histories.
bool BruteForceLinearizable(const std::vector<Operation>& history);

}  // namespace pegasus::checkers

#endif  // PEGASUS_TESTING_CHECKERS_HISTORY_GENERATOR_H_
