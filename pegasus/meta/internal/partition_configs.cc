#include "pegasus/meta/internal/partition_configs.h"

#include <algorithm>
#include <cstdint>
#include <set>

#include "absl/strings/numbers.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/meta_options.h"

namespace pegasus::meta_internal {
namespace {

constexpr std::string_view kPartitionPrefix = "partition/";

absl::Status Invalid(const std::string& message) {
  return PegasusError(ErrorCode::kInvalidArgument, message);
}

std::string Describe(proto::ConfigType type, NodeId node) {
  return proto::ConfigType_Name(type) + " of " + node.ToString();
}

void RemoveSecondary(proto::PartitionConfig& config, NodeId node) {
  auto* secondaries = config.mutable_secondaries();
  secondaries->erase(
      std::remove(secondaries->begin(), secondaries->end(), node.value),
      secondaries->end());
}

void ForgetDrop(proto::PartitionConfig& config, NodeId node) {
  auto* drops = config.mutable_last_drops();
  drops->erase(std::remove(drops->begin(), drops->end(), node.value),
               drops->end());
}

void AppendDrop(proto::PartitionConfig& config, NodeId node,
                int max_last_drops) {
  ForgetDrop(config, node);
  auto* drops = config.mutable_last_drops();
  drops->Add(node.value);
  const int excess = drops->size() - max_last_drops;
  if (excess > 0) drops->erase(drops->begin(), drops->begin() + excess);
}

// Checks the precondition of (type, node) on `current`; OK when it holds.
absl::Status CheckApplicable(const proto::PartitionConfig& current,
                             proto::ConfigType type, NodeId node) {
  const bool has_primary = current.primary() != 0;
  const bool is_primary = has_primary && current.primary() == node.value;
  const bool is_secondary = IsSecondary(current, node);
  const std::string what = Describe(type, node);
  switch (type) {
    case proto::CONFIG_ASSIGN_PRIMARY:
      if (has_primary || is_secondary) {
        return Invalid(what +
                       ": the partition has a primary, or the node "
                       "is a secondary");
      }
      return absl::OkStatus();
    case proto::CONFIG_UPGRADE_TO_PRIMARY:
      if (has_primary || !is_secondary) {
        return Invalid(what + ": needs no primary and the node a secondary");
      }
      return absl::OkStatus();
    case proto::CONFIG_UPGRADE_TO_SECONDARY:
      if (!has_primary || is_primary || is_secondary) {
        return Invalid(what + ": needs a primary and the node not a member");
      }
      if (MemberCount(current) + 1 > current.max_replica_count()) {
        return Invalid(what + ": the partition already has " +
                       std::to_string(current.max_replica_count()) +
                       " members");
      }
      return absl::OkStatus();
    case proto::CONFIG_DOWNGRADE_TO_SECONDARY:
    case proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT:
    case proto::CONFIG_SET_REPLICA_COUNT:
      if (!is_primary) return Invalid(what + ": the node is not the primary");
      return absl::OkStatus();
    case proto::CONFIG_DOWNGRADE_TO_INACTIVE:
    case proto::CONFIG_REMOVE:
      if (!is_primary && !is_secondary) {
        return Invalid(what + ": the node is not a member");
      }
      return absl::OkStatus();
    default:
      return Invalid(what + ": not a configuration change");
  }
}

}  // namespace

std::vector<NodeId> Members(const proto::PartitionConfig& config) {
  std::vector<NodeId> members;
  if (config.primary() != 0) members.push_back(NodeId{config.primary()});
  for (uint64_t s : config.secondaries()) members.push_back(NodeId{s});
  return members;
}

int MemberCount(const proto::PartitionConfig& config) {
  return (config.primary() != 0 ? 1 : 0) + config.secondaries_size();
}

absl::Status CheckMembersWellFormed(const proto::PartitionConfig& config) {
  std::set<uint64_t> seen;
  for (uint64_t s : config.secondaries()) {
    if (s == 0) return Invalid("a secondary has node id 0");
    if (!seen.insert(s).second) {
      return Invalid("secondary n" + std::to_string(s) + " is listed twice");
    }
  }
  if (config.primary() != 0 && seen.count(config.primary()) > 0) {
    return Invalid("primary n" + std::to_string(config.primary()) +
                   " is also a secondary");
  }
  for (uint64_t d : config.last_drops()) {
    if (d == 0) return Invalid("a dropped node has node id 0");
  }
  return absl::OkStatus();
}

absl::Status CheckConfigWellFormed(const proto::PartitionConfig& config,
                                   int max_last_drops) {
  PEGASUS_RETURN_IF_ERROR(CheckMembersWellFormed(config));
  if (config.ballot() < 0) return Invalid("negative ballot");
  if (config.max_replica_count() < kMinReplicaCount ||
      config.max_replica_count() > kMaxReplicaCountInMove) {
    return Invalid("max_replica_count " +
                   std::to_string(config.max_replica_count()) +
                   " is outside [1, 6]");
  }
  if (MemberCount(config) > config.max_replica_count()) {
    return Invalid("more members than max_replica_count");
  }
  if (config.last_drops_size() > max_last_drops) {
    return Invalid("more dropped nodes than max_last_drops");
  }
  std::set<uint64_t> drops(config.last_drops().begin(),
                           config.last_drops().end());
  if (static_cast<int>(drops.size()) != config.last_drops_size()) {
    return Invalid("a dropped node is listed twice");
  }
  return absl::OkStatus();
}

bool SameMembers(const proto::PartitionConfig& a,
                 const proto::PartitionConfig& b) {
  if (a.primary() != b.primary()) return false;
  std::vector<uint64_t> sa(a.secondaries().begin(), a.secondaries().end());
  std::vector<uint64_t> sb(b.secondaries().begin(), b.secondaries().end());
  std::sort(sa.begin(), sa.end());
  std::sort(sb.begin(), sb.end());
  return sa == sb;
}

bool SameConfig(const proto::PartitionConfig& a,
                const proto::PartitionConfig& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

absl::StatusOr<proto::PartitionConfig> ApplyChange(
    const proto::PartitionConfig& current, proto::ConfigType type, NodeId node,
    int max_last_drops) {
  if (node.value == 0) return Invalid("a change must name a node");
  PEGASUS_RETURN_IF_ERROR(CheckApplicable(current, type, node));
  proto::PartitionConfig next = current;
  next.set_ballot(current.ballot() + 1);
  switch (type) {
    case proto::CONFIG_ASSIGN_PRIMARY:
    case proto::CONFIG_UPGRADE_TO_PRIMARY:
      RemoveSecondary(next, node);
      next.set_primary(node.value);
      ForgetDrop(next, node);
      break;
    case proto::CONFIG_UPGRADE_TO_SECONDARY:
      next.add_secondaries(node.value);
      ForgetDrop(next, node);
      break;
    case proto::CONFIG_DOWNGRADE_TO_SECONDARY:
      next.set_primary(0);
      next.add_secondaries(node.value);
      break;
    case proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT:
    case proto::CONFIG_SET_REPLICA_COUNT:
      break;  // Only the ballot moves (the caller sets the count).
    default:  // DOWNGRADE_TO_INACTIVE, REMOVE (CheckApplicable said so).
      if (next.primary() == node.value) next.set_primary(0);
      RemoveSecondary(next, node);
      AppendDrop(next, node, max_last_drops);
      break;
  }
  return next;
}

std::string PartitionKey(Gpid gpid) {
  return std::string(kPartitionPrefix) + std::to_string(gpid.app_id) + "/" +
         std::to_string(gpid.partition_index);
}

bool IsPartitionKey(std::string_view key) {
  return key.substr(0, kPartitionPrefix.size()) == kPartitionPrefix;
}

std::optional<Gpid> ParsePartitionKey(std::string_view key) {
  if (!IsPartitionKey(key)) return std::nullopt;
  const std::string_view rest = key.substr(kPartitionPrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  // Debian's Abseil has its own string_view: convert at the boundary.
  const std::string app(rest.substr(0, slash));
  const std::string index(rest.substr(slash + 1));
  Gpid gpid;
  if (!absl::SimpleAtoi(app, &gpid.app_id) ||
      !absl::SimpleAtoi(index, &gpid.partition_index) || gpid.app_id <= 0 ||
      gpid.partition_index < 0) {
    return std::nullopt;
  }
  // Only the canonical spelling ("+1", " 1" and "01" are not keys we wrote).
  if (PartitionKey(gpid) != key) return std::nullopt;
  return gpid;
}

}  // namespace pegasus::meta_internal
