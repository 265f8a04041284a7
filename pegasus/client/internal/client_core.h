// The client's state on its strand: the RPC endpoint, the tables, and the
// retry loop every request goes through (client.h describes the rules).
// For the client's own files.
//
// Thread-safety: none; the client's strand only, except Post.

#ifndef PEGASUS_CLIENT_INTERNAL_CLIENT_CORE_H_
#define PEGASUS_CLIENT_INTERNAL_CLIENT_CORE_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "pegasus/base/status.h"
#include "pegasus/client/client.h"
#include "pegasus/client/internal/resolver.h"
#include "pegasus/replication/wire.h"
#include "pegasus/runtime/rpc.h"

namespace pegasus::client_internal {

using DataDone = absl::AnyInvocable<void(absl::StatusOr<proto::DataResponse>)>;

// The largest hash key: its length must fit the key's 16-bit prefix.
constexpr size_t kMaxHashKeyBytes = 65535;

inline absl::Status CheckHashKey(const std::string& hash_key) {
  if (hash_key.empty()) {
    return PegasusError(ErrorCode::kInvalidHashKey, "the hash key is empty");
  }
  if (hash_key.size() > kMaxHashKeyBytes) {
    return PegasusError(ErrorCode::kInvalidHashKey,
                        "the hash key is 64 KiB or longer");
  }
  return absl::OkStatus();
}

inline absl::Status StatusOf(int32_t error, const std::string& message) {
  if (error == 0) return absl::OkStatus();
  return PegasusError(static_cast<ErrorCode>(error), message);
}

// A refusal that proves the request was not applied, so it may be sent
// again once the route is found anew.
inline bool IsRefusal(ErrorCode code) {
  return code == ErrorCode::kServerChanged ||
         code == ErrorCode::kObjectNotFound;
}

// Errors of finding the route that a later attempt may not meet.
inline bool IsTransientRouteError(ErrorCode code) {
  return code == ErrorCode::kServerChanged ||
         code == ErrorCode::kObjectNotFound || code == ErrorCode::kTimeout ||
         code == ErrorCode::kNetworkFailure || code == ErrorCode::kTryAgain;
}

// A response's error as a status, or `extract(response)` for `done`.
template <typename T, typename Extract>
DataDone Answering(Callback<T> done, Extract extract) {
  return [done = std::move(done), extract = std::move(extract)](
             absl::StatusOr<proto::DataResponse> response) mutable {
    if (!response.ok()) return done(response.status());
    if (response->error() != 0) {
      return done(StatusOf(response->error(), response->error_message()));
    }
    done(extract(*response));
  };
}

// A check_and_set's or check_and_mutate's answer: a failed check
// (PERR_TRY_AGAIN) is a result, not an error.
inline DataDone ToCheckAndSet(Callback<CheckAndSetResult> done) {
  return [done = std::move(done)](
             absl::StatusOr<proto::DataResponse> response) mutable {
    if (!response.ok()) return done(response.status());
    const ErrorCode code = static_cast<ErrorCode>(response->error());
    if (code != ErrorCode::kOk && code != ErrorCode::kTryAgain) {
      return done(StatusOf(response->error(), response->error_message()));
    }
    CheckAndSetResult result;
    result.succeeded = code == ErrorCode::kOk;
    result.check_value_returned = response->check_value_returned();
    result.check_value_exist = response->check_value_exist();
    result.check_value = response->check_value();
    done(std::move(result));
  };
}

// --- The client's state, on its strand ------------------------------------

class ClientCore {
 public:
  ClientCore(const ClientEnv& env, const ClientOptions& options)
      : env(env),
        options(options),
        rpc(env.transport, env.executor, env.random->Next64() | 1) {}
  ~ClientCore() {
    *alive = false;
    rpc.Shutdown();
  }

  int64_t now_ns() { return env.clock->MonotonicNowNs(); }
  int64_t DeadlineOf(const OpOptions& op) {
    return now_ns() +
           (op.timeout_ns > 0 ? op.timeout_ns : options.default_timeout_ns);
  }
  // Runs `task` on the client's strand, unless the client is gone first.
  void Post(absl::AnyInvocable<void()> task) {
    env.executor->Post([alive = alive, task = std::move(task)]() mutable {
      if (*alive) task();
    });
  }
  void AdminCall(proto::AdminRequest request, const OpOptions& op,
                 Callback<proto::AdminResponse> done);
  void OpenTable(std::string name, Callback<Table*> done);

  const ClientEnv env;
  const ClientOptions options;
  RpcEndpoint rpc;
  std::map<std::string, std::unique_ptr<Table>> tables;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

struct PendingOp {
  // Routed by the hash key, or to a fixed partition when that is >= 0.
  std::string hash_key;
  int32_t fixed_partition = -1;
  proto::DataRequest request;
  // Reads are sent again after an unanswered attempt; writes are not.
  bool read = false;
  int64_t deadline_ns = 0;
  int attempts = 0;
  int32_t partition = -1;
  absl::Status last_error;
  DataDone done;
};

class TableCore {
 public:
  TableCore(ClientCore* client, std::string name)
      : client(client),
        resolver(&client->rpc, client->options.meta, std::move(name),
                 client->options.meta_timeout_ns) {}

  // Sends `request` to the primary of `hash_key`'s partition, retrying as
  // the header says, and answers the primary's response (its error
  // included) or why none came.
  void Send(std::string hash_key, proto::DataRequest request, bool read,
            const OpOptions& options, DataDone done) {
    auto op = std::make_shared<PendingOp>();
    op->hash_key = std::move(hash_key);
    Start(std::move(op), std::move(request), read, options, std::move(done));
  }

