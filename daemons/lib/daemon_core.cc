#include "daemons/lib/daemon_core.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "pegasus/base/status.h"
#include "pegasus/net/address.h"
#include "pegasus/runtime/file_system.h"

namespace pegasus::daemons {

absl::Status DaemonCore::Start(const std::string& listen,
                               const std::string& data_dir, int threads,
                               grpc::Service* service,
                               std::string service_name) {
  if (data_dir.empty()) {
    return PegasusError(ErrorCode::kInvalidArgument, "data_dir is required");
  }
  if (threads < 0) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "threads must be >= 0 (0: one per core)");
  }
  if (threads == 0) {
    threads =
        static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  PEGASUS_RETURN_IF_ERROR(PosixFileSystem()->CreateDirs(data_dir));
  service_name_ = std::move(service_name);
  pool_ = std::make_unique<ThreadPool>(ThreadPoolOptions{.threads = threads});
  transport_ = std::make_unique<net::GrpcTransport>(
      net::GrpcTransportOptions{.executor = pool_->Strand(kNetworkStrand)});
  PEGASUS_RETURN_IF_ERROR(Listen(listen, service));
  SetServing(false);
  return absl::OkStatus();
}

absl::Status DaemonCore::Listen(const std::string& listen,
                                grpc::Service* service) {
  absl::StatusOr<NodeId> address =
      net::ParseServerAddress(listen, /*allow_any_port=*/true);
  if (!address.ok()) return address.status();
  if (address->ipv4() == 0) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "listen on a specific address, not " + listen +
                            ": a node's address is its id");
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  // By address, as resolved: a name may resolve to several.
  builder.AddListeningPort(address->ToString(),
                           grpc::InsecureServerCredentials(), &port);
  transport_->AddToServer(&builder);
  builder.RegisterService(service);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port == 0) {
    if (server_ != nullptr) server_->Shutdown();
    server_.reset();
    return PegasusError(ErrorCode::kNetworkFailure,
                        "cannot listen on " + listen + " (in use?)");
  }
  self_ = NodeId::FromAddress(address->ipv4(), static_cast<uint16_t>(port));
  transport_->SetSelf(self_);
  return absl::OkStatus();
}

void DaemonCore::SetServing(bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus("", serving);
  health->SetServingStatus(service_name_, serving);
}

absl::Status DaemonCore::Serve(int http_port, HttpServer::Collect collect) {
  SetServing(true);
  if (http_port < 0) return absl::OkStatus();
  PEGASUS_ASSIGN_OR_RETURN(
      http_,
      HttpServer::Start(net::HostOf(self_), http_port, std::move(collect)));
  return absl::OkStatus();
}

void DaemonCore::StopServing() {
  // The HTTP server first: a scrape reads the node.
  http_.reset();
  if (server_ != nullptr) SetServing(false);
  if (transport_ != nullptr) transport_->Shutdown();
  if (pool_ != nullptr) pool_->Shutdown();
}

void DaemonCore::Finish() {
  // Every call has been answered by now (the node is gone, and with it
  // whatever held a call), so the server's Shutdown returns.
  if (server_ != nullptr) {
    server_->Shutdown();
    server_.reset();
  }
  transport_.reset();
}

DaemonCore::~DaemonCore() {
  StopServing();
  Finish();
}

}  // namespace pegasus::daemons
