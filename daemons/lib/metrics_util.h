// Metric families built from figures read at each scrape. They keep no
// state: a counter's value is a total kept elsewhere (a stats struct), a
// gauge's is what is now.

#ifndef DAEMONS_LIB_METRICS_UTIL_H_
#define DAEMONS_LIB_METRICS_UTIL_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "pegasus/net/grpc_transport.h"
#include "prometheus/metric_family.h"

namespace pegasus::daemons {

using Families = std::vector<prometheus::MetricFamily>;
using Labels = std::vector<prometheus::ClientMetric::Label>;

// A family of `type` (counter or gauge) with no samples yet.
prometheus::MetricFamily Family(std::string name, std::string help,
                                prometheus::MetricType type);
// Adds a sample of `value` with `labels` (in the order given).
void AddSample(prometheus::MetricFamily& family, double value,
               Labels labels = {});

// A counter family with one sample, for each figure, in the order given.
struct CounterFigure {
  const char* name;
  const char* help;
  uint64_t value;
};
void AddCounters(std::initializer_list<CounterFigure> figures, Families& out);

// The links' counters, which every daemon serves.
void AddLinkFamilies(const net::GrpcTransportStats& links, Families& out);

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_METRICS_UTIL_H_
