#include "pegasus/meta/internal/failure_detector.h"

#include <algorithm>

#include "pegasus/base/check.h"

namespace pegasus::meta_internal {

FailureDetector::FailureDetector(int64_t grace_ns, int max_nodes)
    : grace_ns_(grace_ns), max_nodes_(max_nodes) {
  PEGASUS_CHECK_GT(grace_ns_, 0);
  PEGASUS_CHECK_GE(max_nodes_, 1);
}

void FailureDetector::Expect(NodeId node, int64_t now_ns) {
  if (node.value == 0 || nodes_.count(node) > 0) return;
  if (static_cast<int>(nodes_.size()) >= max_nodes_ && !MakeRoom()) return;
  nodes_[node] = Node{NodeStatus::kUnknown, now_ns};
}

bool FailureDetector::OnBeacon(NodeId node, int64_t now_ns, uint64_t session,
                               uint64_t seq) {
  if (node.value == 0) return false;
  auto it = nodes_.find(node);
  if (it == nodes_.end()) {
    if (static_cast<int>(nodes_.size()) >= max_nodes_ && !MakeRoom()) {
      return false;
    }
    it = nodes_.emplace(node, Node{}).first;
  }
  Node& n = it->second;
  n.status = NodeStatus::kAlive;
  n.last_heard_ns = now_ns;
  if (session != n.session) {
    n.session = session;
    n.seq = seq;
  } else {
    n.seq = std::max(n.seq, seq);
  }
  return true;
}

proto::LeaseFence FailureDetector::Fence(NodeId node) const {
  proto::LeaseFence fence;
  auto it = nodes_.find(node);
  if (it != nodes_.end()) {
    fence.set_session(it->second.session);
    fence.set_beacon(it->second.seq);
  }
  return fence;
}

std::vector<NodeId> FailureDetector::DeclareDead(int64_t now_ns) {
  std::vector<NodeId> dead;
  for (auto& [id, node] : nodes_) {
    if (node.status == NodeStatus::kDead) continue;
    if (now_ns - node.last_heard_ns >= grace_ns_) {
      node.status = NodeStatus::kDead;
      dead.push_back(id);
    }
  }
  return dead;
}

NodeStatus FailureDetector::Status(NodeId node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? NodeStatus::kDead : it->second.status;
}

std::vector<NodeId> FailureDetector::AliveNodes() const {
  std::vector<NodeId> alive;
  for (const auto& [id, node] : nodes_) {
    if (node.status == NodeStatus::kAlive) alive.push_back(id);
  }
  return alive;
}

// Forgetting a dead node changes nothing: an untracked node is dead too.
bool FailureDetector::MakeRoom() {
  for (auto it = nodes_.begin(); it != nodes_.end(); ++it) {
    if (it->second.status == NodeStatus::kDead) {
      nodes_.erase(it);
      return true;
    }
  }
  return false;
}

}  // namespace pegasus::meta_internal
