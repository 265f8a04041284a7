// Pegasus errors as gRPC statuses (docs/protocol.md, "Status codes").

#ifndef DAEMONS_LIB_GRPC_STATUS_H_
#define DAEMONS_LIB_GRPC_STATUS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "pegasus/base/status.h"

namespace pegasus::daemons {

// The trailing metadata key that carries the Pegasus error's name.
inline constexpr char kPegasusErrorKey[] = "pegasus-error";

// A failed request's status: the code its Pegasus error travels as, and
// "PERR_NAME: message". Also sets the "pegasus-error" trailer on `context`
// (when given), which must not have finished.
grpc::Status ToGrpcStatus(ErrorCode code, const std::string& message,
                          grpc::ServerContextBase* context);
grpc::Status ToGrpcStatus(const absl::Status& status,
                          grpc::ServerContextBase* context);

// One unary call to finish: exactly once, by Succeed or Fail, or by the
// destructor with UNAVAILABLE (`unfinished`) when it is destroyed first
// (its work dropped, the daemon stopping). Movable, so it can travel with
// the work.
class PendingCall {
 public:
  PendingCall(grpc::CallbackServerContext* context,
              grpc::ServerUnaryReactor* reactor, const char* unfinished)
      : context_(context), reactor_(reactor), unfinished_(unfinished) {}
  PendingCall(PendingCall&& other);
  PendingCall& operator=(PendingCall&&) = delete;
  ~PendingCall();

  void Succeed();
  void Fail(ErrorCode code, const std::string& message);

 private:
  grpc::CallbackServerContext* const context_;
  grpc::ServerUnaryReactor* reactor_;  // Null once finished or moved from.
  const char* const unfinished_;
};

// Whether a data request answered with `error` was carried out, its
// outcome being in the response (PERR_OK, PERR_NOT_FOUND, PERR_INCOMPLETE,
// PERR_TRY_AGAIN), rather than refused.
bool IsDataOutcome(int32_t error);

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_GRPC_STATUS_H_
