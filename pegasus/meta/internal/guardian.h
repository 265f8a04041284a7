// The guardian: for one partition, the one change that moves it toward a
// full, healthy configuration, as a pure function of the partition's
// configuration, the table's replica count, the nodes' liveness and load,
// what nodes reported, and the time. MetaCore carries the decision out
// (persist, then notify).
//
// Freezed (the meta level, or too few nodes alive), only failover is done:
// rules 1-3 and 5 when the newest drop holds the data; never a new
// partition's assignment, a replica count change or a learner.
//
// The rules, first match wins (docs/meta_server.md gives the reasons):
//   1. the primary is dead: DOWNGRADE_TO_INACTIVE it;
//   2. a secondary is dead: DOWNGRADE_TO_INACTIVE it (the first in order);
//   3. no primary, an alive secondary: UPGRADE_TO_PRIMARY the alive
//      secondary whose node has the fewest primaries (ties: lowest id), or
//      the move's preferred primary when it is an alive secondary;
//   4. no primary, no members, no drops (a new partition): ASSIGN_PRIMARY
//      the alive node with the fewest replicas (ties: fewest primaries, then
//      lowest id);
//   5. no primary, no members, drops (every replica died): ASSIGN_PRIMARY
//      the newest dropped node once it is alive and has reported a replica
//      of the partition; never any other node -- except that a dropped
//      node that synced and reports no replica at all never held the
//      partition (it was assigned primary of a new partition and never
//      heard so), and is passed over; when every drop is passed over the
//      partition never had data, and is assigned as a new one (rule 4);
//   6. an alive primary, and the table's replica count is not the
//      configuration's max_replica_count: SET_REPLICA_COUNT (the same
//      members under a new ballot, taking on the table's count) when the
//      members fit it; else REMOVE the secondary on the node with the most
//      replicas (ties: lowest id), one at a time;
//   7. an alive primary and fewer members than max_replica_count: ask the
//      primary (ADD_SECONDARY) for a learner: an alive dropped node (newest
//      first) at once; otherwise, once the partition has been short for
//      add_secondary_delay_ns (at once if it never lost a member), the
//      alive non-member with the fewest replicas (ties: lowest id). At most
//      once per add_secondary_delay_ns.
// While a move is in progress on the partition, only rules 1-3 apply: the
// move carries its own extra member and raised max_replica_count, which
// rules 6 and 7 would undo. A dead member still goes (and that aborts the
// move; the rules then restore a normal configuration).

#ifndef PEGASUS_META_INTERNAL_GUARDIAN_H_
#define PEGASUS_META_INTERNAL_GUARDIAN_H_

#include <cstdint>
#include <map>
#include <optional>

#include "absl/functional/function_ref.h"
#include "pegasus/base/ids.h"
#include "pegasus/meta/internal/failure_detector.h"
#include "pegasus/meta/meta_options.h"
#include "pegasus/proto/replication.pb.h"

namespace pegasus::meta_internal {

// How many replicas (primaries included) and primaries a node holds.
struct NodeLoad {
  int replicas = 0;
  int primaries = 0;
};
using LoadMap = std::map<NodeId, NodeLoad>;

// Adds (sign +1) or removes (sign -1) `config`'s members to `loads`.
void CountLoad(const proto::PartitionConfig& config, int sign, LoadMap& loads);

struct CureAction {
  enum class Kind {
    kNone,
    // Persist ApplyChange(config, type, node), then notify the members.
    kChange,
    // Send CONFIG_ADD_SECONDARY naming `node` to the primary.
    kAddSecondary,
  };
  Kind kind = Kind::kNone;
  proto::ConfigType type = proto::CONFIG_INVALID;
  NodeId node;
};

struct CureInput {
  const proto::PartitionConfig& config;
  const FailureDetector& nodes;
  const LoadMap& loads;
  // Whether `node` has reported (configuration sync) a replica of this
  // partition since it was last declared dead.
  absl::FunctionRef<bool(NodeId)> has_report;
  // Whether `node` has synced its configuration at all since it was last
  // declared dead (with or without a replica of this partition).
  absl::FunctionRef<bool(NodeId)> has_synced;
  // When the partition was first seen short of members with a primary, and
  // when an ADD_SECONDARY was last sent for its current ballot.
  std::optional<int64_t> short_since_ns;
  std::optional<int64_t> last_add_secondary_ns;
  int64_t now_ns = 0;
  const MetaOptions& options;
  // The table's replica count (the configuration's max_replica_count
  // follows it).
  int replica_count = 0;
  bool freezed = false;
  // A move is in progress on the partition: rules 4-7 do not apply.
  bool moving = false;
  // Rule 3 upgrades this node when it is an alive secondary (the move's
  // new primary); 0 for none.
  NodeId preferred_primary;
};

CureAction DecideCure(const CureInput& input);

}  // namespace pegasus::meta_internal

#endif  // PEGASUS_META_INTERNAL_GUARDIAN_H_
