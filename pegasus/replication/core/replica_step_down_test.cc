// A primary stepping down on the meta server's request (moving the primary
// for the balancer): Replica::OnDowngradeRequest. The exact traces are in
// testdata/downgrade_*.txt; these tests check the rules one by one, and a
// randomized one checks them together against arbitrary schedules.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"
#include "pegasus/replication/core/replica.h"
#include "pegasus/replication/core/replica_group.h"

namespace pegasus::replication {
namespace {

constexpr int64_t kMs = 1'000'000;

using Group = ReplicaGroup;

// Node 1 primary, 2 and 3 secondaries, ballot 1, one write committed.
std::unique_ptr<Group> ThreeWithOneWrite(ReplicaOptions options = {}) {
  auto group = std::make_unique<Group>(3, options);
  group->Configure(Group::Config(1, 1, {2, 3}));
  group->Write(1, "a", 1);
  group->Settle();
  return group;
}

int Downgrades(const Group& g) {
  int count = 0;
  for (const proto::ConfigUpdateRequest& request : g.meta_inbox) {
    if (request.type() == proto::CONFIG_DOWNGRADE_TO_SECONDARY) ++count;
  }
  return count;
}

TEST(ReplicaStepDownTest, PrimaryStopsServingBeforeItProposesItsDowngrade) {
  auto g = ThreeWithOneWrite();
  g->at(1).OnDowngradeRequest(Group::Config(1, 1, {2, 3}));
  g->Drain(1);
  ASSERT_EQ(g->meta_inbox.size(), 1u);
  const proto::ConfigUpdateRequest& request = g->meta_inbox[0];
  EXPECT_EQ(request.type(), proto::CONFIG_DOWNGRADE_TO_SECONDARY);
  EXPECT_EQ(request.node(), 1u);
  EXPECT_EQ(request.from(), 1u);
  EXPECT_EQ(request.config().ballot(), 2);
  EXPECT_EQ(request.config().primary(), 0u);
  EXPECT_EQ(request.config().secondaries_size(), 3);
  EXPECT_FALSE(g->at(1).serving_reads());
  g->at(1).ClientRead(10);
  g->Write(1, "b", 11);
  g->Drain(1);
  EXPECT_EQ(g->errors[10], ErrorCode::kServerChanged);
  EXPECT_EQ(g->errors[11], ErrorCode::kServerChanged);
  EXPECT_EQ(g->error_messages[10], "the primary is stepping down");
  EXPECT_EQ(g->at(1).status(), ReplicaStatus::kPrimary);
}

TEST(ReplicaStepDownTest, QueuedWritesAreRefusedAndPreparedOnesMayCommit) {
  ReplicaOptions options;
  options.max_inflight_mutations = 1;
  auto g = ThreeWithOneWrite(options);
  g->Write(1, "b", 2);  // Decree 2, prepared.
  g->Write(1, "c", 3);  // Queued behind it.
  g->at(1).OnDowngradeRequest(Group::Config(1, 1, {2, 3}));
  g->Drain(1);
  EXPECT_EQ(g->errors[3], ErrorCode::kServerChanged);
  EXPECT_EQ(g->errors.count(2), 0u);
  g->Settle();  // The meta server has not answered yet.
  EXPECT_EQ(g->acked, (std::vector<ClientToken>{1, 2}));
  EXPECT_EQ(g->at(1).last_committed(), 2);
  EXPECT_FALSE(g->at(1).serving_reads());
}

TEST(ReplicaStepDownTest, OnlyThePrimaryOfTheRequestsBallotActsOnIt) {
  auto g = ThreeWithOneWrite();
  g->at(1).OnDowngradeRequest(Group::Config(0, 1, {2, 3}));  // Stale.
  g->at(1).OnDowngradeRequest(Group::Config(2, 1, {2, 3}));  // Unheard of.
  g->at(2).OnDowngradeRequest(Group::Config(1, 2, {1, 3}));  // Not primary.
  for (int n = 1; n <= 3; ++n) g->Drain(n);
  EXPECT_EQ(Downgrades(*g), 0);
  EXPECT_TRUE(g->at(1).serving_reads());
  // Nor without its lease.
  g->at(1).SetLeaseValid(false);
  g->at(1).OnDowngradeRequest(Group::Config(1, 1, {2, 3}));
  g->Drain(1);
  EXPECT_EQ(Downgrades(*g), 0);
}

TEST(ReplicaStepDownTest, RepeatsAreIgnoredAndTheProposalIsRetriedOnItsOwn) {
  ReplicaOptions options;
  options.config_proposal_retry_ns = 500 * kMs;
  auto g = ThreeWithOneWrite(options);
  g->at(1).OnDowngradeRequest(Group::Config(1, 1, {2, 3}));
  g->at(1).OnDowngradeRequest(Group::Config(1, 1, {2, 3}));
  g->Drain(1);
  EXPECT_EQ(Downgrades(*g), 1);
  g->meta_inbox.clear();  // Lost.
  g->Tick(1, 499 * kMs);
  EXPECT_EQ(Downgrades(*g), 0);
  g->Tick(1, 500 * kMs);
  EXPECT_EQ(Downgrades(*g), 1);
}

// The refusal may have been overtaken by a retry the meta server accepts,
// after which another replica becomes primary: serving again under ballot
// 1 could serve a stale read next to it.
TEST(ReplicaStepDownTest, RefusalAtTheSameBallotNeverBringsThePrimaryBack) {
  ReplicaOptions options;
  options.config_proposal_retry_ns = 500 * kMs;
  auto g = ThreeWithOneWrite(options);
  g->at(1).OnDowngradeRequest(Group::Config(1, 1, {2, 3}));
  g->Drain(1);
  g->meta_inbox.clear();
  g->MetaAnswers(1, Group::Config(1, 1, {2, 3}), ErrorCode::kServerChanged);
  EXPECT_FALSE(g->at(1).serving_reads());
  g->Write(1, "b", 5);
  EXPECT_EQ(g->errors[5], ErrorCode::kServerChanged);
  g->Tick(1, 500 * kMs);
  EXPECT_EQ(Downgrades(*g), 1) << "the downgrade is proposed again";
  // The retry is accepted: n1 is a secondary of ballot 2.
  g->MetaAnswers(1, g->meta_inbox[0].config());
  EXPECT_EQ(g->at(1).status(), ReplicaStatus::kSecondary);
  EXPECT_EQ(g->at(1).ballot(), 2);
}

TEST(ReplicaStepDownTest, NewerConfigurationEndsTheSteppingDown) {
  auto g = ThreeWithOneWrite();
  g->at(1).OnDowngradeRequest(Group::Config(1, 1, {2, 3}));
  g->Drain(1);
  // The meta server moved on first (it dropped n3): n1 is primary of
  // ballot 2 and serves again; its downgrade of ballot 1 is over.
  g->MetaAnswers(1, Group::Config(2, 1, {2}), ErrorCode::kServerChanged);
  EXPECT_EQ(g->at(1).status(), ReplicaStatus::kPrimary);
  EXPECT_EQ(g->at(1).ballot(), 2);
  EXPECT_TRUE(g->at(1).serving_reads());
  g->meta_inbox.clear();
  g->Tick(1, 10'000 * kMs);
  EXPECT_EQ(Downgrades(*g), 0);
}

TEST(ReplicaStepDownTest, AnotherPendingProposalComesFirst) {
  auto g = ThreeWithOneWrite();
  // n3 stops answering: the primary proposes removing it.
  g->Write(1, "b", 2);
  g->Settle({3});
  g->Tick(1, 1'000 * kMs);
  ASSERT_EQ(g->meta_inbox.size(), 1u);
  ASSERT_EQ(g->meta_inbox[0].type(), proto::CONFIG_DOWNGRADE_TO_INACTIVE);
  g->at(1).OnDowngradeRequest(Group::Config(1, 1, {2, 3}));
  g->Drain(1);
  EXPECT_EQ(Downgrades(*g), 0) << "asked again by the meta server later";
  EXPECT_TRUE(g->at(1).serving_reads());
  // No learner is taken on while stepping down either.
  g->MetaAnswers(1, g->meta_inbox[0].config());
  g->meta_inbox.clear();
  g->at(1).OnDowngradeRequest(Group::Config(2, 1, {2}));
  g->Drain(1);
  EXPECT_EQ(Downgrades(*g), 1);
  g->network.clear();
  g->at(1).OnAddLearner(Group::Config(2, 1, {2}), NodeId{3});
  g->Drain(1);
  EXPECT_TRUE(g->network.empty()) << "no learner invited";
}

// The lease lapses while the downgrade is pending, and comes back with the
// same configuration (a config sync): the replica does not ask for a new
// ballot of its own as a restarted primary would, but keeps asking for the
// downgrade.
TEST(ReplicaStepDownTest, LeaseLapseWhileSteppingDownKeepsTheDowngrade) {
  ReplicaOptions options;
  options.config_proposal_retry_ns = 500 * kMs;
  auto g = ThreeWithOneWrite(options);
  g->at(1).OnDowngradeRequest(Group::Config(1, 1, {2, 3}));
  g->Drain(1);
  g->meta_inbox.clear();
  g->at(1).SetLeaseValid(false);
  g->Drain(1);
  g->at(1).SetLeaseValid(true);
  g->at(1).OnConfig(Group::Config(1, 1, {2, 3}));
  g->Drain(1);
  EXPECT_TRUE(g->meta_inbox.empty());
  EXPECT_EQ(g->at(1).status(), ReplicaStatus::kInactive);
  g->Tick(1, 500 * kMs);
  ASSERT_EQ(Downgrades(*g), 1);
  g->MetaAnswers(1, g->meta_inbox[0].config());
  EXPECT_EQ(g->at(1).status(), ReplicaStatus::kSecondary);
}

// Random schedules of writes, deliveries (some dropped), log completions and
// ticks, with the meta server moving the primary over and over the only safe
// way: it asks the primary to step down, persists the downgrade it proposes
// (or refuses it at random, as when a change of its own is in flight), and
// upgrades a secondary of the new configuration. Its answers and its news
// are sometimes lost, and unanswered members are removed as usual. After every
// step at most one replica serves reads, none serves under a ballot whose
// downgrade the meta server persisted, and no two replicas commit different
// mutations at one decree; at the end the last primary holds every
// acknowledged write.
TEST(ReplicaStepDownTest, RandomMovesOfThePrimaryKeepOneServerAndEveryWrite) {
  int seeds_with_moves = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    SeededRandom rng(seed);
    ReplicaOptions options;
    options.max_mutation_bytes = 40;
    options.max_inflight_mutations = 4;
    options.config_proposal_retry_ns = 100 * kMs;
    Group g(3, options);
    proto::PartitionConfig config = Group::Config(1, 1, {2, 3});
    g.Configure(config);
    std::map<Decree, std::string> committed;
    std::map<int, size_t> checked;
    int64_t now = 0;
    ClientToken next_client = 1;
    int moves = 0;
    // (node, ballot) of every downgrade the meta server accepted.
    std::set<std::pair<int, Ballot>> stepped_down;
    // The meta server answers its inbox; `refuse` refuses valid requests at
    // random and leaves some for later. An accepted downgrade leaves no primary: a secondary other
    // than the old primary is upgraded and every node told (the old
    // primary's answer is sometimes lost: it learns from the others).
    auto answer_meta = [&](bool refuse) {
      std::vector<proto::ConfigUpdateRequest> inbox;
      inbox.swap(g.meta_inbox);
      for (const proto::ConfigUpdateRequest& request : inbox) {
        // Requests arrive late and out of order: a retry may be answered
        // before the attempt it repeats.
        if (refuse && rng.Bernoulli(0.5)) {
          g.meta_inbox.push_back(request);
          continue;
        }
        proto::ConfigUpdateResponse response;
        const bool valid = request.config().ballot() == config.ballot() + 1 &&
                           request.from() == config.primary();
        if (valid && !(refuse && rng.Bernoulli(0.3))) {
          if (request.type() == proto::CONFIG_DOWNGRADE_TO_SECONDARY) {
            stepped_down.insert({int(request.from()), config.ballot()});
          }
          config = request.config();
        } else {
          response.set_error(int(ErrorCode::kServerChanged));
        }
        *response.mutable_config() = config;
        const int from = int(request.from());
        if (!rng.Bernoulli(0.2)) {
          g.at(from).OnConfigUpdateResponse(response);
          g.Drain(from);
        }
        if (config.primary() != 0) continue;
        const int old = from;
        std::vector<uint64_t> others;
        for (uint64_t s : config.secondaries()) {
          if (int(s) != old) others.push_back(s);
        }
        // Removals may have left the old primary alone: it comes back.
        if (others.empty()) others.push_back(uint64_t(old));
        proto::PartitionConfig next = config;
        next.set_ballot(config.ballot() + 1);
        next.set_primary(others[rng.Uniform(others.size())]);
        next.clear_secondaries();
        for (uint64_t s : config.secondaries()) {
          if (s != next.primary()) next.add_secondaries(s);
        }
        config = next;
        ++moves;
        for (int n = 1; n <= 3; ++n) {
          if (n == old && rng.Bernoulli(0.5)) continue;
          g.at(n).OnConfig(config);
          g.Drain(n);
        }
      }
    };
    auto check = [&](int step) {
      int serving = 0;
      for (int n = 1; n <= 3; ++n) {
        const Replica& r = g.at(n);
        if (!r.serving_reads()) continue;
        ++serving;
        // The meta server may make another replica primary at any moment
        // after it persisted the downgrade.
        ASSERT_EQ(stepped_down.count({n, r.ballot()}), 0u)
            << "seed " << seed << " step " << step << ": n" << n
            << " serves under ballot " << r.ballot()
            << ", whose downgrade the meta server persisted";
      }
      ASSERT_LE(serving, 1) << "seed " << seed << " step " << step;
      for (auto& [n, applied] : g.applied) {
        for (size_t i = checked[n]; i < applied.size(); ++i) {
          proto::Mutation m = applied[i];
          m.clear_ballot();
          m.clear_last_committed();
          std::string content;
          m.SerializeToString(&content);
          auto [it, added] = committed.emplace(m.decree(), content);
          ASSERT_EQ(it->second, content)
              << "seed " << seed << " step " << step << ": node " << n
              << " applied a different mutation at decree " << m.decree();
        }
        checked[n] = applied.size();
      }
    };
    // Some seeds write little, so that a new primary often has nothing to
    // reconcile and serves at once.
    const uint64_t writes = 2 + rng.Uniform(30);
    for (int step = 0; step < 300; ++step) {
      const uint64_t action = rng.Uniform(70 + writes);
      const int primary = int(config.primary());
      if (action >= 70 && primary != 0) {
        const ClientToken client = next_client++;
        g.Write(primary, "k" + std::to_string(rng.Uniform(3)), client,
                "v" + std::to_string(client));
      } else if (action < 30 && !g.network.empty()) {
        g.DeliverOne(rng.Uniform(g.network.size()), rng.Bernoulli(0.05));
      } else if (action < 45) {
        g.CompleteLogs(1 + int(rng.Uniform(3)));
      } else if (action < 62) {
        now += 50 * kMs;
        for (int n = 1; n <= 3; ++n) g.Tick(n, now);
      } else if (primary != 0) {
        g.at(primary).OnDowngradeRequest(config);
        g.Drain(primary);
      }
      answer_meta(/*refuse=*/true);
      check(step);
      if (testing::Test::HasFatalFailure()) return;
    }
    // Quiet: everything is delivered and answered until the primary has
    // committed all it holds.
    for (int round = 0; round < 20; ++round) {
      g.Settle();
      now += 600 * kMs;
      for (int n = 1; n <= 3; ++n) g.Tick(n, now);
      answer_meta(/*refuse=*/false);
      check(1000 + round);
      if (testing::Test::HasFatalFailure()) return;
    }
    ASSERT_NE(config.primary(), 0u) << "seed " << seed;
    const Replica& last = g.at(int(config.primary()));
    ASSERT_EQ(last.last_committed(), last.last_prepared()) << "seed " << seed;
    std::set<std::string> values;
    for (const proto::Mutation& m : g.applied[int(config.primary())]) {
      for (const proto::DataRequest& write : m.writes()) {
        values.insert(write.put().value());
      }
    }
    for (ClientToken client : g.acked) {
      EXPECT_EQ(values.count("v" + std::to_string(client)), 1u)
          << "seed " << seed << ": acknowledged write of c" << client
          << " lost";
    }
    if (moves > 0) ++seeds_with_moves;
  }
  EXPECT_GE(seeds_with_moves, 190);
}

}  // namespace
}  // namespace pegasus::replication
