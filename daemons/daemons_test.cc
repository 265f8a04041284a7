// The daemons in one process on loopback: a meta server and three replica
// servers on ephemeral ports, with the C++ client over gRPC and the gRPC
// services called directly, as a client in another language would.

#include <httplib.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "daemons/daemon_cluster_test_base.h"
#include "daemons/lib/grpc_status.h"
#include "daemons/lib/meta_daemon.h"
#include "daemons/lib/replica_daemon.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pegasus/base/crc64.h"
#include "pegasus/base/status.h"
#include "pegasus/net/address.h"
#include "pegasus/net/remote_client.h"
#include "pegasus/proto/api.grpc.pb.h"
#include "pegasus/storage/partition_types.h"

namespace pegasus::daemons {
namespace {

using DaemonsTest = DaemonClusterTest;

TEST_F(DaemonsTest, TheDataApiOverGrpc) {
  Table* table = Open("temp");
  ASSERT_NE(table, nullptr);
  SyncTable sync(table);
  // Every partition, written and read back.
  std::set<int32_t> partitions;
  for (int i = 0; i < 64; ++i) {
    const std::string key = "key" + std::to_string(i);
    ASSERT_TRUE(sync.Set(key, "s", "v" + std::to_string(i)).ok());
    partitions.insert(PartitionOfHashKey(key, kPartitions));
  }
  EXPECT_EQ(partitions.size(), static_cast<size_t>(kPartitions));
  for (int i = 0; i < 64; ++i) {
    Result<std::string> value = sync.Get("key" + std::to_string(i), "s");
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(*value, "v" + std::to_string(i));
  }
  EXPECT_TRUE(
      HasErrorCode(sync.Get("nope", "s").status(), ErrorCode::kNotFound));

  ASSERT_TRUE(sync.MultiSet("h", {{"a", "1"}, {"b", "2"}, {"c", "3"}}).ok());
  Result<MultiGetResult> all = sync.MultiGet("h", {});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->kvs.size(), 3u);
  EXPECT_EQ(all->kvs[2].second, "3");
  Result<int64_t> incr = sync.Incr("counter", "n", 5);
  ASSERT_TRUE(incr.ok()) << incr.status();
  EXPECT_EQ(*incr, 5);
  Result<CheckAndSetResult> cas = sync.CompareExchange("h", "a", "1", "one");
  ASSERT_TRUE(cas.ok()) << cas.status();
  EXPECT_TRUE(cas->succeeded);
  EXPECT_EQ(*sync.Get("h", "a"), "one");
  ASSERT_TRUE(sync.MultiDel("h", {"b"}).ok());
  EXPECT_TRUE(HasErrorCode(sync.Get("h", "b").status(), ErrorCode::kNotFound));

  auto count = Await<Result<int64_t>>(
      [&](auto done) { table->SortKeyCount("h", std::move(done)); });
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 2);
  auto ttl = Await<Result<int32_t>>(
      [&](auto done) { table->Ttl("h", "a", std::move(done)); });
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, -1);
  auto batch = Await<Result<std::vector<BatchGetItem>>>([&](auto done) {
    table->BatchGet({{"key1", "s"}, {"h", "c"}, {"nope", "s"}},
                    std::move(done));
  });
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 3u);
  EXPECT_EQ((*batch)[0].value, "v1");
  EXPECT_EQ((*batch)[1].value, "3");
  EXPECT_EQ((*batch)[2].value, std::nullopt);

  // The whole table over 4 unordered scanners: every row once.
  auto scanners =
      Await<Result<std::vector<std::unique_ptr<Scanner>>>>([&](auto done) {
        table->GetUnorderedScanners(4, ScanOptions{.batch_size = 5},
                                    std::move(done));
      });
  ASSERT_TRUE(scanners.ok()) << scanners.status();
  std::set<std::pair<std::string, std::string>> seen;
  for (std::unique_ptr<Scanner>& scanner : *scanners) {
    for (int calls = 0; calls < 100; ++calls) {
      auto next = Await<Result<ScanBatch>>(
          [&](auto done) { scanner->Next(std::move(done)); });
      ASSERT_TRUE(next.ok()) << next.status();
      for (const Row& row : next->rows) {
        EXPECT_TRUE(seen.insert({row.hash_key, row.sort_key}).second);
      }
      if (next->complete) break;
    }
  }
  // 64 keys, h/a and h/c, counter/n.
  EXPECT_EQ(seen.size(), 67u);
  // The scanners' last use was on the client's strand; destroy them there.
  Await<bool>([&](auto done) {
    scanners->clear();
    done(true);
  });
}

