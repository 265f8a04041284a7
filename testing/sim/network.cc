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
  const std::pair<int, int> link{from, to};
  for (int copy = 0; copy < copies; ++copy) {
    const int64_t arrive = depart_ns + options_.latency_min_ns +
                           random_->Exponential(options_.latency_mean_ns);
    std::string payload = copy + 1 == copies ? std::move(message) : message;
    auto clog = clogs_.find(link);
    if ((clog != clogs_.end() && arrive < clog->second) ||
        held_.contains(link)) {
      held_[link].push_back(Held{arrive, detail, std::move(payload)});
      continue;
    }
    Schedule(from, to, arrive, detail, std::move(payload));
  }
}

void SimNetwork::Schedule(int from, int to, int64_t arrive_ns, uint64_t detail,
                          std::string payload) {
  if (!options_.reorder) {
    int64_t& last = last_arrival_[{from, to}];
    arrive_ns = std::max(arrive_ns, last);
    last = arrive_ns;
  }
  // Owned by the destination: it is dropped if the destination is down
  // when it arrives, and waits while the destination is paused or busy.
  world_->At(arrive_ns, EventOwner{to, EventOwner::kAnyIncarnation}, "deliver",
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

void SimNetwork::Release(std::pair<int, int> link) {
  auto it = held_.find(link);
  if (it == held_.end()) return;
  std::vector<Held> held = std::move(it->second);
  held_.erase(it);
  for (Held& message : held) {
    Schedule(link.first, link.second,
             std::max(message.arrive_ns, world_->now_ns()), message.detail,
             std::move(message.payload));
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
  const std::pair<int, int> link{from, to};
  int64_t& until = clogs_[link];
  until = std::max(until, until_ns);
  world_->At(until_ns, EventOwner{}, "unclog",
             static_cast<uint64_t>(from) << 32 | static_cast<uint32_t>(to),
             [this, link] {
               auto clog = clogs_.find(link);
               // Extended since, or healed (and maybe clogged again).
               if (clog == clogs_.end() || clog->second > world_->now_ns()) {
                 return;
               }
               clogs_.erase(clog);
               Release(link);
             });
}

void SimNetwork::Heal() {
  cuts_.clear();
  clogs_.clear();
  while (!held_.empty()) Release(held_.begin()->first);
}

}  // namespace pegasus::sim
