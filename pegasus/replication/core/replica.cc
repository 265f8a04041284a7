// The replica's configuration, roles, reads, lease and invariants. The
// write path is in replica_2pc.cc, group check and learning in
// replica_learn.cc.

#include "pegasus/replication/core/replica.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/proto/partition_config.h"

namespace pegasus::replication {

std::vector<proto::Mutation> ResolveLog(
    const std::vector<proto::Mutation>& records) {
  std::map<Decree, const proto::Mutation*> current;
  for (const proto::Mutation& record : records) {
    if (record.drops_tail()) {
      current.erase(current.lower_bound(record.decree()), current.end());
      continue;
    }
    auto [it, added] = current.emplace(record.decree(), &record);
    if (!added && it->second->ballot() <= record.ballot()) it->second = &record;
  }
  std::vector<proto::Mutation> out;
  out.reserve(current.size());
  for (const auto& [decree, mutation] : current) out.push_back(*mutation);
  return out;
}

const char* ReplicaStatusName(ReplicaStatus status) {
  switch (status) {
    case ReplicaStatus::kInactive:
      return "inactive";
    case ReplicaStatus::kPrimary:
      return "primary";
    case ReplicaStatus::kSecondary:
      return "secondary";
    case ReplicaStatus::kLearner:
      return "learner";
    case ReplicaStatus::kError:
      return "error";
  }
  return "?";
}

absl::Status ValidateReplicaOptions(const ReplicaOptions& o) {
  auto bad = [](const char* name, const char* why) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        absl::StrCat("replica option ", name, " ", why));
  };
  if (o.max_inflight_mutations < 1)
    return bad("max_inflight_mutations", "must be >= 1");
  if (o.max_mutation_bytes < 1)
    return bad("max_mutation_bytes", "must be >= 1");
  if (o.max_queued_write_bytes < o.max_mutation_bytes) {
    return bad("max_queued_write_bytes", "must be >= max_mutation_bytes");
  }
  if (o.max_prepare_gap < o.max_inflight_mutations) {
    return bad("max_prepare_gap", "must be >= max_inflight_mutations");
  }
  if (o.max_cached_mutations < 0)
    return bad("max_cached_mutations", "must be >= 0");
  if (o.prepare_retry_ns <= 0) return bad("prepare_retry_ns", "must be > 0");
  if (o.prepare_timeout_ns < o.prepare_retry_ns) {
    return bad("prepare_timeout_ns", "must be >= prepare_retry_ns");
  }
  if (o.group_check_interval_ns <= 0)
    return bad("group_check_interval_ns", "must be > 0");
  if (o.config_proposal_retry_ns <= 0)
    return bad("config_proposal_retry_ns", "must be > 0");
  if (o.learn_retry_ns <= 0) return bad("learn_retry_ns", "must be > 0");
  if (o.min_replica_count < 1) return bad("min_replica_count", "must be >= 1");
  return absl::OkStatus();
}

Replica::Replica(Gpid gpid, NodeId self, const ReplicaOptions& options,
                 Decree last_applied,
                 const std::vector<proto::Mutation>& logged,
                 Ballot persisted_ballot)
    : gpid_(gpid), self_(self), options_(options) {
  PEGASUS_CHECK_OK(ValidateReplicaOptions(options));
  config_.set_app_id(gpid.app_id);
  config_.set_partition_index(gpid.partition_index);
  last_committed_ = last_applied;
  Ballot max_ballot = 0;
  Decree known_committed = last_applied;
  for (const proto::Mutation& mutation : logged) {
    max_ballot = std::max(max_ballot, mutation.ballot());
    if (mutation.drops_tail()) {
      tail_marker_ = {mutation.ballot(), mutation.decree()};
      continue;
    }
    known_committed = std::max(known_committed, mutation.last_committed());
    last_timestamp_us_ = std::max(last_timestamp_us_, mutation.timestamp_us());
  }
  for (proto::Mutation& mutation : ResolveLog(logged)) {
    if (mutation.decree() <= last_applied) continue;
    Entry& entry = entries_[mutation.decree()];
    entry.mutation = std::move(mutation);
    entry.logged = true;
  }
  config_.set_ballot(std::max(max_ballot, persisted_ballot));
  persisted_ballot_ = config_.ballot();
  // What a later record says was committed is committed: apply it.
  CommitTo(known_committed);
}

// --- Configuration ---------------------------------------------------------

