// The in-memory storage engine: the same contract as the RocksDB engine,
// held in an ordered map, for tests and the simulator.
//
// It keeps the contract's durability rules exactly: Flush() and Checkpoint()
// write the whole state (data and last applied decree) to one file through
// the FileSystem seam, and a reopen shows the last flushed state; closing
// without a flush loses what was applied since. Iterators see a snapshot, as
// RocksDB's do: older versions of a row are kept while an iterator may need
// them.
//
// On-disk file `<dir>/MEMORY_ENGINE_DATA` (all integers big-endian):
//   "PGMEMv01" | u64 last applied decree | u64 row count |
//   rows: u32 key size | key | u32 value size | value |
//   u64 CRC64 of everything before it.
//
// Thread-safety: as StorageEngine.

#ifndef PEGASUS_STORAGE_MEMORY_MEMORY_ENGINE_H_
#define PEGASUS_STORAGE_MEMORY_MEMORY_ENGINE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/storage/storage_engine.h"

namespace pegasus {

struct MemoryEngineOptions {
  // Where flushed state and checkpoints are written. Not owned; must outlive
  // the engine. Default: the operating system's file system.
  FileSystem* file_system = PosixFileSystem();

  // Time for compaction's expiry decisions. Not owned. Default: real clock.
  Clock* clock = RealClock();

  // Table-level default TTL for compaction (seconds; 0 = none). Default: 0.
  uint32_t default_ttl_s = 0;
};

// Opens the engine whose flushed state lives in `dir` (created if missing).
// Returns PERR_CORRUPTION when the data file fails its checksum or does not
// parse.
absl::StatusOr<std::unique_ptr<StorageEngine>> OpenMemoryEngine(
    const std::string& dir, const MemoryEngineOptions& options);

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_MEMORY_MEMORY_ENGINE_H_
