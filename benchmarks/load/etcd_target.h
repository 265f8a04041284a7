// The load tool's target on etcd v3: Put and linearizable Range over its
// gRPC KV API, sessions spread over the cluster's members.

#ifndef BENCHMARKS_LOAD_ETCD_TARGET_H_
#define BENCHMARKS_LOAD_ETCD_TARGET_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmarks/load/target.h"

namespace pegasus::load {

// `endpoints`: the members' "host:port" (gRPC), comma-separated;
// `channels` connections to each, shared by the sessions round robin.
absl::StatusOr<std::unique_ptr<Target>> OpenEtcd(const std::string& endpoints,
                                                 int channels,
                                                 int64_t timeout_ms);

}  // namespace pegasus::load

#endif  // BENCHMARKS_LOAD_ETCD_TARGET_H_
