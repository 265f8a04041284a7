// Properties of the balancer over many snapshots: random ones of several
// shapes, and every layout of a small table. Each run proposes and applies
// rounds until none is proposed, checking every round and the end against
// the guarantees in greedy_balancer.h.

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/random.h"
#include "pegasus/meta/balance/balancer_test_util.h"
#include "pegasus/meta/balance/greedy_balancer.h"

namespace pegasus::balance {
namespace {

// `count` distinct nodes of `weight.size()` drawn by weight, a weightless
// node only when every weighted one is taken.
Layout DrawNodes(Random& random, const std::vector<int64_t>& weight,
                 int count) {
  Layout drawn;
  std::vector<int64_t> left = weight;
  for (int r = 0; r < count; ++r) {
    int64_t total = 0;
    for (int64_t w : left) total += std::max<int64_t>(w, 0);
    int chosen = -1;
    if (total == 0) {
      for (int n = 0; n < static_cast<int>(left.size()) && chosen < 0; ++n) {
        if (left[n] == 0) chosen = n;
      }
    } else {
      int64_t pick = static_cast<int64_t>(random.Uniform(total));
      for (int n = 0; n < static_cast<int>(left.size()) && chosen < 0; ++n) {
        pick -= std::max<int64_t>(left[n], 0);
        if (pick < 0) chosen = n;
      }
    }
    left[chosen] = -1;
    drawn.push_back(uint64_t(chosen + 1));
  }
  return drawn;
}

std::vector<int64_t> RandomWeights(Random& random, int count) {
  std::vector<int64_t> weight(count);
  for (int64_t& w : weight) {
    w = random.Bernoulli(0.2) ? 0 : random.UniformIn(1, 10);
  }
  return weight;
}

// The sizes of random snapshots, each drawn uniformly from its range.
struct Shape {
  int min_nodes = 2;
  int max_nodes = 8;
  int max_tables = 3;
  int min_partitions = 1;
  int max_partitions = 64;
  int min_replicas = 1;
  int max_replicas = 3;
};

// A random healthy snapshot of `shape`. Members are drawn by random node
// weights (a weightless node is like one that just joined), either freely
// or from a few member sets chosen per table, and the primary among them by
// separate weights; so layouts range from even to very skewed, and some
// nodes hold mostly primaries.
ClusterSnapshot RandomSnapshot(Random& random, const Shape& shape) {
  const int node_count =
      static_cast<int>(random.UniformIn(shape.min_nodes, shape.max_nodes));
  ClusterSnapshot cluster{Nodes(node_count), {}};
  const std::vector<int64_t> weight = RandomWeights(random, node_count);
  const std::vector<int64_t> primary_weight = RandomWeights(random, node_count);
  const int table_count =
      static_cast<int>(random.UniformIn(1, shape.max_tables));
  for (int t = 0; t < table_count; ++t) {
    const int32_t app_id = static_cast<int32_t>(t + 1);
    const int partitions = static_cast<int>(
        random.UniformIn(shape.min_partitions, shape.max_partitions));
    const int replicas = static_cast<int>(random.UniformIn(
        shape.min_replicas, std::min(shape.max_replicas, node_count)));
    std::vector<Layout> member_sets;
    if (random.Bernoulli(0.5)) {
      const int sets = static_cast<int>(random.UniformIn(1, 5));
      for (int i = 0; i < sets; ++i) {
        member_sets.push_back(DrawNodes(random, weight, replicas));
      }
    }
    TableSnapshot table{app_id, {}};
    for (int i = 0; i < partitions; ++i) {
      Layout members = member_sets.empty()
                           ? DrawNodes(random, weight, replicas)
                           : member_sets[random.Uniform(member_sets.size())];
      std::vector<int64_t> primary_pick(members.size());
      for (size_t m = 0; m < members.size(); ++m) {
        primary_pick[m] = primary_weight[members[m] - 1];
      }
      const uint64_t primary = DrawNodes(random, primary_pick, 1)[0];
      std::swap(members[0], members[primary - 1]);
      table.partitions.push_back(
          Config(app_id, i, members, random.UniformIn(1, 100)));
    }
    cluster.tables.push_back(std::move(table));
  }
  return cluster;
}

BalancerOptions RandomOptions(Random& random) {
  BalancerOptions options;
  options.only_move_primary = random.Bernoulli(0.25);
  options.only_primary_balancer = random.Bernoulli(0.25);
  const int limits[] = {2, 3, 16, 1000};
  options.max_moves_per_round = limits[random.Uniform(4)];
  return options;
}

// Whether a role swap path of at most `max_length` swaps leads from a node
// with more than floor(P/N) primaries to one with fewer than ceil(P/N) and
// at least two fewer: written independently of the balancer.
bool SwapPathLeft(const TableSnapshot& table, const std::vector<int64_t>& p,
                  int max_length) {
  const int n = static_cast<int>(p.size());
  int64_t total = 0;
  for (int64_t load : p) total += load;
  const int64_t floor = total / n;
  const int64_t ceil = (total + n - 1) / n;
  std::vector<std::set<int>> edges(n);
  for (const proto::PartitionConfig& config : table.partitions) {
    for (uint64_t s : config.secondaries()) {
      edges[config.primary() - 1].insert(static_cast<int>(s - 1));
    }
  }
  for (int giver = 0; giver < n; ++giver) {
    if (p[giver] <= floor) continue;
    std::vector<int> distance(n, -1);
    std::vector<int> frontier = {giver};
    distance[giver] = 0;
    for (int d = 1; d <= max_length && !frontier.empty(); ++d) {
      std::vector<int> next;
      for (int a : frontier) {
        for (int b : edges[a]) {
          if (distance[b] >= 0) continue;
          distance[b] = d;
          next.push_back(b);
          if (p[b] < ceil && p[b] <= p[giver] - 2) return true;
        }
      }
      frontier = std::move(next);
    }
  }
  return false;
}

// The node with the most replicas and the one with the fewest (lowest id
// among equals) differ by two or more, and a secondary of the former can
// move to the latter.
bool SecondaryMoveLeft(const TableSnapshot& table,
                       const std::vector<int64_t>& r) {
  const int most =
      static_cast<int>(std::max_element(r.begin(), r.end()) - r.begin());
  const int fewest =
      static_cast<int>(std::min_element(r.begin(), r.end()) - r.begin());
  if (r[most] - r[fewest] < 2) return false;
  for (const proto::PartitionConfig& config : table.partitions) {
    bool most_secondary = false;
    bool fewest_member = config.primary() == uint64_t(fewest + 1);
    for (uint64_t s : config.secondaries()) {
      most_secondary |= s == uint64_t(most + 1);
      fewest_member |= s == uint64_t(fewest + 1);
    }
    if (most_secondary && !fewest_member) return true;
  }
  return false;
}

// Every load either stayed or moved toward the band and not past it.
bool StayedInOrTowardBand(const std::vector<int64_t>& before,
                          const std::vector<int64_t>& after) {
  int64_t total = 0;
  for (int64_t load : before) total += load;
  const int64_t n = static_cast<int64_t>(before.size());
  const int64_t floor = total / n;
  const int64_t ceil = (total + n - 1) / n;
  for (size_t i = 0; i < before.size(); ++i) {
    if (after[i] < std::min(before[i], floor) ||
        after[i] > std::max(before[i], ceil)) {
      return false;
    }
  }
  return true;
}

// Runs the balancer on one random snapshot to its end; "" when every
// property held, else the first violation.
class PropertyRun {
 public:
  PropertyRun(ClusterSnapshot cluster, BalancerOptions options)
      : cluster_(std::move(cluster)), options_(options) {}

