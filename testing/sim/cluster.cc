#include "testing/sim/cluster.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/replication/wire.h"

namespace pegasus::sim {
// --- MetaService -------------------------------------------------------------

absl::StatusOr<std::unique_ptr<MetaService>> MetaService::Start(
    const ProcessEnv& env, const MetaServiceOptions& options) {
  PEGASUS_CHECK(options.medium != nullptr);
  std::unique_ptr<MetaService> service(new MetaService());
  service->store_ =
      std::make_unique<InMemoryMetaStore>(env.executor, options.medium);
  MetaServerOptions server;
  server.env = {env.clock, env.executor, env.transport, env.random};
  server.meta = options.meta;
  server.store = service->store_.get();
  server.tick_interval_ns = options.tick_interval_ns;
  for (const TableSpec& table : options.tables) {
    proto::CreateTableRequest create;
    create.set_name(table.name);
    create.set_partition_count(table.partition_count);
    create.set_replica_count(table.replica_count);
    server.initial_tables.push_back(std::move(create));
  }
  PEGASUS_ASSIGN_OR_RETURN(service->server_, MetaServer::Start(server));
  return service;
}

// --- ReplicaServerService -------------------------------------------------

replication::HostEnv ReplicaHostEnv(const ProcessEnv& env) {
  return replication::HostEnv{
      env.clock,
      env.executor,
      env.transport,
      env.file_system,
      env.random,
      [strand = env.strand](Gpid gpid) { return strand(StrandKeyOf(gpid)); },
      env.strand(kLogStrandKey),
  };
}

absl::StatusOr<std::unique_ptr<ReplicaServerService>>
ReplicaServerService::Start(const ProcessEnv& env,
                            replication::ReplicaHostOptions options) {
  options.self = env.self;
  options.env = ReplicaHostEnv(env);
  auto fail_stop = env.fail_stop;
  options.check_invariants = true;
  // Often, so that runs collect logs and learn from checkpoints.
  options.checkpoint_interval_ns = 2'000'000'000;
  options.on_fatal = [fail_stop](Gpid gpid, const absl::Status& status) {
    // The simulator restarts the node: a replica's failure stops its whole
    // server, which is the simplest fail-stop there is.
    fail_stop(
        absl::StrCat("replica ", gpid.ToString(), ": ", status.ToString()));
  };
  std::unique_ptr<ReplicaServerService> service(new ReplicaServerService());
  PEGASUS_ASSIGN_OR_RETURN(service->host_,
                           replication::ReplicaHost::Start(options));
  return service;
}

}  // namespace pegasus::sim