bool Replica::IsMember(NodeId node) const {
  return pegasus::IsMember(config_, node);
}

std::vector<NodeId> Replica::Secondaries() const {
  std::vector<NodeId> out;
  for (uint64_t id : config_.secondaries()) out.push_back(NodeId{id});
  return out;
}

void Replica::OnConfig(const proto::PartitionConfig& config) {
  if (status_ == ReplicaStatus::kError) return;
  if (config.app_id() != gpid_.app_id ||
      config.partition_index() != gpid_.partition_index) {
    return;
  }
  if (config.ballot() < config_.ballot()) return;
  if (config.ballot() == config_.ballot()) {
    // The same configuration while inactive: the server restarted, or its
    // lease lapsed and came back. A secondary resumes (it lost only
    // prepares it never acknowledged, and the primary sends those again).
    // A primary may not reuse the ballot: its log may have lost prepares
    // its secondaries hold, so it asks the meta server for a new one.
    if (!lease_valid_ || status_ != ReplicaStatus::kInactive) return;
    config_ = config;
    if (config.primary() == self_.value) {
      if (!proposal_pending_) {
        proto::ConfigUpdateRequest request;
        *request.mutable_config() = config;
        request.mutable_config()->set_ballot(config.ballot() + 1);
        request.set_type(proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT);
        request.set_node(self_.value);
        ProposeConfig(std::move(request));
      }
    } else if (IsMember(self_)) {
      BecomeSecondary();
    }
    return;
  }
  AdoptConfig(config);
}

void Replica::AdoptConfig(const proto::PartitionConfig& config) {
  const bool was_primary = status_ == ReplicaStatus::kPrimary;
  config_ = config;
  if (config_.ballot() > persisted_ballot_) {
    persisted_ballot_ = config_.ballot();
    ready_.persist_ballot = persisted_ballot_;
  }
  proposal_pending_ = false;
  if (!lease_valid_) {
    BecomeInactive();
    return;
  }
  if (config.primary() == self_.value) {
    BecomePrimary();
  } else if (IsMember(self_)) {
    BecomeSecondary();
  } else if (status_ == ReplicaStatus::kLearner &&
             NodeId{config.primary()} == learn_primary_) {
    // Still learning from the same primary under its new ballot.
  } else {
    BecomeInactive();
  }
  if (was_primary && status_ != ReplicaStatus::kPrimary) learners_.clear();
}

void Replica::BecomePrimary() {
  const bool was_primary = status_ == ReplicaStatus::kPrimary;
  status_ = ReplicaStatus::kPrimary;
  if (!was_primary) primary_since_ = config_.ballot();
  learn_signature_ = 0;
  learn_primary_ = NodeId{};
  // Learners whose node became a member are done.
  for (auto it = learners_.begin(); it != learners_.end();) {
    it = IsMember(it->first) ? learners_.erase(it) : std::next(it);
  }
  // Reconciliation: every uncommitted decree is prepared again under this
  // ballot (gaps as empty writes), and reads wait until all of it commits.
  const Decree last = last_prepared();
  for (Decree d = last_committed_ + 1; d <= last; ++d) {
    auto it = entries_.find(d);
    if (it == entries_.end()) {
      proto::Mutation empty;
      empty.set_decree(d);
      empty.set_timestamp_us(last_timestamp_us_);
      AddEntry(std::move(empty), {});
      continue;
    }
    Entry& entry = it->second;
    entry.mutation.set_ballot(config_.ballot());
    entry.mutation.set_last_committed(last_committed_);
    entry.logged = false;
    entry.acks.clear();
    if (!was_primary) entry.clients.clear();
    entry.first_sent_ns = now_ns_;
    ready_.log_appends.push_back(LogAppend{entry.mutation});
    BroadcastPrepare(&entry);
  }
  reconcile_target_ =
      options_.planted_bugs.skip_reconciliation ? last_committed_ : last;
  last_group_check_ns_ = now_ns_;
  last_mutation_ns_ = now_ns_;
  CommitReady();
  MakeMutations();
}

void Replica::BecomeSecondary() {
  if (status_ == ReplicaStatus::kPrimary) {
    DropClients(PegasusError(ErrorCode::kServerChanged,
                             "the replica is no longer the primary"));
  }
  status_ = ReplicaStatus::kSecondary;
  learn_signature_ = 0;
  learn_primary_ = NodeId{};
  reconcile_target_ = kNoDecree;
}

