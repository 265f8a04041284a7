#include "testing/sim/network.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "testing/sim/world.h"

namespace pegasus::sim {
namespace {

// Admits every owned event at once, and remembers whom they belonged to.
class AdmitAllGate final : public EventGate {
 public:
  std::optional<int64_t> Admit(const EventOwner& owner,
                               int64_t now_ns) override {
    owners.push_back(owner.process);
    return now_ns;
  }
  void BeginEvent(const EventOwner&) override {}
  void EndEvent(const EventOwner&) override {}

  std::vector<int> owners;
};

struct Delivery {
  int from;
  int to;
  std::string message;
  int64_t time_ns;
  friend bool operator==(const Delivery&, const Delivery&) = default;
};

void PrintTo(const Delivery& d, std::ostream* os) {
  *os << d.from << "->" << d.to << " '" << d.message << "' @" << d.time_ns;
}

class SimNetworkTest : public testing::Test {
 protected:
  // Fixed latency unless a test asks otherwise, so arrival times are exact.
  SimNetworkTest() { Reset(Options(/*min=*/1000, /*mean=*/0), 1); }

  static NetworkOptions Options(int64_t min_ns, int64_t mean_ns) {
    NetworkOptions options;
    options.latency_min_ns = min_ns;
    options.latency_mean_ns = mean_ns;
    return options;
  }

  void Reset(NetworkOptions options, uint64_t seed) {
    network_.reset();
    world_ = std::make_unique<World>(seed);
    world_->set_gate(&gate_);
    deliveries_.clear();
    network_ = std::make_unique<SimNetwork>(
        world_.get(), options, world_->NewRandom("network"),
        [this](int from, int to, const std::string& message) {
          deliveries_.push_back(Delivery{from, to, message, world_->now_ns()});
          return accept_;
        });
  }

  void RunAll() {
    while (world_->Step()) {
    }
  }

  std::vector<std::string> Messages() const {
    std::vector<std::string> messages;
    for (const Delivery& d : deliveries_) messages.push_back(d.message);
    return messages;
  }

  // Sends `count` messages 0→1, one per nanosecond.
  void SendBurst(int count) {
    for (int i = 0; i < count; ++i) network_->Send(0, 1, std::to_string(i), i);
  }

  // Sends one message on every link among `nodes` and returns the links that
  // delivered.
  std::set<std::pair<int, int>> DeliveredLinks(int nodes) {
    for (int from = 0; from < nodes; ++from) {
      for (int to = 0; to < nodes; ++to) {
        if (from != to) network_->Send(from, to, "ping", world_->now_ns());
      }
    }
    RunAll();
    std::set<std::pair<int, int>> links;
    for (const Delivery& d : deliveries_) links.insert({d.from, d.to});
    return links;
  }

  AdmitAllGate gate_;
  std::unique_ptr<World> world_;
  std::unique_ptr<SimNetwork> network_;
  std::vector<Delivery> deliveries_;
  bool accept_ = true;
};

TEST_F(SimNetworkTest, MessageWithoutJitterArrivesAfterExactlyTheMinimum) {
  network_->Send(0, 1, "hello", 250);
  RunAll();
  EXPECT_EQ(deliveries_, (std::vector<Delivery>{{0, 1, "hello", 1250}}));
  EXPECT_EQ(network_->stats().sent, 1u);
  EXPECT_EQ(network_->stats().delivered, 1u);
}

TEST_F(SimNetworkTest, MessagesArriveNoSoonerThanTheMinimumLatency) {
  Reset(Options(1000, 5000), 7);
  for (int i = 0; i < 50; ++i) {
    network_->Send(0, 1, std::to_string(i), 10 * i);
  }
  RunAll();
  ASSERT_EQ(deliveries_.size(), 50u);
  bool some_later = false;
  for (const Delivery& d : deliveries_) {
    const int64_t depart = 10 * std::stoi(d.message);
    EXPECT_GE(d.time_ns, depart + 1000) << d.message;
    if (d.time_ns > depart + 1000) some_later = true;
  }
  EXPECT_TRUE(some_later) << "the exponential part never added anything";
}

TEST_F(SimNetworkTest, DeliveriesAreEventsOwnedByTheDestination) {
  network_->Send(0, 3, "a", 0);
  network_->Send(2, 1, "b", 0);
  RunAll();
  EXPECT_EQ(gate_.owners, (std::vector<int>{3, 1}));
}

std::vector<std::string> InSendOrder(int count) {
  std::vector<std::string> messages;
  for (int i = 0; i < count; ++i) messages.push_back(std::to_string(i));
  return messages;
}

TEST_F(SimNetworkTest, LinkWithoutReorderingDeliversInSendOrder) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    Reset(Options(0, 1'000'000), seed);
    SendBurst(30);
    RunAll();
    EXPECT_EQ(Messages(), InSendOrder(30)) << "seed " << seed;
  }
}

