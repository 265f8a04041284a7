// The C++ client against a whole simulated cluster (testing/sim's
// SimCluster): routing, retries after failover, the data API and the admin
// API. Each test is one deterministic run in virtual time.

#include "pegasus/client/client.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "testing/sim/sim_cluster.h"

namespace pegasus {
namespace {

using sim::SimCluster;

constexpr int64_t kSecond = 1'000'000'000;

template <typename T>
using Result = absl::StatusOr<T>;

class ClientTest : public testing::Test {
 protected:
  ClientTest() : cluster_(Options()) {}

  static sim::SimClusterOptions Options() {
    sim::SimClusterOptions options;
    options.servers = 3;
    return options;
  }

  void SetUp() override {
    ASSERT_TRUE(
        cluster_.RunUntil([&] { return cluster_.AllHealthy(); }, 30 * kSecond));
    table_ = Open("temp");
    ASSERT_NE(table_, nullptr);
  }

  Table* Open(const std::string& name) {
    auto table = cluster_.Await<Result<Table*>>(
        [&](auto done) { cluster_.client().OpenTable(name, std::move(done)); });
    if (!table.has_value() || !table->ok()) return nullptr;
    return **table;
  }

  absl::Status Set(const std::string& hk, const std::string& sk,
                   const std::string& value) {
    auto status = cluster_.Await<absl::Status>(
        [&](auto done) { table_->Set(hk, sk, value, 0, std::move(done)); });
    return status.value_or(PegasusError(ErrorCode::kTimeout, "no answer"));
  }

  Result<std::string> Get(const std::string& hk, const std::string& sk,
                          OpOptions options = {}) {
    auto value = cluster_.Await<Result<std::string>>(
        [&](auto done) { table_->Get(hk, sk, std::move(done), options); });
    return value.value_or(PegasusError(ErrorCode::kTimeout, "no answer"));
  }

  // The server holding the primary of `hash_key`'s partition.
  int PrimaryServerOf(const std::string& hash_key) {
    const proto::PartitionConfig* config =
        cluster_.meta()->GetConfig(Gpid{1, PartitionOfHashKey(hash_key, 8)});
    return static_cast<int>(config->primary()) - 2;
  }

