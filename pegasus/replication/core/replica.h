// One replica of one partition, as a pure state machine: PacificA as
// Pegasus implements it (docs/replication.md).
//
// Inputs are method calls: client writes and reads, peer messages, the
// meta server's configurations, log and storage completions, the server's
// lease, and ticks carrying the time. Outputs accumulate in a Ready (see
// replica_types.h) that the driver takes with TakeReady() and carries out.
// The replica never reads a clock, sends a message, touches a file or
// blocks; the same inputs give the same outputs, which is what lets the
// simulator drive it.
//
// Thread-safety: none; a driver calls it from one strand.
//
// The rules it keeps:
// - A mutation commits at the primary only once its own log append is
//   durable and every secondary (and every learner prepares go to) has
//   acknowledged it; commits happen strictly in decree order, and a
//   committed decree never changes.
// - A secondary logs a prepare before acknowledging it, never accepts a
//   ballot older than its own, and commits only up to the commit point the
//   primary tells it.
// - Reads are answered by the primary alone, from committed state, while
//   its server holds the lease, and only after the uncommitted tail it
//   inherited has committed under its ballot (reconciliation).
// - Membership changes go through the meta server: the primary proposes
//   with ballot + 1 and makes no new mutation until the answer comes.
// - A primary the meta server asks to step down stops serving before it
//   proposes its own downgrade, and never serves under that ballot again,
//   so no other replica can be made primary while it still serves.

#ifndef PEGASUS_REPLICATION_CORE_REPLICA_H_
#define PEGASUS_REPLICATION_CORE_REPLICA_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/proto/replication.pb.h"
#include "pegasus/replication/core/replica_types.h"

namespace pegasus::replication {

// What a replica's log holds, as replay sees it: one mutation per decree,
// in decree order. A later record of a decree replaces an earlier one
// unless the earlier has the newer ballot, and a tail-drop marker
// (Mutation.drops_tail) voids every record before it from its decree on.
// Markers themselves are left out. Recovery and learning from the log both
// read a log this way.
std::vector<proto::Mutation> ResolveLog(
    const std::vector<proto::Mutation>& records);

class Replica {
 public:
  // A replica that has applied storage up to `last_applied` and finds
  // `logged` in its log (in log order; later records of one decree replace
  // earlier ones). Mutations the log proves committed (a later record's
  // last_committed covers them) are applied through the first Ready.
  // It starts inactive, at the highest ballot its log shows or
  // `persisted_ballot` says (the last Ready::persist_ballot its driver made
  // durable), until a configuration arrives.
  Replica(Gpid gpid, NodeId self, const ReplicaOptions& options,
          Decree last_applied, const std::vector<proto::Mutation>& logged,
          Ballot persisted_ballot = 0);

  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // --- Inputs. `now_ns` is the driver's monotonic clock. ---

  // The time moves on: retries, timeouts, group checks, empty writes.
  void Tick(int64_t now_ns);
  // The time now, so that what the next input sends is stamped with it;
  // does nothing else (Tick acts on the time).
  void ObserveTime(int64_t now_ns) { now_ns_ = std::max(now_ns_, now_ns); }
  // The earliest time a Tick may have something to do, or kNoTick when
  // only an input can give it work. A driver ticks the replica then (not
  // before it is due, or it ticks for nothing).
  static constexpr int64_t kNoTick = INT64_MAX;
  int64_t NextTickNs() const;

  // A client write (IsWrite(request)); `wall_now_us` is the primary's wall
  // clock, which becomes the mutation's timestamp. Answered through an
  // Apply or a ClientError.
  void ClientWrite(proto::DataRequest request, ClientToken client,
                   int64_t wall_now_us);
  // ClientWrite without making mutations yet: the write waits in the queue
  // (or is refused as ClientWrite would) until MakeMutations or another
  // ClientWrite. A driver with several writes at hand queues them all and
  // then makes mutations once, so they share mutations (up to
  // max_mutation_bytes each) instead of taking one each.
  void QueueClientWrite(proto::DataRequest request, ClientToken client,
                        int64_t wall_now_us);
  // Turns queued writes into mutations while the in-flight window has room.
  void MakeMutations();
  // A client read: answered through a ServeRead or a ClientError.
  void ClientRead(ClientToken client);

  // A configuration from the meta server (a proposal, a sync, or the answer
  // to this replica's own proposal). Older ballots are ignored.
  void OnConfig(const proto::PartitionConfig& config);
  // The meta server answered a proposal this replica made.
  void OnConfigUpdateResponse(const proto::ConfigUpdateResponse& response);
  // The meta server asks this primary to add `learner`.
  void OnAddLearner(const proto::PartitionConfig& config, NodeId learner);
  // The meta server asks this primary to step down to secondary
  // (CONFIG_DOWNGRADE_TO_SECONDARY naming it, to move the primary
  // elsewhere). Acted on only by the primary of `config`'s ballot under its
  // lease, with no other proposal pending: it stops serving at once (queued
  // writes are refused, reads refused from now on) and proposes
  // DOWNGRADE_TO_SECONDARY of itself. It never serves under this ballot
  // again: a refusal at the same ballot does not bring it back (a retry of
  // the proposal may still be accepted), only a newer configuration ends
  // it. Mutations already prepared may still commit meanwhile. Anything
  // else (another ballot, a replica that is not the primary, a repeat) is
  // ignored.
  void OnDowngradeRequest(const proto::PartitionConfig& config);

