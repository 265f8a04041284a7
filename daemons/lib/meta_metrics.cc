#include "daemons/lib/meta_metrics.h"

#include "pegasus/proto/partition_config.h"

namespace pegasus::daemons {

using prometheus::MetricType;

Families MetaFamilies(const MetaServerSnapshot& snapshot) {
  Families out;
  out.push_back(Family("pegasus_meta_partitions",
                       "Partitions of each available table, by health",
                       MetricType::Gauge));
  for (const auto& [table, health] : snapshot.tables) {
    for (proto::PartitionHealth h :
         {proto::HEALTH_HEALTHY, proto::HEALTH_WRITABLE_ILL,
          proto::HEALTH_UNWRITABLE, proto::HEALTH_UNREADABLE,
          proto::HEALTH_DEAD}) {
      int count = 0;
      for (const proto::PartitionHealthInfo& p : health.partitions()) {
        count += p.health() == h ? 1 : 0;
      }
      AddSample(out.back(), count,
                {{"health", PartitionHealthName(h)}, {"table", table}});
    }
  }
  out.push_back(Family("pegasus_meta_nodes",
                       "Replica servers the meta server knows, by state",
                       MetricType::Gauge));
  AddSample(out.back(), snapshot.cluster.alive_nodes(), {{"state", "alive"}});
  AddSample(out.back(), snapshot.cluster.dead_nodes(), {{"state", "dead"}});
  out.push_back(Family("pegasus_meta_effective_level",
                       "The level the meta server acts at (MetaLevel: 100 "
                       "stopped, 200 blind, 300 freezed, 400 steady, 500 "
                       "lively)",
                       MetricType::Gauge));
  AddSample(out.back(), snapshot.cluster.effective_level());

  const MetaStats& stats = snapshot.stats;
  AddCounters(
      {
          {"pegasus_meta_beacons_total", "Beacons received", stats.beacons},
          {"pegasus_meta_nodes_declared_dead_total",
           "Replica servers declared dead", stats.nodes_declared_dead},
          {"pegasus_meta_config_changes_total",
           "Partition configuration changes accepted from primaries",
           stats.updates_accepted},
          {"pegasus_meta_proposals_total",
           "Configuration proposals sent to replica servers",
           stats.proposals_sent},
          {"pegasus_meta_balancer_rounds_total",
           "Balancer rounds that asked for moves", stats.balancer_rounds},
      },
      out);
  out.push_back(
      Family("pegasus_meta_balancer_moves_total",
             "Moves of replicas (the balancer's and operators'), by outcome",
             MetricType::Counter));
  AddSample(out.back(), static_cast<double>(stats.moves_started),
            {{"outcome", "started"}});
  AddSample(out.back(), static_cast<double>(stats.moves_finished),
            {{"outcome", "finished"}});
  AddSample(out.back(), static_cast<double>(stats.moves_abandoned),
            {{"outcome", "abandoned"}});
  AddLinkFamilies(snapshot.links, out);
  return out;
}

}  // namespace pegasus::daemons
