// The key-value service the simulator runs until replication exists: each
// server node serves its share of one table's partitions alone, with the
// foundation's storage layer behind the RPC layer.
//
// Durability: a write gets the partition's next decree, is appended to the
// partition's log and synced, then applied to the memory engine, then
// acknowledged; a crash at any point loses no acknowledged write. Every
// checkpoint_interval the engine is flushed and the log restarted. On start
// the engine's flushed state is loaded and the log replayed; an incomplete
// record at a log's end (a torn write) is dropped, any other damage stops
// the node (it refuses to start and says why).
//
// A disk error while writing stops the node (fail-stop), since a write's
// fate is unknown after one; the simulator restarts it later.
//
// Planted bugs (see PlantedBug) make the service wrong on purpose, to prove
// the checkers catch what they should.

#ifndef PEGASUS_TESTING_SIM_KV_SERVICE_H_
#define PEGASUS_TESTING_SIM_KV_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pegasus/proto/data.pb.h"
#include "pegasus/runtime/rpc.h"
#include "testing/sim/planted_bug.h"
#include "testing/sim/process.h"

namespace pegasus::sim {

// The one RPC method: a DataRequest in, a DataResponse out.
inline constexpr RpcMethod kDataMethod = 1;

struct KvServiceOptions {
  int32_t app_id = 1;
  int32_t partition_count = 8;
  // The partitions this node serves.
  std::vector<int32_t> partitions;
  // How often the engine is flushed and the log restarted, in nanoseconds.
  int64_t checkpoint_interval_ns = 2'000'000'000;
  PlantedBug planted_bug = PlantedBug::kNone;
};

struct KvServiceStats {
  uint64_t writes = 0;
  uint64_t reads = 0;
  uint64_t replayed = 0;      // Log records replayed at start.
  uint64_t torn_records = 0;  // Incomplete records dropped at start.
  uint64_t checkpoints = 0;
  uint64_t stale_answers = 0;  // Reads answered from the planted cache.
};

class KvService final : public Service {
 public:
  static absl::StatusOr<std::unique_ptr<KvService>> Start(
      const ProcessEnv& env, const KvServiceOptions& options);
  ~KvService() override;

  const KvServiceStats& stats() const { return stats_; }

 private:
  struct PartitionState;

  KvService(const ProcessEnv& env, const KvServiceOptions& options);
  absl::Status Recover();
  absl::Status RecoverPartition(PartitionState* state);
  absl::Status StartNewLog(PartitionState* state);
  void Handle(std::string request, RpcEndpoint::Responder responder);
  void HandleWrite(PartitionState* state, const proto::DataRequest& request,
                   RpcEndpoint::Responder responder);
  void HandleRead(PartitionState* state, const proto::DataRequest& request,
                  RpcEndpoint::Responder responder);
  // Stops the node: a write's fate is unknown after a disk error.
  void FailStop(const std::string& what, const absl::Status& status);
  void ScheduleCheckpoint();
  void Checkpoint();

  ProcessEnv env_;
  KvServiceOptions options_;
  RpcEndpoint rpc_;
  std::vector<std::unique_ptr<PartitionState>> partitions_;
  TimerId checkpoint_timer_ = kNoTimer;
  KvServiceStats stats_;
};

}  // namespace pegasus::sim

#endif  // PEGASUS_TESTING_SIM_KV_SERVICE_H_
