#include "pegasus/proto/partition_config.h"

#include <algorithm>

namespace pegasus {

Gpid GpidOf(const proto::PartitionConfig& config) {
  return Gpid{config.app_id(), config.partition_index()};
}

bool IsSecondary(const proto::PartitionConfig& config, NodeId node) {
  return std::find(config.secondaries().begin(), config.secondaries().end(),
                   node.value) != config.secondaries().end();
}

bool IsMember(const proto::PartitionConfig& config, NodeId node) {
  return node.value != 0 &&
         (config.primary() == node.value || IsSecondary(config, node));
}

bool IsDropped(const proto::PartitionConfig& config, NodeId node) {
  return std::find(config.last_drops().begin(), config.last_drops().end(),
                   node.value) != config.last_drops().end();
}

const char* PartitionHealthName(proto::PartitionHealth health) {
  switch (health) {
    case proto::HEALTH_HEALTHY:
      return "healthy";
    case proto::HEALTH_WRITABLE_ILL:
      return "writable_ill";
    case proto::HEALTH_UNWRITABLE:
      return "unwritable";
    case proto::HEALTH_UNREADABLE:
      return "unreadable";
    case proto::HEALTH_DEAD:
      return "dead";
    default:
      return "invalid";
  }
}

}  // namespace pegasus