void Replica::BecomeInactive() {
  if (status_ == ReplicaStatus::kPrimary) {
    DropClients(PegasusError(ErrorCode::kServerChanged,
                             "the replica is no longer the primary"));
  }
  if (status_ != ReplicaStatus::kError) status_ = ReplicaStatus::kInactive;
  learn_signature_ = 0;
  learn_primary_ = NodeId{};
  reconcile_target_ = kNoDecree;
}

// Writes still queued never got a decree: they are refused for certain.
// Writes in prepared mutations may yet commit under another primary, so
// their clients get no answer (they time out, and their outcome is
// unknown).
void Replica::DropClients(const absl::Status& status) {
  RefuseQueuedWrites(status);
  for (auto& [decree, entry] : entries_) entry.clients.clear();
}

void Replica::RefuseQueuedWrites(const absl::Status& status) {
  for (QueuedWrite& write : queue_) {
    if (write.client != kNoClient) {
      ready_.errors.push_back(ClientError{write.client, status});
    }
  }
  queue_.clear();
  queued_bytes_ = 0;
}

void Replica::ProposeConfig(proto::ConfigUpdateRequest request) {
  request.set_from(self_.value);
  pending_proposal_ = request;
  proposal_pending_ = true;
  proposal_sent_ns_ = now_ns_;
  ready_.meta_requests.push_back(std::move(request));
}

bool Replica::SteppingDown() const {
  return proposal_pending_ &&
         pending_proposal_.type() == proto::CONFIG_DOWNGRADE_TO_SECONDARY &&
         pending_proposal_.config().ballot() == config_.ballot() + 1;
}

// The meta server moves the primary: it may not demote a live primary by
// itself (the primary's lease still holds, and two primaries would serve
// reads), so it asks the primary, which stops serving first and then asks
// for its own downgrade. Only once that is persisted does the partition
// have no primary, and only then may the meta server upgrade a secondary.
void Replica::OnDowngradeRequest(const proto::PartitionConfig& config) {
  if (status_ != ReplicaStatus::kPrimary || !lease_valid_ ||
      config.app_id() != gpid_.app_id ||
      config.partition_index() != gpid_.partition_index ||
      config.ballot() != config_.ballot() || config.primary() != self_.value ||
      proposal_pending_) {
    // Another ballot (the request is stale, or this replica has not heard
    // of the newer one yet: the meta server asks again), a repeat while the
    // downgrade is pending, or another change pending (the meta server asks
    // again once it is answered).
    return;
  }
  // Writes that never got a decree fail now; prepared ones may still
  // commit here before the answer comes, or are re-prepared by the next
  // primary (their clients then get no answer from this one).
  RefuseQueuedWrites(
      PegasusError(ErrorCode::kServerChanged, "the primary is stepping down"));
  proto::ConfigUpdateRequest request;
  proto::PartitionConfig* next = request.mutable_config();
  *next = config_;
  next->set_ballot(config_.ballot() + 1);
  next->set_primary(0);
  next->add_secondaries(self_.value);
  request.set_type(proto::CONFIG_DOWNGRADE_TO_SECONDARY);
  request.set_node(self_.value);
  ProposeConfig(std::move(request));
}

void Replica::OnConfigUpdateResponse(
    const proto::ConfigUpdateResponse& response) {
  if (!proposal_pending_) return;
  const proto::PartitionConfig& config = response.config();
  if (config.app_id() != gpid_.app_id ||
      config.partition_index() != gpid_.partition_index) {
    return;
  }
  if (config.ballot() > config_.ballot()) {
    OnConfig(config);  // Accepted, or someone else changed it first.
  } else if (response.error() != 0 && !SteppingDown()) {
    proposal_pending_ = false;  // Refused: the tick proposes again if needed.
    MakeMutations();
  }
  // A refused downgrade stays pending and is proposed again at the next
  // retry: this refusal may have been overtaken by an earlier attempt the
  // meta server accepts, after which another replica becomes primary.
  // Serving again under this ballot could then serve stale reads.
}

// --- Reads and lease -------------------------------------------------------

bool Replica::serving_reads() const {
  if (!lease_valid_) return false;
  if (status_ == ReplicaStatus::kSecondary &&
      options_.planted_bugs.secondary_read) {
    return true;
  }
  return status_ == ReplicaStatus::kPrimary && !SteppingDown() &&
         last_committed_ >= reconcile_target_;
}

