// The greedy load balancer: a pure function from a snapshot of the cluster's
// partition configurations to the moves that even out, per table, how many
// primaries and how many replicas each alive replica server holds. It has no
// state, clock, randomness or I/O; the same snapshot and options always give
// the same moves.
//
// Balanced. For one table with P partitions and T replicas (members of all
// its partitions) on N alive nodes, the table is balanced when every alive
// node holds between floor(P/N) and ceil(P/N) of its primaries and between
// floor(T/N) and ceil(T/N) of its replicas; equivalently, when the most and
// the least loaded nodes differ by at most one in each count. A snapshot is
// balanced when each of its tables is (IsBalanced).
//
// Moves. Each move changes one partition:
//   kMovePrimary   `from` (the primary) and `to` (a secondary) swap roles.
//                  No data is copied.
//   kCopyPrimary   `to` (not a member) joins as a learner and becomes a
//                  secondary, takes over as primary, and `from` (the
//                  primary) leaves.
//   kCopySecondary `to` (not a member) joins as a learner and becomes a
//                  secondary, and `from` (a secondary) leaves.
// MoveSteps lists the configuration changes of each kind, ApplyMove applies
// them. A move keeps the partition's replica count (a copy has one extra
// member between its first and last step) and never puts two replicas of a
// partition on one node.
//
// The algorithm (Pegasus's greedy balancer, with one addition in step 2;
// docs/meta_server.md, "The balancer"). Nothing is proposed unless every
// partition of every table is healthy (CheckBalanceable). Each call is one
// round; a round's moves are all for one table, the first by app id that
// needs any in step 1, else the first that needs any in step 2.
//   1. Primaries. The swap graph has an edge A->B for each partition with
//      primary A and secondary B; a path of role swaps along it takes one
//      primary from its first node to its last, and the nodes between keep
//      their count. A giver holds more than floor(P/N) primaries; a taker
//      fewer than ceil(P/N) and at least two fewer than the giver. Givers
//      are tried most loaded first (ties: lowest id), each taking the least
//      loaded taker it reaches (then the nearest, then the lowest id) by at
//      most max_moves_per_round swaps. When no such path is left, not even
//      through partitions the round already moves, and unless
//      only_move_primary, one primary is copied from the node with the most
//      primaries to the one with the fewest (ties: more replicas, then
//      lowest id; fewer replicas, then lowest id), if they differ by two or
//      more, and paths are looked for again.
//   2. Replicas, only when step 1 proposes nothing for any table, and
//      unless only_primary_balancer. While the node with the most replicas
//      and the one with the fewest (ties: lowest id) differ by two or more,
//      a secondary of the first moves to the second (kCopySecondary), from
//      a partition the second is no member of. When no such partition is
//      left, and the round has no move yet (so not merely because the round
//      already moves them), every partition of the first that the second
//      lacks has the first as primary. Unless only_move_primary, that
//      primary is copied instead; when the first held no more primaries
//      than the second, a role swap from the second back to the first of a
//      partition they share goes with it, so that primaries stay balanced.
//      (Pegasus moves only secondaries here, and stops.)
// Each partition appears in at most one move of a round, so a round's moves
// never conflict. Remaining ties go to the lowest partition index.
//
// Guarantees.
//   - Each swap path and each copy in step 1 takes a primary from a node to
//     one that held at least two fewer, and each copy in step 2 a replica:
//     for the count the step balances, a node above the [floor, ceil] band
//     never gains, a node below it never loses, a node within it never
//     leaves it. Step 1's copies move a replica too, which step 2 evens
//     out; step 2 leaves primaries as balanced as it found them.
//   - Each round lowers D_p, the sum over nodes of how far each node's
//     primary count is outside its band, or leaves D_p as it is and lowers
//     D_r, the same for replicas. Applying every move of each round and
//     calling again therefore stops within 3 * D_p + D_r rounds (summed over
//     tables, at the start; each copy in step 1 adds at most 2 to D_r).
//   - With default options it stops balanced (IsBalanced). With
//     only_primary_balancer, primaries are balanced and replica counts are
//     left to step 1's copies. With only_move_primary, primaries are as
//     balanced as swaps can make them (no giver reaches a taker; with one
//     replica per partition there are no swaps at all), and replicas until
//     no secondary of the most loaded node can move to the least loaded.
//   - Copies. Step 2 copies exactly the minimum that balances replicas from
//     where step 1 left them: max(sum of load - ceil over nodes above the
//     band, sum of floor - load over nodes below it). So when step 1
//     copies nothing, the whole run copies that minimum for the starting
//     snapshot; each copy in step 1 can add up to two.
//
// What the caller must do. Carry out each move one step at a time, waiting
// for each configuration change to be persisted before the next; the moves
// of a round are for different partitions and may run side by side. Before
// each step check that the partition's ballot is the move's ballot plus the
// steps already taken; otherwise someone else changed the partition (a
// failure, the cure) and the rest of the move is dropped. A move dropped
// after its learner became a secondary leaves an extra member, and the
// balancer proposes nothing until every partition is healthy again, so the
// caller removes it. Call again once the previous round's moves have
// finished or been dropped.
//
// Thread-safety: every function here is pure and may be called from any
// thread.

