// MetaCore's balancing, driven by hand with explicit time: rounds of the
// greedy balancer at level lively, each move carried out one persisted step
// at a time, the primary stepping down only by its own request, moves
// abandoned on failures and timeouts, and operators' balance and propose.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/internal/partition_configs.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/meta/meta_test_harness.h"

namespace pegasus {
namespace {

constexpr NodeId kN1{1}, kN2{2}, kN3{3}, kN4{4};
constexpr Gpid kP0{1, 0};
const std::set<NodeId> kThree = {kN1, kN2, kN3};
const std::set<NodeId> kFour = {kN1, kN2, kN3, kN4};

MetaOptions Options(proto::MetaLevel level) {
  MetaOptions options = NeverFreeze();
  options.level_on_start = level;
  options.balancer_interval_ns = 2 * kSecondNs;
  options.move_step_timeout_ns = 5 * kSecondNs;
  options.move_retry_ns = 500 * kMsNs;
  return options;
}

proto::AdminRequest Balance(proto::BalanceRequest::Kind kind, NodeId from,
                            NodeId to, Gpid gpid = kP0) {
  proto::AdminRequest request;
  proto::BalanceRequest* balance = request.mutable_balance();
  balance->set_app_id(gpid.app_id);
  balance->set_partition_index(gpid.partition_index);
  balance->set_kind(kind);
  balance->set_from(from.value);
  balance->set_to(to.value);
  return request;
}

proto::AdminRequest Propose(proto::ProposeType type, NodeId node,
                            NodeId target = NodeId{}, Gpid gpid = kP0) {
  proto::AdminRequest request;
  proto::ProposeRequest* propose = request.mutable_propose();
  propose->set_app_id(gpid.app_id);
  propose->set_partition_index(gpid.partition_index);
  propose->set_type(type);
  propose->set_node(node.value);
  propose->set_target(target.value);
  return request;
}

proto::AdminRequest SetLevel(proto::MetaLevel level) {
  proto::AdminRequest request;
  request.mutable_set_meta_level()->set_level(level);
  return request;
}

class MetaCoreBalanceTest : public ::testing::Test {
 protected:
  // A meta server at `level` with table t1 (`partitions` partitions of 3
  // replicas) created and healed while only n1..n3 were alive; then n4
  // comes, holding nothing.
  void StartSkewed(proto::MetaLevel level, int partitions) {
    StartSkewed(partitions, Options(level));
  }
  void StartSkewed(int partitions, const MetaOptions& options) {
    persisted_.clear();
    announced_ = 0;
    h_ = std::make_unique<MetaHarness>(options);
    ASSERT_TRUE(h_->Start().ok());
    h_->BeaconAll(kThree);
    ASSERT_TRUE(h_->CreateTable("t1", partitions, 3).ok());
    h_->Drain();
    h_->Settle();
    Heal(*h_, kThree);
    h_->BeaconAll(kFour);
    for (Gpid gpid : h_->core().Partitions()) {
      ASSERT_EQ(meta_internal::MemberCount(Config(gpid)), 3);
    }
    h_->TakeSent();
  }

  const proto::PartitionConfig& Config(Gpid gpid = kP0) {
    return *h_->core().GetConfig(gpid);
  }

  // Runs the store's completions one task at a time, checking after each
  // that nothing announced was not persisted by then.
  void SettleChecked() {
    Check();
    while (h_->executor().RunOne()) Check();
  }

  // A 100 ms step: `alive` beacon, the core ticks, and (when `answer`)
  // primaries answer what they were asked (AnswerProposals).
  void Step(const std::set<NodeId>& alive = kFour, bool answer = true) {
    h_->Advance(100 * kMsNs);
    h_->BeaconAll(alive);
    h_->Tick();
    SettleChecked();
    if (answer) Answer();
    h_->core().CheckInvariants();
  }

  // AnswerProposals, checking each of the store's completions.
  void Answer() {
    Check();
    const auto proposals = h_->Proposals();
    h_->TakeSent();
    announced_ = 0;
    for (const auto& [to, proposal] : proposals) {
      const Gpid gpid = meta_internal::GpidOf(proposal.config());
      const proto::PartitionConfig* config = h_->core().GetConfig(gpid);
      if (config == nullptr || config->primary() != to.value ||
          config->ballot() != proposal.config().ballot() ||
          h_->core().HasChangeInFlight(gpid)) {
        continue;
      }
      if (proposal.type() == proto::CONFIG_ADD_SECONDARY) {
        h_->ConfigUpdate(to,
                         MakeUpdate(*config, proto::CONFIG_UPGRADE_TO_SECONDARY,
                                    NodeId{proposal.node()}, to));
      } else if (proposal.type() == proto::CONFIG_DOWNGRADE_TO_SECONDARY) {
        h_->ConfigUpdate(
            to,
            MakeUpdate(*config, proto::CONFIG_DOWNGRADE_TO_SECONDARY, to, to));
      }
    }
    SettleChecked();
  }

