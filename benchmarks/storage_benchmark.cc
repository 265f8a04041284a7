// The RocksDB storage engine against RocksDB used directly.
//
// Each operation runs as a pair of benchmarks, BM_<op>/engine through
// StorageEngine and BM_<op>/raw through rocksdb::DB, with the same options
// (mirrored from RocksDbEngineOptions' defaults) and the same data (keys from
// EncodeStorageKey, values from EncodeValue). The pairs are interleaved and
// repeated (--storage_rounds) so that machine noise falls on both sides alike;
// benchmarks/ratios.py turns the output into engine/raw throughput ratios.
//
// Every database lives in its own temporary directory (under $TEST_TMPDIR,
// else /tmp) that is deleted afterwards. Put benchmarks open a fresh database
// for each run and write fresh, ascending keys; read benchmarks share one
// preloaded, flushed and cache-warmed database per side.
//
// Flags besides Google Benchmark's:
//   --storage_rounds=N    times each pair runs (default 3)
//   --storage_variants    also run raw put variants that add the engine's
//                         per-batch meta column family write, to measure it

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "benchmark/benchmark.h"
#include "benchmarks/temp_dir.h"
#include "pegasus/base/coding.h"
#include "pegasus/base/key_schema.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/storage/rocksdb/hash_key_prefix.h"
#include "pegasus/storage/rocksdb/rocksdb_engine.h"
#include "pegasus/storage/storage_engine.h"
#include "pegasus/storage/write_batch.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"

