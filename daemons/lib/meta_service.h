// The Meta gRPC service (pegasus/proto/api.proto) of a meta server: each
// call becomes a request to the server's MetaServer on its strand, and its
// answer the call's response, or a status for a Pegasus error.
//
// The server is attached once it has started and detached before it is
// destroyed; calls meanwhile fail with UNAVAILABLE, as does a call the
// server drops unanswered (the server stopping): every call is finished
// exactly once.
//
// Thread-safety: every method may be called from any thread.

#ifndef DAEMONS_LIB_META_SERVICE_H_
#define DAEMONS_LIB_META_SERVICE_H_

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "pegasus/meta/meta_server.h"
#include "pegasus/proto/api.grpc.pb.h"
#include "pegasus/runtime/executor.h"

namespace pegasus::daemons {

class MetaService final : public proto::Meta::CallbackService {
 public:
  using Reactor = grpc::ServerUnaryReactor;
  using Context = grpc::CallbackServerContext;

  // REQUIRES: `server` runs on `strand` and stays until Detach returns.
  void Attach(MetaServer* server, Executor* strand);
  void Detach();

  Reactor* QueryConfig(Context* c, const proto::QueryConfigRequest* q,
                       proto::QueryConfigResponse* r) override;
  Reactor* CreateTable(Context* c, const proto::CreateTableRequest* q,
                       proto::CreateTableResponse* r) override;
  Reactor* DropTable(Context* c, const proto::DropTableRequest* q,
                     proto::Done* r) override;
  Reactor* RecallTable(Context* c, const proto::RecallTableRequest* q,
                       proto::RecallTableResponse* r) override;
  Reactor* RenameTable(Context* c, const proto::RenameTableRequest* q,
                       proto::Done* r) override;
  Reactor* ListTables(Context* c, const proto::ListTablesRequest* q,
                      proto::ListTablesResponse* r) override;
  Reactor* UpdateEnvs(Context* c, const proto::UpdateEnvsRequest* q,
                      proto::Done* r) override;
  Reactor* SetReplicaCount(Context* c, const proto::SetReplicaCountRequest* q,
                           proto::Done* r) override;
  Reactor* TableHealth(Context* c, const proto::TableHealthRequest* q,
                       proto::TableHealthResponse* r) override;
  Reactor* ListNodes(Context* c, const proto::ListNodesRequest* q,
                     proto::ListNodesResponse* r) override;
  Reactor* ClusterInfo(Context* c, const proto::ClusterInfoRequest* q,
                       proto::ClusterInfoResponse* r) override;
  Reactor* GetMetaLevel(Context* c, const proto::GetMetaLevelRequest* q,
                        proto::MetaLevelResponse* r) override;
  Reactor* SetMetaLevel(Context* c, const proto::SetMetaLevelRequest* q,
                        proto::MetaLevelResponse* r) override;
  Reactor* Balance(Context* c, const proto::BalanceRequest* q,
                   proto::Done* r) override;
  Reactor* Propose(Context* c, const proto::ProposeRequest* q,
                   proto::Done* r) override;

 private:
  // Runs `work` on the server's strand with the server, or destroys it
  // when none is attached. `work` holds the call's PendingCall: it finishes the
  // call, or its destruction does (UNAVAILABLE). Returns `reactor`.
  using Work = absl::AnyInvocable<void(MetaServer*)>;
  Reactor* Run(Reactor* reactor, Work work);
  // An admin request whose answer's result `pick` moves into `response`.
  template <typename Response, typename Pick>
  Reactor* RunAdmin(Context* context, proto::AdminRequest request,
                    Response* response, Pick pick);

  absl::Mutex mu_;
  MetaServer* server_ ABSL_GUARDED_BY(mu_) = nullptr;
  Executor* strand_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_META_SERVICE_H_
