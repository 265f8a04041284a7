// A meta server's Prometheus metrics (docs/operations.md, "Metrics").

#ifndef DAEMONS_LIB_META_METRICS_H_
#define DAEMONS_LIB_META_METRICS_H_

#include <string>
#include <utility>
#include <vector>

#include "daemons/lib/metrics_util.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/net/grpc_transport.h"
#include "pegasus/proto/meta.pb.h"

namespace pegasus::daemons {

struct MetaServerSnapshot {
  MetaStats stats;
  proto::ClusterInfoResponse cluster;
  // Each available table's name and partitions' health.
  std::vector<std::pair<std::string, proto::TableHealthResponse>> tables;
  net::GrpcTransportStats links;
};

// The metrics of `snapshot`.
Families MetaFamilies(const MetaServerSnapshot& snapshot);

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_META_METRICS_H_
