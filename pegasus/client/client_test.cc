// The C++ client against a whole simulated cluster (testing/sim's
// SimCluster): routing, retries after failover, the data API and the admin
// API. Each test is one deterministic run in virtual time.

#include "pegasus/client/client.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/storage/partition_types.h"
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

TEST_F(ClientTest, TheRestOfTheDataApi) {
  auto multi_set = cluster_.Await<absl::Status>([&](auto done) {
    table_->MultiSet("h", {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}, 0,
                     std::move(done));
  });
  ASSERT_TRUE(multi_set.has_value() && multi_set->ok());
  auto count = cluster_.Await<Result<int64_t>>(
      [&](auto done) { table_->SortKeyCount("h", std::move(done)); });
  ASSERT_TRUE(count.has_value() && count->ok());
  EXPECT_EQ(**count, 4);
  auto exists = cluster_.Await<Result<bool>>(
      [&](auto done) { table_->Exist("h", "a", std::move(done)); });
  ASSERT_TRUE(exists.has_value() && exists->ok());
  EXPECT_TRUE(**exists);
  auto missing = cluster_.Await<Result<bool>>(
      [&](auto done) { table_->Exist("h", "zz", std::move(done)); });
  ASSERT_TRUE(missing.has_value() && missing->ok());
  EXPECT_FALSE(**missing);
  auto ttl = cluster_.Await<Result<int32_t>>(
      [&](auto done) { table_->Ttl("h", "a", std::move(done)); });
  ASSERT_TRUE(ttl.has_value() && ttl->ok());
  EXPECT_EQ(**ttl, -1);
  auto sort_keys = cluster_.Await<Result<MultiGetResult>>(
      [&](auto done) { table_->MultiGetSortKeys("h", 0, 0, std::move(done)); });
  ASSERT_TRUE(sort_keys.has_value() && sort_keys->ok());
  ASSERT_EQ((*sort_keys)->kvs.size(), 4u);
  EXPECT_EQ((*sort_keys)->kvs[3].first, "d");
  EXPECT_EQ((*sort_keys)->kvs[3].second, "");

  // check_and_mutate: both mutations or neither.
  auto mutated = cluster_.Await<Result<CheckAndSetResult>>([&](auto done) {
    table_->CheckAndMutate(
        "h", "a", static_cast<int32_t>(CheckType::kValueBytesEqual), "1",
        {Mutation{Mutation::Op::kSet, "a", "10", 0},
         Mutation{Mutation::Op::kDel, "b", "", 0}},
        CheckAndMutateOptions{.return_check_value = true}, std::move(done));
  });
  ASSERT_TRUE(mutated.has_value() && mutated->ok());
  EXPECT_TRUE((*mutated)->succeeded);
  EXPECT_EQ(*Get("h", "a"), "10");
  EXPECT_TRUE(HasErrorCode(Get("h", "b").status(), ErrorCode::kNotFound));

  // del_range over [b, d): c goes, d stays.
  auto deleted = cluster_.Await<Result<int64_t>>([&](auto done) {
    table_->DelRange("h", "b", "d", DelRangeOptions{}, std::move(done));
  });
  ASSERT_TRUE(deleted.has_value() && deleted->ok());
  EXPECT_EQ(**deleted, 1);
  EXPECT_TRUE(HasErrorCode(Get("h", "c").status(), ErrorCode::kNotFound));
  EXPECT_EQ(*Get("h", "d"), "4");

  // batch_get across hash keys (and so partitions), in the order asked.
  ASSERT_TRUE(Set("x1", "s", "vx1").ok());
  ASSERT_TRUE(Set("x2", "s", "vx2").ok());
  auto batch =
      cluster_.Await<Result<std::vector<BatchGetItem>>>([&](auto done) {
        table_->BatchGet({{"x2", "s"}, {"h", "a"}, {"nope", "s"}, {"x1", "s"}},
                         std::move(done));
      });
  ASSERT_TRUE(batch.has_value() && batch->ok()) << batch->status();
  ASSERT_EQ((*batch)->size(), 4u);
  EXPECT_EQ((**batch)[0].value, "vx2");
  EXPECT_EQ((**batch)[1].value, "10");
  EXPECT_EQ((**batch)[2].value, std::nullopt);
  EXPECT_EQ((**batch)[3].value, "vx1");
}

