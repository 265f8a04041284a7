// The StorageEngine contract, run against every engine: the RocksDB engine,
// the memory engine on the real file system, and the memory engine on the
// in-memory file system.

#include <stdlib.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pegasus/base/key_schema.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/storage/memory/memory_engine.h"
#include "pegasus/storage/rocksdb/rocksdb_engine.h"
#include "pegasus/storage/storage_engine.h"

namespace pegasus {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr int64_t kNowUs = 1700000000LL * 1000000;

struct EngineKind {
  std::string name;
  bool in_memory_fs;
  std::function<absl::StatusOr<std::unique_ptr<StorageEngine>>(
      const std::string& dir, Clock* clock, FileSystem* fs)>
      open;
};

void PrintTo(const EngineKind& kind, std::ostream* out) { *out << kind.name; }

class StorageEngineTest : public testing::TestWithParam<EngineKind> {
 protected:
  void SetUp() override {
    if (GetParam().in_memory_fs) {
      mem_fs_ = NewMemFileSystem();
      fs_ = mem_fs_.get();
      root_ = "/engine_test";
    } else {
      fs_ = PosixFileSystem();
      std::string pattern = testing::TempDir() + "/engine_XXXXXX";
      ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
      root_ = pattern;
    }
    dir_ = root_ + "/data";
    Reopen();
  }

  void TearDown() override { engine_.reset(); }

  absl::StatusOr<std::unique_ptr<StorageEngine>> Open(const std::string& dir) {
    return GetParam().open(dir, &clock_, fs_);
  }

  void Reopen() {
    engine_.reset();
    auto engine = Open(dir_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engine_ = std::move(*engine);
  }

  void Put(Decree decree, const std::string& key, const std::string& value) {
    WriteBatch batch;
    batch.Put(key, value);
    ASSERT_TRUE(engine_->Apply(decree, batch).ok());
  }

  std::string Get(StorageEngine* engine, const std::string& key) {
    std::string value;
    absl::Status status = engine->Get(key, &value);
    if (HasErrorCode(status, ErrorCode::kNotFound)) return "<absent>";
    EXPECT_TRUE(status.ok()) << status;
    return value;
  }
  std::string Get(const std::string& key) { return Get(engine_.get(), key); }

  static std::vector<std::pair<std::string, std::string>> Scan(
      StorageEngine* engine, const IteratorOptions& options = {}) {
    std::vector<std::pair<std::string, std::string>> rows;
    auto it = engine->NewIterator(options);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rows.emplace_back(std::string(it->key()), std::string(it->value()));
    }
    EXPECT_TRUE(it->status().ok());
    return rows;
  }

