// Drives the same random stream of writes, reads, scans, flushes, reopens and
// compactions through a Partition over the RocksDB engine and one over the
// memory engine, and requires every answer and the final rows to be equal:
// the memory engine must be a faithful stand-in wherever the simulator uses
// it.

#include <stdlib.h>

#include <memory>
#include <random>
#include <sstream>
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
namespace {

constexpr int64_t kStartUs = 1700000000LL * 1000000;

std::string Code(const absl::Status& status) {
  return std::to_string(static_cast<int>(ToErrorCode(status)));
}

std::string Describe(const WriteResponse& r) {
  std::ostringstream out;
  out << "write " << Code(r.status) << " decree=" << r.decree << " new=" << r.new_value
      << " count=" << r.count << " check=" << r.check_succeeded << r.check_value_returned
      << r.check_value_exist << " '" << r.check_value << "'";
  return out.str();
}

std::string Describe(const std::vector<KeyValue>& kvs) {
  std::string out;
  for (const KeyValue& kv : kvs) out += " [" + kv.key + "=" + kv.value + "]";
  return out;
}

// One side: an engine and the partition over it, reopenable.
struct Side {
  std::string dir;
  std::unique_ptr<FileSystem> fs;  // Memory side only.
  bool rocksdb;
  std::unique_ptr<StorageEngine> engine;
  std::unique_ptr<Partition> partition;

  void Open(Clock* clock) {
    partition.reset();
    engine.reset();
    absl::StatusOr<std::unique_ptr<StorageEngine>> opened;
    if (rocksdb) {
      RocksDbEngineOptions options;
      options.clock = clock;
      options.block_cache_size_bytes = 4 << 20;
      options.write_buffer_size_bytes = 1 << 20;
      // Only explicit compactions drop expired rows, as in the memory engine;
      // otherwise caps on rows examined would see different stored rows.
      options.drop_expired_in_background = false;
      opened = OpenRocksDbEngine(dir, options);
    } else {
      MemoryEngineOptions options;
      options.clock = clock;
      options.file_system = fs.get();
      opened = OpenMemoryEngine(dir, options);
    }
    ASSERT_TRUE(opened.ok()) << opened.status();
    engine = std::move(*opened);
    PartitionOptions options;
    options.multi_get_max_iteration_count = 7;
    options.scan_max_iteration_count = 5;
    options.max_scan_contexts = 3;
    partition = std::make_unique<Partition>(engine.get(), options);
  }

  // The rows alive at `now_us`. Expired rows are left out: RocksDB's
  // background compactions may drop them at any time, invisibly to reads.
  std::vector<std::string> Rows(int64_t now_us) {
    uint32_t now_s = PegasusSecondsFromUnixMicros(now_us);
    std::vector<std::string> rows;
    auto it = engine->NewIterator({});
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      absl::StatusOr<ValueFields> fields = DecodeValue(it->value());
      if (fields.ok() && IsExpired(fields->expire_ts, now_s)) continue;
      rows.push_back(std::string(it->key()) + "=" + std::string(it->value()));
    }
    return rows;
  }
};

class Driver {
 public:
  explicit Driver(uint64_t seed) : rng_(seed), clock_(kStartUs) {
    std::string dir = testing::TempDir() + "/equivalence_XXXXXX";
    EXPECT_NE(::mkdtemp(dir.data()), nullptr);
    rocksdb_.dir = dir;
    rocksdb_.rocksdb = true;
    memory_.dir = "/memory";
    memory_.fs = NewMemFileSystem();
    memory_.rocksdb = false;
    rocksdb_.Open(&clock_);
    memory_.Open(&clock_);
  }

  ~Driver() {
    for (Side* side : {&rocksdb_, &memory_}) {
      side->partition.reset();
      side->engine.reset();
    }
  }

  void Step() {
    clock_.AdvanceUs(Pick(3) * 1000000LL);
    int what = Pick(100);
    if (what < 45) {
      Write();
    } else if (what < 85) {
      Read();
    } else if (what < 93) {
      ScanAll();
    } else if (what < 96) {
      Both([](Side& s) { ASSERT_TRUE(s.engine->Flush().ok()); });
    } else if (what < 98) {
      Both([this](Side& s) { s.Open(&clock_); });
      ExpectSame(rocksdb_.Rows(Now()), memory_.Rows(Now()), "rows after reopen");
    } else {
      Both([](Side& s) { ASSERT_TRUE(s.engine->Compact().ok()); });
      ExpectSame(rocksdb_.Rows(Now()), memory_.Rows(Now()), "rows after compaction");
    }
  }

