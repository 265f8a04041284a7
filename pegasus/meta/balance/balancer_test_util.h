// Helpers for the balancer's tests: snapshots written as lists of member
// lists, per-node loads, and running rounds to their end.

#ifndef PEGASUS_META_BALANCE_BALANCER_TEST_UTIL_H_
#define PEGASUS_META_BALANCE_BALANCER_TEST_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/meta/balance/greedy_balancer.h"

namespace pegasus::balance {

// A partition's members, the primary first.
using Layout = std::vector<uint64_t>;

inline proto::PartitionConfig Config(int32_t app_id, int32_t index,
                                     const Layout& members,
                                     int64_t ballot = 7) {
  proto::PartitionConfig config;
  config.set_app_id(app_id);
  config.set_partition_index(index);
  config.set_ballot(ballot);
  config.set_max_replica_count(static_cast<int>(members.size()));
  config.set_primary(members.at(0));
  for (size_t i = 1; i < members.size(); ++i) {
    config.add_secondaries(members[i]);
  }
  return config;
}

inline TableSnapshot Table(int32_t app_id, const std::vector<Layout>& layouts) {
  TableSnapshot table{app_id, {}};
  for (size_t i = 0; i < layouts.size(); ++i) {
    table.partitions.push_back(
        Config(app_id, static_cast<int32_t>(i), layouts[i]));
  }
  return table;
}

inline std::vector<NodeId> Nodes(int count) {
  std::vector<NodeId> nodes;
  for (int i = 1; i <= count; ++i) nodes.push_back(NodeId{uint64_t(i)});
  return nodes;
}

// Per alive node (in id order): primaries and replicas of one table.
struct Loads {
  std::vector<int64_t> primaries;
  std::vector<int64_t> replicas;
};

inline Loads LoadsOf(const ClusterSnapshot& cluster,
                     const TableSnapshot& table) {
  std::vector<NodeId> nodes = cluster.alive_nodes;
  std::sort(nodes.begin(), nodes.end());
  Loads loads{std::vector<int64_t>(nodes.size()),
              std::vector<int64_t>(nodes.size())};
  auto index = [&](uint64_t id) {
    return std::lower_bound(nodes.begin(), nodes.end(), NodeId{id}) -
           nodes.begin();
  };
  for (const proto::PartitionConfig& config : table.partitions) {
    ++loads.primaries[index(config.primary())];
    ++loads.replicas[index(config.primary())];
    for (uint64_t s : config.secondaries()) ++loads.replicas[index(s)];
  }
  return loads;
}

inline const TableSnapshot& TableOf(const ClusterSnapshot& cluster,
                                    int32_t app_id) {
  for (const TableSnapshot& table : cluster.tables) {
    if (table.app_id == app_id) return table;
  }
  ADD_FAILURE() << "no table " << app_id;
  return cluster.tables.at(0);
}

inline std::vector<int64_t> Primaries(const ClusterSnapshot& cluster,
                                      int32_t app) {
  return LoadsOf(cluster, TableOf(cluster, app)).primaries;
}
inline std::vector<int64_t> Replicas(const ClusterSnapshot& cluster,
                                     int32_t app) {
  return LoadsOf(cluster, TableOf(cluster, app)).replicas;
}

// How far the loads are outside [floor, ceil] of their average: the excess
// above ceil and the shortfall below floor, summed over nodes.
struct Band {
  int64_t excess = 0;
  int64_t shortfall = 0;
  int64_t OutOfBand() const { return excess + shortfall; }
  // The fewest one-at-a-time transfers that bring every load into the band.
  int64_t MinTransfers() const { return std::max(excess, shortfall); }
};

inline Band BandOf(const std::vector<int64_t>& loads) {
  int64_t total = 0;
  for (int64_t load : loads) total += load;
  const int64_t n = static_cast<int64_t>(loads.size());
  const int64_t floor = total / n;
  const int64_t ceil = (total + n - 1) / n;
  Band band;
  for (int64_t load : loads) {
    band.excess += std::max<int64_t>(0, load - ceil);
    band.shortfall += std::max<int64_t>(0, floor - load);
  }
  return band;
}

inline void ApplyRound(ClusterSnapshot& cluster,
                       const std::vector<Move>& moves) {
  for (const Move& move : moves) {
    for (TableSnapshot& table : cluster.tables) {
      if (table.app_id != move.gpid.app_id) continue;
      proto::PartitionConfig& config =
          table.partitions.at(move.gpid.partition_index);
      absl::StatusOr<proto::PartitionConfig> next = ApplyMove(config, move);
      ASSERT_TRUE(next.ok()) << next.status();
      config = *next;
    }
  }
}

// Proposes and applies rounds until none is proposed; returns every round.
inline std::vector<std::vector<Move>> RunToFixpoint(
    ClusterSnapshot& cluster, const BalancerOptions& options,
    int max_rounds = 100) {
  std::vector<std::vector<Move>> rounds;
  for (int i = 0; i < max_rounds; ++i) {
    std::vector<Move> moves = ProposeMoves(cluster, options);
    if (moves.empty()) return rounds;
    ApplyRound(cluster, moves);
    rounds.push_back(std::move(moves));
  }
  ADD_FAILURE() << "still moving after " << max_rounds << " rounds";
  return rounds;
}

inline int CountKind(const std::vector<std::vector<Move>>& rounds,
                     MoveKind kind) {
  int count = 0;
  for (const auto& round : rounds) {
    for (const Move& move : round) count += move.kind == kind ? 1 : 0;
  }
  return count;
}

inline std::string Describe(const std::vector<Move>& moves) {
  std::string text;
  for (const Move& move : moves) text += move.ToString() + "; ";
  return text;
}

}  // namespace pegasus::balance

#endif  // PEGASUS_META_BALANCE_BALANCER_TEST_UTIL_H_
