// MetaCore's tables: every table operation and its refusals, the order
// operations run in, drop, recall and purge, envs, replica count changes and
// recovery. Driven by hand through MetaHarness. The meta levels and the
// cluster queries are in meta_core_levels_test.cc.

#include <map>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/internal/partition_configs.h"
#include "pegasus/meta/meta_admin_test_util.h"
#include "pegasus/meta/meta_core.h"
#include "pegasus/meta/meta_test_harness.h"

namespace pegasus {
namespace {

// The reply tokens of the table-operation answers sent so far, in order.
std::vector<ReplyToken> AdminAnswerOrder(MetaHarness& h) {
  std::vector<ReplyToken> tokens;
  for (const SentMessage& m : h.sent()) {
    if (std::holds_alternative<proto::AdminResponse>(m.out.message)) {
      tokens.push_back(m.out.reply_token);
    }
  }
  return tokens;
}

proto::ReplicaReport Report(Gpid gpid) {
  proto::ReplicaReport report;
  report.set_app_id(gpid.app_id);
  report.set_partition_index(gpid.partition_index);
  return report;
}

class MetaTablesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(h_.Start().ok()); }

  const proto::PartitionConfig& Config(Gpid gpid) {
    return *h_.core().GetConfig(gpid);
  }

  MetaHarness h_;
};

// --- Create --------------------------------------------------------------

TEST_F(MetaTablesTest, CreateGivesIdsInOrderAndPersistsEachTable) {
  for (const std::string name : {"a", "b", "c"}) {
    const proto::AdminResponse response =
        h_.AdminAndSettle(MakeCreate(name, 2, 3, {{"default_ttl", "60"}}));
    EXPECT_EQ(response.error(), 0) << response.error_message();
  }
  EXPECT_EQ(h_.core().FindTable("a")->app_id(), 1);
  EXPECT_EQ(h_.core().FindTable("b")->app_id(), 2);
  EXPECT_EQ(h_.core().FindTable("c")->app_id(), 3);
  EXPECT_EQ(Listed(h_, false), (std::vector<std::string>{"a", "b", "c"}));
  const proto::TableInfo stored = Stored(h_, 3);
  EXPECT_EQ(stored.name(), "c");
  EXPECT_EQ(stored.status(), proto::TABLE_AVAILABLE);
  EXPECT_EQ(stored.partition_count(), 2);
  EXPECT_EQ(stored.replica_count(), 3);
  EXPECT_EQ(stored.envs().at("default_ttl"), "60");
  EXPECT_EQ(stored.create_time_s(), kHarnessWallStartS);
  // Three table records and six partitions.
  EXPECT_EQ(h_.medium().Snapshot().size(), 9u);
  EXPECT_EQ(h_.core().Partitions().size(), 6u);
}

TEST_F(MetaTablesTest, CreateIsAnsweredOnlyOnceEveryPartitionIsDurable) {
  const ReplyToken token = h_.Admin(MakeCreate("t", 4, 3));
  EXPECT_EQ(h_.writes_issued(), 1u) << "the table record alone first";
  h_.executor().RunOne();
  EXPECT_EQ(h_.writes_issued(), 5u);
  // Three of the four partitions land: still no answer.
  for (int i = 0; i < 3; ++i) h_.executor().RunOne();
  EXPECT_FALSE(h_.ResponseFor<proto::AdminResponse>(token));
  EXPECT_EQ(h_.core().pending_admin(), 1u);
  h_.executor().RunOne();
  auto response = h_.ResponseFor<proto::AdminResponse>(token);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->error(), 0);
  EXPECT_EQ(response->create_table().app_id(), 1);
  EXPECT_EQ(h_.core().pending_admin(), 0u);
}

TEST_F(MetaTablesTest, CreateWithSuccessIfExistAnswersTheExistingIdOnly) {
  ASSERT_TRUE(h_.CreateTable("t", 2, 3).ok());
  const auto stored = h_.medium().Snapshot();
  const uint64_t writes = h_.writes_issued();
  // The same counts (envs are not compared): the existing table is the
  // answer.
  proto::AdminResponse response = h_.AdminAndSettle(
      MakeCreate("t", 2, 3, {{"default_ttl", "5"}}, /*success_if_exist=*/true));
  EXPECT_EQ(response.error(), 0) << response.error_message();
  EXPECT_EQ(response.create_table().app_id(), 1);
  // Other counts: refused, as the table is not the one asked for.
  for (const auto& [partitions, replicas] :
       std::vector<std::pair<int, int>>{{8, 3}, {2, 1}}) {
    response = h_.AdminAndSettle(MakeCreate("t", partitions, replicas, {},
                                            /*success_if_exist=*/true));
    EXPECT_EQ(response.error(), Code(ErrorCode::kInvalidArgument));
    EXPECT_NE(response.error_message().find("exists with 2 partitions and 3 "
                                            "replicas"),
              std::string::npos)
        << response.error_message();
  }
  EXPECT_EQ(h_.writes_issued(), writes);
  EXPECT_EQ(h_.medium().Snapshot(), stored);
  EXPECT_TRUE(h_.core().FindTable("t")->envs().empty());
  ExpectRefused(h_, MakeCreate("t", 2, 3), ErrorCode::kAppExist);
}

