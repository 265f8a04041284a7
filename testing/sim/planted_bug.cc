#include "testing/sim/planted_bug.h"

#include "absl/strings/str_join.h"
#include "pegasus/base/status.h"

namespace pegasus::sim {
namespace {

constexpr PlantedBug kAll[] = {
    PlantedBug::kNone,
    PlantedBug::kStaleCache,
    PlantedBug::kAckBeforeSync,
    PlantedBug::kMajorityCommit,
    PlantedBug::kSecondaryRead,
    PlantedBug::kLeaseGeGrace,
    PlantedBug::kAckBeforeDurable,
    PlantedBug::kSkipReconciliation,
    PlantedBug::kStaleBallotPrepare,
    PlantedBug::kEarlyLearnerUpgrade,
    PlantedBug::kPromoteRemoved,
};

}  // namespace

const char* PlantedBugName(PlantedBug bug) {
  switch (bug) {
    case PlantedBug::kNone:
      return "none";
    case PlantedBug::kStaleCache:
      return "stale_cache";
    case PlantedBug::kAckBeforeSync:
      return "ack_before_sync";
    case PlantedBug::kMajorityCommit:
      return "majority_commit";
    case PlantedBug::kSecondaryRead:
      return "secondary_read";
    case PlantedBug::kLeaseGeGrace:
      return "lease_ge_grace";
    case PlantedBug::kAckBeforeDurable:
      return "ack_before_durable";
    case PlantedBug::kSkipReconciliation:
      return "skip_reconciliation";
    case PlantedBug::kStaleBallotPrepare:
      return "stale_ballot_prepare";
    case PlantedBug::kEarlyLearnerUpgrade:
      return "early_learner_upgrade";
    case PlantedBug::kPromoteRemoved:
      return "promote_removed";
  }
  return "?";
}

absl::StatusOr<PlantedBug> ParsePlantedBug(const std::string& name) {
  std::vector<std::string> names;
  for (PlantedBug bug : kAll) {
    if (name == PlantedBugName(bug)) return bug;
    names.push_back(PlantedBugName(bug));
  }
  return PegasusError(ErrorCode::kInvalidArgument,
                      "unknown planted bug '" + name +
                          "' (known: " + absl::StrJoin(names, ", ") + ")");
}

bool IsSingleCopyBug(PlantedBug bug) {
  return bug == PlantedBug::kStaleCache || bug == PlantedBug::kAckBeforeSync;
}

}  // namespace pegasus::sim
