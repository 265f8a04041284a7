#include "pegasus/replication/core/replica.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"
#include "pegasus/replication/core/replica_group.h"

namespace pegasus::replication {
namespace {

constexpr int64_t kMs = 1'000'000;

using Group = ReplicaGroup;

// Node 1 primary, 2 and 3 secondaries, ballot 1.
std::unique_ptr<Group> ThreeReplicas(ReplicaOptions options = {}) {
  auto group = std::make_unique<Group>(3, options);
  group->Configure(Group::Config(1, 1, {2, 3}));
  return group;
}

// n1 primary with n2 its secondary under ballot 1 (n3 outside, to be a
// learner), and `writes` writes to "k" committed one after the other.
void PairWithCommittedWrites(Group& g, ClientToken writes) {
  g.Configure(Group::Config(1, 1, {2}));
  for (ClientToken c = 1; c <= writes; ++c) {
    g.Write(1, "k", c);
    g.Settle();
  }
}

using Message = std::tuple<int, int, PeerMessageBody>;

// Takes the oldest queued message to `to` out of the network.
Message Take(Group& g, int to) {
  auto it =
      std::find_if(g.network.begin(), g.network.end(),
                   [&](const Message& m) { return std::get<1>(m) == to; });
  EXPECT_NE(it, g.network.end()) << "no message to node " << to;
  if (it == g.network.end()) return Message{0, 0, proto::GroupCheckRequest()};
  Message message = std::move(*it);
  g.network.erase(it);
  return message;
}

void Receive(Group& g, const Message& m) {
  g.Receive(std::get<0>(m), std::get<1>(m), std::get<2>(m));
}

TEST(ReplicaTest, PrimaryCommitsOnlyOnceItsLogAndEveryMemberHaveTheMutation) {
  auto g = ThreeReplicas();
  g->Write(1, "a", 7);
  g->Deliver();        // Prepares out; secondaries log nothing yet.
  g->CompleteLogs(2);  // Node 2 logs and acknowledges.
  g->Deliver();
  g->CompleteLogs(1);  // The primary's own append.
  EXPECT_TRUE(g->acked.empty()) << "node 3 has not acknowledged";
  EXPECT_EQ(g->at(1).last_committed(), 0);
  g->CompleteLogs(3);
  g->Deliver();
  EXPECT_EQ(g->acked, std::vector<ClientToken>{7});
  EXPECT_EQ(g->at(1).last_committed(), 1);
  EXPECT_EQ(g->AppliedDecrees(1), std::vector<Decree>{1});
}

TEST(ReplicaTest, PrimaryWaitsForItsOwnDurableAppend) {
  auto g = ThreeReplicas();
  g->Write(1, "a", 7);
  g->Deliver();
  g->CompleteLogs(2);
  g->CompleteLogs(3);
  g->Deliver();
  EXPECT_TRUE(g->acked.empty());
  g->CompleteLogs(1);
  EXPECT_EQ(g->acked, std::vector<ClientToken>{7});
}

TEST(ReplicaTest, CommitsInDecreeOrderWhenLaterDecreesAreReadyFirst) {
  ReplicaOptions options;
  options.max_mutation_bytes = 1;  // One write per mutation.
  auto g = ThreeReplicas(options);
  g->Write(1, "a", 1);
  g->Write(1, "b", 2);
  g->Deliver();
  // Decree 2 is logged everywhere, decree 1 not yet at the primary.
  g->CompleteLogs(2);
  g->CompleteLogs(3);
  g->Deliver();
  auto first = g->pending_logs[1][0];
  g->pending_logs[1].erase(g->pending_logs[1].begin());
  g->CompleteLogs(1);  // Only decree 2.
  EXPECT_EQ(g->at(1).last_committed(), 0);
  g->pending_logs[1].push_back(first);
  g->CompleteLogs(1);
  EXPECT_EQ(g->AppliedDecrees(1), (std::vector<Decree>{1, 2}));
  EXPECT_EQ(g->acked, (std::vector<ClientToken>{1, 2}));
}

TEST(ReplicaTest, SecondariesCommitOnlyWhatThePrimaryTellsThem) {
  auto g = ThreeReplicas();
  g->Write(1, "a", 1);
  g->Settle();
  EXPECT_EQ(g->at(1).last_committed(), 1);
  EXPECT_EQ(g->at(2).last_committed(), 0) << "not told yet";
  g->Write(1, "b", 2);
  g->Settle();
  EXPECT_EQ(g->at(2).last_committed(), 1) << "told by the next prepare";
  g->Tick(1, 600 * kMs);  // Group check carries the commit point.
  g->Settle();
  EXPECT_EQ(g->at(2).last_committed(), 2);
  EXPECT_EQ(g->AppliedDecrees(2), (std::vector<Decree>{1, 2}));
}

TEST(ReplicaTest, IdlePrimarySendsAnEmptyWriteSoTheCommitPointMoves) {
  auto g = ThreeReplicas();
  g->Write(1, "a", 1);
  g->Settle();
  g->Tick(1, 600 * kMs);
  g->Settle();
  ASSERT_EQ(g->at(1).last_committed(), 2);
  EXPECT_EQ(g->applied[1][1].writes_size(), 0) << "decree 2 is the empty write";
}

TEST(ReplicaTest, IdlePrimaryStopsSendingEmptyWritesOnceEveryoneKnows) {
  auto g = ThreeReplicas();
  g->Write(1, "a", 1);
  g->Settle();
  for (int i = 1; i <= 10; ++i) {
    g->Tick(1, i * 600 * kMs);
    g->Settle();
  }
  EXPECT_EQ(g->at(1).last_committed(), 2) << "one empty write, not one a tick";
  EXPECT_EQ(g->at(2).last_committed(), 2);
}

TEST(ReplicaTest, NextTickNsIsTheFirstRetryOrGroupCheckThatIsDue) {
  auto g = ThreeReplicas();
  EXPECT_EQ(g->at(2).NextTickNs(), Replica::kNoTick) << "a secondary";
  EXPECT_EQ(g->at(1).NextTickNs(), 500 * kMs) << "the first group check";
  g->Tick(1, 10 * kMs);
  g->Write(1, "a", 1);
  g->Settle({3});  // Node 3 never acknowledges.
  const int64_t retry_ns = 10 * kMs + 100 * kMs;
  ASSERT_EQ(g->at(1).NextTickNs(), retry_ns) << "the prepare's retry";
  g->at(1).Tick(retry_ns - 1);
  EXPECT_FALSE(g->at(1).HasReady()) << "nothing is due before";
  g->at(1).Tick(retry_ns);
  ASSERT_TRUE(g->at(1).HasReady()) << "the prepare goes to node 3 again";
  g->Drain(1);
  EXPECT_EQ(g->at(1).NextTickNs(), retry_ns + 100 * kMs);
}

TEST(ReplicaTest, OnlyThePrimaryTakesWritesAndReads) {
  auto g = ThreeReplicas();
  g->Write(2, "a", 5);
  g->at(2).ClientRead(6);
  g->Drain(2);
  EXPECT_EQ(g->errors[5], ErrorCode::kServerChanged);
  EXPECT_EQ(g->errors[6], ErrorCode::kServerChanged);
  g->at(1).ClientRead(7);
  g->Drain(1);
  EXPECT_EQ(g->reads, std::vector<ClientToken>{7});
}

TEST(ReplicaTest, WritesNeedMinReplicaCountMembers) {
  Group g(1);
  g.Configure(Group::Config(1, 1, {}));
  g.Write(1, "a", 5);
  EXPECT_EQ(g.errors[5], ErrorCode::kNotEnoughMember);
}

// Regression: a write queued while the primary waited for the meta server
// to remove a member became a mutation under the smaller configuration and
// was acknowledged with a single copy, though min_replica_count was 2 and a
// write arriving then was refused with PERR_NOT_ENOUGH_MEMBER.
TEST(ReplicaTest,
     WritesQueuedWhileTheGroupShrankBelowMinReplicaCountAreRefused) {
  Group g(2);
  g.Configure(Group::Config(1, 1, {2}));
  g.Write(1, "a", 1);
  g.Settle({2});
  g.Tick(1, 100 * kMs);
  g.Tick(1, 1'000 * kMs);  // Node 2 is proposed for removal.
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  g.Write(1, "b", 2);  // Queued: the removal is pending.
  g.MetaAnswers(1, g.meta_inbox[0].config());
  g.Settle({2});
  EXPECT_EQ(g.errors[2], ErrorCode::kNotEnoughMember);
  EXPECT_EQ(g.at(1).last_prepared(), 1);
  // Decree 1 was prepared before: reconciliation commits it regardless.
  EXPECT_EQ(g.acked, std::vector<ClientToken>{1});
}

TEST(ReplicaTest, InflightWindowBoundsMutationsAndQueuedWritesCoalesce) {
  ReplicaOptions options;
  options.max_inflight_mutations = 2;
  auto g = ThreeReplicas(options);
  for (ClientToken c = 1; c <= 6; ++c) g->Write(1, "k", c);
  EXPECT_EQ(g->at(1).last_prepared(), 2) << "window of two decrees";
  g->Settle();
  // The four writes queued behind the window went out as one mutation.
  EXPECT_EQ(g->at(1).last_committed(), 3);
  EXPECT_EQ(g->applied[1][2].writes_size(), 4);
  EXPECT_EQ(g->acked.size(), 6u);
}

TEST(ReplicaTest, QueueBeyondItsBoundIsRefusedWithBusy) {
  ReplicaOptions options;
  options.max_inflight_mutations = 1;
  options.max_mutation_bytes = 20;
  options.max_queued_write_bytes = 40;
  auto g = ThreeReplicas(options);
  for (ClientToken c = 1; c <= 5; ++c) g->Write(1, "k", c);
  EXPECT_EQ(g->errors[5], ErrorCode::kBusy);
  EXPECT_EQ(g->errors.size(), 1u);
}

TEST(ReplicaTest, SecondaryRefusesAnOlderBallotAndAdoptsANewerOne) {
  auto g = ThreeReplicas();
  g->at(2).OnConfig(Group::Config(3, 3, {2}));
  g->Drain(2);
  g->Write(1, "a", 1);
  g->Deliver();
  EXPECT_EQ(g->at(2).last_prepared(), 0) << "ballot 1 < 3";
  g->at(3).OnConfig(Group::Config(2, 3, {2}));  // Any newer ballot.
  g->Drain(3);
  EXPECT_EQ(g->at(3).status(), ReplicaStatus::kPrimary);
}

TEST(ReplicaTest, UnresponsiveSecondaryIsProposedForRemovalWithTheNextBallot) {
  auto g = ThreeReplicas();
  g->Write(1, "a", 1);
  g->Settle({3});
  g->Tick(1, 200 * kMs);  // Retry.
  g->Settle({3});
  EXPECT_TRUE(g->meta_inbox.empty());
  g->Tick(1, 1'100 * kMs);
  ASSERT_EQ(g->meta_inbox.size(), 1u);
  const proto::ConfigUpdateRequest& request = g->meta_inbox[0];
  EXPECT_EQ(request.type(), proto::CONFIG_DOWNGRADE_TO_INACTIVE);
  EXPECT_EQ(request.node(), 3u);
  EXPECT_EQ(request.config().ballot(), 2);
  EXPECT_EQ(request.config().secondaries_size(), 1);
  // No new mutation while the change is pending.
  g->Write(1, "b", 2);
  EXPECT_EQ(g->at(1).last_prepared(), 1);
  // The meta server accepts: the tail commits without node 3.
  g->MetaAnswers(1, request.config());
  g->Settle({3});
  EXPECT_EQ(g->at(1).ballot(), 2);
  EXPECT_EQ(g->at(1).last_committed(), 2);
  EXPECT_EQ(g->acked, (std::vector<ClientToken>{1, 2}));
}

TEST(ReplicaTest, NewPrimaryReconcilesItsTailBeforeServingReads) {
  ReplicaOptions options;
  options.max_mutation_bytes = 1;
  auto g = ThreeReplicas(options);
  g->Write(1, "a", 1);
  g->Settle();
  g->Write(1, "b", 2);
  g->Deliver();
  g->CompleteLogs(2);  // Node 2 has decree 2 prepared; nothing commits.
  g->Deliver({1});
  // Node 1 dies; the meta server makes node 2 primary at ballot 3.
  g->network.clear();
  g->at(2).OnConfig(Group::Config(3, 2, {3}));
  g->Drain(2);
  EXPECT_EQ(g->at(2).reconcile_target(), 2);
  g->at(2).ClientRead(9);
  g->Drain(2);
  EXPECT_EQ(g->errors[9], ErrorCode::kServerChanged) << "reconciling";
  g->Settle({1});
  EXPECT_EQ(g->at(2).last_committed(), 2);
  EXPECT_EQ(g->applied[2][1].ballot(), 3) << "re-prepared under ballot 3";
  g->at(2).ClientRead(10);
  g->Drain(2);
  EXPECT_EQ(g->reads, std::vector<ClientToken>{10});
}

TEST(ReplicaTest, NewPrimaryFillsGapsInItsTailWithEmptyWrites) {
  auto g = std::make_unique<Group>(3);
  proto::Mutation third;
  third.set_ballot(1);
  third.set_decree(3);
  *third.add_writes() = proto::DataRequest();
  g->Restart(2, 1, {third});  // Has decree 3 but not 2.
  g->Configure(Group::Config(2, 2, {3}));
  g->Settle();
  EXPECT_EQ(g->at(2).last_committed(), 3);
  EXPECT_EQ(g->applied[2][0].decree(), 2);
  EXPECT_EQ(g->applied[2][0].writes_size(), 0);
}

TEST(ReplicaTest, RecoveryAppliesWhatTheLogProvesCommittedAndPreparesTheRest) {
  std::vector<proto::Mutation> log;
  for (Decree d = 1; d <= 4; ++d) {
    proto::Mutation m;
    m.set_ballot(2);
    m.set_decree(d);
    m.set_last_committed(d - 2);  // Decree 4 says up to 2 committed.
    log.push_back(m);
  }
  Group g(1);
  g.Restart(1, 1, log);
  EXPECT_EQ(g.at(1).last_committed(), 2);
  EXPECT_EQ(g.AppliedDecrees(1), std::vector<Decree>{2});
  EXPECT_EQ(g.at(1).last_prepared(), 4);
  EXPECT_EQ(g.at(1).ballot(), 2);
  EXPECT_EQ(g.at(1).status(), ReplicaStatus::kInactive);
}

TEST(ReplicaTest, RestartedPrimaryAsksForANewBallotInsteadOfReusingIts) {
  auto g = ThreeReplicas();
  g->Write(1, "a", 1);
  g->Settle();
  g->Restart(1, 0, g->logs[1]);
  g->at(1).OnConfig(Group::Config(1, 1, {2, 3}));
  g->Drain(1);
  EXPECT_EQ(g->at(1).status(), ReplicaStatus::kInactive);
  ASSERT_EQ(g->meta_inbox.size(), 1u);
  EXPECT_EQ(g->meta_inbox[0].type(), proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT);
  EXPECT_EQ(g->meta_inbox[0].config().ballot(), 2);
}

// A restarted primary whose log lost every record of its ballot (its own
// append of decree 1 never became durable, while both secondaries logged
// and acknowledged the prepare). From its log alone it would start at
// ballot 0, take the configuration's ballot 1 as new, and make a different
// decree 1 that the secondaries acknowledge as a repeat: they would commit
// their old decree 1 and the primary its new one. The persisted ballot
// makes it ask for a new ballot instead.
TEST(ReplicaTest, RestartedPrimaryWhoseLogLostItsBallotAsksForANewOne) {
  auto g = ThreeReplicas();
  g->Write(1, "a", 1);
  g->Deliver();
  g->CompleteLogs(2);
  g->CompleteLogs(3);
  g->network.clear();
  ASSERT_TRUE(g->logs[1].empty());
  g->Restart(1, kNoDecree, {});  // Its own append of decree 1 was lost.
  EXPECT_EQ(g->at(1).ballot(), 1) << "the persisted ballot";
  g->at(1).OnConfig(Group::Config(1, 1, {2, 3}));
  g->Drain(1);
  EXPECT_EQ(g->at(1).status(), ReplicaStatus::kInactive);
  ASSERT_EQ(g->meta_inbox.size(), 1u);
  EXPECT_EQ(g->meta_inbox[0].type(), proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT);
  EXPECT_EQ(g->meta_inbox[0].config().ballot(), 2);
  g->MetaAnswers(1, g->meta_inbox[0].config());
  EXPECT_EQ(g->at(1).status(), ReplicaStatus::kPrimary);
  g->Write(1, "b", 2);
  g->Settle();
  g->Tick(1, 600 * kMs);  // The commit point reaches the secondaries.
  g->Settle();
  for (int n = 1; n <= 3; ++n) {
    ASSERT_GE(g->applied[n].size(), 1u) << "node " << n;
    EXPECT_EQ(g->applied[n][0].writes(0).put().hash_key(), "b") << "node " << n;
  }
}

TEST(ReplicaTest, LapsedLeaseStopsReadsAndWritesAtOnce) {
  auto g = ThreeReplicas();
  g->at(1).SetLeaseValid(false);
  g->at(1).ClientRead(1);
  g->Write(1, "a", 2);
  g->Drain(1);
  EXPECT_EQ(g->errors[1], ErrorCode::kServerChanged);
  EXPECT_EQ(g->errors[2], ErrorCode::kServerChanged);
  // The lapse is the reason given, though it made the replica inactive.
  EXPECT_EQ(g->error_messages[1], "the replica's lease lapsed");
  EXPECT_EQ(g->error_messages[2], "the replica's lease lapsed");
  EXPECT_EQ(g->at(1).status(), ReplicaStatus::kInactive);
  // With the lease back but no configuration yet, it is just not primary.
  g->at(1).SetLeaseValid(true);
  g->at(1).ClientRead(3);
  g->Drain(1);
  EXPECT_EQ(g->error_messages[3], "the replica is not the primary");
}

// A primary term lasts through the newer ballots of membership changes,
// and ends when the replica stops being primary, however briefly: the next
// term begins under the ballot that made it primary again.
TEST(ReplicaTest, PrimarySinceIsTheBallotOfTheUnbrokenPrimaryTerm) {
  auto g = ThreeReplicas();
  EXPECT_EQ(g->at(1).primary_since(), 1);
  EXPECT_EQ(g->at(2).primary_since(), 0);
  g->Configure(Group::Config(2, 1, {2}));
  EXPECT_EQ(g->at(1).ballot(), 2);
  EXPECT_EQ(g->at(1).primary_since(), 1) << "a membership change";

  g->at(1).SetLeaseValid(false);
  g->Drain(1);
  EXPECT_EQ(g->at(1).primary_since(), 0);
  g->at(1).SetLeaseValid(true);
  g->Configure(Group::Config(3, 1, {2}));
  EXPECT_EQ(g->at(1).primary_since(), 3);

  g->Configure(Group::Config(4, 2, {1}));
  EXPECT_EQ(g->at(1).primary_since(), 0);
  EXPECT_EQ(g->at(2).primary_since(), 4);
  g->Configure(Group::Config(5, 1, {2}));
  EXPECT_EQ(g->at(1).primary_since(), 5);
}

TEST(ReplicaTest, LogFailureStopsTheReplica) {
  auto g = ThreeReplicas();
  g->Write(1, "a", 1);
  g->CompleteLogs(1, PegasusError(ErrorCode::kIoError, "disk"));
  EXPECT_EQ(g->at(1).status(), ReplicaStatus::kError);
  EXPECT_FALSE(g->fatal[1].ok());
}

TEST(ReplicaTest, LearnerCatchesUpFromTheCacheAndIsProposedAsSecondary) {
  Group g(3);
  PairWithCommittedWrites(g, 3);
  g.at(1).OnAddLearner(Group::Config(1, 1, {2}), NodeId{3});
  g.Drain(1);
  g.Settle();
  EXPECT_EQ(g.at(3).status(), ReplicaStatus::kLearner);
  EXPECT_EQ(g.at(3).last_committed(), 3);
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  EXPECT_EQ(g.meta_inbox[0].type(), proto::CONFIG_UPGRADE_TO_SECONDARY);
  EXPECT_EQ(g.meta_inbox[0].node(), 3u);
  g.MetaAnswers(1, g.meta_inbox[0].config());
  g.Write(1, "k", 4);
  g.Settle();
  EXPECT_EQ(g.at(3).status(), ReplicaStatus::kSecondary);
  EXPECT_EQ(g.at(1).last_committed(), 4);
}

// Regression: the primary marked a learner's upgrade as proposed for good,
// so once the meta server refused the proposal (its configuration had moved
// on) the caught-up learner was never proposed again, even when the meta
// server asked for it to be added once more.
TEST(ReplicaTest, LearnerUpgradeIsProposedAgainAfterTheMetaServerRefusesIt) {
  Group g(4);
  g.Configure(Group::Config(1, 1, {2, 3}, 4));
  g.Write(1, "k", 1);
  g.Settle();
  g.at(1).OnAddLearner(Group::Config(1, 1, {2, 3}, 4), NodeId{4});
  g.Drain(1);
  g.Settle();
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  EXPECT_EQ(g.meta_inbox[0].type(), proto::CONFIG_UPGRADE_TO_SECONDARY);
  // Refused: the meta server is at ballot 2 already, without node 3.
  g.MetaAnswers(1, Group::Config(2, 1, {2}, 4), ErrorCode::kServerChanged);
  g.meta_inbox.clear();
  ASSERT_EQ(g.at(1).ballot(), 2);
  g.Tick(1, 600 * kMs);  // The group check: the learner reports success.
  g.Settle();
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  EXPECT_EQ(g.meta_inbox[0].type(), proto::CONFIG_UPGRADE_TO_SECONDARY);
  EXPECT_EQ(g.meta_inbox[0].node(), 4u);
  EXPECT_EQ(g.meta_inbox[0].config().ballot(), 3);
}

// A learner's report of success counts at the primary's own ballot only: a
// late report from an older ballot does not get it proposed as a secondary
// of a configuration it has not seen.
TEST(ReplicaTest, LearnerSuccessReportedUnderAnOlderBallotIsNotEnough) {
  Group g(4);
  g.Configure(Group::Config(1, 1, {2, 3}, 4));
  g.Write(1, "k", 1);
  g.Settle();
  std::optional<proto::GroupCheckResponse> success;
  g.on_ready = [&](int n, const Ready& ready) {
    for (const PeerMessage& m : ready.messages) {
      const auto* r = std::get_if<proto::GroupCheckResponse>(&m.body);
      if (n == 4 && r != nullptr &&
          r->learner_status() == proto::LEARNER_SUCCEEDED) {
        success = *r;
      }
    }
  };
  g.at(1).OnAddLearner(Group::Config(1, 1, {2, 3}, 4), NodeId{4});
  g.Drain(1);
  g.Settle();
  ASSERT_TRUE(success.has_value());
  ASSERT_EQ(success->ballot(), 1);
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  // Refused: the meta server is at ballot 2 already, without node 3.
  g.MetaAnswers(1, Group::Config(2, 1, {2}, 4), ErrorCode::kServerChanged);
  g.meta_inbox.clear();
  ASSERT_EQ(g.at(1).ballot(), 2);
  // The success report of ballot 1 comes again, late: nothing is proposed.
  g.Receive(4, 1, *success);
  EXPECT_TRUE(g.meta_inbox.empty());
  // Under ballot 2 (the next group check) it is.
  g.Tick(1, 600 * kMs);
  g.Settle();
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  EXPECT_EQ(g.meta_inbox[0].node(), 4u);
  EXPECT_EQ(g.meta_inbox[0].config().ballot(), 3);
}

// Regression: a learner whose learn request reached its primary while the
// primary's lease had lapsed was refused, and then neither asked again nor
// was invited again (the primary, back under a new ballot, kept it as a
// learner with the same signature), so it stayed learning forever.
TEST(ReplicaTest, LearnerRefusedWhileThePrimaryLostItsLeaseLearnsLater) {
  Group g(3);
  g.Configure(Group::Config(1, 1, {2}));
  g.Write(1, "k", 1);
  g.Settle();
  g.at(1).OnAddLearner(Group::Config(1, 1, {2}), NodeId{3});
  g.Drain(1);
  // The invitation reaches n3; its learn request waits.
  ASSERT_EQ(g.network.size(), 1u);
  auto [from, to, body] = std::move(g.network.front());
  g.network.pop_front();
  g.Receive(from, to, body);
  ASSERT_EQ(g.at(3).status(), ReplicaStatus::kLearner);
  g.at(1).SetLeaseValid(false);
  g.Drain(1);
  g.Settle();  // Refused: n1 is not primary now.
  g.at(1).SetLeaseValid(true);
  g.at(1).OnConfig(Group::Config(1, 1, {2}));
  g.Drain(1);
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  const proto::PartitionConfig accepted = g.meta_inbox[0].config();
  g.meta_inbox.clear();
  g.MetaAnswers(1, accepted);
  ASSERT_EQ(g.at(1).status(), ReplicaStatus::kPrimary);
  g.Tick(1, 600 * kMs);  // The group check invites the learner again.
  g.Settle();
  EXPECT_EQ(g.at(3).status(), ReplicaStatus::kLearner);
  EXPECT_EQ(g.at(3).last_committed(), 1);
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  EXPECT_EQ(g.meta_inbox[0].type(), proto::CONFIG_UPGRADE_TO_SECONDARY);
  EXPECT_EQ(g.meta_inbox[0].node(), 3u);
}

// Regression: each answer to a learn request moved the learner's prepare
// start to the primary's last prepared decree + 1. A learner that asked
// again (its first answer was slow) and then acted on the first answer
// lacked every decree between the two starts whose prepare it had missed:
// the primary no longer counted it for those decrees, so it never sent
// them again. Upgraded with that hole, and later made primary, it filled a
// committed decree with an empty write.
TEST(ReplicaTest, LearnerActingOnAnEarlierLearnAnswerGetsEveryDecree) {
  Group g(3);
  g.Configure(Group::Config(1, 1, {2}));
  g.Write(1, "a", 1);
  g.Settle();
  g.at(1).OnAddLearner(Group::Config(1, 1, {2}), NodeId{3});
  g.Drain(1);
  Receive(g, Take(g, 3));                   // The invitation.
  Receive(g, Take(g, 1));                   // The learn request.
  const Message first_answer = Take(g, 3);  // Slow: start 2.
  g.Write(1, "b", 2);                       // Decree 2, to n2 and n3.
  Take(g, 3);                               // Lost on its way to n3.
  g.Settle({3});                            // n2 acknowledges decree 2.
  g.network.clear();
  g.Tick(3, 1'000 * kMs);  // n3 asks again.
  Receive(g, Take(g, 1));
  Take(g, 3);                // The second answer (start 3) is lost.
  Receive(g, first_answer);  // n3 acts on the first.
  for (int64_t ms = 100; ms <= 600; ms += 100) {
    g.Tick(1, ms * kMs);
    g.Settle();
  }
  ASSERT_NE(g.at(3).MutationAt(2), nullptr) << "n3 lacks decree 2";
  EXPECT_EQ(g.at(3).MutationAt(2)->writes(0).put().hash_key(), "b");
  EXPECT_EQ(g.at(1).last_committed(), 2);
}

// Regression: a learner restarted while its upgrade was pending at the meta
// server, was invited to learn again, dropped the tail it had reported with,
// failed before learning it again, and the accepted upgrade made it a
// secondary without a committed mutation. Now it is not invited again until
// the meta server answers, and joins with what its log holds.
TEST(ReplicaTest, LearnerWithItsUpgradePendingIsNotInvitedAgain) {
  Group g(3);
  PairWithCommittedWrites(g, 2);
  g.at(1).OnAddLearner(Group::Config(1, 1, {2}), NodeId{3});
  g.Drain(1);
  g.Settle();
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  ASSERT_EQ(g.meta_inbox[0].type(), proto::CONFIG_UPGRADE_TO_SECONDARY);
  const proto::PartitionConfig upgraded = g.meta_inbox[0].config();
  g.Restart(3);
  ASSERT_EQ(g.at(3).status(), ReplicaStatus::kInactive);
  g.Tick(1, 600 * kMs);  // A group check, while the upgrade is pending.
  for (const auto& [from, to, body] : g.network) {
    const auto* check = std::get_if<proto::GroupCheckRequest>(&body);
    EXPECT_FALSE(to == 3 && check != nullptr &&
                 check->learner_signature() != 0)
        << "n3 invited to learn again";
  }
  g.Settle();
  EXPECT_EQ(g.at(3).last_prepared(), 2) << "n3 kept what it learned";
  // The meta server accepts the upgrade: n3 joins with what it holds.
  g.MetaAnswers(1, upgraded);
  g.Write(1, "k", 3);
  g.Settle();
  EXPECT_EQ(g.at(3).status(), ReplicaStatus::kSecondary);
  EXPECT_EQ(g.at(1).last_committed(), 3);
  EXPECT_NE(g.at(3).MutationAt(3), nullptr);
  EXPECT_EQ(g.at(3).last_prepared(), 3);
}

// A learner reported success and its primary proposed the upgrade; then the
// learner restarted, and an invitation delayed from its first round started
// a second. Its log showed it had already reconciled its tail with this
// primary under this ballot: what it learned is kept whole, including a
// mutation of an older ballot past its commit point. Dropped, and the
// upgrade accepted before the second round ended, it would be a secondary
// without a committed mutation.
TEST(ReplicaTest, LearnerInvitedAgainUnderTheSameBallotKeepsWhatItLearned) {
  Group g(3);
  PairWithCommittedWrites(g, 2);
  g.Configure(Group::Config(2, 1, {2}));
  g.Settle();
  ASSERT_EQ(g.at(1).MutationAt(2)->ballot(), 1);
  g.at(1).OnAddLearner(Group::Config(2, 1, {2}), NodeId{3});
  g.Drain(1);
  const Message invitation = Take(g, 3);
  Receive(g, invitation);
  g.Settle();
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  ASSERT_EQ(g.meta_inbox[0].type(), proto::CONFIG_UPGRADE_TO_SECONDARY);
  const proto::PartitionConfig upgraded = g.meta_inbox[0].config();
  // Storage kept nothing; the log tells decree 1 committed, not decree 2.
  g.Restart(3, kNoDecree, g.logs[3]);
  ASSERT_EQ(g.at(3).last_committed(), 1);
  Receive(g, invitation);
  g.CompleteLogs(3);
  EXPECT_EQ(g.at(3).status(), ReplicaStatus::kLearner);
  ASSERT_NE(g.at(3).MutationAt(2), nullptr) << "n3 dropped what it learned";
  EXPECT_EQ(g.at(3).MutationAt(2)->ballot(), 1);
  // The second round is cut short; the meta server accepts the upgrade.
  g.network.clear();
  g.MetaAnswers(1, upgraded);
  g.Write(1, "k", 3);
  g.Settle();
  EXPECT_EQ(g.at(3).status(), ReplicaStatus::kSecondary);
  EXPECT_EQ(g.at(1).last_committed(), 3);
  EXPECT_EQ(g.at(3).last_prepared(), 3);
  EXPECT_NE(g.at(3).MutationAt(2), nullptr);
}

// Regression: a learner that restarted and lost part of its tail learned
// again under the same signature, took a duplicate of an answer to its
// earlier round (which started after what it had then), and finished with
// a gap before the prepare start: upgraded, it was a secondary lacking a
// committed decree. An answer that does not join on is not enough.
TEST(ReplicaTest, LearnerIgnoresAnAnswerThatDoesNotJoinOnToWhatItHolds) {
  Group g(3);
  PairWithCommittedWrites(g, 3);
  g.at(1).OnAddLearner(Group::Config(1, 1, {2}), NodeId{3});
  g.Drain(1);
  Receive(g, Take(g, 3));  // The invitation: n3 asks from decree 1.
  const Message request = Take(g, 1);
  const auto& learn = std::get<proto::LearnRequest>(std::get<2>(request));
  ASSERT_EQ(learn.last_applied(), 0);
  // An answer as to a request from decree 3 (n3 held 1 and 2 then).
  proto::LearnResponse stale;
  stale.set_app_id(learn.app_id());
  stale.set_partition_index(learn.partition_index());
  stale.set_error(proto::REPLICA_OK);
  stale.set_type(proto::LEARN_CACHE);
  stale.set_learner_signature(learn.learner_signature());
  *stale.mutable_config() = g.at(1).config();
  stale.set_last_committed(3);
  stale.set_prepare_start_decree(4);
  *stale.add_mutations() = *g.at(1).MutationAt(3);
  g.Receive(1, 3, stale);
  g.CompleteLogs(3);
  EXPECT_EQ(g.at(3).last_committed(), 0) << "decrees 1 and 2 are missing";
  ASSERT_EQ(g.at(3).status(), ReplicaStatus::kLearner);
  // It asked again rather than report success.
  bool asked_again = false;
  for (const auto& [from, to, body] : g.network) {
    asked_again |=
        from == 3 && std::holds_alternative<proto::LearnRequest>(body);
    if (const auto* r = std::get_if<proto::GroupCheckResponse>(&body)) {
      EXPECT_NE(r->learner_status(), proto::LEARNER_SUCCEEDED);
    }
  }
  EXPECT_TRUE(asked_again);
  // The real answers complete it.
  Receive(g, request);
  g.Settle();
  EXPECT_EQ(g.at(3).last_committed(), 3);
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  EXPECT_EQ(g.meta_inbox[0].type(), proto::CONFIG_UPGRADE_TO_SECONDARY);
}

// Regression: a learner that reported success and was proposed as a
// secondary, then stopped answering, was dropped, and the decrees after it
// committed without it. The meta server still accepted the pending upgrade,
// so it became a secondary lacking committed decrees.
TEST(ReplicaTest, LearnerIsNotDroppedWhileItsUpgradeIsPending) {
  Group g(3);
  g.Configure(Group::Config(1, 1, {2}));
  g.Write(1, "a", 1);
  g.Settle();
  g.at(1).OnAddLearner(Group::Config(1, 1, {2}), NodeId{3});
  g.Drain(1);
  g.Deliver();         // n3 learns decree 1; its append is pending.
  g.Write(1, "b", 2);  // Decree 2 goes to the learner too; it is lost.
  Take(g, 3);
  g.CompleteLogs(3);  // Learning succeeded: n1 proposes the upgrade.
  Receive(g, Take(g, 1));
  g.Settle({3});  // From now on n3 answers nothing.
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  ASSERT_EQ(g.meta_inbox[0].type(), proto::CONFIG_UPGRADE_TO_SECONDARY);
  g.Tick(1, 100 * kMs);
  g.Settle({3});
  g.Tick(1, 1'000 * kMs);  // Past the prepare timeout.
  g.Settle({3});
  EXPECT_EQ(g.at(1).last_committed(), 1) << "decree 2 waits for n3";
  g.MetaAnswers(1, g.meta_inbox[0].config());
  g.Settle();
  ASSERT_NE(g.at(3).MutationAt(2), nullptr) << "the new secondary lacks d2";
  EXPECT_EQ(g.at(3).MutationAt(2)->writes(0).put().hash_key(), "b");
  EXPECT_EQ(g.at(1).last_committed(), 2);
}

TEST(ReplicaTest, LearnerBehindTheCacheIsServedThroughTheDriver) {
  ReplicaOptions options;
  options.max_cached_mutations = 1;
  Group g(3, options);
  PairWithCommittedWrites(g, 4);
  g.at(1).OnAddLearner(Group::Config(1, 1, {2}), NodeId{3});
  g.Drain(1);
  g.Settle();
  ASSERT_EQ(g.fetches[1].size(), 1u);
  EXPECT_EQ(g.fetches[1][0].start_decree, 1);
  proto::LearnResponse data;
  data.set_type(proto::LEARN_LOG);
  for (const proto::Mutation& m : g.logs[1]) *data.add_mutations() = m;
  g.at(1).OnLearnData(NodeId{3}, g.fetches[1][0].signature, data);
  g.Drain(1);
  g.Settle();
  EXPECT_EQ(g.at(3).last_committed(), 4);
  EXPECT_EQ(g.meta_inbox.size(), 1u);
}

TEST(ReplicaTest, PlantedMajorityCommitCommitsWithoutEveryMember) {
  ReplicaOptions options;
  options.planted_bugs.majority_commit = true;
  auto g = ThreeReplicas(options);
  g->Write(1, "a", 1);
  g->Settle({3});
  EXPECT_EQ(g->acked, std::vector<ClientToken>{1});
}

TEST(ReplicaTest, PlantedSkipReconciliationServesReadsAtOnce) {
  ReplicaOptions options;
  options.planted_bugs.skip_reconciliation = true;
  options.max_mutation_bytes = 1;
  auto g = ThreeReplicas(options);
  g->Write(1, "a", 1);
  g->Deliver();
  g->CompleteLogs(2);
  g->network.clear();
  g->at(2).OnConfig(Group::Config(3, 2, {3}));
  g->at(2).ClientRead(9);
  g->Drain(2);
  EXPECT_EQ(g->reads, std::vector<ClientToken>{9});
}

TEST(ReplicaTest, PlantedStaleBallotPrepareIsAccepted) {
  ReplicaOptions options;
  options.planted_bugs.stale_ballot_prepare = true;
  auto g = ThreeReplicas(options);
  g->at(2).OnConfig(Group::Config(3, 3, {2}));
  g->Drain(2);
  g->Write(1, "a", 1);
  g->Deliver();
  EXPECT_EQ(g->at(2).last_prepared(), 1);
}

TEST(ReplicaTest, PlantedSecondaryReadIsServed) {
  ReplicaOptions options;
  options.planted_bugs.secondary_read = true;
  auto g = ThreeReplicas(options);
  g->at(2).ClientRead(4);
  g->Drain(2);
  EXPECT_EQ(g->reads, std::vector<ClientToken>{4});
}

TEST(ReplicaTest, PlantedEarlyLearnerUpgradeProposesBeforeLearning) {
  ReplicaOptions options;
  options.planted_bugs.early_learner_upgrade = true;
  Group g(3, options);
  g.Configure(Group::Config(1, 1, {2}));
  g.at(1).OnAddLearner(Group::Config(1, 1, {2}), NodeId{3});
  g.Drain(1);
  ASSERT_EQ(g.meta_inbox.size(), 1u);
  EXPECT_EQ(g.meta_inbox[0].type(), proto::CONFIG_UPGRADE_TO_SECONDARY);
}

TEST(ReplicaTest, PlantedAckBeforeDurableAcknowledgesBeforeTheLog) {
  ReplicaOptions options;
  options.planted_bugs.ack_before_durable = true;
  auto g = ThreeReplicas(options);
  g->Write(1, "a", 1);
  g->Deliver();
  EXPECT_EQ(g->acked, std::vector<ClientToken>{1}) << "no log completed";
}

// Random schedules of writes, message delivery and loss, log completions,
// ticks and primary failures, with a meta server that accepts proposals
// carrying the next ballot. After every step: no two replicas ever apply
// different mutations at one decree, and every acknowledged write was
// applied by the primary that acknowledged it.
TEST(ReplicaTest, RandomSchedulesNeverDivergeCommittedHistory) {
  int seeds_that_committed = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    SeededRandom rng(seed);
    ReplicaOptions options;
    options.max_mutation_bytes = 40;
    options.max_inflight_mutations = 4;
    const int nodes = 3 + int(rng.Uniform(3));
    Group g(nodes, options);
    std::vector<int> members;
    for (int n = 2; n <= nodes && n <= 3; ++n) members.push_back(n);
    proto::PartitionConfig config = Group::Config(1, 1, members, 3);
    g.Configure(config);
    std::map<Decree, std::string> committed;  // Decree -> writes + time.
    std::map<int, size_t> checked;
    int64_t now = 0;
    ClientToken next_client = 1;
    for (int step = 0; step < 400; ++step) {
      const uint64_t action = rng.Uniform(100);
      const int primary = int(config.primary());
      if (action < 25 && primary != 0) {
        g.Write(primary, "k" + std::to_string(rng.Uniform(3)), next_client++);
      } else if (action < 60 && !g.network.empty()) {
        g.DeliverOne(rng.Uniform(g.network.size()), rng.Bernoulli(0.1));
      } else if (action < 80) {
        const int n = 1 + int(rng.Uniform(nodes));
        if (!g.dead.count(n)) g.CompleteLogs(n);
      } else if (action < 95 && primary != 0) {
        now += 50 * kMs;
        for (int n = 1; n <= nodes; ++n) {
          if (g.dead.count(n)) continue;
          // A tick before the replica's next deadline has nothing to do.
          const bool idle = !g.at(n).HasReady() && now < g.at(n).NextTickNs();
          g.at(n).Tick(now);
          if (idle) {
            EXPECT_FALSE(g.at(n).HasReady())
                << "seed " << seed << " step " << step << " node " << n;
          }
          g.Drain(n);
        }
      } else if (primary != 0 && config.secondaries_size() >= 2) {
        // The primary dies; the meta server promotes a secondary.
        g.dead.insert(primary);
        proto::PartitionConfig next = config;
        next.set_ballot(config.ballot() + 1);
        next.set_primary(config.secondaries(0));
        next.clear_secondaries();
        for (int i = 1; i < config.secondaries_size(); ++i) {
          next.add_secondaries(config.secondaries(i));
        }
        config = next;
        for (int n = 1; n <= nodes; ++n) {
          if (!g.dead.count(n)) {
            g.at(n).OnConfig(config);
            g.Drain(n);
          }
        }
      }
      // The meta server answers proposals with the next ballot.
      for (const proto::ConfigUpdateRequest& request : g.meta_inbox) {
        proto::ConfigUpdateResponse response;
        if (request.config().ballot() == config.ballot() + 1 &&
            request.from() == config.primary()) {
          config = request.config();
        } else {
          response.set_error(int(ErrorCode::kServerChanged));
        }
        *response.mutable_config() = config;
        const int from = int(request.from());
        if (!g.dead.count(from)) {
          g.at(from).OnConfigUpdateResponse(response);
          g.Drain(from);
        }
      }
      g.meta_inbox.clear();
      for (auto& [n, applied] : g.applied) {
        for (size_t i = checked[n]; i < applied.size(); ++i) {
          proto::Mutation m = applied[i];
          std::string content;
          m.clear_ballot();
          m.clear_last_committed();
          m.SerializeToString(&content);
          auto [it, added] = committed.emplace(m.decree(), content);
          ASSERT_EQ(it->second, content)
              << "seed " << seed << " step " << step << ": node " << n
              << " applied a different mutation at decree " << m.decree();
        }
        checked[n] = applied.size();
      }
    }
    if (!committed.empty()) ++seeds_that_committed;
  }
  // The schedules make progress too (a run can stall once members are
  // removed below min_replica_count, which this meta server never heals).
  EXPECT_GE(seeds_that_committed, 270);
}

// Found by the simulator (cluster seed 200408, 60 s): a learner dropped
// its uncommitted tail in memory only; restarted, it found the dropped
// mutation in its log and, once a later prepare's commit point covered its
// decree, committed it instead of the primary's version.
TEST(ReplicaTest, LearnerRestartedAfterDroppingItsTailDoesNotCommitIt) {
  ReplicaOptions options;
  options.min_replica_count = 1;
  Group g(3, options);
  g.Configure(Group::Config(1, 1, {3}, 2));
  g.Write(1, "stale", 1);
  g.Deliver();
  g.CompleteLogs(3);  // n3 holds decree 1 of ballot 1; nothing commits.
  g.network.clear();
  // n2 becomes primary alone (the harness plays a meta server that lost
  // n1 and n3) and commits its own decrees 1 and 2.
  const proto::PartitionConfig b2 = Group::Config(2, 2, {}, 2);
  g.at(2).OnConfig(b2);
  g.Drain(2);
  g.Write(2, "fresh1", 2);
  g.CompleteLogs(2);
  g.Write(2, "fresh2", 3);
  g.CompleteLogs(2);
  ASSERT_EQ(g.at(2).last_committed(), 2);
  // n3 learns from n2, but receives the prepare of decree 3 (commit point
  // 2) before the learn answer, and logs only that before crashing.
  // Delivers the first queued message of type T alone (what it causes
  // stays queued).
  auto deliver_first = [&g]<typename T>(T*) {
    for (size_t i = 0; i < g.network.size(); ++i) {
      if (std::holds_alternative<T>(std::get<2>(g.network[i]))) {
        auto [from, to, body] = std::move(g.network[i]);
        g.network.erase(g.network.begin() + i);
        g.Receive(from, to, body);
        return true;
      }
    }
    return false;
  };
  g.at(2).OnAddLearner(b2, NodeId{3});
  g.Drain(2);
  ASSERT_TRUE(deliver_first(static_cast<proto::GroupCheckRequest*>(nullptr)));
  ASSERT_EQ(g.at(3).status(), ReplicaStatus::kLearner);
  ASSERT_TRUE(deliver_first(static_cast<proto::LearnRequest*>(nullptr)));
  g.Write(2, "fresh3", 4);
  ASSERT_TRUE(deliver_first(static_cast<proto::PrepareRequest*>(nullptr)));
  g.network.clear();  // The learn answer is lost.
  g.CompleteLogs(3);
  g.Restart(3);
  EXPECT_EQ(g.at(3).last_committed(), 0);
  EXPECT_TRUE(g.applied[3].empty()) << "applied the dropped mutation";
}

TEST(ReplicaTest, OptionsAreValidated) {
  ReplicaOptions options;
  options.max_inflight_mutations = 0;
  EXPECT_EQ(ToErrorCode(ValidateReplicaOptions(options)),
            ErrorCode::kInvalidArgument);
  options = ReplicaOptions{};
  options.prepare_timeout_ns = 1;
  EXPECT_EQ(ToErrorCode(ValidateReplicaOptions(options)),
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(ValidateReplicaOptions(ReplicaOptions{}).ok());
}

}  // namespace
}  // namespace pegasus::replication
