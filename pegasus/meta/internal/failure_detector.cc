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
  Node& n = nodes_[node];
  n.status = NodeStatus::kUnknown;
  n.last_heard_ns = now_ns;
}

bool FailureDetector::OnBeacon(NodeId node, int64_t now_ns, uint64_t session,
                               int64_t session_start_us, uint64_t seq) {
  if (node.value == 0) return false;
  auto it = nodes_.find(node);
  if (it == nodes_.end()) {
    if (static_cast<int>(nodes_.size()) >= max_nodes_ && !MakeRoom()) {
      return false;
    }
    it = nodes_.emplace(node, Node{}).first;
  }
  Node& n = it->second;
  if (session != n.session) {
    // Random session ids do not say which came first, and the network may
    // deliver a beacon of a process that is gone after those of its
    // successor: taken for a restart, it would fence every later message
    // to the live process off. The sessions' start times order them; once
    // the current session was declared dead, any other may follow it (its
    // clock may have been set back).
    const bool later =
        n.session == 0 || session_start_us > n.session_start_us ||
        (session_start_us == n.session_start_us && session > n.session);
    const bool retired = std::find(n.retired.begin(), n.retired.end(),
                                   session) != n.retired.end();
    if (!later && (n.status != NodeStatus::kDead || retired)) return false;
    if (n.session != 0) n.retired.push_back(n.session);
    if (n.retired.size() > kRetiredSessions) n.retired.erase(n.retired.begin());
    n.session = session;
    n.session_start_us = session_start_us;
    n.seq = seq;
    n.dead_seq = 0;
    n.sync_seq = 0;
  }
  n.status = NodeStatus::kAlive;
  n.last_heard_ns = now_ns;
  n.seq = std::max(n.seq, seq);
  return true;
}

bool FailureDetector::AcceptSync(NodeId node,
                                 const proto::ConfigSyncRequest& sync) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return false;
  Node& n = it->second;
  if (n.status != NodeStatus::kAlive || sync.session() != n.session ||
      sync.lease_beacon() <= n.dead_seq || sync.seq() <= n.sync_seq) {
    return false;
  }
  n.sync_seq = sync.seq();
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
      node.dead_seq = node.seq;
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

std::vector<NodeId> FailureDetector::Nodes() const {
  std::vector<NodeId> nodes;
  for (const auto& [id, node] : nodes_) nodes.push_back(id);
  return nodes;
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
