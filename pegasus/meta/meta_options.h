// MetaOptions: every interval and bound of the meta server's membership
// logic (MetaCore), with units and defaults. ValidateMetaOptions says which
// values are accepted; MetaCore::Create refuses anything else.
//
// Defaults are chosen for seconds-scale failover, not Pegasus's 20 s lease,
// 22 s grace and 10 min wait before replacing a dropped replica.

#ifndef PEGASUS_META_META_OPTIONS_H_
#define PEGASUS_META_META_OPTIONS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "pegasus/base/ids.h"
#include "pegasus/meta/balance/greedy_balancer.h"
#include "pegasus/proto/meta.pb.h"

namespace pegasus {

// The replica count a table may ask for: 1 to 5, as in Pegasus.
inline constexpr int kMinReplicaCount = 1;
inline constexpr int kMaxReplicaCount = 5;
// A partition's max_replica_count exceeds its table's replica count by one
// while a copy (the balancer's copy_primary or copy_secondary) has its
// extra member.
inline constexpr int kMaxReplicaCountInMove = kMaxReplicaCount + 1;

struct MetaOptions {
  // The meta server's own node, as cluster_info reports it. MetaServer sets
  // it to its endpoint's.
  NodeId self{};

  // --- Failure detection -------------------------------------------------

  // A node from which no beacon arrived for grace_ns is declared dead and
  // removed from every configuration. Default 5 s. > 0.
  int64_t grace_ns = 5'000'000'000;

  // The replica servers' lease: a server whose last answered beacon was sent
  // more than lease_ns ago makes all its replicas inactive. The replica side
  // enforces it; the meta server only checks lease_ns < grace_ns, which is
  // what guarantees that a node has stopped serving before the meta server
  // gives its partitions to someone else. Default 4 s. > 0.
  int64_t lease_ns = 4'000'000'000;

  // Accept lease_ns >= grace_ns. Default false. ONLY for the planted bug
  // `lease_ge_grace`, which the simulator must catch as two primaries
  // serving at once. Never set it otherwise.
  bool allow_lease_ge_grace = false;

  // --- Cure ------------------------------------------------------------

  // How long a partition that lost a secondary waits for a dropped node to
  // come back before a learner is requested on another node, and how often
  // a CONFIG_ADD_SECONDARY proposal is re-sent while the partition is still
  // short. Default 3 s. >= 0.
  int64_t add_secondary_delay_ns = 3'000'000'000;

  // How many dropped nodes a configuration remembers (last_drops), newest
  // last; older ones are forgotten. The all-dead cure needs only the newest.
  // Default 6 (the largest replica count plus one). >= 1.
  int max_last_drops = 6;

  // --- Bounds ------------------------------------------------------------

  // Replica servers tracked by the failure detector. A beacon from a new
  // node when this many are tracked evicts a dead one (lowest id), or, when
  // none is dead, is answered allowed=false. Keep it above the cluster's
  // size: a recovered member that finds no room counts as dead. Default
  // 4096. >= 1.
  int max_nodes = 4096;

  // Partitions of one table. Default 65536. >= 1.
  int max_partitions_per_table = 65536;

  // Partitions of all tables together. Default 1 << 20. >= 1.
  int max_partitions = 1 << 20;

  // Replica reports accepted in one configuration sync; a larger request is
  // refused with PERR_INVALID_ARGUMENT. Default 65536. >= 1.
  int max_replicas_per_sync = 65536;

  // Requests waiting for one configuration change to be persisted: the
  // first, plus repeats of it (an RPC retry). Further repeats are refused
  // with PERR_BUSY. Default 4. >= 1.
  int max_waiters_per_change = 4;

  // --- Tables and levels --------------------------------------------------

  // How long a dropped table is kept for recall when the drop names no
  // reserve time, in seconds. Default 7 days (Pegasus's
  // hold_seconds_for_dropped_app). >= 0.
  int64_t dropped_table_hold_s = 7 * 24 * 3600;

  // The function level a meta server starts at before any level was set
  // (a set level is persisted and wins). Default steady, as Pegasus's
  // meta_function_level_on_start: cure, no balancing.
  proto::MetaLevel level_on_start = proto::META_LEVEL_STEADY;

  // At steady or lively, the meta server acts as if freezed while fewer
  // than min_live_nodes replica servers are alive, or fewer than
  // min_live_node_percent of those it tracks: with most of the cluster
  // gone, copying replicas onto the few left would do more harm than
  // waiting. Defaults 3 and 65 (Pegasus's min_live_node_count_for_unfreeze
  // and node_live_percentage_threshold_for_update). >= 0; percent <= 100.
  int min_live_nodes = 3;
  int min_live_node_percent = 65;

  // Tables ever created, tombstones of purged ones included. Default 65536.
  // >= 1.
  int max_tables = 65536;

  // Table operations waiting to run (they run one at a time); beyond it a
  // request is refused with PERR_BUSY. Default 256. >= 1.
  int max_pending_admin = 256;

  // --- Balancer ----------------------------------------------------------

  // How often a balancing round may start (Pegasus's lb_interval_ms). A
  // round runs only at effective level lively, when no move is in progress,
  // no configuration change or table operation is in flight, and every
  // partition of every available table is healthy
  // (balance::CheckBalanceable). Default 10 s. > 0.
  int64_t balancer_interval_ns = 10'000'000'000;

  // A move (the balancer's or an operator's) whose current step has not
  // completed within this long is abandoned, and the cure then restores a
  // normal configuration: it bounds a learner that never catches up and a
  // primary that never steps down. Default 120 s. > 0.
  int64_t move_step_timeout_ns = 120'000'000'000;

  // How often a move's request to the primary (CONFIG_ADD_SECONDARY,
  // CONFIG_DOWNGRADE_TO_SECONDARY) is sent again while its step waits.
  // Default 1 s. > 0.
  int64_t move_retry_ns = 1'000'000'000;

  // What a round proposes (balance/greedy_balancer.h). Its
  // max_moves_per_round also bounds the moves in progress at once, the
  // balancer's and operators' together.
  balance::BalancerOptions balancer = {};

  // --- Planted bugs (the simulator must catch each) ---------------------

  // When a partition has no primary, make the oldest dropped node that is
  // alive (and no member) its primary: instead of a secondary when the
  // primary died, and instead of waiting for the newest drop (the only one
  // guaranteed to hold every committed mutation) when every replica died.
  // Default false.
  bool planted_promote_removed = false;
};

// OK, or PERR_INVALID_ARGUMENT naming the first bad field.
absl::Status ValidateMetaOptions(const MetaOptions& options);

}  // namespace pegasus

#endif  // PEGASUS_META_META_OPTIONS_H_
