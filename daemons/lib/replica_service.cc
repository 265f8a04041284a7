#include "daemons/lib/replica_service.h"

#include <string>
#include <utility>

#include "daemons/lib/grpc_status.h"

namespace pegasus::daemons {
namespace {

// Finishes one call with the host's answer; finishes it with UNAVAILABLE
// if destroyed unanswered.
class Answer {
 public:
  Answer(grpc::CallbackServerContext* context,
         grpc::ServerUnaryReactor* reactor, proto::DataResponse* response,
         std::atomic<int>* in_flight)
      : context_(context),
        reactor_(reactor),
        response_(response),
        in_flight_(in_flight) {}
  Answer(Answer&& other)
      : context_(other.context_),
        reactor_(std::exchange(other.reactor_, nullptr)),
        response_(other.response_),
        in_flight_(other.in_flight_) {}
  Answer& operator=(Answer&&) = delete;
  ~Answer() {
    if (reactor_ == nullptr) return;
    in_flight_->fetch_sub(1);
    reactor_->Finish(ToGrpcStatus(ErrorCode::kNetworkFailure,
                                  "the replica server is stopping", context_));
  }

  void operator()(int32_t error, std::string payload) {
    grpc::ServerUnaryReactor* reactor = std::exchange(reactor_, nullptr);
    in_flight_->fetch_sub(1);
    if (!response_->ParseFromString(payload)) {
      reactor->Finish(ToGrpcStatus(ErrorCode::kServerInternalError,
                                   "the answer does not parse", context_));
      return;
    }
    if (IsDataOutcome(error)) {
      reactor->Finish(grpc::Status::OK);
      return;
    }
    reactor->Finish(ToGrpcStatus(static_cast<ErrorCode>(error),
                                 response_->error_message(), context_));
  }

 private:
  grpc::CallbackServerContext* const context_;
  grpc::ServerUnaryReactor* reactor_;
  proto::DataResponse* const response_;
  std::atomic<int>* const in_flight_;
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
  if (request->op_case() != op) {
    reactor->Finish(ToGrpcStatus(
        ErrorCode::kInvalidArgument,
        std::string(method) + " takes a DataRequest with its operation set",
        context));
    return reactor;
  }
  absl::MutexLock lock(&mu_);
  if (host_ == nullptr) {
    reactor->Finish(ToGrpcStatus(ErrorCode::kNetworkFailure,
                                 "the replica server is not serving", context));
    return reactor;
  }
  if (in_flight_.fetch_add(1) >= max_in_flight_) {
    in_flight_.fetch_sub(1);
    reactor->Finish(
        ToGrpcStatus(ErrorCode::kBusy, "too many requests in flight", context));
    return reactor;
  }
  host_->ServeData(*request, Answer(context, reactor, response, &in_flight_));
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
