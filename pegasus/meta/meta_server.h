// MetaServer: the meta server's driver. It runs a MetaCore on one strand,
// feeds it what arrives over the RPC layer (beacons, configuration updates
// and syncs from replica servers; configuration queries and table
// operations from clients), ticks it, persists what it asks through a
// MetaStore, and sends what it answers. The same code runs in production
// (a ThreadPool strand, the real clock, a network transport) and in the
// simulator.
//
//   MetaServerOptions options;
//   options.env = {clock, executor, transport, random};
//   options.store = store.get();       // LocalFileMetaStore, say
//   auto server = MetaServer::Start(options);
//
// Start recovers the core from the store (PERR_CORRUPTION or PERR_IO_ERROR
// from the store stop it) and, on a store that was empty, creates
// options.initial_tables. From then on everything runs on env.executor.
//
// Thread-safety: Start runs on the caller's thread before the executor runs
// anything of the server's, or on the executor. core() is for checkers and
// tests that run no strand meanwhile (the simulator). Destroy the server on
// its executor, or once the executor runs none of its tasks.

#ifndef PEGASUS_META_META_SERVER_H_
#define PEGASUS_META_META_SERVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "pegasus/base/random.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/meta/meta_store.h"
#include "pegasus/proto/meta.pb.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/executor.h"
#include "pegasus/runtime/node_env.h"
#include "pegasus/runtime/rpc.h"
#include "pegasus/runtime/transport.h"

namespace pegasus {

using MetaServerEnv = NodeEnv;

struct MetaServerOptions {
  MetaServerEnv env;
  MetaOptions meta;
  // Where the meta server persists its state; not owned, must outlive the
  // server. Its completions must run on env.executor.
  MetaStore* store = nullptr;
  // How often the core is ticked (failure detection, the cure, purging
  // dropped tables). Default 100 ms.
  int64_t tick_interval_ns = 100'000'000;
  // Tables created when the server starts on an empty store.
  std::vector<proto::CreateTableRequest> initial_tables;
};

class MetaServer {
 public:
  static absl::StatusOr<std::unique_ptr<MetaServer>> Start(
      const MetaServerOptions& options);
  ~MetaServer();

  MetaServer(const MetaServer&) = delete;
  MetaServer& operator=(const MetaServer&) = delete;

  NodeId self() const { return rpc_.self(); }
  const MetaCore& core() const { return *core_; }

  // An operator's admin request made in the meta server's own process (as
  // a shell on the meta host would, without the network): answered as the
  // admin RPC is, once its store writes are durable. Call on env.executor;
  // `done` is posted there, never run inside Admin, and never runs once the
  // server is destroyed.
  using AdminDone = absl::AnyInvocable<void(proto::AdminResponse)>;
  void Admin(const proto::AdminRequest& request, AdminDone done);

  // Queries made in the meta server's process (the daemon's gRPC service,
  // its metrics), answered as the RPCs are (MetaCore::QueryConfig,
  // MetaCore::Query). Call on env.executor.
  proto::QueryConfigResponse QueryConfig(
      const proto::QueryConfigRequest& request) const {
    return core_->QueryConfig(request);
  }
  absl::StatusOr<proto::AdminResponse> Query(
      const proto::AdminRequest& request) const {
    return core_->Query(request);
  }

 private:
  explicit MetaServer(const MetaServerOptions& options);
  void RegisterHandlers();
  // Keeps a reply callback until the core answers under the token returned.
  using Reply = absl::AnyInvocable<void(std::string payload)>;
  ReplyToken Hold(Reply reply);
  ReplyToken Hold(RpcEndpoint::Responder responder);
  // Sends and persists what the core produced.
  void Drain();
  void Tick();
  int64_t now_ns() const { return options_.env.clock->MonotonicNowNs(); }
  int64_t wall_now_s() const {
    return options_.env.clock->WallNowUs() / 1'000'000;
  }

  const MetaServerOptions options_;
  RpcEndpoint rpc_;
  std::unique_ptr<MetaCore> core_;
  std::map<ReplyToken, Reply> responders_;
  ReplyToken next_token_ = 1;
  TimerId tick_timer_ = kNoTimer;
  // Outlives the server: store completions check it before touching it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace pegasus

#endif  // PEGASUS_META_META_SERVER_H_
