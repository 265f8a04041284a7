#include "pegasus/meta/meta_server.h"

#include <utility>
#include <variant>

#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/replication/wire.h"

namespace pegasus {
namespace {

using replication::kBeaconMethod;
using replication::kConfigProposalMethod;
using replication::kConfigSyncMethod;
using replication::kConfigUpdateMethod;
using replication::kMetaAdminMethod;
using replication::kQueryConfigMethod;

// A client's request that does not parse gets an answer saying so; a
// replica server's is dropped (it retries, and it is counted as malformed
// by the RPC layer's peer).
template <typename Response>
std::string Malformed(const char* what) {
  Response response;
  response.set_error(static_cast<int32_t>(ErrorCode::kInvalidArgument));
  response.set_error_message(std::string(what) + " does not parse");
  return response.SerializeAsString();
}

}  // namespace

MetaServer::MetaServer(const MetaServerOptions& options)
    : options_(options),
      rpc_(options.env.transport, options.env.executor,
           options.env.random->Next64() | 1) {}

MetaServer::~MetaServer() {
  *alive_ = false;
  if (tick_timer_ != kNoTimer) options_.env.executor->Cancel(tick_timer_);
  rpc_.Shutdown();
}

absl::StatusOr<std::unique_ptr<MetaServer>> MetaServer::Start(
    const MetaServerOptions& options) {
  PEGASUS_CHECK(options.store != nullptr);
  PEGASUS_CHECK(
      options.env.clock != nullptr && options.env.executor != nullptr &&
      options.env.transport != nullptr && options.env.random != nullptr);
  std::unique_ptr<MetaServer> server(new MetaServer(options));
  MetaOptions meta = options.meta;
  meta.self = server->self();
  PEGASUS_ASSIGN_OR_RETURN(server->core_, MetaCore::Create(meta));
  PEGASUS_ASSIGN_OR_RETURN(auto stored, options.store->LoadAll());
  const bool fresh = stored.empty();
  PEGASUS_RETURN_IF_ERROR(server->core_->Recover(stored, server->now_ns()));
  if (fresh) {
    for (const proto::CreateTableRequest& table : options.initial_tables) {
      proto::AdminRequest request;
      *request.mutable_create_table() = table;
      server->core_->OnAdmin(NodeId{}, request, kNoReplyToken, server->now_ns(),
                             server->wall_now_s());
    }
  }
  server->RegisterHandlers();
  server->Drain();
  server->Tick();
  return server;
}

ReplyToken MetaServer::Hold(Reply reply) {
  const ReplyToken token = next_token_++;
  responders_.emplace(token, std::move(reply));
  return token;
}

ReplyToken MetaServer::Hold(RpcEndpoint::Responder responder) {
  return Hold(
      Reply([responder = std::move(responder)](std::string payload) mutable {
        responder.Reply(std::move(payload));
      }));
}

void MetaServer::Admin(const proto::AdminRequest& request, AdminDone done) {
  // The answer is posted rather than given inside Drain, so `done` may call
  // Admin again without reordering the store writes Drain is issuing.
  const ReplyToken token = Hold(Reply(
      [executor = options_.env.executor, alive = std::weak_ptr<bool>(alive_),
       done = std::move(done)](std::string payload) mutable {
        executor->Post([alive, done = std::move(done),
                        payload = std::move(payload)]() mutable {
          std::shared_ptr<bool> live = alive.lock();
          if (live == nullptr || !*live) return;
          proto::AdminResponse response;
          // The core's own answer: it always parses.
          PEGASUS_CHECK(response.ParseFromString(payload));
          done(std::move(response));
        });
      }));
  core_->OnAdmin(NodeId{}, request, token, now_ns(), wall_now_s());
  Drain();
}

void MetaServer::RegisterHandlers() {
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
        if (!query.ParseFromString(request)) {
          responder.Reply(Malformed<proto::QueryConfigResponse>("the query"));
          return;
        }
        responder.Reply(core_->QueryConfig(query).SerializeAsString());
      });
  rpc_.RegisterHandler(
      kMetaAdminMethod, [this](NodeId from, std::string request,
                               RpcEndpoint::Responder responder) {
        proto::AdminRequest admin;
        if (!admin.ParseFromString(request)) {
          responder.Reply(Malformed<proto::AdminResponse>("the admin request"));
          return;
        }
        core_->OnAdmin(from, admin, Hold(std::move(responder)), now_ns(),
                       wall_now_s());
        Drain();
      });
}

void MetaServer::Drain() {
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
    Reply reply = std::move(it->second);
    responders_.erase(it);
    reply(std::move(payload));
  }
  for (StoreWrite& write : ready.writes) {
    MetaStore::WriteDone done = [this, alive = alive_,
                                 id = write.write_id](absl::Status status) {
      if (!*alive) return;
      core_->OnStoreWriteDone(id, status, now_ns());
      Drain();
    };
    if (write.erase) {
      options_.store->Delete(std::move(write.key), std::move(done));
    } else {
      options_.store->Write(std::move(write.key), std::move(write.value),
                            std::move(done));
    }
  }
}

void MetaServer::Tick() {
  core_->Tick(now_ns());
  core_->PurgeExpiredTables(now_ns(), wall_now_s());
  Drain();
  tick_timer_ = options_.env.executor->ScheduleAfter(options_.tick_interval_ns,
                                                     [this] { Tick(); });
}

}  // namespace pegasus
