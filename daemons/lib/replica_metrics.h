// A replica server's Prometheus metrics (docs/operations.md, "Metrics").

#ifndef DAEMONS_LIB_REPLICA_METRICS_H_
#define DAEMONS_LIB_REPLICA_METRICS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemons/lib/metrics_util.h"
#include "pegasus/net/grpc_transport.h"
#include "pegasus/proto/replication.pb.h"
#include "pegasus/replication/replica_host.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace pegasus::daemons {

// The counts behind the gauges and counters Refresh sets.
struct ReplicaServerSnapshot {
  std::vector<proto::ReplicaReport> reports;
  replication::ReplicaHostStats host;
  net::GrpcTransportStats links;
  uint64_t log_bytes = 0;
};

class ReplicaMetrics {
 public:
  ReplicaMetrics();

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // One answer to a client. Thread-safe.
  void Record(const replication::ClientAnswer& answer);
  // Brings the gauges and the mirrored counters up to `snapshot`.
  void Refresh(const ReplicaServerSnapshot& snapshot);

 private:
  struct Op {
    prometheus::Counter* requests = nullptr;
    prometheus::Counter* errors = nullptr;
    prometheus::Counter* bytes_in = nullptr;
    prometheus::Counter* bytes_out = nullptr;
    prometheus::Histogram* latency = nullptr;
  };

  const std::shared_ptr<prometheus::Registry> registry_;
  std::map<int, Op> ops_;  // By proto::DataRequest::OpCase.
  std::map<int, prometheus::Gauge*> replicas_;  // By ReplicaStatus.
  prometheus::Gauge* log_bytes_ = nullptr;
  std::mutex mirrors_mu_;
  std::map<std::string, CounterMirror> mirrors_;  // Guarded by mirrors_mu_.
};

// The bytes of every replica's log under `data_dir` (its plog/ files).
uint64_t LogBytes(const std::string& data_dir);

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_REPLICA_METRICS_H_
