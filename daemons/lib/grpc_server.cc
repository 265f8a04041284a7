#include "daemons/lib/grpc_server.h"

#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "pegasus/base/status.h"
#include "pegasus/net/address.h"

namespace pegasus::daemons {

absl::StatusOr<ListeningServer> StartGrpcServer(
    const std::string& listen, net::GrpcTransport* transport,
    const std::vector<grpc::Service*>& services) {
  absl::StatusOr<NodeId> parsed =
      net::ParseServerAddress(listen, /*allow_any_port=*/true);
  if (!parsed.ok()) return parsed.status();
  if (parsed->ipv4() == 0) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "listen on a specific address, not " + listen +
                            ": a node's address is its id");
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  // By address, as resolved: a name may resolve to several.
  builder.AddListeningPort(parsed->ToString(),
                           grpc::InsecureServerCredentials(), &port);
  transport->AddToServer(&builder);
  for (grpc::Service* service : services) builder.RegisterService(service);
  ListeningServer started;
  started.server = builder.BuildAndStart();
  if (started.server == nullptr || port == 0) {
    if (started.server != nullptr) started.server->Shutdown();
    return PegasusError(ErrorCode::kNetworkFailure,
                        "cannot listen on " + listen + " (in use?)");
  }
  started.self =
      NodeId::FromAddress(parsed->ipv4(), static_cast<uint16_t>(port));
  if (transport->self() == NodeId{}) transport->SetSelf(started.self);
  return started;
}

void SetServing(grpc::Server* server, const std::string& service,
                bool serving) {
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus("", serving);
  health->SetServingStatus(service, serving);
}

}  // namespace pegasus::daemons
