// The write path: client writes batched into mutations, prepares, the
// commit rule, and the primary's retries and removal of members that stop
// answering.

#include <algorithm>
#include <utility>

#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/replication/core/replica.h"

namespace pegasus::replication {

void Replica::ClientWrite(proto::DataRequest request, ClientToken client,
                          int64_t wall_now_us) {
  QueueClientWrite(std::move(request), client, wall_now_us);
  MakeMutations();
}

void Replica::QueueClientWrite(proto::DataRequest request, ClientToken client,
                               int64_t wall_now_us) {
  wall_now_us_ = std::max(wall_now_us_, wall_now_us);
  auto refuse = [&](ErrorCode code, const char* why) {
    ready_.errors.push_back(ClientError{client, PegasusError(code, why)});
  };
  if (const char* why = NotPrimaryReason()) {
    return refuse(ErrorCode::kServerChanged, why);
  }
  if (config_.secondaries_size() + 1 < options_.min_replica_count) {
    return refuse(ErrorCode::kNotEnoughMember,
                  "the partition has fewer replicas than min_replica_count");
  }
  const auto bytes = static_cast<int64_t>(request.ByteSizeLong());
  if (queued_bytes_ + bytes > options_.max_queued_write_bytes) {
    return refuse(ErrorCode::kBusy,
                  "too many writes queued (max_queued_write_bytes)");
  }
  queued_bytes_ += bytes;
  queue_.push_back(QueuedWrite{std::move(request), client, bytes});
}

// No new mutation is made while a membership change is pending at the meta
// server: it would be prepared to a configuration about to change.
void Replica::MakeMutations() {
  if (status_ == ReplicaStatus::kPrimary && lease_valid_ &&
      !proposal_pending_ &&
      config_.secondaries_size() + 1 < options_.min_replica_count) {
    // Writes queued while the configuration still had enough members are
    // refused like new ones once it has fewer: made into a mutation now,
    // they would be acknowledged with fewer copies than min_replica_count.
    RefuseQueuedWrites(PegasusError(
        ErrorCode::kNotEnoughMember,
        "the partition has fewer replicas than min_replica_count"));
    return;
  }
  while (status_ == ReplicaStatus::kPrimary && lease_valid_ &&
         !proposal_pending_ && !queue_.empty() &&
         last_prepared() - last_committed_ < options_.max_inflight_mutations) {
    std::vector<QueuedWrite> batch;
    int64_t bytes = 0;
    while (!queue_.empty() &&
           (batch.empty() ||
            bytes + queue_.front().bytes <= options_.max_mutation_bytes)) {
      bytes += queue_.front().bytes;
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queued_bytes_ -= bytes;
    MakeMutation(std::move(batch));
  }
}

void Replica::MakeMutation(std::vector<QueuedWrite> writes) {
  proto::Mutation mutation;
  mutation.set_decree(last_prepared() + 1);
  // Timestamps never go back, so TTLs judged by them are consistent.
  last_timestamp_us_ = std::max(last_timestamp_us_, wall_now_us_);
  mutation.set_timestamp_us(last_timestamp_us_);
  std::vector<ClientToken> clients;
  for (QueuedWrite& write : writes) {
    *mutation.add_writes() = std::move(write.request);
    clients.push_back(write.client);
  }
  AddEntry(std::move(mutation), std::move(clients));
}

void Replica::AddEntry(proto::Mutation mutation,
                       std::vector<ClientToken> clients) {
  mutation.set_ballot(config_.ballot());
  mutation.set_last_committed(last_committed_);
  const Decree decree = mutation.decree();
  Entry& entry = entries_[decree];
  entry = Entry{};
  entry.mutation = std::move(mutation);
  entry.clients = std::move(clients);
  entry.first_sent_ns = now_ns_;
  last_mutation_ns_ = now_ns_;
  ready_.log_appends.push_back(LogAppend{entry.mutation});
  BroadcastPrepare(&entry);
}

std::vector<NodeId> Replica::PrepareTargets(Decree decree) const {
  std::vector<NodeId> targets = Secondaries();
  for (const auto& [node, learner] : learners_) {
    if (IsPrepareTarget(node, decree)) targets.push_back(node);
  }
  return targets;
}

bool Replica::IsPrepareTarget(NodeId node, Decree decree) const {
  if (node.value != config_.primary() && IsMember(node)) return true;
  auto learner = learners_.find(node);
  return learner != learners_.end() &&
         learner->second.prepare_start != kNoDecree &&
         learner->second.prepare_start <= decree;
}

void Replica::SendPrepare(NodeId to, Entry* entry) {
  proto::PrepareRequest request;
  *request.mutable_config() = config_;
  *request.mutable_mutation() = entry->mutation;
  // The commit point as it is now, not as it was when the mutation was
  // made: it is still true, and lets the receiver commit sooner.
  request.mutable_mutation()->set_last_committed(last_committed_);
  last_told_committed_ = std::max(last_told_committed_, last_committed_);
  auto learner = learners_.find(to);
  if (learner != learners_.end()) {
    request.set_learner_signature(learner->second.signature);
  }
  ready_.messages.push_back(PeerMessage{to, std::move(request)});
}

void Replica::BroadcastPrepare(Entry* entry) {
  for (NodeId target : PrepareTargets(entry->mutation.decree())) {
    SendPrepare(target, entry);
  }
  entry->last_sent_ns = now_ns_;
}

bool Replica::Committable(const Entry& entry) const {
  if (entry.mutation.ballot() != config_.ballot()) return false;
  const bool local = entry.logged || options_.planted_bugs.ack_before_durable;
  if (options_.planted_bugs.majority_commit) {
    const size_t members = config_.secondaries_size() + 1;
    size_t have = local ? 1 : 0;
    for (uint64_t id : config_.secondaries())
      have += entry.acks.count(NodeId{id});
    return have >= members / 2 + 1;
  }
  if (!local) return false;
  // Every target acknowledged (walked in place: this is the commit path).
  for (uint64_t id : config_.secondaries()) {
    if (entry.acks.count(NodeId{id}) == 0) return false;
  }
  for (const auto& [node, learner] : learners_) {
    if (IsPrepareTarget(node, entry.mutation.decree()) &&
        entry.acks.count(node) == 0) {
      return false;
    }
  }
  return true;
}

// The primary commits every mutation the commit rule allows, in decree
// order, and makes new mutations if the window opened.
void Replica::CommitReady() {
  if (status_ != ReplicaStatus::kPrimary) return;
  for (auto it = entries_.find(last_committed_ + 1);
       it != entries_.end() && it->first == last_committed_ + 1 &&
       Committable(it->second);
       it = entries_.find(last_committed_ + 1)) {
    CommitOne(&it->second);
  }
  PruneCache();
  MakeMutations();
}

// A secondary, learner or recovering replica commits what it holds up to
// the commit point it was told.
void Replica::CommitTo(Decree decree) {
  while (last_committed_ < decree) {
    auto it = entries_.find(last_committed_ + 1);
    if (it == entries_.end()) break;
    CommitOne(&it->second);
  }
  PruneCache();
}

void Replica::CommitOne(Entry* entry) {
  PEGASUS_CHECK_EQ(entry->mutation.decree(), last_committed_ + 1);
  last_committed_ = entry->mutation.decree();
  Apply apply;
  apply.mutation = entry->mutation;
  apply.clients = std::move(entry->clients);
  entry->clients.clear();
  ready_.applies.push_back(std::move(apply));
}

// Committed mutations stay in memory for learners, up to a bound.
void Replica::PruneCache() {
  const Decree keep_from = last_committed_ - options_.max_cached_mutations;
  while (!entries_.empty() && entries_.begin()->first <= keep_from) {
    entries_.erase(entries_.begin());
  }
}

void Replica::RetryPrepares() {
  for (auto it = entries_.upper_bound(last_committed_); it != entries_.end();
       ++it) {
    Entry& entry = it->second;
    if (entry.mutation.ballot() != config_.ballot()) continue;
    if (now_ns_ - entry.last_sent_ns < options_.prepare_retry_ns) continue;
    for (NodeId target : PrepareTargets(it->first)) {
      if (entry.acks.count(target) > 0) continue;
      if (now_ns_ - entry.first_sent_ns >= options_.prepare_timeout_ns) {
        RemoveUnresponsive(target);
        return;
      }
      SendPrepare(target, &entry);
    }
    entry.last_sent_ns = now_ns_;
  }
}

// A learner that stops answering is dropped here; a member is proposed for
// removal to the meta server, which bumps the ballot.
void Replica::RemoveUnresponsive(NodeId member) {
  const bool upgrade_pending =
      proposal_pending_ &&
      pending_proposal_.type() == proto::CONFIG_UPGRADE_TO_SECONDARY &&
      pending_proposal_.node() == member.value;
  if (learners_.count(member) > 0 && !upgrade_pending) {
    learners_.erase(member);
    CommitReady();
    return;
  }
  // Not even a learner proposed as a secondary is dropped: the meta server
  // may yet accept it, and it must then hold every decree committed
  // meanwhile. Like a member, it waits for the answer.
  if (proposal_pending_) return;
  proto::ConfigUpdateRequest request;
  proto::PartitionConfig* config = request.mutable_config();
  *config = config_;
  config->set_ballot(config_.ballot() + 1);
  config->clear_secondaries();
  for (uint64_t id : config_.secondaries()) {
    if (id != member.value) config->add_secondaries(id);
  }
  request.set_type(proto::CONFIG_DOWNGRADE_TO_INACTIVE);
  request.set_node(member.value);
  ProposeConfig(std::move(request));
}

void Replica::Reply(NodeId to, Ballot ballot, Decree decree,
                    proto::ReplicaError error) {
  proto::PrepareResponse response;
  response.set_app_id(gpid_.app_id);
  response.set_partition_index(gpid_.partition_index);
  response.set_error(error);
  response.set_ballot(config_.ballot());
  response.set_mutation_ballot(ballot);
  response.set_decree(decree);
  response.set_last_committed(last_committed_);
  ready_.messages.push_back(PeerMessage{to, std::move(response)});
}

void Replica::Acknowledge(const Entry& entry) {
  Reply(entry.ack_to, entry.mutation.ballot(), entry.mutation.decree(),
        proto::REPLICA_OK);
}

void Replica::OnPrepare(NodeId from, const proto::PrepareRequest& request) {
  const proto::Mutation& mutation = request.mutation();
  const proto::PartitionConfig& config = request.config();
  auto reply = [&](proto::ReplicaError error) {
    Reply(from, mutation.ballot(), mutation.decree(), error);
  };
  if (status_ == ReplicaStatus::kError) {
    return reply(proto::REPLICA_LOG_FAILED);
  }
  if (config.app_id() != gpid_.app_id ||
      config.partition_index() != gpid_.partition_index ||
      mutation.decree() <= kNoDecree || mutation.ballot() != config.ballot() ||
      config.primary() != from.value) {
    return reply(proto::REPLICA_INVALID);
  }
  const bool stale = config.ballot() < config_.ballot();
  if (stale && !options_.planted_bugs.stale_ballot_prepare) {
    return reply(proto::REPLICA_STALE_BALLOT);
  }
  if (config.ballot() > config_.ballot()) OnConfig(config);
  const bool as_secondary =
      status_ == ReplicaStatus::kSecondary && config_.primary() == from.value;
  const bool as_learner = status_ == ReplicaStatus::kLearner &&
                          learn_primary_ == from &&
                          request.learner_signature() == learn_signature_;
  if (!as_secondary && !as_learner && !stale) {
    return reply(proto::REPLICA_NOT_MEMBER);
  }
  if (!stale) CommitTo(mutation.last_committed());
  if (mutation.decree() <= last_committed_) {
    return reply(proto::REPLICA_OK);  // A repeat.
  }
  if (mutation.decree() > last_committed_ + options_.max_prepare_gap) {
    return reply(proto::REPLICA_CAPACITY_EXCEEDED);
  }
  auto it = entries_.find(mutation.decree());
  if (!stale && it != entries_.end() &&
      it->second.mutation.ballot() >= mutation.ballot()) {
    Entry& entry = it->second;
    if (entry.mutation.ballot() > mutation.ballot()) {
      return reply(proto::REPLICA_STALE_BALLOT);
    }
    if (entry.logged || options_.planted_bugs.ack_before_durable) {
      return reply(proto::REPLICA_OK);
    }
    entry.ack_to = from;  // Acknowledged once its append is durable.
    return;
  }
  Entry& entry = entries_[mutation.decree()];
  entry = Entry{};
  entry.mutation = mutation;
  entry.ack_to = from;
  ready_.log_appends.push_back(LogAppend{mutation});
  if (options_.planted_bugs.ack_before_durable) {
    Acknowledge(entry);
    entry.ack_to = NodeId{};
  }
}

void Replica::OnPrepareResponse(NodeId from,
                                const proto::PrepareResponse& response) {
  if (status_ != ReplicaStatus::kPrimary) return;
  if (response.app_id() != gpid_.app_id ||
      response.partition_index() != gpid_.partition_index) {
    return;
  }
  // Errors are left to the retry and, past the timeout, to removal: a
  // member with a newer ballot means the meta server has moved on, and its
  // configuration reaches this replica by itself.
  if (response.error() != proto::REPLICA_OK) return;
  if (response.mutation_ballot() != config_.ballot()) return;
  auto it = entries_.find(response.decree());
  if (it == entries_.end() ||
      it->second.mutation.ballot() != response.mutation_ballot()) {
    return;
  }
  if (!IsPrepareTarget(from, response.decree())) return;
  it->second.acks.insert(from);
  CommitReady();
}

void Replica::OnLogAppended(Ballot ballot, Decree decree,
                            const absl::Status& status) {
  if (status_ == ReplicaStatus::kError) return;
  if (!status.ok()) {
    // The append's fate is unknown: stop rather than guess.
    BecomeInactive();
    status_ = ReplicaStatus::kError;
    ready_.fatal = status;
    return;
  }
  // A tail-drop marker's completion comes before that of any mutation
  // appended after it under the same ballot and decree.
  if (auto marker = pending_markers_.find({ballot, decree});
      marker != pending_markers_.end()) {
    pending_markers_.erase(marker);
    return;
  }
  learn_unlogged_.erase({ballot, decree});
  auto it = entries_.find(decree);
  if (it != entries_.end() && it->second.mutation.ballot() == ballot) {
    Entry& entry = it->second;
    entry.logged = true;
    if (status_ == ReplicaStatus::kPrimary) {
      CommitReady();
    } else if (entry.ack_to.value != 0) {
      Acknowledge(entry);
      entry.ack_to = NodeId{};
    }
  }
  if (status_ == ReplicaStatus::kLearner) MaybeFinishLearning();
}

// True when a mutation with writes committed after the commit point the
// members were last told (one no longer cached counts as one with writes).
bool Replica::CommittedWritesUntold() const {
  for (Decree d = last_committed_; d > last_told_committed_; --d) {
    auto it = entries_.find(d);
    if (it == entries_.end() || it->second.mutation.writes_size() > 0) {
      return true;
    }
  }
  return false;
}

// Mirrors Tick: each deadline below is the moment one of its conditions
// turns true by time alone.
int64_t Replica::NextTickNs() const {
  int64_t due = kNoTick;
  if (proposal_pending_) {
    due = std::min(due, proposal_sent_ns_ + options_.config_proposal_retry_ns);
  }
  if (status_ == ReplicaStatus::kLearner) {
    if (learn_in_flight_) {
      due = std::min(due, learn_sent_ns_ + options_.learn_retry_ns);
    }
    return due;
  }
  if (status_ != ReplicaStatus::kPrimary) return due;
  for (auto it = entries_.upper_bound(last_committed_); it != entries_.end();
       ++it) {
    if (it->second.mutation.ballot() != config_.ballot()) continue;
    due = std::min(due, it->second.last_sent_ns + options_.prepare_retry_ns);
  }
  if (lease_valid_ && !proposal_pending_ &&
      last_prepared() == last_committed_ && CommittedWritesUntold()) {
    due = std::min(due, last_mutation_ns_ + options_.group_check_interval_ns);
  }
  return std::min(due, last_group_check_ns_ + options_.group_check_interval_ns);
}

void Replica::Tick(int64_t now_ns) {
  now_ns_ = std::max(now_ns_, now_ns);
  if (proposal_pending_ &&
      now_ns_ - proposal_sent_ns_ >= options_.config_proposal_retry_ns) {
    proposal_sent_ns_ = now_ns_;
    ready_.meta_requests.push_back(pending_proposal_);
  }
  if (status_ == ReplicaStatus::kLearner) {
    if (learn_in_flight_ &&
        now_ns_ - learn_sent_ns_ >= options_.learn_retry_ns) {
      SendLearnRequest();
    }
    return;
  }
  if (status_ != ReplicaStatus::kPrimary) return;
  RetryPrepares();
  // An idle primary sends an empty write so secondaries learn the commit
  // point (they commit only what the primary tells them) — but not for the
  // sake of empty writes alone, or an idle primary would never stop.
  if (lease_valid_ && !proposal_pending_ &&
      last_prepared() == last_committed_ && CommittedWritesUntold() &&
      now_ns_ - last_mutation_ns_ >= options_.group_check_interval_ns) {
    MakeMutation({});
  }
  if (now_ns_ - last_group_check_ns_ >= options_.group_check_interval_ns) {
    GroupCheck();
  }
}

}  // namespace pegasus::replication