TEST_F(SimNetworkTest, LinkWithReorderingLetsLaterMessagesOvertake) {
  NetworkOptions options = Options(0, 1'000'000);
  options.reorder = true;
  Reset(options, 1);
  SendBurst(30);
  RunAll();
  ASSERT_EQ(deliveries_.size(), 30u);
  EXPECT_NE(Messages(), InSendOrder(30));
}

TEST_F(SimNetworkTest, InOrderHoldsPerLinkOnly) {
  // Link 0→1 is slow for its first message; link 2→1 is not held behind it.
  Reset(Options(1000, 0), 1);
  network_->Send(0, 1, "slow", 5000);
  network_->Send(2, 1, "other_link", 0);
  RunAll();
  EXPECT_EQ(Messages(), (std::vector<std::string>{"other_link", "slow"}));
}

TEST_F(SimNetworkTest, LossProbabilityOneDropsEverythingAndCountsIt) {
  NetworkOptions options = Options(1000, 0);
  options.loss_probability = 1;
  Reset(options, 1);
  for (int i = 0; i < 10; ++i) network_->Send(0, 1, "m", 0);
  RunAll();
  EXPECT_TRUE(deliveries_.empty());
  EXPECT_EQ(network_->stats().sent, 10u);
  EXPECT_EQ(network_->stats().lost, 10u);
  EXPECT_EQ(network_->stats().delivered, 0u);
}

TEST_F(SimNetworkTest, DuplicateProbabilityOneDeliversEveryMessageTwice) {
  NetworkOptions options = Options(1000, 0);
  options.duplicate_probability = 1;
  Reset(options, 1);
  network_->Send(0, 1, "a", 0);
  network_->Send(0, 1, "b", 10);
  RunAll();
  EXPECT_EQ(Messages(), (std::vector<std::string>{"a", "a", "b", "b"}));
  EXPECT_EQ(network_->stats().sent, 2u);
  EXPECT_EQ(network_->stats().duplicated, 2u);
  EXPECT_EQ(network_->stats().delivered, 4u);
}

TEST_F(SimNetworkTest, CutBlocksOneDirectionOnly) {
  network_->Cut(0, 1);
  EXPECT_TRUE(network_->IsCut(0, 1));
  EXPECT_FALSE(network_->IsCut(1, 0));
  network_->Send(0, 1, "blocked", 0);
  network_->Send(1, 0, "allowed", 0);
  RunAll();
  EXPECT_EQ(Messages(), (std::vector<std::string>{"allowed"}));
  EXPECT_EQ(network_->stats().cut, 1u);
  EXPECT_FALSE(network_->healthy());
}

TEST_F(SimNetworkTest, CutMadeWhileAMessageIsInFlightDropsItOnArrival) {
  network_->Send(0, 1, "in_flight", 0);  // Arrives at 1000.
  world_->RunUntil(500);
  network_->Cut(0, 1);
  RunAll();
  EXPECT_TRUE(deliveries_.empty());
  EXPECT_EQ(network_->stats().cut, 1u);
}

TEST_F(SimNetworkTest, CutHealedBeforeArrivalLetsTheMessageThrough) {
  network_->Send(0, 1, "in_flight", 0);
  world_->RunUntil(500);
  network_->Cut(0, 1);
  network_->Heal();
  RunAll();
  EXPECT_EQ(Messages(), (std::vector<std::string>{"in_flight"}));
}

TEST_F(SimNetworkTest, SplitCutsBetweenGroupsBothWaysButNotInsideAGroup) {
  network_->Split({0, 1}, {2, 3});
  const std::set<std::pair<int, int>> delivered = DeliveredLinks(4);
  EXPECT_EQ(delivered,
            (std::set<std::pair<int, int>>{{0, 1}, {1, 0}, {2, 3}, {3, 2}}));
  EXPECT_EQ(network_->stats().cut, 8u);
}