  // Steps until `done` holds (at most `limit_ns`); whether it does.
  template <typename Done>
  bool RunUntil(Done done, const std::set<NodeId>& alive = kFour,
                bool answer = true, int64_t limit_ns = 60 * kSecondNs) {
    for (int64_t t = 0; t < limit_ns && !done(); t += 100 * kMsNs) {
      Step(alive, answer);
    }
    return done();
  }

  // Every proposal, and every accepted update's answer, carries a
  // configuration the store holds or held: persisted, then announced.
  void Check() {
    for (const auto& [key, value] : h_->medium().Snapshot()) {
      if (!meta_internal::IsPartitionKey(key)) continue;
      proto::PartitionConfig config;
      ASSERT_TRUE(config.ParseFromString(value));
      persisted_[meta_internal::GpidOf(config)].emplace(config.ballot(), value);
    }
    const std::vector<SentMessage>& sent = h_->sent();
    for (; announced_ < sent.size(); ++announced_) {
      const proto::PartitionConfig* config = nullptr;
      if (const auto* p = std::get_if<proto::ConfigProposal>(
              &sent[announced_].out.message)) {
        config = &p->config();
      } else if (const auto* r = std::get_if<proto::ConfigUpdateResponse>(
                     &sent[announced_].out.message)) {
        if (r->error() == 0) config = &r->config();
      }
      if (config == nullptr) continue;
      const auto& history = persisted_[meta_internal::GpidOf(*config)];
      auto it = history.find(config->ballot());
      ASSERT_TRUE(it != history.end() &&
                  it->second == config->SerializeAsString())
          << "announced before it was persisted: "
          << config->ShortDebugString();
    }
  }

  absl::Status AdminStatus(const proto::AdminRequest& request) {
    const ReplyToken token = h_->Admin(request);
    std::optional<proto::AdminResponse> response =
        h_->ResponseFor<proto::AdminResponse>(token);
    if (!response) return PegasusError(ErrorCode::kUnknown, "no answer yet");
    return MetaHarness::StatusOf(*response);
  }

