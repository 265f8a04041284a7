// Pieces the daemons' metrics share.

#ifndef DAEMONS_LIB_METRICS_UTIL_H_
#define DAEMONS_LIB_METRICS_UTIL_H_

#include <cstdint>

#include "prometheus/counter.h"

namespace pegasus::daemons {

// A Prometheus counter that mirrors a total kept elsewhere (a stats
// struct): Set adds what the total gained since the last Set.
struct CounterMirror {
  prometheus::Counter* counter = nullptr;
  uint64_t seen = 0;

  void Set(uint64_t total) {
    if (total > seen) counter->Increment(static_cast<double>(total - seen));
    seen = total;
  }
};

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_METRICS_UTIL_H_
