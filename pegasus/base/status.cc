#include "pegasus/base/status.h"

#include <charconv>
#include <optional>
#include <string>

#include "absl/strings/cord.h"

namespace pegasus {
namespace {

struct ErrorInfo {
  ErrorCode code;
  std::string_view name;
  absl::StatusCode status_code;
};

// The one table: every Pegasus code, its name, and how it travels as an
// absl::StatusCode. The status code says what a caller should do: retry
// (kUnavailable, kDeadlineExceeded, kAborted), fix the request
// (kInvalidArgument, kFailedPrecondition), or treat the answer as data
// (kNotFound, kOutOfRange for an incomplete read).
constexpr ErrorInfo kErrors[] = {
    {ErrorCode::kOk, "PERR_OK", absl::StatusCode::kOk},
    {ErrorCode::kScanComplete, "PERR_SCAN_COMPLETE",
     absl::StatusCode::kOutOfRange},
    {ErrorCode::kUnknown, "PERR_UNKNOWN", absl::StatusCode::kUnknown},
    {ErrorCode::kTimeout, "PERR_TIMEOUT",
     absl::StatusCode::kDeadlineExceeded},
    {ErrorCode::kObjectNotFound, "PERR_OBJECT_NOT_FOUND",
     absl::StatusCode::kUnavailable},
    {ErrorCode::kNetworkFailure, "PERR_NETWORK_FAILURE",
     absl::StatusCode::kUnavailable},
    {ErrorCode::kHandlerNotFound, "PERR_HANDLER_NOT_FOUND",
     absl::StatusCode::kUnimplemented},
    {ErrorCode::kOperationDisabled, "PERR_OPERATION_DISABLED",
     absl::StatusCode::kFailedPrecondition},
    {ErrorCode::kNotEnoughMember, "PERR_NOT_ENOUGH_MEMBER",
     absl::StatusCode::kUnavailable},
    {ErrorCode::kAppNotExist, "PERR_APP_NOT_EXIST",
     absl::StatusCode::kNotFound},
    {ErrorCode::kAppExist, "PERR_APP_EXIST",
     absl::StatusCode::kAlreadyExists},
    {ErrorCode::kServerInternalError, "PERR_SERVER_INTERNAL_ERROR",
     absl::StatusCode::kInternal},
    {ErrorCode::kServerChanged, "PERR_SERVER_CHANGED",
     absl::StatusCode::kUnavailable},
    {ErrorCode::kAppBusy, "PERR_APP_BUSY",
     absl::StatusCode::kResourceExhausted},
    {ErrorCode::kAppSplitting, "PERR_APP_SPLITTING",
     absl::StatusCode::kUnavailable},
    {ErrorCode::kDiskInsufficient, "PERR_DISK_INSUFFICIENT",
     absl::StatusCode::kResourceExhausted},
    {ErrorCode::kInvalidAppName, "PERR_INVALID_APP_NAME",
     absl::StatusCode::kInvalidArgument},
    {ErrorCode::kInvalidHashKey, "PERR_INVALID_HASH_KEY",
     absl::StatusCode::kInvalidArgument},
    {ErrorCode::kInvalidValue, "PERR_INVALID_VALUE",
     absl::StatusCode::kInvalidArgument},
    {ErrorCode::kInvalidParCount, "PERR_INVALID_PAR_COUNT",
     absl::StatusCode::kInvalidArgument},
    {ErrorCode::kInvalidRepCount, "PERR_INVALID_REP_COUNT",
     absl::StatusCode::kInvalidArgument},
    {ErrorCode::kInvalidSplitCount, "PERR_INVALID_SPLIT_COUNT",
     absl::StatusCode::kInvalidArgument},
    {ErrorCode::kNotFound, "PERR_NOT_FOUND", absl::StatusCode::kNotFound},
    {ErrorCode::kCorruption, "PERR_CORRUPTION", absl::StatusCode::kDataLoss},
    {ErrorCode::kNotSupported, "PERR_NOT_SUPPORTED",
     absl::StatusCode::kUnimplemented},
    {ErrorCode::kInvalidArgument, "PERR_INVALID_ARGUMENT",
     absl::StatusCode::kInvalidArgument},
    {ErrorCode::kIoError, "PERR_IO_ERROR", absl::StatusCode::kInternal},
    {ErrorCode::kMergeInProgress, "PERR_MERGE_IN_PROGRESS",
     absl::StatusCode::kAborted},
    {ErrorCode::kIncomplete, "PERR_INCOMPLETE",
     absl::StatusCode::kOutOfRange},
    {ErrorCode::kShutdownInProgress, "PERR_SHUTDOWN_IN_PROGRESS",
     absl::StatusCode::kUnavailable},
    {ErrorCode::kTimedOut, "PERR_TIMED_OUT",
     absl::StatusCode::kDeadlineExceeded},
    {ErrorCode::kAborted, "PERR_ABORTED", absl::StatusCode::kAborted},
    {ErrorCode::kBusy, "PERR_BUSY", absl::StatusCode::kResourceExhausted},
    {ErrorCode::kExpired, "PERR_EXPIRED", absl::StatusCode::kNotFound},
    {ErrorCode::kTryAgain, "PERR_TRY_AGAIN",
     absl::StatusCode::kFailedPrecondition},
};

// For statuses that carry no Pegasus code (made by Abseil or by RocksDB
// conversion without one), the code each absl::StatusCode stands for.
struct StatusCodeDefault {
  absl::StatusCode status_code;
  ErrorCode code;
};

constexpr StatusCodeDefault kDefaults[] = {
    {absl::StatusCode::kOk, ErrorCode::kOk},
    {absl::StatusCode::kCancelled, ErrorCode::kAborted},
    {absl::StatusCode::kInvalidArgument, ErrorCode::kInvalidArgument},
    {absl::StatusCode::kDeadlineExceeded, ErrorCode::kTimeout},
    {absl::StatusCode::kNotFound, ErrorCode::kNotFound},
    {absl::StatusCode::kAlreadyExists, ErrorCode::kAppExist},
    {absl::StatusCode::kPermissionDenied, ErrorCode::kOperationDisabled},
    {absl::StatusCode::kResourceExhausted, ErrorCode::kBusy},
    {absl::StatusCode::kFailedPrecondition, ErrorCode::kOperationDisabled},
    {absl::StatusCode::kAborted, ErrorCode::kAborted},
    {absl::StatusCode::kOutOfRange, ErrorCode::kIncomplete},
    {absl::StatusCode::kUnimplemented, ErrorCode::kNotSupported},
    {absl::StatusCode::kInternal, ErrorCode::kServerInternalError},
    {absl::StatusCode::kUnavailable, ErrorCode::kNetworkFailure},
    {absl::StatusCode::kDataLoss, ErrorCode::kCorruption},
};

constexpr char kPayloadUrl[] = "type.pegasus/error_code";

const ErrorInfo* Find(ErrorCode code) {
  for (const ErrorInfo& info : kErrors) {
    if (info.code == code) return &info;
  }
  return nullptr;
}

std::optional<ErrorCode> AttachedCode(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadUrl);  // absl::optional here.
  if (!payload.has_value()) return std::nullopt;
  std::string text(*payload);
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(),
                                   value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return static_cast<ErrorCode>(value);
}

}  // namespace

std::string_view ErrorCodeName(ErrorCode code) {
  const ErrorInfo* info = Find(code);
  return info == nullptr ? "PERR_UNRECOGNIZED" : info->name;
}

absl::StatusCode ToStatusCode(ErrorCode code) {
  const ErrorInfo* info = Find(code);
  return info == nullptr ? absl::StatusCode::kUnknown : info->status_code;
}

absl::Status PegasusError(ErrorCode code, std::string_view message) {
  PEGASUS_CHECK(code != ErrorCode::kOk) << "an error needs a non-OK code";
  absl::Status status(ToStatusCode(code),
                      absl::string_view(message.data(), message.size()));
  status.SetPayload(kPayloadUrl,
                    absl::Cord(std::to_string(static_cast<int>(code))));
  return status;
}

ErrorCode ToErrorCode(const absl::Status& status) {
  if (status.ok()) return ErrorCode::kOk;
  if (std::optional<ErrorCode> code = AttachedCode(status)) return *code;
  for (const StatusCodeDefault& entry : kDefaults) {
    if (entry.status_code == status.code()) return entry.code;
  }
  return ErrorCode::kUnknown;
}

}  // namespace pegasus
