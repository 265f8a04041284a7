// Group check and learning: how a primary keeps its members in step, and
// how a new replica catches up before the meta server makes it a secondary.
//
// Learning, from the learner's side: a group check from the primary with a
// learner signature makes an inactive replica a learner. It drops its
// uncommitted tail (which may disagree with this primary), and asks for
// everything after its last applied decree. The primary answers from memory
// (LEARN_CACHE), or has its driver read the log (LEARN_LOG) or take a
// storage checkpoint (LEARN_APP); the answer holds every mutation up to the
// primary's last prepared decree, and from the next decree on the primary
// sends the learner its prepares and waits for its acknowledgements. Once
// the learner has logged everything the answer held, it reports success in
// its group check response, and the primary proposes it as a secondary.

#include <algorithm>
#include <utility>

#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/replication/core/replica.h"

namespace pegasus::replication {

void Replica::GroupCheck() {
  last_group_check_ns_ = now_ns_;
  last_told_committed_ = std::max(last_told_committed_, last_committed_);
  for (NodeId secondary : Secondaries()) SendGroupCheck(secondary, 0);
  for (const auto& [node, learner] : learners_) {
    if (!UpgradePending(node)) SendGroupCheck(node, learner.signature);
  }
}

// A learner whose upgrade this primary proposed is not invited again until
// the meta server answers. Were it to restart or lose its lease meanwhile,
// a new round would drop the tail it reported with (durably, before
// learning it again), and the upgrade, if accepted, would make it a
// secondary without it (the simulator found that, with a disk error cutting
// the new round short). Left alone, it takes the configuration the answer
// brings with what its log holds.
bool Replica::UpgradePending(NodeId learner) const {
  return proposal_pending_ &&
         pending_proposal_.type() == proto::CONFIG_UPGRADE_TO_SECONDARY &&
         pending_proposal_.node() == learner.value;
}

void Replica::SendGroupCheck(NodeId to, uint64_t learner_signature) {
  proto::GroupCheckRequest request;
  *request.mutable_config() = config_;
  request.set_last_committed(last_committed_);
  request.set_learner_signature(learner_signature);
  ready_.messages.push_back(PeerMessage{to, std::move(request)});
}

proto::GroupCheckResponse Replica::GroupCheckAnswer(
    proto::ReplicaError error) const {
  proto::GroupCheckResponse response;
  response.set_app_id(gpid_.app_id);
  response.set_partition_index(gpid_.partition_index);
  response.set_error(error);
  response.set_ballot(config_.ballot());
  response.set_last_committed(last_committed_);
  response.set_last_prepared(last_prepared());
  if (status_ == ReplicaStatus::kLearner) {
    response.set_learner_signature(learn_signature_);
    response.set_learner_status(learn_succeeded_ ? proto::LEARNER_SUCCEEDED
                                                 : proto::LEARNER_LEARNING);
  }
  return response;
}

void Replica::OnGroupCheck(NodeId from,
                           const proto::GroupCheckRequest& request) {
  const proto::PartitionConfig& config = request.config();
  auto answer = [&](proto::ReplicaError error) {
    ready_.messages.push_back(PeerMessage{from, GroupCheckAnswer(error)});
  };
  if (status_ == ReplicaStatus::kError)
    return answer(proto::REPLICA_LOG_FAILED);
  if (config.app_id() != gpid_.app_id ||
      config.partition_index() != gpid_.partition_index ||
      config.primary() != from.value) {
    return answer(proto::REPLICA_INVALID);
  }
  if (config.ballot() < config_.ballot()) {
    return answer(proto::REPLICA_STALE_BALLOT);
  }
  if (config.ballot() > config_.ballot()) OnConfig(config);
  if (status_ == ReplicaStatus::kSecondary && config_.primary() == from.value) {
    CommitTo(request.last_committed());
    return answer(proto::REPLICA_OK);
  }
  const uint64_t signature = request.learner_signature();
  if (signature == 0 || IsMember(self_) || !lease_valid_) {
    return answer(proto::REPLICA_NOT_MEMBER);
  }
  if (status_ == ReplicaStatus::kInactive ||
      (status_ == ReplicaStatus::kLearner && learn_signature_ != signature)) {
    StartLearning(from, config.ballot(), signature);
  }
  if (status_ == ReplicaStatus::kLearner && learn_prepare_start_ != kNoDecree) {
    CommitTo(std::min(request.last_committed(), last_prepared()));
  }
  answer(proto::REPLICA_OK);
}

void Replica::StartLearning(NodeId primary, Ballot primary_ballot,
                            uint64_t signature) {
  status_ = ReplicaStatus::kLearner;
  learn_primary_ = primary;
  learn_signature_ = signature;
  learn_prepare_start_ = kNoDecree;
  learn_succeeded_ = false;
  learn_unlogged_.clear();
  installing_checkpoint_ = false;
  // A round under a ballot whose marker (below) is already in the log: an
  // earlier round with this same primary wrote it, and this replica has
  // restarted or lost its lease since. Everything it took in after the
  // marker came from this primary, whatever ballot each mutation carries:
  // the primary's history, which it keeps whole. It may have reported
  // success with it, and the primary proposed it as a secondary; were it to
  // drop any now and the meta server accept, it would be a secondary
  // without mutations it had acknowledged. Only a delayed invitation can
  // start such a round, since the primary invites no learner whose upgrade
  // it proposed (UpgradePending).
  const bool reconciled = tail_marker_.first == primary_ballot &&
                          config_.ballot() == primary_ballot;
  if (!reconciled) {
    // The uncommitted tail may disagree with this primary's history. It
    // goes from the log too (a marker replay honours): else a restart would
    // find it there and, once a later prepare's commit point covered it,
    // commit it instead of the primary's version, which the learner may
    // never have received (the simulator found exactly that).
    //
    // Except its unbroken start prepared under the primary's own ballot:
    // that is the primary's history, and this replica may have acknowledged
    // it in an earlier session, the primary counting the acks towards
    // commits and towards upgrading it. Dropping it would leave a replica
    // the meta server may already list as a secondary without mutations the
    // primary committed (the simulator found that too).
    Decree keep_through = last_committed_;
    for (auto it = entries_.upper_bound(last_committed_);
         it != entries_.end() && it->first == keep_through + 1 &&
         it->second.mutation.ballot() == primary_ballot;
         ++it) {
      keep_through = it->first;
    }
    // The marker goes in even when nothing is dropped: it records that from
    // here on, under this ballot, the log holds this primary's history.
    entries_.erase(entries_.upper_bound(keep_through), entries_.end());
    proto::Mutation marker;
    marker.set_ballot(config_.ballot());
    marker.set_decree(keep_through + 1);
    marker.set_drops_tail(true);
    tail_marker_ = {marker.ballot(), marker.decree()};
    pending_markers_.insert(tail_marker_);
    ready_.log_appends.push_back(LogAppend{std::move(marker)});
  }
  // Learning is complete only once what it kept is durable.
  for (auto it = entries_.upper_bound(last_committed_); it != entries_.end();
       ++it) {
    if (!it->second.logged) {
      learn_unlogged_.insert({it->second.mutation.ballot(), it->first});
    }
  }
  SendLearnRequest();
}

void Replica::SendLearnRequest() {
  proto::LearnRequest request;
  request.set_app_id(gpid_.app_id);
  request.set_partition_index(gpid_.partition_index);
  request.set_learner_signature(learn_signature_);
  request.set_last_applied(last_committed_);
  request.set_ballot(config_.ballot());
  learn_in_flight_ = true;
  learn_sent_ns_ = now_ns_;
  ready_.messages.push_back(PeerMessage{learn_primary_, std::move(request)});
}

void Replica::OnAddLearner(const proto::PartitionConfig& config,
                           NodeId learner) {
  if (status_ != ReplicaStatus::kPrimary ||
      config.ballot() != config_.ballot() || learner.value == 0 ||
      IsMember(learner) || SteppingDown()) {
    return;
  }
  auto [it, added] = learners_.try_emplace(learner);
  if (added) {
    // Unique per primary and ballot, and deterministic.
    it->second.signature = (static_cast<uint64_t>(config_.ballot()) << 24) +
                           next_learner_signature_++;
  }
  if (options_.planted_bugs.early_learner_upgrade) {
    MaybeUpgradeLearner(learner);
  }
  if (!UpgradePending(learner)) SendGroupCheck(learner, it->second.signature);
}

void Replica::OnGroupCheckResponse(NodeId from,
                                   const proto::GroupCheckResponse& response) {
  if (status_ != ReplicaStatus::kPrimary || response.app_id() != gpid_.app_id ||
      response.partition_index() != gpid_.partition_index) {
    return;
  }
  auto it = learners_.find(from);
  // A success counts at this primary's ballot only: one reported under an
  // older ballot (a late answer) must not get the learner proposed as a
  // secondary of a configuration it has not seen, and may since have left.
  if (it == learners_.end() ||
      response.learner_signature() != it->second.signature ||
      response.ballot() != config_.ballot()) {
    return;
  }
  if (response.learner_status() == proto::LEARNER_SUCCEEDED &&
      it->second.prepare_start != kNoDecree &&
      response.last_prepared() >= it->second.prepare_start - 1) {
    MaybeUpgradeLearner(from);
  }
}

// Proposes the learner as a secondary: it holds every mutation before its
// prepare start and has acknowledged every prepare since. Once is not
// enough: if the meta server refuses (its configuration moved on), the
// learner's next success report brings a new proposal.
void Replica::MaybeUpgradeLearner(NodeId learner) {
  if (proposal_pending_) return;
  if (config_.secondaries_size() + 1 >= config_.max_replica_count() &&
      config_.max_replica_count() > 0) {
    return;
  }
  proto::ConfigUpdateRequest request;
  *request.mutable_config() = config_;
  request.mutable_config()->set_ballot(config_.ballot() + 1);
  request.mutable_config()->add_secondaries(learner.value);
  request.set_type(proto::CONFIG_UPGRADE_TO_SECONDARY);
  request.set_node(learner.value);
  ProposeConfig(std::move(request));
}

// --- The primary's side of learning ---------------------------------------

void Replica::OnLearnRequest(NodeId from, const proto::LearnRequest& request) {
  proto::LearnResponse refusal;
  refusal.set_app_id(gpid_.app_id);
  refusal.set_partition_index(gpid_.partition_index);
  refusal.set_learner_signature(request.learner_signature());
  auto refuse = [&](proto::ReplicaError error) {
    refusal.set_error(error);
    ready_.messages.push_back(PeerMessage{from, refusal});
  };
  if (status_ != ReplicaStatus::kPrimary)
    return refuse(proto::REPLICA_NOT_MEMBER);
  auto it = learners_.find(from);
  if (it == learners_.end() ||
      it->second.signature != request.learner_signature()) {
    return refuse(proto::REPLICA_WRONG_SIGNATURE);
  }
  const Decree start = request.last_applied() + 1;
  if (request.last_applied() < kNoDecree || start > last_prepared() + 1) {
    return refuse(proto::REPLICA_INVALID);
  }
  const Decree cached_from =
      entries_.empty() ? last_committed_ + 1 : entries_.begin()->first;
  if (start >= cached_from) {
    SendLearnResponse(from, LearnFromCache(start));
    return;
  }
  ready_.learn_fetches.push_back(LearnFetch{from, it->second.signature, start});
}

proto::LearnResponse Replica::LearnFromCache(Decree start) const {
  proto::LearnResponse response;
  response.set_type(proto::LEARN_CACHE);
  for (auto it = entries_.lower_bound(start); it != entries_.end(); ++it) {
    *response.add_mutations() = it->second.mutation;
  }
  return response;
}

void Replica::OnLearnData(NodeId learner, uint64_t signature,
                          absl::StatusOr<proto::LearnResponse> data) {
  if (status_ != ReplicaStatus::kPrimary) return;
  auto it = learners_.find(learner);
  if (it == learners_.end() || it->second.signature != signature) return;
  if (!data.ok()) return;  // The learner asks again.
  // Add what is in memory after what the driver read.
  Decree covered = data->checkpoint_decree();
  for (const proto::Mutation& m : data->mutations()) {
    covered = std::max(covered, m.decree());
  }
  if (!entries_.empty() && covered + 1 < entries_.begin()->first) return;
  for (auto e = entries_.upper_bound(covered); e != entries_.end(); ++e) {
    *data->add_mutations() = e->second.mutation;
  }
  SendLearnResponse(learner, *std::move(data));
}

// Completes a learn answer with the configuration and the points, and from
// now on sends the learner the prepares after what the answer holds.
void Replica::SendLearnResponse(NodeId learner, proto::LearnResponse response) {
  Learner& state = learners_.at(learner);
  response.set_app_id(gpid_.app_id);
  response.set_partition_index(gpid_.partition_index);
  response.set_error(proto::REPLICA_OK);
  *response.mutable_config() = config_;
  response.set_learner_signature(state.signature);
  response.set_last_committed(last_committed_);
  // The first answer fixes where the prepares start. An answer to a request
  // the learner sent again must not move the start on: the learner may act
  // on the earlier answer, and would then lack the decrees between the two
  // starts whose prepares it missed, which are resent only to targets.
  if (state.prepare_start == kNoDecree) {
    state.prepare_start = last_prepared() + 1;
  }
  response.set_prepare_start_decree(state.prepare_start);
  ready_.messages.push_back(PeerMessage{learner, std::move(response)});
}

// --- The learner's side ---------------------------------------------------

void Replica::OnLearnResponse(NodeId from,
                              const proto::LearnResponse& response) {
  if (status_ != ReplicaStatus::kLearner || from != learn_primary_ ||
      response.learner_signature() != learn_signature_ || !learn_in_flight_) {
    return;
  }
  if (response.error() != proto::REPLICA_OK) {
    // Refused: the primary is not primary now (its lease lapsed, say) or no
    // longer knows this signature. Asking again under the same signature
    // would not help, and waiting as a learner would never end: the round
    // is over. A primary that still counts this replica as a learner
    // invites it again with its next group check.
    learn_in_flight_ = false;
    BecomeInactive();
    return;
  }
  if (response.config().ballot() > config_.ballot()) {
    OnConfig(response.config());
    if (status_ != ReplicaStatus::kLearner) return;
  }
  learn_in_flight_ = false;
  if (response.type() == proto::LEARN_APP &&
      response.checkpoint_decree() > last_committed_) {
    installing_checkpoint_ = true;
    pending_install_ = response;
    ready_.installs.push_back(
        InstallCheckpoint{response.checkpoint(), response.checkpoint_decree()});
    return;
  }
  FinishLearnResponse(response);
}

void Replica::OnCheckpointInstalled(Decree checkpoint_decree) {
  if (!installing_checkpoint_) return;
  installing_checkpoint_ = false;
  // Storage now holds everything up to the checkpoint.
  last_committed_ = std::max(last_committed_, checkpoint_decree);
  entries_.erase(entries_.begin(), entries_.upper_bound(last_committed_));
  FinishLearnResponse(pending_install_);
  pending_install_.Clear();
}

void Replica::FinishLearnResponse(const proto::LearnResponse& response) {
  for (const proto::Mutation& mutation : response.mutations()) {
    if (mutation.decree() <= last_committed_) continue;
    auto it = entries_.find(mutation.decree());
    if (it != entries_.end() &&
        it->second.mutation.ballot() >= mutation.ballot()) {
      continue;
    }
    Entry& entry = entries_[mutation.decree()];
    entry = Entry{};
    entry.mutation = mutation;
    learn_unlogged_.insert({mutation.ballot(), mutation.decree()});
    ready_.log_appends.push_back(LogAppend{mutation});
  }
  // What the answer gave must join on to what this replica holds, up to
  // the prepare start (the primary sends prepares only from there). An
  // answer to an earlier round under the same signature (a duplicate, sent
  // before this replica restarted and lost part of its tail) may start
  // later, and would end learning with a gap: the learner would become a
  // secondary without a committed mutation (the simulator found that). Its
  // mutations are the primary's history and stay; the round goes on.
  for (Decree d = last_committed_ + 1; d < response.prepare_start_decree();
       ++d) {
    if (MutationAt(d) == nullptr) {
      SendLearnRequest();
      return;
    }
  }
  learn_prepare_start_ = response.prepare_start_decree();
  CommitTo(std::min(response.last_committed(), last_prepared()));
  MaybeFinishLearning();
}

// Learning succeeded once everything before the prepare start is logged;
// the primary hears it at once rather than at its next group check.
void Replica::MaybeFinishLearning() {
  if (learn_succeeded_ || learn_prepare_start_ == kNoDecree ||
      installing_checkpoint_) {
    return;
  }
  if (!learn_unlogged_.empty()) return;
  learn_succeeded_ = true;
  ready_.messages.push_back(
      PeerMessage{learn_primary_, GroupCheckAnswer(proto::REPLICA_OK)});
}

}  // namespace pegasus::replication
