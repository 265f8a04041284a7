#include "benchmarks/load/pegasus_target.h"

#include <vector>

#include "pegasus/base/status.h"
#include "pegasus/client/sync_client.h"
#include "pegasus/cluster/in_process_cluster.h"
#include "pegasus/net/remote_client.h"

namespace pegasus::load {
namespace {

class PegasusSession final : public Session {
 public:
  PegasusSession(Table* table, int64_t timeout_ms)
      : table_(table), options_{.timeout_ns = timeout_ms * 1'000'000} {}

  void Read(const RecordKey& key, OpDone done) override {
    table_->Get(
        key.hash_key, key.sort_key,
        [done = std::move(done)](absl::StatusOr<std::string> value) mutable {
          if (HasErrorCode(value.status(), ErrorCode::kNotFound)) {
            return done({.status = absl::OkStatus(), .found = false});
          }
          done({.status = value.status()});
        },
        options_);
  }

  void Write(const RecordKey& key, std::string value, OpDone done) override {
    table_->Set(
        key.hash_key, key.sort_key, std::move(value), /*ttl_s=*/0,
        [done = std::move(done)](absl::Status status) mutable {
          done({.status = std::move(status)});
        },
        options_);
  }

  void Scan(const RecordKey& start, int count, OpDone done) override {
    proto::MultiGetRequest request;
    request.set_hash_key(start.hash_key);
    request.set_start_sort_key(start.sort_key);
    request.set_start_inclusive(true);
    request.set_max_kv_count(count);
    table_->MultiGetRange(
        std::move(request),
        [done =
             std::move(done)](absl::StatusOr<MultiGetResult> result) mutable {
          done({.status = result.status()});
        },
        options_);
  }

 private:
  Table* table_;
  OpOptions options_;
};

class PegasusTarget final : public Target {
 public:
  std::string name() const override { return name_; }

  std::unique_ptr<Session> NewSession(int index) override {
    return std::make_unique<PegasusSession>(tables_[index % tables_.size()],
                                            timeout_ms_);
  }

  std::string name_;
  int64_t timeout_ms_ = 5000;
  std::unique_ptr<InProcessCluster> cluster;
  std::vector<std::unique_ptr<net::RemoteClient>> remotes;
  std::vector<Table*> tables_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Target>> OpenPegasus(
    const PegasusTargetOptions& options) {
  auto target = std::make_unique<PegasusTarget>();
  target->timeout_ms_ = options.timeout_ms;
  if (options.meta.empty()) {
    InProcessClusterOptions cluster;
    cluster.data_dir = options.data_dir;
    proto::CreateTableRequest table;
    table.set_name(options.table);
    table.set_partition_count(8);
    table.set_replica_count(3);
    cluster.tables.push_back(table);
    PEGASUS_ASSIGN_OR_RETURN(target->cluster, InProcessCluster::Start(cluster));
    PEGASUS_RETURN_IF_ERROR(target->cluster->WaitHealthy(absl::Seconds(60)));
    PEGASUS_ASSIGN_OR_RETURN(
        SyncTable opened,
        target->cluster->sync_client().OpenTable(options.table));
    target->tables_.push_back(opened.async());
    target->name_ = "pegasus (in-process, " + options.data_dir + ")";
    return target;
  }
  for (int i = 0; i < std::max(1, options.clients); ++i) {
    net::RemoteClientOptions remote;
    remote.meta = options.meta;
    PEGASUS_ASSIGN_OR_RETURN(auto client, net::RemoteClient::Connect(remote));
    PEGASUS_ASSIGN_OR_RETURN(SyncTable opened,
                             client->sync_client().OpenTable(options.table));
    target->tables_.push_back(opened.async());
    target->remotes.push_back(std::move(client));
  }
  target->name_ = "pegasus (" + options.meta + ")";
  return target;
}

}  // namespace pegasus::load
