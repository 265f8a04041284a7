// The transport seam: one node sends a message to another. Delivery is not
// promised: a message may be dropped, delayed, duplicated or delivered out of
// order, and a sender learns nothing either way. Request/response with ids,
// deadlines and retries is built once on top of this, in rpc.h.
//
// Messages are opaque bytes to the transport. A receiver must treat them as
// untrusted input: a message that does not parse is dropped with a log line
// and changes nothing.
//
// Production: InProcessNetwork (in_process_transport.h) joins nodes inside one
// process; GrpcTransport (pegasus/net/grpc_transport.h) joins the daemons.
// Simulator: testing/sim's network, with
// latency, loss, duplication, reordering and partitions.

#ifndef PEGASUS_RUNTIME_TRANSPORT_H_
#define PEGASUS_RUNTIME_TRANSPORT_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "pegasus/base/ids.h"

namespace pegasus {

class Transport {
 public:
  // Called with each message that arrives for this node, on the node's
  // executor (so never concurrently with the node's other tasks).
  using Receiver = absl::AnyInvocable<void(NodeId from, std::string message)>;

  virtual ~Transport() = default;

  // This node's id.
  virtual NodeId self() const = 0;

  // Sends `message` to `to` (which may be this node). Never blocks.
  // Thread-safety: callable from the node's executor only.
  virtual void Send(NodeId to, std::string message) = 0;

  // Sets the receiver. REQUIRES: called once, before any message can arrive.
  virtual void SetReceiver(Receiver receiver) = 0;
};

}  // namespace pegasus

#endif  // PEGASUS_RUNTIME_TRANSPORT_H_