  std::unique_ptr<MetaHarness> h_;
  std::map<Gpid, std::map<int64_t, std::string>> persisted_;
  size_t announced_ = 0;
};

// --- Rounds ------------------------------------------------------------------

TEST_F(MetaCoreBalanceTest, SkewedTableAtLivelyIsBalancedByMoves) {
  StartSkewed(proto::META_LEVEL_LIVELY, 8);
  ASSERT_FALSE(balance::IsBalanced(h_->core().BalanceSnapshot()));
  ASSERT_TRUE(RunUntil([&] {
    return h_->core().MovesInProgress() == 0 &&
           balance::IsBalanced(h_->core().BalanceSnapshot());
  }));
  const MetaStats& stats = h_->core().stats();
  EXPECT_GE(stats.balancer_rounds, 1u);
  EXPECT_GT(stats.moves_started, 0u);
  EXPECT_EQ(stats.moves_finished, stats.moves_started);
  EXPECT_EQ(stats.moves_abandoned, 0u);
  int on_n4 = 0;
  for (Gpid gpid : h_->core().Partitions()) {
    const proto::PartitionConfig& config = Config(gpid);
    EXPECT_NE(config.primary(), 0u) << gpid.ToString();
    EXPECT_EQ(meta_internal::MemberCount(config), 3) << gpid.ToString();
    EXPECT_EQ(config.max_replica_count(), 3) << gpid.ToString();
    on_n4 += meta_internal::IsMember(config, kN4) ? 1 : 0;
  }
  EXPECT_EQ(on_n4, 6) << "24 replicas on 4 nodes";
  // Balanced, the balancer has nothing more to do.
  const uint64_t started = stats.moves_started;
  for (int i = 0; i < 50; ++i) Step();
  EXPECT_EQ(h_->core().stats().moves_started, started);
}

TEST_F(MetaCoreBalanceTest, NothingIsBalancedBelowLively) {
  StartSkewed(proto::META_LEVEL_STEADY, 8);
  for (int i = 0; i < 100; ++i) Step();
  EXPECT_EQ(h_->core().stats().balancer_rounds, 0u);
  EXPECT_EQ(h_->core().stats().moves_started, 0u);
  EXPECT_FALSE(balance::IsBalanced(h_->core().BalanceSnapshot()));
  // At lively it is.
  EXPECT_TRUE(MetaHarness::StatusOf(
                  h_->AdminAndSettle(SetLevel(proto::META_LEVEL_LIVELY)))
                  .ok());
  EXPECT_TRUE(RunUntil([&] {
    return h_->core().MovesInProgress() == 0 &&
           balance::IsBalanced(h_->core().BalanceSnapshot());
  }));
}

// A level set below lively stops the balancer, and below steady it
// abandons the moves in progress too.
TEST_F(MetaCoreBalanceTest, FreezedStopsRoundsAndAbandonsMoves) {
  MetaOptions options = Options(proto::META_LEVEL_LIVELY);
  options.move_step_timeout_ns = 60 * kSecondNs;
  StartSkewed(8, options);
  ASSERT_TRUE(RunUntil([&] { return h_->core().MovesInProgress() > 0; }, kFour,
                       /*answer=*/false));
  const int moves = h_->core().MovesInProgress();
  EXPECT_TRUE(MetaHarness::StatusOf(
                  h_->AdminAndSettle(SetLevel(proto::META_LEVEL_FREEZED)))
                  .ok());
  Step();
  EXPECT_EQ(h_->core().MovesInProgress(), 0);
  EXPECT_EQ(h_->core().stats().moves_abandoned, static_cast<uint64_t>(moves));
  const uint64_t rounds = h_->core().stats().balancer_rounds;
  for (int i = 0; i < 100; ++i) Step();
  EXPECT_EQ(h_->core().stats().balancer_rounds, rounds);
  EXPECT_EQ(h_->core().MovesInProgress(), 0);
}

TEST_F(MetaCoreBalanceTest, NothingIsBalancedWhileAPartitionIsUnhealthy) {
  StartSkewed(proto::META_LEVEL_STEADY, 8);
  // n3 dies: the cure removes it and asks for learners, which never catch
  // up (the primaries do not answer), so partitions stay short.
  const std::set<NodeId> alive = {kN1, kN2, kN4};
  ASSERT_TRUE(RunUntil(
      [&] {
        for (Gpid gpid : h_->core().Partitions()) {
          if (meta_internal::IsMember(Config(gpid), kN3)) return false;
        }
        return true;
      },
      alive, /*answer=*/false));
  EXPECT_TRUE(MetaHarness::StatusOf(
                  h_->AdminAndSettle(SetLevel(proto::META_LEVEL_LIVELY)))
                  .ok());
  for (int i = 0; i < 100; ++i) Step(alive, /*answer=*/false);
  const MetaStats& stats = h_->core().stats();
  EXPECT_GE(stats.balancer_rounds_unbalanceable, 4u);
  EXPECT_EQ(stats.balancer_rounds, 0u);
  EXPECT_EQ(stats.moves_started, 0u);
}

// Primaries piled on n1 by hand need four role swaps; a round proposes at
// most max_moves_per_round of them, and the next round waits for them.
TEST_F(MetaCoreBalanceTest, RoundsAreBoundedAndWaitForTheMovesInProgress) {
  MetaOptions options = Options(proto::META_LEVEL_STEADY);
  options.balancer.max_moves_per_round = 2;
  options.move_step_timeout_ns = 60 * kSecondNs;
  h_ = std::make_unique<MetaHarness>(options);
  ASSERT_TRUE(h_->Start().ok());
  h_->BeaconAll(kFour);
  ASSERT_TRUE(h_->CreateTable("t1", 8, 3).ok());
  h_->Drain();
  h_->Settle();
  Heal(*h_, kFour);
  h_->TakeSent();
  int on_n1 = 0;
  for (Gpid gpid : h_->core().Partitions()) {
    const proto::PartitionConfig& config = Config(gpid);
    if (meta_internal::IsSecondary(config, kN1)) {
      ASSERT_TRUE(AdminStatus(Balance(proto::BalanceRequest::MOVE_PRIMARY,
                                      NodeId{config.primary()}, kN1, gpid))
                      .ok());
      ASSERT_TRUE(RunUntil([&] { return !h_->core().MoveInProgress(gpid); }));
    }
    on_n1 += Config(gpid).primary() == kN1.value ? 1 : 0;
  }
  ASSERT_EQ(on_n1, 6);
  EXPECT_TRUE(MetaHarness::StatusOf(
                  h_->AdminAndSettle(SetLevel(proto::META_LEVEL_LIVELY)))
                  .ok());
  // Nobody answers: the first round's moves wait, and no round starts.
  ASSERT_TRUE(RunUntil([&] { return h_->core().stats().balancer_rounds > 0; },
                       kFour, /*answer=*/false));
  for (int i = 0; i < 100; ++i) {
    Step(kFour, /*answer=*/false);
    ASSERT_EQ(h_->core().MovesInProgress(), 2);
  }
  EXPECT_EQ(h_->core().stats().balancer_rounds, 1u);
  for (Gpid gpid : h_->core().Partitions()) {
    if (auto move = h_->core().MoveInProgress(gpid)) {
      EXPECT_EQ(move->kind, balance::MoveKind::kMovePrimary);
      EXPECT_EQ(move->from, kN1);
    }
  }
  // An operator's move waits too.
  Gpid idle{1, 0};
  while (h_->core().MoveInProgress(idle)) ++idle.partition_index;
  const proto::PartitionConfig& config = Config(idle);
  const absl::Status busy = AdminStatus(
      Balance(proto::BalanceRequest::MOVE_PRIMARY, NodeId{config.primary()},
              NodeId{config.secondaries(0)}, idle));
  EXPECT_EQ(ToErrorCode(busy), ErrorCode::kBusy) << busy;
  // Answered, the rounds go on to the end.
  ASSERT_TRUE(RunUntil([&] {
    return h_->core().MovesInProgress() == 0 &&
           balance::IsBalanced(h_->core().BalanceSnapshot());
  }));
  EXPECT_GE(h_->core().stats().balancer_rounds, 2u);
}

// --- Carrying moves out ---------------------------------------------------

TEST_F(MetaCoreBalanceTest, CopySecondaryPersistsEachStepBeforeAnyoneHears) {
  StartSkewed(proto::META_LEVEL_STEADY, 1);
  const proto::PartitionConfig before = Config();
  const NodeId primary{before.primary()};
  const NodeId from{before.secondaries(0)};
  const int64_t b = before.ballot();
  // Step 1: max_replica_count goes to 4 under a new ballot.
  EXPECT_TRUE(
      AdminStatus(Balance(proto::BalanceRequest::COPY_SECONDARY, from, kN4))
          .ok());
  EXPECT_TRUE(h_->core().HasChangeInFlight(kP0));
  EXPECT_TRUE(h_->Proposals().empty());
  EXPECT_EQ(Config().ballot(), b);
  SettleChecked();
  EXPECT_EQ(Config().ballot(), b + 1);
  EXPECT_EQ(Config().max_replica_count(), 4);
  EXPECT_TRUE(meta_internal::SameMembers(Config(), before));
  // The members hear of it, and the primary is asked for a learner on n4.
  const auto learners = ProposalsOf(*h_, proto::CONFIG_ADD_SECONDARY);
  ASSERT_EQ(learners.size(), 1u);
  EXPECT_EQ(learners[0].first, primary);
  EXPECT_EQ(learners[0].second.node(), kN4.value);
  EXPECT_EQ(learners[0].second.config().ballot(), b + 1);
  EXPECT_EQ(ProposalsOf(*h_, proto::CONFIG_SET_REPLICA_COUNT).size(), 3u);
  h_->TakeSent();
  announced_ = 0;
  // Asked again while the learner learns.
  for (int i = 0; i < 6; ++i) Step(kFour, /*answer=*/false);
  EXPECT_GE(ProposalsOf(*h_, proto::CONFIG_ADD_SECONDARY).size(), 1u);
  h_->TakeSent();
  announced_ = 0;
  // Step 2: the learner caught up; the primary proposes it.
  const ReplyToken upgrade = h_->ConfigUpdate(
      primary,
      MakeUpdate(Config(), proto::CONFIG_UPGRADE_TO_SECONDARY, kN4, primary));
  EXPECT_FALSE(h_->ResponseFor<proto::ConfigUpdateResponse>(upgrade));
  ASSERT_TRUE(h_->executor().RunOne());  // The upgrade's write lands.
  Check();
  auto answer = h_->ResponseFor<proto::ConfigUpdateResponse>(upgrade);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->error(), 0);
  EXPECT_EQ(answer->config().ballot(), b + 2);
  EXPECT_EQ(meta_internal::MemberCount(answer->config()), 4);
  // Step 3, at once: `from` goes, and max_replica_count back to 3. Not
  // announced before its write lands.
  EXPECT_TRUE(h_->core().HasChangeInFlight(kP0));
  EXPECT_TRUE(ProposalsOf(*h_, proto::CONFIG_REMOVE).empty());
  SettleChecked();
  const proto::PartitionConfig& after = Config();
  EXPECT_EQ(after.ballot(), b + 3);
  EXPECT_EQ(after.max_replica_count(), 3);
  EXPECT_EQ(meta_internal::MemberCount(after), 3);
  EXPECT_TRUE(meta_internal::IsSecondary(after, kN4));
  EXPECT_FALSE(meta_internal::IsMember(after, from));
  EXPECT_EQ(after.last_drops(after.last_drops_size() - 1), from.value);
  EXPECT_EQ(ProposalsOf(*h_, proto::CONFIG_REMOVE).size(), 3u);
  EXPECT_FALSE(h_->core().MoveInProgress(kP0));
  const MetaStats& stats = h_->core().stats();
  EXPECT_EQ(stats.moves_finished, 1u);
  EXPECT_EQ(stats.move_steps, 3u);
  EXPECT_EQ(stats.manual_balances, 1u);
}

TEST_F(MetaCoreBalanceTest, MovePrimaryWaitsForThePrimarysOwnRequest) {
  StartSkewed(proto::META_LEVEL_STEADY, 1);
  const proto::PartitionConfig before = Config();
  ASSERT_EQ(before.primary(), kN1.value);
  ASSERT_TRUE(meta_internal::IsSecondary(before, kN2) &&
              meta_internal::IsSecondary(before, kN3));
  const uint64_t writes = h_->writes_issued();
  // n3, not n2 whom the guardian would pick on its own (a tie, lowest id).
  EXPECT_TRUE(
      AdminStatus(Balance(proto::BalanceRequest::MOVE_PRIMARY, kN1, kN3)).ok());
  auto asks = ProposalsOf(*h_, proto::CONFIG_DOWNGRADE_TO_SECONDARY);
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0].first, kN1);
  EXPECT_EQ(asks[0].second.node(), kN1.value);
  EXPECT_EQ(asks[0].second.config().ballot(), before.ballot());
  // The meta server changes nothing by itself, and asks again.
  for (int i = 0; i < 20; ++i) Step(kFour, /*answer=*/false);
  EXPECT_EQ(h_->writes_issued(), writes);
  EXPECT_TRUE(meta_internal::SameConfig(Config(), before));
  EXPECT_GE(ProposalsOf(*h_, proto::CONFIG_DOWNGRADE_TO_SECONDARY).size(), 4u);
  h_->TakeSent();
  announced_ = 0;
  // The primary's own request: persisted, then answered.
  const ReplyToken token = h_->ConfigUpdate(
      kN1,
      MakeUpdate(Config(), proto::CONFIG_DOWNGRADE_TO_SECONDARY, kN1, kN1));
  SettleChecked();
  auto answer = h_->ResponseFor<proto::ConfigUpdateResponse>(token);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->error(), 0);
  EXPECT_EQ(Config().primary(), 0u);
  EXPECT_EQ(Config().ballot(), before.ballot() + 1);
  // The guardian upgrades the move's `to`.
  Step(kFour, /*answer=*/false);
  EXPECT_EQ(Config().primary(), kN3.value);
  EXPECT_EQ(Config().ballot(), before.ballot() + 2);
  EXPECT_TRUE(meta_internal::IsSecondary(Config(), kN1));
  EXPECT_FALSE(h_->core().MoveInProgress(kP0));
  EXPECT_EQ(h_->core().stats().moves_finished, 1u);
  EXPECT_EQ(h_->core().stats().move_steps, 2u);
}

