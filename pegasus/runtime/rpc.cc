#include "pegasus/runtime/rpc.h"

#include <utility>

#include "pegasus/base/check.h"
#include "pegasus/base/coding.h"
#include "pegasus/base/status.h"

namespace pegasus {
namespace {

// Wire format (all integers big-endian):
//   request:  [u8 1][u64 session][u64 call id][u64 oldest pending call id]
//             [u32 attempt][u32 method][payload]
//   response: [u8 2][u64 session][u64 call id][i32 Pegasus error code]
//             [u32 n][n bytes of error message][payload]
//   notification: [u8 3][u32 method][payload]
constexpr uint8_t kRequestKind = 1;
constexpr uint8_t kResponseKind = 2;
constexpr uint8_t kNotificationKind = 3;
constexpr size_t kNotificationHeaderBytes = 1 + 4;
constexpr size_t kRequestHeaderBytes = 1 + 8 + 8 + 8 + 4 + 4;
constexpr size_t kResponseHeaderBytes = 1 + 8 + 8 + 4 + 4;

std::string EncodeResponse(uint64_t session, uint64_t call_id,
                           const absl::StatusOr<std::string>& response) {
  const ErrorCode code =
      response.ok() ? ErrorCode::kOk : ToErrorCode(response.status());
  const std::string_view message =
      response.ok() ? std::string_view()
                    : std::string_view(response.status().message().data(),
                                       response.status().message().size());
  const std::string_view payload =
      response.ok() ? std::string_view(*response) : std::string_view();
  std::string out;
  out.reserve(kResponseHeaderBytes + message.size() + payload.size());
  out.push_back(static_cast<char>(kResponseKind));
  PutBigEndian64(&out, session);
  PutBigEndian64(&out, call_id);
  PutBigEndian32(&out, static_cast<uint32_t>(static_cast<int32_t>(code)));
  PutBigEndian32(&out, static_cast<uint32_t>(message.size()));
  out += message;
  out += payload;
  return out;
}

}  // namespace

// What a Responder needs of its endpoint, outliving it: the endpoint clears
// `endpoint` when it goes away.
struct RpcEndpoint::Responder::Shared {
  RpcEndpoint* endpoint = nullptr;
};

RpcEndpoint::Responder::Responder(std::weak_ptr<Shared> shared, NodeId caller,
                                  uint64_t session, uint64_t call_id)
    : shared_(std::move(shared)),
      caller_(caller),
      session_(session),
      call_id_(call_id) {}

void RpcEndpoint::Responder::Reply(absl::StatusOr<std::string> response) {
  PEGASUS_CHECK(!replied_) << "a request answered twice";
  replied_ = true;
  std::shared_ptr<Shared> shared = shared_.lock();
  if (shared == nullptr || shared->endpoint == nullptr ||
      shared->endpoint->shut_down_) {
    return;
  }
  shared->endpoint->transport_->Send(
      caller_, EncodeResponse(session_, call_id_, response));
}

RpcEndpoint::RpcEndpoint(Transport* transport, Executor* executor,
                         uint64_t session_id, const RpcOptions& options)
    : transport_(transport),
      executor_(executor),
      session_id_(session_id),
      options_(options),
      shared_(std::make_shared<Responder::Shared>()) {
  PEGASUS_CHECK_NE(session_id, 0u) << "an rpc session id may not be 0";
  shared_->endpoint = this;
  std::weak_ptr<Responder::Shared> weak = shared_;
  transport_->SetReceiver([weak](NodeId from, std::string message) {
    std::shared_ptr<Responder::Shared> shared = weak.lock();
    if (shared != nullptr && shared->endpoint != nullptr) {
      shared->endpoint->Receive(from, std::move(message));
    }
  });
}

RpcEndpoint::~RpcEndpoint() {
  for (auto& [id, call] : pending_) executor_->Cancel(call.timer);
  shared_->endpoint = nullptr;
}

void RpcEndpoint::RegisterHandler(RpcMethod method, Handler handler) {
  const bool inserted = handlers_.emplace(method, std::move(handler)).second;
  PEGASUS_CHECK(inserted) << "method " << method << " registered twice";
}

void RpcEndpoint::RegisterNotificationHandler(RpcMethod method,
                                              NotificationHandler handler) {
  const bool inserted =
      notification_handlers_.emplace(method, std::move(handler)).second;
  PEGASUS_CHECK(inserted) << "notification " << method << " registered twice";
}

void RpcEndpoint::Notify(NodeId to, RpcMethod method, std::string payload) {
  if (shut_down_) return;
  ++stats_.notifications_sent;
  std::string message;
  message.reserve(kNotificationHeaderBytes + payload.size());
  message.push_back(static_cast<char>(kNotificationKind));
  PutBigEndian32(&message, method);
  message += payload;
  transport_->Send(to, std::move(message));
}

void RpcEndpoint::Call(NodeId to, RpcMethod method, std::string request,
                       const CallOptions& options, Done done) {
  PEGASUS_CHECK_GE(options.max_attempts, 1);
  PEGASUS_CHECK_GE(options.timeout_ns, 0);
  ++stats_.calls;
  if (shut_down_) {
    FailLater(std::move(done),
              PegasusError(ErrorCode::kAborted, "rpc endpoint shut down"));
    return;
  }
  if (pending_.size() >= options_.max_pending_calls) {
    FailLater(
        std::move(done),
        PegasusError(ErrorCode::kBusy,
                     "too many pending calls (max_pending_calls=" +
                         std::to_string(options_.max_pending_calls) + ")"));
    return;
  }
  const uint64_t call_id = next_call_id_++;
  PendingCall& call = pending_[call_id];
  call.to = to;
  call.method = method;
  call.request = std::move(request);
  call.options = options;
  call.done = std::move(done);
  SendAttempt(call_id);
}

void RpcEndpoint::SendAttempt(uint64_t call_id) {
  PendingCall& call = pending_.at(call_id);
  ++call.attempts;
  call.timer = executor_->ScheduleAfter(
      call.options.timeout_ns, [this, call_id] { AttemptTimedOut(call_id); });
  std::string message;
  message.reserve(kRequestHeaderBytes + call.request.size());
  message.push_back(static_cast<char>(kRequestKind));
  PutBigEndian64(&message, session_id_);
  PutBigEndian64(&message, call_id);
  PutBigEndian64(&message, pending_.begin()->first);
  PutBigEndian32(&message, static_cast<uint32_t>(call.attempts));
  PutBigEndian32(&message, call.method);
  message += call.request;
  transport_->Send(call.to, std::move(message));
}

void RpcEndpoint::AttemptTimedOut(uint64_t call_id) {
  auto it = pending_.find(call_id);
  if (it == pending_.end()) return;
  PendingCall& call = it->second;
  call.timer = kNoTimer;
  if (call.attempts >= call.options.max_attempts) {
    ++stats_.timeouts;
    Finish(call_id,
           PegasusError(ErrorCode::kTimeout,
                        "no response from " + call.to.ToString() + " after " +
                            std::to_string(call.attempts) + " attempt(s)"));
    return;
  }
  ++stats_.retries;
  if (call.options.retry_backoff_ns <= 0) {
    SendAttempt(call_id);
    return;
  }
  // The backoff timer stands in the attempt timer's place, so a response
  // that arrives meanwhile cancels it.
  call.timer =
      executor_->ScheduleAfter(call.options.retry_backoff_ns, [this, call_id] {
        auto again = pending_.find(call_id);
        if (again == pending_.end()) return;
        again->second.timer = kNoTimer;
        SendAttempt(call_id);
      });
}

void RpcEndpoint::Finish(uint64_t call_id, absl::StatusOr<std::string> result) {
  auto it = pending_.find(call_id);
  PEGASUS_CHECK(it != pending_.end());
  Done done = std::move(it->second.done);
  if (it->second.timer != kNoTimer) executor_->Cancel(it->second.timer);
  pending_.erase(it);
  std::move(done)(std::move(result));
}

void RpcEndpoint::FailLater(Done done, absl::Status status) {
  executor_->Post(
      [done = std::move(done), status = std::move(status)]() mutable {
        std::move(done)(std::move(status));
      });
}

void RpcEndpoint::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  while (!pending_.empty()) {
    Finish(pending_.begin()->first,
           PegasusError(ErrorCode::kAborted, "rpc endpoint shut down"));
  }
}

