// Joins nodes that live in one process: a Transport per node, each bound to
// the Executor its messages are delivered on.
//
//   InProcessNetwork network;
//   std::unique_ptr<Transport> a = network.Attach(NodeId{1}, pool.Strand(1));
//   std::unique_ptr<Transport> b = network.Attach(NodeId{2}, pool.Strand(2));
//   b->SetReceiver([](NodeId from, std::string message) { ... });
//   a->Send(NodeId{2}, "hello");  // b's receiver runs on pool.Strand(2).
//
// Send posts the delivery onto the destination's executor and returns; the
// receiver runs there, in send order for one sender-destination pair when
// the sender sends from one strand. Nothing is lost on the way except what
// this class drops and counts in dropped():
//   - a message to a node that is not attached (never was, or detached);
//   - a message to a node with `max_in_flight_per_node` messages already
//     posted to its executor and not yet delivered;
//   - a message that was posted but whose node detached, or had no receiver
//     yet, when its turn came.
//
// Destroying a Transport detaches its node: from then on the network never
// posts to that node's executor, messages already posted are dropped when
// they run, and the receiver is destroyed. If the receiver is running on
// another thread at that moment, the destructor waits for it to return; a
// receiver may also destroy its own Transport (the receiver itself is then
// destroyed once it returns).
//
// Lifetimes: the network and its transports share their state, so either
// may be destroyed first. An attached node's Executor must outlive its
// Transport, and its Post must not run the task inline (no Executor does).
//
// Thread-safety: every method of InProcessNetwork and of the transports it
// makes may be called from any thread.

#ifndef PEGASUS_RUNTIME_IN_PROCESS_TRANSPORT_H_
#define PEGASUS_RUNTIME_IN_PROCESS_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "pegasus/base/ids.h"
#include "pegasus/runtime/executor.h"
#include "pegasus/runtime/transport.h"

namespace pegasus {
namespace internal {
class InProcessNetworkState;
}  // namespace internal

struct InProcessNetworkOptions {
  // Most messages posted to one node's executor and not yet delivered; a
  // send beyond it is dropped, as a congested network would. REQUIRES: >= 1.
  // Default: 100,000.
  size_t max_in_flight_per_node = 100'000;
};

class InProcessNetwork {
 public:
  explicit InProcessNetwork(InProcessNetworkOptions options = {});
  ~InProcessNetwork();

  InProcessNetwork(const InProcessNetwork&) = delete;
  InProcessNetwork& operator=(const InProcessNetwork&) = delete;

  // Attaches node `id`, whose messages are delivered on `executor`.
  // REQUIRES: `id` is not attached (it may have been and been detached);
  // `executor` is not null and outlives the returned Transport.
  std::unique_ptr<Transport> Attach(NodeId id, Executor* executor);

  // Messages dropped so far, for every reason listed above.
  uint64_t dropped() const;

  // Messages handed to a receiver so far.
  uint64_t delivered() const;

 private:
  std::shared_ptr<internal::InProcessNetworkState> state_;
};

}  // namespace pegasus

#endif  // PEGASUS_RUNTIME_IN_PROCESS_TRANSPORT_H_
