// MetaCore: the meta server's membership role (PacificA's configuration
// manager) as a pure state machine, in the manner of etcd raft's RawNode.
//
// Inputs are messages from replica servers, ticks and store completions,
// each with the caller's monotonic time `now_ns` (a value below one seen
// before counts as that one, so inputs posted from several threads of one
// clock cannot move time back). Outputs accumulate in a
// MetaReady the caller drains with TakeReady(): messages to send and store
// writes to carry out. MetaCore has no threads, reads no clock, does no I/O
// and draws no randomness: the same inputs give the same outputs.
//
// The driver's loop:
//   1. LoadAll() from the MetaStore, then Recover() with the result (an
//      empty map for a new cluster). Until then beacons are answered
//      allowed=false and requests PERR_TRY_AGAIN.
//   2. Feed every message, a Tick() at an interval well under grace_ns
//      (100 ms, say), and every store completion (OnStoreWriteDone).
//   3. After each input, TakeReady(): send each message, and hand each
//      StoreWrite, in order, to MetaStore::Write (MetaStore::Delete when
//      `erase`) with a `done` that calls OnStoreWriteDone(write_id, status,
//      now).
//
// Protocol (docs/meta_server.md has the whole of it):
//   - Every configuration change bumps the ballot by one and is persisted
//     before anyone hears of it: a primary's request is answered, and the
//     meta server's own changes are proposed to the members, only after the
//     store write completed OK. A failed write changes nothing.
//   - One change per partition is in flight at a time. A request that
//     arrives while one is in flight is refused with PERR_SERVER_CHANGED
//     (not queued): its ballot is about to be stale, and the primary learns
//     the new configuration from the answer to its next request. The only
//     exception is a repeat of the very change in flight (an RPC retry),
//     which waits for it and gets the same answer.
//   - Failure detection: a node is alive while its beacons arrive; after
//     grace_ns without one it is dead and removed from every configuration
//     it is in (see Tick).
//
// Thread-safety: none. Call everything from one strand.

#ifndef PEGASUS_META_META_CORE_H_
#define PEGASUS_META_META_CORE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/meta/balance/greedy_balancer.h"
#include "pegasus/meta/internal/failure_detector.h"
#include "pegasus/meta/internal/guardian.h"
#include "pegasus/meta/meta_options.h"
#include "pegasus/proto/meta.pb.h"
#include "pegasus/proto/replication.pb.h"

namespace pegasus {

// Chosen by the caller for each request, handed back with its response so
// the caller can route it (to an RPC responder, say). The core never looks
// inside. kNoReplyToken marks a message that answers no request.
using ReplyToken = uint64_t;
inline constexpr ReplyToken kNoReplyToken = 0;

using MetaMessage =
    std::variant<proto::ConfigProposal, proto::ConfigUpdateResponse,
                 proto::ConfigSyncResponse, proto::BeaconResponse,
                 proto::AdminResponse>;

struct OutMessage {
  // The request's token for a response; kNoReplyToken for a proposal.
  ReplyToken reply_token = kNoReplyToken;
  MetaMessage message;
};

// One write for the MetaStore (MetaStore::Write, or MetaStore::Delete when
// `erase`). Issue them in order.
struct StoreWrite {
  uint64_t write_id = 0;
  std::string key;
  std::string value;
  bool erase = false;  // Delete `key`; `value` is empty.
};

struct MetaReady {
  std::vector<std::pair<NodeId, OutMessage>> messages;
  std::vector<StoreWrite> writes;