namespace pegasus {
namespace {

constexpr uint64_t kSeed = 0x5eed5eed5eed5eedULL;
constexpr int64_t kTimestampUs = 1700000000LL * 1000000;
// The read data set: kHashKeys hash keys with kSortKeysPerHashKey rows each.
constexpr int kHashKeys = 10000;
constexpr int kSortKeysPerHashKey = 10;
constexpr int kRows = kHashKeys * kSortKeysPerHashKey;
constexpr size_t kReadValueBytes = 100;
constexpr int kRangeRows = 10;
// Length of the precomputed random access sequence (a power of two).
constexpr size_t kAccessCount = 1 << 16;
// The engine's meta family and decree key, for the raw variants that copy
// its per-batch write (see rocksdb_engine.cc).
constexpr char kMetaFamily[] = "pegasus_meta_cf";
constexpr char kLastAppliedDecreeKey[] = "pegasus_last_applied_decree";

std::string RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>('a' + rng() % 26);
  return out;
}

std::string MakeValue(size_t user_bytes) {
  return EncodeValue(/*expire_ts=*/0, MakeTimetag(kTimestampUs, 1, false),
                     RandomBytes(user_bytes, kSeed + user_bytes));
}

// The storage key of put row `n`: hash key "put" followed by n as 8
// big-endian bytes, sort key "s". Consecutive rows ascend.
void PutRowKey(uint64_t n, std::string* key) {
  char hash_key[11] = {'p', 'u', 't'};
  for (int i = 0; i < 8; ++i)
    hash_key[3 + i] = static_cast<char>(n >> (56 - 8 * i));
  key->clear();
  AppendStorageKey(key, std::string_view(hash_key, sizeof(hash_key)), "s");
}

// How the raw put variants treat the engine's meta column family.
enum class MetaFamily {
  kNone,      // plain RocksDB: one family, no meta write
  kSkipList,  // + a meta family with default options, one put per batch
  kVector,    // + the meta family on a VectorRep memtable
  kHint,      // + the meta family with memtable insert hints per key
  kInPlace,   // + the meta family updated in place (one entry per memtable)
};

// RocksDB options equal to what OpenRocksDbEngine() sets for its data family
// with default RocksDbEngineOptions.
rocksdb::Options RawOptions() {
  RocksDbEngineOptions engine;
  rocksdb::Options options;
  options.create_if_missing = true;
  options.atomic_flush = true;
  options.avoid_flush_during_shutdown = true;
  options.max_background_jobs = engine.max_background_jobs;
  options.write_buffer_size = engine.write_buffer_size_bytes;
  options.max_write_buffer_number = engine.max_write_buffer_number;
  options.compression = engine.lz4_compression ? rocksdb::kLZ4Compression
                                               : rocksdb::kNoCompression;
  options.prefix_extractor = NewHashKeyPrefixExtractor();
  rocksdb::BlockBasedTableOptions table;
  table.block_size = engine.block_size_bytes;
  table.block_cache = rocksdb::NewLRUCache(engine.block_cache_size_bytes);
  table.filter_policy.reset(
      rocksdb::NewBloomFilterPolicy(engine.bloom_bits_per_key));
  table.whole_key_filtering = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

rocksdb::ColumnFamilyOptions MetaFamilyOptions(MetaFamily meta) {
  rocksdb::ColumnFamilyOptions options;
  if (meta == MetaFamily::kVector) {
    options.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
  } else if (meta == MetaFamily::kHint) {
    options.memtable_insert_with_hint_prefix_extractor.reset(
        rocksdb::NewNoopTransform());
  } else if (meta == MetaFamily::kInPlace) {
    options.inplace_update_support = true;
  }
  return options;
}

// A raw RocksDB instance in its own directory, with the meta family when
// `meta` asks for one.
struct RawDb {
  bench::TempDir dir{"storage_benchmark"};
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::ColumnFamilyHandle* data = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  ~RawDb() {
    for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
    if (db != nullptr) db->Close().PermitUncheckedError();
  }
};

std::unique_ptr<RawDb> OpenRaw(MetaFamily meta) {
  auto raw = std::make_unique<RawDb>();
  rocksdb::Options options = RawOptions();
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, options}};
  if (meta != MetaFamily::kNone) {
    options.create_missing_column_families = true;
    // VectorRep and in-place updates support no concurrent inserts; one
    // writer never makes any.
    options.allow_concurrent_memtable_write =
        meta != MetaFamily::kVector && meta != MetaFamily::kInPlace;
    families.emplace_back(kMetaFamily, MetaFamilyOptions(meta));
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(options, raw->dir.path() + "/data",
                                             families, &raw->handles, &db);
  if (!status.ok()) {
    std::fprintf(stderr, "open raw RocksDB: %s\n", status.ToString().c_str());
    std::abort();
  }
  raw->db.reset(db);
  raw->data = raw->handles[0];
  if (meta != MetaFamily::kNone) raw->meta = raw->handles[1];
  return raw;
}

// An engine in its own directory; the directory outlives the engine.
struct EngineDb {
  bench::TempDir dir{"storage_benchmark"};
  std::unique_ptr<StorageEngine> engine;
};

std::unique_ptr<EngineDb> OpenEngine() {
  auto result = std::make_unique<EngineDb>();
  auto engine =
      OpenRocksDbEngine(result->dir.path() + "/data", RocksDbEngineOptions());
  if (!engine.ok()) {
    std::fprintf(stderr, "open engine: %s\n",
                 engine.status().ToString().c_str());
    std::abort();
  }
  result->engine = std::move(*engine);
  return result;
}

// ---------------------------------------------------------------------------
// Puts.

void EnginePut(benchmark::State& state, size_t value_bytes, int batch_rows) {
  auto db = OpenEngine();
  StorageEngine* engine = db->engine.get();
  const std::string value = MakeValue(value_bytes);
  WriteBatch batch;
  std::string key;
  uint64_t row = 0;
  Decree decree = engine->LastAppliedDecree();
  for (auto _ : state) {
    batch.Clear();
    for (int i = 0; i < batch_rows; ++i) {
      PutRowKey(row++, &key);
      batch.Put(key, value);
    }
    absl::Status status = engine->Apply(++decree, batch);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(row));
}

void RawPut(benchmark::State& state, size_t value_bytes, int batch_rows,
            MetaFamily meta) {
  auto raw = OpenRaw(meta);
  const std::string value = MakeValue(value_bytes);
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;
  rocksdb::WriteBatch batch;
  std::string key;
  uint64_t row = 0;
  Decree decree = 0;
  for (auto _ : state) {
    batch.Clear();
    for (int i = 0; i < batch_rows; ++i) {
      PutRowKey(row++, &key);
      batch.Put(raw->data, key, value);
    }
    if (raw->meta != nullptr) {
      // What the engine adds to every batch: the decree, last.
      std::string encoded;
      PutBigEndian64(&encoded, static_cast<uint64_t>(++decree));
      batch.Put(raw->meta, kLastAppliedDecreeKey, encoded);
    }
    rocksdb::Status status = raw->db->Write(write_options, &batch);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(row));
}

// ---------------------------------------------------------------------------
// Reads: one preloaded data set per side, shared by every read benchmark.

std::string ReadHashKey(int h) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "user%08d", h);
  return buf;
}

