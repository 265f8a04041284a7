// The fault model: which faults a run injects and how often.
//
// Swarm testing: by default each seed enables its own random subset of the
// fault kinds, each with its own rates, so that across seeds every kind runs
// alone, together with others, gently and hard. --faults narrows the kinds a
// seed may draw from; the rates are still drawn per seed.
//
// Kinds, and what each does while enabled:
//   crash            a server stops at once (unsynced disk data lost) and
//                    restarts after a random downtime
//   pause            a server stops taking events for a while
//   partition_one    one server is cut from everyone, both ways
//   partition_split  the servers split into a majority and a minority
//   partition_oneway one link is cut in one direction only
//   partition_meta   a server is cut from the meta servers only (runs that
//                    have meta servers)
//   clog             one link holds its messages for a while
//   loss             each message is dropped with a per-seed probability
//   duplicate        each message is delivered twice with a probability
//   reorder          messages on a link may overtake each other
//   slow_disk        disk operations take longer, with jitter
//   disk_errors      reads and writes fail with small probabilities
//   torn_writes      a crash may leave part of the last unsynced write
//   clock_drift      each process's clock runs fast or slow within
//                    max_clock_drift, and wall clocks are offset
//   drop_recall      an operator drops the table, and recalls it a while
//                    later (runs that have meta servers)
//   bitflip          a bit of synced data flips while a server is down
//                    (never drawn by swarm: a single copy cannot survive it)

#ifndef PEGASUS_TESTING_SIM_FAULTS_H_
#define PEGASUS_TESTING_SIM_FAULTS_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pegasus/base/random.h"
#include "testing/sim/network.h"
#include "testing/sim/sim_disk.h"

namespace pegasus::sim {

enum class FaultKind {
  kCrash,
  kPause,
  kPartitionOne,
  kPartitionSplit,
  kPartitionOneWay,
  kPartitionMeta,
  kClog,
  kLoss,
  kDuplicate,
  kReorder,
  kSlowDisk,
  kDiskErrors,
  kTornWrites,
  kClockDrift,
  kDropRecall,
  kBitFlip,
};

const std::vector<FaultKind>& AllFaultKinds();
const char* FaultKindName(FaultKind kind);

// What --faults says: "swarm" (the default: every kind but bitflip, a random
// subset per seed), "none", "all" (every kind but bitflip, all on), or a
// comma-separated list of kinds, all on.
struct FaultSelection {
  bool swarm = true;
  std::set<FaultKind> kinds;
};
absl::StatusOr<FaultSelection> ParseFaultSelection(const std::string& text);

// One seed's faults and rates.
struct FaultPlan {
  std::set<FaultKind> enabled;
  // Mean time between fault episodes (crash, pause, partitions, clogs), ns.
  int64_t episode_interval_ns = 3'000'000'000;
  // Mean length of an episode (a partition, a pause, a clog, a downtime), ns.
  int64_t episode_length_ns = 1'000'000'000;
  NetworkOptions network;
  DiskOptions disk;
  // Bound on |drift| of each process's clock rate (a fraction: 0.001 is
  // 1000 ppm), and on wall clock offsets, in microseconds.
  double max_clock_drift = 0;
  int64_t max_wall_offset_us = 0;

  bool has(FaultKind kind) const { return enabled.contains(kind); }
  // "crash,loss,..." or "none".
  std::string Describe() const;
};

// Draws a seed's plan. `meta_servers`: whether partition_meta and
// drop_recall can apply.
FaultPlan DrawFaultPlan(const FaultSelection& selection, bool meta_servers,
                        Random& random);

}  // namespace pegasus::sim

#endif  // PEGASUS_TESTING_SIM_FAULTS_H_