  bool empty() const { return messages.empty() && writes.empty(); }
};

struct MetaStats {
  uint64_t beacons = 0;
  uint64_t nodes_declared_dead = 0;
  uint64_t updates_accepted = 0;
  uint64_t updates_rejected = 0;
  uint64_t writes_started = 0;
  uint64_t writes_failed = 0;
  uint64_t proposals_sent = 0;
  // Requests dropped or refused as malformed.
  uint64_t malformed_messages = 0;
  // OnStoreWriteDone calls for no write in flight.
  uint64_t unknown_write_completions = 0;
  // Deletions of a purged table's partition keys: done, and failed (the
  // keys stay until the next recovery deletes them again).
  uint64_t keys_deleted = 0;
  uint64_t deletes_failed = 0;
  // The balancer: rounds that asked for moves, and rounds that were due
  // but found a partition unhealthy (balance::CheckBalanceable).
  uint64_t balancer_rounds = 0;
  uint64_t balancer_rounds_unbalanceable = 0;
  // Moves (the balancer's and operators'): started, finished, abandoned
  // (the partition changed otherwise, a node died, a step timed out, the
  // level fell), and their steps persisted.
  uint64_t moves_started = 0;
  uint64_t moves_finished = 0;
  uint64_t moves_abandoned = 0;
  uint64_t move_steps = 0;
  // Operators' balance and propose requests carried out, and refused.
  uint64_t manual_balances = 0;
  uint64_t manual_proposals = 0;
  uint64_t manual_refused = 0;
};

class MetaCore {
 public:
  // PERR_INVALID_ARGUMENT when ValidateMetaOptions refuses `options`.
  static absl::StatusOr<std::unique_ptr<MetaCore>> Create(
      const MetaOptions& options);

  MetaCore(const MetaCore&) = delete;
  MetaCore& operator=(const MetaCore&) = delete;

  // Rebuilds the tables, configurations and level from what
  // MetaStore::LoadAll returned and makes the core ready. Every member of a
  // recovered configuration starts kUnknown with grace_ns from `now_ns` to
  // beacon before it is declared dead. A partition of a live table that is
  // missing (its creation write never completed) is created again; those
  // of a purged table are ignored, and their keys deleted (TakeReady has
  // the deletions). PERR_CORRUPTION when an entry does not
  // parse, is not well formed, or a partition belongs to no table;
  // PERR_INVALID_ARGUMENT when called twice.
  absl::Status Recover(const std::map<std::string, std::string>& stored,
                       int64_t now_ns);
  bool ready() const { return ready_; }

  // A table operation or query (proto::AdminRequest), from an operator or
  // a client `from`, answered with a proto::AdminResponse under
  // `reply_token` (none for kNoReplyToken). `wall_now_s` is the meta
  // server's wall clock in Unix seconds: a drop records it.
  //
  // Queries (list_tables, get_meta_level, list_nodes, cluster_info,
  // table_health) are answered at once. Operations that change something run
  // one at a time in arrival order, each checked against the state the ones
  // before it left, and are answered once what they changed is persisted:
  //   create_table   writes the table record, then every partition (ballot
  //                  0, no members); answered when all are durable. The
  //                  new table's id is the highest ever given plus one.
  //   drop_table     the table becomes DROPPED until wall_now_s plus the
  //                  reserve time: clients no longer find it, its
  //                  partitions are neither cured nor changed, and replica
  //                  servers stop serving it (they learn of it by config
  //                  sync). PurgeExpiredTables ends it.
  //   recall_table   a DROPPED table is AVAILABLE again, under its old name
  //                  or a new one.
  //   rename_table, update_envs, set_replica_count, set_meta_level.
  // Two operate on one partition and are answered directly, not queued
  // (docs/meta_server.md, "Manual balance and propose"):
  //   balance        starts an operator's move (move_pri, copy_pri,
  //                  copy_sec), carried out as the balancer's; answered
  //                  once it has started. Refused unless it applies to the
  //                  current configuration and the partition is healthy.
  //   propose        one change: upgrade_to_primary, add_secondary,
  //                  downgrade_to_secondary (asked of the primary),
  //                  downgrade_to_inactive and remove of a secondary;
  //                  answered once persisted or sent. assign_primary and
  //                  upgrade_to_secondary are refused
  //                  (PERR_INVALID_ARGUMENT): they are unsafe here.
  //                  Both need effective level steady or lively
  //                  (PERR_OPERATION_DISABLED), and no change or move in
  //                  progress on the partition nor max_moves_per_round
  //                  moves at once (PERR_BUSY).
  // Errors (and nothing changes): PERR_APP_NOT_EXIST, PERR_APP_EXIST,
  // PERR_INVALID_APP_NAME, PERR_INVALID_PAR_COUNT (not a power of two, or
  // beyond max_partitions_per_table or max_partitions),
  // PERR_INVALID_REP_COUNT (outside [1, 5]), PERR_INVALID_ARGUMENT (a bad
  // env or env update, a negative reserve time, max_tables reached, no or an
  // unknown operation, a bad level, a create with success_if_exist whose
  // counts differ from the existing table's), PERR_OPERATION_DISABLED (any operation
  // but set_meta_level, when the level is stopped as it runs), PERR_BUSY
  // (max_pending_admin operations waiting), PERR_IO_ERROR (the store write
  // failed), PERR_TRY_AGAIN (before Recover).
  void OnAdmin(NodeId from, const proto::AdminRequest& request,
               ReplyToken reply_token, int64_t now_ns, int64_t wall_now_s);