std::string ReadSortKey(int s) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "sort%02d", s);
  return buf;
}

struct ReadData {
  std::vector<std::string> hit_keys;   // row r = h * kSortKeysPerHashKey + s
  std::vector<std::string> miss_keys;  // same hash key, absent sort key
  std::vector<std::string> lower;      // per hash key: HashKeyPrefix
  std::vector<std::string> upper;      // per hash key: PrefixSuccessor(lower)
  std::vector<uint32_t> row_order;     // random rows, fixed seed
  std::vector<uint32_t> hash_order;    // random hash keys, fixed seed
  std::string value;
};

ReadData MakeReadData() {
  ReadData data;
  data.value = MakeValue(kReadValueBytes);
  for (int h = 0; h < kHashKeys; ++h) {
    std::string hash_key = ReadHashKey(h);
    for (int s = 0; s < kSortKeysPerHashKey; ++s) {
      data.hit_keys.push_back(EncodeStorageKey(hash_key, ReadSortKey(s)));
      data.miss_keys.push_back(
          EncodeStorageKey(hash_key, ReadSortKey(s) + "x"));
    }
    data.lower.push_back(HashKeyPrefix(hash_key));
    data.upper.push_back(PrefixSuccessor(data.lower.back()));
  }
  std::mt19937_64 rng(kSeed);
  for (size_t i = 0; i < kAccessCount; ++i) {
    data.row_order.push_back(static_cast<uint32_t>(rng() % kRows));
    data.hash_order.push_back(static_cast<uint32_t>(rng() % kHashKeys));
  }
  return data;
}

void Check(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
    std::abort();
  }
}

void Check(const rocksdb::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
    std::abort();
  }
}

// Writes the data set in batches of 100 rows, flushes it to an SST file and
// reads every row once, so that reads hit the SST through the block cache.
void LoadEngine(StorageEngine* engine, const ReadData& data) {
  WriteBatch batch;
  Decree decree = engine->LastAppliedDecree();
  for (int r = 0; r < kRows; ++r) {
    batch.Put(data.hit_keys[r], data.value);
    if (batch.count() == 100 || r == kRows - 1) {
      Check(engine->Apply(++decree, batch), "engine load");
      batch.Clear();
    }
  }
  Check(engine->Flush(), "engine flush");
  std::string value;
  for (const std::string& key : data.hit_keys)
    Check(engine->Get(key, &value), "warm");
}

void LoadRaw(rocksdb::DB* db, const ReadData& data) {
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;
  rocksdb::WriteBatch batch;
  for (int r = 0; r < kRows; ++r) {
    batch.Put(data.hit_keys[r], data.value);
    if (batch.Count() == 100 || r == kRows - 1) {
      Check(db->Write(write_options, &batch), "raw load");
      batch.Clear();
    }
  }
  Check(db->Flush(rocksdb::FlushOptions()), "raw flush");
  std::string value;
  for (const std::string& key : data.hit_keys) {
    Check(db->Get(rocksdb::ReadOptions(), key, &value), "warm");
  }
}

struct ReadFixture {
  ReadData data = MakeReadData();
  std::unique_ptr<EngineDb> engine;
  std::unique_ptr<RawDb> raw;
};