TEST_F(MetaCoreBalanceTest, PrimaryThatNeverStepsDownKeepsItsPartition) {
  StartSkewed(proto::META_LEVEL_STEADY, 1);
  const proto::PartitionConfig before = Config();
  EXPECT_TRUE(
      AdminStatus(Balance(proto::BalanceRequest::MOVE_PRIMARY, kN1, kN2)).ok());
  ASSERT_TRUE(RunUntil([&] { return !h_->core().MoveInProgress(kP0); }, kFour,
                       /*answer=*/false, 10 * kSecondNs));
  EXPECT_EQ(h_->core().stats().moves_abandoned, 1u);
  EXPECT_TRUE(meta_internal::SameConfig(Config(), before));
  h_->TakeSent();
  for (int i = 0; i < 20; ++i) Step(kFour, /*answer=*/false);
  EXPECT_TRUE(ProposalsOf(*h_, proto::CONFIG_DOWNGRADE_TO_SECONDARY).empty())
      << "no longer asked";
}

TEST_F(MetaCoreBalanceTest, CopyPrimaryEndsWithTheNewPrimaryAndNoExtraMember) {
  StartSkewed(proto::META_LEVEL_STEADY, 1);
  EXPECT_TRUE(
      AdminStatus(Balance(proto::BalanceRequest::COPY_PRIMARY, kN1, kN4)).ok());
  ASSERT_TRUE(RunUntil([&] { return !h_->core().MoveInProgress(kP0); }));
  const proto::PartitionConfig& after = Config();
  EXPECT_EQ(after.primary(), kN4.value);
  EXPECT_EQ(meta_internal::MemberCount(after), 3);
  EXPECT_EQ(after.max_replica_count(), 3);
  EXPECT_FALSE(meta_internal::IsMember(after, kN1));
  const MetaStats& stats = h_->core().stats();
  EXPECT_EQ(stats.moves_finished, 1u);
  EXPECT_EQ(stats.move_steps, 5u);
}

