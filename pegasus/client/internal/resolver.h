// Where a table's partitions are: the partition configurations a client
// last fetched from the meta server, fetched again when it has none for a
// partition or was told they are stale. Concurrent lookups while a query is
// in flight wait for that one query.
//
// Thread-safety: none; the client's strand only.

#ifndef PEGASUS_CLIENT_INTERNAL_RESOLVER_H_
#define PEGASUS_CLIENT_INTERNAL_RESOLVER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/proto/replication.pb.h"
#include "pegasus/runtime/rpc.h"

namespace pegasus::client_internal {

// A table's identity and shape, as the meta server last described it.
struct TableRoute {
  int32_t app_id = 0;
  int32_t partition_count = 0;
};

class Resolver {
 public:
  using RouteDone = absl::AnyInvocable<void(absl::StatusOr<TableRoute>)>;
  using LocateDone = absl::AnyInvocable<void(absl::StatusOr<NodeId>)>;

  // Queries go to `meta` through `rpc`, each waiting query_timeout_ns.
  Resolver(RpcEndpoint* rpc, NodeId meta, std::string table_name,
           int64_t query_timeout_ns);
  ~Resolver() { *alive_ = false; }

  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  const std::string& table_name() const { return table_name_; }

  // The table's id and partition count (queried when not known).
  void Route(RouteDone done);

  // The primary of `partition`: from the cache, or after a query. Errors:
  // the query's (PERR_APP_NOT_EXIST for a table that is gone, PERR_TIMEOUT
  // for a meta server that did not answer), or PERR_SERVER_CHANGED when
  // the meta server names no primary yet.
  void Locate(int32_t partition, LocateDone done);

  // `node`, believed primary of `partition`, refused or did not answer: the
  // next Locate asks the meta server again.
  void Invalidate(int32_t partition, NodeId node);

  // The whole table is in doubt (dropped, say): everything is asked again.
  void Forget();

 private:
  struct Waiter {
    int32_t partition = -1;  // -1: the route only.
    RouteDone route_done;
    LocateDone locate_done;
  };
  void Query();
  void OnAnswer(absl::StatusOr<std::string> answer);
  void Answer(Waiter& waiter, const absl::Status& error);

  RpcEndpoint* const rpc_;
  const NodeId meta_;
  const std::string table_name_;
  const int64_t query_timeout_ns_;
  bool known_ = false;
  TableRoute route_;
  std::vector<proto::PartitionConfig> configs_;
  // Partitions whose cached primary was refused since the last query.
  std::vector<bool> stale_;
  bool querying_ = false;
  std::vector<Waiter> waiters_;
  // Lets a query's answer find out whether the resolver is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace pegasus::client_internal

#endif  // PEGASUS_CLIENT_INTERNAL_RESOLVER_H_
