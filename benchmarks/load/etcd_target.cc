#include "benchmarks/load/etcd_target.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "absl/strings/str_split.h"
#include "benchmarks/load/etcd_kv.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "pegasus/base/status.h"

namespace pegasus::load {
namespace {

// A record's etcd key: its hash key and sort key, so a hash key's records
// are one key range.
std::string EtcdKey(const RecordKey& key) {
  return key.hash_key + "/" + key.sort_key;
}

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// One call in flight. Its completion holds it, and gRPC holds the
// completion until the call ends.
template <typename Request, typename Response>
struct EtcdCall {
  grpc::ClientContext context;
  Request request;
  Response response;
  OpDone done;
};

class EtcdSession final : public Session {
 public:
  EtcdSession(std::shared_ptr<grpc::Channel> channel, int64_t timeout_ms)
      : stub_(etcdserverpb::KV::NewStub(channel)), timeout_ms_(timeout_ms) {}

  void Read(const RecordKey& key, OpDone done) override {
    etcdserverpb::RangeRequest request;
    request.set_key(EtcdKey(key));
    StartRange(std::move(request), std::move(done), /*report_found=*/true);
  }

  void Write(const RecordKey& key, std::string value, OpDone done) override {
    auto call = NewCall<etcdserverpb::PutRequest, etcdserverpb::PutResponse>(
        std::move(done));
    call->request.set_key(EtcdKey(key));
    call->request.set_value(std::move(value));
    stub_->async()->Put(&call->context, &call->request, &call->response,
                        [call](grpc::Status status) {
                          call->done({.status = FromGrpc(status)});
                        });
  }

  void Scan(const RecordKey& start, int count, OpDone done) override {
    etcdserverpb::RangeRequest request;
    request.set_key(EtcdKey(start));
    // To the end of the hash key, as the Pegasus target's scan.
    request.set_range_end(start.hash_key + "0");  // '/' + 1 == '0'.
    request.set_limit(count);
    StartRange(std::move(request), std::move(done), /*report_found=*/false);
  }

 private:
  // A read reports whether its key was there; a scan does not.
  void StartRange(etcdserverpb::RangeRequest request, OpDone done,
                  bool report_found) {
    auto call =
        NewCall<etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>(
            std::move(done));
    call->request = std::move(request);
    stub_->async()->Range(
        &call->context, &call->request, &call->response,
        [call, report_found](grpc::Status status) {
          const bool found =
              !report_found || (status.ok() && call->response.kvs_size() > 0);
          call->done({.status = FromGrpc(status), .found = found});
        });
  }

  template <typename Request, typename Response>
  std::shared_ptr<EtcdCall<Request, Response>> NewCall(OpDone done) {
    auto call = std::make_shared<EtcdCall<Request, Response>>();
    call->done = std::move(done);
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::milliseconds(timeout_ms_));
    return call;
  }

  std::unique_ptr<etcdserverpb::KV::Stub> stub_;
  int64_t timeout_ms_;
};

class EtcdTarget final : public Target {
 public:
  std::string name() const override { return "etcd (" + endpoints_ + ")"; }

  std::unique_ptr<Session> NewSession(int index) override {
    return std::make_unique<EtcdSession>(channels_[index % channels_.size()],
                                         timeout_ms_);
  }

  std::string endpoints_;
  int64_t timeout_ms_ = 5000;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Target>> OpenEtcd(const std::string& endpoints,
                                                 int channels,
                                                 int64_t timeout_ms) {
  auto target = std::make_unique<EtcdTarget>();
  target->endpoints_ = endpoints;
  target->timeout_ms_ = timeout_ms;
  for (const std::string& endpoint :
       std::vector<std::string>(absl::StrSplit(endpoints, ','))) {
    if (endpoint.empty()) continue;
    // Each channel its own connection, shared round robin.
    for (int i = 0; i < std::max(1, channels); ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      target->channels_.push_back(grpc::CreateCustomChannel(
          endpoint, grpc::InsecureChannelCredentials(), args));
    }
  }
  if (target->channels_.empty()) {
    return PegasusError(ErrorCode::kInvalidArgument, "no etcd endpoint given");
  }
  return target;
}

}  // namespace pegasus::load