TEST_F(MetaTablesTest, CreateRefusesBadArgumentsAndWritesNothing) {
  for (const std::string& name :
       {std::string(), std::string(129, 'a'), std::string("a b"),
        std::string("t/1"), std::string("t:1"), std::string("\xc3\xa4")}) {
    ExpectRefused(h_, MakeCreate(name, 1, 1), ErrorCode::kInvalidAppName);
  }
  for (int32_t partitions : {0, -4, 3, 6, 131072}) {
    ExpectRefused(h_, MakeCreate("t", partitions, 1),
                  ErrorCode::kInvalidParCount);
  }
  for (int32_t replicas : {0, -1, 6}) {
    ExpectRefused(h_, MakeCreate("t", 1, replicas),
                  ErrorCode::kInvalidRepCount);
  }
  for (const Envs& envs :
       std::vector<Envs>{{{"unknown", "1"}},
                         {{"default_ttl", "abc"}},
                         {{"default_ttl", "-1"}},
                         {{"default_ttl", "+1"}},
                         {{"default_ttl", ""}},
                         {{"default_ttl", "4294967296"}},
                         {{"business.info", std::string(4097, 'x')}}}) {
    ExpectRefused(h_, MakeCreate("t", 1, 1, envs), ErrorCode::kInvalidArgument);
  }
  Envs too_many;
  for (int i = 0; i < 65; ++i) too_many["k" + std::to_string(i)] = "v";
  ExpectRefused(h_, MakeCreate("t", 1, 1, too_many),
                ErrorCode::kInvalidArgument);
  EXPECT_TRUE(h_.medium().Snapshot().empty());
  EXPECT_TRUE(h_.core().Partitions().empty());
  // The limits themselves are accepted.
  EXPECT_EQ(
      h_.AdminAndSettle(MakeCreate(std::string(128, 'a'), 1, 5,
                                   {{"default_ttl", "4294967295"},
                                    {"business.info", std::string(4096, 'x')}}))
          .error(),
      0);
  EXPECT_EQ(
      h_.AdminAndSettle(MakeCreate("A-z_0.9", 1, 1, {{"default_ttl", "0"}}))
          .error(),
      0);
}

TEST(MetaTablesLimitsTest, CreateRefusesPartitionsBeyondTheLimits) {
  MetaHarness h(
      NeverFreeze({.max_partitions_per_table = 4, .max_partitions = 6}));
  ASSERT_TRUE(h.Start().ok());
  ExpectRefused(h, MakeCreate("a", 8, 1), ErrorCode::kInvalidParCount);
  ASSERT_TRUE(h.CreateTable("a", 4, 1).ok());
  ExpectRefused(h, MakeCreate("b", 4, 1), ErrorCode::kInvalidParCount);
  ASSERT_TRUE(h.CreateTable("b", 2, 1).ok());
  ExpectRefused(h, MakeCreate("c", 1, 1), ErrorCode::kInvalidParCount);
}

// A dropped table's partitions still count against max_partitions; a
// purged one's are forgotten and make room.
TEST(MetaTablesLimitsTest, PurgedTablesPartitionsMakeRoom) {
  MetaHarness h(NeverFreeze({.max_partitions = 4}));
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.CreateTable("a", 4, 1).ok());
  ASSERT_EQ(h.AdminAndSettle(MakeDrop("a", 1)).error(), 0);
  ExpectRefused(h, MakeCreate("b", 1, 1), ErrorCode::kInvalidParCount);
  h.Advance(kSecondNs);
  h.TickAndSettle();
  ASSERT_EQ(h.core().GetTable(1)->status(), proto::TABLE_PURGED);
  EXPECT_TRUE(h.CreateTable("b", 4, 1).ok());
}

TEST(MetaTablesLimitsTest, MaxTablesCountsTombstones) {
  MetaHarness h(NeverFreeze({.max_tables = 2}));
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.CreateTable("a", 1, 1).ok());
  ASSERT_TRUE(h.CreateTable("b", 1, 1).ok());
  ExpectRefused(h, MakeCreate("c", 1, 1), ErrorCode::kInvalidArgument);
  ASSERT_EQ(h.AdminAndSettle(MakeDrop("a", 1)).error(), 0);
  h.Advance(kSecondNs);
  h.TickAndSettle();
  ASSERT_EQ(h.core().GetTable(1)->status(), proto::TABLE_PURGED);
  ExpectRefused(h, MakeCreate("c", 1, 1), ErrorCode::kInvalidArgument);
}

TEST_F(MetaTablesTest, IdIsNeverReusedAfterDropAndPurge) {
  ASSERT_TRUE(h_.CreateTable("a", 1, 1).ok());
  ASSERT_TRUE(h_.CreateTable("b", 1, 1).ok());
  // The table with the highest id goes for good.
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("b", 1)).error(), 0);
  h_.Advance(kSecondNs);
  h_.TickAndSettle();
  ASSERT_EQ(h_.core().GetTable(2)->status(), proto::TABLE_PURGED);
  EXPECT_EQ(h_.AdminAndSettle(MakeCreate("b", 1, 1)).create_table().app_id(),
            3);
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("b", 1)).error(), 0);
  h_.Advance(kSecondNs);
  h_.TickAndSettle();
  ASSERT_EQ(h_.core().GetTable(3)->status(), proto::TABLE_PURGED);
  // The tombstones survive a restart, and so does the numbering.
  ASSERT_TRUE(h_.Start().ok());
  EXPECT_EQ(h_.AdminAndSettle(MakeCreate("c", 1, 1)).create_table().app_id(),
            4);
}

TEST_F(MetaTablesTest, DroppedTablesNameMayBeTakenAndItIsRecalledUnderAnother) {
  ASSERT_TRUE(h_.CreateTable("t", 1, 1).ok());
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("t")).error(), 0);
  EXPECT_EQ(h_.AdminAndSettle(MakeCreate("t", 2, 1)).create_table().app_id(),
            2);
  ExpectRefused(h_, MakeRecall(1), ErrorCode::kAppExist);
  ExpectRefused(h_, MakeRecall(1, "bad name"), ErrorCode::kInvalidAppName);
  const proto::AdminResponse recalled =
      h_.AdminAndSettle(MakeRecall(1, "t_old"));
  ASSERT_EQ(recalled.error(), 0) << recalled.error_message();
  const proto::TableInfo& table = recalled.recall_table().table();
  EXPECT_EQ(table.app_id(), 1);
  EXPECT_EQ(table.name(), "t_old");
  EXPECT_EQ(table.status(), proto::TABLE_AVAILABLE);
  EXPECT_EQ(table.drop_time_s(), 0);
  EXPECT_EQ(table.expire_time_s(), 0);
  EXPECT_EQ(Stored(h_, 1).SerializeAsString(), table.SerializeAsString());
  EXPECT_EQ(QueryByName(h_, "t_old").app_id(), 1);
  EXPECT_EQ(QueryByName(h_, "t").app_id(), 2);
  EXPECT_EQ(QueryByName(h_, "t").partition_count(), 2);
  // Only a dropped table is recalled.
  ExpectRefused(h_, MakeRecall(1), ErrorCode::kAppExist);
  ExpectRefused(h_, MakeRecall(99), ErrorCode::kAppNotExist);
}

