#include "pegasus/meta/balance/greedy_balancer.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "pegasus/base/check.h"
#include "pegasus/base/status.h"

namespace pegasus::balance {
namespace {

absl::Status Invalid(const std::string& message) {
  return PegasusError(ErrorCode::kInvalidArgument, message);
}

absl::Status Unhealthy(Gpid gpid, const std::string& why) {
  return PegasusError(ErrorCode::kTryAgain,
                      "partition " + gpid.ToString() + " is not healthy: " +
                          why + "; the balancer waits for the cure");
}

// The members of `config`, the primary (when there is one) first.
std::vector<uint64_t> MemberIds(const proto::PartitionConfig& config) {
  std::vector<uint64_t> members;
  if (config.primary() != 0) members.push_back(config.primary());
  for (uint64_t s : config.secondaries()) members.push_back(s);
  return members;
}

absl::Status CheckPartition(const std::set<NodeId>& alive,
                            const TableSnapshot& table, int index) {
  const proto::PartitionConfig& config = table.partitions[index];
  const Gpid gpid{table.app_id, index};
  if (config.app_id() != table.app_id || config.partition_index() != index) {
    return Invalid("table " + std::to_string(table.app_id) + " lists " +
                   Gpid{config.app_id(), config.partition_index()}.ToString() +
                   " as its partition " + std::to_string(index));
  }
  std::vector<uint64_t> members = MemberIds(config);
  std::sort(members.begin(), members.end());
  if (std::adjacent_find(members.begin(), members.end()) != members.end() ||
      (!members.empty() && members.front() == 0)) {
    return Invalid("partition " + gpid.ToString() +
                   " lists a node twice or node 0");
  }
  if (config.primary() == 0) return Unhealthy(gpid, "no primary");
  if (static_cast<int>(members.size()) != config.max_replica_count()) {
    return Unhealthy(gpid, std::to_string(members.size()) + " of " +
                               std::to_string(config.max_replica_count()) +
                               " members");
  }
  for (uint64_t member : members) {
    if (!alive.contains(NodeId{member})) {
      return Unhealthy(gpid, NodeId{member}.ToString() + " is not alive");
    }
  }
  return absl::OkStatus();
}

// Whether every load is within [floor(total / n), ceil(total / n)] for n
// loads; with no loads, whether there is nothing to place.
bool WithinBand(const std::map<NodeId, int64_t>& loads, int64_t total) {
  const int64_t n = static_cast<int64_t>(loads.size());
  if (n == 0) return total == 0;
  for (const auto& [node, load] : loads) {
    if (load < total / n || load > (total + n - 1) / n) return false;
  }
  return true;
}

// The tables by app id.
std::vector<const TableSnapshot*> TablesInOrder(
    const ClusterSnapshot& snapshot) {
  std::vector<const TableSnapshot*> tables;
  for (const TableSnapshot& table : snapshot.tables) tables.push_back(&table);
  std::sort(tables.begin(), tables.end(),
            [](const TableSnapshot* a, const TableSnapshot* b) {
              return a->app_id < b->app_id;
            });
  return tables;
}

// One table's partitions and loads as a round changes them, and the moves
// that change them. Nodes are indices into the sorted alive nodes, so the
// lowest index is the lowest id.
class TableRound {
 public:
  TableRound(const std::vector<NodeId>& nodes, const TableSnapshot& table,
             const BalancerOptions& options);

  // Step 1 and step 2 of the algorithm (greedy_balancer.h).
  std::vector<Move> BalancePrimaries();
  std::vector<Move> BalanceReplicas();

 private:
  struct Partition {
    int primary = 0;
    std::vector<int> secondaries;
    Ballot ballot = 0;
    // Already in a move of this round.
    bool used = false;
  };
  // One role swap of a path: `partition`'s primary hands over to `to`.
  struct Edge {
    int partition = 0;
    int to = 0;
  };
  using Path = std::vector<Edge>;

  int NodeCount() const { return static_cast<int>(nodes_.size()); }
  bool Room(int moves) const {
    return static_cast<int>(moves_.size()) + moves <=
           options_.max_moves_per_round;
  }
  bool IsMember(const Partition& p, int node) const;
  bool IsSecondary(const Partition& p, int node) const;