TEST_F(DaemonsTest, TheAdminApiOverGrpc) {
  SyncClient client = remote_->sync_client();
  proto::CreateTableRequest create;
  create.set_name("t2");
  create.set_partition_count(4);
  create.set_replica_count(3);
  Result<int32_t> id = client.CreateTable(create);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_TRUE(
      HasErrorCode(client.CreateTable(create).status(), ErrorCode::kAppExist));
  create.set_name("bad name!");
  EXPECT_TRUE(HasErrorCode(client.CreateTable(create).status(),
                           ErrorCode::kInvalidAppName));
  Result<std::vector<proto::TableInfo>> tables = client.ListTables();
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(tables->size(), 2u);
  ASSERT_TRUE(client.RenameTable("t2", "t3").ok());
  ASSERT_TRUE(client.DropTable("t3").ok());
  Result<proto::TableInfo> recalled = client.RecallTable(*id, "t4");
  ASSERT_TRUE(recalled.ok()) << recalled.status();
  EXPECT_EQ(recalled->name(), "t4");
  Result<std::vector<proto::NodeInfo>> nodes = client.ListNodes();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), static_cast<size_t>(kServers));
  std::set<uint64_t> ids;
  for (const auto& server : servers_) ids.insert(server->self().value);
  for (const proto::NodeInfo& node : *nodes) {
    EXPECT_TRUE(ids.count(node.node()) > 0) << NodeId{node.node()}.ToString();
    EXPECT_TRUE(node.alive());
  }
  Result<proto::ClusterInfoResponse> info = client.ClusterInfo();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->meta_node(), meta_->self().value);
  Result<std::vector<proto::PartitionHealthInfo>> health =
      client.TableHealth("temp");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->size(), static_cast<size_t>(kPartitions));
}

