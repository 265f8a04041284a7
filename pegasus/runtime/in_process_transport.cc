#include "pegasus/runtime/in_process_transport.h"

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "pegasus/base/check.h"

namespace pegasus {
namespace internal {
namespace {

// One attached node. Deliveries hold it by shared_ptr, so it outlives both
// the network's map entry and the Transport.
struct Node {
  Node(NodeId id, Executor* executor) : id(id), executor(executor) {}

  const NodeId id;
  Executor* const executor;
  // Deliveries posted to `executor` that have not started.
  std::atomic<size_t> in_flight{0};

  std::mutex mu;
  std::condition_variable receiver_idle;
  bool attached ABSL_GUARDED_BY(mu) = true;
  // Set once by SetReceiver; called without `mu` held, which is safe because
  // it is only replaced or destroyed when no thread is inside it.
  Transport::Receiver receiver;
  // The thread inside `receiver`, or none.
  std::thread::id receiving_on ABSL_GUARDED_BY(mu);
  // The receiver detached its own node while running: whoever called it
  // destroys it when it returns. (A detach from another thread waits for it
  // to return and destroys it itself.)
  bool retire_after_receive ABSL_GUARDED_BY(mu) = false;
};

}  // namespace

class InProcessNetworkState final
    : public std::enable_shared_from_this<InProcessNetworkState> {
 public:
  explicit InProcessNetworkState(InProcessNetworkOptions options)
      : options_(options) {
    PEGASUS_CHECK_GE(options_.max_in_flight_per_node, size_t{1});
  }

  std::shared_ptr<Node> Attach(NodeId id, Executor* executor) {
    PEGASUS_CHECK(executor != nullptr);
    auto node = std::make_shared<Node>(id, executor);
    std::unique_lock<std::shared_mutex> lock(mu_);
    bool inserted = nodes_.emplace(id, node).second;
    PEGASUS_CHECK(inserted)
        << "node " << id.ToString() << " is already attached";
    return node;
  }

  void Detach(const std::shared_ptr<Node>& node);
  void SetReceiver(Node& node, Transport::Receiver receiver);
  void Send(NodeId from, NodeId to, std::string message);

  uint64_t dropped() const { return dropped_.load(); }
  uint64_t delivered() const { return delivered_.load(); }

 private:
  class Delivery;

  void Deliver(Node& node, NodeId from, std::string message);

  const InProcessNetworkOptions options_;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> delivered_{0};

  // Sends hold it shared while they post, so that once Detach has removed a
  // node under the exclusive lock nothing posts to its executor again.
  std::shared_mutex mu_;
  std::map<NodeId, std::shared_ptr<Node>> nodes_ ABSL_GUARDED_BY(mu_);
};

// The task a Send posts. If the executor destroys it unrun (a pool shutting
// down), the message still counts as dropped.
class InProcessNetworkState::Delivery {
 public:
  Delivery(std::shared_ptr<InProcessNetworkState> state,
           std::shared_ptr<Node> node, NodeId from, std::string message)
      : state_(std::move(state)),
        node_(std::move(node)),
        from_(from),
        message_(std::move(message)) {}
  Delivery(Delivery&&) = default;  // Leaves `state_` null in the source.
  Delivery& operator=(Delivery&&) = delete;
  ~Delivery() {
    if (state_ == nullptr) return;
    node_->in_flight.fetch_sub(1);
    state_->dropped_.fetch_add(1);
  }

  void operator()() {
    std::shared_ptr<InProcessNetworkState> state = std::move(state_);
    node_->in_flight.fetch_sub(1);
    state->Deliver(*node_, from_, std::move(message_));
  }

 private:
  std::shared_ptr<InProcessNetworkState> state_;  // Null once run or moved.
  std::shared_ptr<Node> node_;
  NodeId from_;
  std::string message_;
};

void InProcessNetworkState::Send(NodeId from, NodeId to, std::string message) {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = nodes_.find(to);
  if (it == nodes_.end()) {
    dropped_.fetch_add(1);
    return;
  }
  const std::shared_ptr<Node>& node = it->second;
  if (node->in_flight.fetch_add(1) >= options_.max_in_flight_per_node) {
    node->in_flight.fetch_sub(1);
    dropped_.fetch_add(1);
    return;
  }
  node->executor->Post(
      Delivery(shared_from_this(), node, from, std::move(message)));
}

void InProcessNetworkState::Deliver(Node& node, NodeId from,
                                    std::string message) {
  {
    std::lock_guard<std::mutex> lock(node.mu);
    if (!node.attached || !node.receiver) {
      dropped_.fetch_add(1);
      return;
    }
    node.receiving_on = std::this_thread::get_id();
  }
  // Outside the lock: the receiver may send, or destroy its own Transport.
  node.receiver(from, std::move(message));
  delivered_.fetch_add(1);
  Transport::Receiver retired;  // Destroyed after the lock is released.
  {
    std::lock_guard<std::mutex> lock(node.mu);
    node.receiving_on = std::thread::id();
    if (node.retire_after_receive) retired = std::move(node.receiver);
  }
  node.receiver_idle.notify_all();
}

void InProcessNetworkState::SetReceiver(Node& node,
                                        Transport::Receiver receiver) {
  std::lock_guard<std::mutex> lock(node.mu);
  PEGASUS_CHECK(!node.receiver)
      << "SetReceiver called twice for node " << node.id.ToString();
  if (node.attached) node.receiver = std::move(receiver);
}

void InProcessNetworkState::Detach(const std::shared_ptr<Node>& node) {
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    auto it = nodes_.find(node->id);
    if (it != nodes_.end() && it->second == node) nodes_.erase(it);
  }
  Transport::Receiver retired;  // Destroyed after the lock is released.
  std::unique_lock<std::mutex> lock(node->mu);
  node->attached = false;
  // Called from inside the receiver, which must not be destroyed while it
  // runs: Deliver destroys it when it returns.
  if (node->receiving_on == std::this_thread::get_id()) {
    node->retire_after_receive = true;
    return;
  }
  node->receiver_idle.wait(
      lock, [&] { return node->receiving_on == std::thread::id(); });
  retired = std::move(node->receiver);
  lock.unlock();
}

namespace {

class InProcessTransport final : public Transport {
 public:
  InProcessTransport(std::shared_ptr<InProcessNetworkState> state,
                     std::shared_ptr<Node> node)
      : state_(std::move(state)), node_(std::move(node)) {}
  ~InProcessTransport() override { state_->Detach(node_); }

  NodeId self() const override { return node_->id; }

  void Send(NodeId to, std::string message) override {
    state_->Send(node_->id, to, std::move(message));
  }

  void SetReceiver(Receiver receiver) override {
    state_->SetReceiver(*node_, std::move(receiver));
  }

 private:
  const std::shared_ptr<InProcessNetworkState> state_;
  const std::shared_ptr<Node> node_;
};

}  // namespace
}  // namespace internal

InProcessNetwork::InProcessNetwork(InProcessNetworkOptions options)
    : state_(std::make_shared<internal::InProcessNetworkState>(options)) {}

InProcessNetwork::~InProcessNetwork() = default;

std::unique_ptr<Transport> InProcessNetwork::Attach(NodeId id,
                                                    Executor* executor) {
  return std::make_unique<internal::InProcessTransport>(
      state_, state_->Attach(id, executor));
}

uint64_t InProcessNetwork::dropped() const { return state_->dropped(); }

uint64_t InProcessNetwork::delivered() const { return state_->delivered(); }

}  // namespace pegasus
