#include "daemons/lib/replica_daemon.h"

#include <utility>

#include "daemons/lib/daemon_core.h"
#include "daemons/lib/replica_metrics.h"
#include "daemons/lib/replica_service.h"
#include "daemons/lib/run_on.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"
#include "pegasus/net/address.h"
#include "pegasus/net/grpc_transport.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/runtime/thread_pool.h"
#include "pegasus/storage/rocksdb/rocksdb_engine.h"
#include "spdlog/spdlog.h"

namespace pegasus::daemons {
namespace {

constexpr uint64_t kHostStrand = DaemonCore::kNetworkStrand;

}  // namespace

// Members in the order they are built; the destructor takes them down in
// the order docs/operations.md gives ("Stopping").
struct ReplicaDaemon::State {
  ReplicaDaemonOptions options;
  ReplicaMetrics metrics;
  ReplicaService service;
  DaemonCore core;
  // The shared log's own thread: its syncs block it, and nothing else.
  ThreadPool log_thread{ThreadPoolOptions{.threads = 1}};
  SeededRandom random{static_cast<uint64_t>(RealClock()->WallNowUs())};
  std::unique_ptr<replication::ReplicaHost> host;

  absl::Status Start();
  ReplicaServerSnapshot Snapshot();
  ~State();
};

absl::Status ReplicaDaemon::State::Start() {
  absl::StatusOr<NodeId> meta = net::ParseServerAddress(options.meta);
  if (!meta.ok()) return meta.status();
  PEGASUS_RETURN_IF_ERROR(core.Start(options.listen, options.data_dir,
                                     options.threads, &service,
                                     "pegasus.proto.Replica"));
  replication::ReplicaHostOptions host_options = options.host;
  host_options.self = core.self();
  host_options.meta = *meta;
  ThreadPool* threads = core.pool();
  host_options.env = replication::HostEnv{
      RealClock(),
      threads->Strand(kHostStrand),
      core.transport(),
      PosixFileSystem(),
      &random,
      [threads](Gpid gpid) {
        return threads->StrandOffWorkerZero(replication::StrandKeyOf(gpid));
      },
      log_thread.Strand(0)};
  host_options.data_dir = options.data_dir;
  host_options.open_engine = [](const std::string& dir) {
    return OpenRocksDbEngine(dir, RocksDbEngineOptions());
  };
  host_options.on_client_answer =
      [this](const replication::ClientAnswer& answer) {
        metrics.Record(answer);
      };
  host_options.on_fatal = [](Gpid gpid, const absl::Status& status) {
    spdlog::error("replica {} stopped: {}", gpid.ToString(), status.ToString());
  };
  // Without a timeout, RunOn always has the answer.
  PEGASUS_ASSIGN_OR_RETURN(
      host, *RunOn<absl::StatusOr<std::unique_ptr<replication::ReplicaHost>>>(
                threads->Strand(kHostStrand),
                [&] { return replication::ReplicaHost::Start(host_options); }));
  service.Attach(host.get());
  return core.Serve(options.http_port,
                    [this] { return metrics.Collect(Snapshot()); });
}

ReplicaServerSnapshot ReplicaDaemon::State::Snapshot() {
  ReplicaServerSnapshot snapshot;
  replication::ReplicaHost* h = host.get();
  std::optional<std::vector<proto::ReplicaReport>> reports =
      RunOn<std::vector<proto::ReplicaReport>>(
          core.pool()->Strand(kHostStrand), [h] { return h->Reports(); },
          absl::Seconds(1));
  if (reports.has_value()) snapshot.reports = std::move(*reports);
  snapshot.host = host->stats();
  snapshot.links = core.transport()->stats();
  snapshot.log_bytes = LogBytes(options.data_dir);
  return snapshot;
}

ReplicaDaemon::State::~State() {
  core.StopServing();
  log_thread.Shutdown();
  service.Detach();
  // Closes every replica's log and storage; clients still waiting are
  // answered UNAVAILABLE as their replies are destroyed.
  host.reset();
  core.Finish();
}

absl::StatusOr<std::unique_ptr<ReplicaDaemon>> ReplicaDaemon::Start(
    ReplicaDaemonOptions options) {
  auto state = std::make_unique<State>();
  state->options = std::move(options);
  PEGASUS_RETURN_IF_ERROR(state->Start());
  return std::unique_ptr<ReplicaDaemon>(new ReplicaDaemon(std::move(state)));
}

ReplicaDaemon::ReplicaDaemon(std::unique_ptr<State> state)
    : state_(std::move(state)) {}

ReplicaDaemon::~ReplicaDaemon() = default;

NodeId ReplicaDaemon::self() const { return state_->core.self(); }

int ReplicaDaemon::http_port() const { return state_->core.http_port(); }

}  // namespace pegasus::daemons
