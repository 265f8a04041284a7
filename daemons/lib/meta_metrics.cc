#include "daemons/lib/meta_metrics.h"

#include <set>

#include "daemons/lib/metrics_util.h"
#include "pegasus/proto/partition_config.h"

namespace pegasus::daemons {
namespace {}  // namespace

MetaMetrics::MetaMetrics()
    : registry_(std::make_shared<prometheus::Registry>()) {
  partitions_ = &prometheus::BuildGauge()
                     .Name("pegasus_meta_partitions")
                     .Help("Partitions of each available table, by health")
                     .Register(*registry_);
  auto& nodes = prometheus::BuildGauge()
                    .Name("pegasus_meta_nodes")
                    .Help("Replica servers the meta server knows, by state")
                    .Register(*registry_);
  alive_nodes_ = &nodes.Add({{"state", "alive"}});
  dead_nodes_ = &nodes.Add({{"state", "dead"}});
  level_ = &prometheus::BuildGauge()
                .Name("pegasus_meta_effective_level")
                .Help(
                    "The level the meta server acts at (MetaLevel: 100 "
                    "stopped, 200 blind, 300 freezed, 400 steady, 500 "
                    "lively)")
                .Register(*registry_)
                .Add({});
  auto mirror = [&](const std::string& key, const std::string& name,
                    const std::string& help) {
    mirrors_[key].counter = &prometheus::BuildCounter()
                                 .Name(name)
                                 .Help(help)
                                 .Register(*registry_)
                                 .Add({});
  };
  mirror("beacons", "pegasus_meta_beacons_total", "Beacons received");
  mirror("dead", "pegasus_meta_nodes_declared_dead_total",
         "Replica servers declared dead");
  mirror("changes", "pegasus_meta_config_changes_total",
         "Partition configuration changes accepted from primaries");
  mirror("proposals", "pegasus_meta_proposals_total",
         "Configuration proposals sent to replica servers");
  mirror("rounds", "pegasus_meta_balancer_rounds_total",
         "Balancer rounds that asked for moves");
  auto& moves = prometheus::BuildCounter()
                    .Name("pegasus_meta_balancer_moves_total")
                    .Help(
                        "Moves of replicas (the balancer's and operators'), "
                        "by outcome")
                    .Register(*registry_);
  mirrors_["moves_started"].counter = &moves.Add({{"outcome", "started"}});
  mirrors_["moves_finished"].counter = &moves.Add({{"outcome", "finished"}});
  mirrors_["moves_abandoned"].counter = &moves.Add({{"outcome", "abandoned"}});
  mirror("link_sent", "pegasus_link_messages_sent_total",
         "Messages sent to other nodes");
  mirror("link_received", "pegasus_link_messages_received_total",
         "Messages received from other nodes");
  mirror("link_dropped", "pegasus_link_messages_dropped_total",
         "Messages dropped: queue full, peer unreachable, stream broken");
}

void MetaMetrics::Refresh(const MetaServerSnapshot& snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  alive_nodes_->Set(snapshot.cluster.alive_nodes());
  dead_nodes_->Set(snapshot.cluster.dead_nodes());
  level_->Set(snapshot.cluster.effective_level());
  std::map<std::pair<std::string, std::string>, int> counts;
  for (const auto& [table, health] : snapshot.tables) {
    for (proto::PartitionHealth h :
         {proto::HEALTH_HEALTHY, proto::HEALTH_WRITABLE_ILL,
          proto::HEALTH_UNWRITABLE, proto::HEALTH_UNREADABLE,
          proto::HEALTH_DEAD}) {
      counts[{table, PartitionHealthName(h)}] = 0;
    }
    for (const proto::PartitionHealthInfo& partition : health.partitions()) {
      ++counts[{table, PartitionHealthName(partition.health())}];
    }
  }
  for (auto it = table_gauges_.begin(); it != table_gauges_.end();) {
    if (counts.count(it->first) > 0) {
      ++it;
      continue;
    }
    partitions_->Remove(it->second);
    it = table_gauges_.erase(it);
  }
  for (const auto& [key, count] : counts) {
    prometheus::Gauge*& gauge = table_gauges_[key];
    if (gauge == nullptr) {
      gauge = &partitions_->Add({{"table", key.first}, {"health", key.second}});
    }
    gauge->Set(count);
  }
  const MetaStats& stats = snapshot.stats;
  mirrors_["beacons"].Set(stats.beacons);
  mirrors_["dead"].Set(stats.nodes_declared_dead);
  mirrors_["changes"].Set(stats.updates_accepted);
  mirrors_["proposals"].Set(stats.proposals_sent);
  mirrors_["rounds"].Set(stats.balancer_rounds);
  mirrors_["moves_started"].Set(stats.moves_started);
  mirrors_["moves_finished"].Set(stats.moves_finished);
  mirrors_["moves_abandoned"].Set(stats.moves_abandoned);
  mirrors_["link_sent"].Set(snapshot.links.messages_sent);
  mirrors_["link_received"].Set(snapshot.links.messages_received);
  mirrors_["link_dropped"].Set(snapshot.links.messages_dropped);
}

}  // namespace pegasus::daemons
