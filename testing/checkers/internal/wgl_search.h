// The search for a linearization of one hashkey's operations: Wing & Gong's
// depth-first search over the call/return list, with Lowe's memoization of
// the (linearized set, state) nodes already explored. docs/history_format.md
// describes it for users.
//
// Thread-compatible: each call keeps all its state to itself.

#ifndef PEGASUS_TESTING_CHECKERS_INTERNAL_WGL_SEARCH_H_
#define PEGASUS_TESTING_CHECKERS_INTERNAL_WGL_SEARCH_H_

#include <chrono>
#include <cstdint>
#include <vector>

#include "testing/checkers/history.h"

namespace pegasus::checkers::internal {

enum class SearchOutcome { kLinearizable, kNotLinearizable, kOutOfTime };

struct SearchResult {
  SearchOutcome outcome = SearchOutcome::kLinearizable;
  // The deepest the search got: indices into `ops` in the order they were
  // linearized. For kLinearizable, every ok operation (and the unknown ones
  // the linearization uses).
  std::vector<int> longest_prefix;
  int64_t steps = 0;     // Entries of the call/return list visited.
  int64_t explored = 0;  // Nodes explored.
};

// Steps each search order takes between clock reads.
inline constexpr int64_t kStepsPerRound = 4096;

// Searches for a linearization of `ops`: all name one hashkey, none has
// result kFailed, each passes ValidateOperation(). Stops with kOutOfTime
// once the clock, read every round, is past `deadline`. Deterministic apart
// from where it stops for time.
SearchResult SearchLinearization(const std::vector<const Operation*>& ops,
                                 std::chrono::steady_clock::time_point deadline);

}  // namespace pegasus::checkers::internal

#endif  // PEGASUS_TESTING_CHECKERS_INTERNAL_WGL_SEARCH_H_