  // The same, to partition `partition` of the table (a partition's batch
  // get, a full scan's part).
  void SendToPartition(int32_t partition, proto::DataRequest request, bool read,
                       const OpOptions& options, DataDone done) {
    auto op = std::make_shared<PendingOp>();
    op->fixed_partition = partition;
    Start(std::move(op), std::move(request), read, options, std::move(done));
  }

  void Start(std::shared_ptr<PendingOp> op, proto::DataRequest request,
             bool read, const OpOptions& options, DataDone done) {
    op->request = std::move(request);
    op->read = read;
    op->deadline_ns = client->DeadlineOf(options);
    op->done = std::move(done);
    client->Post([this, op]() mutable {
      if (op->fixed_partition < 0) {
        if (absl::Status valid = CheckHashKey(op->hash_key); !valid.ok()) {
          return op->done(valid);
        }
      }
      Route(std::move(op));
    });
  }

  void Route(std::shared_ptr<PendingOp> op) {
    resolver.Route([this, op](absl::StatusOr<TableRoute> route) mutable {
      if (!route.ok()) return Retry(std::move(op), route.status());
      if (op->fixed_partition >= route->partition_count) {
        return op->done(
            PegasusError(ErrorCode::kInvalidArgument,
                         "partition " + std::to_string(op->fixed_partition) +
                             " is beyond the table's " +
                             std::to_string(route->partition_count)));
      }
      op->partition =
          op->fixed_partition >= 0
              ? op->fixed_partition
              : PartitionOfHashKey(op->hash_key, route->partition_count);
      op->request.set_app_id(route->app_id);
      op->request.set_partition_index(op->partition);
      Attempt(std::move(op));
    });
  }

  void Attempt(std::shared_ptr<PendingOp> op) {
    ++op->attempts;
    resolver.Locate(
        op->partition, [this, op](absl::StatusOr<NodeId> primary) mutable {
          if (!primary.ok()) return Retry(std::move(op), primary.status());
          const int64_t remaining = op->deadline_ns - client->now_ns();
          if (remaining <= 0) return TimedOut(std::move(op));
          const int64_t timeout =
              op->read
                  ? std::min(remaining, client->options.read_attempt_timeout_ns)
                  : remaining;
          client->rpc.Call(*primary, replication::kDataMethod,
                           op->request.SerializeAsString(),
                           CallOptions{.timeout_ns = timeout},
                           [this, op, node = *primary, alive = client->alive](
                               absl::StatusOr<std::string> answer) {
                             if (!*alive) return;
                             OnAnswer(op, node, std::move(answer));
                           });
        });
  }

  void OnAnswer(std::shared_ptr<PendingOp> op, NodeId node,
                absl::StatusOr<std::string> answer) {
    if (!answer.ok()) {
      const ErrorCode code = ToErrorCode(answer.status());
      if (code != ErrorCode::kTimeout) return op->done(answer.status());
      resolver.Invalidate(op->partition, node);
      if (op->read) return Retry(std::move(op), answer.status());
      return op->done(PegasusError(
          ErrorCode::kTimeout,
          "no answer from " + node.ToString() + ", the primary of partition " +
              std::to_string(op->partition) +
              ": the write may or may not have been applied"));
    }
    proto::DataResponse response;
    if (!response.ParseFromString(*answer)) {
      return op->done(PegasusError(ErrorCode::kInvalidArgument,
                                   "the replica's answer does not parse"));
    }
    const ErrorCode code = static_cast<ErrorCode>(response.error());
    if (IsRefusal(code)) {
      resolver.Invalidate(op->partition, node);
      return Retry(std::move(op),
                   StatusOf(response.error(), response.error_message()));
    }
    op->done(std::move(response));
  }

  // Sends `op` again after a backoff if `why` allows and the deadline has
  // room; else answers.
  void Retry(std::shared_ptr<PendingOp> op, const absl::Status& why) {
    const ErrorCode code = ToErrorCode(why);
    if (!IsTransientRouteError(code)) return op->done(why);
    op->last_error = why;
    const ClientOptions& options = client->options;
    int64_t backoff = options.retry_backoff_min_ns;
    for (int i = 1; i < op->attempts && backoff < options.retry_backoff_max_ns;
         ++i) {
      backoff *= 2;
    }
    backoff = std::min(backoff, options.retry_backoff_max_ns);
    backoff += static_cast<int64_t>(
        client->env.random->Uniform(static_cast<uint64_t>(backoff / 2) + 1));
    if (client->now_ns() + backoff >= op->deadline_ns) {
      return TimedOut(std::move(op));
    }
    client->env.executor->ScheduleAfter(
        backoff, [this, op, alive = client->alive]() mutable {
          if (!*alive) return;
          if (op->partition < 0) return Route(std::move(op));
          Attempt(std::move(op));
        });
  }

  void TimedOut(std::shared_ptr<PendingOp> op) {
    std::string message = "the deadline passed";
    if (!op->last_error.ok()) {
      message += "; the last attempt: " + op->last_error.ToString();
    }
    op->done(PegasusError(ErrorCode::kTimeout, message));
  }

  ClientCore* const client;
  Resolver resolver;
};

}  // namespace pegasus::client_internal

#endif  // PEGASUS_CLIENT_INTERNAL_CLIENT_CORE_H_
