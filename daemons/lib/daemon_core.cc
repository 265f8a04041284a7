#include "daemons/lib/daemon_core.h"

#include <utility>

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
  if (threads < 1) {
    return PegasusError(ErrorCode::kInvalidArgument, "threads must be >= 1");
  }
  PEGASUS_RETURN_IF_ERROR(PosixFileSystem()->CreateDirs(data_dir));
  service_name_ = std::move(service_name);
  pool_ = std::make_unique<ThreadPool>(ThreadPoolOptions{.threads = threads});
  transport_ = std::make_unique<net::GrpcTransport>(
      net::GrpcTransportOptions{.executor = pool_->Strand(kNetworkStrand)});
  PEGASUS_ASSIGN_OR_RETURN(
      grpc_, StartGrpcServer(listen, transport_.get(), {service}));
  SetServing(grpc_.server.get(), service_name_, false);
  return absl::OkStatus();
}

absl::Status DaemonCore::Serve(int http_port, HttpServer::Collect collect) {
  SetServing(grpc_.server.get(), service_name_, true);
  if (http_port < 0) return absl::OkStatus();
  PEGASUS_ASSIGN_OR_RETURN(http_,
                           HttpServer::Start(net::HostOf(grpc_.self), http_port,
                                             std::move(collect)));
  return absl::OkStatus();
}

void DaemonCore::StopServing() {
  // The HTTP server first: a scrape reads the node.
  http_.reset();
  if (grpc_.server != nullptr) {
    SetServing(grpc_.server.get(), service_name_, false);
  }
  if (transport_ != nullptr) transport_->Shutdown();
  if (pool_ != nullptr) pool_->Shutdown();
}

void DaemonCore::Finish() {
  // Every call has been answered by now (the node is gone, and with it
  // whatever held a call), so the server's Shutdown returns.
  if (grpc_.server != nullptr) {
    grpc_.server->Shutdown();
    grpc_.server.reset();
  }
  transport_.reset();
}

DaemonCore::~DaemonCore() {
  StopServing();
  Finish();
}

}  // namespace pegasus::daemons