  // The answer to a query (list_tables, get_meta_level, list_nodes,
  // cluster_info, table_health) as it stands: queries change nothing and
  // wait for nothing, so OnAdmin answers them at once with this.
  // PERR_APP_NOT_EXIST for table_health of an unknown table,
  // PERR_INVALID_ARGUMENT for a request that is no query, PERR_TRY_AGAIN
  // before Recover.
  absl::StatusOr<proto::AdminResponse> Query(
      const proto::AdminRequest& request) const;

  // Where a table's partitions are: every partition's configuration, by
  // index (ballot 0 and no members until its creation is durable and the
  // cure assigned it). PERR_APP_NOT_EXIST unless the table is AVAILABLE;
  // PERR_TRY_AGAIN before Recover.
  proto::QueryConfigResponse QueryConfig(
      const proto::QueryConfigRequest& request) const;

  // Purges every DROPPED table whose hold ran out by `wall_now_s`: its
  // record becomes a PURGED tombstone (so its id is never reused), its
  // partitions are forgotten and their store keys deleted, and replica
  // servers that report replicas of it are told to delete them. Runs as a table operation. Call it with the
  // ticks.
  void PurgeExpiredTables(int64_t now_ns, int64_t wall_now_s);

  // A beacon from `from`: the node is alive as of now_ns (a dead or unknown
  // node becomes alive), and every later message to it carries the fence of
  // its latest beacon (proto::LeaseFence; not the beacon answers). Answered
  // with a BeaconResponse echoing send_time_ns, allowed=true; allowed=false
  // before Recover, or when max_nodes are tracked and none is dead. A beacon
  // whose `node` is not `from` is dropped unanswered (counted as malformed).
  void OnBeacon(NodeId from, const proto::Beacon& beacon,
                ReplyToken reply_token, int64_t now_ns);

  // A primary asks for a change of its partition's configuration:
  // DOWNGRADE_TO_INACTIVE or REMOVE of a secondary, UPGRADE_TO_SECONDARY of
  // a learner, DOWNGRADE_TO_SECONDARY of itself, or PRIMARY_FORCE_UPDATE_
  // BALLOT (the same members under a new ballot, which a primary needs
  // after its server restarted or its lease came back). Accepted only when
  // `from` is the current primary, the proposed ballot is the current one plus
  // one, and the proposed members are exactly the current ones with that
  // change; then persisted, and answered once the write completes (error 0
  // and the new configuration, or PERR_IO_ERROR and the old one). Refused at
  // once, changing nothing, with the current configuration and:
  //   PERR_INVALID_ARGUMENT  malformed (request.from != from, a node id 0,
  //                          a duplicate, the primary also a secondary, a
  //                          type only the meta server makes, a change
  //                          that does not apply or does not match);
  //   PERR_OBJECT_NOT_FOUND  no such partition;
  //   PERR_SERVER_CHANGED    `from` is not the primary, the ballot is not
  //                          current + 1, or a change is in flight;
  //   PERR_BUSY              max_waiters_per_change repeats are waiting;
  //   PERR_TRY_AGAIN         before Recover.
  // The proposal's last_drops, last_committed_decree and max_replica_count
  // are ignored: the meta server owns them. A repeat of the last accepted
  // request is answered OK again.
  void OnConfigUpdate(NodeId from, const proto::ConfigUpdateRequest& request,
                      ReplyToken reply_token, int64_t now_ns);