// Drains a scanner; the rows, or the first error.
Result<std::vector<Row>> Drain(SimCluster& cluster, Scanner& scanner) {
  std::vector<Row> rows;
  for (int calls = 0; calls < 1000; ++calls) {
    auto batch = cluster.Await<Result<ScanBatch>>(
        [&](auto done) { scanner.Next(std::move(done)); });
    if (!batch.has_value()) {
      return PegasusError(ErrorCode::kTimeout, "no answer");
    }
    if (!batch->ok()) return batch->status();
    for (Row& row : (*batch)->rows) rows.push_back(std::move(row));
    if ((*batch)->complete) return rows;
  }
  return PegasusError(ErrorCode::kUnknown, "the scan never completed");
}

TEST_F(ClientTest, ScannersReturnEveryRowOnce) {
  std::vector<std::pair<std::string, std::string>> kvs;
  for (int i = 0; i < 25; ++i) {
    kvs.emplace_back("s" + std::to_string(100 + i), std::to_string(i));
  }
  auto set = cluster_.Await<absl::Status>(
      [&](auto done) { table_->MultiSet("scan", kvs, 0, std::move(done)); });
  ASSERT_TRUE(set.has_value() && set->ok());
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(Set("row" + std::to_string(i), "s", "v").ok());
  }
  // A hash scan in batches of 4, from s105 on.
  std::unique_ptr<Scanner> scanner =
      table_->GetScanner("scan", "s105", "", ScanOptions{.batch_size = 4});
  Result<std::vector<Row>> rows = Drain(cluster_, *scanner);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 20u);
  EXPECT_EQ((*rows)[0].sort_key, "s105");
  EXPECT_EQ((*rows)[19].sort_key, "s124");
  EXPECT_EQ((*rows)[19].value, "24");

  // The whole table over 3 scanners: every row exactly once.
  auto scanners = cluster_.Await<Result<std::vector<std::unique_ptr<Scanner>>>>(
      [&](auto done) {
        table_->GetUnorderedScanners(3, ScanOptions{.batch_size = 7},
                                     std::move(done));
      });
  ASSERT_TRUE(scanners.has_value() && scanners->ok());
  ASSERT_EQ((*scanners)->size(), 3u);
  std::set<std::pair<std::string, std::string>> seen;
  size_t total = 0;
  for (std::unique_ptr<Scanner>& part : **scanners) {
    Result<std::vector<Row>> part_rows = Drain(cluster_, *part);
    ASSERT_TRUE(part_rows.ok()) << part_rows.status();
    total += part_rows->size();
    for (const Row& row : *part_rows) seen.insert({row.hash_key, row.sort_key});
  }
  EXPECT_EQ(total, 55u);
  EXPECT_EQ(seen.size(), 55u);
}

TEST_F(ClientTest, AScanResumesAfterItsPrimaryFails) {
  std::vector<std::pair<std::string, std::string>> kvs;
  for (int i = 0; i < 30; ++i) {
    kvs.emplace_back("s" + std::to_string(100 + i), std::to_string(i));
  }
  auto set = cluster_.Await<absl::Status>(
      [&](auto done) { table_->MultiSet("scan", kvs, 0, std::move(done)); });
  ASSERT_TRUE(set.has_value() && set->ok());
  ScanOptions options{.batch_size = 5};
  options.op.timeout_ns = 20 * kSecond;
  std::unique_ptr<Scanner> scanner =
      table_->GetScanner("scan", "", "", options);
  auto first = cluster_.Await<Result<ScanBatch>>(
      [&](auto done) { scanner->Next(std::move(done)); });
  ASSERT_TRUE(first.has_value() && first->ok());
  ASSERT_EQ((*first)->rows.size(), 5u);
  cluster_.CrashServer(PrimaryServerOf("scan"));
  Result<std::vector<Row>> rest = Drain(cluster_, *scanner);
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->size(), 25u);
  EXPECT_EQ((*rest)[0].sort_key, "s105");
  EXPECT_EQ((*rest)[24].sort_key, "s129");
}