void RpcEndpoint::Receive(NodeId from, std::string message) {
  if (shut_down_) return;
  if (message.empty()) {
    ++stats_.malformed_messages;
    return;
  }
  const uint8_t kind = static_cast<uint8_t>(message[0]);
  if (kind == kRequestKind && message.size() >= kRequestHeaderBytes) {
    RequestHeader header;
    header.session = DecodeBigEndian64(message.data() + 1);
    header.call_id = DecodeBigEndian64(message.data() + 9);
    header.oldest_pending = DecodeBigEndian64(message.data() + 17);
    header.attempt = DecodeBigEndian32(message.data() + 25);
    header.method = DecodeBigEndian32(message.data() + 29);
    if (header.oldest_pending <= header.call_id) {
      ReceiveRequest(from, header, message.substr(kRequestHeaderBytes));
      return;
    }
  }
  if (kind == kNotificationKind && message.size() >= kNotificationHeaderBytes) {
    const RpcMethod method = DecodeBigEndian32(message.data() + 1);
    auto it = notification_handlers_.find(method);
    if (it == notification_handlers_.end()) {
      ++stats_.notifications_unhandled;
      return;
    }
    ++stats_.notifications_received;
    it->second(from, message.substr(kNotificationHeaderBytes));
    return;
  }
  if (kind == kResponseKind && message.size() >= kResponseHeaderBytes) {
    const uint64_t session = DecodeBigEndian64(message.data() + 1);
    const uint64_t call_id = DecodeBigEndian64(message.data() + 9);
    const auto code =
        static_cast<int32_t>(DecodeBigEndian32(message.data() + 17));
    const uint32_t message_bytes = DecodeBigEndian32(message.data() + 21);
    if (session != session_id_) {
      ++stats_.late_responses;  // For an earlier incarnation of this node.
      return;
    }
    if (message_bytes <= message.size() - kResponseHeaderBytes) {
      absl::Status status;
      if (code != 0) {
        status =
            PegasusError(static_cast<ErrorCode>(code),
                         std::string_view(message.data() + kResponseHeaderBytes,
                                          message_bytes));
      }
      ReceiveResponse(from, call_id, std::move(status),
                      message.substr(kResponseHeaderBytes + message_bytes));
      return;
    }
  }
  ++stats_.malformed_messages;
}

