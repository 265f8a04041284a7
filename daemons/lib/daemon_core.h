// What every daemon is made of, and the order it stops in
// (docs/operations.md, "Stopping"): its strands, its links to other nodes,
// its gRPC server (with health checking and reflection) and its HTTP
// server for /metrics.
//
//   DaemonCore core;
//   PEGASUS_RETURN_IF_ERROR(core.Start(listen, data_dir, threads, &service,
//                                      "pegasus.proto.Meta"));
//   ... build the node on core.pool() and core.transport() ...
//   PEGASUS_RETURN_IF_ERROR(core.Serve(http_port, collect_metrics));
//
//   // Stopping:
//   core.StopServing();   // no HTTP, NOT_SERVING, links ended, strands stopped
//   ... detach the service, destroy the node ...
//   core.Finish();        // the gRPC server, the links

#ifndef DAEMONS_LIB_DAEMON_CORE_H_
#define DAEMONS_LIB_DAEMON_CORE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "daemons/lib/http_server.h"
#include "grpcpp/grpcpp.h"
#include "pegasus/net/grpc_transport.h"
#include "pegasus/runtime/thread_pool.h"

namespace pegasus::daemons {

class DaemonCore {
 public:
  // The strand the transport delivers on.
  static constexpr uint64_t kNetworkStrand = 0;

  DaemonCore() = default;
  // StopServing and Finish, if not done.
  ~DaemonCore();
  DaemonCore(const DaemonCore&) = delete;
  DaemonCore& operator=(const DaemonCore&) = delete;

  // Creates `data_dir`, starts `threads` strands (0: one per core), the
  // links and the gRPC
  // server on `listen` ("a.b.c.d:port"; port 0 picks a free one, whose
  // address becomes the node's id) with `service`, which the health service
  // reports NOT_SERVING (as `service_name`) until Serve. A second server on
  // a port in use fails. PERR_INVALID_ARGUMENT for a bad address, an empty
  // directory or threads < 0; PERR_NETWORK_FAILURE when the port cannot be
  // bound.
  absl::Status Start(const std::string& listen, const std::string& data_dir,
                     int threads, grpc::Service* service,
                     std::string service_name);
  // Marks the service serving and serves /metrics on `http_port` (0: any
  // free port; -1: none), from `collect` at each request.
  absl::Status Serve(int http_port, HttpServer::Collect collect);
  // The first half of a stop. Idempotent.
  void StopServing();
  // The second half, once the node is gone. Idempotent.
  void Finish();

  ThreadPool* pool() { return pool_.get(); }
  net::GrpcTransport* transport() { return transport_.get(); }
  NodeId self() const { return self_; }
  int http_port() const { return http_ == nullptr ? -1 : http_->port(); }

 private:
  // The gRPC server with the links, `service`, health and reflection.
  absl::Status Listen(const std::string& listen, grpc::Service* service);
  // `service` (and the server as a whole, "") in the health service.
  void SetServing(bool serving);

  std::string service_name_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<net::GrpcTransport> transport_;
  std::unique_ptr<grpc::Server> server_;
  NodeId self_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_DAEMON_CORE_H_