std::unique_ptr<ReadFixture>& ReadFixtureSlot() {
  static auto* slot = new std::unique_ptr<ReadFixture>();
  return *slot;
}

// Built on first use, so that a --benchmark_filter without reads skips it.
ReadFixture& Reads() {
  auto& slot = ReadFixtureSlot();
  if (slot == nullptr) {
    slot = std::make_unique<ReadFixture>();
    slot->engine = OpenEngine();
    LoadEngine(slot->engine->engine.get(), slot->data);
    slot->raw = OpenRaw(MetaFamily::kNone);
    LoadRaw(slot->raw->db.get(), slot->data);
  }
  return *slot;
}

void EngineGet(benchmark::State& state, bool hit) {
  ReadFixture& fixture = Reads();
  const StorageEngine& engine = *fixture.engine->engine;
  const auto& keys = hit ? fixture.data.hit_keys : fixture.data.miss_keys;
  const auto& order = fixture.data.row_order;
  std::string value;
  size_t i = 0;
  int64_t found = 0;
  for (auto _ : state) {
    absl::Status status =
        engine.Get(keys[order[i++ & (kAccessCount - 1)]], &value);
    if (status.ok()) {
      ++found;
    } else if (status.code() != absl::StatusCode::kNotFound) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  if (found != (hit ? static_cast<int64_t>(i) : 0))
    state.SkipWithError("wrong hits");
  state.SetItemsProcessed(static_cast<int64_t>(i));
}

void RawGet(benchmark::State& state, bool hit) {
  ReadFixture& fixture = Reads();
  rocksdb::DB* db = fixture.raw->db.get();
  const auto& keys = hit ? fixture.data.hit_keys : fixture.data.miss_keys;
  const auto& order = fixture.data.row_order;
  const rocksdb::ReadOptions read_options;
  std::string value;
  size_t i = 0;
  int64_t found = 0;
  for (auto _ : state) {
    rocksdb::Status status =
        db->Get(read_options, keys[order[i++ & (kAccessCount - 1)]], &value);
    if (status.ok()) {
      ++found;
    } else if (!status.IsNotFound()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
  }
  if (found != (hit ? static_cast<int64_t>(i) : 0))
    state.SkipWithError("wrong hits");
  state.SetItemsProcessed(static_cast<int64_t>(i));
}

// Reads the first kRangeRows rows of a random hash key, as multi_get does:
// one iterator bounded to the hash key per request.
void EngineRange(benchmark::State& state) {
  ReadFixture& fixture = Reads();
  const StorageEngine& engine = *fixture.engine->engine;
  const ReadData& data = fixture.data;
  size_t i = 0;
  int64_t rows = 0;
  for (auto _ : state) {
    uint32_t h = data.hash_order[i++ & (kAccessCount - 1)];
    IteratorOptions options;
    options.lower_bound = data.lower[h];
    options.upper_bound = data.upper[h];
    options.within_one_hash_key = true;
    std::unique_ptr<StorageIterator> it = engine.NewIterator(options);
    size_t bytes = 0;
    int n = 0;
    for (it->Seek(data.lower[h]); it->Valid() && n < kRangeRows;
         it->Next(), ++n) {
      bytes += it->key().size() + it->value().size();
    }
    benchmark::DoNotOptimize(bytes);
    if (n != kRangeRows || !it->status().ok()) {
      state.SkipWithError("short range");
      break;
    }
    rows += n;
  }
  state.SetItemsProcessed(rows);
}

void RawRange(benchmark::State& state) {
  ReadFixture& fixture = Reads();
  rocksdb::DB* db = fixture.raw->db.get();
  const ReadData& data = fixture.data;
  size_t i = 0;
  int64_t rows = 0;
  for (auto _ : state) {
    uint32_t h = data.hash_order[i++ & (kAccessCount - 1)];
    rocksdb::Slice lower(data.lower[h]);
    rocksdb::Slice upper(data.upper[h]);
    rocksdb::ReadOptions read_options;
    read_options.iterate_lower_bound = &lower;
    read_options.iterate_upper_bound = &upper;
    read_options.prefix_same_as_start = true;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read_options));
    size_t bytes = 0;
    int n = 0;
    for (it->Seek(lower); it->Valid() && n < kRangeRows; it->Next(), ++n) {
      bytes += it->key().size() + it->value().size();
    }
    benchmark::DoNotOptimize(bytes);
    if (n != kRangeRows || !it->status().ok()) {
      state.SkipWithError("short range");
      break;
    }
    rows += n;
  }
  state.SetItemsProcessed(rows);
}