  ManualClock clock_{kNowUs};
  std::unique_ptr<FileSystem> mem_fs_;
  FileSystem* fs_ = nullptr;
  std::string root_;
  std::string dir_;
  std::unique_ptr<StorageEngine> engine_;
};

TEST_P(StorageEngineTest, NewEngineIsEmptyAtDecreeZero) {
  EXPECT_EQ(engine_->LastAppliedDecree(), kNoDecree);
  EXPECT_EQ(engine_->LastDurableDecree(), kNoDecree);
  EXPECT_EQ(Get("k"), "<absent>");
  EXPECT_THAT(Scan(engine_.get()), IsEmpty());
}

TEST_P(StorageEngineTest, AppliesPutsAndDeletesWithTheirDecree) {
  WriteBatch batch;
  batch.Put("a", "1");
  batch.Put("b", "2");
  batch.Put("c", "3");
  ASSERT_TRUE(engine_->Apply(1, batch).ok());
  batch.Clear();
  batch.Delete("b");
  batch.Put("a", "10");
  batch.Delete("never-existed");
  ASSERT_TRUE(engine_->Apply(2, batch).ok());
  EXPECT_EQ(engine_->LastAppliedDecree(), 2);
  EXPECT_EQ(Get("a"), "10");
  EXPECT_EQ(Get("b"), "<absent>");
  EXPECT_THAT(Scan(engine_.get()), ElementsAre(Pair("a", "10"), Pair("c", "3")));
}

TEST_P(StorageEngineTest, LaterOperationInABatchWins) {
  WriteBatch batch;
  batch.Put("k", "first");
  batch.Delete("k");
  batch.Put("k", "last");
  batch.Put("gone", "x");
  batch.Delete("gone");
  ASSERT_TRUE(engine_->Apply(1, batch).ok());
  EXPECT_EQ(Get("k"), "last");
  EXPECT_EQ(Get("gone"), "<absent>");
}

TEST_P(StorageEngineTest, EmptyBatchOnlyAdvancesDecree) {
  Put(1, "k", "v");
  ASSERT_TRUE(engine_->Apply(5, WriteBatch()).ok());
  EXPECT_EQ(engine_->LastAppliedDecree(), 5);
  EXPECT_THAT(Scan(engine_.get()), ElementsAre(Pair("k", "v")));
}

TEST_P(StorageEngineTest, OrdersBinaryKeysBytewise) {
  std::vector<std::string> keys = {std::string("\xff", 1), std::string("\x00", 1),
                                   std::string("\x00\x00", 2), "a", "ab",
                                   std::string("a\x80", 2)};
  Decree decree = 0;
  for (const std::string& key : keys) Put(++decree, key, "v");
  std::vector<std::string> scanned;
  for (const auto& [key, value] : Scan(engine_.get())) scanned.push_back(key);
  EXPECT_THAT(scanned, ElementsAre(std::string("\x00", 1), std::string("\x00\x00", 2),
                                   "a", "ab", std::string("a\x80", 2),
                                   std::string("\xff", 1)));
}

TEST_P(StorageEngineTest, IteratorSeeksAndMovesBothWays) {
  Decree decree = 0;
  for (std::string key : {"b", "d", "f", "h"}) Put(++decree, key, "v" + key);
  auto it = engine_->NewIterator({});
  it->Seek("c");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "d");
  it->Next();
  EXPECT_EQ(it->key(), "f");
  it->Prev();
  it->Prev();
  EXPECT_EQ(it->key(), "b");
  it->Prev();
  EXPECT_FALSE(it->Valid());
  it->SeekForPrev("e");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "d");
  EXPECT_EQ(it->value(), "vd");
  it->SeekForPrev("d");
  EXPECT_EQ(it->key(), "d");
  it->SeekForPrev("a");
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  EXPECT_EQ(it->key(), "h");
  it->Next();
  EXPECT_FALSE(it->Valid());
  it->Seek("z");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

TEST_P(StorageEngineTest, IteratorRespectsBounds) {
  Decree decree = 0;
  for (std::string key : {"a", "b", "c", "d", "e"}) Put(++decree, key, "v");
  IteratorOptions options;
  options.lower_bound = "b";
  options.upper_bound = "d";
  std::vector<std::string> scanned;
  for (const auto& [key, value] : Scan(engine_.get(), options)) scanned.push_back(key);
  EXPECT_THAT(scanned, ElementsAre("b", "c"));

  auto it = engine_->NewIterator(options);
  it->SeekToLast();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "c");
  it->SeekForPrev("z");
  EXPECT_EQ(it->key(), "c");
  it->Seek("a");
  EXPECT_EQ(it->key(), "b");
  it->Prev();
  EXPECT_FALSE(it->Valid());
  it->Seek("d");
  EXPECT_FALSE(it->Valid());
}

TEST_P(StorageEngineTest, IteratorWithinOneHashKeyStaysInIt) {
  Decree decree = 0;
  for (std::string hash : {"h1", "h2", "h3"}) {
    for (std::string sort : {"a", "b"}) {
      Put(++decree, EncodeStorageKey(hash, sort), hash + sort);
    }
  }
  IteratorOptions options;
  options.within_one_hash_key = true;
  options.upper_bound = PrefixSuccessor(HashKeyPrefix("h2"));
  auto it = engine_->NewIterator(options);
  std::vector<std::string> values;
  for (it->Seek(HashKeyPrefix("h2")); it->Valid(); it->Next()) {
    values.emplace_back(it->value());
  }
  EXPECT_THAT(values, ElementsAre("h2a", "h2b"));
}