  void OnPrepare(NodeId from, const proto::PrepareRequest& request);
  void OnPrepareResponse(NodeId from, const proto::PrepareResponse& response);
  void OnGroupCheck(NodeId from, const proto::GroupCheckRequest& request);
  void OnGroupCheckResponse(NodeId from,
                            const proto::GroupCheckResponse& response);
  void OnLearnRequest(NodeId from, const proto::LearnRequest& request);
  void OnLearnResponse(NodeId from, const proto::LearnResponse& response);

  // The log append of (ballot, decree) finished. A failure stops the
  // replica (kError): the append's fate is unknown.
  void OnLogAppended(Ballot ballot, Decree decree, const absl::Status& status);
  // The data a LearnFetch asked for: committed mutations from the start
  // decree on (read back from the log), or a checkpoint plus the mutations
  // after it. An error fails that learning round (the learner asks again).
  void OnLearnData(NodeId learner, uint64_t signature,
                   absl::StatusOr<proto::LearnResponse> data);
  // Storage now holds the installed checkpoint.
  void OnCheckpointInstalled(Decree checkpoint_decree);

  // The server's lease with the meta server lapsed (false) or holds again
  // (true). Without it the replica serves nothing and turns inactive; it
  // becomes active again only through a configuration from the meta server.
  void SetLeaseValid(bool valid);

  // --- Outputs and state. ---

  Ready TakeReady();
  bool HasReady() const { return !ready_.empty(); }
  // The effects accumulated since the last TakeReady(), for checkers.
  const Ready& pending() const { return ready_; }

  Gpid gpid() const { return gpid_; }
  NodeId self() const { return self_; }
  ReplicaStatus status() const { return status_; }
  Ballot ballot() const { return config_.ballot(); }
  const proto::PartitionConfig& config() const { return config_; }
  Decree last_committed() const { return last_committed_; }
  // The highest decree in the prepared list (>= last_committed).
  Decree last_prepared() const;
  // For a primary: reads are held back until this decree commits.
  Decree reconcile_target() const { return reconcile_target_; }
  // For a primary: the ballot it became primary under. It has been primary
  // without a break since, through any newer ballots of membership
  // changes; a driver keeps state of one primary term (scan contexts) for
  // exactly that long. No other replica is ever primary under that ballot,
  // and this one never again once the term ends. 0 when not primary.
  Ballot primary_since() const {
    return status_ == ReplicaStatus::kPrimary ? primary_since_ : 0;
  }
  bool serving_reads() const;
  // The mutation this replica holds at `decree` (prepared, or committed and
  // still cached), or null.
  const proto::Mutation* MutationAt(Decree decree) const;
  // The driver may garbage-collect the log only below this decree: while a
  // learner, the tail-drop marker of its current ballot must stay
  // (StartLearning). kMaxDecree when nothing is pinned.
  static constexpr Decree kMaxDecree = INT64_MAX;
  Decree log_keep_from() const;
  proto::ReplicaReport Report() const;

  // Aborts (PEGASUS_CHECK) when a local invariant is broken: the commit
  // point below every prepared entry's range, ballots in the prepared list
  // no higher than the replica's, a primary's members distinct, and so on.
  void CheckInvariants() const;

 private:
  struct Entry {
    proto::Mutation mutation;
    bool logged = false;
    // Primary: members (and learners) that acknowledged this ballot's copy.
    std::set<NodeId> acks;
    // Primary: the client waiting for each write.
    std::vector<ClientToken> clients;
    // Primary: when the prepare was first and last sent.
    int64_t first_sent_ns = 0;
    int64_t last_sent_ns = 0;
    // Secondary: who to acknowledge once logged.
    NodeId ack_to;
  };
  struct QueuedWrite {
    proto::DataRequest request;
    ClientToken client = kNoClient;
    int64_t bytes = 0;
  };
  struct Learner {
    uint64_t signature = 0;
    // Prepares for decrees from here on go to the learner (0: not yet).
    Decree prepare_start = kNoDecree;
  };

  // Configuration and roles (replica.cc).
  void AdoptConfig(const proto::PartitionConfig& config);
  void BecomePrimary();
  void BecomeSecondary();
  void BecomeInactive();
  void DropClients(const absl::Status& status);
  void RefuseQueuedWrites(const absl::Status& status);
  bool IsMember(NodeId node) const;
  std::vector<NodeId> Secondaries() const;
  void ProposeConfig(proto::ConfigUpdateRequest request);
  // The primary asked the meta server to step down under its ballot and
  // has not heard of a newer configuration since.
  bool SteppingDown() const;