TEST_F(ClientTest, ADroppedTableStopsServingAndARecalledOneServesAgain) {
  ASSERT_TRUE(Set("k", "s", "kept").ok());
  auto dropped = cluster_.Await<absl::Status>([&](auto done) {
    cluster_.client().DropTable("temp", 0, std::move(done));
  });
  ASSERT_TRUE(dropped.has_value() && dropped->ok());
  // The replica servers hear of it by their next config sync; the client,
  // refused, asks the meta server, which knows no such table.
  cluster_.RunFor(3 * kSecond);
  EXPECT_TRUE(HasErrorCode(Set("k", "s", "late"), ErrorCode::kAppNotExist));
  EXPECT_TRUE(HasErrorCode(Get("k", "s").status(), ErrorCode::kAppNotExist));
  auto recalled = cluster_.Await<Result<proto::TableInfo>>([&](auto done) {
    cluster_.client().RecallTable(1, "", std::move(done));
  });
  ASSERT_TRUE(recalled.has_value() && recalled->ok());
  table_ = Open("temp");
  ASSERT_NE(table_, nullptr);
  Result<std::string> value =
      Get("k", "s", OpOptions{.timeout_ns = 10 * kSecond});
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "kept");
}

TEST_F(ClientTest, APurgedTablesReplicasAreDeleted) {
  ASSERT_TRUE(Set("k", "s", "v").ok());
  auto dropped = cluster_.Await<absl::Status>([&](auto done) {
    cluster_.client().DropTable("temp", /*reserve_seconds=*/1, std::move(done));
  });
  ASSERT_TRUE(dropped.has_value() && dropped->ok());
  ASSERT_TRUE(cluster_.RunUntil(
      [&] {
        for (int s = 0; s < 3; ++s) {
          if (cluster_.host(s)->replica_count() > 0) return false;
        }
        return true;
      },
      10 * kSecond));
  EXPECT_EQ(cluster_.meta()->GetTable(1)->status(), proto::TABLE_PURGED);
  auto recalled = cluster_.Await<Result<proto::TableInfo>>([&](auto done) {
    cluster_.client().RecallTable(1, "", std::move(done));
  });
  EXPECT_TRUE(HasErrorCode(recalled->status(), ErrorCode::kAppNotExist));
}

