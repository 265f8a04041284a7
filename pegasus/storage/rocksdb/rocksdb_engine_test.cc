// Behaviour of the RocksDB engine beyond the shared conformance suite:
// what RocksDB does on its own, in the background.

#include "pegasus/storage/rocksdb/rocksdb_engine.h"

#include <stdlib.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/storage/storage_engine.h"
#include "pegasus/storage/write_batch.h"
#include "rocksdb/db.h"

namespace pegasus {
namespace {

std::string RowKey(Decree decree) { return "row" + std::to_string(decree); }

class RocksDbEngineTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "/rocksdb_engine_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern + "/data";
    // The smallest memtable RocksDB allows, so that writes flush on their own.
    options_.write_buffer_size_bytes = 64 << 10;
    Reopen();
  }

  void Reopen() {
    engine_.reset();
    auto engine = OpenRocksDbEngine(dir_, options_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }

  RocksDbEngineOptions options_;
  std::string dir_;
  std::unique_ptr<StorageEngine> engine_;
};

// The meta column family's flushes are what tell the engine which decrees
// are durable, whatever memtable representation it uses.
TEST_F(RocksDbEngineTest, AutomaticFlushMakesItsDecreesDurable) {
  constexpr Decree kLast = 3000;
  const std::string value(100, 'v');
  WriteBatch batch;
  for (Decree decree = 1; decree <= kLast; ++decree) {
    batch.Clear();
    batch.Put(RowKey(decree), value);
    ASSERT_TRUE(engine_->Apply(decree, batch).ok());
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (engine_->LastDurableDecree() == kNoDecree &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Decree durable = engine_->LastDurableDecree();
  ASSERT_GT(durable, kNoDecree) << "no automatic flush within 30 s";
  ASSERT_LE(durable, kLast);

  Reopen();  // No explicit flush: only what RocksDB flushed by itself.
  Decree reopened = engine_->LastAppliedDecree();
  EXPECT_GE(reopened, durable);
  EXPECT_EQ(engine_->LastDurableDecree(), reopened);
  std::string got;
  for (Decree decree = 1; decree <= kLast; ++decree) {
    absl::Status status = engine_->Get(RowKey(decree), &got);
    if (decree <= reopened) {
      ASSERT_TRUE(status.ok()) << "decree " << decree << ": " << status;
    } else {
      ASSERT_TRUE(HasErrorCode(status, ErrorCode::kNotFound))
          << "decree " << decree << " is past the reopened decree " << reopened;
    }
  }
}

// StartFlush returns at once; the durable decree reaches the last applied
// one when RocksDB's flush is done, and a reopen shows every row.
TEST_F(RocksDbEngineTest, StartFlushMakesEveryAppliedDecreeDurableLater) {
  constexpr Decree kLast = 50;  // Far from filling a memtable.
  WriteBatch batch;
  for (Decree decree = 1; decree <= kLast; ++decree) {
    batch.Clear();
    batch.Put(RowKey(decree), "v");
    ASSERT_TRUE(engine_->Apply(decree, batch).ok());
  }
  ASSERT_EQ(engine_->LastDurableDecree(), kNoDecree);
  ASSERT_TRUE(engine_->StartFlush().ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (engine_->LastDurableDecree() != kLast &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(engine_->LastDurableDecree(), kLast);

  Reopen();
  EXPECT_EQ(engine_->LastAppliedDecree(), kLast);
  std::string got;
  for (Decree decree = 1; decree <= kLast; ++decree) {
    EXPECT_TRUE(engine_->Get(RowKey(decree), &got).ok()) << decree;
  }
}

int CountRows(StorageEngine* engine) {
  int rows = 0;
  auto it = engine->NewIterator({});
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++rows;
  return rows;
}

// With drop_expired_in_background off, only Compact() removes expired rows,
// even when RocksDB compacts on its own (as it does at 4 level-0 files).
TEST_F(RocksDbEngineTest, ExpiredRowsStayUntilCompactWhenBackgroundDroppingIsOff) {
  ManualClock clock(1700000000LL * 1000000);
  options_.clock = &clock;
  options_.drop_expired_in_background = false;
  Reopen();
  uint32_t now_s = PegasusSecondsFromUnixMicros(clock.WallNowUs());
  Decree decree = 0;
  for (int file = 0; file < 8; ++file) {
    WriteBatch batch;
    batch.Put(RowKey(file), EncodeValue(now_s - 1, 0, "expired"));
    batch.Put(RowKey(100 + file), EncodeValue(0, 0, "live"));
    ASSERT_TRUE(engine_->Apply(++decree, batch).ok());
    ASSERT_TRUE(engine_->Flush().ok());
  }
  EXPECT_EQ(CountRows(engine_.get()), 16);
  ASSERT_TRUE(engine_->Compact().ok());
  EXPECT_EQ(CountRows(engine_.get()), 8);
}

// A directory as RocksDB leaves it when the process dies inside the first
// open: both column families recorded, the meta family never flushed.
void CreateBareDirectory(const std::string& dir, const std::string& data_key) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"pegasus_meta_cf", rocksdb::ColumnFamilyOptions()}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir, families, &handles, &db).ok());
  if (!data_key.empty()) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[0], data_key, "v").ok());
    ASSERT_TRUE(db->Flush(rocksdb::FlushOptions(), handles[0]).ok());
  }
  for (auto* handle : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
  delete db;
}

TEST_F(RocksDbEngineTest, FinishesAnInitializationACrashInterrupted) {
  engine_.reset();
  std::string dir = dir_ + "_bare";
  CreateBareDirectory(dir, "");
  auto engine = OpenRocksDbEngine(dir, options_);
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_EQ((*engine)->LastAppliedDecree(), kNoDecree);
}

TEST_F(RocksDbEngineTest, RefusesDataWithoutADataVersion) {
  engine_.reset();
  std::string dir = dir_ + "_orphan";
  CreateBareDirectory(dir, "some row");
  auto engine = OpenRocksDbEngine(dir, options_);
  EXPECT_EQ(ToErrorCode(engine.status()), ErrorCode::kCorruption);
}

TEST_F(RocksDbEngineTest, RefusesADirectoryThatIsNotPegasus) {
  engine_.reset();
  std::string dir = dir_ + "_plain";
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir, &db).ok());
  delete db;
  auto engine = OpenRocksDbEngine(dir, options_);
  EXPECT_EQ(ToErrorCode(engine.status()), ErrorCode::kCorruption);
}

TEST_F(RocksDbEngineTest, MissReturnsPerrNotFound) {
  std::string value;
  EXPECT_EQ(ToErrorCode(engine_->Get("absent", &value)), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace pegasus
