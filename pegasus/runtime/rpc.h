// Request/response over a Transport, written once for everything above it:
// call ids, per-attempt deadlines, retries, and replies that may come later
// than the handler returns.
//
//   RpcEndpoint rpc(transport, executor);
//   rpc.RegisterHandler(kGetMethod, [](NodeId from, std::string request,
//                                      RpcEndpoint::Responder responder) {
//     responder.Reply(Lookup(request));
//   });
//   rpc.Call(server, kGetMethod, request, {.timeout_ns = 500'000'000},
//            [](absl::StatusOr<std::string> response) { ... });
//
// Delivery: a call is answered by the first response to any of its attempts.
// When an attempt gets no response within timeout_ns the request is sent
// again (same call id), up to max_attempts in all; then the call fails with
// PERR_TIMEOUT. A handler may therefore see one call more than once: retry
// only calls whose handlers are idempotent. A call that timed out may still
// have taken effect.
//
// The transport may duplicate messages; the endpoint does not. Each request
// carries the caller's session id, its call id, its attempt number and the
// caller's oldest call still pending; the callee remembers the (call,
// attempt) pairs it has served at or above that floor and drops repeats, so
// one attempt runs a handler at most once, with state bounded by the
// caller's pending calls. Responses carry the session too, so a restarted
// caller (a new session) never takes an old incarnation's response.
//
// Notifications are one-way messages: Notify sends one, and the handler
// registered for its method with RegisterNotificationHandler gets it; no
// response, no retry, no dedup (the transport may drop, duplicate or reorder
// them, so their handlers must be idempotent). Protocols that do their own
// retries and acknowledgements (replication) use them.
//
// Errors a caller sees: the handler's own status (its Pegasus code and
// message travel intact); PERR_TIMEOUT; PERR_HANDLER_NOT_FOUND for a method
// the callee does not serve; PERR_BUSY when max_pending_calls are already
// waiting; PERR_ABORTED after Shutdown().
//
// Malformed messages from a peer are counted (stats().malformed_messages)
// and dropped; they never change state.
//
// Thread-safety: everything runs on the executor; call Call, RegisterHandler
// and Shutdown from it. Done callbacks and handlers run on it too, never
// inline inside Call.

#ifndef PEGASUS_RUNTIME_RPC_H_
#define PEGASUS_RUNTIME_RPC_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/runtime/executor.h"
#include "pegasus/runtime/transport.h"

namespace pegasus {

using RpcMethod = uint32_t;

struct RpcOptions {
  // Calls waiting for a response at once; a call beyond it fails at once
  // with PERR_BUSY.
  size_t max_pending_calls = 4096;
  // Callers (node and session) whose served requests are remembered for
  // dropping duplicates; beyond it the least recently heard from is
  // forgotten.
  size_t max_remembered_sessions = 1024;
};

struct CallOptions {
  // How long one attempt waits for its response, in nanoseconds.
  int64_t timeout_ns = 1'000'000'000;
  // Attempts in all (>= 1): 1 means no retry.
  int max_attempts = 1;
  // Pause between an attempt's timeout and the next attempt, in nanoseconds.
  int64_t retry_backoff_ns = 0;
};

struct RpcStats {
  uint64_t calls = 0;
  uint64_t retries = 0;
  uint64_t timeouts = 0;
  uint64_t requests_served = 0;
  // Responses for calls no longer pending (answered already, timed out).
  uint64_t late_responses = 0;
  // Requests dropped as repeats of an attempt already served.
  uint64_t duplicate_requests = 0;
  uint64_t malformed_messages = 0;
  uint64_t notifications_sent = 0;
  uint64_t notifications_received = 0;
  // Notifications for a method without a handler.
  uint64_t notifications_unhandled = 0;
};

class RpcEndpoint {
 public:
  // Answers one request. Movable, not copyable; Reply at most once. A
  // responder dropped without replying leaves the caller to time out.
  // Replying after the endpoint is gone is harmless (nothing is sent).
  class Responder {
   public:
    Responder(Responder&&) = default;
    Responder& operator=(Responder&&) = default;
    void Reply(absl::StatusOr<std::string> response);

