// The Transport seam over gRPC, for nodes in different processes: the
// daemons and the clients that talk to them (docs/protocol.md, "Links").
//
//   // A server: its id is its listening address.
//   GrpcTransport transport({.self = NodeId::FromAddress(ip, port),
//                            .executor = pool.Strand(0)});
//   transport.AddToServer(&builder);
//   ... builder.BuildAndStart() ...
//   transport.Send(peer, message);
//
//   // A client: any id without an address; it listens nowhere.
//   GrpcTransport transport({.self = NodeId{random | 1},
//                            .executor = pool.Strand(0)});
//
// Links. Sending to a server (an id with an address) opens one long-lived
// NodeLink.Connect stream to that address and keeps it for every later
// message; if the stream breaks, what it held is lost and the next send
// opens another. A node without an address (a client) is reached only over
// the stream it opened: replies to it go back on that stream. So two
// servers talking both ways hold two streams, one opened by each.
//
// Batching: a stream writes one frame at a time, and everything sent while
// a frame is being written goes into the next one (up to
// max_frame_bytes), so a busy link sends few large frames, not one per
// message. A send to an idle stream does not write at once either: it
// posts one flush to the executor, which runs after the tasks already
// queued there, so whatever they send goes out together. (Echoing 1 KB
// messages with 64 in flight on 2 cores: 63 messages a frame instead of 15,
// and twice the messages a second.)
//
// Delivery is not promised, as the seam says: a message is dropped (and
// counted) when its link's queue already holds max_queued_bytes, when it is
// for a node without an address that has no stream open to this one, when
// max_pending_deliveries received messages already wait for the executor,
// or when its stream breaks. Received messages are delivered on the
// executor, one frame's messages in order.
//
// Shutdown: Shutdown() cancels every stream (both directions), refuses new
// ones and delivers nothing more; call it before stopping the grpc::Server
// that hosts the links, whose Shutdown waits for every stream to end. The
// destructor shuts down too and then waits for gRPC to let go of every
// stream and for each stream's objects to be destroyed, so the channels go
// last and on the caller's thread. Destroy whatever the receiver calls only
// after the executor has stopped running this transport's deliveries
// (ThreadPool::Shutdown).
//
// Thread-safety: Send from any thread; the rest as the seam says.

#ifndef PEGASUS_NET_GRPC_TRANSPORT_H_
#define PEGASUS_NET_GRPC_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "grpcpp/server_builder.h"
#include "pegasus/base/ids.h"
#include "pegasus/runtime/executor.h"
#include "pegasus/runtime/transport.h"

namespace pegasus::net {

struct GrpcTransportOptions {
  // This node. A server's id must be its listening address
  // (NodeId::FromAddress); a client's must have none. A server that asks
  // for any free port leaves it unset and calls SetSelf once it knows.
  NodeId self{};
  // Where received messages are delivered. Required; outlives the
  // transport.
  Executor* executor = nullptr;
  // Bytes of messages one link may hold unsent; a send beyond is dropped.
  size_t max_queued_bytes = size_t{64} << 20;
  // A frame carries messages up to about this many bytes (at least one).
  size_t max_frame_bytes = size_t{4} << 20;
  // The largest frame accepted from a peer.
  int max_receive_bytes = 64 << 20;
  // Received messages waiting for the executor; beyond, arrivals are
  // dropped.
  size_t max_pending_deliveries = 100'000;
};

struct GrpcTransportStats {
  uint64_t streams_opened = 0;    // By this node.
  uint64_t streams_accepted = 0;  // From peers.
  uint64_t streams_refused = 0;   // Meant for another node.
  uint64_t frames_sent = 0;
  uint64_t messages_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t messages_received = 0;
  uint64_t bytes_received = 0;
  uint64_t messages_dropped = 0;
};

class GrpcTransport final : public Transport {
 public:
  explicit GrpcTransport(GrpcTransportOptions options);
  ~GrpcTransport() override;

  GrpcTransport(const GrpcTransport&) = delete;
  GrpcTransport& operator=(const GrpcTransport&) = delete;

  NodeId self() const override;
  // Names this node, when the options did not. REQUIRES: once, before any
  // Send. Streams that arrive before are refused (UNAVAILABLE), and their
  // senders try again.
  void SetSelf(NodeId self);
  // REQUIRES: this node has its id.
  void Send(NodeId to, std::string message) override;
  void SetReceiver(Receiver receiver) override;

  // Readies a server's builder for the links: registers the NodeLink
  // service and sets what its streams need (the largest frame, keepalive
  // pings from peers, no second server on the same port).
  void AddToServer(grpc::ServerBuilder* builder);

  GrpcTransportStats stats() const;

  // Ends every stream and sends or delivers nothing more. Idempotent.
  void Shutdown();

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<grpc::Service> service_;
};

}  // namespace pegasus::net

#endif  // PEGASUS_NET_GRPC_TRANSPORT_H_
