// What every daemon's gRPC server has: its listening port (no second
// server on a port in use), the links to other nodes, gRPC health checking
// and server reflection.

#ifndef DAEMONS_LIB_GRPC_SERVER_H_
#define DAEMONS_LIB_GRPC_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "pegasus/base/ids.h"
#include "pegasus/net/grpc_transport.h"

namespace pegasus::daemons {

struct ListeningServer {
  std::unique_ptr<grpc::Server> server;
  // The address it listens on, as this node's id.
  NodeId self;
};

// Listens on `listen` ("a.b.c.d:port"; port 0 picks a free one) with the
// transport's links and `services`, and names the transport by the address
// it got. PERR_INVALID_ARGUMENT for a bad address, PERR_NETWORK_FAILURE
// when the port cannot be bound.
absl::StatusOr<ListeningServer> StartGrpcServer(
    const std::string& listen, net::GrpcTransport* transport,
    const std::vector<grpc::Service*>& services);

// Marks `service` (and the server as a whole, "") serving or not in the
// health checking service.
void SetServing(grpc::Server* server, const std::string& service, bool serving);

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_GRPC_SERVER_H_