// Moves here wait longer than the grace: the death, not a timeout, ends
// them.
MetaOptions Patient() {
  MetaOptions options = Options(proto::META_LEVEL_STEADY);
  options.move_step_timeout_ns = 60 * kSecondNs;
  return options;
}

TEST_F(MetaCoreBalanceTest,
       NodeDeathMidMoveAbortsItAndTheCureRestoresTheCount) {
  StartSkewed(1, Patient());
  EXPECT_TRUE(
      AdminStatus(Balance(proto::BalanceRequest::COPY_SECONDARY, kN2, kN4))
          .ok());
  SettleChecked();
  ASSERT_EQ(Config().max_replica_count(), 4);
  // n3, a member the move does not touch, dies while n4 learns.
  ASSERT_TRUE(RunUntil([&] { return !h_->core().MoveInProgress(kP0); },
                       {kN1, kN2, kN4}, /*answer=*/false, 10 * kSecondNs));
  EXPECT_EQ(h_->core().stats().moves_abandoned, 1u);
  EXPECT_FALSE(meta_internal::IsMember(Config(), kN3));
  // The cure lowers max_replica_count back to 3 and heals with n4.
  ASSERT_TRUE(
      RunUntil([&] { return meta_internal::MemberCount(Config()) == 3; },
               {kN1, kN2, kN4}));
  EXPECT_EQ(Config().max_replica_count(), 3);
  EXPECT_TRUE(meta_internal::IsMember(Config(), kN4));
  EXPECT_EQ(h_->core().stats().moves_finished, 0u);
}

