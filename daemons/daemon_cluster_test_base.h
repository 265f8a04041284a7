// A test fixture: a meta server and three replica servers in this
// process on loopback ephemeral ports, their data in a temporary directory,
// a table "temp" of 8 partitions, and a client over gRPC.

#ifndef DAEMONS_DAEMON_CLUSTER_TEST_BASE_H_
#define DAEMONS_DAEMON_CLUSTER_TEST_BASE_H_

#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "daemons/lib/meta_daemon.h"
#include "daemons/lib/replica_daemon.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pegasus/net/remote_client.h"

namespace pegasus::daemons {

using namespace std::chrono_literals;

template <typename T>
using Result = absl::StatusOr<T>;

constexpr int kServers = 3;
constexpr int kPartitions = 8;

inline std::string TempDir() {
  const char* root = std::getenv("TEST_TMPDIR");
  std::string dir =
      std::string(root != nullptr ? root : "/tmp") + "/daemons_test_XXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  return dir;
}

class DaemonClusterTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    MetaDaemonOptions meta;
    meta.listen = "127.0.0.1:0";
    meta.data_dir = dir_ + "/meta";
    meta.meta.grace_ns = 2'000'000'000;
    meta.meta.lease_ns = 1'500'000'000;
    meta.meta.min_live_nodes = kServers;
    proto::CreateTableRequest temp;
    temp.set_name("temp");
    temp.set_partition_count(kPartitions);
    temp.set_replica_count(3);
    meta.initial_tables.push_back(temp);
    auto started = MetaDaemon::Start(meta);
    ASSERT_TRUE(started.ok()) << started.status();
    meta_ = *std::move(started);
    for (int i = 0; i < kServers; ++i) {
      ASSERT_TRUE(StartServer(i, "127.0.0.1:0").ok());
    }
    net::RemoteClientOptions options;
    options.meta = meta_->self().ToString();
    auto remote = net::RemoteClient::Connect(options);
    ASSERT_TRUE(remote.ok()) << remote.status();
    remote_ = *std::move(remote);
    ASSERT_TRUE(WaitHealthy());
  }

  void TearDown() override {
    remote_.reset();
    servers_.clear();
    meta_.reset();
    std::filesystem::remove_all(dir_);
  }

  absl::Status StartServer(int i, const std::string& listen) {
    ReplicaDaemonOptions options;
    options.listen = listen;
    options.meta = meta_->self().ToString();
    options.data_dir = dir_ + "/server" + std::to_string(i);
    options.threads = 2;
    options.host.lease_ns = 1'500'000'000;
    options.host.beacon_interval_ns = 300'000'000;
    auto started = ReplicaDaemon::Start(options);
    if (!started.ok()) return started.status();
    if (servers_.size() <= static_cast<size_t>(i)) servers_.resize(i + 1);
    servers_[i] = *std::move(started);
    return absl::OkStatus();
  }

  // Runs `call` on the client's strand with a callback and waits for it.
  template <typename T, typename Call>
  T Await(Call call) {
    auto promise = std::make_shared<std::promise<T>>();
    std::future<T> future = promise->get_future();
    remote_->strand()->Post([&call, promise] {
      call([promise](T value) { promise->set_value(std::move(value)); });
    });
    EXPECT_EQ(future.wait_for(30s), std::future_status::ready);
    return future.get();
  }

  bool WaitHealthy() {
    for (int i = 0; i < 300; ++i) {
      Result<proto::ClusterInfoResponse> info =
          remote_->sync_client().ClusterInfo();
      if (info.ok() && info->healthy_partitions() == kPartitions &&
          info->alive_nodes() == kServers) {
        return true;
      }
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  Table* Open(const std::string& name) {
    Result<Table*> table = Await<Result<Table*>>(
        [&](auto done) { remote_->client().OpenTable(name, std::move(done)); });
    EXPECT_TRUE(table.ok()) << table.status();
    return table.ok() ? *table : nullptr;
  }

  std::shared_ptr<grpc::Channel> Channel(NodeId node) {
    return grpc::CreateChannel(node.ToString(),
                               grpc::InsecureChannelCredentials());
  }

  std::string dir_;
  std::unique_ptr<MetaDaemon> meta_;
  std::vector<std::unique_ptr<ReplicaDaemon>> servers_;
  std::unique_ptr<net::RemoteClient> remote_;
};

}  // namespace pegasus::daemons

#endif  // DAEMONS_DAEMON_CLUSTER_TEST_BASE_H_
