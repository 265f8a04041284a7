#include "pegasus/client/sync_client.h"

namespace pegasus {

absl::Status SyncTable::Set(std::string hash_key, std::string sort_key,
                            std::string value, int64_t ttl_s,
                            OpOptions options) {
  return WaitFor<absl::Status>([&](auto done) {
    table_->Set(std::move(hash_key), std::move(sort_key), std::move(value),
                ttl_s, std::move(done), options);
  });
}

absl::Status SyncTable::MultiSet(
    std::string hash_key, std::vector<std::pair<std::string, std::string>> kvs,
    int64_t ttl_s, OpOptions options) {
  return WaitFor<absl::Status>([&](auto done) {
    table_->MultiSet(std::move(hash_key), std::move(kvs), ttl_s,
                     std::move(done), options);
  });
}

absl::Status SyncTable::Del(std::string hash_key, std::string sort_key,
                            OpOptions options) {
  return WaitFor<absl::Status>([&](auto done) {
    table_->Del(std::move(hash_key), std::move(sort_key), std::move(done),
                options);
  });
}

absl::Status SyncTable::MultiDel(std::string hash_key,
                                 std::vector<std::string> sort_keys,
                                 OpOptions options) {
  return WaitFor<absl::Status>([&](auto done) {
    table_->MultiDel(std::move(hash_key), std::move(sort_keys), std::move(done),
                     options);
  });
}

absl::StatusOr<int64_t> SyncTable::Incr(std::string hash_key,
                                        std::string sort_key, int64_t increment,
                                        int64_t ttl_s, OpOptions options) {
  return WaitFor<absl::StatusOr<int64_t>>([&](auto done) {
    table_->Incr(std::move(hash_key), std::move(sort_key), increment, ttl_s,
                 std::move(done), options);
  });
}

absl::StatusOr<CheckAndSetResult> SyncTable::CheckAndSet(
    std::string hash_key, std::string check_sort_key, int32_t check_type,
    std::string operand, std::string set_sort_key, std::string set_value,
    CheckAndSetOptions options) {
  return WaitFor<absl::StatusOr<CheckAndSetResult>>([&](auto done) {
    table_->CheckAndSet(std::move(hash_key), std::move(check_sort_key),
                        check_type, std::move(operand), std::move(set_sort_key),
                        std::move(set_value), options, std::move(done));
  });
}

absl::StatusOr<CheckAndSetResult> SyncTable::CompareExchange(
    std::string hash_key, std::string sort_key, std::string expected,
    std::string desired, int64_t ttl_s, OpOptions options) {
  return WaitFor<absl::StatusOr<CheckAndSetResult>>([&](auto done) {
    table_->CompareExchange(std::move(hash_key), std::move(sort_key),
                            std::move(expected), std::move(desired), ttl_s,
                            std::move(done), options);
  });
}

absl::StatusOr<std::string> SyncTable::Get(std::string hash_key,
                                           std::string sort_key,
                                           OpOptions options) {
  return WaitFor<absl::StatusOr<std::string>>([&](auto done) {
    table_->Get(std::move(hash_key), std::move(sort_key), std::move(done),
                options);
  });
}

absl::StatusOr<MultiGetResult> SyncTable::MultiGet(
    std::string hash_key, std::vector<std::string> sort_keys,
    int32_t max_kv_count, int32_t max_kv_size, OpOptions options) {
  return WaitFor<absl::StatusOr<MultiGetResult>>([&](auto done) {
    table_->MultiGet(std::move(hash_key), std::move(sort_keys), max_kv_count,
                     max_kv_size, std::move(done), options);
  });
}

absl::StatusOr<MultiGetResult> SyncTable::MultiGetRange(
    proto::MultiGetRequest request, OpOptions options) {
  return WaitFor<absl::StatusOr<MultiGetResult>>([&](auto done) {
    table_->MultiGetRange(std::move(request), std::move(done), options);
  });
}

absl::StatusOr<SyncTable> SyncClient::OpenTable(std::string name) {
  absl::StatusOr<Table*> table = WaitFor<absl::StatusOr<Table*>>(
      [&](auto done) { client_->OpenTable(std::move(name), std::move(done)); });
  if (!table.ok()) return table.status();
  return SyncTable(*table);
}

absl::StatusOr<int32_t> SyncClient::CreateTable(
    proto::CreateTableRequest request, OpOptions options) {
  return WaitFor<absl::StatusOr<int32_t>>([&](auto done) {
    client_->CreateTable(std::move(request), std::move(done), options);
  });
}

absl::Status SyncClient::DropTable(std::string name, int64_t reserve_seconds,
                                   OpOptions options) {
  return WaitFor<absl::Status>([&](auto done) {
    client_->DropTable(std::move(name), reserve_seconds, std::move(done),
                       options);
  });
}

absl::StatusOr<proto::TableInfo> SyncClient::RecallTable(int32_t app_id,
                                                         std::string new_name,
                                                         OpOptions options) {
  return WaitFor<absl::StatusOr<proto::TableInfo>>([&](auto done) {
    client_->RecallTable(app_id, std::move(new_name), std::move(done), options);
  });
}

absl::Status SyncClient::RenameTable(std::string old_name, std::string new_name,
                                     OpOptions options) {
  return WaitFor<absl::Status>([&](auto done) {
    client_->RenameTable(std::move(old_name), std::move(new_name),
                         std::move(done), options);
  });
}

absl::Status SyncClient::Balance(proto::BalanceRequest request,
                                 OpOptions options) {
  return WaitFor<absl::Status>([&](auto done) {
    client_->Balance(std::move(request), std::move(done), options);
  });
}

absl::Status SyncClient::Propose(proto::ProposeRequest request,
                                 OpOptions options) {
  return WaitFor<absl::Status>([&](auto done) {
    client_->Propose(std::move(request), std::move(done), options);
  });
}

absl::StatusOr<std::vector<proto::TableInfo>> SyncClient::ListTables(
    bool include_dropped, OpOptions options) {
  return WaitFor<absl::StatusOr<std::vector<proto::TableInfo>>>([&](auto done) {
    client_->ListTables(include_dropped, std::move(done), options);
  });
}

absl::Status SyncClient::UpdateEnvs(proto::UpdateEnvsRequest request,
                                    OpOptions options) {
  return WaitFor<absl::Status>([&](auto done) {
    client_->UpdateEnvs(std::move(request), std::move(done), options);
  });
}

absl::Status SyncClient::SetReplicaCount(std::string name,
                                         int32_t replica_count,
                                         OpOptions options) {
  return WaitFor<absl::Status>([&](auto done) {
    client_->SetReplicaCount(std::move(name), replica_count, std::move(done),
                             options);
  });
}

absl::StatusOr<proto::MetaLevelResponse> SyncClient::SetMetaLevel(
    proto::MetaLevel level, OpOptions options) {
  return WaitFor<absl::StatusOr<proto::MetaLevelResponse>>([&](auto done) {
    client_->SetMetaLevel(level, std::move(done), options);
  });
}

absl::StatusOr<proto::MetaLevelResponse> SyncClient::GetMetaLevel(
    OpOptions options) {
  return WaitFor<absl::StatusOr<proto::MetaLevelResponse>>(
      [&](auto done) { client_->GetMetaLevel(std::move(done), options); });
}

absl::StatusOr<std::vector<proto::NodeInfo>> SyncClient::ListNodes(
    OpOptions options) {
  return WaitFor<absl::StatusOr<std::vector<proto::NodeInfo>>>(
      [&](auto done) { client_->ListNodes(std::move(done), options); });
}

absl::StatusOr<proto::ClusterInfoResponse> SyncClient::ClusterInfo(
    OpOptions options) {
  return WaitFor<absl::StatusOr<proto::ClusterInfoResponse>>(
      [&](auto done) { client_->ClusterInfo(std::move(done), options); });
}

absl::StatusOr<std::vector<proto::PartitionHealthInfo>> SyncClient::TableHealth(
    std::string name, OpOptions options) {
  return WaitFor<absl::StatusOr<std::vector<proto::PartitionHealthInfo>>>(
      [&](auto done) {
        client_->TableHealth(std::move(name), std::move(done), options);
      });
}

}  // namespace pegasus
