// A fixture that runs Partition tests against every engine: the RocksDB
// engine in a temporary directory and the memory engine on an in-memory file
// system. Both must behave identically.

#ifndef PEGASUS_STORAGE_PARTITION_TEST_UTIL_H_
#define PEGASUS_STORAGE_PARTITION_TEST_UTIL_H_

#include <stdlib.h>

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/storage/memory/memory_engine.h"
#include "pegasus/storage/partition.h"
#include "pegasus/storage/rocksdb/rocksdb_engine.h"

namespace pegasus {

// 2023-11-14 22:13:20 UTC in Unix microseconds.
inline constexpr int64_t kTestNowUs = 1700000000LL * 1000000;

inline uint32_t TestNowS() { return PegasusSecondsFromUnixMicros(kTestNowUs); }

enum class EngineType { kRocksDb, kMemory };

inline std::string EngineName(const testing::TestParamInfo<EngineType>& info) {
  return info.param == EngineType::kRocksDb ? "RocksDb" : "Memory";
}

class PartitionTest : public testing::TestWithParam<EngineType> {
 protected:
  void SetUp() override { Open(PartitionOptions()); }

  void TearDown() override {
    partition_.reset();
    engine_.reset();
  }

  // Reopens the partition with `options` over a fresh, empty engine.
  void Open(const PartitionOptions& options) {
    partition_.reset();
    engine_.reset();
    if (GetParam() == EngineType::kRocksDb) {
      std::string dir = testing::TempDir() + "/partition_XXXXXX";
      ASSERT_NE(::mkdtemp(dir.data()), nullptr);
      RocksDbEngineOptions engine_options;
      engine_options.clock = &clock_;
      engine_options.block_cache_size_bytes = 8 << 20;
      engine_options.write_buffer_size_bytes = 4 << 20;
      auto engine = OpenRocksDbEngine(dir, engine_options);
      ASSERT_TRUE(engine.ok()) << engine.status();
      engine_ = std::move(*engine);
    } else {
      fs_ = NewMemFileSystem();
      MemoryEngineOptions engine_options;
      engine_options.clock = &clock_;
      engine_options.file_system = fs_.get();
      auto engine = OpenMemoryEngine("/partition", engine_options);
      ASSERT_TRUE(engine.ok()) << engine.status();
      engine_ = std::move(*engine);
    }
    partition_ = std::make_unique<Partition>(engine_.get(), options);
  }

  // Applies `requests` as the next mutation at kTestNowUs (or `at_us`).
  std::vector<WriteResponse> Write(std::vector<WriteRequest> requests,
                                   int64_t at_us = kTestNowUs) {
    auto responses = partition_->ApplyMutation(++decree_, at_us, requests);
    EXPECT_TRUE(responses.ok()) << responses.status();
    return responses.ok() ? *responses : std::vector<WriteResponse>();
  }

  WriteResponse WriteOne(WriteRequest request, int64_t at_us = kTestNowUs) {
    std::vector<WriteResponse> responses = Write({std::move(request)}, at_us);
    return responses.empty() ? WriteResponse() : responses[0];
  }

  void Set(const std::string& hash_key, const std::string& sort_key,
           const std::string& value, uint32_t expire_ts_s = 0) {
    WriteResponse response = WriteOne(PutRequest{hash_key, sort_key, value, expire_ts_s});
    ASSERT_TRUE(response.status.ok()) << response.status;
  }

  // The value at (hash_key, sort_key) now, or "<absent>".
  std::string Value(const std::string& hash_key, const std::string& sort_key,
                    int64_t now_us = kTestNowUs) {
    GetResponse response = partition_->Get(hash_key, sort_key, now_us);
    if (HasErrorCode(response.status, ErrorCode::kNotFound)) return "<absent>";
    EXPECT_TRUE(response.status.ok()) << response.status;
    return response.value;
  }

  // Every row of the engine as "hash_key/sort_key=value" lines, expired rows
  // included: for proving a failed request changed nothing.
  std::vector<std::string> RawRows() {
    std::vector<std::string> rows;
    auto it = engine_->NewIterator({});
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rows.push_back(std::string(it->key()) + "=" + std::string(it->value()));
    }
    return rows;
  }

  ManualClock clock_{kTestNowUs};
  std::unique_ptr<FileSystem> fs_;
  std::unique_ptr<StorageEngine> engine_;
  std::unique_ptr<Partition> partition_;
  Decree decree_ = 0;
};

#define PEGASUS_INSTANTIATE_PARTITION_TEST(suite)                            \
  INSTANTIATE_TEST_SUITE_P(Engines, suite,                                  \
                           testing::Values(EngineType::kRocksDb,            \
                                           EngineType::kMemory),            \
                           EngineName)

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_PARTITION_TEST_UTIL_H_
