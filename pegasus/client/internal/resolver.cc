#include "pegasus/client/internal/resolver.h"

#include <utility>

#include "pegasus/base/status.h"
#include "pegasus/replication/wire.h"

namespace pegasus::client_internal {

Resolver::Resolver(RpcEndpoint* rpc, NodeId meta, std::string table_name,
                   int64_t query_timeout_ns)
    : rpc_(rpc),
      meta_(meta),
      table_name_(std::move(table_name)),
      query_timeout_ns_(query_timeout_ns) {}

void Resolver::Route(RouteDone done) {
  if (known_) {
    done(route_);
    return;
  }
  waiters_.push_back(Waiter{-1, std::move(done), nullptr});
  Query();
}

void Resolver::Locate(int32_t partition, LocateDone done) {
  if (known_ && partition >= 0 && partition < route_.partition_count &&
      !stale_[partition] && configs_[partition].primary() != 0) {
    done(NodeId{configs_[partition].primary()});
    return;
  }
  waiters_.push_back(Waiter{partition, nullptr, std::move(done)});
  Query();
}

void Resolver::Invalidate(int32_t partition, NodeId node) {
  if (!known_ || partition < 0 || partition >= route_.partition_count) return;
  if (configs_[partition].primary() == node.value) stale_[partition] = true;
}

void Resolver::Forget() { known_ = false; }

void Resolver::Query() {
  if (querying_) return;
  querying_ = true;
  proto::QueryConfigRequest query;
  query.set_app_name(table_name_);
  rpc_->Call(meta_, replication::kQueryConfigMethod, query.SerializeAsString(),
             CallOptions{.timeout_ns = query_timeout_ns_},
             [this, alive = alive_](absl::StatusOr<std::string> answer) {
               if (!*alive) return;
               OnAnswer(std::move(answer));
             });
}

void Resolver::OnAnswer(absl::StatusOr<std::string> answer) {
  querying_ = false;
  absl::Status error;
  proto::QueryConfigResponse response;
  if (!answer.ok()) {
    error = answer.status();
  } else if (!response.ParseFromString(*answer)) {
    error = PegasusError(ErrorCode::kInvalidArgument,
                         "the meta server's answer does not parse");
  } else if (response.error() != 0) {
    error = PegasusError(static_cast<ErrorCode>(response.error()),
                         response.error_message());
  } else if (response.partition_count() <= 0 ||
             response.partitions_size() != response.partition_count()) {
    error = PegasusError(ErrorCode::kInvalidArgument,
                         "the meta server's answer is malformed");
  }
  if (error.ok()) {
    known_ = true;
    route_ = TableRoute{response.app_id(), response.partition_count()};
    configs_.assign(response.partitions().begin(), response.partitions().end());
    stale_.assign(configs_.size(), false);
  } else if (ToErrorCode(error) == ErrorCode::kAppNotExist) {
    known_ = false;
  }
  std::vector<Waiter> waiters = std::exchange(waiters_, {});
  for (Waiter& waiter : waiters) Answer(waiter, error);
}

void Resolver::Answer(Waiter& waiter, const absl::Status& error) {
  if (waiter.route_done) {
    if (!error.ok()) return waiter.route_done(error);
    return waiter.route_done(route_);
  }
  if (!error.ok()) return waiter.locate_done(error);
  if (waiter.partition < 0 || waiter.partition >= route_.partition_count) {
    return waiter.locate_done(PegasusError(
        ErrorCode::kInvalidArgument, "partition " +
                                         std::to_string(waiter.partition) +
                                         " is not in table " + table_name_));
  }
  const uint64_t primary = configs_[waiter.partition].primary();
  if (primary == 0) {
    return waiter.locate_done(
        PegasusError(ErrorCode::kServerChanged,
                     "partition " + std::to_string(waiter.partition) + " of " +
                         table_name_ + " has no primary yet"));
  }
  waiter.locate_done(NodeId{primary});
}

}  // namespace pegasus::client_internal