TEST_F(MetaTablesTest, RecallUnderItsOwnNameRestoresTheTable) {
  ASSERT_TRUE(h_.CreateTable("t", 2, 1).ok());
  const proto::TableInfo before = *h_.core().GetTable(1);
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("t")).error(), 0);
  const proto::AdminResponse recalled = h_.AdminAndSettle(MakeRecall(1));
  ASSERT_EQ(recalled.error(), 0) << recalled.error_message();
  EXPECT_EQ(recalled.recall_table().table().SerializeAsString(),
            before.SerializeAsString());
  EXPECT_EQ(QueryByName(h_, "t").partitions_size(), 2);
}

// --- QueryConfig -----------------------------------------------------------

TEST_F(MetaTablesTest, QueryConfigFindsATableByIdOrName) {
  MakeHealedTable(h_, "t", 4, 3, kThree);
  for (const proto::QueryConfigResponse& response :
       {QueryByName(h_, "t"), QueryById(h_, 1)}) {
    EXPECT_EQ(response.error(), 0);
    EXPECT_EQ(response.app_id(), 1);
    EXPECT_EQ(response.app_name(), "t");
    EXPECT_EQ(response.partition_count(), 4);
    ASSERT_EQ(response.partitions_size(), 4);
    for (int i = 0; i < 4; ++i) {
      EXPECT_TRUE(
          meta_internal::SameConfig(response.partitions(i), Config({1, i})));
    }
  }
  EXPECT_EQ(QueryByName(h_, "u").error(), Code(ErrorCode::kAppNotExist));
  EXPECT_EQ(QueryById(h_, 2).error(), Code(ErrorCode::kAppNotExist));
  EXPECT_EQ(QueryByName(h_, "").error(), Code(ErrorCode::kAppNotExist));
}

TEST_F(MetaTablesTest, NewTablesPartitionsShowBallotZeroUntilAssigned) {
  ASSERT_TRUE(h_.CreateTable("t", 2, 3).ok());
  const proto::QueryConfigResponse response = QueryByName(h_, "t");
  ASSERT_EQ(response.partitions_size(), 2);
  for (const auto& config : response.partitions()) {
    EXPECT_EQ(config.ballot(), 0);
    EXPECT_EQ(config.primary(), 0u);
    EXPECT_EQ(config.max_replica_count(), 3);
  }
}

// --- Drop, recall, purge ---------------------------------------------------

TEST_F(MetaTablesTest, DropHidesTheTableAndKeepsItsPartitions) {
  ASSERT_TRUE(h_.CreateTable("t", 2, 1).ok());
  ASSERT_TRUE(h_.CreateTable("u", 1, 1).ok());
  h_.Advance(5 * kSecondNs);
  const ReplyToken token = h_.Admin(MakeDrop("t", 30));
  EXPECT_FALSE(h_.ResponseFor<proto::AdminResponse>(token))
      << "answered before the drop is durable";
  h_.Settle();
  ASSERT_EQ(h_.ResponseFor<proto::AdminResponse>(token)->error(), 0);
  EXPECT_EQ(Listed(h_, false), std::vector<std::string>{"u"});
  EXPECT_EQ(Listed(h_, true), (std::vector<std::string>{"t", "u"}));
  EXPECT_EQ(QueryByName(h_, "t").error(), Code(ErrorCode::kAppNotExist));
  EXPECT_EQ(QueryById(h_, 1).error(), Code(ErrorCode::kAppNotExist));
  EXPECT_EQ(h_.core().FindTable("t"), nullptr);
  const proto::TableInfo stored = Stored(h_, 1);
  EXPECT_EQ(stored.status(), proto::TABLE_DROPPED);
  EXPECT_EQ(stored.drop_time_s(), kHarnessWallStartS + 5);
  EXPECT_EQ(stored.expire_time_s(), kHarnessWallStartS + 35);
  EXPECT_EQ(h_.core().GetTable(1)->SerializeAsString(),
            stored.SerializeAsString());
  EXPECT_NE(h_.core().GetConfig({1, 0}), nullptr);
  EXPECT_NE(h_.core().GetConfig({1, 1}), nullptr);
  EXPECT_EQ(h_.medium().Snapshot().count("partition/1/1"), 1u);
  // Gone from the names: a second drop finds nothing.
  ExpectRefused(h_, MakeDrop("t"), ErrorCode::kAppNotExist);
  ExpectRefused(h_, MakeDrop("u", -1), ErrorCode::kInvalidArgument);
}

TEST(MetaTablesHoldTest, DropWithoutReserveIsKeptForTheDefaultHold) {
  MetaHarness h(NeverFreeze({.dropped_table_hold_s = 100}));
  ASSERT_TRUE(h.Start().ok());
  ASSERT_TRUE(h.CreateTable("t", 1, 1).ok());
  ASSERT_EQ(h.AdminAndSettle(MakeDrop("t")).error(), 0);
  EXPECT_EQ(h.core().GetTable(1)->expire_time_s(), kHarnessWallStartS + 100);
  h.Advance(99 * kSecondNs);
  h.TickAndSettle();
  EXPECT_EQ(h.core().GetTable(1)->status(), proto::TABLE_DROPPED);
  h.Advance(kSecondNs);
  h.TickAndSettle();
  EXPECT_EQ(h.core().GetTable(1)->status(), proto::TABLE_PURGED);
}

TEST_F(MetaTablesTest, DefaultHoldIsSevenDays) {
  ASSERT_TRUE(h_.CreateTable("t", 1, 1).ok());
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("t")).error(), 0);
  EXPECT_EQ(h_.core().GetTable(1)->expire_time_s(),
            kHarnessWallStartS + 7 * 24 * 3600);
}

