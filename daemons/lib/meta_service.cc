#include "daemons/lib/meta_service.h"

#include <string>
#include <utility>

#include "daemons/lib/grpc_status.h"

namespace pegasus::daemons {
namespace {

constexpr char kUnfinished[] =
    "the meta server is not serving (starting or stopping)";

}  // namespace

void MetaService::Attach(MetaServer* server, Executor* strand) {
  absl::MutexLock lock(&mu_);
  server_ = server;
  strand_ = strand;
}

void MetaService::Detach() {
  absl::MutexLock lock(&mu_);
  server_ = nullptr;
  strand_ = nullptr;
}

grpc::ServerUnaryReactor* MetaService::Run(grpc::ServerUnaryReactor* reactor,
                                           Work work) {
  // Shared: calls only read server_ and strand_; Attach and Detach change
  // them.
  absl::ReaderMutexLock lock(&mu_);
  if (server_ != nullptr) {
    strand_->Post(
        [server = server_, work = std::move(work)]() mutable { work(server); });
  }
  // Otherwise `work` is destroyed here, and with it the call's PendingCall,
  // which finishes it.
  return reactor;
}

template <typename Response, typename Pick>
grpc::ServerUnaryReactor* MetaService::RunAdmin(Context* context,
                                                proto::AdminRequest request,
                                                Response* response, Pick pick) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  PendingCall call(context, reactor, kUnfinished);
  return Run(reactor, [request = std::move(request), response, pick,
                       call = std::move(call)](MetaServer* server) mutable {
    server->Admin(request, [response, pick, call = std::move(call)](
                               proto::AdminResponse answer) mutable {
      if (answer.error() != 0) {
        return call.Fail(static_cast<ErrorCode>(answer.error()),
                         answer.error_message());
      }
      pick(answer, response);
      call.Succeed();
    });
  });
}

namespace {

// Picks for admin answers: a result message, or nothing (Done).
void Nothing(proto::AdminResponse&, proto::Done*) {}

}  // namespace

#define PEGASUS_ADMIN_METHOD(Method, Request, field, Response, pick) \
  grpc::ServerUnaryReactor* MetaService::Method(                     \
      Context* c, const proto::Request* q, proto::Response* r) {     \
    proto::AdminRequest request;                                     \
    *request.mutable_##field() = *q;                                 \
    return RunAdmin(c, std::move(request), r, pick);                 \
  }

#define PEGASUS_RESULT(field)                         \
  [](proto::AdminResponse& answer, auto* response) {  \
    *response = std::move(*answer.mutable_##field()); \
  }

PEGASUS_ADMIN_METHOD(CreateTable, CreateTableRequest, create_table,
                     CreateTableResponse, PEGASUS_RESULT(create_table))
PEGASUS_ADMIN_METHOD(DropTable, DropTableRequest, drop_table, Done, Nothing)
PEGASUS_ADMIN_METHOD(RecallTable, RecallTableRequest, recall_table,
                     RecallTableResponse, PEGASUS_RESULT(recall_table))
PEGASUS_ADMIN_METHOD(RenameTable, RenameTableRequest, rename_table, Done,
                     Nothing)
PEGASUS_ADMIN_METHOD(ListTables, ListTablesRequest, list_tables,
                     ListTablesResponse, PEGASUS_RESULT(list_tables))
PEGASUS_ADMIN_METHOD(UpdateEnvs, UpdateEnvsRequest, update_envs, Done, Nothing)
PEGASUS_ADMIN_METHOD(SetReplicaCount, SetReplicaCountRequest, set_replica_count,
                     Done, Nothing)
PEGASUS_ADMIN_METHOD(TableHealth, TableHealthRequest, table_health,
                     TableHealthResponse, PEGASUS_RESULT(table_health))
PEGASUS_ADMIN_METHOD(ListNodes, ListNodesRequest, list_nodes, ListNodesResponse,
                     PEGASUS_RESULT(list_nodes))
PEGASUS_ADMIN_METHOD(ClusterInfo, ClusterInfoRequest, cluster_info,
                     ClusterInfoResponse, PEGASUS_RESULT(cluster_info))
PEGASUS_ADMIN_METHOD(GetMetaLevel, GetMetaLevelRequest, get_meta_level,
                     MetaLevelResponse, PEGASUS_RESULT(meta_level))
PEGASUS_ADMIN_METHOD(SetMetaLevel, SetMetaLevelRequest, set_meta_level,
                     MetaLevelResponse, PEGASUS_RESULT(meta_level))
PEGASUS_ADMIN_METHOD(Balance, BalanceRequest, balance, Done, Nothing)
PEGASUS_ADMIN_METHOD(Propose, ProposeRequest, propose, Done, Nothing)

#undef PEGASUS_RESULT
#undef PEGASUS_ADMIN_METHOD

grpc::ServerUnaryReactor* MetaService::QueryConfig(
    Context* context, const proto::QueryConfigRequest* request,
    proto::QueryConfigResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  PendingCall call(context, reactor, kUnfinished);
  return Run(reactor, [request = *request, response,
                       call = std::move(call)](MetaServer* server) mutable {
    *response = server->QueryConfig(request);
    if (response->error() != 0) {
      return call.Fail(static_cast<ErrorCode>(response->error()),
                       response->error_message());
    }
    call.Succeed();
  });
}

}  // namespace pegasus::daemons
