// A simulated client of the key-value service: it issues one operation at a
// time (get, set, del, incr, check_and_set, check_and_mutate, multi_get by
// sort keys, of a whole hash key or of a sort-key range, multi_set,
// multi_del, sortkey_count, exist) on a small key space, waits for the
// answer or gives up at a timeout, and records each operation in a history
// for the linearizability checker.
//
// Written values are unique (client id and sequence number), which keeps the
// checker's search small. Clients run without clock drift, so the times they
// record are the world's.

#ifndef PEGASUS_TESTING_SIM_KV_CLIENT_H_
#define PEGASUS_TESTING_SIM_KV_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pegasus/client/client.h"
#include "pegasus/proto/data.pb.h"
#include "pegasus/runtime/rpc.h"
#include "testing/checkers/history.h"
#include "testing/sim/cluster.h"
#include "testing/sim/process.h"

namespace pegasus::sim {

struct WorkloadOptions {
  int32_t app_id = 1;
  // The table, by name, for a client of the replicated cluster.
  std::string table = "temp";
  int32_t partition_count = 8;
  // Key space: `hashkeys` hash keys (see WorkloadHashKeys), sort keys
  // "s0".. plus the counter "n".
  int hashkeys = 64;
  int sortkeys = 3;
  // Pause between an answer and the next operation: a fixed part plus an
  // exponentially distributed part with this mean, in nanoseconds.
  int64_t think_min_ns = 1'000'000;
  int64_t think_mean_ns = 20'000'000;
  // How long a client waits for an answer before recording "unknown".
  int64_t timeout_ns = 500'000'000;
};

// The partition of a hash key: Pegasus's CRC64 routing.
int32_t PartitionOf(std::string_view hashkey, int32_t partition_count);

// The workload's hash keys: options.hashkeys of them, spread evenly over the
// partitions (names like "h17" alone are not: CRC64 is linear, and short
// names that differ in a digit or two leave whole partitions untouched).
std::vector<std::string> WorkloadHashKeys(const WorkloadOptions& options);

class KvClient final : public Service {
 public:
  // `server_for` names the node serving a partition; with `meta` set
  // instead, the operations go through the C++ client (pegasus/client),
  // which asks that meta server where each partition's primary is and
  // retries as it does for any application. Operations are appended to `history` as they complete. No
  // operation starts after `stop_ns` (simulated time).
  KvClient(const ProcessEnv& env, int64_t client_id, WorkloadOptions options,
           std::function<NodeId(int32_t partition)> server_for, int64_t stop_ns,
           std::vector<checkers::Operation>* history,
           std::optional<NodeId> meta = std::nullopt);
  ~KvClient() override;

  // Records the operation in flight, if any, as unknown (end of the run).
  void Abandon();

 private:
  // Schedules the next operation after a think time (longer after an
  // operation whose fate is unknown, as a client backs off a sick server).
  void Next(bool back_off = false);
  void Issue();
  void Send(NodeId to, const proto::DataRequest& request);
  void Complete(absl::StatusOr<proto::DataResponse> response);
  proto::DataRequest MakeRequest(checkers::Operation* op);
  void MakeCheckAndMutate(checkers::Operation* op, proto::DataRequest* request);
  void MakeMultiGetRange(checkers::Operation* op, proto::DataRequest* request);
  std::string RandomSortKey();
  // Unique: the client id and the operation's sequence number.
  std::string FreshValue() const;
  // The checks the workload uses: not exist, exist, bytes equal.
  int32_t RandomCheckType();

  ProcessEnv env_;
  const int64_t client_id_;
  const WorkloadOptions options_;
  const std::vector<std::string> hashkeys_;
  std::function<NodeId(int32_t)> server_for_;
  const int64_t stop_ns_;
  std::vector<checkers::Operation>* history_;
  // One of the two: the bare RPC endpoint for the single-node service, or
  // the C++ client and its table for the replicated cluster.
  std::unique_ptr<RpcEndpoint> rpc_;
  std::unique_ptr<Client> client_;
  Table* table_ = nullptr;
  int64_t sequence_ = 0;
  std::optional<checkers::Operation> in_flight_;
  TimerId think_timer_ = kNoTimer;
  // Values this client has seen, as check_and_set and check_and_mutate
  // operands.
  std::vector<std::string> seen_;
};

}  // namespace pegasus::sim

#endif  // PEGASUS_TESTING_SIM_KV_CLIENT_H_
