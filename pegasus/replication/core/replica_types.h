// The vocabulary of the replica state machine (replica.h): its states, its
// options with their bounds, and Ready, the batch of effects it asks its
// driver to carry out.

#ifndef PEGASUS_REPLICATION_CORE_REPLICA_TYPES_H_
#define PEGASUS_REPLICATION_CORE_REPLICA_TYPES_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "pegasus/base/ids.h"
#include "pegasus/proto/data.pb.h"
#include "pegasus/proto/replication.pb.h"

namespace pegasus::replication {

// A replica's part in its partition, as Pegasus names them (PS_*). The
// values travel in ReplicaReport.status.
enum class ReplicaStatus : int32_t {
  // Serves nothing: not in the configuration, not yet told, or stopped
  // serving because its server's lease lapsed.
  kInactive = 0,
  kPrimary = 1,
  kSecondary = 2,
  // A potential secondary catching up from the primary.
  kLearner = 3,
  // Its log failed; it must be closed and reopened.
  kError = 4,
};

const char* ReplicaStatusName(ReplicaStatus status);

// What a client refused for a lapsed lease is told, whether the replica or
// its host (judging the lease again before serving reads) refuses it.
inline constexpr char kLeaseLapsedMessage[] = "the replica's lease lapsed";

// Deliberate protocol bugs, each off by default. The simulator turns one on
// to prove its checkers catch it; nothing else may.
struct ReplicaPlantedBugs {
  // The primary commits once a majority of the members has the mutation,
  // not all of them.
  bool majority_commit = false;
  // Secondaries answer reads.
  bool secondary_read = false;
  // Prepares are acknowledged (and the primary's own copy counted) before
  // the log append is durable.
  bool ack_before_durable = false;
  // A new primary serves reads at once, without re-preparing the
  // uncommitted tail of its prepared list first.
  bool skip_reconciliation = false;
  // A secondary accepts a prepare whose ballot is older than its own.
  bool stale_ballot_prepare = false;
  // The primary asks for a learner's upgrade as soon as it starts learning.
  bool early_learner_upgrade = false;
};

struct ReplicaOptions {
  // Decrees in two-phase commit at once: the primary makes no mutation
  // beyond last_committed + this (Pegasus's staleness_for_commit).
  int64_t max_inflight_mutations = 20;
  // Writes coalesced into one mutation, in request bytes; a single larger
  // write still makes its own mutation.
  int64_t max_mutation_bytes = 1 << 20;
  // Client writes queued for a decree, in request bytes; beyond it writes
  // are refused with PERR_BUSY.
  int64_t max_queued_write_bytes = 16 << 20;
  // A secondary refuses prepares this far beyond its commit point.
  int64_t max_prepare_gap = 100;
  // Committed mutations kept in memory for learners (Pegasus's
  // LT_CACHE); older ones are read back from the log or storage.
  int64_t max_cached_mutations = 200;
  // A member that has not acknowledged a prepare is sent it again after
  // this long, and proposed for removal after prepare_timeout_ns.
  int64_t prepare_retry_ns = 100'000'000;
  int64_t prepare_timeout_ns = 1'000'000'000;
  // How often the primary runs a group check. A primary idle this long
  // sends one empty write when mutations with writes committed since the
  // members last heard the commit point (not for empty writes alone).
  int64_t group_check_interval_ns = 500'000'000;
  // A proposal to the meta server unanswered this long is sent again.
  int64_t config_proposal_retry_ns = 500'000'000;
  // A learner that has heard nothing of its learning this long asks again.
  int64_t learn_retry_ns = 1'000'000'000;
  // Writes are refused with PERR_NOT_ENOUGH_MEMBER when the configuration
  // has fewer members than this (Pegasus's mutation_2pc_min_replica_count);
  // reconciliation ignores it.
  int32_t min_replica_count = 2;
  ReplicaPlantedBugs planted_bugs;
};

// Validates bounds: PERR_INVALID_ARGUMENT naming the option.
absl::Status ValidateReplicaOptions(const ReplicaOptions& options);

// A client request the driver hands in, and the id it answers it by.
using ClientToken = uint64_t;
inline constexpr ClientToken kNoClient = 0;

// Effects. The driver carries them out in the order of the Ready fields
// below (log appends are started, messages sent, mutations applied, reads
// served, replies sent), then hands the outcomes back.

// Append a mutation to the log; call OnLogAppended(ballot, decree, status)
// once it is durable (or failed).
struct LogAppend {
  proto::Mutation mutation;
};

// A message to a peer replica of the same partition.
using PeerMessageBody =
    std::variant<proto::PrepareRequest, proto::PrepareResponse,
                 proto::GroupCheckRequest, proto::GroupCheckResponse,
                 proto::LearnRequest, proto::LearnResponse>;
struct PeerMessage {
  NodeId to;
  PeerMessageBody body;
};

// Apply a committed mutation to storage, in decree order, and answer
// clients[i] with the result of the mutation's i-th write (kNoClient: no
// one waits).
struct Apply {
  proto::Mutation mutation;
  std::vector<ClientToken> clients;
};

// Serve a read from storage now: everything committed is applied.
struct ServeRead {
  ClientToken client;
};

// Answer a client with an error; nothing was written.
struct ClientError {
  ClientToken client;
  absl::Status status;
};

// Fetch what a learner needs from the log or a storage checkpoint (the
// mutations from start_decree on are not in memory); call OnLearnData.
struct LearnFetch {
  NodeId learner;
  uint64_t signature = 0;
  Decree start_decree = kNoDecree;
};

// Replace storage with a learned checkpoint holding decrees up to
// checkpoint_decree, then call OnCheckpointInstalled.
struct InstallCheckpoint {
  std::string checkpoint;
  Decree checkpoint_decree = kNoDecree;
};

struct Ready {
  // Before anything else: make this ballot durable (0: nothing to do). The
  // replica acts under a new ballot only in the Ready that persists it, so
  // a restart never forgets a ballot it acted under: it would otherwise
  // take the same ballot again as if new, and a restarted primary would
  // prepare different mutations under a ballot its secondaries already
  // hold mutations for.
  Ballot persist_ballot = 0;
  std::vector<LogAppend> log_appends;
  std::vector<PeerMessage> messages;
  // Proposals for the meta server.
  std::vector<proto::ConfigUpdateRequest> meta_requests;
  std::vector<InstallCheckpoint> installs;
  std::vector<Apply> applies;
  std::vector<ServeRead> reads;
  std::vector<ClientError> errors;
  std::vector<LearnFetch> learn_fetches;
  // Set when the replica stopped (a failed log): close it.
  absl::Status fatal;

  bool empty() const {
    return persist_ballot == 0 && log_appends.empty() && messages.empty() &&
           meta_requests.empty() && installs.empty() && applies.empty() &&
           reads.empty() && errors.empty() && learn_fetches.empty() &&
           fatal.ok();
  }
};

}  // namespace pegasus::replication

#endif  // PEGASUS_REPLICATION_CORE_REPLICA_TYPES_H_
