// A seeded random walk of a small cluster around MetaCore: nodes crash and
// come back, primaries ask for changes (well formed or not, current or
// stale), nodes report their replicas, the store fails, the meta server
// restarts. After every action the invariants hold and the properties below
// are checked; at the end, with every node up, every partition heals.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/random.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/balance/greedy_balancer.h"
#include "pegasus/meta/internal/partition_configs.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/meta/meta_test_harness.h"

namespace pegasus {
namespace {

constexpr int kNodes = 5;

class Walk {
 public:
  Walk(uint64_t seed, const MetaOptions& options)
      : random_(seed), h_(options) {}

  const MetaStats& stats() { return h_.core().stats(); }

  // "" when every property held, else the first violation.
  std::string Run(int steps) {
    PEGASUS_CHECK_OK(h_.Start());
    for (int i = 1; i <= kNodes; ++i)
      up_.insert(NodeId{static_cast<uint64_t>(i)});
    h_.BeaconAll(up_);
    PEGASUS_CHECK_OK(h_.CreateTable("t1", 4, 3));
    PEGASUS_CHECK_OK(h_.CreateTable("t2", 2, 2));
    h_.Drain();
    for (int step = 0; step < steps && violation_.empty(); ++step) {
      Snapshot();
      Act();
      Check("step " + std::to_string(step));
    }
    if (violation_.empty()) HealEverything();
    return violation_;
  }

 private:
  NodeId RandomNode() { return NodeId{1 + random_.Uniform(kNodes)}; }

  Gpid RandomPartition() {
    const std::vector<Gpid> all = h_.core().Partitions();
    return all[random_.Uniform(all.size())];
  }