TEST_F(MetaTablesTest, DroppedTableIsNeitherCuredNorChangedByItsPrimary) {
  MakeHealedTable(h_, "t", 1, 3, kThree);
  const proto::PartitionConfig before = Config({1, 0});
  ASSERT_EQ(before.primary(), kN1.value);
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("t")).error(), 0);
  const ReplyToken token =
      h_.ConfigUpdate(kN1, MakeUpdate(before, proto::CONFIG_REMOVE, kN2, kN1));
  auto refused = h_.ResponseFor<proto::ConfigUpdateResponse>(token);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->error(), Code(ErrorCode::kAppNotExist));
  // n3 dies: it stays a member while the table is dropped.
  h_.Run(6 * kSecondNs, {kN1, kN2});
  ASSERT_EQ(h_.core().GetNodeStatus(kN3), NodeStatus::kDead);
  EXPECT_TRUE(meta_internal::SameConfig(Config({1, 0}), before));
  EXPECT_TRUE(h_.Proposals().empty());
  // Recalled, the cure takes it up again.
  ASSERT_EQ(h_.AdminAndSettle(MakeRecall(1)).error(), 0);
  h_.Run(200 * kMsNs, {kN1, kN2});
  EXPECT_FALSE(meta_internal::IsMember(Config({1, 0}), kN3));
  EXPECT_EQ(Config({1, 0}).ballot(), before.ballot() + 1);
  h_.core().CheckInvariants();
}

TEST_F(MetaTablesTest, PurgeAfterTheHoldLeavesATombstoneAndForgetsPartitions) {
  MakeHealedTable(h_, "t", 2, 3, kThree, {{"default_ttl", "60"}});
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("t", 10)).error(), 0);
  // A member of the dropped table hears it is dropped, envs and all.
  const ReplyToken sync = h_.ConfigSync(kN1, {Report({1, 0})});
  auto dropped = h_.ResponseFor<proto::ConfigSyncResponse>(sync);
  ASSERT_TRUE(dropped.has_value());
  EXPECT_EQ(dropped->configs_size(), 2);
  ASSERT_EQ(dropped->tables_size(), 1);
  EXPECT_EQ(dropped->tables(0).status(), proto::TABLE_DROPPED);
  EXPECT_EQ(dropped->tables(0).envs().at("default_ttl"), "60");

  h_.Run(9 * kSecondNs, kThree);
  EXPECT_EQ(h_.core().GetTable(1)->status(), proto::TABLE_DROPPED);
  EXPECT_EQ(h_.core().Partitions().size(), 2u);
  h_.Run(kSecondNs, kThree);
  const proto::TableInfo* tombstone = h_.core().GetTable(1);
  ASSERT_NE(tombstone, nullptr);
  EXPECT_EQ(tombstone->status(), proto::TABLE_PURGED);
  EXPECT_EQ(tombstone->name(), "t");
  EXPECT_TRUE(tombstone->envs().empty());
  EXPECT_EQ(Stored(h_, 1).SerializeAsString(), tombstone->SerializeAsString());
  EXPECT_TRUE(h_.core().Partitions().empty());
  EXPECT_EQ(h_.core().GetConfig({1, 0}), nullptr);
  EXPECT_TRUE(Listed(h_, true).empty());
  EXPECT_EQ(QueryById(h_, 1).error(), Code(ErrorCode::kAppNotExist));
  ExpectRefused(h_, MakeRecall(1), ErrorCode::kAppNotExist);
  // A node still holding a replica is told the table is purged.
  const ReplyToken later = h_.ConfigSync(kN1, {Report({1, 0})});
  auto purged = h_.ResponseFor<proto::ConfigSyncResponse>(later);
  ASSERT_TRUE(purged.has_value());
  EXPECT_EQ(purged->error(), 0);
  EXPECT_EQ(purged->configs_size(), 0);
  ASSERT_EQ(purged->tables_size(), 1);
  EXPECT_EQ(purged->tables(0).app_id(), 1);
  EXPECT_EQ(purged->tables(0).status(), proto::TABLE_PURGED);
  // Its partitions' keys are deleted from the store; the tombstone stays.
  EXPECT_EQ(h_.medium().Snapshot().count("partition/1/0"), 0u);
  EXPECT_EQ(h_.medium().Snapshot().count("partition/1/1"), 0u);
  EXPECT_EQ(h_.medium().Snapshot().count("table/1"), 1u);
  EXPECT_EQ(h_.core().stats().keys_deleted, 2u);
  h_.core().CheckInvariants();
}

// A purged table's partition key the store still holds (the meta server
// stopped before deleting it) is not recovered, and is deleted then.
TEST_F(MetaTablesTest, RecoveryDeletesAPurgedTablesLeftoverPartitionKeys) {
  MakeHealedTable(h_, "t", 2, 3, kThree);
  const std::string leftover = h_.medium().Snapshot().at("partition/1/1");
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("t", 1)).error(), 0);
  h_.Run(2 * kSecondNs, kThree);
  ASSERT_EQ(h_.core().GetTable(1)->status(), proto::TABLE_PURGED);
  ASSERT_EQ(h_.medium().Snapshot().count("partition/1/1"), 0u);
  h_.store().Write("partition/1/1", leftover,
                   [](absl::Status status) { PEGASUS_CHECK_OK(status); });
  h_.Settle();
  ASSERT_EQ(h_.medium().Snapshot().count("partition/1/1"), 1u);

  ASSERT_TRUE(h_.Start().ok());
  EXPECT_EQ(h_.core().GetConfig({1, 1}), nullptr);
  h_.Drain();
  h_.Settle();
  EXPECT_EQ(h_.medium().Snapshot().count("partition/1/1"), 0u);
  EXPECT_EQ(h_.core().stats().keys_deleted, 1u);
  EXPECT_EQ(h_.core().stats().unknown_write_completions, 0u);
}

// A recall that is queued before the purge saves the table: the purge finds
// it no longer dropped and writes nothing.
TEST_F(MetaTablesTest, RecallQueuedBeforeThePurgeSavesTheTable) {
  ASSERT_TRUE(h_.CreateTable("t", 1, 1).ok());
  ASSERT_TRUE(h_.CreateTable("u", 1, 1).ok());
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("t", 1)).error(), 0);
  h_.Advance(kSecondNs);
  const uint64_t writes = h_.writes_issued();
  h_.Admin(MakeSetEnvs("u", {{"default_ttl", "1"}}));
  const ReplyToken recall = h_.Admin(MakeRecall(1));
  h_.core().PurgeExpiredTables(h_.now(), h_.wall_now_s());
  h_.Drain();
  EXPECT_EQ(h_.core().pending_admin(), 3u);
  h_.Settle();
  EXPECT_EQ(h_.ResponseFor<proto::AdminResponse>(recall)->error(), 0);
  EXPECT_EQ(h_.core().GetTable(1)->status(), proto::TABLE_AVAILABLE);
  EXPECT_EQ(Stored(h_, 1).status(), proto::TABLE_AVAILABLE);
  EXPECT_EQ(h_.writes_issued(), writes + 2);
  EXPECT_NE(h_.core().GetConfig({1, 0}), nullptr);
}

