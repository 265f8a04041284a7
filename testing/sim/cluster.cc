#include "testing/sim/cluster.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/replication/wire.h"

namespace pegasus::sim {
namespace {

using replication::kBeaconMethod;
using replication::kConfigProposalMethod;
using replication::kConfigSyncMethod;
using replication::kConfigUpdateMethod;
using replication::kQueryConfigMethod;

}  // namespace

// --- MetaService -------------------------------------------------------------

MetaService::MetaService(const ProcessEnv& env,
                         const MetaServiceOptions& options)
    : env_(env),
      options_(options),
      rpc_(env.transport, env.executor, env.random->Next64() | 1) {}

MetaService::~MetaService() {
  if (tick_timer_ != kNoTimer) env_.executor->Cancel(tick_timer_);
}

absl::StatusOr<std::unique_ptr<MetaService>> MetaService::Start(
    const ProcessEnv& env, const MetaServiceOptions& options) {
  PEGASUS_CHECK(options.medium != nullptr);
  std::unique_ptr<MetaService> service(new MetaService(env, options));
  service->store_ =
      std::make_unique<InMemoryMetaStore>(env.executor, options.medium);
  PEGASUS_ASSIGN_OR_RETURN(service->core_, MetaCore::Create(options.meta));
  PEGASUS_ASSIGN_OR_RETURN(auto stored, service->store_->LoadAll());
  const bool fresh = stored.empty();
  PEGASUS_RETURN_IF_ERROR(service->core_->Recover(stored, service->now_ns()));
  if (fresh) {
    for (const TableSpec& table : options.tables) {
      PEGASUS_RETURN_IF_ERROR(
          service->core_->CreateTable(table.app_id, table.partition_count,
                                      table.replica_count, service->now_ns()));
    }
  }
  service->RegisterHandlers();
  service->Drain();
  service->Tick();
  return service;
}

ReplyToken MetaService::Hold(RpcEndpoint::Responder responder) {
  const ReplyToken token = next_token_++;
  responders_.emplace(token, std::move(responder));
  return token;
}

void MetaService::RegisterHandlers() {
  rpc_.RegisterHandler(kBeaconMethod, [this](NodeId from, std::string request,
                                             RpcEndpoint::Responder responder) {
    proto::Beacon beacon;
    if (!beacon.ParseFromString(request)) return;
    core_->OnBeacon(from, beacon, Hold(std::move(responder)), now_ns());
    Drain();
  });
  rpc_.RegisterHandler(
      kConfigUpdateMethod, [this](NodeId from, std::string request,
                                  RpcEndpoint::Responder responder) {
        proto::ConfigUpdateRequest update;
        if (!update.ParseFromString(request)) return;
        core_->OnConfigUpdate(from, update, Hold(std::move(responder)),
                              now_ns());
        Drain();
      });
  rpc_.RegisterHandler(
      kConfigSyncMethod, [this](NodeId from, std::string request,
                                RpcEndpoint::Responder responder) {
        proto::ConfigSyncRequest sync;
        if (!sync.ParseFromString(request)) return;
        core_->OnConfigSync(from, sync, Hold(std::move(responder)), now_ns());
        Drain();
      });
  rpc_.RegisterHandler(
      kQueryConfigMethod,
      [this](NodeId, std::string request, RpcEndpoint::Responder responder) {
        proto::QueryConfigRequest query;
        proto::QueryConfigResponse response;
        if (!query.ParseFromString(request)) return;
        response.set_app_id(query.app_id());
        for (Gpid gpid : core_->Partitions()) {
          if (gpid.app_id != query.app_id()) continue;
          *response.add_partitions() = *core_->GetConfig(gpid);
        }
        response.set_partition_count(response.partitions_size());
        if (response.partitions_size() == 0) {
          response.set_error(static_cast<int32_t>(ErrorCode::kAppNotExist));
          response.set_error_message(
              absl::StrCat("no table with id ", query.app_id()));
        }
        responder.Reply(response.SerializeAsString());
      });
}

void MetaService::Drain() {
  MetaReady ready = core_->TakeReady();
  core_->CheckInvariants();
  for (auto& [node, out] : ready.messages) {
    std::string payload = std::visit(
        [](const auto& m) { return m.SerializeAsString(); }, out.message);
    if (out.reply_token == kNoReplyToken) {
      rpc_.Notify(node, kConfigProposalMethod, std::move(payload));
      continue;
    }
    auto it = responders_.find(out.reply_token);
    if (it == responders_.end()) continue;
    it->second.Reply(std::move(payload));
    responders_.erase(it);
  }
  for (StoreWrite& write : ready.writes) {
    store_->Write(std::move(write.key), std::move(write.value),
                  [this, id = write.write_id](absl::Status status) {
                    core_->OnStoreWriteDone(id, status, now_ns());
                    Drain();
                  });
  }
}

void MetaService::Tick() {
  core_->Tick(now_ns());
  Drain();
  tick_timer_ = env_.executor->ScheduleAfter(options_.tick_interval_ns,
                                             [this] { Tick(); });
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
  };
}

absl::StatusOr<std::unique_ptr<ReplicaServerService>>
ReplicaServerService::Start(const ProcessEnv& env,
                            replication::ReplicaHostOptions options) {
  options.self = env.self;
  options.env = ReplicaHostEnv(env);
  auto fail_stop = env.fail_stop;
  options.check_invariants = true;
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

// --- MetaRouter --------------------------------------------------------------

MetaRouter::MetaRouter(RpcEndpoint* rpc, NodeId meta, int32_t app_id,
                       int64_t query_timeout_ns)
    : rpc_(rpc),
      meta_(meta),
      app_id_(app_id),
      query_timeout_ns_(query_timeout_ns) {}

void MetaRouter::Locate(int32_t partition,
                        absl::AnyInvocable<void(absl::StatusOr<NodeId>)> done) {
  auto known = configs_.find(partition);
  if (known != configs_.end() && known->second.primary() != 0) {
    done(NodeId{known->second.primary()});
    return;
  }
  proto::QueryConfigRequest query;
  query.set_app_id(app_id_);
  rpc_->Call(
      meta_, kQueryConfigMethod, query.SerializeAsString(),
      CallOptions{.timeout_ns = query_timeout_ns_},
      [this, partition,
       done = std::move(done)](absl::StatusOr<std::string> answer) mutable {
        proto::QueryConfigResponse response;
        if (!answer.ok()) return done(answer.status());
        if (!response.ParseFromString(*answer)) {
          return done(PegasusError(ErrorCode::kInvalidArgument,
                                   "query response does not parse"));
        }
        if (response.error() != 0) {
          return done(PegasusError(static_cast<ErrorCode>(response.error()),
                                   response.error_message()));
        }
        for (const proto::PartitionConfig& config : response.partitions()) {
          configs_[config.partition_index()] = config;
        }
        auto it = configs_.find(partition);
        if (it == configs_.end() || it->second.primary() == 0) {
          return done(PegasusError(ErrorCode::kServerChanged,
                                   "the partition has no primary"));
        }
        done(NodeId{it->second.primary()});
      });
}

void MetaRouter::Invalidate(int32_t partition) { configs_.erase(partition); }

}  // namespace pegasus::sim
