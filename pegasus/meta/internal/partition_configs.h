// Pure functions over proto::PartitionConfig: membership queries, shape
// checks, and the one place that says what each kind of configuration
// change does to a configuration (ApplyChange).

#ifndef PEGASUS_META_INTERNAL_PARTITION_CONFIGS_H_
#define PEGASUS_META_INTERNAL_PARTITION_CONFIGS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/proto/partition_config.h"
#include "pegasus/proto/replication.pb.h"

namespace pegasus::meta_internal {

using ::pegasus::GpidOf;
using ::pegasus::IsDropped;
using ::pegasus::IsMember;
using ::pegasus::IsSecondary;

// The primary (if any) first, then the secondaries in order.
std::vector<NodeId> Members(const proto::PartitionConfig& config);
int MemberCount(const proto::PartitionConfig& config);

// OK when no member or dropped id is 0, no node is listed twice among the
// members, and the primary is not also a secondary; else
// PERR_INVALID_ARGUMENT saying which.
absl::Status CheckMembersWellFormed(const proto::PartitionConfig& config);

// The whole shape of a configuration the meta server keeps: members well
// formed, ballot >= 0, max_replica_count within [1, 6] (a table asks for
// 1 to 5; a copy in progress has one member more), at most that many
// members, at most `max_last_drops` drops, no dropped node listed twice.
absl::Status CheckConfigWellFormed(const proto::PartitionConfig& config,
                                   int max_last_drops);

// Same primary and the same set of secondaries (order ignored).
bool SameMembers(const proto::PartitionConfig& a,
                 const proto::PartitionConfig& b);

// Every field equal.
bool SameConfig(const proto::PartitionConfig& a,
                const proto::PartitionConfig& b);

// `current` changed by (type, node), with the ballot one higher. The
// changes:
//   ASSIGN_PRIMARY         no primary, node not a secondary -> primary
//   UPGRADE_TO_PRIMARY     no primary, node a secondary     -> primary
//   UPGRADE_TO_SECONDARY   a primary, node not a member, room for one more
//                          member                            -> secondary
//   DOWNGRADE_TO_SECONDARY node the primary                 -> secondary
//   PRIMARY_FORCE_UPDATE_BALLOT,
//   SET_REPLICA_COUNT      node the primary                 (members kept)
//   DOWNGRADE_TO_INACTIVE,
//   REMOVE                 node a member                    -> dropped
// A node that becomes a member leaves last_drops; a dropped node is
// appended to it (moved to the end if already there), and the oldest drops
// beyond `max_last_drops` are forgotten. PERR_INVALID_ARGUMENT when the
// change does not apply to `current` (CONFIG_ADD_SECONDARY never does: it
// asks the primary for a learner and changes no configuration).
absl::StatusOr<proto::PartitionConfig> ApplyChange(
    const proto::PartitionConfig& current, proto::ConfigType type, NodeId node,
    int max_last_drops);

// The store key of a partition's configuration: "partition/<app>/<index>".
std::string PartitionKey(Gpid gpid);
// The partition a key names; nullopt for a key of another kind. A key with
// the partition prefix that does not parse is nullopt too, and
// IsPartitionKey tells the two apart.
std::optional<Gpid> ParsePartitionKey(std::string_view key);
bool IsPartitionKey(std::string_view key);

}  // namespace pegasus::meta_internal

#endif  // PEGASUS_META_INTERNAL_PARTITION_CONFIGS_H_