// A dropped table's partition whose creation write is still in flight when
// the table is purged goes once the write completes.
TEST_F(MetaTablesTest, PartitionWrittenWhileItsTableIsPurgedIsForgotten) {
  proto::TableInfo table;
  table.set_app_id(1);
  table.set_name("t");
  table.set_status(proto::TABLE_DROPPED);
  table.set_partition_count(1);
  table.set_replica_count(1);
  table.set_expire_time_s(kHarnessWallStartS);
  h_.store().Write("table/1", table.SerializeAsString(),
                   [](absl::Status status) { PEGASUS_CHECK_OK(status); });
  h_.Settle();
  ASSERT_TRUE(h_.Start().ok());
  // The purge is queued first, then the cure writes the missing partition.
  h_.core().PurgeExpiredTables(h_.now(), h_.wall_now_s());
  h_.core().Tick(h_.now());
  h_.Drain();
  ASSERT_TRUE(h_.core().HasChangeInFlight({1, 0}));
  h_.executor().RunOne();  // the tombstone
  EXPECT_EQ(h_.core().GetTable(1)->status(), proto::TABLE_PURGED);
  EXPECT_NE(h_.core().GetConfig({1, 0}), nullptr);
  h_.core().CheckInvariants();
  h_.executor().RunOne();  // the partition
  EXPECT_EQ(h_.core().GetConfig({1, 0}), nullptr);
  h_.core().CheckInvariants();
  h_.TickAndSettle();
  EXPECT_TRUE(h_.core().Partitions().empty());
}

// --- Rename ----------------------------------------------------------------

TEST_F(MetaTablesTest, RenameMovesTheNameAndKeepsTheId) {
  ASSERT_TRUE(h_.CreateTable("a", 2, 1).ok());
  ASSERT_TRUE(h_.CreateTable("b", 1, 1).ok());
  ASSERT_EQ(h_.AdminAndSettle(MakeRename("a", "c")).error(), 0);
  EXPECT_EQ(h_.core().FindTable("c")->app_id(), 1);
  EXPECT_EQ(h_.core().FindTable("a"), nullptr);
  EXPECT_EQ(Stored(h_, 1).name(), "c");
  EXPECT_EQ(QueryByName(h_, "c").partitions_size(), 2);
  EXPECT_EQ(QueryByName(h_, "a").error(), Code(ErrorCode::kAppNotExist));
  ExpectRefused(h_, MakeRename("c", "b"), ErrorCode::kAppExist);
  ExpectRefused(h_, MakeRename("c", "c"), ErrorCode::kAppExist);
  ExpectRefused(h_, MakeRename("x", "y"), ErrorCode::kAppNotExist);
  ExpectRefused(h_, MakeRename("c", "bad name"), ErrorCode::kInvalidAppName);
  ExpectRefused(h_, MakeRename("c", ""), ErrorCode::kInvalidAppName);
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("b")).error(), 0);
  ExpectRefused(h_, MakeRename("b", "d"), ErrorCode::kAppNotExist);
  // The old name is free again.
  EXPECT_EQ(h_.AdminAndSettle(MakeCreate("a", 1, 1)).create_table().app_id(),
            3);
}

// --- Envs ------------------------------------------------------------------

TEST_F(MetaTablesTest, UpdateEnvsSetsDeletesAndClearsByPrefix) {
  ASSERT_TRUE(h_.AdminAndSettle(MakeCreate("t", 1, 1, {{"default_ttl", "60"}}))
                  .error() == 0);
  auto envs = [&] {
    const proto::TableInfo table = Stored(h_, 1);
    const auto& stored = table.envs();
    const auto& held = h_.core().FindTable("t")->envs();
    EXPECT_EQ(Envs(stored.begin(), stored.end()),
              Envs(held.begin(), held.end()));
    return Envs(held.begin(), held.end());
  };
  ASSERT_EQ(h_.AdminAndSettle(MakeSetEnvs("t", {{"default_ttl", "3600"},
                                                {"business.info", "x"}}))
                .error(),
            0);
  EXPECT_EQ(envs(), (Envs{{"default_ttl", "3600"}, {"business.info", "x"}}));
  ASSERT_EQ(h_.AdminAndSettle(MakeDelEnvs("t", {"default_ttl", "no_such_key"}))
                .error(),
            0);
  EXPECT_EQ(envs(), (Envs{{"business.info", "x"}}));
  ASSERT_EQ(h_.AdminAndSettle(MakeSetEnvs("t", {{"default_ttl", "5"}})).error(),
            0);
  ASSERT_EQ(h_.AdminAndSettle(MakeClearEnvs("t", "business.")).error(), 0);
  EXPECT_EQ(envs(), (Envs{{"default_ttl", "5"}}));
  ASSERT_EQ(h_.AdminAndSettle(MakeClearEnvs("t", "business.")).error(), 0);
  EXPECT_EQ(envs(), (Envs{{"default_ttl", "5"}}));
  ASSERT_EQ(
      h_.AdminAndSettle(MakeSetEnvs("t", {{"business.info", "y"}})).error(), 0);
  ASSERT_EQ(h_.AdminAndSettle(MakeClearEnvs("t", "")).error(), 0);
  EXPECT_EQ(envs(), Envs{});
}

