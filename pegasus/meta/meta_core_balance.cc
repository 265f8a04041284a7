// MetaCore's balancing: rounds of the greedy balancer at level lively,
// carrying out each move one persisted step at a time, and operators'
// balance and propose requests. docs/meta_server.md ("The balancer") says
// why each step is safe.
//
// A move's steps, each a configuration change persisted before anyone
// hears of it (ballot + 1 each):
//   copy_secondary  SET_REPLICA_COUNT (table + 1, the meta server's own),
//                   UPGRADE_TO_SECONDARY of `to` (the primary's, once the
//                   learner it was asked for caught up), REMOVE of `from`
//                   (the meta server's; max_replica_count back to the table's)
//   copy_primary    the same, with between the upgrade and the removal:
//   move_primary    DOWNGRADE_TO_SECONDARY of `from` (the primary's own,
//                   asked of it: the meta server never demotes a live
//                   primary), UPGRADE_TO_PRIMARY of `to` (the guardian's
//                   rule 3, which prefers `to`)
// Any other change of the partition in between (a node's death, a
// primary's removal of a secondary) abandons the move, and so do a step
// that takes move_step_timeout_ns, `from` or `to` not alive, and the level
// falling below steady. The cure then brings the partition back to the
// table's replica count (guardian rule 6).

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/internal/partition_configs.h"
#include "pegasus/meta/meta_core.h"