// A lapse turns the replica inactive too: the lease is named first, as the
// reason the client should look elsewhere.
const char* Replica::NotPrimaryReason() const {
  if (!lease_valid_) return kLeaseLapsedMessage;
  if (status_ != ReplicaStatus::kPrimary) {
    return "the replica is not the primary";
  }
  if (SteppingDown()) return "the primary is stepping down";
  return nullptr;
}

void Replica::ClientRead(ClientToken client) {
  if (serving_reads()) {
    ready_.reads.push_back(ServeRead{client});
    return;
  }
  const char* why = NotPrimaryReason();
  if (why == nullptr) why = "the primary is reconciling";
  ready_.errors.push_back(
      ClientError{client, PegasusError(ErrorCode::kServerChanged, why)});
}

void Replica::SetLeaseValid(bool valid) {
  if (valid == lease_valid_) return;
  lease_valid_ = valid;
  if (!valid) BecomeInactive();
}

// --- Outputs and state -----------------------------------------------------

Ready Replica::TakeReady() {
  Ready out = std::move(ready_);
  ready_ = Ready{};
  return out;
}

Decree Replica::last_prepared() const {
  return entries_.empty() ? last_committed_
                          : std::max(last_committed_, entries_.rbegin()->first);
}

const proto::Mutation* Replica::MutationAt(Decree decree) const {
  auto it = entries_.find(decree);
  return it == entries_.end() ? nullptr : &it->second.mutation;
}

Decree Replica::log_keep_from() const {
  return tail_marker_.first == config_.ballot() ? tail_marker_.second
                                                : kMaxDecree;
}

proto::ReplicaReport Replica::Report() const {
  proto::ReplicaReport report;
  report.set_app_id(gpid_.app_id);
  report.set_partition_index(gpid_.partition_index);
  report.set_ballot(config_.ballot());
  report.set_status(static_cast<int32_t>(status_));
  report.set_last_committed(last_committed_);
  report.set_last_prepared(last_prepared());
  return report;
}

void Replica::CheckInvariants() const {
  const Ballot ballot = config_.ballot();
  PEGASUS_CHECK_GE(ballot, checked_.ballot)
      << gpid_.ToString() << ": the ballot never goes back";
  // An entry stays as it is once committed, and the ballot never falls, so
  // what an earlier call found of the entries committed by then holds still:
  // only the entries committed since and the prepared ones are looked at.
  for (auto it = entries_.upper_bound(
           std::min(checked_.last_committed, last_committed_));
       it != entries_.end(); ++it) {
    const auto& [decree, entry] = *it;
    PEGASUS_CHECK_EQ(decree, entry.mutation.decree());
    PEGASUS_CHECK_LE(entry.mutation.ballot(), ballot)
        << gpid_.ToString() << " decree " << decree;
    if (status_ == ReplicaStatus::kPrimary && decree > last_committed_) {
      PEGASUS_CHECK_EQ(entry.mutation.ballot(), ballot)
          << gpid_.ToString() << ": a primary prepares only its own ballot";
    }
  }
  if (!entries_.empty()) {
    PEGASUS_CHECK_GE(entries_.begin()->first,
                     last_committed_ - options_.max_cached_mutations)
        << gpid_.ToString() << ": the committed cache is bounded";
  }
  if (status_ == ReplicaStatus::kPrimary) {
    PEGASUS_CHECK_EQ(config_.primary(), self_.value);
    PEGASUS_CHECK(primary_since_ >= 1 && primary_since_ <= ballot)
        << gpid_.ToString() << ": a primary term began at a ballot it holds";
    std::set<uint64_t> members(config_.secondaries().begin(),
                               config_.secondaries().end());
    PEGASUS_CHECK_EQ(members.size(),
                     static_cast<size_t>(config_.secondaries_size()));
    PEGASUS_CHECK(members.count(self_.value) == 0);
    PEGASUS_CHECK_LE(
        last_prepared() - last_committed_,
        options_.max_inflight_mutations +
            std::max<Decree>(0, reconcile_target_ - last_committed_));
    PEGASUS_CHECK_LE(queued_bytes_, options_.max_queued_write_bytes);
    if (SteppingDown()) {
      PEGASUS_CHECK(!serving_reads() && queue_.empty())
          << gpid_.ToString() << ": a primary stepping down serves nothing";
    }
  }
  checked_ = {ballot, last_committed_};
}

}  // namespace pegasus::replication