  void Finish() {
    ExpectSame(rocksdb_.Rows(Now()), memory_.Rows(Now()), "final rows");
    EXPECT_EQ(rocksdb_.engine->LastAppliedDecree(), memory_.engine->LastAppliedDecree());
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  template <typename T>
  const T& Pick(const std::vector<T>& items) { return items[Pick(static_cast<int>(items.size()))]; }

  std::string HashKey() { return Pick(std::vector<std::string>{"a", "b", "ab", "c"}); }
  std::string SortKey() {
    return Pick(std::vector<std::string>{"", "1", "2", "10", "x", "xy", "\xff"});
  }
  std::string Value() {
    return Pick(std::vector<std::string>{"", "0", "7", "-3", "0x10", "abc", "x", "999"});
  }
  uint32_t ExpireTs() {
    uint32_t now = PegasusSecondsFromUnixMicros(clock_.WallNowUs());
    return Pick(3) == 0 ? 0 : now - 2 + static_cast<uint32_t>(Pick(10));
  }
  int64_t Now() { return clock_.WallNowUs(); }

  WriteRequest RandomWrite() {
    std::string hash_key = Pick(10) == 0 ? "" : HashKey();
    switch (Pick(7)) {
      case 0:
        return PutRequest{hash_key, SortKey(), Value(), ExpireTs()};
      case 1:
        return MultiPutRequest{hash_key, {{SortKey(), Value()}, {SortKey(), Value()}}, ExpireTs()};
      case 2:
        return RemoveRequest{hash_key, SortKey()};
      case 3:
        return MultiRemoveRequest{hash_key, {SortKey(), SortKey()}};
      case 4:
        return IncrRequest{hash_key, SortKey(), Pick(7) - 3,
                           static_cast<int32_t>(Pick(3) == 0 ? -1 : ExpireTs())};
      case 5: {
        CheckAndSetRequest r;
        r.hash_key = hash_key;
        r.check_sort_key = SortKey();
        r.check_type = static_cast<CheckType>(Pick(19));
        r.check_operand = Value();
        r.set_diff_sort_key = Pick(2) == 0;
        r.set_sort_key = SortKey();
        r.set_value = Value();
        r.set_expire_ts_s = ExpireTs();
        r.return_check_value = Pick(2) == 0;
        return r;
      }
      default: {
        CheckAndMutateRequest r;
        r.hash_key = hash_key;
        r.check_sort_key = SortKey();
        r.check_type = static_cast<CheckType>(Pick(18));
        r.check_operand = Value();
        for (int i = Pick(3); i > 0; --i) {
          r.mutate_list.push_back(Mutate{static_cast<MutateOperation>(Pick(2)), SortKey(),
                                         Value(), ExpireTs()});
        }
        r.return_check_value = Pick(2) == 0;
        return r;
      }
    }
  }

  void Write() {
    std::vector<WriteRequest> requests;
    for (int i = 1 + Pick(3); i > 0; --i) requests.push_back(RandomWrite());
    Decree decree = rocksdb_.engine->LastAppliedDecree() + 1;
    auto a = rocksdb_.partition->ApplyMutation(decree, Now(), requests);
    auto b = memory_.partition->ApplyMutation(decree, Now(), requests);
    ASSERT_TRUE(a.ok() && b.ok());
    for (size_t i = 0; i < requests.size(); ++i) {
      ExpectSame(Describe((*a)[i]), Describe((*b)[i]), "write response");
    }
  }

  MultiGetRequest RandomMultiGet() {
    MultiGetRequest r;
    r.hash_key = HashKey();
    if (Pick(3) == 0) {
      for (int i = Pick(4); i > 0; --i) r.sort_keys.push_back(SortKey());
    }
    r.max_kv_count = Pick(5) - 1;
    r.max_kv_size = Pick(3) == 0 ? 4 : -1;
    r.no_value = Pick(4) == 0;
    r.start_sort_key = Pick(2) == 0 ? "" : SortKey();
    r.stop_sort_key = Pick(2) == 0 ? "" : SortKey();
    r.start_inclusive = Pick(2) == 0;
    r.stop_inclusive = Pick(2) == 0;
    r.sort_key_filter_type = static_cast<FilterType>(Pick(4));
    r.sort_key_filter_pattern = Pick(2) == 0 ? "" : SortKey();
    r.reverse = Pick(2) == 0;
    return r;
  }

  void Read() {
    Partition& a = *rocksdb_.partition;
    Partition& b = *memory_.partition;
    std::string hash_key = HashKey(), sort_key = SortKey();
    switch (Pick(5)) {
      case 0: {
        GetResponse x = a.Get(hash_key, sort_key, Now()), y = b.Get(hash_key, sort_key, Now());
        ExpectSame(Code(x.status) + x.value, Code(y.status) + y.value, "get");
        break;
      }
      case 1: {
        MultiGetRequest request = RandomMultiGet();
        MultiGetResponse x = a.MultiGet(request, Now()), y = b.MultiGet(request, Now());
        ExpectSame(Code(x.status) + Describe(x.kvs), Code(y.status) + Describe(y.kvs),
                   "multi_get");
        break;
      }
      case 2: {
        SortKeyCountResponse x = a.SortKeyCount(hash_key, Now()),
                             y = b.SortKeyCount(hash_key, Now());
        ExpectSame(Code(x.status) + std::to_string(x.count),
                   Code(y.status) + std::to_string(y.count), "sortkey_count");
        break;
      }
      case 3: {
        TtlResponse x = a.Ttl(hash_key, sort_key, Now()), y = b.Ttl(hash_key, sort_key, Now());
        ExpectSame(Code(x.status) + std::to_string(x.ttl_s),
                   Code(y.status) + std::to_string(y.ttl_s), "ttl");
        break;
      }
      default: {
        std::vector<FullKey> keys = {{hash_key, sort_key}, {HashKey(), SortKey()}};
        BatchGetResponse x = a.BatchGet(keys, Now()), y = b.BatchGet(keys, Now());
        std::string dx = Code(x.status), dy = Code(y.status);
        for (const FullData& d : x.data) dx += " " + d.hash_key + "/" + d.sort_key + "=" + d.value;
        for (const FullData& d : y.data) dy += " " + d.hash_key + "/" + d.sort_key + "=" + d.value;
        ExpectSame(dx, dy, "batch_get");
      }
    }
  }

  // A whole scan, interleaved with a write between calls to exercise the
  // contexts' snapshots.
  void ScanAll() {
    GetScannerRequest request = Pick(2) == 0
                                    ? GetScannerRequest::ForFullScan()
                                    : GetScannerRequest::ForHashKey(HashKey(), SortKey(), SortKey(),
                                                                    Pick(2) == 0, Pick(2) == 0);
    request.batch_size = Pick(4);
    request.hash_key_filter_type = static_cast<FilterType>(Pick(4));
    request.hash_key_filter_pattern = Pick(2) == 0 ? "" : HashKey();
    request.sort_key_filter_type = static_cast<FilterType>(Pick(4));
    request.sort_key_filter_pattern = Pick(2) == 0 ? "" : SortKey();
    request.no_value = Pick(3) == 0;
    request.return_expire_ts = Pick(2) == 0;
    request.only_return_count = Pick(4) == 0;
    ScanResponse x = rocksdb_.partition->GetScanner(request, Now());
    ScanResponse y = memory_.partition->GetScanner(request, Now());
    for (int calls = 0; calls < 50; ++calls) {
      ExpectSame(DescribeScan(x), DescribeScan(y), "scan");
      if (x.context_id < 0 || y.context_id < 0) return;
      if (Pick(3) == 0) Write();
      x = rocksdb_.partition->Scan(x.context_id, Now());
      y = memory_.partition->Scan(y.context_id, Now());
    }
    ADD_FAILURE() << "scan did not finish in 50 calls";
  }

  static std::string DescribeScan(const ScanResponse& r) {
    std::string out = Code(r.status) + " ctx=" + std::to_string(r.context_id) +
                      " n=" + std::to_string(r.kv_count);
    for (const ScanKeyValue& kv : r.kvs) {
      out += " " + kv.hash_key + "/" + kv.sort_key + "=" + kv.value + "@" +
             std::to_string(kv.expire_ts_s);
    }
    return out;
  }

  template <typename Fn>
  void Both(Fn fn) {
    fn(rocksdb_);
    fn(memory_);
  }

  static std::string Show(const std::string& s) { return s; }
  static std::string Show(const std::vector<std::string>& rows) {
    std::string out;
    for (const std::string& row : rows) {
      for (char c : row) {
        out += (c >= 32 && c < 127) ? std::string(1, c) : "\\x" + std::to_string(c & 0xff);
      }
      out += " | ";
    }
    return out;
  }

  template <typename T>
  void ExpectSame(const T& rocksdb, const T& memory, const char* what) {
    if (rocksdb == memory) return;
    ADD_FAILURE() << what << " differs between engines:\n  rocksdb: "
                  << Show(rocksdb) << "\n  memory:  " << Show(memory);
    failed_ = true;
  }

 public:
  bool failed() const { return failed_; }

 private:
  std::mt19937_64 rng_;
  ManualClock clock_;
  Side rocksdb_;
  Side memory_;
  bool failed_ = false;
};

TEST(PartitionEquivalenceTest, RocksDbAndMemoryEnginesAnswerAlike) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    Driver driver(seed);
    for (int step = 0; step < 400 && !driver.failed(); ++step) driver.Step();
    driver.Finish();
    ASSERT_FALSE(driver.failed()) << "replay with seed " << seed;
  }
}

}  // namespace
}  // namespace pegasus
