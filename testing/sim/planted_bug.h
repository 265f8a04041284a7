// Deliberately broken variants of the simulated services, to prove the
// checkers catch what they should. Each names one classic bug.

#ifndef PEGASUS_TESTING_SIM_PLANTED_BUG_H_
#define PEGASUS_TESTING_SIM_PLANTED_BUG_H_

#include <string>

#include "absl/status/statusor.h"

namespace pegasus::sim {

enum class PlantedBug {
  kNone,
  // The single-copy service (kv_service.h).
  // Reads are sometimes answered from a cache that writes never invalidate.
  kStaleCache,
  // Writes are acknowledged once appended to the log, before it is synced.
  kAckBeforeSync,
  // The replicated cluster (replication/core/replica_types.h has the
  // replica's; the meta server's are in meta_options.h).
  kMajorityCommit,
  kSecondaryRead,
  // The servers' lease is not shorter than the meta server's grace.
  kLeaseGeGrace,
  kAckBeforeDurable,
  kSkipReconciliation,
  kStaleBallotPrepare,
  kEarlyLearnerUpgrade,
  // The meta server promotes a dropped replica that was not the last one.
  kPromoteRemoved,
};

const char* PlantedBugName(PlantedBug bug);
// PERR_INVALID_ARGUMENT naming the known bugs for an unknown name.
absl::StatusOr<PlantedBug> ParsePlantedBug(const std::string& name);
// True for the bugs of the single-copy service.
bool IsSingleCopyBug(PlantedBug bug);

}  // namespace pegasus::sim

#endif  // PEGASUS_TESTING_SIM_PLANTED_BUG_H_