  // A path of at most `max_length` role swaps from a node that can give a
  // primary to one that can take it; `through_used`: also through
  // partitions this round already moves.
  std::optional<Path> FindSwapPath(bool through_used, int max_length) const;
  // `primary_of[n]`: the partitions node n is primary of.
  std::optional<Path> SwapPathFrom(
      int giver, const std::vector<std::vector<int>>& primary_of,
      int max_length) const;
  bool CopyPrimaryToFewest();

  // The lowest-indexed partition not yet in a move of this round that has
  // `holder` as its primary (as_primary) or as a secondary (otherwise), and
  // `outsider` as no member.
  std::optional<int> FindCopyable(int holder, bool as_primary,
                                  int outsider) const;
  void Swap(int partition, int to);
  void Copy(int partition, int from, int to);
  void Record(int partition, MoveKind kind, int from, int to);

  const std::vector<NodeId>& nodes_;
  const int32_t app_id_;
  const BalancerOptions& options_;
  std::vector<Partition> partitions_;
  std::vector<int> primaries_;
  std::vector<int> replicas_;
  int primary_floor_ = 0;
  int primary_ceil_ = 0;
  std::vector<Move> moves_;
};

TableRound::TableRound(const std::vector<NodeId>& nodes,
                       const TableSnapshot& table,
                       const BalancerOptions& options)
    : nodes_(nodes),
      app_id_(table.app_id),
      options_(options),
      primaries_(nodes.size(), 0),
      replicas_(nodes.size(), 0) {
  auto index_of = [&](uint64_t id) {
    auto it = std::lower_bound(nodes_.begin(), nodes_.end(), NodeId{id});
    PEGASUS_CHECK(it != nodes_.end() && *it == NodeId{id});
    return static_cast<int>(it - nodes_.begin());
  };
  for (const proto::PartitionConfig& config : table.partitions) {
    Partition p;
    p.primary = index_of(config.primary());
    for (uint64_t s : config.secondaries()) {
      p.secondaries.push_back(index_of(s));
    }
    p.ballot = config.ballot();
    ++primaries_[p.primary];
    ++replicas_[p.primary];
    for (int s : p.secondaries) ++replicas_[s];
    partitions_.push_back(std::move(p));
  }
  const int count = static_cast<int>(partitions_.size());
  primary_floor_ = count / NodeCount();
  primary_ceil_ = primary_floor_ + (count % NodeCount() == 0 ? 0 : 1);
}

bool TableRound::IsSecondary(const Partition& p, int node) const {
  return std::find(p.secondaries.begin(), p.secondaries.end(), node) !=
         p.secondaries.end();
}

bool TableRound::IsMember(const Partition& p, int node) const {
  return p.primary == node || IsSecondary(p, node);
}

std::vector<Move> TableRound::BalancePrimaries() {
  const int limit = options_.max_moves_per_round;
  while (Room(1)) {
    const int room = limit - static_cast<int>(moves_.size());
    if (std::optional<Path> path = FindSwapPath(false, room)) {
      for (const Edge& edge : *path) Swap(edge.partition, edge.to);
      continue;
    }
    if (options_.only_move_primary) break;
    // Copy only when no round could swap instead: this one may not, because
    // the path runs through partitions it already moves.
    if (!moves_.empty() && FindSwapPath(true, limit)) break;
    if (!CopyPrimaryToFewest()) break;
  }
  return moves_;
}

std::optional<TableRound::Path> TableRound::FindSwapPath(bool through_used,
                                                         int max_length) const {
  std::vector<int> givers;
  for (int n = 0; n < NodeCount(); ++n) {
    if (primaries_[n] > primary_floor_) givers.push_back(n);
  }
  std::stable_sort(givers.begin(), givers.end(),
                   [&](int a, int b) { return primaries_[a] > primaries_[b]; });
  std::vector<std::vector<int>> primary_of(NodeCount());
  for (int i = 0; i < static_cast<int>(partitions_.size()); ++i) {
    if (through_used || !partitions_[i].used) {
      primary_of[partitions_[i].primary].push_back(i);
    }
  }
  for (int giver : givers) {
    if (auto path = SwapPathFrom(giver, primary_of, max_length)) return path;
  }
  return std::nullopt;
}

// Breadth-first over the swap graph from `giver`, then the least loaded
// taker among the reached nodes (then the nearest, then the lowest id).
std::optional<TableRound::Path> TableRound::SwapPathFrom(
    int giver, const std::vector<std::vector<int>>& primary_of,
    int max_length) const {
  std::vector<int> distance(NodeCount(), -1);
  std::vector<Edge> reached_by(NodeCount());
  std::vector<int> queue = {giver};
  distance[giver] = 0;
  for (size_t head = 0; head < queue.size(); ++head) {
    const int node = queue[head];
    if (distance[node] == max_length) continue;
    for (int i : primary_of[node]) {
      for (int s : partitions_[i].secondaries) {
        if (distance[s] >= 0) continue;
        distance[s] = distance[node] + 1;
        reached_by[s] = Edge{i, s};
        queue.push_back(s);
      }
    }
  }
  std::optional<int> taker;
  auto key = [&](int n) {
    return std::make_tuple(primaries_[n], distance[n], n);
  };
  for (int n : queue) {
    if (n == giver || primaries_[n] >= primary_ceil_ ||
        primaries_[n] > primaries_[giver] - 2) {
      continue;
    }
    if (!taker || key(n) < key(*taker)) taker = n;
  }
  if (!taker) return std::nullopt;
  Path path;
  for (int n = *taker; n != giver;
       n = partitions_[reached_by[n].partition].primary) {
    path.push_back(reached_by[n]);
  }
  std::reverse(path.begin(), path.end());
  return path;
}

// From the node with the most primaries to the one with the fewest, as long
// as they differ by two or more. A node with more replicas gives first, and
// one with fewer takes first, so that the copy helps step 2.
bool TableRound::CopyPrimaryToFewest() {
  int most = 0;
  int fewest = 0;
  for (int n = 1; n < NodeCount(); ++n) {
    if (std::make_pair(primaries_[n], replicas_[n]) >
        std::make_pair(primaries_[most], replicas_[most])) {
      most = n;
    }
    if (std::make_pair(primaries_[n], replicas_[n]) <
        std::make_pair(primaries_[fewest], replicas_[fewest])) {
      fewest = n;
    }
  }
  if (primaries_[most] - primaries_[fewest] < 2) return false;
  std::optional<int> partition = FindCopyable(most, true, fewest);
  if (!partition) return false;
  Copy(*partition, most, fewest);
  return true;
}

std::vector<Move> TableRound::BalanceReplicas() {
  while (Room(1)) {
    int most = 0;
    int fewest = 0;
    for (int n = 1; n < NodeCount(); ++n) {
      if (replicas_[n] > replicas_[most]) most = n;
      if (replicas_[n] < replicas_[fewest]) fewest = n;
    }
    if (replicas_[most] - replicas_[fewest] < 2) break;
    if (auto partition = FindCopyable(most, false, fewest)) {
      Copy(*partition, most, fewest);
      continue;
    }
    // No secondary of `most` can move to `fewest`. Unless that is only
    // because this round already moves those partitions (then the next
    // round will), every partition of `most` that `fewest` lacks has `most`
    // as primary: copy that primary instead. Primaries stay balanced if
    // `most` had one more than `fewest`. Otherwise `fewest` holds more
    // primaries than there are partitions without `most`, so it is primary
    // of one that `most` is a secondary of, and swapping that one back
    // restores both counts.
    if (options_.only_move_primary || !moves_.empty()) break;
    std::optional<int> partition = FindCopyable(most, true, fewest);
    if (!partition) break;
    if (primaries_[most] > primaries_[fewest]) {
      Copy(*partition, most, fewest);
      continue;
    }
    std::optional<int> back;
    for (int i = 0; i < static_cast<int>(partitions_.size()) && !back; ++i) {
      const Partition& p = partitions_[i];
      if (!p.used && p.primary == fewest && IsSecondary(p, most)) back = i;
    }
    if (!back) break;
    Copy(*partition, most, fewest);
    Swap(*back, most);
  }
  return moves_;
}

std::optional<int> TableRound::FindCopyable(int holder, bool as_primary,
                                            int outsider) const {
  for (int i = 0; i < static_cast<int>(partitions_.size()); ++i) {
    const Partition& p = partitions_[i];
    if (p.used || IsMember(p, outsider)) continue;
    if (as_primary ? p.primary == holder : IsSecondary(p, holder)) return i;
  }
  return std::nullopt;
}

void TableRound::Swap(int partition, int to) {
  Partition& p = partitions_[partition];
  const int from = p.primary;
  Record(partition, MoveKind::kMovePrimary, from, to);
  std::replace(p.secondaries.begin(), p.secondaries.end(), to, from);
  p.primary = to;
  --primaries_[from];
  ++primaries_[to];
}

void TableRound::Copy(int partition, int from, int to) {
  Partition& p = partitions_[partition];
  if (p.primary == from) {
    Record(partition, MoveKind::kCopyPrimary, from, to);
    p.primary = to;
    --primaries_[from];
    ++primaries_[to];
  } else {
    Record(partition, MoveKind::kCopySecondary, from, to);
    std::replace(p.secondaries.begin(), p.secondaries.end(), from, to);
  }
  --replicas_[from];
  ++replicas_[to];
}

void TableRound::Record(int partition, MoveKind kind, int from, int to) {
  Partition& p = partitions_[partition];
  PEGASUS_CHECK(!p.used) << "partition " << partition << " moved twice";
  PEGASUS_CHECK(Room(1));
  p.used = true;
  moves_.push_back(
      Move{Gpid{app_id_, partition}, kind, nodes_[from], nodes_[to], p.ballot});
}

}  // namespace

std::string_view MoveKindName(MoveKind kind) {
  switch (kind) {
    case MoveKind::kMovePrimary:
      return "move_primary";
    case MoveKind::kCopyPrimary:
      return "copy_primary";
    case MoveKind::kCopySecondary:
      return "copy_secondary";
  }
  return "unknown";
}

std::string Move::ToString() const {
  return gpid.ToString() + " " + std::string(MoveKindName(kind)) + " " +
         from.ToString() + "->" + to.ToString() + " @" + std::to_string(ballot);
}

absl::Status ValidateBalancerOptions(const BalancerOptions& options) {
  if (options.max_moves_per_round < 2) {
    return Invalid("max_moves_per_round must be >= 2");
  }
  return absl::OkStatus();
}

absl::Status CheckBalanceable(const ClusterSnapshot& snapshot) {
  std::set<NodeId> alive;
  for (NodeId node : snapshot.alive_nodes) {
    if (node.value == 0) return Invalid("node 0 listed as alive");
    if (!alive.insert(node).second) {
      return Invalid(node.ToString() + " listed twice as alive");
    }
  }
  std::set<int32_t> app_ids;
  for (const TableSnapshot* table : TablesInOrder(snapshot)) {
    if (!app_ids.insert(table->app_id).second) {
      return Invalid("table " + std::to_string(table->app_id) +
                     " listed twice");
    }
    for (int i = 0; i < static_cast<int>(table->partitions.size()); ++i) {
      PEGASUS_RETURN_IF_ERROR(CheckPartition(alive, *table, i));
    }
  }
  return absl::OkStatus();
}

std::vector<Move> ProposeMoves(const ClusterSnapshot& snapshot,
                               const BalancerOptions& options) {
  PEGASUS_CHECK_OK(ValidateBalancerOptions(options));
  if (!CheckBalanceable(snapshot).ok()) return {};
  std::vector<NodeId> nodes = snapshot.alive_nodes;
  std::sort(nodes.begin(), nodes.end());
  const std::vector<const TableSnapshot*> tables = TablesInOrder(snapshot);
  for (const TableSnapshot* table : tables) {
    if (table->partitions.empty()) continue;
    std::vector<Move> moves =
        TableRound(nodes, *table, options).BalancePrimaries();
    if (!moves.empty()) return moves;
  }
  if (options.only_primary_balancer) return {};
  for (const TableSnapshot* table : tables) {
    if (table->partitions.empty()) continue;
    std::vector<Move> moves =
        TableRound(nodes, *table, options).BalanceReplicas();
    if (!moves.empty()) return moves;
  }
  return {};
}

std::vector<MoveStep> MoveSteps(const Move& move) {
  switch (move.kind) {
    case MoveKind::kMovePrimary:
      return {{proto::CONFIG_DOWNGRADE_TO_SECONDARY, move.from},
              {proto::CONFIG_UPGRADE_TO_PRIMARY, move.to}};
    case MoveKind::kCopyPrimary:
      return {{proto::CONFIG_UPGRADE_TO_SECONDARY, move.to},
              {proto::CONFIG_DOWNGRADE_TO_SECONDARY, move.from},
              {proto::CONFIG_UPGRADE_TO_PRIMARY, move.to},
              {proto::CONFIG_REMOVE, move.from}};
    case MoveKind::kCopySecondary:
      return {{proto::CONFIG_UPGRADE_TO_SECONDARY, move.to},
              {proto::CONFIG_REMOVE, move.from}};
  }
  return {};
}

namespace {

void EraseId(google::protobuf::RepeatedField<uint64_t>& ids, uint64_t id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}

bool Contains(const google::protobuf::RepeatedField<uint64_t>& ids,
              uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Whether `from` and `to` play the roles `move`'s kind needs in `config`.
absl::Status CheckMoveApplies(const proto::PartitionConfig& config,
                              const Move& move) {
  const uint64_t from = move.from.value;
  const uint64_t to = move.to.value;
  const bool to_is_member =
      config.primary() == to || Contains(config.secondaries(), to);
  bool applies = from != 0 && to != 0 && from != to;
  switch (move.kind) {
    case MoveKind::kMovePrimary:
      applies = applies && config.primary() == from &&
                Contains(config.secondaries(), to);
      break;
    case MoveKind::kCopyPrimary:
      applies = applies && config.primary() == from && !to_is_member;
      break;
    case MoveKind::kCopySecondary:
      applies =
          applies && Contains(config.secondaries(), from) && !to_is_member;
      break;
  }
  if (!applies) {
    return Invalid(move.ToString() + " does not apply to the members of " +
                   move.gpid.ToString());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<proto::PartitionConfig> ApplyMove(
    const proto::PartitionConfig& config, const Move& move) {
  if (config.app_id() != move.gpid.app_id ||
      config.partition_index() != move.gpid.partition_index) {
    return Invalid(move.ToString() + " is not for partition " +
                   Gpid{config.app_id(), config.partition_index()}.ToString());
  }
  if (config.ballot() != move.ballot) {
    return PegasusError(ErrorCode::kServerChanged,
                        move.ToString() + " is stale: the ballot is now " +
                            std::to_string(config.ballot()));
  }
  PEGASUS_RETURN_IF_ERROR(CheckMoveApplies(config, move));
  proto::PartitionConfig next = config;
  for (const MoveStep& step : MoveSteps(move)) {
    const uint64_t node = step.node.value;
    next.set_ballot(next.ballot() + 1);
    switch (step.type) {
      case proto::CONFIG_UPGRADE_TO_SECONDARY:
        next.add_secondaries(node);
        EraseId(*next.mutable_last_drops(), node);
        break;
      case proto::CONFIG_DOWNGRADE_TO_SECONDARY:
        next.set_primary(0);
        next.add_secondaries(node);
        break;
      case proto::CONFIG_UPGRADE_TO_PRIMARY:
        EraseId(*next.mutable_secondaries(), node);
        next.set_primary(node);
        break;
      default:  // CONFIG_REMOVE of a secondary.
        EraseId(*next.mutable_secondaries(), node);
        EraseId(*next.mutable_last_drops(), node);
        next.add_last_drops(node);
        break;
    }
  }
  return next;
}

bool IsBalanced(const ClusterSnapshot& snapshot) {
  const std::set<NodeId> alive(snapshot.alive_nodes.begin(),
                               snapshot.alive_nodes.end());
  for (const TableSnapshot& table : snapshot.tables) {
    std::map<NodeId, int64_t> primaries;
    std::map<NodeId, int64_t> replicas;
    for (NodeId node : alive) {
      primaries[node] = 0;
      replicas[node] = 0;
    }
    int64_t replica_count = 0;
    for (const proto::PartitionConfig& config : table.partitions) {
      auto primary = primaries.find(NodeId{config.primary()});
      if (primary != primaries.end()) ++primary->second;
      for (uint64_t member : MemberIds(config)) {
        ++replica_count;
        auto replica = replicas.find(NodeId{member});
        if (replica != replicas.end()) ++replica->second;
      }
    }
    if (!WithinBand(primaries, static_cast<int64_t>(table.partitions.size())) ||
        !WithinBand(replicas, replica_count)) {
      return false;
    }
  }
  return true;
}

}  // namespace pegasus::balance
