// MetaCore's Tick (failure detection and the cure) and its invariants.

#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/internal/guardian.h"
#include "pegasus/meta/internal/partition_configs.h"
#include "pegasus/meta/meta_core.h"

namespace pegasus {

using meta_internal::CureAction;
using meta_internal::LoadMap;

void MetaCore::Tick(int64_t now_ns) {
  AdvanceTime(now_ns);
  if (!ready_) return;
  for (NodeId node : nodes_.DeclareDead(now_ns_)) {
    // A node that comes back must report again: its disk may have changed.
    reports_.erase(node);
    ++stats_.nodes_declared_dead;
  }
  // Load as it will be once the changes in flight land, updated as this
  // tick decides more, so one tick spreads new primaries and learners.
  LoadMap loads;
  for (const auto& [gpid, partition] : partitions_) {
    meta_internal::CountLoad(
        partition.pending ? partition.pending->config : partition.config, +1,
        loads);
  }
  effective_level_ = ComputeEffectiveLevel();
  for (auto it = partitions_.begin(); it != partitions_.end();) {
    auto& [gpid, partition] = *it;
    const proto::TableInfo& table = tables_.at(gpid.app_id);
    if (partition.pending) {
      ++it;
    } else if (table.status() == proto::TABLE_PURGED) {
      checked_ballots_.erase(gpid);
      it = partitions_.erase(it);
    } else {
      if (!partition.durable) {
        // The creation write failed (or a restart cut it short): write it
        // again before anything else, whatever the level.
        StartWrite(gpid, partition, partition.config, proto::CONFIG_INVALID,
                   NodeId{}, NodeId{}, {});
      } else if (table.status() == proto::TABLE_AVAILABLE &&
                 effective_level_ >= proto::META_LEVEL_FREEZED) {
        if (partition.move) DriveMove(gpid, partition);
        if (!partition.pending) {
          CurePartition(gpid, partition, table.replica_count(), loads);
        }
      } else if (partition.move) {
        AbandonMove(partition);
      }
      ++it;
    }
  }
  MaybeStartRound();
}

proto::MetaLevel MetaCore::effective_level() const { return effective_level_; }

proto::MetaLevel MetaCore::ComputeEffectiveLevel() const {
  if (level_ < proto::META_LEVEL_STEADY) return level_;
  const int64_t alive = static_cast<int64_t>(nodes_.AliveNodes().size());
  const int64_t tracked = static_cast<int64_t>(nodes_.tracked());
  if (alive < options_.min_live_nodes ||
      alive * 100 < tracked * options_.min_live_node_percent) {
    return proto::META_LEVEL_FREEZED;
  }
  return level_;
}

void MetaCore::CurePartition(Gpid gpid, Partition& partition,
                             int32_t replica_count, LoadMap& loads) {
  const proto::PartitionConfig& config = partition.config;
  const bool is_short =
      config.primary() != 0 &&
      meta_internal::MemberCount(config) < config.max_replica_count();
  if (!is_short) {
    partition.short_since_ns.reset();
  } else if (!partition.short_since_ns) {
    partition.short_since_ns = now_ns_;
  }
  const auto has_report = [&](NodeId node) {
    auto it = reports_.find(node);
    return it != reports_.end() && it->second.count(gpid) > 0;
  };
  const auto has_synced = [&](NodeId node) {
    return reports_.find(node) != reports_.end();
  };
  const CureAction action = meta_internal::DecideCure({
      .config = config,
      .nodes = nodes_,
      .loads = loads,
      .has_report = has_report,
      .has_synced = has_synced,
      .short_since_ns = partition.short_since_ns,
      .last_add_secondary_ns = partition.last_add_secondary_ns,
      .now_ns = now_ns_,
      .options = options_,
      .replica_count = replica_count,
      .freezed = effective_level_ == proto::META_LEVEL_FREEZED,
      .moving = partition.move.has_value(),
      // The guardian upgrades the move's `to` once `from` stepped down.
      .preferred_primary =
          partition.move && partition.move->phase == MovePhase::kUpgrade
              ? partition.move->move.to
              : NodeId{},
  });
  if (action.kind == CureAction::Kind::kAddSecondary) {
    AskForLearner(partition, action.node);
    ++loads[action.node].replicas;
  } else if (action.kind == CureAction::Kind::kChange) {
    absl::StatusOr<proto::PartitionConfig> next = meta_internal::ApplyChange(
        config, action.type, action.node, options_.max_last_drops);
    PEGASUS_CHECK_OK(next.status()) << "the guardian chose a change that "
                                       "does not apply";
    FollowReplicaCount(partition, *next);
    meta_internal::CountLoad(config, -1, loads);
    meta_internal::CountLoad(*next, +1, loads);
    StartWrite(gpid, partition, *std::move(next), action.type, action.node,
               NodeId{}, {});
  }
}

// CONFIG_ADD_SECONDARY changes no configuration: it asks the primary to
// start a learner on `node`, which the primary later proposes as a
// secondary (UPGRADE_TO_SECONDARY) once it has caught up.
void MetaCore::AskForLearner(Partition& partition, NodeId node) {
  proto::ConfigProposal proposal;
  *proposal.mutable_config() = partition.config;
  proposal.set_type(proto::CONFIG_ADD_SECONDARY);
  proposal.set_node(node.value);
  Send(NodeId{partition.config.primary()}, kNoReplyToken, std::move(proposal));
  ++stats_.proposals_sent;
  partition.last_add_secondary_ns = now_ns_;
}

// The meta server's own change is durable: every member of the new
// configuration hears of it (the new primary learns it is primary; the
// others learn the new ballot without waiting for the primary).
void MetaCore::ProposeToMembers(const PendingChange& change) {
  proto::ConfigProposal proposal;
  *proposal.mutable_config() = change.config;
  proposal.set_type(change.type);
  proposal.set_node(change.node.value);
  for (NodeId member : meta_internal::Members(change.config)) {
    Send(member, kNoReplyToken, proposal);
    ++stats_.proposals_sent;
  }
}

void MetaCore::CheckInvariants() const {
  PEGASUS_CHECK_OK(ValidateMetaOptions(options_));
  PEGASUS_CHECK_LE(static_cast<int>(partitions_.size()),
                   options_.max_partitions);
  PEGASUS_CHECK_LE(static_cast<int>(nodes_.tracked()), options_.max_nodes);
  size_t pending_count = 0;
  int moves = 0;
  for (const auto& [gpid, partition] : partitions_) {
    const proto::PartitionConfig& config = partition.config;
    if (partition.move) {
      ++moves;
      PEGASUS_CHECK(partition.move->move.gpid == gpid);
      PEGASUS_CHECK_LE(partition.move->ballot, config.ballot());
    }
    PEGASUS_CHECK(meta_internal::GpidOf(config) == gpid) << gpid.ToString();
    PEGASUS_CHECK_OK(
        meta_internal::CheckConfigWellFormed(config, options_.max_last_drops))
        << gpid.ToString();
    auto [seen, inserted] = checked_ballots_.emplace(gpid, config.ballot());
    PEGASUS_CHECK_GE(config.ballot(), seen->second)
        << gpid.ToString() << ": the ballot went down";
    seen->second = config.ballot();
    if (!partition.durable) PEGASUS_CHECK_EQ(config.ballot(), 0);
    if (!partition.pending) continue;
    ++pending_count;
    const PendingChange& pending = *partition.pending;
    PEGASUS_CHECK_OK(meta_internal::CheckConfigWellFormed(
        pending.config, options_.max_last_drops))
        << gpid.ToString();
    PEGASUS_CHECK_EQ(pending.config.ballot(),
                     partition.durable ? config.ballot() + 1 : 0)
        << gpid.ToString();
    PEGASUS_CHECK(writes_in_flight_.at(pending.write_id) == gpid);
    PEGASUS_CHECK_LE(static_cast<int>(pending.waiters.size()),
                     options_.max_waiters_per_change);
  }
  PEGASUS_CHECK_EQ(pending_count, writes_in_flight_.size());
  PEGASUS_CHECK_LE(moves, options_.balancer.max_moves_per_round);
}

}  // namespace pegasus
