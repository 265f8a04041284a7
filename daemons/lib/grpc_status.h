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

// Whether a data request answered with `error` was carried out, its
// outcome being in the response (PERR_OK, PERR_NOT_FOUND, PERR_INCOMPLETE,
// PERR_TRY_AGAIN), rather than refused.
bool IsDataOutcome(int32_t error);

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_GRPC_STATUS_H_
