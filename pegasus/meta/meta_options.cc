#include "pegasus/meta/meta_options.h"

#include <string>

#include "pegasus/base/status.h"

namespace pegasus {
namespace {

absl::Status Invalid(const std::string& message) {
  return PegasusError(ErrorCode::kInvalidArgument, message);
}

}  // namespace

absl::Status ValidateMetaOptions(const MetaOptions& options) {
  if (options.grace_ns <= 0) return Invalid("grace_ns must be > 0");
  if (options.lease_ns <= 0) return Invalid("lease_ns must be > 0");
  if (options.lease_ns >= options.grace_ns && !options.allow_lease_ge_grace) {
    return Invalid("lease_ns (" + std::to_string(options.lease_ns) +
                   ") must be < grace_ns (" + std::to_string(options.grace_ns) +
                   "): a node must stop serving before it is declared dead");
  }
  if (options.add_secondary_delay_ns < 0) {
    return Invalid("add_secondary_delay_ns must be >= 0");
  }
  if (options.max_last_drops < 1) return Invalid("max_last_drops must be >= 1");
  if (options.max_nodes < 1) return Invalid("max_nodes must be >= 1");
  if (options.max_partitions_per_table < 1) {
    return Invalid("max_partitions_per_table must be >= 1");
  }
  if (options.max_partitions < 1) return Invalid("max_partitions must be >= 1");
  if (options.max_replicas_per_sync < 1) {
    return Invalid("max_replicas_per_sync must be >= 1");
  }
  if (options.max_waiters_per_change < 1) {
    return Invalid("max_waiters_per_change must be >= 1");
  }
  if (options.dropped_table_hold_s < 0) {
    return Invalid("dropped_table_hold_s must be >= 0");
  }
  if (!proto::MetaLevel_IsValid(options.level_on_start) ||
      options.level_on_start == proto::META_LEVEL_INVALID) {
    return Invalid("level_on_start is not a meta level");
  }
  if (options.min_live_nodes < 0) return Invalid("min_live_nodes must be >= 0");
  if (options.min_live_node_percent < 0 ||
      options.min_live_node_percent > 100) {
    return Invalid("min_live_node_percent must be within [0, 100]");
  }
  if (options.max_tables < 1) return Invalid("max_tables must be >= 1");
  if (options.max_pending_admin < 1) {
    return Invalid("max_pending_admin must be >= 1");
  }
  if (options.balancer_interval_ns <= 0) {
    return Invalid("balancer_interval_ns must be > 0");
  }
  if (options.move_step_timeout_ns <= 0) {
    return Invalid("move_step_timeout_ns must be > 0");
  }
  if (options.move_retry_ns <= 0) return Invalid("move_retry_ns must be > 0");
  return balance::ValidateBalancerOptions(options.balancer);
}

}  // namespace pegasus