  // A replica server reports the replicas it hosts. The reports of an alive
  // node are remembered (replacing its earlier ones) until it is declared
  // dead; the all-dead cure needs them. Answered with the configuration of
  // every partition `from` is a member of, so it can close other replicas.
  // error PERR_INVALID_ARGUMENT when request.node != from or more than
  // max_replicas_per_sync replicas are reported; PERR_TRY_AGAIN before
  // Recover.
  void OnConfigSync(NodeId from, const proto::ConfigSyncRequest& request,
                    ReplyToken reply_token, int64_t now_ns);

  // Failure detection, cure and balancing, for every partition with no
  // change in flight (docs/meta_server.md, internal/guardian.h):
  //   - nodes silent for grace_ns are declared dead. A dead primary is
  //     downgraded (DOWNGRADE_TO_INACTIVE: primary cleared, node appended
  //     to last_drops) by the meta server itself, as Pegasus does. So is a
  //     dead secondary: Pegasus asks the primary to propose the removal,
  //     but the dead node's lease has lapsed, so it serves nothing and
  //     removing it at the meta server is equivalent, and needs no round
  //     trip. The members are then sent the new configuration.
  //   - partitions without a primary get one (ASSIGN_PRIMARY or
  //     UPGRADE_TO_PRIMARY, persisted and then proposed to the node);
  //     partitions short of secondaries get CONFIG_ADD_SECONDARY sent to
  //     their primary.
  //   - moves in progress take their next step, or are abandoned (the
  //     partition changed otherwise, `from` or `to` is not alive, a step
  //     took move_step_timeout_ns, the level fell below steady); at level
  //     lively, every balancer_interval_ns, a balancing round starts when
  //     nothing is in progress and every partition is healthy.
  // A failed store write is retried here, on a later tick.
  void Tick(int64_t now_ns);

  // The outcome of StoreWrite `write_id`. On OK the change becomes current
  // and whoever waits for it hears; on error nothing changes.
  void OnStoreWriteDone(uint64_t write_id, const absl::Status& status,
                        int64_t now_ns);

  // What to send and persist since the last call.
  MetaReady TakeReady();

  // --- For checkers and tests -------------------------------------------

  // A table by id (tombstones included) or by name (available ones only);
  // nullptr when there is none.
  const proto::TableInfo* GetTable(int32_t app_id) const;
  const proto::TableInfo* FindTable(const std::string& name) const;
  // The level an operator set, and the one the core acts at (FREEZED
  // while too few nodes are alive; see MetaOptions::min_live_nodes).
  proto::MetaLevel level() const { return level_; }
  proto::MetaLevel effective_level() const;
  // Table operations queued or running.
  size_t pending_admin() const { return admin_queue_.size(); }

  // The current (persisted) configuration; nullptr for no such partition.
  // A partition whose creation write has not completed shows ballot 0.
  const proto::PartitionConfig* GetConfig(Gpid gpid) const;
  bool HasChangeInFlight(Gpid gpid) const;
  std::vector<Gpid> Partitions() const;
  NodeStatus GetNodeStatus(NodeId node) const;
  std::vector<NodeId> AliveNodes() const;
  const MetaStats& stats() const { return stats_; }
  // The move in progress on `gpid` (the balancer's or an operator's).
  std::optional<balance::Move> MoveInProgress(Gpid gpid) const;
  int MovesInProgress() const;
  // What the balancer would look at now: the alive nodes and every
  // available table's configurations.
  balance::ClusterSnapshot BalanceSnapshot() const;
  const MetaOptions& options() const { return options_; }

  // Aborts (PEGASUS_CHECK) unless: every configuration is well formed (no
  // node id 0, no duplicate member, the primary not a secondary, members
  // <= max_replica_count, bounded last_drops); no ballot went down since
  // the last call; a change in flight has ballot current + 1 (the creation
  // write: 0); at most max_moves_per_round moves, none ahead of its
  // partition's ballot; every bound holds.
  void CheckInvariants() const;