// A status's Pegasus error, by the trailer every failed call carries.
std::string PegasusErrorOf(const grpc::ClientContext& context) {
  auto it = context.GetServerTrailingMetadata().find(kPegasusErrorKey);
  if (it == context.GetServerTrailingMetadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

TEST_F(DaemonsTest, TheGrpcServicesAnswerWithStatusCodes) {
  auto meta = proto::Meta::NewStub(Channel(meta_->self()));
  proto::QueryConfigRequest query;
  query.set_app_name("temp");
  proto::QueryConfigResponse config;
  {
    grpc::ClientContext context;
    grpc::Status status = meta->QueryConfig(&context, query, &config);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(config.partitions_size(), kPartitions);
  }
  {
    grpc::ClientContext context;
    query.set_app_name("missing");
    proto::QueryConfigResponse missing;
    grpc::Status status = meta->QueryConfig(&context, query, &missing);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(status.error_message().rfind("PERR_APP_NOT_EXIST: ", 0), 0u)
        << status.error_message();
    EXPECT_EQ(PegasusErrorOf(context), "PERR_APP_NOT_EXIST");
  }
  {
    grpc::ClientContext context;
    proto::CreateTableRequest bad;
    bad.set_name("x");
    bad.set_partition_count(3);
    bad.set_replica_count(3);
    proto::CreateTableResponse created;
    grpc::Status status = meta->CreateTable(&context, bad, &created);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }

  // The primary of partition 0, and a key that hashes there.
  const proto::PartitionConfig& partition = config.partitions(0);
  std::string key;
  for (int i = 0; PartitionOfHashKey(key, kPartitions) != 0 || key.empty();
       ++i) {
    key = "k" + std::to_string(i);
  }
  auto replica = proto::Replica::NewStub(Channel(NodeId{partition.primary()}));
  auto request = [&](auto fill) {
    proto::DataRequest data;
    data.set_app_id(config.app_id());
    data.set_partition_index(0);
    fill(data);
    return data;
  };
  auto call = [&](auto method, const proto::DataRequest& data,
                  proto::DataResponse* response, std::string* error) {
    grpc::ClientContext context;
    grpc::Status status = ((*replica).*method)(&context, data, response);
    *error = PegasusErrorOf(context);
    return status;
  };
  proto::DataResponse response;
  std::string error;
  grpc::Status status =
      call(&proto::Replica::Stub::Put, request([&](proto::DataRequest& d) {
        d.mutable_put()->set_hash_key(key);
        d.mutable_put()->set_sort_key("s");
        d.mutable_put()->set_value("from grpc");
      }),
           &response, &error);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.error(), 0);

  auto get = request([&](proto::DataRequest& d) {
    d.mutable_get()->set_hash_key(key);
    d.mutable_get()->set_sort_key("s");
  });
  status = call(&proto::Replica::Stub::Get, get, &response, &error);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.value(), "from grpc");

  // A missing row is an outcome, not a failure.
  auto get_missing = request([&](proto::DataRequest& d) {
    d.mutable_get()->set_hash_key(key);
    d.mutable_get()->set_sort_key("nothing here");
  });
  status = call(&proto::Replica::Stub::Get, get_missing, &response, &error);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.error(), static_cast<int>(ErrorCode::kNotFound));

  // The wrong operation for the method.
  status = call(&proto::Replica::Stub::Put, get, &response, &error);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(error, "PERR_INVALID_ARGUMENT");

  // An empty hash key and an oversized value are refused and change
  // nothing.
  status = call(&proto::Replica::Stub::Put, request([&](proto::DataRequest& d) {
    d.mutable_put()->set_sort_key("s");
    d.mutable_put()->set_value("x");
  }),
                &response, &error);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  status = call(&proto::Replica::Stub::Put, request([&](proto::DataRequest& d) {
    d.mutable_put()->set_hash_key(key);
    d.mutable_put()->set_sort_key("s");
    d.mutable_put()->set_value(std::string(2 << 20, 'v'));
  }),
                &response, &error);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  status = call(&proto::Replica::Stub::Get, get, &response, &error);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(response.value(), "from grpc");

  // A table the server holds nothing of: ask the meta server again.
  proto::DataRequest unknown = get;
  unknown.set_app_id(999);
  status = call(&proto::Replica::Stub::Get, unknown, &response, &error);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(error, "PERR_OBJECT_NOT_FOUND");
}

TEST_F(DaemonsTest, HealthAndReflectionAnswerOnEveryDaemon) {
  std::vector<std::pair<NodeId, std::string>> daemons = {
      {meta_->self(), "pegasus.proto.Meta"}};
  for (const auto& server : servers_) {
    daemons.push_back({server->self(), "pegasus.proto.Replica"});
  }
  for (const auto& [node, service] : daemons) {
    auto channel = Channel(node);
    auto health = grpc::health::v1::Health::NewStub(channel);
    for (const std::string& name : {std::string(), service}) {
      grpc::ClientContext context;
      grpc::health::v1::HealthCheckRequest request;
      request.set_service(name);
      grpc::health::v1::HealthCheckResponse response;
      grpc::Status status = health->Check(&context, request, &response);
      ASSERT_TRUE(status.ok()) << node.ToString() << " " << name;
      EXPECT_EQ(response.status(),
                grpc::health::v1::HealthCheckResponse::SERVING);
    }
    auto reflection =
        grpc::reflection::v1alpha::ServerReflection::NewStub(channel);
    grpc::ClientContext context;
    auto stream = reflection->ServerReflectionInfo(&context);
    grpc::reflection::v1alpha::ServerReflectionRequest request;
    request.set_list_services("");
    ASSERT_TRUE(stream->Write(request));
    stream->WritesDone();
    grpc::reflection::v1alpha::ServerReflectionResponse response;
    ASSERT_TRUE(stream->Read(&response));
    std::set<std::string> services;
    for (const auto& listed : response.list_services_response().service()) {
      services.insert(listed.name());
    }
    EXPECT_TRUE(services.count(service) > 0) << node.ToString();
    EXPECT_TRUE(services.count("pegasus.proto.NodeLink") > 0);
    EXPECT_TRUE(services.count("grpc.health.v1.Health") > 0);
    stream->Finish();
  }
}