  SimCluster cluster_;
  Table* table_ = nullptr;
};

TEST_F(ClientTest, WritesAndReadsReachEveryPartition) {
  std::set<int32_t> partitions;
  for (int i = 0; i < 40; ++i) {
    const std::string hk = "user" + std::to_string(i);
    partitions.insert(PartitionOfHashKey(hk, 8));
    ASSERT_TRUE(Set(hk, "name", "v" + std::to_string(i)).ok()) << hk;
  }
  EXPECT_EQ(partitions.size(), 8u);
  for (int i = 0; i < 40; ++i) {
    const std::string hk = "user" + std::to_string(i);
    Result<std::string> value = Get(hk, "name");
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(*value, "v" + std::to_string(i));
  }
  EXPECT_TRUE(
      HasErrorCode(Get("user0", "missing").status(), ErrorCode::kNotFound));
}

TEST_F(ClientTest, MultiKeyOperationsWithinOneHashKey) {
  auto multi_set = cluster_.Await<absl::Status>([&](auto done) {
    table_->MultiSet("h", {{"a", "1"}, {"b", "2"}, {"c", "3"}}, 0,
                     std::move(done));
  });
  ASSERT_TRUE(multi_set.has_value() && multi_set->ok());
  auto all = cluster_.Await<Result<MultiGetResult>>(
      [&](auto done) { table_->MultiGet("h", {}, 0, 0, std::move(done)); });
  ASSERT_TRUE(all.has_value() && all->ok());
  ASSERT_EQ((*all)->kvs.size(), 3u);
  EXPECT_EQ((*all)->kvs[1], std::make_pair(std::string("b"), std::string("2")));
  EXPECT_TRUE((*all)->complete);
  auto limited = cluster_.Await<Result<MultiGetResult>>(
      [&](auto done) { table_->MultiGet("h", {}, 2, 0, std::move(done)); });
  ASSERT_TRUE(limited.has_value() && limited->ok());
  EXPECT_EQ((*limited)->kvs.size(), 2u);
  EXPECT_FALSE((*limited)->complete);
  auto deleted = cluster_.Await<absl::Status>([&](auto done) {
    table_->MultiDel("h", {"a", "c"}, std::move(done));
  });
  ASSERT_TRUE(deleted.has_value() && deleted->ok());
  EXPECT_TRUE(HasErrorCode(Get("h", "a").status(), ErrorCode::kNotFound));
  EXPECT_EQ(*Get("h", "b"), "2");

  auto incr = cluster_.Await<Result<int64_t>>(
      [&](auto done) { table_->Incr("h", "n", 5, 0, std::move(done)); });
  ASSERT_TRUE(incr.has_value() && incr->ok());
  EXPECT_EQ(**incr, 5);
  auto swapped = cluster_.Await<Result<CheckAndSetResult>>([&](auto done) {
    table_->CompareExchange("h", "b", "2", "22", 0, std::move(done));
  });
  ASSERT_TRUE(swapped.has_value() && swapped->ok());
  EXPECT_TRUE((*swapped)->succeeded);
  auto refused = cluster_.Await<Result<CheckAndSetResult>>([&](auto done) {
    table_->CompareExchange("h", "b", "2", "222", 0, std::move(done));
  });
  ASSERT_TRUE(refused.has_value() && refused->ok());
  EXPECT_FALSE((*refused)->succeeded);
  EXPECT_EQ((*refused)->check_value, "22");
  EXPECT_EQ(*Get("h", "b"), "22");
}

TEST_F(ClientTest, AnEmptyHashKeyIsRefusedWithoutBeingSent) {
  EXPECT_TRUE(HasErrorCode(Set("", "s", "v"), ErrorCode::kInvalidHashKey));
  EXPECT_TRUE(HasErrorCode(Get("", "s").status(), ErrorCode::kInvalidHashKey));
}

TEST_F(ClientTest, AnUnknownTableIsAppNotExist) {
  auto table = cluster_.Await<Result<Table*>>([&](auto done) {
    cluster_.client().OpenTable("nosuch", std::move(done));
  });
  ASSERT_TRUE(table.has_value());
  EXPECT_TRUE(HasErrorCode(table->status(), ErrorCode::kAppNotExist));
}

TEST_F(ClientTest, FindsTheNewPrimaryAfterFailover) {
  ASSERT_TRUE(Set("k", "s", "before").ok());
  const int old_primary = PrimaryServerOf("k");
  cluster_.CrashServer(old_primary);
  // Reads retry until the meta server names a new primary (once it has
  // declared the old one dead: 5 s of grace); every acknowledged write is
  // there.
  Result<std::string> value =
      Get("k", "s", OpOptions{.timeout_ns = 20 * kSecond});
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "before");
  EXPECT_NE(PrimaryServerOf("k"), old_primary);
  ASSERT_TRUE(Set("k", "s", "after").ok());
  EXPECT_EQ(*Get("k", "s"), "after");
}

TEST_F(ClientTest, TableLifecycleThroughTheAdminApi) {
  proto::CreateTableRequest create;
  create.set_name("orders");
  create.set_partition_count(4);
  create.set_replica_count(3);
  auto id = cluster_.Await<Result<int32_t>>([&](auto done) {
    cluster_.client().CreateTable(create, std::move(done));
  });
  ASSERT_TRUE(id.has_value() && id->ok()) << id->status();
  EXPECT_EQ(**id, 2);
  auto again = cluster_.Await<Result<int32_t>>([&](auto done) {
    cluster_.client().CreateTable(create, std::move(done));
  });
  EXPECT_TRUE(HasErrorCode(again->status(), ErrorCode::kAppExist));
  ASSERT_TRUE(
      cluster_.RunUntil([&] { return cluster_.AllHealthy(); }, 30 * kSecond));
  table_ = Open("orders");
  ASSERT_NE(table_, nullptr);
  ASSERT_TRUE(Set("o1", "total", "42").ok());

  auto tables = cluster_.Await<Result<std::vector<proto::TableInfo>>>(
      [&](auto done) { cluster_.client().ListTables(false, std::move(done)); });
  ASSERT_TRUE(tables.has_value() && tables->ok());
  ASSERT_EQ((*tables)->size(), 2u);
  EXPECT_EQ((**tables)[1].name(), "orders");

  auto dropped = cluster_.Await<absl::Status>([&](auto done) {
    cluster_.client().DropTable("orders", 0, std::move(done));
  });
  ASSERT_TRUE(dropped.has_value() && dropped->ok());
  EXPECT_EQ(Open("orders"), nullptr);

  auto recalled = cluster_.Await<Result<proto::TableInfo>>([&](auto done) {
    cluster_.client().RecallTable(2, "orders2", std::move(done));
  });
  ASSERT_TRUE(recalled.has_value() && recalled->ok());
  EXPECT_EQ((*recalled)->name(), "orders2");
  table_ = Open("orders2");
  ASSERT_NE(table_, nullptr);
  Result<std::string> total = Get("o1", "total");
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, "42");
}

}  // namespace
}  // namespace pegasus