// ---------------------------------------------------------------------------
// Registration.

struct Flags {
  int rounds = 3;
  bool variants = false;
};

// Takes our flags out of argv, leaving the rest for Google Benchmark.
Flags ParseFlags(int* argc, char** argv) {
  Flags flags;
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    std::string_view arg(argv[i]);
    constexpr std::string_view kRounds = "--storage_rounds=";
    if (arg.substr(0, kRounds.size()) == kRounds) {
      flags.rounds = std::max(1, std::atoi(argv[i] + kRounds.size()));
    } else if (arg == "--storage_variants") {
      flags.variants = true;
    } else {
      argv[out++] = argv[i];
    }
  }
  *argc = out;
  return flags;
}

template <typename Fn>
void Register(const std::string& op, const std::string& side, Fn fn) {
  std::string name = "BM_" + op + "/" + side;
  // Wall time: background flushes and write stalls count.
  benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime();
}

void RegisterPuts(const Flags& flags) {
  struct PutCase {
    const char* op;
    size_t value_bytes;
    int batch_rows;
  };
  static const PutCase kCases[] = {
      {"Put100B_Batch1", 100, 1},
      {"Put1KB_Batch1", 1024, 1},
      {"Put100B_Batch16", 100, 16},
      {"Put1KB_Batch16", 1024, 16},
  };
  for (const PutCase& c : kCases) {
    Register(c.op, "engine", [c](benchmark::State& s) {
      EnginePut(s, c.value_bytes, c.batch_rows);
    });
    Register(c.op, "raw", [c](benchmark::State& s) {
      RawPut(s, c.value_bytes, c.batch_rows, MetaFamily::kNone);
    });
    if (!flags.variants) continue;
    Register(c.op, "raw_meta", [c](benchmark::State& s) {
      RawPut(s, c.value_bytes, c.batch_rows, MetaFamily::kSkipList);
    });
    Register(c.op, "raw_meta_vector", [c](benchmark::State& s) {
      RawPut(s, c.value_bytes, c.batch_rows, MetaFamily::kVector);
    });
    Register(c.op, "raw_meta_hint", [c](benchmark::State& s) {
      RawPut(s, c.value_bytes, c.batch_rows, MetaFamily::kHint);
    });
    Register(c.op, "raw_meta_inplace", [c](benchmark::State& s) {
      RawPut(s, c.value_bytes, c.batch_rows, MetaFamily::kInPlace);
    });
  }
}

void RegisterReads() {
  Register("GetHit", "engine", [](benchmark::State& s) { EngineGet(s, true); });
  Register("GetHit", "raw", [](benchmark::State& s) { RawGet(s, true); });
  Register("GetMiss", "engine",
           [](benchmark::State& s) { EngineGet(s, false); });
  Register("GetMiss", "raw", [](benchmark::State& s) { RawGet(s, false); });
  Register("MultiGetRange10", "engine",
           [](benchmark::State& s) { EngineRange(s); });
  Register("MultiGetRange10", "raw", [](benchmark::State& s) { RawRange(s); });
}

}  // namespace
}  // namespace pegasus

int main(int argc, char** argv) {
  pegasus::Flags flags = pegasus::ParseFlags(&argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  for (int round = 0; round < flags.rounds; ++round) {
    pegasus::RegisterPuts(flags);
    pegasus::RegisterReads();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  pegasus::ReadFixtureSlot().reset();
  return 0;
}
