// The meta server's side of failure detection: which replica servers are
// alive, judged only by when their beacons arrived (times come in as
// arguments; nothing here reads a clock).
//
//   kUnknown: named in a recovered configuration, not heard from since the
//             meta server started; it has grace_ns from the recovery time.
//   kAlive:   a beacon arrived less than grace_ns ago.
//   kDead:    declared dead by DeclareDead, or never heard from at all.
//
// Unknown nodes are neither used for new roles nor removed from
// configurations: after a meta restart every node gets a full grace period
// to beacon before its partitions are taken from it.

#ifndef PEGASUS_META_INTERNAL_FAILURE_DETECTOR_H_
#define PEGASUS_META_INTERNAL_FAILURE_DETECTOR_H_

#include <cstdint>
#include <map>
#include <vector>

#include "pegasus/base/ids.h"
#include "pegasus/proto/replication.pb.h"

namespace pegasus {

enum class NodeStatus { kUnknown, kAlive, kDead };

namespace meta_internal {

class FailureDetector {
 public:
  // REQUIRES: grace_ns > 0, max_nodes >= 1.
  FailureDetector(int64_t grace_ns, int max_nodes);

  // Tracks `node` as kUnknown with grace from `now_ns`, unless it is
  // tracked already.
  void Expect(NodeId node, int64_t now_ns);

  // Records a beacon of session `session`, started at `session_start_us` by
  // the node's wall clock: the node is alive as of `now_ns`, and the beacon
  // is its latest (the fence, below). A beacon of another session than the
  // current one starts a new current session (the node restarted) if that
  // session started later; or, once the current one was declared dead, if
  // it is none of the node's last few sessions before the current one (the
  // node's clock may have been set back across a restart).
  // Returns false, and records nothing, for a beacon of an earlier session
  // (a late message of a process that is gone: no sign the node lives), and
  // when the node is new and max_nodes are tracked, none of them dead (a
  // dead one is evicted to make room: the lowest id).
  bool OnBeacon(NodeId node, int64_t now_ns, uint64_t session,
                int64_t session_start_us, uint64_t seq);

  // The fence for messages to `node`: the session of the latest beacon to
  // arrive and the highest seq seen in that session. Zeros for a node never
  // heard from (or forgotten).
  proto::LeaseFence Fence(NodeId node) const;

  // Whether a config sync from `node` is current, and if so records it: it
  // is of the node's latest session, sent under a lease that started after
  // the node was last declared dead (its lease_beacon is above every seq
  // that had arrived by then: the lease that beacon started began after
  // the declaration, docs/replication.md, "Fencing the meta server's
  // messages"), and newer than the last current one.
  bool AcceptSync(NodeId node, const proto::ConfigSyncRequest& sync);

  // Declares dead every alive or unknown node last heard from grace_ns or
  // more before `now_ns`; returns them in id order.
  std::vector<NodeId> DeclareDead(int64_t now_ns);

  NodeStatus Status(NodeId node) const;
  bool IsAlive(NodeId node) const { return Status(node) == NodeStatus::kAlive; }
  bool IsDead(NodeId node) const { return Status(node) == NodeStatus::kDead; }

  // Alive nodes in id order.
  std::vector<NodeId> AliveNodes() const;
  // Every tracked node (alive, dead or unknown) in id order.
  std::vector<NodeId> Nodes() const;
  size_t tracked() const { return nodes_.size(); }

 private:
  struct Node {
    NodeStatus status = NodeStatus::kUnknown;
    // The last beacon's arrival, or the recovery time for kUnknown.
    int64_t last_heard_ns = 0;
    uint64_t session = 0;
    int64_t session_start_us = 0;
    uint64_t seq = 0;
    // The highest seq of the session when it was last declared dead.
    uint64_t dead_seq = 0;
    // The seq of the last current sync of the session.
    uint64_t sync_seq = 0;
    // The node's earlier sessions, newest last (at most kRetiredSessions).
    std::vector<uint64_t> retired;
  };
  static constexpr size_t kRetiredSessions = 4;

  bool MakeRoom();

  const int64_t grace_ns_;
  const int max_nodes_;
  std::map<NodeId, Node> nodes_;
};

}  // namespace meta_internal
}  // namespace pegasus

#endif  // PEGASUS_META_INTERNAL_FAILURE_DETECTOR_H_
