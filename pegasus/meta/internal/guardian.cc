#include "pegasus/meta/internal/guardian.h"

#include <algorithm>
#include <optional>
#include <tuple>
#include <vector>

#include "pegasus/meta/internal/partition_configs.h"

namespace pegasus::meta_internal {
namespace {

using Kind = CureAction::Kind;

CureAction Change(proto::ConfigType type, NodeId node) {
  return CureAction{Kind::kChange, type, node};
}

NodeLoad LoadOf(const LoadMap& loads, NodeId node) {
  auto it = loads.find(node);
  return it == loads.end() ? NodeLoad{} : it->second;
}

// The candidate with the smallest key(node); ties cannot happen because the
// key ends with the node id.
template <typename Key>
std::optional<NodeId> Best(const std::vector<NodeId>& candidates, Key key) {
  std::optional<NodeId> best;
  for (NodeId node : candidates) {
    if (!best || key(node) < key(*best)) best = node;
  }
  return best;
}

CureAction UpgradeSecondary(const CureInput& in) {
  const NodeId preferred = in.preferred_primary;
  if (preferred.value != 0 && IsSecondary(in.config, preferred) &&
      in.nodes.IsAlive(preferred)) {
    return Change(proto::CONFIG_UPGRADE_TO_PRIMARY, preferred);
  }
  std::vector<NodeId> alive;
  for (uint64_t s : in.config.secondaries()) {
    if (in.nodes.IsAlive(NodeId{s})) alive.push_back(NodeId{s});
  }
  auto best = Best(alive, [&](NodeId n) {
    return std::make_tuple(LoadOf(in.loads, n).primaries, n.value);
  });
  if (!best) return {};
  return Change(proto::CONFIG_UPGRADE_TO_PRIMARY, *best);
}

CureAction AssignNewPrimary(const CureInput& in) {
  auto best = Best(in.nodes.AliveNodes(), [&](NodeId n) {
    const NodeLoad load = LoadOf(in.loads, n);
    return std::make_tuple(load.replicas, load.primaries, n.value);
  });
  if (!best) return {};
  return Change(proto::CONFIG_ASSIGN_PRIMARY, *best);
}

// Every replica died. The newest dropped node was a member of the last
// configuration that had any members, and no configuration since has had a
// primary, so nothing has committed since it left. The commit invariant
// holds in every configuration (a learner joins only once it has everything
// the primary committed; a new primary re-prepares its whole prepared list
// before serving), so every member of that last configuration has prepared
// every mutation ever committed. The newest dropped node is therefore safe:
// as primary it re-prepares and commits them all. An older dropped node may
// lack mutations committed after it left; promoting it would lose
// acknowledged writes. Hence: wait for that one node, however long it takes.
CureAction AssignAfterAllDead(const CureInput& in) {
  const auto& drops = in.config.last_drops();
  // A node that synced without any replica of the partition never held it:
  // a member always has its replica on disk (the replica server makes the
  // replica durable before it acts in any role), so this one was assigned
  // primary of a new partition and never heard so, and nothing was ever
  // committed with it. The drop before it is then the newest that may hold
  // data.
  for (int i = drops.size() - 1; i >= 0; --i) {
    const NodeId node{drops.Get(i)};
    if (!in.nodes.IsAlive(node) || !in.has_synced(node)) return {};
    if (in.has_report(node)) return Change(proto::CONFIG_ASSIGN_PRIMARY, node);
  }
  return AssignNewPrimary(in);
}

// The planted bug: the oldest dropped node that is alive and no member.
std::optional<CureAction> PromoteRemoved(const CureInput& in) {
  if (MemberCount(in.config) >= in.config.max_replica_count()) {
    return std::nullopt;
  }
  for (uint64_t dropped : in.config.last_drops()) {
    const NodeId node{dropped};
    if (in.nodes.IsAlive(node) && !IsMember(in.config, node)) {
      return Change(proto::CONFIG_ASSIGN_PRIMARY, node);
    }
  }
  return std::nullopt;
}

CureAction CureNoPrimary(const CureInput& in) {
  if (in.options.planted_promote_removed) {
    if (std::optional<CureAction> wrong = PromoteRemoved(in)) return *wrong;
  }
  if (in.config.secondaries_size() > 0) return UpgradeSecondary(in);
  if (in.config.last_drops_size() == 0) {
    return in.freezed ? CureAction{} : AssignNewPrimary(in);
  }
  const CureAction action = AssignAfterAllDead(in);
  // A partition that never held data is assigned anew: not while freezed.
  if (in.freezed && action.kind == Kind::kChange &&
      !std::count(in.config.last_drops().begin(),
                  in.config.last_drops().end(), action.node.value)) {
    return {};
  }
  return action;
}

// The table's replica count changed: the configuration takes it on under a
// new ballot (so the primary knows how many members to keep), after
// removing the secondary on the busiest node while there are too many.
CureAction CureReplicaCount(const CureInput& in) {
  const proto::PartitionConfig& config = in.config;
  if (MemberCount(config) <= in.replica_count) {
    return Change(proto::CONFIG_SET_REPLICA_COUNT, NodeId{config.primary()});
  }
  std::vector<NodeId> secondaries;
  for (uint64_t s : config.secondaries()) secondaries.push_back(NodeId{s});
  auto busiest = Best(secondaries, [&](NodeId n) {
    return std::make_tuple(-LoadOf(in.loads, n).replicas, n.value);
  });
  if (!busiest) return {};
  return Change(proto::CONFIG_REMOVE, *busiest);
}

bool Elapsed(std::optional<int64_t> since_ns, const CureInput& in) {
  return !since_ns ||
         in.now_ns - *since_ns >= in.options.add_secondary_delay_ns;
}

CureAction CureShort(const CureInput& in) {
  const proto::PartitionConfig& config = in.config;
  if (!in.nodes.IsAlive(NodeId{config.primary()})) return {};
  if (MemberCount(config) >= config.max_replica_count()) return {};
  if (!Elapsed(in.last_add_secondary_ns, in)) return {};
  // A dropped node that came back holds most of the data: take it at once.
  const auto& drops = config.last_drops();
  for (int i = drops.size() - 1; i >= 0; --i) {
    const NodeId node{drops.Get(i)};
    if (in.nodes.IsAlive(node) && !IsMember(config, node)) {
      return CureAction{Kind::kAddSecondary, proto::CONFIG_ADD_SECONDARY, node};
    }
  }
  // Give a dropped node add_secondary_delay_ns to come back before copying
  // the data elsewhere; a partition that never lost a member has no one to
  // wait for.
  if (drops.size() > 0 && !Elapsed(in.short_since_ns, in)) return {};
  std::vector<NodeId> candidates;
  for (NodeId node : in.nodes.AliveNodes()) {
    if (!IsMember(config, node)) candidates.push_back(node);
  }
  auto best = Best(candidates, [&](NodeId n) {
    return std::make_tuple(LoadOf(in.loads, n).replicas, n.value);
  });
  if (!best) return {};
  return CureAction{Kind::kAddSecondary, proto::CONFIG_ADD_SECONDARY, *best};
}

}  // namespace

void CountLoad(const proto::PartitionConfig& config, int sign, LoadMap& loads) {
  if (config.primary() != 0) {
    NodeLoad& load = loads[NodeId{config.primary()}];
    load.replicas += sign;
    load.primaries += sign;
  }
  for (uint64_t s : config.secondaries()) loads[NodeId{s}].replicas += sign;
}

CureAction DecideCure(const CureInput& in) {
  const proto::PartitionConfig& config = in.config;
  if (config.primary() != 0 && in.nodes.IsDead(NodeId{config.primary()})) {
    return Change(proto::CONFIG_DOWNGRADE_TO_INACTIVE,
                  NodeId{config.primary()});
  }
  for (uint64_t s : config.secondaries()) {
    if (in.nodes.IsDead(NodeId{s})) {
      return Change(proto::CONFIG_DOWNGRADE_TO_INACTIVE, NodeId{s});
    }
  }
  if (config.primary() == 0) {
    if (in.moving && config.secondaries_size() == 0) return {};
    return CureNoPrimary(in);
  }
  if (in.freezed || in.moving || !in.nodes.IsAlive(NodeId{config.primary()})) {
    return {};
  }
  if (config.max_replica_count() != in.replica_count) {
    return CureReplicaCount(in);
  }
  return CureShort(in);
}

}  // namespace pegasus::meta_internal
