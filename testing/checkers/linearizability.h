// A linearizability checker for key-value histories.
//
// The history is split by hashkey (operations on different hashkeys never
// interact, since every operation names one hashkey) and each part is searched
// for a linearization in the Wing-Gong family with Lowe's memoization: a
// depth-first search over the call/return order that caches (set of
// linearized operations, model state) pairs already explored.
//
// Operations with result kFailed are left out (they took no effect). An
// operation with result kUnknown may take effect at any point after its call,
// or never; its outputs are not checked.
//
// The search is exponential in the worst case, so it has a time budget: a
// part not decided within it makes the verdict kUnknown, never a pass. So
// does an operation that fails ValidateOperation().

#ifndef PEGASUS_TESTING_CHECKERS_LINEARIZABILITY_H_
#define PEGASUS_TESTING_CHECKERS_LINEARIZABILITY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "testing/checkers/history.h"

namespace pegasus::checkers {

enum class Verdict { kLinearizable, kNotLinearizable, kUnknown };

const char* VerdictName(Verdict verdict);

struct CheckOptions {
  // Wall-clock budget for the whole history, in milliseconds.
  int64_t time_budget_ms = 10000;
};

struct CheckReport {
  Verdict verdict = Verdict::kLinearizable;
  int64_t operations = 0;  // Operations checked (kFailed ones excluded).
  int64_t hashkeys = 0;    // Parts the history was split into.
  // For kNotLinearizable (or kUnknown): the first hashkey that failed (or ran
  // out of time), and a readable account of why: its operations and the
  // longest prefix the search could linearize.
  std::string hashkey;
  std::string explanation;
};

CheckReport CheckLinearizability(const std::vector<Operation>& history,
                                 const CheckOptions& options = {});

}  // namespace pegasus::checkers

#endif  // PEGASUS_TESTING_CHECKERS_LINEARIZABILITY_H_