TEST_F(MetaTablesTest, UpdateEnvsRefusesBadEnvsAndWritesNothing) {
  ASSERT_TRUE(h_.AdminAndSettle(MakeCreate("t", 1, 1, {{"default_ttl", "60"}}))
                  .error() == 0);
  for (const Envs& envs : std::vector<Envs>{
           {},
           {{"unknown", "1"}},
           {{"default_ttl", "abc"}},
           {{"default_ttl", "-1"}},
           {{"default_ttl", "4294967296"}},
           {{"default_ttl", "1"}, {"business.info", std::string(4097, 'x')}}}) {
    ExpectRefused(h_, MakeSetEnvs("t", envs), ErrorCode::kInvalidArgument);
  }
  ExpectRefused(h_, MakeEnvs("t", proto::UpdateEnvsRequest::OP_INVALID),
                ErrorCode::kInvalidArgument);
  ExpectRefused(h_, MakeSetEnvs("u", {{"default_ttl", "1"}}),
                ErrorCode::kAppNotExist);
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("t")).error(), 0);
  ExpectRefused(h_, MakeSetEnvs("t", {{"default_ttl", "1"}}),
                ErrorCode::kAppNotExist);
  EXPECT_EQ(h_.core().GetTable(1)->envs().at("default_ttl"), "60");
}

// --- Replica counts --------------------------------------------------------

TEST_F(MetaTablesTest, RaisingTheReplicaCountSetsItThenAsksForALearner) {
  MakeHealedTable(h_, "t", 1, 2, kThree);
  const proto::PartitionConfig before = Config({1, 0});
  ASSERT_EQ(before.primary(), kN1.value);
  ASSERT_EQ(before.max_replica_count(), 2);
  ASSERT_EQ(h_.AdminAndSettle(MakeSetReplicaCount("t", 3)).error(), 0);
  EXPECT_EQ(Stored(h_, 1).replica_count(), 3);
  EXPECT_EQ(Config({1, 0}).max_replica_count(), 2) << "not before a tick";
  h_.TakeSent();
  h_.Run(100 * kMsNs, kThree);
  // Same members under a new ballot, proposed to each of them.
  const auto set = ProposalsOf(h_, proto::CONFIG_SET_REPLICA_COUNT);
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set[0].first, kN1);
  EXPECT_EQ(set[1].first, kN2);
  EXPECT_EQ(set[0].second.node(), kN1.value);
  EXPECT_EQ(set[0].second.config().max_replica_count(), 3);
  EXPECT_EQ(Config({1, 0}).ballot(), before.ballot() + 1);
  EXPECT_EQ(Config({1, 0}).max_replica_count(), 3);
  EXPECT_TRUE(meta_internal::SameMembers(Config({1, 0}), before));
  EXPECT_TRUE(ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY).empty());
  // Then the cure finds the partition short: a learner on n3.
  h_.Run(100 * kMsNs, kThree);
  const auto learners = ProposalsOf(h_, proto::CONFIG_ADD_SECONDARY);
  ASSERT_EQ(learners.size(), 1u);
  EXPECT_EQ(learners[0].first, kN1);
  EXPECT_EQ(learners[0].second.node(), kN3.value);
  CompleteLearners(h_);
  EXPECT_EQ(meta_internal::MemberCount(Config({1, 0})), 3);
  h_.core().CheckInvariants();
}

// n3 also holds the primary of another table, so it is the busiest node: its
// secondary goes first, not the one on the lowest id.
TEST_F(MetaTablesTest, LoweringTheReplicaCountRemovesTheBusiestSecondary) {
  h_.Beacon(kN3);
  ASSERT_TRUE(h_.CreateTable("other", 1, 1).ok());
  h_.TickAndSettle();
  ASSERT_EQ(Config({1, 0}).primary(), kN3.value);
  const int32_t app_id = MakeHealedTable(h_, "t", 1, 3, kThree);
  const Gpid gpid{app_id, 0};
  ASSERT_EQ(Config(gpid).primary(), kN1.value);
  const int64_t ballot = Config(gpid).ballot();
  ASSERT_EQ(h_.AdminAndSettle(MakeSetReplicaCount("t", 2)).error(), 0);
  h_.Run(100 * kMsNs, kThree);
  const auto removed = ProposalsOf(h_, proto::CONFIG_REMOVE);
  ASSERT_EQ(removed.size(), 2u);  // to the two members left
  EXPECT_EQ(removed[0].second.node(), kN3.value);
  EXPECT_EQ(Config(gpid).ballot(), ballot + 1);
  EXPECT_EQ(Config(gpid).max_replica_count(), 2);
  ASSERT_EQ(Config(gpid).secondaries_size(), 1);
  EXPECT_EQ(Config(gpid).secondaries(0), kN2.value);
  EXPECT_EQ(Config(gpid).last_drops(0), kN3.value);
  // Two members is what the table asks for now: nothing more happens.
  h_.Run(5 * kSecondNs, kThree);
  CompleteLearners(h_);
  EXPECT_EQ(Config(gpid).ballot(), ballot + 1);
  // Down to one, a secondary at a time: max_replica_count follows.
  ASSERT_EQ(h_.AdminAndSettle(MakeSetReplicaCount("t", 1)).error(), 0);
  h_.Run(100 * kMsNs, kThree);
  EXPECT_EQ(Config(gpid).secondaries_size(), 0);
  EXPECT_EQ(Config(gpid).max_replica_count(), 1);
  EXPECT_EQ(Config(gpid).primary(), kN1.value);
  h_.Run(kSecondNs, kThree);
  EXPECT_EQ(Config(gpid).ballot(), ballot + 2);
  h_.core().CheckInvariants();
}

TEST_F(MetaTablesTest, LoweringByTwoRemovesOneSecondaryPerChange) {
  MakeHealedTable(h_, "t", 1, 3, kThree);
  const int64_t ballot = Config({1, 0}).ballot();
  ASSERT_EQ(h_.AdminAndSettle(MakeSetReplicaCount("t", 1)).error(), 0);
  h_.Run(100 * kMsNs, kThree);
  EXPECT_EQ(Config({1, 0}).ballot(), ballot + 1);
  EXPECT_EQ(Config({1, 0}).secondaries_size(), 1);
  EXPECT_EQ(Config({1, 0}).max_replica_count(), 2);
  h_.Run(100 * kMsNs, kThree);
  EXPECT_EQ(Config({1, 0}).ballot(), ballot + 2);
  EXPECT_EQ(Config({1, 0}).secondaries_size(), 0);
  EXPECT_EQ(Config({1, 0}).max_replica_count(), 1);
  EXPECT_EQ(ProposalsOf(h_, proto::CONFIG_SET_REPLICA_COUNT).size(), 0u);
}

