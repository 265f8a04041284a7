#include "pegasus/client/client.h"

#include <algorithm>
#include <utility>

#include "pegasus/base/check.h"
#include "pegasus/base/key_schema.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/client/internal/client_core.h"
#include "pegasus/replication/wire.h"
#include "pegasus/storage/partition_types.h"

namespace pegasus {
namespace {

using client_internal::Answering;
using client_internal::DataDone;
using client_internal::StatusOf;
using client_internal::ToCheckAndSet;

// Microseconds of `unix_us` as an expire_ts `ttl_s` later (0: none).
uint32_t ExpireTs(Clock* clock, int64_t ttl_s) {
  return ExpireTsFromTtl(clock->WallNowUs(), ttl_s);
}

MultiGetResult ToMultiGetResult(const proto::DataResponse& response) {
  MultiGetResult result;
  result.complete = response.error() == 0;
  result.kvs.reserve(response.kvs_size());
  for (const proto::KeyValue& kv : response.kvs()) {
    result.kvs.emplace_back(kv.key(), kv.value());
  }
  return result;
}

}  // namespace

int32_t PartitionOfHashKey(std::string_view hash_key, int32_t partition_count) {
  PEGASUS_CHECK_GT(partition_count, 0);
  return static_cast<int32_t>(KeyHash(hash_key, "") %
                              static_cast<uint64_t>(partition_count));
}

using client_internal::ClientCore;
using client_internal::TableCore;

Table::Table(std::unique_ptr<TableCore> core) : core_(std::move(core)) {}
Table::~Table() = default;

const std::string& Table::name() const { return core_->resolver.table_name(); }

namespace {

// A write's answer: its status.
DataDone StatusOnly(StatusCallback done) {
  return [done = std::move(done)](
             absl::StatusOr<proto::DataResponse> response) mutable {
    if (!response.ok()) return done(response.status());
    done(StatusOf(response->error(), response->error_message()));
  };
}

DataDone ToMultiGet(Callback<MultiGetResult> done) {
  return [done = std::move(done)](
             absl::StatusOr<proto::DataResponse> response) mutable {
    if (!response.ok()) return done(response.status());
    const ErrorCode code = static_cast<ErrorCode>(response->error());
    if (code != ErrorCode::kOk && code != ErrorCode::kIncomplete) {
      return done(StatusOf(response->error(), response->error_message()));
    }
    done(ToMultiGetResult(*response));
  };
}

}  // namespace

void Table::Set(std::string hash_key, std::string sort_key, std::string value,
                int64_t ttl_s, StatusCallback done, OpOptions options) {
  proto::DataRequest request;
  proto::PutRequest* put = request.mutable_put();
  put->set_hash_key(hash_key);
  put->set_sort_key(std::move(sort_key));
  put->set_value(std::move(value));
  put->set_expire_ts_s(ExpireTs(core_->client->env.clock, ttl_s));
  core_->Send(std::move(hash_key), std::move(request), /*read=*/false, options,
              StatusOnly(std::move(done)));
}

void Table::MultiSet(std::string hash_key,
                     std::vector<std::pair<std::string, std::string>> kvs,
                     int64_t ttl_s, StatusCallback done, OpOptions options) {
  proto::DataRequest request;
  proto::MultiPutRequest* put = request.mutable_multi_put();
  put->set_hash_key(hash_key);
  for (auto& [sort_key, value] : kvs) {
    proto::KeyValue* kv = put->add_kvs();
    kv->set_key(std::move(sort_key));
    kv->set_value(std::move(value));
  }
  put->set_expire_ts_s(ExpireTs(core_->client->env.clock, ttl_s));
  core_->Send(std::move(hash_key), std::move(request), /*read=*/false, options,
              StatusOnly(std::move(done)));
}

void Table::Del(std::string hash_key, std::string sort_key, StatusCallback done,
                OpOptions options) {
  proto::DataRequest request;
  request.mutable_remove()->set_hash_key(hash_key);
  request.mutable_remove()->set_sort_key(std::move(sort_key));
  core_->Send(std::move(hash_key), std::move(request), /*read=*/false, options,
              StatusOnly(std::move(done)));
}

void Table::MultiDel(std::string hash_key, std::vector<std::string> sort_keys,
                     StatusCallback done, OpOptions options) {
  proto::DataRequest request;
  proto::MultiRemoveRequest* remove = request.mutable_multi_remove();
  remove->set_hash_key(hash_key);
  for (std::string& sort_key : sort_keys) {
    remove->add_sort_keys(std::move(sort_key));
  }
  core_->Send(std::move(hash_key), std::move(request), /*read=*/false, options,
              StatusOnly(std::move(done)));
}

void Table::Incr(std::string hash_key, std::string sort_key, int64_t increment,
                 int64_t ttl_s, Callback<int64_t> done, OpOptions options) {
  proto::DataRequest request;
  proto::IncrRequest* incr = request.mutable_incr();
  incr->set_hash_key(hash_key);
  incr->set_sort_key(std::move(sort_key));
  incr->set_increment(increment);
  // The request's expiry: 0 keeps the row's TTL, > 0 sets, < 0 clears.
  if (ttl_s > 0) {
    incr->set_expire_ts_s(static_cast<int32_t>(std::min<uint32_t>(
        ExpireTs(core_->client->env.clock, ttl_s), INT32_MAX)));
  } else if (ttl_s < 0) {
    incr->set_expire_ts_s(-1);
  }
  core_->Send(
      std::move(hash_key), std::move(request), /*read=*/false, options,
      Answering<int64_t>(std::move(done), [](proto::DataResponse& response) {
        return response.new_value();
      }));
}

void Table::CheckAndSet(std::string hash_key, std::string check_sort_key,
                        int32_t check_type, std::string operand,
                        std::string set_sort_key, std::string set_value,
                        CheckAndSetOptions options,
                        Callback<CheckAndSetResult> done) {
  proto::DataRequest request;
  proto::CheckAndSetRequest* cas = request.mutable_check_and_set();
  cas->set_hash_key(hash_key);
  cas->set_check_sort_key(check_sort_key);
  cas->set_check_type(check_type);
  cas->set_check_operand(std::move(operand));
  cas->set_set_diff_sort_key(set_sort_key != check_sort_key);
  cas->set_set_sort_key(std::move(set_sort_key));
  cas->set_set_value(std::move(set_value));
  cas->set_set_expire_ts_s(
      ExpireTs(core_->client->env.clock, options.set_value_ttl_s));
  cas->set_return_check_value(options.return_check_value);
  core_->Send(std::move(hash_key), std::move(request), /*read=*/false,
              options.op, ToCheckAndSet(std::move(done)));
}

void Table::CompareExchange(std::string hash_key, std::string sort_key,
                            std::string expected, std::string desired,
                            int64_t ttl_s, Callback<CheckAndSetResult> done,
                            OpOptions options) {
  std::string set_sort_key = sort_key;
  CheckAndSet(
      std::move(hash_key), std::move(sort_key),
      static_cast<int32_t>(CheckType::kValueBytesEqual), std::move(expected),
      std::move(set_sort_key), std::move(desired),
      CheckAndSetOptions{
          .set_value_ttl_s = ttl_s, .return_check_value = true, .op = options},
      std::move(done));
}

void Table::Get(std::string hash_key, std::string sort_key,
                Callback<std::string> done, OpOptions options) {
  proto::DataRequest request;
  request.mutable_get()->set_hash_key(hash_key);
  request.mutable_get()->set_sort_key(std::move(sort_key));
  core_->Send(std::move(hash_key), std::move(request), /*read=*/true, options,
              Answering<std::string>(
                  std::move(done), [](proto::DataResponse& response) {
                    return std::move(*response.mutable_value());
                  }));
}

void Table::MultiGet(std::string hash_key, std::vector<std::string> sort_keys,
                     int32_t max_kv_count, int32_t max_kv_size,
                     Callback<MultiGetResult> done, OpOptions options) {
  proto::MultiGetRequest request;
  request.set_hash_key(hash_key);
  for (std::string& sort_key : sort_keys) {
    request.add_sort_keys(std::move(sort_key));
  }
  request.set_max_kv_count(max_kv_count);
  request.set_max_kv_size(max_kv_size);
  MultiGetRange(std::move(request), std::move(done), options);
}

void Table::MultiGetRange(proto::MultiGetRequest request,
                          Callback<MultiGetResult> done, OpOptions options) {
  std::string hash_key = request.hash_key();
  proto::DataRequest data;
  *data.mutable_multi_get() = std::move(request);
  core_->Send(std::move(hash_key), std::move(data), /*read=*/true, options,
              ToMultiGet(std::move(done)));
}

namespace {

// The hash key a single-hash-key request routes by; nullptr for a request
// of no such kind.
const std::string* HashKeyOf(const proto::DataRequest& request) {
  switch (request.op_case()) {
    case proto::DataRequest::kPut:
      return &request.put().hash_key();
    case proto::DataRequest::kMultiPut:
      return &request.multi_put().hash_key();
    case proto::DataRequest::kRemove:
      return &request.remove().hash_key();
    case proto::DataRequest::kMultiRemove:
      return &request.multi_remove().hash_key();
    case proto::DataRequest::kIncr:
      return &request.incr().hash_key();
    case proto::DataRequest::kCheckAndSet:
      return &request.check_and_set().hash_key();
    case proto::DataRequest::kGet:
      return &request.get().hash_key();
    case proto::DataRequest::kMultiGet:
      return &request.multi_get().hash_key();
    case proto::DataRequest::kCheckAndMutate:
      return &request.check_and_mutate().hash_key();
    case proto::DataRequest::kSortkeyCount:
      return &request.sortkey_count().hash_key();
    case proto::DataRequest::kTtl:
      return &request.ttl().hash_key();
    default:
      return nullptr;
  }
}

}  // namespace

void Table::Send(proto::DataRequest request, bool read,
                 Callback<proto::DataResponse> done, OpOptions options) {
  const std::string* hash_key = HashKeyOf(request);
  if (hash_key == nullptr) {
    core_->client->Post([done = std::move(done)]() mutable {
      done(PegasusError(ErrorCode::kInvalidArgument,
                        "not a request of one hash key"));
    });
    return;
  }
  std::string key = *hash_key;
  core_->Send(std::move(key), std::move(request), read, options,
              std::move(done));
}

// --- Client ----------------------------------------------------------------

std::unique_ptr<Client> Client::Create(const ClientEnv& env,
                                       const ClientOptions& options) {
  PEGASUS_CHECK(env.clock != nullptr && env.executor != nullptr &&
                env.transport != nullptr && env.random != nullptr);
  return std::unique_ptr<Client>(
      new Client(std::make_unique<ClientCore>(env, options)));
}

Client::Client(std::unique_ptr<ClientCore> core) : core_(std::move(core)) {}
Client::~Client() = default;

void Client::OpenTable(std::string name, Callback<Table*> done) {
  core_->Post([core = core_.get(), name = std::move(name),
               done = std::move(done)]() mutable {
    core->OpenTable(std::move(name), std::move(done));
  });
}

void ClientCore::OpenTable(std::string name, Callback<Table*> done) {
  auto it = tables.find(name);
  if (it == tables.end()) {
    it = tables
             .emplace(name, std::unique_ptr<Table>(new Table(
                                std::make_unique<TableCore>(this, name))))
             .first;
  }
  Table* table = it->second.get();
  // Opening asks the meta server afresh: the table may be gone.
  table->core_->resolver.Forget();
  table->core_->resolver.Route(
      [table, done = std::move(done)](
          absl::StatusOr<client_internal::TableRoute> route) mutable {
        if (!route.ok()) return done(route.status());
        done(table);
      });
}

void ClientCore::AdminCall(proto::AdminRequest request, const OpOptions& op,
                           Callback<proto::AdminResponse> done) {
  const int64_t timeout =
      op.timeout_ns > 0 ? op.timeout_ns : options.default_timeout_ns;
  rpc.Call(
      options.meta, replication::kMetaAdminMethod, request.SerializeAsString(),
      CallOptions{.timeout_ns = timeout},
      [done = std::move(done)](absl::StatusOr<std::string> answer) mutable {
        if (!answer.ok()) return done(answer.status());
        proto::AdminResponse response;
        if (!response.ParseFromString(*answer)) {
          return done(PegasusError(ErrorCode::kInvalidArgument,
                                   "the meta server's answer does not parse"));
        }
        done(std::move(response));
      });
}

void Client::Admin(proto::AdminRequest request,
                   Callback<proto::AdminResponse> done, OpOptions options) {
  core_->Post([core = core_.get(), request = std::move(request), options,
               done = std::move(done)]() mutable {
    core->AdminCall(std::move(request), options, std::move(done));
  });
}

namespace {

// An admin answer's result through `extract`, or its error.
template <typename T, typename Extract>
Callback<proto::AdminResponse> Extracting(Callback<T> done, Extract extract) {
  return [done = std::move(done), extract = std::move(extract)](
             absl::StatusOr<proto::AdminResponse> response) mutable {
    if (!response.ok()) return done(response.status());
    if (response->error() != 0) {
      return done(StatusOf(response->error(), response->error_message()));
    }
    done(extract(*response));
  };
}

Callback<proto::AdminResponse> StatusOfAdmin(StatusCallback done) {
  return [done = std::move(done)](
             absl::StatusOr<proto::AdminResponse> response) mutable {
    if (!response.ok()) return done(response.status());
    done(StatusOf(response->error(), response->error_message()));
  };
}

}  // namespace

void Client::CreateTable(proto::CreateTableRequest request,
                         Callback<int32_t> done, OpOptions options) {
  proto::AdminRequest admin;
  *admin.mutable_create_table() = std::move(request);
  Admin(std::move(admin),
        Extracting<int32_t>(
            std::move(done),
            [](proto::AdminResponse& r) { return r.create_table().app_id(); }),
        options);
}

void Client::DropTable(std::string name, int64_t reserve_seconds,
                       StatusCallback done, OpOptions options) {
  proto::AdminRequest admin;
  admin.mutable_drop_table()->set_name(std::move(name));
  admin.mutable_drop_table()->set_reserve_seconds(reserve_seconds);
  Admin(std::move(admin), StatusOfAdmin(std::move(done)), options);
}

void Client::RecallTable(int32_t app_id, std::string new_name,
                         Callback<proto::TableInfo> done, OpOptions options) {
  proto::AdminRequest admin;
  admin.mutable_recall_table()->set_app_id(app_id);
  admin.mutable_recall_table()->set_new_name(std::move(new_name));
  Admin(std::move(admin),
        Extracting<proto::TableInfo>(
            std::move(done),
            [](proto::AdminResponse& r) { return r.recall_table().table(); }),
        options);
}

void Client::RenameTable(std::string old_name, std::string new_name,
                         StatusCallback done, OpOptions options) {
  proto::AdminRequest admin;
  admin.mutable_rename_table()->set_old_name(std::move(old_name));
  admin.mutable_rename_table()->set_new_name(std::move(new_name));
  Admin(std::move(admin), StatusOfAdmin(std::move(done)), options);
}

void Client::ListTables(bool include_dropped,
                        Callback<std::vector<proto::TableInfo>> done,
                        OpOptions options) {
  proto::AdminRequest admin;
  admin.mutable_list_tables()->set_include_dropped(include_dropped);
  Admin(std::move(admin),
        Extracting<std::vector<proto::TableInfo>>(
            std::move(done),
            [](proto::AdminResponse& r) {
              return std::vector<proto::TableInfo>(
                  r.list_tables().tables().begin(),
                  r.list_tables().tables().end());
            }),
        options);
}

void Client::UpdateEnvs(proto::UpdateEnvsRequest request, StatusCallback done,
                        OpOptions options) {
  proto::AdminRequest admin;
  *admin.mutable_update_envs() = std::move(request);
  Admin(std::move(admin), StatusOfAdmin(std::move(done)), options);
}

void Client::SetReplicaCount(std::string name, int32_t replica_count,
                             StatusCallback done, OpOptions options) {
  proto::AdminRequest admin;
  admin.mutable_set_replica_count()->set_name(std::move(name));
  admin.mutable_set_replica_count()->set_replica_count(replica_count);
  Admin(std::move(admin), StatusOfAdmin(std::move(done)), options);
}

void Client::SetMetaLevel(proto::MetaLevel level,
                          Callback<proto::MetaLevelResponse> done,
                          OpOptions options) {
  proto::AdminRequest admin;
  admin.mutable_set_meta_level()->set_level(level);
  Admin(std::move(admin),
        Extracting<proto::MetaLevelResponse>(
            std::move(done),
            [](proto::AdminResponse& r) { return r.meta_level(); }),
        options);
}

void Client::GetMetaLevel(Callback<proto::MetaLevelResponse> done,
                          OpOptions options) {
  proto::AdminRequest admin;
  admin.mutable_get_meta_level();
  Admin(std::move(admin),
        Extracting<proto::MetaLevelResponse>(
            std::move(done),
            [](proto::AdminResponse& r) { return r.meta_level(); }),
        options);
}

void Client::ListNodes(Callback<std::vector<proto::NodeInfo>> done,
                       OpOptions options) {
  proto::AdminRequest admin;
  admin.mutable_list_nodes();
  Admin(std::move(admin),
        Extracting<std::vector<proto::NodeInfo>>(
            std::move(done),
            [](proto::AdminResponse& r) {
              return std::vector<proto::NodeInfo>(
                  r.list_nodes().nodes().begin(), r.list_nodes().nodes().end());
            }),
        options);
}

void Client::ClusterInfo(Callback<proto::ClusterInfoResponse> done,
                         OpOptions options) {
  proto::AdminRequest admin;
  admin.mutable_cluster_info();
  Admin(std::move(admin),
        Extracting<proto::ClusterInfoResponse>(
            std::move(done),
            [](proto::AdminResponse& r) { return r.cluster_info(); }),
        options);
}

void Client::Balance(proto::BalanceRequest request, StatusCallback done,
                     OpOptions options) {
  proto::AdminRequest admin;
  *admin.mutable_balance() = std::move(request);
  Admin(std::move(admin), StatusOfAdmin(std::move(done)), options);
}

void Client::Propose(proto::ProposeRequest request, StatusCallback done,
                     OpOptions options) {
  proto::AdminRequest admin;
  *admin.mutable_propose() = std::move(request);
  Admin(std::move(admin), StatusOfAdmin(std::move(done)), options);
}

void Client::TableHealth(std::string name,
                         Callback<std::vector<proto::PartitionHealthInfo>> done,
                         OpOptions options) {
  proto::AdminRequest admin;
  admin.mutable_table_health()->set_name(std::move(name));
  Admin(std::move(admin),
        Extracting<std::vector<proto::PartitionHealthInfo>>(
            std::move(done),
            [](proto::AdminResponse& r) {
              return std::vector<proto::PartitionHealthInfo>(
                  r.table_health().partitions().begin(),
                  r.table_health().partitions().end());
            }),
        options);
}

}  // namespace pegasus
