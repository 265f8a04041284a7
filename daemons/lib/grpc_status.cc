#include "daemons/lib/grpc_status.h"

#include <utility>

namespace pegasus::daemons {

grpc::Status ToGrpcStatus(ErrorCode code, const std::string& message,
                          grpc::ServerContextBase* context) {
  const std::string name(ErrorCodeName(code));
  if (context != nullptr) context->AddTrailingMetadata(kPegasusErrorKey, name);
  // absl's status codes are gRPC's, number for number.
  return grpc::Status(static_cast<grpc::StatusCode>(ToStatusCode(code)),
                      name + ": " + message);
}

grpc::Status ToGrpcStatus(const absl::Status& status,
                          grpc::ServerContextBase* context) {
  if (status.ok()) return grpc::Status::OK;
  return ToGrpcStatus(ToErrorCode(status), std::string(status.message()),
                      context);
}

PendingCall::PendingCall(PendingCall&& other)
    : context_(other.context_),
      reactor_(std::exchange(other.reactor_, nullptr)),
      unfinished_(other.unfinished_) {}

PendingCall::~PendingCall() {
  if (reactor_ != nullptr) Fail(ErrorCode::kNetworkFailure, unfinished_);
}

void PendingCall::Succeed() {
  std::exchange(reactor_, nullptr)->Finish(grpc::Status::OK);
}

void PendingCall::Fail(ErrorCode code, const std::string& message) {
  std::exchange(reactor_, nullptr)
      ->Finish(ToGrpcStatus(code, message, context_));
}

bool IsDataOutcome(int32_t error) {
  switch (static_cast<ErrorCode>(error)) {
    case ErrorCode::kOk:
    case ErrorCode::kNotFound:
    case ErrorCode::kIncomplete:
    case ErrorCode::kTryAgain:
      return true;
    default:
      return false;
  }
}

}  // namespace pegasus::daemons