 private:
  struct Waiter {
    NodeId node;
    ReplyToken token = kNoReplyToken;
  };
  struct PendingChange {
    uint64_t write_id = 0;
    proto::PartitionConfig config;
    // CONFIG_INVALID for a partition's creation write.
    proto::ConfigType type = proto::CONFIG_INVALID;
    NodeId node;
    // The primary that asked, or 0 for the meta server's own change.
    NodeId requester;
    std::vector<Waiter> waiters;
    // An operator's propose, answered (AdminResponse) when it completes.
    std::optional<Waiter> admin_waiter;
  };
  // The last primary-requested change persisted, to answer its repeats.
  struct AcceptedUpdate {
    int64_t ballot = 0;
    NodeId requester;
    proto::ConfigType type = proto::CONFIG_INVALID;
    NodeId node;
  };
  // A move's steps (meta_core_balance.cc). Copies start by raising
  // max_replica_count by one; move_primary starts at kDowngrade.
  enum class MovePhase {
    // Persisting SET_REPLICA_COUNT: the table's count plus one.
    kRaise,
    // ADD_SECONDARY of `to` sent to the primary; waiting for its
    // UPGRADE_TO_SECONDARY.
    kLearn,
    // DOWNGRADE_TO_SECONDARY asked of `from`; waiting for its request.
    kDowngrade,
    // No primary: waiting for the guardian to upgrade `to`.
    kUpgrade,
    // Persisting REMOVE of `from`, max_replica_count back to the table's.
    kRemove,
  };
  struct MoveRun {
    balance::Move move;
    MovePhase phase = MovePhase::kRaise;
    // The partition's ballot when the phase began: the phase's change
    // must be the next one, else the move is abandoned.
    int64_t ballot = 0;
    // The table's replica count when the move started: a change of it
    // abandons the move.
    int32_t replica_count = 0;
    int64_t phase_since_ns = 0;
    std::optional<int64_t> last_sent_ns;
  };
  struct Partition {
    proto::PartitionConfig config;
    // False until the creation write completed.
    bool durable = false;
    std::optional<PendingChange> pending;
    std::optional<int64_t> short_since_ns;
    std::optional<int64_t> last_add_secondary_ns;
    std::optional<AcceptedUpdate> last_update;
    std::optional<MoveRun> move;
  };
  // A table operation, queued or running (the queue's front).
  struct AdminOp {
    NodeId from;
    ReplyToken token = kNoReplyToken;
    proto::AdminRequest request;
    int64_t wall_now_s = 0;
    // A purge the core queued itself, of this table.
    int32_t purge_app_id = 0;
    // The store write in flight (0: none yet).
    uint64_t write_id = 0;
    // What that write makes of the table (a table write) or the level.
    proto::TableInfo table;
    proto::MetaLevel level = proto::META_LEVEL_INVALID;
    // A create whose table record is durable: waiting for its partitions.
    bool creating = false;
  };

  explicit MetaCore(const MetaOptions& options);

  void AdvanceTime(int64_t now_ns);
  Partition* FindPartition(Gpid gpid);
  absl::Status RecoverPartition(const std::string& key,
                                const std::string& value);
  absl::Status RecoverTables(const std::map<std::string, std::string>& stored);
  // The configuration of a partition whose creation was never persisted.
  Partition& AddNewPartition(Gpid gpid, int32_t replica_count);
  bool TableAvailable(int32_t app_id) const;
  // Gives a configuration of `partition` about to be persisted its table's
  // replica count as max_replica_count (one more while a copy in progress
  // needs its extra member), or its member count while that is more.
  void FollowReplicaCount(const Partition& partition,
                          proto::PartitionConfig& next) const;