  std::string Run() {
    int64_t bound = 0;
    for (const TableSnapshot& table : cluster_.tables) {
      const Loads loads = LoadsOf(cluster_, table);
      TableCounts& counts = counts_[table.app_id];
      counts.initial_replica_transfers = BandOf(loads.replicas).MinTransfers();
      bound += 3 * BandOf(loads.primaries).OutOfBand() +
               BandOf(loads.replicas).OutOfBand();
    }
    int rounds = 0;
    for (;;) {
      std::vector<Move> moves = ProposeMoves(cluster_, options_);
      if (moves.empty()) break;
      if (++rounds > bound)
        return "more rounds than the bound " + std::to_string(bound);
      const std::string error = CheckRound(moves);
      if (!error.empty())
        return "round " + std::to_string(rounds) + ": " + error + " in " +
               Describe(moves);
    }
    return CheckEnd();
  }

 private:
  struct TableCounts {
    int64_t initial_replica_transfers = 0;
    int copies = 0;
    int step1_primary_copies = 0;
    int step2_copies = 0;
    // MinTransfers of replicas when the first step-2 round began.
    int64_t step2_start_transfers = -1;
  };

  std::string CheckRound(const std::vector<Move>& moves) {
    if (static_cast<int>(moves.size()) > options_.max_moves_per_round) {
      return "too many moves";
    }
    const int32_t app = moves[0].gpid.app_id;
    std::set<Gpid> seen;
    for (const Move& move : moves) {
      if (move.gpid.app_id != app) return "two tables";
      if (!seen.insert(move.gpid).second) return "a partition moved twice";
      if (options_.only_move_primary && move.kind == MoveKind::kCopyPrimary) {
        return "a primary copied under only_move_primary";
      }
      if (options_.only_primary_balancer &&
          move.kind == MoveKind::kCopySecondary) {
        return "a secondary copied under only_primary_balancer";
      }
    }
    const Loads before = LoadsOf(cluster_, TableOf(cluster_, app));
    for (const Move& move : moves) {
      // Role swaps copy no data: a primary is copied only when no swap
      // path is left, even through partitions this round moves.
      if (move.kind == MoveKind::kCopyPrimary &&
          SwapPathLeft(TableOf(cluster_, app),
                       LoadsOf(cluster_, TableOf(cluster_, app)).primaries,
                       options_.max_moves_per_round)) {
        return "a primary copied where a role swap could move it";
      }
      ApplyRound(cluster_, {move});
      if (testing::Test::HasFatalFailure()) return "a move did not apply";
    }
    const TableSnapshot& table = TableOf(cluster_, app);
    if (!CheckBalanceable(cluster_).ok()) {
      return "left a partition unhealthy: " +
             CheckBalanceable(cluster_).ToString();
    }
    const Loads after = LoadsOf(cluster_, table);
    const Band p0 = BandOf(before.primaries), p1 = BandOf(after.primaries);
    const Band r0 = BandOf(before.replicas), r1 = BandOf(after.replicas);
    TableCounts& counts = counts_[app];
    int copies = 0;
    for (const Move& move : moves) {
      copies += move.kind == MoveKind::kMovePrimary ? 0 : 1;
    }
    counts.copies += copies;
    const bool primary_round =
        p0.OutOfBand() > 0 && before.primaries != after.primaries;
    if (primary_round) {
      if (!StayedInOrTowardBand(before.primaries, after.primaries)) {
        return "a primary count moved away from its band";
      }
      if (p1.OutOfBand() >= p0.OutOfBand()) return "primaries not closer";
      counts.step1_primary_copies += copies;
      return "";
    }
    // A replica round keeps primaries in their band, or unchanged.
    if (p1.OutOfBand() > 0 && before.primaries != after.primaries) {
      return "a replica round changed unbalanced primaries";
    }
    if (!StayedInOrTowardBand(before.replicas, after.replicas)) {
      return "a replica count moved away from its band";
    }
    if (r1.OutOfBand() >= r0.OutOfBand()) return "replicas not closer";
    if (counts.step2_start_transfers < 0) {
      counts.step2_start_transfers = r0.MinTransfers();
    }
    counts.step2_copies += copies;
    return "";
  }

