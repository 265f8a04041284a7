// StorageEngine: the ordered key-value store under one partition.
//
// Keys and values are the encoded forms of key_schema.h and value_schema.h;
// the engine orders keys bytewise and otherwise does not interpret them,
// except that compaction drops expired rows (see Compact()).
//
// Every Apply() carries the decree of the mutation it applies, and the engine
// stores "last applied decree" atomically with the data: after a reopen,
// LastAppliedDecree() names exactly the mutations whose effects are present.
// The engine keeps no write-ahead log of its own (the mutation log is the
// write-ahead log), so only what was flushed survives a close or a crash:
//
//   - Flush() makes everything applied so far durable (StartFlush() does so
//     in the background);
//   - the destructor closes WITHOUT flushing: a reopen shows the state as of
//     the last flush (automatic or explicit), never a partial batch;
//   - LastDurableDecree() is the last decree a reopen is guaranteed to show.
//
// A checkpoint is a consistent copy of the data in a new directory, itself a
// valid data directory: open it with the same engine to restore.
//
// Thread-safety: one thread at a time may call Apply, Flush, Checkpoint and
// Compact (the partition's strand). Get, NewIterator, the decree accessors
// and SetDefaultTtl may be called concurrently with them and each other. An
// iterator sees the data as of its creation, is used by one thread at a time,
// and must be destroyed before its engine.

#ifndef PEGASUS_STORAGE_STORAGE_ENGINE_H_
#define PEGASUS_STORAGE_STORAGE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/storage/write_batch.h"

namespace pegasus {

// A cursor over storage keys in bytewise order.
class StorageIterator {
 public:
  virtual ~StorageIterator() = default;

  virtual bool Valid() const = 0;
  // Positions at the first key >= target.
  virtual void Seek(std::string_view target) = 0;
  // Positions at the last key <= target.
  virtual void SeekForPrev(std::string_view target) = 0;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  // REQUIRES: Valid().
  virtual void Next() = 0;
  // REQUIRES: Valid().
  virtual void Prev() = 0;
  // REQUIRES: Valid(). Views stay valid until the iterator moves.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // Not OK when iteration stopped on an error rather than at the end.
  virtual absl::Status status() const = 0;
};

struct IteratorOptions {
  // Keys outside [lower_bound, upper_bound) are never returned. Empty means
  // unbounded on that side.
  std::string lower_bound;
  std::string upper_bound;
  // A promise that the iterator only moves forward within the hash key of
  // its Seek() target, which lets an engine use per-hash-key bloom filters.
  bool within_one_hash_key = false;
};

class StorageEngine {
 public:
  virtual ~StorageEngine() = default;

  // Applies `batch` and records `decree` as the last applied decree, all or
  // nothing. An empty batch only records the decree.
  // REQUIRES: decree > LastAppliedDecree().
  virtual absl::Status Apply(Decree decree, const WriteBatch& batch) = 0;

  // Reads the value of `key` into *value. Returns PERR_NOT_FOUND when absent.
  virtual absl::Status Get(std::string_view key, std::string* value) const = 0;

  virtual std::unique_ptr<StorageIterator> NewIterator(
      const IteratorOptions& options) const = 0;

  virtual Decree LastAppliedDecree() const = 0;
  virtual Decree LastDurableDecree() const = 0;

  // Makes every applied decree durable; on return LastDurableDecree() ==
  // LastAppliedDecree().
  virtual absl::Status Flush() = 0;

  // Starts making every decree applied so far durable and returns without
  // waiting for it: LastDurableDecree() catches up once the flush is done.
  // An engine without background flushes flushes here (the default).
  virtual absl::Status StartFlush() { return Flush(); }

  // Writes a consistent copy of the data (flushed first) into `dir`, which
  // must not exist. Returns the decree the copy holds.
  virtual absl::StatusOr<Decree> Checkpoint(const std::string& dir) = 0;

  // Compacts all data now, running the compaction filter over every row:
  // rows expired at the engine clock's time are dropped, and with a default
  // TTL set, rows without an expiry are given one (now + default TTL).
  // Flushes too: on return everything applied is durable.
  virtual absl::Status Compact() = 0;

  // The table's default TTL in seconds for compaction; 0 disables it.
  virtual void SetDefaultTtl(uint32_t ttl_s) = 0;
};

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_STORAGE_ENGINE_H_