  // Table operations (meta_core_tables.cc).
  void ReplyAdmin(NodeId to, ReplyToken token, const absl::Status& status,
                  proto::AdminResponse response = {});
  // Starts the queue's front, and the ones after it that need no write,
  // until one waits for a write or the queue is empty.
  void RunAdmin();
  // Checks the front op against the current state and starts its write
  // (returns OK with op.write_id set), or says why it fails; OK without a
  // write means it is answered already.
  absl::Status StartAdmin(AdminOp& op);
  absl::Status StartCreate(AdminOp& op);
  absl::Status StartTableWrite(AdminOp& op, proto::TableInfo table);
  void OnAdminWriteDone(const absl::Status& status);
  // The front op is done: answered, popped, and the next one started.
  void FinishAdmin(const absl::Status& status,
                   proto::AdminResponse response = {});
  // A create waiting for its partitions: finished once all are durable.
  void MaybeFinishCreate();
  void AdoptTable(const proto::TableInfo& table);
  // Forgets a purged table's partitions, and deletes their store keys.
  void ForgetPartitions(const proto::TableInfo& table);
  // Deletes `key` from the store (a purged table's partition key).
  void StartDelete(std::string key);
  proto::MetaLevel ComputeEffectiveLevel() const;
  // The health of a partition of an available table (meta.proto).
  proto::PartitionHealth HealthOf(Gpid gpid) const;
  void StartWrite(Gpid gpid, Partition& partition,
                  proto::PartitionConfig config, proto::ConfigType type,
                  NodeId node, NodeId requester, std::vector<Waiter> waiters);
  void CompleteChange(Partition& partition, PendingChange change);
  absl::Status AcceptUpdate(Gpid gpid, Partition& partition, NodeId from,
                            const proto::ConfigUpdateRequest& request,
                            ReplyToken reply_token);
  absl::Status WaitWithRepeat(PendingChange& pending, NodeId from,
                              const proto::ConfigUpdateRequest& request,
                              ReplyToken reply_token);
  void ReplyUpdate(NodeId to, ReplyToken token, const absl::Status& status,
                   const proto::PartitionConfig& config);
  void Send(NodeId to, ReplyToken token, MetaMessage message);
  void ProposeToMembers(const PendingChange& change);
  void AskForLearner(Partition& partition, NodeId node);
  void CurePartition(Gpid gpid, Partition& partition, int32_t replica_count,
                     meta_internal::LoadMap& loads);

  // Balancing (meta_core_balance.cc).
  void MaybeStartRound();
  void StartMove(Gpid gpid, Partition& partition, const balance::Move& move);
  // Takes the move's current step (persists it, or asks the primary again
  // when due), or abandons the move.
  void DriveMove(Gpid gpid, Partition& partition);
  // A change of a moving partition became durable: the move's next phase
  // when it was the expected step, else the move is abandoned.
  void AdvanceMove(Gpid gpid, Partition& partition,
                   const PendingChange& change);
  void AbandonMove(Partition& partition);
  void AskToStepDown(Partition& partition);
  void OnBalance(NodeId from, const proto::BalanceRequest& request,
                 ReplyToken reply_token);
  void OnPropose(NodeId from, const proto::ProposeRequest& request,
                 ReplyToken reply_token);
  absl::Status StartBalance(const proto::BalanceRequest& request);
  // Carries the proposal out: true when its write started and
  // `reply_token` waits for it, false when it is done (sent).
  absl::StatusOr<bool> StartPropose(NodeId from,
                                    const proto::ProposeRequest& request,
                                    ReplyToken reply_token);
  // The partition an operator names, if it may be changed now.
  absl::StatusOr<Partition*> PartitionForOperator(Gpid gpid);

  const MetaOptions options_;
  bool ready_ = false;
  // The latest now_ns seen; an earlier one counts as this.
  int64_t now_ns_;
  meta_internal::FailureDetector nodes_;
  std::map<Gpid, Partition> partitions_;
  // Every table ever created, tombstones included, by id; and the
  // available ones by name.
  std::map<int32_t, proto::TableInfo> tables_;
  std::map<std::string, int32_t> names_;
  proto::MetaLevel level_;
  // Recomputed at every Tick.
  proto::MetaLevel effective_level_;
  std::deque<AdminOp> admin_queue_;
  // The write of the queue's front op, when it has one in flight.
  uint64_t admin_write_id_ = 0;
  // Per node that synced since it was last declared dead, the existing
  // partitions it reported a replica of.
  std::map<NodeId, std::set<Gpid>> reports_;
  std::map<uint64_t, Gpid> writes_in_flight_;
  // Deletions of purged tables' partition keys in flight.
  std::set<uint64_t> deletes_in_flight_;
  // When the last balancing round started (the recovery time at first).
  int64_t last_round_ns_ = 0;
  uint64_t next_write_id_ = 1;
  MetaReady out_;
  MetaStats stats_;
  // The ballots CheckInvariants last saw: its own record, not core state.
  mutable std::map<Gpid, int64_t> checked_ballots_;
};

}  // namespace pegasus

#endif  // PEGASUS_META_META_CORE_H_
