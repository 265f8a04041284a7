// The Replica gRPC service (pegasus/proto/api.proto) of a replica server:
// each call becomes a data request to the server's ReplicaHost, and its
// answer the call's response.
//
// The host is attached once it has started and detached before it is
// destroyed; calls meanwhile fail with UNAVAILABLE. A call whose request
// the host drops unanswered (the host stopping) fails with UNAVAILABLE
// too: every call is finished exactly once. Beyond max_in_flight calls
// waiting for the host, more are refused (RESOURCE_EXHAUSTED, PERR_BUSY).
//
// Thread-safety: every method may be called from any thread.

#ifndef DAEMONS_LIB_REPLICA_SERVICE_H_
#define DAEMONS_LIB_REPLICA_SERVICE_H_

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "pegasus/proto/api.grpc.pb.h"
#include "pegasus/replication/replica_host.h"

namespace pegasus::daemons {

class ReplicaService final : public proto::Replica::CallbackService {
 public:
  using Request = proto::DataRequest;
  using Response = proto::DataResponse;
  using Reactor = grpc::ServerUnaryReactor;
  using Context = grpc::CallbackServerContext;

  explicit ReplicaService(int max_in_flight = 10'000)
      : max_in_flight_(max_in_flight) {}

  // REQUIRES: `host` is running; it stays so until Detach returns.
  void Attach(replication::ReplicaHost* host);
  // After it no call reaches the host.
  void Detach();

  Reactor* Put(Context* c, const Request* q, Response* r) override;
  Reactor* MultiPut(Context* c, const Request* q, Response* r) override;
  Reactor* Remove(Context* c, const Request* q, Response* r) override;
  Reactor* MultiRemove(Context* c, const Request* q, Response* r) override;
  Reactor* Incr(Context* c, const Request* q, Response* r) override;
  Reactor* CheckAndSet(Context* c, const Request* q, Response* r) override;
  Reactor* CheckAndMutate(Context* c, const Request* q, Response* r) override;
  Reactor* Get(Context* c, const Request* q, Response* r) override;
  Reactor* MultiGet(Context* c, const Request* q, Response* r) override;
  Reactor* SortKeyCount(Context* c, const Request* q, Response* r) override;
  Reactor* Ttl(Context* c, const Request* q, Response* r) override;
  Reactor* BatchGet(Context* c, const Request* q, Response* r) override;
  Reactor* GetScanner(Context* c, const Request* q, Response* r) override;
  Reactor* Scan(Context* c, const Request* q, Response* r) override;
  Reactor* ClearScanner(Context* c, const Request* q, Response* r) override;

 private:
  // Hands the request to the host if it carries the operation `op` (the
  // method's).
  Reactor* Serve(Context* context, const Request* request, Response* response,
                 Request::OpCase op, const char* method);

  const int max_in_flight_;
  std::atomic<int> in_flight_{0};
  absl::Mutex mu_;
  replication::ReplicaHost* host_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_REPLICA_SERVICE_H_
