#include "daemons/lib/meta_daemon.h"

#include <map>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "daemons/lib/daemon_core.h"
#include "daemons/lib/meta_metrics.h"
#include "daemons/lib/meta_service.h"
#include "daemons/lib/run_on.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/local_file_meta_store.h"
#include "pegasus/meta/meta_server.h"
#include "pegasus/net/grpc_transport.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/runtime/thread_pool.h"
#include "spdlog/spdlog.h"

namespace pegasus::daemons {
namespace {

constexpr uint64_t kStrand = DaemonCore::kNetworkStrand;

// Gathers a snapshot on the meta server's strand: the cluster, then each
// table's health, each an admin request answered there.
struct Gather : std::enable_shared_from_this<Gather> {
  MetaServer* server = nullptr;
  absl::Mutex mu;
  MetaServerSnapshot snapshot;
  int pending = 0;
  bool done = false;

  void Start() {
    snapshot.stats = server->core().stats();
    proto::AdminRequest cluster;
    cluster.mutable_cluster_info();
    Ask(cluster, [](Gather& g, proto::AdminResponse& answer) {
      g.snapshot.cluster = answer.cluster_info();
    });
    proto::AdminRequest tables;
    tables.mutable_list_tables();
    Ask(tables, [](Gather& g, proto::AdminResponse& answer) {
      for (const proto::TableInfo& table : answer.list_tables().tables()) {
        proto::AdminRequest health;
        health.mutable_table_health()->set_name(table.name());
        g.Ask(health,
              [name = table.name()](Gather& h, proto::AdminResponse& reply) {
                h.snapshot.tables.emplace_back(name, reply.table_health());
              });
      }
    });
  }

  template <typename Take>
  void Ask(const proto::AdminRequest& request, Take take) {
    ++pending;
    server->Admin(request, [self = shared_from_this(),
                            take](proto::AdminResponse answer) {
      if (answer.error() == 0) take(*self, answer);
      if (--self->pending == 0) {
        absl::MutexLock lock(&self->mu);
        self->done = true;
      }
    });
  }
};

}  // namespace

struct MetaDaemon::State {
  MetaDaemonOptions options;
  MetaMetrics metrics;
  MetaService service;
  DaemonCore core;
  SeededRandom random{static_cast<uint64_t>(RealClock()->WallNowUs())};
  std::unique_ptr<LocalFileMetaStore> store;
  std::unique_ptr<MetaServer> server;

  // The replica servers' liveness at the last look, for the log.
  std::map<uint64_t, bool> alive;

  absl::Status Start();
  MetaServerSnapshot Snapshot();
  // Logs each replica server that the meta server starts or stops counting
  // alive, looking every 500 ms; on the strand.
  void WatchNodes();
  ~State();
};

absl::Status MetaDaemon::State::Start() {
  PEGASUS_RETURN_IF_ERROR(core.Start(options.listen, options.data_dir,
                                     options.threads, &service,
                                     "pegasus.proto.Meta"));
  Executor* strand = core.pool()->Strand(kStrand);
  PEGASUS_ASSIGN_OR_RETURN(
      store,
      LocalFileMetaStore::Open(PosixFileSystem(), options.data_dir, strand));
  MetaServerOptions server_options;
  server_options.env = {RealClock(), strand, core.transport(), &random};
  server_options.meta = options.meta;
  server_options.store = store.get();
  server_options.initial_tables = options.initial_tables;
  std::optional<absl::StatusOr<std::unique_ptr<MetaServer>>> started =
      RunOn<absl::StatusOr<std::unique_ptr<MetaServer>>>(
          strand, [&] { return MetaServer::Start(server_options); });
  if (!started->ok()) return started->status();
  server = *std::move(*started);
  service.Attach(server.get(), strand);
  strand->Post([this] { WatchNodes(); });
  return core.Serve(options.http_port, metrics.registry(),
                    [this] { metrics.Refresh(Snapshot()); });
}

MetaServerSnapshot MetaDaemon::State::Snapshot() {
  auto gather = std::make_shared<Gather>();
  gather->server = server.get();
  core.pool()->Strand(kStrand)->Post([gather] { gather->Start(); });
  MetaServerSnapshot snapshot;
  absl::MutexLock lock(&gather->mu);
  // Past the timeout the strand may still be filling it in: none of it.
  if (gather->mu.AwaitWithTimeout(absl::Condition(&gather->done),
                                  absl::Seconds(2))) {
    snapshot = gather->snapshot;
  }
  snapshot.links = core.transport()->stats();
  return snapshot;
}

void MetaDaemon::State::WatchNodes() {
  proto::AdminRequest request;
  request.mutable_list_nodes();
  server->Admin(request, [this](proto::AdminResponse answer) {
    for (const proto::NodeInfo& node : answer.list_nodes().nodes()) {
      auto [it, added] = alive.emplace(node.node(), node.alive());
      if (!added && it->second == node.alive()) continue;
      it->second = node.alive();
      if (node.alive()) {
        spdlog::info("replica server {} is alive",
                     NodeId{node.node()}.ToString());
      } else {
        spdlog::warn("replica server {} is declared dead: its partitions move",
                     NodeId{node.node()}.ToString());
      }
    }
    core.pool()->Strand(kStrand)->ScheduleAfter(500'000'000,
                                                [this] { WatchNodes(); });
  });
}

MetaDaemon::State::~State() {
  core.StopServing();
  service.Detach();
  server.reset();
  store.reset();
  core.Finish();
}

absl::StatusOr<std::unique_ptr<MetaDaemon>> MetaDaemon::Start(
    MetaDaemonOptions options) {
  auto state = std::make_unique<State>();
  state->options = std::move(options);
  PEGASUS_RETURN_IF_ERROR(state->Start());
  return std::unique_ptr<MetaDaemon>(new MetaDaemon(std::move(state)));
}

MetaDaemon::MetaDaemon(std::unique_ptr<State> state)
    : state_(std::move(state)) {}

MetaDaemon::~MetaDaemon() = default;

NodeId MetaDaemon::self() const { return state_->core.self(); }

int MetaDaemon::http_port() const { return state_->core.http_port(); }

}  // namespace pegasus::daemons
