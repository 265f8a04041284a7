// Blocking forms of the client's calls, for a host application's own
// threads: each call starts the asynchronous one and waits for its
// callback. Every error is the asynchronous call's.
//
//   SyncClient client(async_client.get());
//   absl::StatusOr<SyncTable> table = client.OpenTable("temp");
//   absl::Status set = table->Set("user1", "name", "ann");
//   absl::StatusOr<std::string> name = table->Get("user1", "name");
//
// Never call these from the client's executor (the call would wait for
// the very strand it blocks), nor in the simulator, whose single thread
// runs everything: use the asynchronous calls there.
//
// Thread-safety: any number of threads may call at once.

#ifndef PEGASUS_CLIENT_SYNC_CLIENT_H_
#define PEGASUS_CLIENT_SYNC_CLIENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "pegasus/client/client.h"

namespace pegasus {

// The blocking form of any asynchronous call of the client: runs `start`
// with a callback and waits until the callback ran; returns what it was
// given. The same rules as the calls below: never on the client's executor.
//
//   absl::StatusOr<bool> exists = WaitFor<absl::StatusOr<bool>>(
//       [&](auto done) { table->Exist("user1", "name", std::move(done)); });
template <typename T, typename Start>
T WaitFor(Start start) {
  absl::Notification done;
  std::optional<T> result;
  start([&](T value) {
    result.emplace(std::move(value));
    done.Notify();
  });
  done.WaitForNotification();
  return std::move(*result);
}

class SyncTable {
 public:
  explicit SyncTable(Table* table) : table_(table) {}

  Table* async() const { return table_; }
  const std::string& name() const { return table_->name(); }

  absl::Status Set(std::string hash_key, std::string sort_key,
                   std::string value, int64_t ttl_s = 0,
                   OpOptions options = {});
  absl::Status MultiSet(std::string hash_key,
                        std::vector<std::pair<std::string, std::string>> kvs,
                        int64_t ttl_s = 0, OpOptions options = {});
  absl::Status Del(std::string hash_key, std::string sort_key,
                   OpOptions options = {});
  absl::Status MultiDel(std::string hash_key,
                        std::vector<std::string> sort_keys,
                        OpOptions options = {});
  absl::StatusOr<int64_t> Incr(std::string hash_key, std::string sort_key,
                               int64_t increment, int64_t ttl_s = 0,
                               OpOptions options = {});
  absl::StatusOr<CheckAndSetResult> CheckAndSet(
      std::string hash_key, std::string check_sort_key, int32_t check_type,
      std::string operand, std::string set_sort_key, std::string set_value,
      CheckAndSetOptions options = {});
  absl::StatusOr<CheckAndSetResult> CompareExchange(
      std::string hash_key, std::string sort_key, std::string expected,
      std::string desired, int64_t ttl_s = 0, OpOptions options = {});
  absl::StatusOr<std::string> Get(std::string hash_key, std::string sort_key,
                                  OpOptions options = {});
  absl::StatusOr<MultiGetResult> MultiGet(std::string hash_key,
                                          std::vector<std::string> sort_keys,
                                          int32_t max_kv_count = 0,
                                          int32_t max_kv_size = 0,
                                          OpOptions options = {});
  absl::StatusOr<MultiGetResult> MultiGetRange(proto::MultiGetRequest request,
                                               OpOptions options = {});

 private:
  Table* table_;
};

class SyncClient {
 public:
  explicit SyncClient(Client* client) : client_(client) {}

  Client* async() const { return client_; }

  absl::StatusOr<SyncTable> OpenTable(std::string name);
  absl::StatusOr<int32_t> CreateTable(proto::CreateTableRequest request,
                                      OpOptions options = {});
  absl::Status DropTable(std::string name, int64_t reserve_seconds = 0,
                         OpOptions options = {});
  absl::StatusOr<proto::TableInfo> RecallTable(int32_t app_id,
                                               std::string new_name = "",
                                               OpOptions options = {});
  absl::Status RenameTable(std::string old_name, std::string new_name,
                           OpOptions options = {});
  absl::Status Balance(proto::BalanceRequest request, OpOptions options = {});
  absl::Status Propose(proto::ProposeRequest request, OpOptions options = {});
  absl::StatusOr<std::vector<proto::TableInfo>> ListTables(
      bool include_dropped = false, OpOptions options = {});
  absl::Status UpdateEnvs(proto::UpdateEnvsRequest request,
                          OpOptions options = {});
  absl::Status SetReplicaCount(std::string name, int32_t replica_count,
                               OpOptions options = {});
  absl::StatusOr<proto::MetaLevelResponse> SetMetaLevel(proto::MetaLevel level,
                                                        OpOptions options = {});
  absl::StatusOr<proto::MetaLevelResponse> GetMetaLevel(OpOptions options = {});
  absl::StatusOr<std::vector<proto::NodeInfo>> ListNodes(
      OpOptions options = {});
  absl::StatusOr<proto::ClusterInfoResponse> ClusterInfo(
      OpOptions options = {});
  absl::StatusOr<std::vector<proto::PartitionHealthInfo>> TableHealth(
      std::string name, OpOptions options = {});

 private:
  Client* client_;
};

}  // namespace pegasus

#endif  // PEGASUS_CLIENT_SYNC_CLIENT_H_