#ifndef PEGASUS_META_BALANCE_GREEDY_BALANCER_H_
#define PEGASUS_META_BALANCE_GREEDY_BALANCER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/proto/replication.pb.h"

namespace pegasus::balance {

// One table's partition configurations.
struct TableSnapshot {
  int32_t app_id = 0;
  // partitions[i] is partition i's configuration: app_id equal to the
  // table's, partition_index == i.
  std::vector<proto::PartitionConfig> partitions;
};

// What the balancer looks at: the configurations as the meta server holds
// them (persisted, no change in flight) and who is alive.
struct ClusterSnapshot {
  // The replica servers that may hold replicas, each once; none is 0. Nodes
  // holding nothing count too: they are where load should go.
  std::vector<NodeId> alive_nodes;
  // The tables to balance (the available ones), each app id once, in any
  // order.
  std::vector<TableSnapshot> tables;
};

enum class MoveKind { kMovePrimary, kCopyPrimary, kCopySecondary };

// "move_primary", "copy_primary", "copy_secondary", as Pegasus names them.
std::string_view MoveKindName(MoveKind kind);

struct Move {
  Gpid gpid;
  MoveKind kind = MoveKind::kMovePrimary;
  // kMovePrimary, kCopyPrimary: the primary. kCopySecondary: a secondary.
  NodeId from;
  // kMovePrimary: a secondary. Copies: a node that is no member.
  NodeId to;
  // The ballot of the configuration the move was computed against. The
  // caller drops the move once the partition has changed otherwise.
  Ballot ballot = 0;

  friend bool operator==(const Move&, const Move&) = default;

  // "1.3 move_primary n1->n2 @5".
  std::string ToString() const;
};

struct BalancerOptions {
  // Balance primaries by role swaps only: never kCopyPrimary. Replicas are
  // still balanced by kCopySecondary unless only_primary_balancer; set both
  // for a balancer that copies no data. Default false.
  bool only_move_primary = false;

  // Balance primaries only: never kCopySecondary. Default false.
  bool only_primary_balancer = false;

  // The most moves one round proposes. A copy of a primary with its
  // compensating role swap (step 2 above) needs two, so >= 2. Default 16.
  int max_moves_per_round = 16;
};

// OK, or PERR_INVALID_ARGUMENT naming the bad field.
absl::Status ValidateBalancerOptions(const BalancerOptions& options);

// OK when the balancer may act on `snapshot`: every partition of every table
// is healthy (a primary, exactly max_replica_count members, every member
// alive). Otherwise PERR_TRY_AGAIN naming the first partition (by app id and
// index) that is not, or PERR_INVALID_ARGUMENT for a malformed snapshot (an
// alive node 0 or listed twice, an app id twice, a partition out of place,
// a member 0 or listed twice).
absl::Status CheckBalanceable(const ClusterSnapshot& snapshot);

// One round: the moves for the first table, by app id, that needs any (see
// the top of this file). Empty when the snapshot is not balanceable
// (CheckBalanceable) or nothing needs to move. At most
// options.max_moves_per_round moves, each partition in at most one.
// REQUIRES: ValidateBalancerOptions(options).ok().
std::vector<Move> ProposeMoves(const ClusterSnapshot& snapshot,
                               const BalancerOptions& options);

// One configuration change of a move; each bumps the ballot by one.
struct MoveStep {
  proto::ConfigType type = proto::CONFIG_INVALID;
  NodeId node;
};

// The configuration changes that carry `move` out, in order:
//   kMovePrimary   DOWNGRADE_TO_SECONDARY from, UPGRADE_TO_PRIMARY to
//   kCopyPrimary   UPGRADE_TO_SECONDARY to, DOWNGRADE_TO_SECONDARY from,
//                  UPGRADE_TO_PRIMARY to, REMOVE from
//   kCopySecondary UPGRADE_TO_SECONDARY to, REMOVE from
// UPGRADE_TO_SECONDARY of `to` comes from the primary once the learner it was
// asked for (ADD_SECONDARY) has caught up; the partition then has one member
// more than its table's replica count until `from` is removed. (MetaCore
// first raises max_replica_count by one, a change of its own, to make room,
// and the removal brings it back: docs/meta_server.md.)
std::vector<MoveStep> MoveSteps(const Move& move);

// `config` after every step of `move`: the ballot one higher per step, the
// members changed as MoveSteps says (a node promoted to primary leaves the
// secondaries; a node demoted or added is appended to them), `to` forgotten
// from last_drops and a removed `from` appended to it (moved to the end if
// there; never trimmed). PERR_INVALID_ARGUMENT when the move is not for
// this partition or does not apply to its members; PERR_SERVER_CHANGED when
// the ballot is not the move's (the move is stale).
absl::StatusOr<proto::PartitionConfig> ApplyMove(
    const proto::PartitionConfig& config, const Move& move);

// Whether every table is balanced (see the top of this file). Counts the
// primaries and members on alive nodes against P = the table's partitions
// and T = its members; true for a table when there are no alive nodes and
// nothing to place.
bool IsBalanced(const ClusterSnapshot& snapshot);

}  // namespace pegasus::balance

#endif  // PEGASUS_META_BALANCE_GREEDY_BALANCER_H_