TEST_F(MetaCoreBalanceTest, DeathOfTheMovingPrimaryAbortsTheCopy) {
  StartSkewed(1, Patient());
  EXPECT_TRUE(
      AdminStatus(Balance(proto::BalanceRequest::COPY_PRIMARY, kN1, kN4)).ok());
  // The learner joins; n1, asked to step down, never does and dies.
  ASSERT_TRUE(
      RunUntil([&] { return meta_internal::MemberCount(Config()) == 4; }));
  ASSERT_TRUE(h_->core().MoveInProgress(kP0));
  ASSERT_TRUE(RunUntil([&] { return !h_->core().MoveInProgress(kP0); },
                       {kN2, kN3, kN4}, /*answer=*/false, 10 * kSecondNs));
  EXPECT_EQ(h_->core().stats().moves_abandoned, 1u);
  // n1 goes as a dead primary; a secondary takes over; 3 members again.
  ASSERT_TRUE(RunUntil(
      [&] {
        return Config().primary() != 0 &&
               meta_internal::MemberCount(Config()) == 3 &&
               Config().max_replica_count() == 3;
      },
      {kN2, kN3, kN4}));
  EXPECT_FALSE(meta_internal::IsMember(Config(), kN1));
}

// A copy abandoned after its learner joined leaves four members: guardian
// rule 6 removes the secondary on the busiest node.
TEST_F(MetaCoreBalanceTest, AbandonedCopyHasItsExtraMemberRemovedByTheCure) {
  StartSkewed(proto::META_LEVEL_STEADY, 1);
  EXPECT_TRUE(
      AdminStatus(Balance(proto::BalanceRequest::COPY_PRIMARY, kN1, kN4)).ok());
  ASSERT_TRUE(
      RunUntil([&] { return meta_internal::MemberCount(Config()) == 4; }));
  // n1 never steps down: the move times out and the cure removes one.
  ASSERT_TRUE(RunUntil(
      [&] {
        return !h_->core().MoveInProgress(kP0) &&
               meta_internal::MemberCount(Config()) == 3;
      },
      kFour, /*answer=*/false, 10 * kSecondNs));
  EXPECT_EQ(h_->core().stats().moves_abandoned, 1u);
  EXPECT_EQ(Config().primary(), kN1.value) << "the primary was never demoted";
  EXPECT_EQ(Config().max_replica_count(), 3);
}