namespace pegasus {

using balance::Move;
using balance::MoveKind;
using meta_internal::IsMember;
using meta_internal::IsSecondary;
using meta_internal::MemberCount;

namespace {

absl::Status Invalid(const std::string& message) {
  return PegasusError(ErrorCode::kInvalidArgument, message);
}

std::optional<MoveKind> KindOf(proto::BalanceRequest::Kind kind) {
  switch (kind) {
    case proto::BalanceRequest::MOVE_PRIMARY:
      return MoveKind::kMovePrimary;
    case proto::BalanceRequest::COPY_PRIMARY:
      return MoveKind::kCopyPrimary;
    case proto::BalanceRequest::COPY_SECONDARY:
      return MoveKind::kCopySecondary;
    default:
      return std::nullopt;
  }
}

// "upgrade_to_primary", as Pegasus's shell spells the types.
std::string ProposeName(proto::ProposeType type) {
  std::string name = proto::ProposeType_Name(type);
  if (name.empty()) return "type " + std::to_string(type);
  name = name.substr(std::string("PROPOSE_").size());
  for (char& c : name) c = static_cast<char>(std::tolower(c));
  return name;
}

std::string Describe(const proto::PartitionConfig& config) {
  std::string text = "(ballot " + std::to_string(config.ballot()) +
                     ", primary n" + std::to_string(config.primary()) +
                     ", secondaries";
  for (uint64_t s : config.secondaries()) text += " n" + std::to_string(s);
  return text + ")";
}

}  // namespace

// --- Rounds ------------------------------------------------------------------

balance::ClusterSnapshot MetaCore::BalanceSnapshot() const {
  balance::ClusterSnapshot snapshot;
  snapshot.alive_nodes = nodes_.AliveNodes();
  for (const auto& [app_id, table] : tables_) {
    if (table.status() != proto::TABLE_AVAILABLE) continue;
    balance::TableSnapshot& out = snapshot.tables.emplace_back();
    out.app_id = app_id;
    for (auto it = partitions_.lower_bound(Gpid{app_id, 0});
         it != partitions_.end() && it->first.app_id == app_id; ++it) {
      out.partitions.push_back(it->second.config);
    }
  }
  return snapshot;
}

// A round at most every balancer_interval_ns, at level lively, when nothing
// is in progress: the moves of a round are computed against configurations
// no one is changing, and each partition is in at most one move.
void MetaCore::MaybeStartRound() {
  if (effective_level_ != proto::META_LEVEL_LIVELY ||
      now_ns_ - last_round_ns_ < options_.balancer_interval_ns ||
      admin_write_id_ != 0 || !admin_queue_.empty()) {
    return;
  }
  bool healthy = true;
  for (const auto& [gpid, partition] : partitions_) {
    if (partition.pending || partition.move) return;
    // A replica count the cure has yet to apply counts as unhealthy.
    if (TableAvailable(gpid.app_id)) {
      healthy = healthy && partition.config.max_replica_count() ==
                               tables_.at(gpid.app_id).replica_count();
    }
  }
  last_round_ns_ = now_ns_;
  const balance::ClusterSnapshot snapshot = BalanceSnapshot();
  if (!healthy || !balance::CheckBalanceable(snapshot).ok()) {
    ++stats_.balancer_rounds_unbalanceable;
    return;
  }
  ++stats_.balancer_rounds;
  for (const Move& move : balance::ProposeMoves(snapshot, options_.balancer)) {
    StartMove(move.gpid, partitions_.at(move.gpid), move);
  }
}

// --- Carrying a move out -----------------------------------------------------

void MetaCore::StartMove(Gpid gpid, Partition& partition, const Move& move) {
  PEGASUS_CHECK(!partition.move && !partition.pending) << gpid.ToString();
  MoveRun run;
  run.move = move;
  run.phase = move.kind == MoveKind::kMovePrimary ? MovePhase::kDowngrade
                                                  : MovePhase::kRaise;
  run.ballot = partition.config.ballot();
  run.replica_count = tables_.at(gpid.app_id).replica_count();
  run.phase_since_ns = now_ns_;
  partition.move = std::move(run);
  ++stats_.moves_started;
  DriveMove(gpid, partition);
}

void MetaCore::DriveMove(Gpid gpid, Partition& partition) {
  if (partition.pending) return;  // Its completion moves the move on.
  MoveRun& run = *partition.move;
  const Move& move = run.move;
  const proto::PartitionConfig& config = partition.config;
  if (effective_level_ < proto::META_LEVEL_STEADY ||
      !TableAvailable(gpid.app_id) ||
      tables_.at(gpid.app_id).replica_count() != run.replica_count ||
      config.ballot() != run.ballot || !nodes_.IsAlive(move.from) ||
      !nodes_.IsAlive(move.to) ||
      now_ns_ - run.phase_since_ns >= options_.move_step_timeout_ns) {
    AbandonMove(partition);
    return;
  }
  const bool due = !run.last_sent_ns ||
                   now_ns_ - *run.last_sent_ns >= options_.move_retry_ns;
  switch (run.phase) {
    case MovePhase::kRaise:
    case MovePhase::kRemove: {
      const bool raise = run.phase == MovePhase::kRaise;
      const proto::ConfigType type =
          raise ? proto::CONFIG_SET_REPLICA_COUNT : proto::CONFIG_REMOVE;
      const NodeId node = raise ? NodeId{config.primary()} : move.from;
      absl::StatusOr<proto::PartitionConfig> next = meta_internal::ApplyChange(
          config, type, node, options_.max_last_drops);
      if (!next.ok()) {
        AbandonMove(partition);
        return;
      }
      FollowReplicaCount(partition, *next);
      StartWrite(gpid, partition, *std::move(next), type, node, NodeId{}, {});
      break;
    }
    case MovePhase::kLearn:
      // Asked again while it learns: a primary that has the learner only
      // invites it again, and one that lost it (it restarted, its lease
      // lapsed) takes it on anew.
      if (due) {
        AskForLearner(partition, move.to);
        run.last_sent_ns = now_ns_;
      }
      break;
    case MovePhase::kDowngrade:
      if (due) {
        AskToStepDown(partition);
        run.last_sent_ns = now_ns_;
      }
      break;
    case MovePhase::kUpgrade:
      break;  // The guardian's rule 3 upgrades `to` (CurePartition).
  }
}

void MetaCore::AdvanceMove(Gpid gpid, Partition& partition,
                           const PendingChange& change) {
  MoveRun& run = *partition.move;
  const Move& move = run.move;
  proto::ConfigType type = proto::CONFIG_INVALID;
  NodeId node;
  MovePhase next = run.phase;
  bool done = false;
  switch (run.phase) {
    case MovePhase::kRaise:
      type = proto::CONFIG_SET_REPLICA_COUNT;
      node = NodeId{partition.config.primary()};
      next = MovePhase::kLearn;
      break;
    case MovePhase::kLearn:
      type = proto::CONFIG_UPGRADE_TO_SECONDARY;
      node = move.to;
      next = move.kind == MoveKind::kCopyPrimary ? MovePhase::kDowngrade
                                                 : MovePhase::kRemove;
      break;
    case MovePhase::kDowngrade:
      type = proto::CONFIG_DOWNGRADE_TO_SECONDARY;
      node = move.from;
      next = MovePhase::kUpgrade;
      break;
    case MovePhase::kUpgrade:
      type = proto::CONFIG_UPGRADE_TO_PRIMARY;
      node = move.to;
      next = MovePhase::kRemove;
      done = move.kind == MoveKind::kMovePrimary;
      break;
    case MovePhase::kRemove:
      type = proto::CONFIG_REMOVE;
      node = move.from;
      done = true;
      break;
  }
  if (change.type != type || change.node != node ||
      change.config.ballot() != run.ballot + 1) {
    AbandonMove(partition);  // Someone else changed the partition.
    return;
  }
  ++stats_.move_steps;
  if (done) {
    partition.move.reset();
    ++stats_.moves_finished;
    return;
  }
  run.phase = next;
  run.ballot = change.config.ballot();
  run.phase_since_ns = now_ns_;
  run.last_sent_ns.reset();
  DriveMove(gpid, partition);
}

// Whatever the move changed stays; the cure takes the partition back to
// the table's replica count (an extra member is removed, a raised
// max_replica_count lowered, a missing primary replaced).
void MetaCore::AbandonMove(Partition& partition) {
  partition.move.reset();
  ++stats_.moves_abandoned;
}

// The meta server never demotes a live primary itself: its lease still
// holds, and it would serve next to its successor. It asks the primary,
// which stops serving and then proposes DOWNGRADE_TO_SECONDARY of itself.
void MetaCore::AskToStepDown(Partition& partition) {
  proto::ConfigProposal proposal;
  *proposal.mutable_config() = partition.config;
  proposal.set_type(proto::CONFIG_DOWNGRADE_TO_SECONDARY);
  proposal.set_node(partition.config.primary());
  Send(NodeId{partition.config.primary()}, kNoReplyToken, std::move(proposal));
  ++stats_.proposals_sent;
}

std::optional<Move> MetaCore::MoveInProgress(Gpid gpid) const {
  auto it = partitions_.find(gpid);
  if (it == partitions_.end() || !it->second.move) return std::nullopt;
  return it->second.move->move;
}

int MetaCore::MovesInProgress() const {
  int moves = 0;
  for (const auto& [gpid, partition] : partitions_) {
    moves += partition.move ? 1 : 0;
  }
  return moves;
}

// --- Operators ---------------------------------------------------------------

absl::StatusOr<MetaCore::Partition*> MetaCore::PartitionForOperator(Gpid gpid) {
  if (effective_level_ < proto::META_LEVEL_STEADY) {
    return PegasusError(ErrorCode::kOperationDisabled,
                        "balance and propose need meta level steady or "
                        "lively; the meta server acts at " +
                            proto::MetaLevel_Name(effective_level_));
  }
  Partition* partition = FindPartition(gpid);
  if (partition == nullptr) {
    return PegasusError(ErrorCode::kObjectNotFound,
                        "no partition " + gpid.ToString());
  }
  if (!TableAvailable(gpid.app_id)) {
    return PegasusError(ErrorCode::kAppNotExist,
                        "the table of " + gpid.ToString() + " is dropped");
  }
  if (!partition->durable) {
    return PegasusError(ErrorCode::kTryAgain,
                        gpid.ToString() + " is still being created");
  }
  if (partition->pending) {
    return PegasusError(
        ErrorCode::kBusy,
        "a configuration change of " + gpid.ToString() + " is in flight");
  }
  if (partition->move) {
    return PegasusError(ErrorCode::kBusy, "a move is in progress: " +
                                              partition->move->move.ToString());
  }
  return partition;
}

void MetaCore::OnBalance(NodeId from, const proto::BalanceRequest& request,
                         ReplyToken reply_token) {
  const absl::Status status = StartBalance(request);
  ++(status.ok() ? stats_.manual_balances : stats_.manual_refused);
  ReplyAdmin(from, reply_token, status);
}

absl::Status MetaCore::StartBalance(const proto::BalanceRequest& request) {
  const Gpid gpid{request.app_id(), request.partition_index()};
  const std::optional<MoveKind> kind = KindOf(request.kind());
  if (!kind)
    return Invalid("balance needs a kind: move_pri, copy_pri or copy_sec");
  PEGASUS_ASSIGN_OR_RETURN(Partition * partition, PartitionForOperator(gpid));
  const proto::PartitionConfig& config = partition->config;
  const Move move{gpid, *kind, NodeId{request.from()}, NodeId{request.to()},
                  config.ballot()};
  absl::StatusOr<proto::PartitionConfig> moved =
      balance::ApplyMove(config, move);
  if (!moved.ok()) {
    return Invalid("balance " + move.ToString() +
                   " does not apply to the current configuration " +
                   Describe(config) + ": " +
                   std::string(moved.status().message()));
  }
  const int32_t count = tables_.at(gpid.app_id).replica_count();
  if (MemberCount(config) != count || config.max_replica_count() != count) {
    return PegasusError(
        ErrorCode::kTryAgain,
        gpid.ToString() +
            " is not healthy: " + std::to_string(MemberCount(config)) +
            " members, max_replica_count " +
            std::to_string(config.max_replica_count()) + ", the table asks " +
            std::to_string(count) + "; the cure comes first");
  }
  for (NodeId member : meta_internal::Members(config)) {
    if (!nodes_.IsAlive(member)) {
      return PegasusError(ErrorCode::kTryAgain,
                          gpid.ToString() + " is not healthy: member " +
                              member.ToString() + " is not alive");
    }
  }
  if (!nodes_.IsAlive(move.to)) {
    return Invalid("balance " + move.ToString() + ": " + move.to.ToString() +
                   " is not alive");
  }
  if (MovesInProgress() >= options_.balancer.max_moves_per_round) {
    return PegasusError(ErrorCode::kBusy,
                        std::to_string(MovesInProgress()) +
                            " moves are in progress (max_moves_per_round)");
  }
  StartMove(gpid, *partition, move);
  return absl::OkStatus();
}

void MetaCore::OnPropose(NodeId from, const proto::ProposeRequest& request,
                         ReplyToken reply_token) {
  const absl::StatusOr<bool> waits = StartPropose(from, request, reply_token);
  ++(waits.ok() ? stats_.manual_proposals : stats_.manual_refused);
  if (!waits.ok() || !*waits) {
    ReplyAdmin(from, reply_token, waits.status());
  }
}

absl::StatusOr<bool> MetaCore::StartPropose(
    NodeId from, const proto::ProposeRequest& request, ReplyToken reply_token) {
  const Gpid gpid{request.app_id(), request.partition_index()};
  const std::string name = ProposeName(request.type());
  const NodeId node{request.node()};
  const NodeId target{request.target()};
  switch (request.type()) {
    case proto::PROPOSE_ASSIGN_PRIMARY:
      return Invalid(
          "assign_primary is refused: only the guardian assigns a primary, "
          "to a new partition, or after every replica died only to the "
          "newest dropped node; another node may lack acknowledged writes");
    case proto::PROPOSE_UPGRADE_TO_SECONDARY:
      return Invalid(
          "upgrade_to_secondary is refused: only the primary proposes a "
          "learner as a secondary, once the learner has caught up, which "
          "the meta server cannot know; use add_secondary");
    case proto::PROPOSE_UPGRADE_TO_PRIMARY:
    case proto::PROPOSE_ADD_SECONDARY:
    case proto::PROPOSE_DOWNGRADE_TO_SECONDARY:
    case proto::PROPOSE_DOWNGRADE_TO_INACTIVE:
    case proto::PROPOSE_REMOVE:
      break;
    default:
      return Invalid("not a proposal type: " + name);
  }
  if (node.value == 0) return Invalid(name + " must name a node");
  PEGASUS_ASSIGN_OR_RETURN(Partition * partition, PartitionForOperator(gpid));
  const proto::PartitionConfig& config = partition->config;
  const NodeId primary{config.primary()};
  const std::string what =
      name + " of " + node.ToString() + " on " + Describe(config);
  // The node the proposal goes to, as Pegasus names it: 0 means "whoever
  // the protocol sends it to".
  auto goes_to = [&](NodeId expected) -> absl::Status {
    if (target.value == 0 || target == expected) return absl::OkStatus();
    return Invalid(what + ": it goes to " + expected.ToString() + ", not " +
                   target.ToString());
  };
  proto::ConfigType change = proto::CONFIG_INVALID;
  switch (request.type()) {
    case proto::PROPOSE_UPGRADE_TO_PRIMARY:
      if (primary.value != 0) {
        return Invalid(what +
                       " is refused: the partition has a primary, whose "
                       "lease still holds, and two would serve; use "
                       "downgrade_to_secondary or balance move_pri");
      }
      if (!IsSecondary(config, node) || !nodes_.IsAlive(node)) {
        return Invalid(what + ": needs an alive secondary");
      }
      PEGASUS_RETURN_IF_ERROR(goes_to(node));
      change = proto::CONFIG_UPGRADE_TO_PRIMARY;
      break;
    case proto::PROPOSE_ADD_SECONDARY:
      if (primary.value == 0 || !nodes_.IsAlive(primary)) {
        return Invalid(what + ": needs an alive primary");
      }
      if (IsMember(config, node) || !nodes_.IsAlive(node)) {
        return Invalid(what + ": needs an alive node that is no member");
      }
      if (MemberCount(config) >= config.max_replica_count()) {
        return Invalid(what +
                       ": the partition has max_replica_count "
                       "members, so the learner could never become "
                       "a secondary; use balance copy_sec");
      }
      PEGASUS_RETURN_IF_ERROR(goes_to(primary));
      AskForLearner(*partition, node);
      return false;
    case proto::PROPOSE_DOWNGRADE_TO_SECONDARY: {
      if (node != primary || !nodes_.IsAlive(primary)) {
        return Invalid(what + ": needs the alive primary");
      }
      const bool successor =
          std::any_of(config.secondaries().begin(), config.secondaries().end(),
                      [&](uint64_t s) { return nodes_.IsAlive(NodeId{s}); });
      if (!successor) {
        return Invalid(what + ": no alive secondary could take over");
      }
      PEGASUS_RETURN_IF_ERROR(goes_to(primary));
      // The primary steps down by itself (it stops serving first); the
      // guardian then upgrades a secondary.
      AskToStepDown(*partition);
      return false;
    }
    default:  // DOWNGRADE_TO_INACTIVE, REMOVE.
      if (node == primary) {
        return Invalid(what +
                       " is refused: the meta server never removes a live "
                       "primary, whose lease still holds (it would serve "
                       "next to its successor); use downgrade_to_secondary "
                       "or balance move_pri");
      }
      if (!IsSecondary(config, node)) {
        return Invalid(what + ": needs a secondary");
      }
      PEGASUS_RETURN_IF_ERROR(goes_to(primary));
      change = request.type() == proto::PROPOSE_REMOVE
                   ? proto::CONFIG_REMOVE
                   : proto::CONFIG_DOWNGRADE_TO_INACTIVE;
      break;
  }
  absl::StatusOr<proto::PartitionConfig> next =
      meta_internal::ApplyChange(config, change, node, options_.max_last_drops);
  PEGASUS_CHECK_OK(next.status()) << what;
  FollowReplicaCount(*partition, *next);
  StartWrite(gpid, *partition, *std::move(next), change, node, NodeId{}, {});
  partition->pending->admin_waiter = Waiter{from, reply_token};
  return true;
}

}  // namespace pegasus