  // Two-phase commit (replica_2pc.cc).
  // Stamped with the primary's wall clock (never going back).
  void MakeMutation(std::vector<QueuedWrite> writes);
  void AddEntry(proto::Mutation mutation, std::vector<ClientToken> clients);
  void SendPrepare(NodeId to, Entry* entry);
  void BroadcastPrepare(Entry* entry);
  // The secondaries, and the learners whose prepare start is at or before
  // `decree`: who a prepare of `decree` goes to, and must be acknowledged
  // by.
  std::vector<NodeId> PrepareTargets(Decree decree) const;
  bool IsPrepareTarget(NodeId node, Decree decree) const;
  bool Committable(const Entry& entry) const;
  void CommitReady();
  void CommitTo(Decree decree);
  void CommitOne(Entry* entry);
  void RetryPrepares();
  bool CommittedWritesUntold() const;
  void RemoveUnresponsive(NodeId member);
  void PruneCache();
  void Acknowledge(const Entry& entry);
  // Answers a prepare of (ballot, decree).
  void Reply(NodeId to, Ballot ballot, Decree decree,
             proto::ReplicaError error);

  // Why client requests are refused here (PERR_SERVER_CHANGED), or null
  // when this replica is the primary under a lease.
  const char* NotPrimaryReason() const;
  // Group check and learning (replica_learn.cc).
  void GroupCheck();
  void SendGroupCheck(NodeId to, uint64_t learner_signature);
  bool UpgradePending(NodeId learner) const;
  void StartLearning(NodeId primary, Ballot primary_ballot,
                     uint64_t signature);
  void SendLearnRequest();
  void FinishLearnResponse(const proto::LearnResponse& response);
  void MaybeFinishLearning();
  void SendLearnResponse(NodeId learner, proto::LearnResponse response);
  proto::LearnResponse LearnFromCache(Decree start) const;
  void MaybeUpgradeLearner(NodeId learner);

  proto::GroupCheckResponse GroupCheckAnswer(proto::ReplicaError error) const;

  const Gpid gpid_;
  const NodeId self_;
  const ReplicaOptions options_;

  ReplicaStatus status_ = ReplicaStatus::kInactive;
  proto::PartitionConfig config_;
  // The highest ballot the driver was asked to persist.
  Ballot persisted_ballot_ = 0;
  bool lease_valid_ = true;
  int64_t now_ns_ = 0;
  int64_t wall_now_us_ = 0;

  // Prepared (and recently committed, for learners) mutations by decree.
  std::map<Decree, Entry> entries_;
  // What the last CheckInvariants() saw.
  struct Checked {
    Ballot ballot = 0;
    Decree last_committed = 0;
  };
  mutable Checked checked_;
  Decree last_committed_ = kNoDecree;
  int64_t last_timestamp_us_ = 0;

  // Primary state.
  Ballot primary_since_ = 0;
  std::deque<QueuedWrite> queue_;
  int64_t queued_bytes_ = 0;
  Decree reconcile_target_ = kNoDecree;
  bool proposal_pending_ = false;
  proto::ConfigUpdateRequest pending_proposal_;
  int64_t proposal_sent_ns_ = 0;
  int64_t last_group_check_ns_ = 0;
  int64_t last_mutation_ns_ = 0;
  // The highest commit point sent to the members (in a prepare or a group
  // check); an idle primary sends an empty write while it lags.
  Decree last_told_committed_ = kNoDecree;
  std::map<NodeId, Learner> learners_;
  uint64_t next_learner_signature_ = 1;

  // Learner state.
  NodeId learn_primary_;
  uint64_t learn_signature_ = 0;
  Decree learn_prepare_start_ = kNoDecree;
  bool learn_in_flight_ = false;
  int64_t learn_sent_ns_ = 0;
  bool learn_succeeded_ = false;
  // Learned mutations whose log append is not yet durable, as (ballot,
  // decree): learning succeeds only once this is empty.
  std::set<std::pair<Ballot, Decree>> learn_unlogged_;
  // Tail-drop markers appended to the log and not yet completed, as
  // (ballot, decree).
  std::multiset<std::pair<Ballot, Decree>> pending_markers_;
  // The latest tail-drop marker in the log (appended here, or replayed), as
  // (ballot, decree): under that ballot, everything this replica took in
  // since came from that ballot's primary.
  std::pair<Ballot, Decree> tail_marker_{0, kNoDecree};
  bool installing_checkpoint_ = false;
  proto::LearnResponse pending_install_;

  Ready ready_;
};

}  // namespace pegasus::replication

#endif  // PEGASUS_REPLICATION_CORE_REPLICA_H_
