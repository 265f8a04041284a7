// The simulated network between processes: latency drawn per message, loss,
// duplication, reordering, partitions (any set of one-way cuts), and
// clogging (a link holds its messages until a time). Messages are checked
// against partitions when sent and again when they arrive, so a cut also
// kills what is in flight.

#ifndef PEGASUS_TESTING_SIM_NETWORK_H_
#define PEGASUS_TESTING_SIM_NETWORK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pegasus/base/random.h"
#include "testing/sim/world.h"

namespace pegasus::sim {

struct NetworkOptions {
  // One-way latency: a fixed minimum plus an exponentially distributed part
  // with this mean, in nanoseconds.
  int64_t latency_min_ns = 200'000;
  int64_t latency_mean_ns = 800'000;
  double loss_probability = 0;
  // Chance that a message is delivered twice (each copy with its own latency).
  double duplicate_probability = 0;
  // Off: each link delivers in send order (as one TCP connection would).
  // On: every message takes its own latency, so later ones may overtake.
  bool reorder = false;
};

struct NetworkStats {
  uint64_t sent = 0;
  uint64_t delivered = 0;
  uint64_t lost = 0;  // Dropped by the loss probability.
  uint64_t duplicated = 0;
  uint64_t cut = 0;            // Dropped by a partition.
  uint64_t undeliverable = 0;  // Destination down or unknown.
};

class SimNetwork {
 public:
  // Delivers `message` to process `to` if it is up; returns false if not.
  using Deliver =
      std::function<bool(int from, int to, const std::string& message)>;

  SimNetwork(World* world, NetworkOptions options,
             std::unique_ptr<Random> random, Deliver deliver);

  // Sends a message leaving `from` at `depart_ns`.
  void Send(int from, int to, std::string message, int64_t depart_ns);

  // Partitions: a cut stops messages from `from` to `to` (one way).
  void Cut(int from, int to) { cuts_.insert({from, to}); }
  void CutBothWays(int a, int b) {
    Cut(a, b);
    Cut(b, a);
  }
  // Cuts every link between the two groups, both ways.
  void Split(const std::vector<int>& a, const std::vector<int>& b);
  // Cuts `node` from every process in `others`, both ways.
  void Isolate(int node, const std::vector<int>& others);
  bool IsCut(int from, int to) const { return cuts_.contains({from, to}); }
  // Holds messages on the link from `from` to `to` until `until_ns` (a
  // message that would arrive later anyway is not held, unless others are:
  // the link keeps its order).
  void Clog(int from, int to, int64_t until_ns);
  // Removes every cut and clog; what the clogs held arrives now.
  void Heal();
  bool healthy() const { return cuts_.empty() && clogs_.empty(); }

  NetworkOptions& options() { return options_; }
  const NetworkStats& stats() const { return stats_; }

 private:
  World* world_;
  NetworkOptions options_;
  std::unique_ptr<Random> random_;
  Deliver deliver_;
  std::set<std::pair<int, int>> cuts_;
  std::map<std::pair<int, int>, int64_t> clogs_;
  // What each clogged link holds, in send order, with the time each message
  // would have arrived without the clog.
  struct Held {
    int64_t arrive_ns = 0;
    uint64_t detail = 0;
    std::string payload;
  };
  std::map<std::pair<int, int>, std::vector<Held>> held_;
  // Arrival time of the last message per link, for in-order delivery.
  std::map<std::pair<int, int>, int64_t> last_arrival_;
  NetworkStats stats_;

  // Delivery at `arrive_ns` (later, to keep the link's order).
  void Schedule(int from, int to, int64_t arrive_ns, uint64_t detail,
                std::string payload);
  // Sends on what `link` holds: each message arrives when it would have,
  // or now if that has passed.
  void Release(std::pair<int, int> link);
};

}  // namespace pegasus::sim

#endif  // PEGASUS_TESTING_SIM_NETWORK_H_
