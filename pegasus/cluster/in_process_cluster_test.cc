// InProcessCluster on real threads and RocksDB in a temporary directory:
// it serves, survives the loss of a replica server and a restart of the
// whole cluster, and heals after a partition.

#include "pegasus/cluster/in_process_cluster.h"

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/runtime/clock.h"

namespace pegasus {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

InProcessClusterOptions Options(const std::string& name) {
  InProcessClusterOptions options;
  const char* tmp = std::getenv("TEST_TMPDIR");
  options.data_dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
  options.replica_servers = 3;
  proto::CreateTableRequest table;
  table.set_name("temp");
  table.set_partition_count(4);
  table.set_replica_count(3);
  options.tables.push_back(table);
  // Seconds-scale failover, shortened further for the test.
  options.meta.grace_ns = 2 * kSecond;
  options.meta.add_secondary_delay_ns = kSecond / 2;
  options.lease_ns = kSecond;
  options.seed = 17;
  return options;
}

TEST(InProcessClusterTest, ServesSurvivesAServerLossAndRestarts) {
  const InProcessClusterOptions options = Options("restart");
  {
    auto cluster = InProcessCluster::Start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    ASSERT_TRUE((*cluster)->WaitHealthy(absl::Seconds(30)).ok());
    SyncClient client = (*cluster)->sync_client();
    absl::StatusOr<SyncTable> table = client.OpenTable("temp");
    ASSERT_TRUE(table.ok()) << table.status();
    for (int i = 0; i < 20; ++i) {
      const std::string key = "k" + std::to_string(i);
      ASSERT_TRUE(table->Set(key, "s", "v" + std::to_string(i)).ok()) << key;
    }
    // One replica server goes: every partition is served again once the
    // meta server moved its primaries, and nothing acknowledged is lost.
    (*cluster)->KillServer(0);
    for (int i = 0; i < 20; ++i) {
      const std::string key = "k" + std::to_string(i);
      absl::StatusOr<std::string> value =
          table->Get(key, "s", OpOptions{.timeout_ns = 20 * kSecond});
      ASSERT_TRUE(value.ok()) << key << ": " << value.status();
      EXPECT_EQ(*value, "v" + std::to_string(i));
    }
    ASSERT_TRUE(table
                    ->Set("after", "s", "loss", 0,
                          OpOptions{.timeout_ns = 20 * kSecond})
                    .ok());
    ASSERT_TRUE((*cluster)->RestartServer(0).ok());
    ASSERT_TRUE((*cluster)->WaitHealthy(absl::Seconds(30)).ok());
  }
  // The whole cluster again, from its directory.
  auto cluster = InProcessCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->WaitHealthy(absl::Seconds(30)).ok());
  absl::StatusOr<SyncTable> table = (*cluster)->sync_client().OpenTable("temp");
  ASSERT_TRUE(table.ok()) << table.status();
  for (int i = 0; i < 20; ++i) {
    const std::string key = "k" + std::to_string(i);
    absl::StatusOr<std::string> value =
        table->Get(key, "s", OpOptions{.timeout_ns = 20 * kSecond});
    ASSERT_TRUE(value.ok()) << key << ": " << value.status();
    EXPECT_EQ(*value, "v" + std::to_string(i));
  }
  EXPECT_EQ(*table->Get("after", "s"), "loss");
}

// Whether the meta server counts `node` alive.
bool Alive(SyncClient& client, NodeId node) {
  absl::StatusOr<std::vector<proto::NodeInfo>> nodes = client.ListNodes();
  if (!nodes.ok()) return false;
  for (const proto::NodeInfo& info : *nodes) {
    if (info.node() == node.value) return info.alive();
  }
  return false;
}

