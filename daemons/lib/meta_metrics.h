// A meta server's Prometheus metrics (docs/operations.md, "Metrics").

#ifndef DAEMONS_LIB_META_METRICS_H_
#define DAEMONS_LIB_META_METRICS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemons/lib/metrics_util.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/net/grpc_transport.h"
#include "pegasus/proto/meta.pb.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace pegasus::daemons {

struct MetaServerSnapshot {
  MetaStats stats;
  proto::ClusterInfoResponse cluster;
  // Each available table's name and partitions' health.
  std::vector<std::pair<std::string, proto::TableHealthResponse>> tables;
  net::GrpcTransportStats links;
};

class MetaMetrics {
 public:
  MetaMetrics();

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  // Brings every metric up to `snapshot`. Thread-safe.
  void Refresh(const MetaServerSnapshot& snapshot);

 private:
  const std::shared_ptr<prometheus::Registry> registry_;
  std::mutex mu_;
  prometheus::Family<prometheus::Gauge>* partitions_ = nullptr;
  // The table gauges set at the last refresh, to remove a table's once it
  // is gone.
  std::map<std::pair<std::string, std::string>, prometheus::Gauge*>
      table_gauges_;
  prometheus::Gauge* alive_nodes_ = nullptr;
  prometheus::Gauge* dead_nodes_ = nullptr;
  prometheus::Gauge* level_ = nullptr;
  std::map<std::string, CounterMirror> mirrors_;
};

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_META_METRICS_H_