  std::string CheckEnd() {
    const bool copies_primaries = !options_.only_move_primary;
    const bool copies_secondaries = !options_.only_primary_balancer;
    for (const TableSnapshot& table : cluster_.tables) {
      const Loads loads = LoadsOf(cluster_, table);
      const TableCounts& counts = counts_[table.app_id];
      const std::string which = "table " + std::to_string(table.app_id);
      const bool primaries_balanced = BandOf(loads.primaries).OutOfBand() == 0;
      if (copies_primaries && !primaries_balanced) {
        return which + ": primaries not balanced";
      }
      if (!copies_primaries &&
          SwapPathLeft(table, loads.primaries, options_.max_moves_per_round)) {
        return which + ": a swap path is left";
      }
      if (!copies_secondaries) continue;
      const bool replicas_balanced = BandOf(loads.replicas).OutOfBand() == 0;
      if (copies_primaries && !replicas_balanced) {
        return which + ": replicas not balanced";
      }
      if (!copies_primaries && SecondaryMoveLeft(table, loads.replicas)) {
        return which + ": a secondary could still move";
      }
      // Step 2 copies exactly what it must; step 1's copies of primaries
      // may each move a replica the wrong way, to be moved back.
      if (replicas_balanced && counts.step2_start_transfers >= 0 &&
          counts.step2_copies != counts.step2_start_transfers) {
        return which + ": step 2 made " + std::to_string(counts.step2_copies) +
               " copies for " + std::to_string(counts.step2_start_transfers) +
               " transfers";
      }
      if (counts.copies < counts.initial_replica_transfers &&
          replicas_balanced) {
        return which + ": fewer copies than transfers needed";
      }
      if (counts.copies >
          counts.initial_replica_transfers + 2 * counts.step1_primary_copies) {
        return which + ": " + std::to_string(counts.copies) +
               " copies, more than needed";
      }
    }
    if (copies_primaries && copies_secondaries && !IsBalanced(cluster_)) {
      return "not IsBalanced";
    }
    return "";
  }

