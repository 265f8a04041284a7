#include "testing/sim/network.h"

#include <algorithm>
#include <utility>

namespace pegasus::sim {

SimNetwork::SimNetwork(World* world, NetworkOptions options,
                       std::unique_ptr<Random> random, Deliver deliver)
    : world_(world),
      options_(options),
      random_(std::move(random)),
      deliver_(std::move(deliver)) {}

void SimNetwork::Send(int from, int to, std::string message,
                      int64_t depart_ns) {
  ++stats_.sent;
  if (IsCut(from, to)) {
    ++stats_.cut;
    return;
  }
  if (random_->Bernoulli(options_.loss_probability)) {
    ++stats_.lost;
    return;
  }
  int copies = 1;
  if (random_->Bernoulli(options_.duplicate_probability)) {
    ++stats_.duplicated;
    copies = 2;
  }
  const uint64_t detail =
      MixBits(HashBytes(message) ^ (static_cast<uint64_t>(from) << 32) ^
              static_cast<uint64_t>(to));
  for (int copy = 0; copy < copies; ++copy) {
    int64_t arrive = depart_ns + options_.latency_min_ns +
                     random_->Exponential(options_.latency_mean_ns);
    const std::pair<int, int> link{from, to};
    if (auto clog = clogs_.find(link); clog != clogs_.end()) {
      arrive = std::max(arrive, clog->second);
    }
    if (!options_.reorder) {
      int64_t& last = last_arrival_[link];
      arrive = std::max(arrive, last);
      last = arrive;
    }
    std::string payload = copy + 1 == copies ? std::move(message) : message;
    // Owned by the destination: it is dropped if the destination is down
    // when it arrives, and waits while the destination is paused or busy.
    world_->At(arrive, EventOwner{to, EventOwner::kAnyIncarnation}, "deliver",
               detail, [this, from, to, payload = std::move(payload)] {
                 if (IsCut(from, to)) {
                   ++stats_.cut;
                   return;
                 }
                 if (deliver_(from, to, payload)) {
                   ++stats_.delivered;
                 } else {
                   ++stats_.undeliverable;
                 }
               });
  }
}

void SimNetwork::Split(const std::vector<int>& a, const std::vector<int>& b) {
  for (int x : a) {
    for (int y : b) CutBothWays(x, y);
  }
}

void SimNetwork::Isolate(int node, const std::vector<int>& others) {
  for (int other : others) {
    if (other != node) CutBothWays(node, other);
  }
}

void SimNetwork::Clog(int from, int to, int64_t until_ns) {
  int64_t& until = clogs_[{from, to}];
  until = std::max(until, until_ns);
}

void SimNetwork::Heal() {
  cuts_.clear();
  clogs_.clear();
}

}  // namespace pegasus::sim
