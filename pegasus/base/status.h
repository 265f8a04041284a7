// Errors across the library are absl::Status values. Each one also carries a
// Pegasus error code (the numbers Pegasus clients know, error_def.h), chosen
// by what the caller should do; one table (status.cc) holds every code, its
// name and the absl::StatusCode it travels as.
//
//   return PegasusError(ErrorCode::kInvalidHashKey, "hash key is empty");
//   ...
//   ErrorCode code = ToErrorCode(status);   // -202
//
// A status made without a Pegasus code (say, by Abseil itself) maps to the
// code of its absl::StatusCode in the same table.
//
// Thread-safety: everything here is a pure function.

#ifndef PEGASUS_BASE_STATUS_H_
#define PEGASUS_BASE_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/base/check.h"

namespace pegasus {

// Pegasus's client error codes (PERR_*), with their numeric values.
enum class ErrorCode : int {
  kOk = 0,
  kScanComplete = 1,
  // General.
  kUnknown = -1,
  kTimeout = -2,
  kObjectNotFound = -3,
  kNetworkFailure = -4,
  kHandlerNotFound = -5,
  kOperationDisabled = -6,
  kNotEnoughMember = -7,
  // Tables and servers.
  kAppNotExist = -101,
  kAppExist = -102,
  kServerInternalError = -103,
  kServerChanged = -104,
  kAppBusy = -105,
  kAppSplitting = -106,
  kDiskInsufficient = -107,
  // Argument validation.
  kInvalidAppName = -201,
  kInvalidHashKey = -202,
  kInvalidValue = -203,
  kInvalidParCount = -204,
  kInvalidRepCount = -205,
  kInvalidSplitCount = -206,
  // Storage statuses (RocksDB's codes, negated and offset by 1000).
  kNotFound = -1001,
  kCorruption = -1002,
  kNotSupported = -1003,
  kInvalidArgument = -1004,
  kIoError = -1005,
  kMergeInProgress = -1006,
  kIncomplete = -1007,
  kShutdownInProgress = -1008,
  kTimedOut = -1009,
  kAborted = -1010,
  kBusy = -1011,
  kExpired = -1012,
  kTryAgain = -1013,
};

// "PERR_INVALID_HASH_KEY" and so on; "PERR_UNRECOGNIZED" for a value outside
// the enum.
std::string_view ErrorCodeName(ErrorCode code);

// The absl::StatusCode a Pegasus code travels as.
absl::StatusCode ToStatusCode(ErrorCode code);

// A status with `code` attached. REQUIRES: code != kOk.
absl::Status PegasusError(ErrorCode code, std::string_view message);

// The Pegasus code of `status`: the attached one if any, else the code the
// table gives its absl::StatusCode (kOk for an OK status).
ErrorCode ToErrorCode(const absl::Status& status);

// True when `status` carries exactly `code`.
inline bool HasErrorCode(const absl::Status& status, ErrorCode code) {
  return ToErrorCode(status) == code;
}

}  // namespace pegasus

// Returns from the enclosing function when `expr` (an absl::Status) fails.
#define PEGASUS_RETURN_IF_ERROR(expr)                             \
  do {                                                            \
    ::absl::Status pegasus_status_ = (expr);                      \
    if (!pegasus_status_.ok()) return pegasus_status_;            \
  } while (false)

#define PEGASUS_STATUS_CONCAT_INNER_(a, b) a##b
#define PEGASUS_STATUS_CONCAT_(a, b) PEGASUS_STATUS_CONCAT_INNER_(a, b)

// PEGASUS_ASSIGN_OR_RETURN(auto value, MaybeValue());
// Evaluates an absl::StatusOr<T>; returns its status on failure, else moves
// the value into `lhs` (a declaration or an existing variable).
#define PEGASUS_ASSIGN_OR_RETURN(lhs, expr)                                \
  PEGASUS_ASSIGN_OR_RETURN_IMPL_(                                          \
      PEGASUS_STATUS_CONCAT_(pegasus_statusor_, __LINE__), lhs, expr)

#define PEGASUS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

// Aborts when `expr` (an absl::Status) is not OK: for calls that cannot fail
// unless the program itself is wrong.
#define PEGASUS_CHECK_OK(expr)                                           \
  for (::absl::Status pegasus_check_status_ = (expr);                    \
       !pegasus_check_status_.ok();)                                     \
  ::pegasus::internal::CheckFailure(__FILE__, __LINE__, #expr).stream()  \
      << pegasus_check_status_.ToString()

#endif  // PEGASUS_BASE_STATUS_H_