TEST_F(MetaCoreBalanceTest, RestartMidCopyLeavesTheCureToRestoreTheCount) {
  StartSkewed(proto::META_LEVEL_STEADY, 1);
  EXPECT_TRUE(
      AdminStatus(Balance(proto::BalanceRequest::COPY_SECONDARY, kN2, kN4))
          .ok());
  SettleChecked();
  ASSERT_EQ(Config().max_replica_count(), 4);
  ASSERT_TRUE(h_->Start().ok());  // The move is forgotten.
  persisted_.clear();
  announced_ = 0;
  h_->TakeSent();
  EXPECT_FALSE(h_->core().MoveInProgress(kP0));
  ASSERT_TRUE(RunUntil([&] { return Config().max_replica_count() == 3; }));
  EXPECT_EQ(meta_internal::MemberCount(Config()), 3);
}

// --- Operators ---------------------------------------------------------------

TEST_F(MetaCoreBalanceTest, ManualBalanceIsRefusedUnlessItApplies) {
  StartSkewed(proto::META_LEVEL_STEADY, 2);
  auto refused = [&](const proto::AdminRequest& request, ErrorCode code,
                     const std::string& words) {
    const absl::Status status = AdminStatus(request);
    EXPECT_EQ(ToErrorCode(status), code) << status;
    EXPECT_NE(status.message().find(words), absl::string_view::npos) << status;
  };
  using K = proto::BalanceRequest;
  refused(Balance(K::KIND_INVALID, kN1, kN2), ErrorCode::kInvalidArgument,
          "move_pri, copy_pri or copy_sec");
  refused(Balance(K::MOVE_PRIMARY, kN1, kN2, Gpid{1, 7}),
          ErrorCode::kObjectNotFound, "no partition");
  refused(Balance(K::MOVE_PRIMARY, kN2, kN3), ErrorCode::kInvalidArgument,
          "does not apply to the current configuration");
  refused(Balance(K::MOVE_PRIMARY, kN1, kN4), ErrorCode::kInvalidArgument,
          "does not apply");
  refused(Balance(K::COPY_SECONDARY, kN2, kN3), ErrorCode::kInvalidArgument,
          "does not apply");
  refused(Balance(K::COPY_SECONDARY, kN1, kN4), ErrorCode::kInvalidArgument,
          "does not apply");
  refused(Balance(K::COPY_PRIMARY, kN1, NodeId{9}), ErrorCode::kInvalidArgument,
          "n9 is not alive");
  EXPECT_EQ(h_->core().stats().manual_refused, 7u);
  EXPECT_EQ(h_->core().MovesInProgress(), 0);
  // One move per partition.
  EXPECT_TRUE(AdminStatus(Balance(K::MOVE_PRIMARY, kN1, kN2)).ok());
  refused(Balance(K::COPY_SECONDARY, kN3, kN4), ErrorCode::kBusy,
          "a move is in progress");
  // Not while the meta server is below steady.
  EXPECT_TRUE(MetaHarness::StatusOf(
                  h_->AdminAndSettle(SetLevel(proto::META_LEVEL_FREEZED)))
                  .ok());
  const proto::PartitionConfig& other = Config(Gpid{1, 1});
  refused(Balance(K::MOVE_PRIMARY, NodeId{other.primary()},
                  NodeId{other.secondaries(0)}, Gpid{1, 1}),
          ErrorCode::kOperationDisabled, "steady or lively");
}

TEST_F(MetaCoreBalanceTest, ManualBalanceWaitsForAHealthyPartition) {
  StartSkewed(proto::META_LEVEL_STEADY, 1);
  // n3 is dead and removed: two members of three.
  ASSERT_TRUE(RunUntil([&] { return !meta_internal::IsMember(Config(), kN3); },
                       {kN1, kN2, kN4}, /*answer=*/false));
  const absl::Status status =
      AdminStatus(Balance(proto::BalanceRequest::MOVE_PRIMARY, kN1, kN2));
  EXPECT_EQ(ToErrorCode(status), ErrorCode::kTryAgain) << status;
  EXPECT_NE(status.message().find("not healthy"), absl::string_view::npos);
}