  void Act() {
    const uint64_t roll = random_.Uniform(100);
    if (roll < 6) {
      up_.erase(RandomNode());
    } else if (roll < 12) {
      up_.insert(RandomNode());
    } else if (roll < 32) {
      h_.Advance(random_.UniformIn(0, 1'500) * kMsNs);
      h_.BeaconAll(up_);
    } else if (roll < 52) {
      h_.Tick();
      if (random_.Bernoulli(0.8)) h_.Settle();
    } else if (roll < 60) {
      h_.Settle();
    } else if (roll < 68) {
      Sync(RandomNode());
    } else if (roll < 85) {
      RandomUpdate();
    } else if (roll < 92) {
      AnswerProposals(h_);
      checked_ = 0;
    } else if (roll < 96) {
      fail_writes_ = !fail_writes_ && random_.Bernoulli(0.5);
      h_.store().set_fail_writes(fail_writes_);
    } else if (roll < 98) {
      PEGASUS_CHECK_OK(h_.Start());
      h_.store().set_fail_writes(fail_writes_);
      checked_ = 0;
      h_.TakeSent();
    } else {
      h_.core().CheckInvariants();
    }
  }

  // An up node reports a replica of every partition it is or was a member
  // of (as if it still had them all on disk).
  void Sync(NodeId node) {
    if (up_.count(node) == 0) return;
    std::vector<proto::ReplicaReport> reports;
    for (Gpid gpid : h_.core().Partitions()) {
      const proto::PartitionConfig& config = *h_.core().GetConfig(gpid);
      if (!meta_internal::IsMember(config, node) &&
          !meta_internal::IsDropped(config, node)) {
        continue;
      }
      proto::ReplicaReport report;
      report.set_app_id(gpid.app_id);
      report.set_partition_index(gpid.partition_index);
      report.set_ballot(config.ballot());
      reports.push_back(report);
    }
    h_.ConfigSync(node, reports);
  }

  // Mostly what a primary would ask; sometimes stale, from the wrong node,
  // or malformed.
  void RandomUpdate() {
    const Gpid gpid = RandomPartition();
    const proto::PartitionConfig& config = *h_.core().GetConfig(gpid);
    static constexpr proto::ConfigType kTypes[] = {
        proto::CONFIG_REMOVE, proto::CONFIG_DOWNGRADE_TO_INACTIVE,
        proto::CONFIG_UPGRADE_TO_SECONDARY,
        proto::CONFIG_DOWNGRADE_TO_SECONDARY,
        proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT};
    const proto::ConfigType type = kTypes[random_.Uniform(5)];
    NodeId from{config.primary()};
    if (from.value == 0 || random_.Bernoulli(0.15)) from = RandomNode();
    NodeId node = RandomNode();
    if (type == proto::CONFIG_DOWNGRADE_TO_SECONDARY ||
        type == proto::CONFIG_PRIMARY_FORCE_UPDATE_BALLOT) {
      node = from;
    }
    auto request = MakeUpdate(config, type, node, from);
    if (random_.Bernoulli(0.1)) {
      request.mutable_config()->set_ballot(config.ballot() +
                                           random_.UniformIn(-1, 2));
    }
    if (random_.Bernoulli(0.05)) request.mutable_config()->add_secondaries(0);
    if (random_.Bernoulli(0.05)) request.set_from(RandomNode().value);
    h_.ConfigUpdate(from, request);
    if (random_.Bernoulli(0.7)) h_.Settle();
  }

  void Snapshot() {
    before_.clear();
    for (Gpid gpid : h_.core().Partitions()) {
      before_[gpid] = *h_.core().GetConfig(gpid);
    }
  }

  void Fail(const std::string& what) {
    if (violation_.empty()) violation_ = what;
  }

  void Check(const std::string& where) {
    h_.core().CheckInvariants();
    RecordPersisted();
    for (Gpid gpid : h_.core().Partitions()) {
      const proto::PartitionConfig& now = *h_.core().GetConfig(gpid);
      int64_t& highest = highest_ballot_[gpid];
      if (now.ballot() < highest) Fail(where + ": ballot went down");
      highest = std::max(highest, now.ballot());
      CheckAllDeadPromotion(where, gpid, now);
    }
    CheckAnnouncements(where);
  }

  // Every configuration the store acknowledged, by partition and ballot
  // (one step may persist several of a partition); a ballot persisted twice
  // with different contents is a violation.
  void RecordPersisted() {
    const auto& acknowledged = h_.acknowledged();
    for (; recorded_ < acknowledged.size(); ++recorded_) {
      const auto& [key, value] = acknowledged[recorded_];
      if (!meta_internal::IsPartitionKey(key)) continue;
      proto::PartitionConfig config;
      PEGASUS_CHECK(config.ParseFromString(value));
      auto [it, inserted] = persisted_[meta_internal::GpidOf(config)].emplace(
          config.ballot(), value);
      if (!inserted && it->second != value) {
        Fail("ballot " + std::to_string(config.ballot()) + " of " +
             meta_internal::GpidOf(config).ToString() +
             " persisted twice, differently");
      }
    }
    for (const auto& [key, value] : h_.medium().Snapshot()) {
      if (!meta_internal::IsPartitionKey(key)) continue;
      proto::PartitionConfig config;
      PEGASUS_CHECK(config.ParseFromString(value));
      const Gpid gpid = meta_internal::GpidOf(config);
      const proto::PartitionConfig* current = h_.core().GetConfig(gpid);
      if (current == nullptr ||
          current->SerializeAsString() != config.SerializeAsString()) {
        Fail(gpid.ToString() + ": the store and the meta server disagree");
      }
    }
  }

  // A partition whose every replica died may only go to its newest drop.
  void CheckAllDeadPromotion(const std::string& where, Gpid gpid,
                             const proto::PartitionConfig& now) {
    auto it = before_.find(gpid);
    if (it == before_.end()) return;
    const proto::PartitionConfig& was = it->second;
    if (meta_internal::MemberCount(was) != 0 || was.last_drops_size() == 0 ||
        now.primary() == 0) {
      return;
    }
    const uint64_t newest = was.last_drops(was.last_drops_size() - 1);
    if (now.primary() != newest) {
      Fail(where + ": " + gpid.ToString() +
           " lost every replica and went to n" + std::to_string(now.primary()) +
           ", not its newest drop n" + std::to_string(newest));
    }
  }

  // Nobody hears of a configuration before it is persisted.
  void CheckAnnouncements(const std::string& where) {
    const std::vector<SentMessage>& sent = h_.sent();
    for (; checked_ < sent.size(); ++checked_) {
      const proto::PartitionConfig* config = nullptr;
      if (const auto* p =
              std::get_if<proto::ConfigProposal>(&sent[checked_].out.message)) {
        config = &p->config();
      } else if (const auto* r = std::get_if<proto::ConfigUpdateResponse>(
                     &sent[checked_].out.message)) {
        if (r->error() == 0) config = &r->config();
      }
      if (config == nullptr) continue;
      const auto& history = persisted_[meta_internal::GpidOf(*config)];
      auto it = history.find(config->ballot());
      if (it == history.end() || it->second != config->SerializeAsString()) {
        Fail(where + ": announced a configuration that was never persisted: " +
             config->ShortDebugString());
      }
    }
    if (sent.size() > 10'000) {
      h_.TakeSent();
      checked_ = 0;
    }
  }

  // Liveness: with every node up and reporting, and the store working, every
  // partition gets a primary and its full replica count; at level lively,
  // the balancer finishes its moves and leaves every table balanced.
  void HealEverything() {
    fail_writes_ = false;
    h_.store().set_fail_writes(false);
    for (int i = 1; i <= kNodes; ++i)
      up_.insert(NodeId{static_cast<uint64_t>(i)});
    const bool lively = h_.core().level() == proto::META_LEVEL_LIVELY;
    auto settled = [&] {
      return !lively || (h_.core().MovesInProgress() == 0 &&
                         balance::IsBalanced(h_.core().BalanceSnapshot()));
    };
    for (int round = 0;
         (round < 100 || (!settled() && round < 1'000)) && violation_.empty();
         ++round) {
      Snapshot();
      h_.Advance(100 * kMsNs);
      h_.BeaconAll(up_);
      for (NodeId node : up_) Sync(node);
      h_.TickAndSettle();
      AnswerProposals(h_);
      checked_ = 0;
      Check("heal round " + std::to_string(round));
    }
    if (!settled()) Fail("after healing, the tables are not balanced");
    for (Gpid gpid : h_.core().Partitions()) {
      const proto::PartitionConfig& config = *h_.core().GetConfig(gpid);
      if (config.primary() == 0 ||
          meta_internal::MemberCount(config) != config.max_replica_count()) {
        Fail("after healing, " + gpid.ToString() +
             " is not whole: " + config.ShortDebugString());
      }
    }
  }

  SeededRandom random_;
  MetaHarness h_;
  std::set<NodeId> up_;
  bool fail_writes_ = false;
  size_t checked_ = 0;
  size_t recorded_ = 0;
  std::map<Gpid, proto::PartitionConfig> before_;
  std::map<Gpid, int64_t> highest_ballot_;
  std::map<Gpid, std::map<int64_t, std::string>> persisted_;
  std::string violation_;
};

constexpr int kSteps = 1'500;

TEST(MetaCorePropertyTest, InvariantsHoldThroughARandomWalk) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const std::string violation = Walk(seed, NeverFreeze()).Run(kSteps);
    EXPECT_EQ(violation, "") << "replay: Walk(seed=" << seed
                             << ", NeverFreeze()).Run(" << kSteps << ")";
  }
}

// The same walk with the balancer running (level lively, a round every
// second): its moves keep every property, and it balances in the end.
TEST(MetaCorePropertyTest, InvariantsHoldWhileTheBalancerRuns) {
  MetaOptions options = NeverFreeze();
  options.level_on_start = proto::META_LEVEL_LIVELY;
  options.balancer_interval_ns = kSecondNs;
  options.move_step_timeout_ns = 3 * kSecondNs;
  options.move_retry_ns = 300 * kMsNs;
  uint64_t moves = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Walk walk(seed, options);
    const std::string violation = walk.Run(kSteps);
    EXPECT_EQ(violation, "") << "replay: Walk(seed=" << seed
                             << ", lively options).Run(" << kSteps << ")";
    moves += walk.stats().moves_finished;
  }
  EXPECT_GT(moves, 20u) << "the balancer moved little";
}

// The walk is a real check: with the planted bug it finds a partition that
// went to an older dropped node.
TEST(MetaCorePropertyTest, RandomWalkCatchesPlantedPromoteRemoved) {
  int caught = 0;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const std::string violation =
        Walk(seed, NeverFreeze({.planted_promote_removed = true})).Run(kSteps);
    if (violation.find("newest drop") != std::string::npos) ++caught;
  }
  EXPECT_GE(caught, 5) << "of 10 seeds";
}

}  // namespace
}  // namespace pegasus
