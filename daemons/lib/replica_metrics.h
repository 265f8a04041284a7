// A replica server's Prometheus metrics (docs/operations.md, "Metrics").

#ifndef DAEMONS_LIB_REPLICA_METRICS_H_
#define DAEMONS_LIB_REPLICA_METRICS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemons/lib/metrics_util.h"
#include "pegasus/net/grpc_transport.h"
#include "pegasus/proto/replication.pb.h"
#include "pegasus/replication/replica_host.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace pegasus::daemons {

// The figures a scrape reads.
struct ReplicaServerSnapshot {
  std::vector<proto::ReplicaReport> reports;
  replication::ReplicaHostStats host;
  net::GrpcTransportStats links;
  uint64_t log_bytes = 0;
};

class ReplicaMetrics {
 public:
  ReplicaMetrics();

  // One answer to a client. Thread-safe.
  void Record(const replication::ClientAnswer& answer);
  // Every metric: the requests recorded, and `snapshot`'s figures.
  Families Collect(const ReplicaServerSnapshot& snapshot) const;

 private:
  struct Op {
    prometheus::Counter* requests = nullptr;
    prometheus::Counter* errors = nullptr;
    prometheus::Counter* bytes_in = nullptr;
    prometheus::Counter* bytes_out = nullptr;
    prometheus::Histogram* latency = nullptr;
  };

  // The requests' counters and histograms.
  const std::shared_ptr<prometheus::Registry> registry_;
  std::map<int, Op> ops_;  // By proto::DataRequest::OpCase.
};

// The bytes of the server's shared log under `data_dir` (its slog/ files).
uint64_t LogBytes(const std::string& data_dir);

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_REPLICA_METRICS_H_