TEST_F(MetaTablesTest, SetReplicaCountRefusesAnInvalidCount) {
  ASSERT_TRUE(h_.CreateTable("t", 1, 3).ok());
  ExpectRefused(h_, MakeSetReplicaCount("t", 0), ErrorCode::kInvalidRepCount);
  ExpectRefused(h_, MakeSetReplicaCount("t", 6), ErrorCode::kInvalidRepCount);
  ExpectRefused(h_, MakeSetReplicaCount("u", 2), ErrorCode::kAppNotExist);
  EXPECT_EQ(h_.core().FindTable("t")->replica_count(), 3);
}

// --- The queue -------------------------------------------------------------

TEST_F(MetaTablesTest, OperationsSentTogetherRunInOrderEachOnTheStateBefore) {
  const ReplyToken create = h_.Admin(MakeCreate("t", 1, 1));
  const ReplyToken drop = h_.Admin(MakeDrop("t"));
  const ReplyToken create_again = h_.Admin(MakeCreate("t", 2, 1));
  const ReplyToken if_exist = h_.Admin(MakeCreate("t", 2, 1, {}, true));
  const ReplyToken recall = h_.Admin(MakeRecall(1));
  const ReplyToken rename = h_.Admin(MakeRename("t", "u"));
  const ReplyToken recall_renamed = h_.Admin(MakeRecall(1));
  EXPECT_EQ(h_.core().pending_admin(), 7u);
  EXPECT_EQ(h_.writes_issued(), 1u) << "one at a time";
  EXPECT_TRUE(AdminAnswerOrder(h_).empty());
  // A query does not wait behind them.
  const ReplyToken list = h_.Admin(MakeListTables(true));
  auto listed = h_.ResponseFor<proto::AdminResponse>(list);
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(listed->list_tables().tables_size(), 0);
  h_.TakeSent();
  h_.Settle();
  EXPECT_EQ(AdminAnswerOrder(h_),
            (std::vector<ReplyToken>{create, drop, create_again, if_exist,
                                     recall, rename, recall_renamed}));
  auto answer = [&](ReplyToken token) {
    return *h_.ResponseFor<proto::AdminResponse>(token);
  };
  EXPECT_EQ(answer(create).create_table().app_id(), 1);
  EXPECT_EQ(answer(drop).error(), 0);
  EXPECT_EQ(answer(create_again).create_table().app_id(), 2);
  EXPECT_EQ(answer(if_exist).create_table().app_id(), 2);
  EXPECT_EQ(answer(recall).error(), Code(ErrorCode::kAppExist));
  EXPECT_EQ(answer(rename).error(), 0);
  EXPECT_EQ(answer(recall_renamed).error(), 0);
  EXPECT_EQ(h_.core().FindTable("u")->app_id(), 2);
  EXPECT_EQ(h_.core().FindTable("t")->app_id(), 1);
  EXPECT_EQ(h_.core().pending_admin(), 0u);
}

TEST(MetaTablesQueueTest, FullQueueAnswersBusyAtOnce) {
  MetaHarness h(NeverFreeze({.max_pending_admin = 2}));
  ASSERT_TRUE(h.Start().ok());
  const ReplyToken a = h.Admin(MakeCreate("a", 1, 1));
  const ReplyToken b = h.Admin(MakeCreate("b", 1, 1));
  const ReplyToken c = h.Admin(MakeCreate("c", 1, 1));
  auto busy = h.ResponseFor<proto::AdminResponse>(c);
  ASSERT_TRUE(busy.has_value()) << "refused without waiting";
  EXPECT_EQ(busy->error(), Code(ErrorCode::kBusy));
  // Queries are not queued.
  const ReplyToken query = h.Admin(MakeGetLevel());
  EXPECT_EQ(h.ResponseFor<proto::AdminResponse>(query)->error(), 0);
  h.Settle();
  EXPECT_EQ(h.ResponseFor<proto::AdminResponse>(a)->error(), 0);
  EXPECT_EQ(h.ResponseFor<proto::AdminResponse>(b)->error(), 0);
  EXPECT_EQ(h.core().FindTable("c"), nullptr);
  EXPECT_TRUE(h.CreateTable("c", 1, 1).ok());
}

TEST_F(MetaTablesTest, FailedWriteAnswersIoErrorAndTheNextOperationRuns) {
  ASSERT_TRUE(h_.CreateTable("t", 1, 1).ok());
  const auto stored = h_.medium().Snapshot();
  h_.store().set_fail_writes(true);
  const ReplyToken rename = h_.Admin(MakeRename("t", "u"));
  h_.store().set_fail_writes(false);
  const ReplyToken envs = h_.Admin(MakeSetEnvs("t", {{"default_ttl", "7"}}));
  h_.Settle();
  auto failed = h_.ResponseFor<proto::AdminResponse>(rename);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->error(), Code(ErrorCode::kIoError));
  EXPECT_EQ(h_.ResponseFor<proto::AdminResponse>(envs)->error(), 0);
  EXPECT_EQ(h_.core().FindTable("u"), nullptr);
  EXPECT_EQ(h_.core().FindTable("t")->envs().at("default_ttl"), "7");
  EXPECT_EQ(Stored(h_, 1).name(), "t");
  EXPECT_EQ(h_.core().stats().writes_failed, 1u);
  // A level whose write fails is not taken either.
  h_.store().set_fail_writes(true);
  EXPECT_EQ(h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_BLIND)).error(),
            Code(ErrorCode::kIoError));
  h_.store().set_fail_writes(false);
  EXPECT_EQ(h_.core().level(), proto::META_LEVEL_STEADY);
  EXPECT_EQ(h_.medium().Snapshot().count("meta/level"), 0u);
}

