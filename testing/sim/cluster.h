// The replicated cluster inside the simulator: a meta server process
// (MetaCore over an in-memory store whose medium outlives crashes) and
// replica server processes (ReplicaHost over the memory engine on the
// process's simulated disk), and the routing clients use to find a
// partition's primary.

#ifndef PEGASUS_TESTING_SIM_CLUSTER_H_
#define PEGASUS_TESTING_SIM_CLUSTER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/meta/meta_server.h"
#include "pegasus/meta/meta_store.h"
#include "pegasus/proto/replication.pb.h"
#include "pegasus/replication/replica_host.h"
#include "pegasus/runtime/rpc.h"
#include "testing/sim/process.h"

namespace pegasus::sim {

struct TableSpec {
  std::string name = "temp";
  int32_t partition_count = 8;
  int32_t replica_count = 3;
};

struct MetaServiceOptions {
  MetaOptions meta;
  // Created when the meta server first starts (ids 1, 2, ... in order).
  std::vector<TableSpec> tables;
  // How often the core is ticked.
  int64_t tick_interval_ns = 100'000'000;
  // What the meta server persists; shared across its incarnations.
  std::shared_ptr<InMemoryMetaStore::Medium> medium;
};

// The meta server in a simulated process: a MetaServer over an in-memory
// store whose medium outlives crashes.
class MetaService final : public Service {
 public:
  static absl::StatusOr<std::unique_ptr<MetaService>> Start(
      const ProcessEnv& env, const MetaServiceOptions& options);

  const MetaCore& core() const { return server_->core(); }
  // An operator's admin request on the meta host (MetaServer::Admin).
  void Admin(const proto::AdminRequest& request, MetaServer::AdminDone done) {
    server_->Admin(request, std::move(done));
  }

 private:
  MetaService() = default;

  std::unique_ptr<InMemoryMetaStore> store_;
  std::unique_ptr<MetaServer> server_;
};

// A replica host's seams from a process's: each replica on a strand of
// its own, whose key StrandKeyOf gives.
// The shared log's strand: a key no gpid's StrandKeyOf gives (app -1).
inline constexpr uint64_t kLogStrandKey = ~uint64_t{0};
replication::HostEnv ReplicaHostEnv(const ProcessEnv& env);
using replication::StrandKeyOf;
inline Gpid GpidOfStrandKey(uint64_t key) {
  return Gpid{static_cast<int32_t>(key >> 32),
              static_cast<int32_t>(key & 0xffffffffu)};
}

class ReplicaServerService final : public Service {
 public:
  static absl::StatusOr<std::unique_ptr<ReplicaServerService>> Start(
      const ProcessEnv& env, replication::ReplicaHostOptions options);

  const replication::ReplicaHost& host() const { return *host_; }

 private:
  std::unique_ptr<replication::ReplicaHost> host_;
};

}  // namespace pegasus::sim

#endif  // PEGASUS_TESTING_SIM_CLUSTER_H_
