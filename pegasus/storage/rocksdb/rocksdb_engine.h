// The RocksDB storage engine: one RocksDB instance per partition.
//
// Layout: user rows in the default column family; "pegasus_meta_cf" holds
// the data version and the last applied decree, written in the same
// WriteBatch as every Apply(). RocksDB's WAL is off and atomic_flush is on,
// so the two column families are always flushed together and a reopen shows
// data and decree from the same flush.
//
// Thread-safety: as StorageEngine.

#ifndef PEGASUS_STORAGE_ROCKSDB_ROCKSDB_ENGINE_H_
#define PEGASUS_STORAGE_ROCKSDB_ROCKSDB_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/storage/storage_engine.h"

namespace rocksdb {
class Cache;
}  // namespace rocksdb

namespace pegasus {

struct RocksDbEngineOptions {
  // Time for the compaction filter's expiry decisions. Not owned; must
  // outlive the engine. Default: the real clock.
  Clock* clock = RealClock();

  // Table-level default TTL for compaction (seconds; 0 = none). Default: 0.
  uint32_t default_ttl_s = 0;

  // Whether RocksDB's own background compactions drop expired rows too, or
  // only Compact() does. Reads never see expired rows either way, but caps
  // on rows examined (multi_get, scans) count the expired rows still stored,
  // so with background dropping, batch boundaries depend on RocksDB's
  // timing. The simulator turns it off to keep runs reproducible.
  // Default: true.
  bool drop_expired_in_background = true;

  // Memtable size before a flush. Default: 64 MiB (Pegasus's default).
  uint64_t write_buffer_size_bytes = 64ull << 20;

  // Memtables kept in memory, including the one being written. Default: 3.
  int max_write_buffer_number = 3;

  // Block cache for this engine, when `shared_block_cache` is null.
  // Default: 64 MiB.
  uint64_t block_cache_size_bytes = 64ull << 20;

  // A cache shared by many engines (a replica server shares one across all
  // its partitions). Default: null (each engine gets its own).
  std::shared_ptr<rocksdb::Cache> shared_block_cache;

  // Uncompressed bytes per data block. Default: 4 KiB.
  uint32_t block_size_bytes = 4 << 10;

  // Bloom filter bits per key, for whole keys and for hash-key prefixes;
  // 0 disables filters. Default: 10 (about 1% false positives).
  int bloom_bits_per_key = 10;

  // Compress SST blocks with LZ4 (Pegasus's default). Default: true.
  bool lz4_compression = true;

  // Background flush and compaction threads. Default: 2.
  int max_background_jobs = 2;
};

// Opens (creating if missing) the engine whose data lives in `dir`.
// Returns PERR_CORRUPTION for a directory that holds a RocksDB instance
// without the Pegasus meta column family or with a newer data version.
absl::StatusOr<std::unique_ptr<StorageEngine>> OpenRocksDbEngine(
    const std::string& dir, const RocksDbEngineOptions& options);

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_ROCKSDB_ROCKSDB_ENGINE_H_