TEST_P(StorageEngineTest, IteratorSeesSnapshotFromItsCreation) {
  Put(1, "a", "old");
  Put(2, "b", "old");
  auto it = engine_->NewIterator({});
  WriteBatch batch;
  batch.Put("a", "new");
  batch.Delete("b");
  batch.Put("c", "new");
  ASSERT_TRUE(engine_->Apply(3, batch).ok());
  std::vector<std::pair<std::string, std::string>> rows;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rows.emplace_back(std::string(it->key()), std::string(it->value()));
  }
  EXPECT_THAT(rows, ElementsAre(Pair("a", "old"), Pair("b", "old")));
  it.reset();
  EXPECT_THAT(Scan(engine_.get()), ElementsAre(Pair("a", "new"), Pair("c", "new")));
}

TEST_P(StorageEngineTest, ReopenAfterFlushKeepsDataAndDecree) {
  Put(1, "a", "1");
  Put(2, "b", "2");
  ASSERT_TRUE(engine_->Flush().ok());
  EXPECT_EQ(engine_->LastDurableDecree(), 2);
  Reopen();
  EXPECT_EQ(engine_->LastAppliedDecree(), 2);
  EXPECT_EQ(engine_->LastDurableDecree(), 2);
  EXPECT_THAT(Scan(engine_.get()), ElementsAre(Pair("a", "1"), Pair("b", "2")));
}

TEST_P(StorageEngineTest, CloseWithoutFlushReturnsToLastFlush) {
  Put(1, "a", "1");
  Put(2, "b", "2");
  ASSERT_TRUE(engine_->Flush().ok());
  WriteBatch batch;
  batch.Put("a", "changed");
  batch.Delete("b");
  batch.Put("c", "3");
  ASSERT_TRUE(engine_->Apply(3, batch).ok());
  EXPECT_EQ(engine_->LastAppliedDecree(), 3);
  EXPECT_EQ(engine_->LastDurableDecree(), 2);
  Reopen();  // No flush: decree 3 is gone, all of it.
  EXPECT_EQ(engine_->LastAppliedDecree(), 2);
  EXPECT_THAT(Scan(engine_.get()), ElementsAre(Pair("a", "1"), Pair("b", "2")));
  // The partition replays decree 3 from its log and carries on.
  Put(3, "c", "replayed");
  EXPECT_EQ(Get("c"), "replayed");
}

TEST_P(StorageEngineTest, CloseWithoutAnyFlushLosesEverything) {
  Put(1, "a", "1");
  Reopen();
  EXPECT_EQ(engine_->LastAppliedDecree(), kNoDecree);
  EXPECT_THAT(Scan(engine_.get()), IsEmpty());
}

TEST_P(StorageEngineTest, CheckpointIsAConsistentOpenableCopy) {
  Put(1, "a", "1");
  Put(2, "b", "2");
  std::string checkpoint_dir = root_ + "/checkpoint";
  absl::StatusOr<Decree> decree = engine_->Checkpoint(checkpoint_dir);
  ASSERT_TRUE(decree.ok()) << decree.status();
  EXPECT_EQ(*decree, 2);
  EXPECT_EQ(engine_->LastDurableDecree(), 2);
  Put(3, "a", "after");

  auto copy = Open(checkpoint_dir);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ((*copy)->LastAppliedDecree(), 2);
  EXPECT_EQ(Get(copy->get(), "a"), "1");
  EXPECT_EQ(Get(copy->get(), "b"), "2");
  EXPECT_EQ(Get("a"), "after");
}

TEST_P(StorageEngineTest, CheckpointIntoExistingDirectoryFails) {
  Put(1, "a", "1");
  ASSERT_TRUE(engine_->Checkpoint(root_ + "/cp").ok());
  EXPECT_FALSE(engine_->Checkpoint(root_ + "/cp").ok());
}

