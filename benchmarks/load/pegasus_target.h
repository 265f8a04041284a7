// The load tool's targets on Pegasus: the daemons (through the C++ client
// over gRPC) and a cluster inside this process (InProcessCluster).

#ifndef BENCHMARKS_LOAD_PEGASUS_TARGET_H_
#define BENCHMARKS_LOAD_PEGASUS_TARGET_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "benchmarks/load/target.h"

namespace pegasus::load {

struct PegasusTargetOptions {
  // The meta server's address, for the daemons; empty: an in-process
  // cluster in `data_dir`.
  std::string meta;
  std::string data_dir;
  std::string table = "temp";
  // Clients (each its own strand and links) the load clients share, round
  // robin.
  int clients = 2;
  int64_t timeout_ms = 5000;
};

absl::StatusOr<std::unique_ptr<Target>> OpenPegasus(
    const PegasusTargetOptions& options);

}  // namespace pegasus::load

#endif  // BENCHMARKS_LOAD_PEGASUS_TARGET_H_
