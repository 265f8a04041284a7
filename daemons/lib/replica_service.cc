#include "daemons/lib/replica_service.h"

#include <memory>
#include <string>
#include <utility>

#include "daemons/lib/grpc_status.h"

namespace pegasus::daemons {
namespace {

// A place among the calls waiting for the host, given back when dropped.
struct GiveBack {
  void operator()(std::atomic<int>* in_flight) const {
    in_flight->fetch_sub(1);
  }
};
using InFlight = std::unique_ptr<std::atomic<int>, GiveBack>;

// Finishes one call with the host's answer (UNAVAILABLE if destroyed
// unanswered: the host is stopping).
class Answer {
 public:
  Answer(PendingCall call, proto::DataResponse* response, InFlight in_flight)
      : call_(std::move(call)),
        response_(response),
        in_flight_(std::move(in_flight)) {}
  Answer(Answer&&) = default;

  void operator()(int32_t error, std::string payload) {
    in_flight_.reset();
    if (!response_->ParseFromString(payload)) {
      return call_.Fail(ErrorCode::kServerInternalError,
                        "the answer does not parse");
    }
    if (IsDataOutcome(error)) return call_.Succeed();
    call_.Fail(static_cast<ErrorCode>(error), response_->error_message());
  }

 private:
  PendingCall call_;
  proto::DataResponse* response_;
  InFlight in_flight_;
};

}  // namespace

void ReplicaService::Attach(replication::ReplicaHost* host) {
  absl::MutexLock lock(&mu_);
  host_ = host;
}

void ReplicaService::Detach() {
  absl::MutexLock lock(&mu_);
  host_ = nullptr;
}

grpc::ServerUnaryReactor* ReplicaService::Serve(Context* context,
                                                const Request* request,
                                                Response* response,
                                                Request::OpCase op,
                                                const char* method) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  PendingCall call(context, reactor, "the replica server is stopping");
  if (request->op_case() != op) {
    call.Fail(
        ErrorCode::kInvalidArgument,
        std::string(method) + " takes a DataRequest with its operation set");
    return reactor;
  }
  // Shared: calls only read host_; Attach and Detach change it.
  absl::ReaderMutexLock lock(&mu_);
  if (host_ == nullptr) {
    call.Fail(ErrorCode::kNetworkFailure, "the replica server is not serving");
    return reactor;
  }
  InFlight slot(&in_flight_);
  if (in_flight_.fetch_add(1) >= max_in_flight_) {
    slot.reset();
    call.Fail(ErrorCode::kBusy, "too many requests in flight");
    return reactor;
  }
  host_->ServeData(*request,
                   Answer(std::move(call), response, std::move(slot)));
  return reactor;
}

#define PEGASUS_DATA_METHOD(Method, op)             \
  grpc::ServerUnaryReactor* ReplicaService::Method( \
      Context* c, const Request* q, Response* r) {  \
    return Serve(c, q, r, Request::op, #Method);    \
  }

PEGASUS_DATA_METHOD(Put, kPut)
PEGASUS_DATA_METHOD(MultiPut, kMultiPut)
PEGASUS_DATA_METHOD(Remove, kRemove)
PEGASUS_DATA_METHOD(MultiRemove, kMultiRemove)
PEGASUS_DATA_METHOD(Incr, kIncr)
PEGASUS_DATA_METHOD(CheckAndSet, kCheckAndSet)
PEGASUS_DATA_METHOD(CheckAndMutate, kCheckAndMutate)
PEGASUS_DATA_METHOD(Get, kGet)
PEGASUS_DATA_METHOD(MultiGet, kMultiGet)
PEGASUS_DATA_METHOD(SortKeyCount, kSortkeyCount)
PEGASUS_DATA_METHOD(Ttl, kTtl)
PEGASUS_DATA_METHOD(BatchGet, kBatchGet)
PEGASUS_DATA_METHOD(GetScanner, kGetScanner)
PEGASUS_DATA_METHOD(Scan, kScan)
PEGASUS_DATA_METHOD(ClearScanner, kClearScanner)

#undef PEGASUS_DATA_METHOD

}  // namespace pegasus::daemons