TEST_F(SimNetworkTest, IsolateCutsOneNodeFromEveryOtherBothWays) {
  network_->Isolate(1, {0, 1, 2});
  EXPECT_FALSE(network_->IsCut(1, 1));
  const std::set<std::pair<int, int>> delivered = DeliveredLinks(3);
  EXPECT_EQ(delivered, (std::set<std::pair<int, int>>{{0, 2}, {2, 0}}));
}

TEST_F(SimNetworkTest, ClogHoldsMessagesUntilItEndsThenDelivers) {
  network_->Clog(0, 1, 5000);
  network_->Send(0, 1, "held", 0);
  network_->Send(1, 0, "other_way", 0);
  world_->RunUntil(4999);
  EXPECT_EQ(Messages(), (std::vector<std::string>{"other_way"}));
  RunAll();
  ASSERT_EQ(deliveries_.size(), 2u);
  EXPECT_EQ(deliveries_[1], (Delivery{0, 1, "held", 5000}));
}

TEST_F(SimNetworkTest, ClogDoesNotDelayMessagesThatWouldArriveAfterIt) {
  network_->Clog(0, 1, 5000);
  network_->Send(0, 1, "late_anyway", 4500);
  RunAll();
  EXPECT_EQ(deliveries_, (std::vector<Delivery>{{0, 1, "late_anyway", 5500}}));
}

TEST_F(SimNetworkTest, ShorterClogDoesNotShortenALongerOne) {
  network_->Clog(0, 1, 5000);
  network_->Clog(0, 1, 2000);
  network_->Send(0, 1, "held", 0);
  RunAll();
  EXPECT_EQ(deliveries_, (std::vector<Delivery>{{0, 1, "held", 5000}}));
}

TEST_F(SimNetworkTest, HealRemovesCutsAndClogs) {
  network_->Split({0}, {1});
  network_->Clog(2, 3, 1'000'000);
  ASSERT_FALSE(network_->healthy());
  network_->Heal();
  EXPECT_TRUE(network_->healthy());
  EXPECT_FALSE(network_->IsCut(0, 1));
  network_->Send(0, 1, "a", 0);
  network_->Send(2, 3, "b", 0);
  RunAll();
  EXPECT_EQ(deliveries_,
            (std::vector<Delivery>{{0, 1, "a", 1000}, {2, 3, "b", 1000}}));
}

// A heal ends a clog early: what it held arrives at once, in order, and
// what is sent after arrives after it.
TEST_F(SimNetworkTest, HealReleasesWhatAClogHolds) {
  network_->Clog(0, 1, 1'000'000);
  network_->Send(0, 1, "held", 0);
  network_->Send(0, 1, "held_too", 500);
  world_->RunUntil(2000);
  EXPECT_TRUE(deliveries_.empty());
  network_->Heal();
  network_->Send(0, 1, "after", 2000);
  RunAll();
  EXPECT_EQ(deliveries_, (std::vector<Delivery>{{0, 1, "held", 2000},
                                                {0, 1, "held_too", 2000},
                                                {0, 1, "after", 3000}}));
}

// A message that would arrive after the clog ends still waits behind those
// the clog holds, which arrive at its end.
TEST_F(SimNetworkTest, ClogKeepsTheLinksOrder) {
  network_->Clog(0, 1, 5000);
  network_->Send(0, 1, "first", 0);
  network_->Send(0, 1, "second", 4500);
  RunAll();
  EXPECT_EQ(deliveries_, (std::vector<Delivery>{{0, 1, "first", 5000},
                                                {0, 1, "second", 5500}}));
}

TEST_F(SimNetworkTest, RefusedDeliveryIsCountedAsUndeliverable) {
  accept_ = false;
  network_->Send(0, 1, "nobody_home", 0);
  RunAll();
  EXPECT_EQ(deliveries_.size(), 1u);
  EXPECT_EQ(network_->stats().undeliverable, 1u);
  EXPECT_EQ(network_->stats().delivered, 0u);
}

TEST_F(SimNetworkTest, SameSeedGivesTheSameArrivals) {
  NetworkOptions options = Options(100, 10'000);
  options.reorder = true;
  options.loss_probability = 0.2;
  options.duplicate_probability = 0.2;
  auto run = [&](uint64_t seed) {
    Reset(options, seed);
    for (int i = 0; i < 40; ++i) {
      network_->Send(i % 3, (i + 1) % 3, std::to_string(i), i * 100);
    }
    RunAll();
    return deliveries_;
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
}

}  // namespace
}  // namespace pegasus::sim
