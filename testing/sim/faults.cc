#include "testing/sim/faults.h"

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "pegasus/base/status.h"

namespace pegasus::sim {

const std::vector<FaultKind>& AllFaultKinds() {
  static const std::vector<FaultKind> kinds = {
      FaultKind::kCrash,
      FaultKind::kPause,
      FaultKind::kPartitionOne,
      FaultKind::kPartitionSplit,
      FaultKind::kPartitionOneWay,
      FaultKind::kPartitionMeta,
      FaultKind::kClog,
      FaultKind::kLoss,
      FaultKind::kDuplicate,
      FaultKind::kReorder,
      FaultKind::kSlowDisk,
      FaultKind::kDiskErrors,
      FaultKind::kTornWrites,
      FaultKind::kClockDrift,
      FaultKind::kDropRecall,
      FaultKind::kBitFlip,
  };
  return kinds;
}

const char* FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kCrash:
      return "crash";
    case FaultKind::kPause:
      return "pause";
    case FaultKind::kPartitionOne:
      return "partition_one";
    case FaultKind::kPartitionSplit:
      return "partition_split";
    case FaultKind::kPartitionOneWay:
      return "partition_oneway";
    case FaultKind::kPartitionMeta:
      return "partition_meta";
    case FaultKind::kClog:
      return "clog";
    case FaultKind::kLoss:
      return "loss";
    case FaultKind::kDuplicate:
      return "duplicate";
    case FaultKind::kReorder:
      return "reorder";
    case FaultKind::kSlowDisk:
      return "slow_disk";
    case FaultKind::kDiskErrors:
      return "disk_errors";
    case FaultKind::kTornWrites:
      return "torn_writes";
    case FaultKind::kClockDrift:
      return "clock_drift";
    case FaultKind::kDropRecall:
      return "drop_recall";
    case FaultKind::kBitFlip:
      return "bitflip";
  }
  return "?";
}

absl::StatusOr<FaultSelection> ParseFaultSelection(const std::string& text) {
  FaultSelection selection;
  std::set<FaultKind> defaults;
  for (FaultKind kind : AllFaultKinds()) {
    if (kind != FaultKind::kBitFlip) defaults.insert(kind);
  }
  if (text.empty() || text == "swarm") {
    selection.kinds = defaults;
    return selection;
  }
  selection.swarm = false;
  if (text == "none") return selection;
  if (text == "all") {
    selection.kinds = defaults;
    return selection;
  }
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    bool known = false;
    for (FaultKind kind : AllFaultKinds()) {
      if (part == FaultKindName(kind)) {
        selection.kinds.insert(kind);
        known = true;
      }
    }
    if (!known) {
      std::vector<std::string> names;
      for (FaultKind kind : AllFaultKinds())
        names.push_back(FaultKindName(kind));
      return PegasusError(ErrorCode::kInvalidArgument,
                          "unknown fault kind '" + std::string(part) +
                              "'; known: swarm, none, all, " +
                              absl::StrJoin(names, ", "));
    }
  }
  return selection;
}

std::string FaultPlan::Describe() const {
  std::vector<std::string> names;
  for (FaultKind kind : AllFaultKinds()) {
    if (has(kind)) names.push_back(FaultKindName(kind));
  }
  return names.empty() ? "none" : absl::StrJoin(names, ",");
}

FaultPlan DrawFaultPlan(const FaultSelection& selection, bool meta_servers,
                        Random& random) {
  FaultPlan plan;
  for (FaultKind kind : AllFaultKinds()) {
    if (!selection.kinds.contains(kind)) continue;
    if ((kind == FaultKind::kPartitionMeta || kind == FaultKind::kDropRecall) &&
        !meta_servers) {
      continue;
    }
    if (selection.swarm && !random.Bernoulli(0.5)) continue;
    plan.enabled.insert(kind);
  }
  // Rates are drawn whether or not the kind is on, so turning one kind off
  // does not shift the others' draws.
  plan.episode_interval_ns = random.UniformIn(500, 4000) * 1'000'000;
  plan.episode_length_ns = random.UniformIn(100, 2000) * 1'000'000;
  const double loss = random.UniformDouble() * 0.2;
  const double duplicate = random.UniformDouble() * 0.3;
  const int64_t disk_jitter_ns = random.UniformIn(100, 5000) * 1000;
  const double read_errors = random.UniformDouble() * 0.01;
  const double write_errors = random.UniformDouble() * 0.005;
  const double torn = 0.3 + random.UniformDouble() * 0.7;
  const double drift = random.UniformDouble() * 0.005;
  const int64_t wall_offset_us = random.UniformIn(0, 500'000);
  if (plan.has(FaultKind::kLoss)) plan.network.loss_probability = loss;
  if (plan.has(FaultKind::kDuplicate)) {
    plan.network.duplicate_probability = duplicate;
  }
  plan.network.reorder = plan.has(FaultKind::kReorder);
  if (plan.has(FaultKind::kSlowDisk)) {
    plan.disk.latency_jitter_mean_ns = disk_jitter_ns;
  }
  if (plan.has(FaultKind::kDiskErrors)) {
    plan.disk.read_error_probability = read_errors;
    plan.disk.write_error_probability = write_errors;
  }
  if (plan.has(FaultKind::kTornWrites)) plan.disk.torn_write_probability = torn;
  if (plan.has(FaultKind::kClockDrift)) {
    plan.max_clock_drift = drift;
    plan.max_wall_offset_us = wall_offset_us;
  }
  return plan;
}

}  // namespace pegasus::sim