  ClusterSnapshot cluster_;
  const BalancerOptions options_;
  std::map<int32_t, TableCounts> counts_;
};

// Runs `runs` random snapshots of `shape` with random options; "" when
// each ended as promised, else the first failure with what replays it.
std::string RunRandomSnapshots(uint64_t seed, int runs, const Shape& shape) {
  for (int run = 0; run < runs; ++run) {
    SeededRandom seeded(DeriveSeed(seed, "balancer", run));
    const ClusterSnapshot cluster = RandomSnapshot(seeded, shape);
    const BalancerOptions options = RandomOptions(seeded);
    if (!CheckBalanceable(cluster).ok()) {
      return "unhealthy snapshot: " + CheckBalanceable(cluster).ToString();
    }
    const std::string error = PropertyRun(cluster, options).Run();
    if (!error.empty()) {
      return error + " (seed " + std::to_string(seed) + " run " +
             std::to_string(run) +
             " only_move_primary=" + std::to_string(options.only_move_primary) +
             " only_primary_balancer=" +
             std::to_string(options.only_primary_balancer) +
             " max_moves_per_round=" +
             std::to_string(options.max_moves_per_round) + ")";
    }
  }
  return "";
}

TEST(GreedyBalancerPropertyTest, RandomSnapshotsEndAsBalancedAsPromised) {
  EXPECT_EQ(RunRandomSnapshots(20240611, 1500, Shape{}), "");
}

// Small tables on few nodes, two or three replicas, from few member sets:
// where the most loaded node often holds only primaries of the partitions
// the least loaded one lacks, so step 2 must copy a primary.
TEST(GreedyBalancerPropertyTest, SmallSnapshotsEndAsBalancedAsPromised) {
  const Shape small{.min_nodes = 3,
                    .max_nodes = 5,
                    .max_tables = 1,
                    .min_partitions = 2,
                    .max_partitions = 12,
                    .min_replicas = 2,
                    .max_replicas = 3};
  EXPECT_EQ(RunRandomSnapshots(20240612, 10000, small), "");
}

// Every layout of `partitions` partitions with `replicas` replicas on
// `nodes` nodes: each multiset of member sets, with each choice of primary
// in each. Calls `check` with each; stops at the first non-empty answer.
std::string ForEveryLayout(
    int nodes, int replicas, int partitions,
    const std::function<std::string(const ClusterSnapshot&)>& check) {
  std::vector<Layout> sets;
  for (int mask = 0; mask < (1 << nodes); ++mask) {
    if (__builtin_popcount(mask) != replicas) continue;
    Layout set;
    for (int n = 0; n < nodes; ++n) {
      if (mask & (1 << n)) set.push_back(uint64_t(n + 1));
    }
    sets.push_back(set);
  }
  std::vector<int> chosen(partitions, 0);
  for (;;) {
    int primary_choices = 1;
    for (int i = 0; i < partitions; ++i) primary_choices *= replicas;
    for (int choice = 0; choice < primary_choices; ++choice) {
      std::vector<Layout> layouts;
      int rest = choice;
      for (int i = 0; i < partitions; ++i) {
        Layout members = sets[chosen[i]];
        std::swap(members[0], members[rest % replicas]);
        rest /= replicas;
        layouts.push_back(members);
      }
      std::string error =
          check(ClusterSnapshot{Nodes(nodes), {Table(1, layouts)}});
      if (!error.empty()) return error;
    }
    // The next nondecreasing sequence of set indices.
    int i = partitions - 1;
    while (i >= 0 && chosen[i] == static_cast<int>(sets.size()) - 1) --i;
    if (i < 0) return "";
    ++chosen[i];
    for (int j = i + 1; j < partitions; ++j) chosen[j] = chosen[i];
  }
}

TEST(GreedyBalancerPropertyTest, EveryLayoutOfSixPartitionsOnFourNodesEnds) {
  int layouts = 0;
  for (int replicas = 1; replicas <= 3; ++replicas) {
    const std::string error =
        ForEveryLayout(4, replicas, 6, [&](const ClusterSnapshot& cluster) {
          ++layouts;
          std::string error = PropertyRun(cluster, BalancerOptions{}).Run();
          if (error.empty()) return error;
          std::string text = error + " for";
          for (const auto& config : cluster.tables[0].partitions) {
            text += " " + std::to_string(config.primary());
            for (uint64_t s : config.secondaries())
              text += "," + std::to_string(s);
          }
          return text;
        });
    EXPECT_EQ(error, "") << replicas << " replicas";
  }
  EXPECT_GT(layouts, 0);
}

}  // namespace
}  // namespace pegasus::balance