// One sample's value from Prometheus text, or -1.
double Sample(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST_F(DaemonsTest, MetricsAreServedAndCountWhatHappened) {
  Table* table = Open("temp");
  ASSERT_NE(table, nullptr);
  SyncTable sync(table);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(sync.Set("m" + std::to_string(i), "s", "v").ok());
  }
  double puts = 0;
  int primaries = 0;
  for (const auto& server : servers_) {
    httplib::Client http("127.0.0.1", server->http_port());
    httplib::Result got = http.Get("/metrics");
    ASSERT_TRUE(got) << "no answer from port " << server->http_port();
    ASSERT_EQ(got->status, 200);
    const std::string& text = got->body;
    EXPECT_NE(text.find("# TYPE pegasus_replica_request_duration_seconds "
                        "histogram"),
              std::string::npos);
    const double served =
        Sample(text, "pegasus_replica_requests_total{op=\"put\"}");
    EXPECT_GE(served, 0) << text.substr(0, 2000);
    puts += served;
    primaries +=
        static_cast<int>(Sample(text, "pegasus_replicas{status=\"primary\"}"));
    EXPECT_GT(Sample(text, "pegasus_replica_log_bytes"), 0);
  }
  EXPECT_EQ(puts, 20);
  EXPECT_EQ(primaries, kPartitions);

  httplib::Client http("127.0.0.1", meta_->http_port());
  httplib::Result got = http.Get("/metrics");
  ASSERT_TRUE(got);
  EXPECT_EQ(
      Sample(got->body,
             "pegasus_meta_partitions{health=\"healthy\",table=\"temp\"}"),
      kPartitions)
      << got->body.substr(0, 3000);
  EXPECT_EQ(Sample(got->body, "pegasus_meta_nodes{state=\"alive\"}"), kServers);
}

TEST_F(DaemonsTest, ASecondDaemonOnAUsedPortFailsClearly) {
  absl::Status taken = StartServer(7, servers_[0]->self().ToString());
  EXPECT_TRUE(HasErrorCode(taken, ErrorCode::kNetworkFailure)) << taken;
  EXPECT_NE(taken.message().find("in use"), std::string::npos) << taken;
  // The first server still serves.
  SyncTable sync(Open("temp"));
  EXPECT_TRUE(sync.Set("still", "s", "here").ok());
}

TEST_F(DaemonsTest, AServerStoppedAndRestartedKeepsEveryWrite) {
  SyncTable sync(Open("temp"));
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(sync.Set("r" + std::to_string(i), "s", "before").ok());
  }
  const std::string address = servers_[1]->self().ToString();
  servers_[1].reset();
  // Writes go on with two replicas once the meta server moves on. A write
  // sent to the stopped server is never answered, and the client does not
  // resend a write it got no answer to: it reports DEADLINE_EXCEEDED, and
  // this caller (whose writes are idempotent) tries again.
  for (int i = 0; i < 30; ++i) {
    absl::Status set;
    for (int attempt = 0; attempt < 5; ++attempt) {
      set = sync.Set("r" + std::to_string(i), "s", "during");
      if (set.ok()) break;
      EXPECT_TRUE(HasErrorCode(set, ErrorCode::kTimeout)) << set;
    }
    ASSERT_TRUE(set.ok()) << set;
  }
  ASSERT_TRUE(StartServer(1, address).ok());
  ASSERT_TRUE(WaitHealthy());
  for (int i = 0; i < 30; ++i) {
    Result<std::string> value = sync.Get("r" + std::to_string(i), "s");
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(*value, "during");
  }
}

}  // namespace
}  // namespace pegasus::daemons