bool RpcEndpoint::FirstDelivery(NodeId from, const RequestHeader& header) {
  const std::pair<uint64_t, uint64_t> key{from.value, header.session};
  auto it = callers_.find(key);
  if (it == callers_.end()) {
    if (callers_.size() >= options_.max_remembered_sessions) {
      auto oldest = callers_.begin();
      for (auto c = callers_.begin(); c != callers_.end(); ++c) {
        if (c->second.last_heard < oldest->second.last_heard) oldest = c;
      }
      callers_.erase(oldest);
    }
    it = callers_.emplace(key, CallerSession{}).first;
  }
  CallerSession& caller = it->second;
  caller.last_heard = ++requests_heard_;
  if (header.call_id < caller.floor) return false;
  if (header.oldest_pending > caller.floor) {
    caller.floor = header.oldest_pending;
    caller.served.erase(caller.served.begin(),
                        caller.served.lower_bound({caller.floor, 0}));
  }
  return caller.served.insert({header.call_id, header.attempt}).second;
}

void RpcEndpoint::ReceiveRequest(NodeId from, const RequestHeader& header,
                                 std::string payload) {
  if (!FirstDelivery(from, header)) {
    ++stats_.duplicate_requests;
    return;
  }
  Responder responder(shared_, from, header.session, header.call_id);
  auto it = handlers_.find(header.method);
  if (it == handlers_.end()) {
    responder.Reply(PegasusError(ErrorCode::kHandlerNotFound,
                                 "no handler for method " +
                                     std::to_string(header.method) + " on " +
                                     self().ToString()));
    return;
  }
  ++stats_.requests_served;
  it->second(from, std::move(payload), std::move(responder));
}

void RpcEndpoint::ReceiveResponse(NodeId from, uint64_t call_id,
                                  absl::Status status, std::string payload) {
  auto it = pending_.find(call_id);
  if (it == pending_.end() || it->second.to != from) {
    ++stats_.late_responses;
    return;
  }
  if (status.ok()) {
    Finish(call_id, std::move(payload));
  } else {
    Finish(call_id, std::move(status));
  }
}

}  // namespace pegasus