TEST_F(MetaCoreBalanceTest, ManualProposeDoesOnlyWhatIsSafe) {
  StartSkewed(proto::META_LEVEL_STEADY, 1);
  auto refused = [&](const proto::AdminRequest& request,
                     const std::string& words) {
    const absl::Status status = AdminStatus(request);
    EXPECT_EQ(ToErrorCode(status), ErrorCode::kInvalidArgument) << status;
    EXPECT_NE(status.message().find(words), absl::string_view::npos) << status;
  };
  const proto::PartitionConfig before = Config();
  refused(Propose(proto::PROPOSE_ASSIGN_PRIMARY, kN4),
          "assign_primary is refused");
  refused(Propose(proto::PROPOSE_UPGRADE_TO_SECONDARY, kN4),
          "only the primary proposes a learner");
  refused(Propose(proto::PROPOSE_UPGRADE_TO_PRIMARY, kN2),
          "the partition has a primary");
  refused(Propose(proto::PROPOSE_DOWNGRADE_TO_INACTIVE, kN1),
          "never removes a live primary");
  refused(Propose(proto::PROPOSE_REMOVE, kN1), "never removes a live primary");
  refused(Propose(proto::PROPOSE_REMOVE, kN4), "needs a secondary");
  refused(Propose(proto::PROPOSE_ADD_SECONDARY, kN4),
          "max_replica_count members");
  refused(Propose(proto::PROPOSE_DOWNGRADE_TO_SECONDARY, kN2),
          "needs the alive primary");
  refused(Propose(proto::PROPOSE_REMOVE, kN2, /*target=*/kN3),
          "it goes to n1, not n3");
  refused(Propose(proto::PROPOSE_INVALID, kN2), "not a proposal type");
  EXPECT_TRUE(meta_internal::SameConfig(Config(), before));
  EXPECT_EQ(h_->core().stats().manual_refused, 10u);

  // downgrade_to_secondary asks the primary, and is answered at once.
  EXPECT_TRUE(
      AdminStatus(Propose(proto::PROPOSE_DOWNGRADE_TO_SECONDARY, kN1, kN1))
          .ok());
  auto asks = ProposalsOf(*h_, proto::CONFIG_DOWNGRADE_TO_SECONDARY);
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_EQ(asks[0].first, kN1);
  EXPECT_TRUE(meta_internal::SameConfig(Config(), before));
  h_->TakeSent();
  // The primary steps down; before the guardian acts, the operator picks
  // the new primary: answered once persisted.
  h_->ConfigUpdate(
      kN1,
      MakeUpdate(Config(), proto::CONFIG_DOWNGRADE_TO_SECONDARY, kN1, kN1));
  h_->Settle();
  ASSERT_EQ(Config().primary(), 0u);
  const ReplyToken token =
      h_->Admin(Propose(proto::PROPOSE_UPGRADE_TO_PRIMARY, kN3));
  EXPECT_FALSE(h_->ResponseFor<proto::AdminResponse>(token));
  h_->Settle();
  auto answer = h_->ResponseFor<proto::AdminResponse>(token);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->error(), 0);
  EXPECT_EQ(Config().primary(), kN3.value);
  // remove of a secondary: persisted, then answered.
  const ReplyToken removal = h_->Admin(Propose(proto::PROPOSE_REMOVE, kN2));
  EXPECT_FALSE(h_->ResponseFor<proto::AdminResponse>(removal));
  h_->Settle();
  answer = h_->ResponseFor<proto::AdminResponse>(removal);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->error(), 0);
  EXPECT_FALSE(meta_internal::IsMember(Config(), kN2));
  // add_secondary of the short partition asks its primary.
  h_->TakeSent();
  EXPECT_TRUE(AdminStatus(Propose(proto::PROPOSE_ADD_SECONDARY, kN4)).ok());
  auto learners = ProposalsOf(*h_, proto::CONFIG_ADD_SECONDARY);
  ASSERT_EQ(learners.size(), 1u);
  EXPECT_EQ(learners[0].first, kN3);
  EXPECT_EQ(learners[0].second.node(), kN4.value);
  EXPECT_EQ(h_->core().stats().manual_proposals, 4u);
}

TEST_F(MetaCoreBalanceTest, ManualOperationsWorkAtSteadyAndLively) {
  for (proto::MetaLevel level :
       {proto::META_LEVEL_STEADY, proto::META_LEVEL_LIVELY}) {
    StartSkewed(level, 1);
    EXPECT_TRUE(
        AdminStatus(Balance(proto::BalanceRequest::COPY_SECONDARY, kN3, kN4))
            .ok())
        << proto::MetaLevel_Name(level);
    ASSERT_TRUE(RunUntil([&] { return !h_->core().MoveInProgress(kP0); }));
    EXPECT_TRUE(meta_internal::IsMember(Config(), kN4));
    EXPECT_FALSE(meta_internal::IsMember(Config(), kN3));
  }
}

}  // namespace
}  // namespace pegasus