TEST_F(ClientTest, TheDefaultTtlEnvReachesLaterWrites) {
  ASSERT_TRUE(Set("before", "s", "v").ok());
  proto::UpdateEnvsRequest envs;
  envs.set_name("temp");
  envs.set_op(proto::UpdateEnvsRequest::OP_SET);
  (*envs.mutable_envs())["default_ttl"] = "100";
  auto updated = cluster_.Await<absl::Status>(
      [&](auto done) { cluster_.client().UpdateEnvs(envs, std::move(done)); });
  ASSERT_TRUE(updated.has_value() && updated->ok());
  cluster_.RunFor(3 * kSecond);  // config sync carries it to the servers
  ASSERT_TRUE(Set("after", "s", "v").ok());
  auto ttl = cluster_.Await<Result<int32_t>>(
      [&](auto done) { table_->Ttl("after", "s", std::move(done)); });
  ASSERT_TRUE(ttl.has_value() && ttl->ok());
  EXPECT_GT(**ttl, 90);
  EXPECT_LE(**ttl, 100);
  auto before = cluster_.Await<Result<int32_t>>(
      [&](auto done) { table_->Ttl("before", "s", std::move(done)); });
  ASSERT_TRUE(before.has_value() && before->ok());
  EXPECT_EQ(**before, -1) << "rows written before keep no TTL";
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
  // Two servers left of three: every partition is served, short a member.
  auto health = cluster_.Await<Result<std::vector<proto::PartitionHealthInfo>>>(
      [&](auto done) {
        cluster_.client().TableHealth("temp", std::move(done));
      });
  ASSERT_TRUE(health.has_value() && health->ok());
  ASSERT_EQ((*health)->size(), 8u);
  for (const proto::PartitionHealthInfo& partition : **health) {
    EXPECT_EQ(partition.health(), proto::HEALTH_WRITABLE_ILL)
        << partition.ShortDebugString();
  }
  cluster_.RestartServer(old_primary);
  ASSERT_TRUE(
      cluster_.RunUntil([&] { return cluster_.AllHealthy(); }, 30 * kSecond));
  health = cluster_.Await<Result<std::vector<proto::PartitionHealthInfo>>>(
      [&](auto done) {
        cluster_.client().TableHealth("temp", std::move(done));
      });
  ASSERT_TRUE(health.has_value() && health->ok());
  for (const proto::PartitionHealthInfo& partition : **health) {
    EXPECT_EQ(partition.health(), proto::HEALTH_HEALTHY);
  }
}

// An operator moves a partition's primary to a secondary (balance
// move_pri): the client's cached route goes stale, and its next calls find
// the new primary by themselves, with every acknowledged write there.
TEST_F(ClientTest, RoutingFollowsAnOperatorsPrimaryMove) {
  ASSERT_TRUE(Set("k", "s", "before").ok());
  const Gpid gpid{1, PartitionOfHashKey("k", 8)};
  const proto::PartitionConfig config = *cluster_.meta()->GetConfig(gpid);
  ASSERT_GT(config.secondaries_size(), 0);
  const uint64_t to = config.secondaries(0);
  proto::BalanceRequest move;
  move.set_app_id(gpid.app_id);
  move.set_partition_index(gpid.partition_index);
  move.set_kind(proto::BalanceRequest::MOVE_PRIMARY);
  move.set_from(config.primary());
  move.set_to(to);
  auto started = cluster_.Await<absl::Status>(
      [&](auto done) { cluster_.client().Balance(move, std::move(done)); });
  ASSERT_TRUE(started.has_value());
  ASSERT_TRUE(started->ok()) << *started;
  ASSERT_TRUE(cluster_.RunUntil(
      [&] { return cluster_.meta()->GetConfig(gpid)->primary() == to; },
      10 * kSecond));
  EXPECT_EQ(*Get("k", "s"), "before");
  ASSERT_TRUE(Set("k", "s", "after").ok());
  EXPECT_EQ(*Get("k", "s"), "after");

  // A proposal the meta server cannot make safe is refused with its reason.
  proto::ProposeRequest propose;
  propose.set_app_id(gpid.app_id);
  propose.set_partition_index(gpid.partition_index);
  propose.set_type(proto::PROPOSE_UPGRADE_TO_SECONDARY);
  propose.set_node(to);
  propose.set_target(config.primary());
  auto refused = cluster_.Await<absl::Status>(
      [&](auto done) { cluster_.client().Propose(propose, std::move(done)); });
  ASSERT_TRUE(refused.has_value());
  EXPECT_FALSE(refused->ok());
  EXPECT_NE(refused->message().find("upgrade_to_secondary is refused"),
            std::string::npos)
      << *refused;
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

  auto info = cluster_.Await<Result<proto::ClusterInfoResponse>>(
      [&](auto done) { cluster_.client().ClusterInfo(std::move(done)); });
  ASSERT_TRUE(info.has_value() && info->ok());
  EXPECT_EQ((*info)->meta_node(), 1u);  // SimCluster's meta server is n1.
  EXPECT_EQ((*info)->available_tables(), 2);

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