TEST(InProcessClusterTest, AServerCutOffFromTheMetaServerIsReplaced) {
  auto cluster = InProcessCluster::Start(Options("partition"));
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->WaitHealthy(absl::Seconds(30)).ok());
  SyncClient client = (*cluster)->sync_client();
  absl::StatusOr<SyncTable> table = client.OpenTable("temp");
  ASSERT_TRUE(table.ok());
  const NodeId cut = InProcessCluster::ServerNode(1);
  // Server 1 can no longer reach the meta server: its lease lapses, it
  // stops serving, the meta server declares it dead and every partition is
  // served by the other two.
  (*cluster)->Partition({cut}, {InProcessCluster::MetaNode()});
  Clock* clock = RealClock();
  const int64_t deadline = clock->MonotonicNowNs() + 20 * kSecond;
  while (Alive(client, cut) && clock->MonotonicNowNs() < deadline) {
  }
  ASSERT_FALSE(Alive(client, cut));
  for (int i = 0; i < 20; ++i) {
    const std::string key = "k" + std::to_string(i);
    ASSERT_TRUE(
        table->Set(key, "s", "cut", 0, OpOptions{.timeout_ns = 20 * kSecond})
            .ok())
        << key;
  }
  (*cluster)->Heal();
  ASSERT_TRUE((*cluster)->WaitHealthy(absl::Seconds(30)).ok());
  EXPECT_TRUE(Alive(client, cut));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(*table->Get("k" + std::to_string(i), "s"), "cut");
  }
}

// An operator's balance and propose through the blocking client: a
// partition's primary moves to a secondary, and writes follow it.
TEST(InProcessClusterTest, AnOperatorMovesAPrimaryThroughTheSyncClient) {
  auto cluster = InProcessCluster::Start(Options("balance"));
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->WaitHealthy(absl::Seconds(30)).ok());
  SyncClient client = (*cluster)->sync_client();
  absl::StatusOr<std::vector<proto::PartitionHealthInfo>> health =
      client.TableHealth("temp");
  ASSERT_TRUE(health.ok()) << health.status();
  const proto::PartitionHealthInfo partition = health->at(0);
  ASSERT_GT(partition.secondaries_size(), 0);
  const uint64_t to = partition.secondaries(0);

  proto::ProposeRequest propose;
  propose.set_app_id(1);
  propose.set_partition_index(0);
  propose.set_type(proto::PROPOSE_UPGRADE_TO_SECONDARY);
  propose.set_node(to);
  propose.set_target(partition.primary());
  absl::Status refused = client.Propose(propose);
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("upgrade_to_secondary is refused"),
            std::string::npos)
      << refused;

  proto::BalanceRequest move;
  move.set_app_id(1);
  move.set_partition_index(0);
  move.set_kind(proto::BalanceRequest::MOVE_PRIMARY);
  move.set_from(partition.primary());
  move.set_to(to);
  ASSERT_TRUE(client.Balance(move).ok());
  Clock* clock = RealClock();
  const int64_t deadline = clock->MonotonicNowNs() + 20 * kSecond;
  uint64_t primary = partition.primary();
  while (primary != to && clock->MonotonicNowNs() < deadline) {
    health = client.TableHealth("temp");
    if (health.ok()) primary = health->at(0).primary();
  }
  ASSERT_EQ(primary, to);
  absl::StatusOr<SyncTable> table = client.OpenTable("temp");
  ASSERT_TRUE(table.ok());
  for (int i = 0; i < 8; ++i) {
    const std::string key = "k" + std::to_string(i);
    ASSERT_TRUE(
        table->Set(key, "s", "moved", 0, OpOptions{.timeout_ns = 20 * kSecond})
            .ok())
        << key;
    EXPECT_EQ(*table->Get(key, "s"), "moved");
  }
}

TEST(InProcessClusterTest, RefusesAMissingDirectory) {
  InProcessClusterOptions options;
  EXPECT_TRUE(HasErrorCode(InProcessCluster::Start(options).status(),
                           ErrorCode::kInvalidArgument));
}

}  // namespace
}  // namespace pegasus
