// The search for a linearization of one hashkey's operations (Wing & Gong,
// with Lowe's memoization), as described in docs/history_format.md.
//
// Thread-compatible: the function keeps all its state on its own stack.

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
  // it chose to linearize).
  std::vector<int> longest_prefix;
  int64_t steps = 0;          // Operations tried.
  int64_t cache_entries = 0;  // (linearized set, state) pairs explored.
};

// How often, in steps, the search reads the clock.
inline constexpr int64_t kStepsPerClockRead = 4096;

// Searches for a linearization of `ops`: all name one hashkey, none has
// result kFailed, each passes ValidateOperation(). Stops with kOutOfTime once
// the clock, read every kStepsPerClockRead steps, passes `deadline`.
SearchResult SearchLinearization(const std::vector<const Operation*>& ops,
                                 std::chrono::steady_clock::time_point deadline);

}  // namespace pegasus::checkers::internal

#endif  // PEGASUS_TESTING_CHECKERS_INTERNAL_WGL_SEARCH_H_
