#include "daemons/lib/meta_daemon.h"

#include <map>
#include <utility>

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

// The meta server's figures for the metrics. On its strand.
MetaServerSnapshot Gather(const MetaServer& server) {
  MetaServerSnapshot snapshot;
  snapshot.stats = server.core().stats();
  proto::AdminRequest request;
  request.mutable_cluster_info();
  if (auto answer = server.Query(request); answer.ok()) {
    snapshot.cluster = answer->cluster_info();
  }
  request.mutable_list_tables();
  absl::StatusOr<proto::AdminResponse> tables = server.Query(request);
  if (!tables.ok()) return snapshot;
  for (const proto::TableInfo& table : tables->list_tables().tables()) {
    request.mutable_table_health()->set_name(table.name());
    if (auto health = server.Query(request); health.ok()) {
      snapshot.tables.emplace_back(table.name(), health->table_health());
    }
  }
  return snapshot;
}

}  // namespace

struct MetaDaemon::State {
  MetaDaemonOptions options;
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
  // Without a timeout, RunOn always has the answer.
  PEGASUS_ASSIGN_OR_RETURN(
      server, *RunOn<absl::StatusOr<std::unique_ptr<MetaServer>>>(
                  strand, [&] { return MetaServer::Start(server_options); }));
  service.Attach(server.get(), strand);
  strand->Post([this] { WatchNodes(); });
  return core.Serve(options.http_port,
                    [this] { return MetaFamilies(Snapshot()); });
}

MetaServerSnapshot MetaDaemon::State::Snapshot() {
  const MetaServer* meta = server.get();
  MetaServerSnapshot snapshot =
      RunOn<MetaServerSnapshot>(
          core.pool()->Strand(kStrand), [meta] { return Gather(*meta); },
          absl::Seconds(2))
          .value_or(MetaServerSnapshot());
  snapshot.links = core.transport()->stats();
  return snapshot;
}

void MetaDaemon::State::WatchNodes() {
  proto::AdminRequest request;
  request.mutable_list_nodes();
  if (absl::StatusOr<proto::AdminResponse> answer = server->Query(request);
      answer.ok()) {
    for (const proto::NodeInfo& node : answer->list_nodes().nodes()) {
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
  }
  core.pool()->Strand(kStrand)->ScheduleAfter(500'000'000,
                                              [this] { WatchNodes(); });
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