TEST_F(MetaTablesTest, RequestWithoutAnOperationIsRefused) {
  ExpectRefused(h_, proto::AdminRequest(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(h_.core().stats().malformed_messages, 1u);
}

// --- Recovery --------------------------------------------------------------

TEST_F(MetaTablesTest, RestartRecoversTablesNamesTombstonesEnvsAndLevel) {
  ASSERT_EQ(
      h_.AdminAndSettle(MakeCreate("a", 2, 3, {{"default_ttl", "60"}})).error(),
      0);
  ASSERT_TRUE(h_.CreateTable("b", 1, 1).ok());
  ASSERT_TRUE(h_.CreateTable("c", 1, 1).ok());
  ASSERT_TRUE(h_.CreateTable("d", 1, 1).ok());
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("b", 1000)).error(), 0);
  ASSERT_EQ(h_.AdminAndSettle(MakeDrop("c", 1)).error(), 0);
  ASSERT_EQ(h_.AdminAndSettle(MakeRename("d", "e")).error(), 0);
  h_.Advance(kSecondNs);
  h_.TickAndSettle();
  ASSERT_EQ(h_.core().GetTable(3)->status(), proto::TABLE_PURGED);
  ASSERT_EQ(h_.AdminAndSettle(MakeSetLevel(proto::META_LEVEL_BLIND)).error(),
            0);
  std::map<int32_t, std::string> tables;
  for (int32_t id = 1; id <= 4; ++id) {
    tables[id] = h_.core().GetTable(id)->SerializeAsString();
  }

  ASSERT_TRUE(h_.Start().ok());
  for (const auto& [id, table] : tables) {
    EXPECT_EQ(h_.core().GetTable(id)->SerializeAsString(), table) << id;
  }
  EXPECT_EQ(h_.core().FindTable("a")->envs().at("default_ttl"), "60");
  EXPECT_EQ(h_.core().FindTable("b"), nullptr);
  EXPECT_EQ(h_.core().FindTable("c"), nullptr);
  EXPECT_EQ(h_.core().FindTable("d"), nullptr);
  EXPECT_EQ(h_.core().FindTable("e")->app_id(), 4);
  EXPECT_EQ(Listed(h_, true), (std::vector<std::string>{"a", "b", "e"}));
  // The purged table's partitions were deleted from the store.
  EXPECT_EQ(h_.medium().Snapshot().count("partition/3/0"), 0u);
  EXPECT_EQ(h_.medium().Snapshot().count("table/3"), 1u);
  EXPECT_EQ(h_.core().GetConfig({3, 0}), nullptr);
  EXPECT_EQ(h_.core().Partitions().size(), 4u);
  EXPECT_EQ(h_.core().level(), proto::META_LEVEL_BLIND);
  EXPECT_EQ(h_.core().effective_level(), proto::META_LEVEL_BLIND);
  EXPECT_EQ(h_.AdminAndSettle(MakeCreate("f", 1, 1)).create_table().app_id(),
            5);
  EXPECT_EQ(h_.AdminAndSettle(MakeRecall(2)).error(), 0);
  EXPECT_EQ(h_.core().FindTable("b")->app_id(), 2);
}

// The table record is durable, two of four partitions are: after a restart
// the other two are created, and then the cure assigns all four.
TEST_F(MetaTablesTest, RestartFinishesACreateThatWasCutShort) {
  // What a first meta server wrote before it died.
  auto first = MetaCore::Create(NeverFreeze());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Recover({}, 0).ok());
  (*first)->OnAdmin(NodeId{99}, MakeCreate("t", 4, 3), 1, 0,
                    kHarnessWallStartS);
  const MetaReady table_write = (*first)->TakeReady();
  ASSERT_EQ(table_write.writes.size(), 1u);
  (*first)->OnStoreWriteDone(table_write.writes[0].write_id, absl::OkStatus(),
                             0);
  const MetaReady partition_writes = (*first)->TakeReady();
  ASSERT_EQ(partition_writes.writes.size(), 4u);
  std::vector<StoreWrite> durable = {table_write.writes[0],
                                     partition_writes.writes[0],
                                     partition_writes.writes[1]};
  for (const StoreWrite& write : durable) {
    h_.store().Write(write.key, write.value,
                     [](absl::Status status) { PEGASUS_CHECK_OK(status); });
  }
  h_.Settle();
  ASSERT_EQ(h_.medium().Snapshot().size(), 3u);

  ASSERT_TRUE(h_.Start().ok());
  EXPECT_EQ(h_.core().Partitions().size(), 4u);
  EXPECT_EQ(QueryByName(h_, "t").partitions_size(), 4);
  EXPECT_EQ(Config({1, 3}).ballot(), 0);
  h_.BeaconAll(kThree);
  h_.TickAndSettle();
  EXPECT_EQ(h_.medium().Snapshot().count("partition/1/2"), 1u);
  EXPECT_EQ(h_.medium().Snapshot().count("partition/1/3"), 1u);
  h_.TickAndSettle();
  for (int i = 0; i < 4; ++i) EXPECT_NE(Config({1, i}).primary(), 0u) << i;
  Heal(h_, kThree);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(meta_internal::MemberCount(Config({1, i})), 3) << i;
  }
  h_.core().CheckInvariants();
}

TEST(MetaTablesNotReadyTest, EverythingIsTryAgainBeforeRecover) {
  auto core = MetaCore::Create(NeverFreeze());
  ASSERT_TRUE(core.ok());
  MetaCore& meta = **core;
  proto::QueryConfigRequest query;
  query.set_app_name("t");
  EXPECT_EQ(meta.QueryConfig(query).error(), Code(ErrorCode::kTryAgain));
  meta.OnAdmin(NodeId{99}, MakeListTables(true), 1, 0, kHarnessWallStartS);
  meta.OnAdmin(NodeId{99}, MakeCreate("t", 1, 1), 2, 0, kHarnessWallStartS);
  meta.OnAdmin(NodeId{99}, MakeSetLevel(proto::META_LEVEL_BLIND), 3, 0,
               kHarnessWallStartS);
  meta.PurgeExpiredTables(0, kHarnessWallStartS);
  MetaReady ready = meta.TakeReady();
  EXPECT_TRUE(ready.writes.empty());
  ASSERT_EQ(ready.messages.size(), 3u);
  for (const auto& [to, out] : ready.messages) {
    EXPECT_EQ(to, NodeId{99});
    EXPECT_EQ(std::get<proto::AdminResponse>(out.message).error(),
              Code(ErrorCode::kTryAgain));
  }
  EXPECT_EQ(meta.pending_admin(), 0u);
}

}  // namespace
}  // namespace pegasus