TEST_P(StorageEngineTest, CompactionDropsRowsExpiredAtTheEngineClock) {
  uint32_t now_s = PegasusSecondsFromUnixMicros(kNowUs);
  WriteBatch batch;
  batch.Put("expired", EncodeValue(now_s - 1, 0, "x"));
  batch.Put("expires-now", EncodeValue(now_s, 0, "x"));
  batch.Put("later", EncodeValue(now_s + 100, 0, "x"));
  batch.Put("forever", EncodeValue(0, 0, "x"));
  batch.Put("short", "abc");  // Not a valid value: compaction keeps it.
  ASSERT_TRUE(engine_->Apply(1, batch).ok());
  ASSERT_TRUE(engine_->Flush().ok());
  ASSERT_TRUE(engine_->Compact().ok());
  std::vector<std::string> keys;
  for (const auto& [key, value] : Scan(engine_.get())) keys.push_back(key);
  EXPECT_THAT(keys, ElementsAre("forever", "later", "short"));

  clock_.AdvanceUs(200 * 1000000LL);
  ASSERT_TRUE(engine_->Compact().ok());
  keys.clear();
  for (const auto& [key, value] : Scan(engine_.get())) keys.push_back(key);
  EXPECT_THAT(keys, ElementsAre("forever", "short"));
  EXPECT_EQ(engine_->LastAppliedDecree(), 1);
}

TEST_P(StorageEngineTest, CompactionAlsoFlushes) {
  Put(1, "a", EncodeValue(0, 0, "x"));
  ASSERT_TRUE(engine_->Compact().ok());
  EXPECT_EQ(engine_->LastDurableDecree(), 1);
  Reopen();
  EXPECT_EQ(engine_->LastAppliedDecree(), 1);
  EXPECT_EQ(Get("a"), EncodeValue(0, 0, "x"));
}

TEST_P(StorageEngineTest, CompactionGivesDefaultTtlToRowsWithoutExpiry) {
  uint32_t now_s = PegasusSecondsFromUnixMicros(kNowUs);
  WriteBatch batch;
  batch.Put("no-ttl", EncodeValue(0, 7, "data"));
  batch.Put("own-ttl", EncodeValue(now_s + 5, 7, "data"));
  ASSERT_TRUE(engine_->Apply(1, batch).ok());
  engine_->SetDefaultTtl(3600);
  ASSERT_TRUE(engine_->Compact().ok());
  EXPECT_EQ(Get("no-ttl"), EncodeValue(now_s + 3600, 7, "data"));
  EXPECT_EQ(Get("own-ttl"), EncodeValue(now_s + 5, 7, "data"));
}

TEST_P(StorageEngineTest, FlushedStateSurvivesManyReopens) {
  Decree decree = 0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 50; ++i) {
      Put(++decree, "k" + std::to_string(i), "r" + std::to_string(round));
    }
    ASSERT_TRUE(engine_->Flush().ok());
    Reopen();
    EXPECT_EQ(engine_->LastAppliedDecree(), decree);
    EXPECT_EQ(Get("k49"), "r" + std::to_string(round));
  }
}

TEST_P(StorageEngineTest, DecreesMustIncrease) {
  Put(3, "a", "1");
  EXPECT_DEATH(Put(3, "a", "2"), "decrees apply in order");
}

absl::StatusOr<std::unique_ptr<StorageEngine>> OpenRocksDb(
    const std::string& dir, Clock* clock, FileSystem*) {
  RocksDbEngineOptions options;
  options.clock = clock;
  options.block_cache_size_bytes = 8 << 20;
  options.write_buffer_size_bytes = 4 << 20;
  return OpenRocksDbEngine(dir, options);
}

absl::StatusOr<std::unique_ptr<StorageEngine>> OpenMemory(
    const std::string& dir, Clock* clock, FileSystem* fs) {
  MemoryEngineOptions options;
  options.clock = clock;
  options.file_system = fs;
  return OpenMemoryEngine(dir, options);
}

INSTANTIATE_TEST_SUITE_P(
    Engines, StorageEngineTest,
    testing::Values(EngineKind{"RocksDb", false, OpenRocksDb},
                    EngineKind{"MemoryOnPosixFs", false, OpenMemory},
                    EngineKind{"MemoryOnMemFs", true, OpenMemory}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace pegasus