   private:
    friend class RpcEndpoint;
    struct Shared;
    Responder(std::weak_ptr<Shared> shared, NodeId caller, uint64_t session,
              uint64_t call_id);

    std::weak_ptr<Shared> shared_;
    NodeId caller_;
    uint64_t session_ = 0;
    uint64_t call_id_ = 0;
    bool replied_ = false;
  };

  using Handler = absl::AnyInvocable<void(NodeId from, std::string request,
                                          Responder responder)>;
  using Done = absl::AnyInvocable<void(absl::StatusOr<std::string> response)>;
  using NotificationHandler =
      absl::AnyInvocable<void(NodeId from, std::string payload)>;

  // Takes over the transport's receiver. `transport` and `executor` must
  // outlive the endpoint. `session_id` must differ between incarnations of
  // the same node (draw it from the node's Random); it may not be 0.
  RpcEndpoint(Transport* transport, Executor* executor, uint64_t session_id,
              const RpcOptions& options = {});
  ~RpcEndpoint();

  RpcEndpoint(const RpcEndpoint&) = delete;
  RpcEndpoint& operator=(const RpcEndpoint&) = delete;

  NodeId self() const { return transport_->self(); }

  // REQUIRES: no handler registered for `method` yet.
  void RegisterHandler(RpcMethod method, Handler handler);

  // REQUIRES: no notification handler registered for `method` yet.
  void RegisterNotificationHandler(RpcMethod method,
                                   NotificationHandler handler);

  // Sends a one-way message; nothing comes back. Dropped after Shutdown().
  void Notify(NodeId to, RpcMethod method, std::string payload);

  // Sends `request` to `to`; `done` runs exactly once, on the executor.
  void Call(NodeId to, RpcMethod method, std::string request,
            const CallOptions& options, Done done);

  // Fails every pending call with PERR_ABORTED and stops serving; later
  // calls fail the same way.
  void Shutdown();

  const RpcStats& stats() const { return stats_; }
  size_t pending_calls() const { return pending_.size(); }

 private:
  struct PendingCall {
    NodeId to;
    RpcMethod method = 0;
    std::string request;
    CallOptions options;
    Done done;
    int attempts = 0;
    TimerId timer = kNoTimer;
  };

  // What the callee remembers of one caller session.
  struct CallerSession {
    uint64_t floor = 0;  // The caller's oldest pending call, as last told.
    std::set<std::pair<uint64_t, uint32_t>> served;  // (call id, attempt).
    uint64_t last_heard = 0;
  };
  struct RequestHeader {
    uint64_t session = 0;
    uint64_t call_id = 0;
    uint64_t oldest_pending = 0;
    uint32_t attempt = 0;
    RpcMethod method = 0;
  };

  void Receive(NodeId from, std::string message);
  // False when the request repeats an attempt already served.
  bool FirstDelivery(NodeId from, const RequestHeader& header);
  void ReceiveRequest(NodeId from, const RequestHeader& header,
                      std::string payload);
  void ReceiveResponse(NodeId from, uint64_t call_id, absl::Status status,
                       std::string payload);
  void SendAttempt(uint64_t call_id);
  void AttemptTimedOut(uint64_t call_id);
  void Finish(uint64_t call_id, absl::StatusOr<std::string> result);
  void FailLater(Done done, absl::Status status);

  Transport* const transport_;
  Executor* const executor_;
  const uint64_t session_id_;
  const RpcOptions options_;
  std::shared_ptr<Responder::Shared> shared_;
  std::map<RpcMethod, Handler> handlers_;
  std::map<RpcMethod, NotificationHandler> notification_handlers_;
  std::map<uint64_t, PendingCall> pending_;
  std::map<std::pair<uint64_t, uint64_t>, CallerSession> callers_;
  uint64_t requests_heard_ = 0;
  uint64_t next_call_id_ = 1;
  bool shut_down_ = false;
  RpcStats stats_;
};

}  // namespace pegasus

#endif  // PEGASUS_RUNTIME_RPC_H_
