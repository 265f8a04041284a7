// Partition: the data operations of one partition, written once over a
// StorageEngine. A replica calls ApplyMutation() when a mutation commits and
// the read methods when a read arrives; an embedder can call them directly.
//
// Deterministic: time comes from the caller (the mutation's timestamp, the
// read's `now_us`), never from a clock read here, so every replica that
// applies the same mutations ends in the same state and judges expiry alike.
//
//   Partition partition(engine.get(), PartitionOptions());
//   PutRequest put{.hash_key = "user1", .sort_key = "name", .value = "ann"};
//   auto responses = partition.ApplyMutation(/*decree=*/1, now_us, {put});
//   GetResponse got = partition.Get("user1", "name", now_us);
//
// Options must be positive where they are counts (checked at construction).
//
// Bad input (an empty hash key or one of 64 KiB or more, a request over
// max_write_size_bytes, an unknown check or filter type, an empty multi_put,
// ...) gets an error status in its response and changes nothing.
//
// Thread-safety: ApplyMutation, SetDefaultTtl and the scanner methods are
// called by one thread at a time (the partition's strand); the other reads
// may run concurrently with them and each other.

#ifndef PEGASUS_STORAGE_PARTITION_H_
#define PEGASUS_STORAGE_PARTITION_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"
#include "pegasus/storage/partition_types.h"
#include "pegasus/storage/storage_engine.h"

namespace pegasus {

struct PartitionOptions {
  // Largest write request accepted, counting the bytes of its keys, values
  // and operands; 0 disables the check. Default: 1 MiB (Pegasus's
  // max_allowed_write_size).
  uint64_t max_write_size_bytes = 1 << 20;

  // Rows a multi_get examines (expired and filtered rows included) and
  // returns at most, and the bytes it returns at most; the count also
  // bounds the keys of one batch_get. Defaults: 3000 rows, 30 MiB
  // (Pegasus's rocksdb_multi_get_max_iteration_{count,size}).
  int32_t multi_get_max_iteration_count = 3000;
  uint64_t multi_get_max_iteration_size_bytes = 30 << 20;

  // Rows one scanner call examines at most, and its largest batch.
  // Default: 1000 (Pegasus's rocksdb_max_iteration_count).
  int32_t scan_max_iteration_count = 1000;

  // Open scan contexts kept at most; beyond it the least recently used is
  // dropped (its client gets PERR_NOT_FOUND and restarts). Default: 1000.
  size_t max_scan_contexts = 1000;

  // A context idle this long, judged by later requests' times, is dropped.
  // Default: 5 minutes (Pegasus's).
  int64_t scan_context_idle_timeout_us = 5 * 60 * 1000000LL;

  // First scan context id (>= 0); give each Partition instance a distinct base
  // (for example from its ballot) so a client's stale id never names
  // another scan. Ids run from here to INT64_MAX - 1 (see
  // ResetScanContexts for a narrower range). Default: 0.
  int64_t scan_context_id_base = 0;

  // This cluster's id in value timetags (7 bits, for duplication). Default 0.
  uint8_t cluster_id = 0;

  // Table default TTL in seconds, applied to writes without an expiry;
  // 0 = none. The partition also sets it on the engine for compaction,
  // replacing the engine's own setting: the table env is the one source.
  // Default: 0.
  uint32_t default_ttl_s = 0;
};

class Partition {
 public:
  // `engine` is not owned and must outlive the partition.
  Partition(StorageEngine* engine, PartitionOptions options);
  ~Partition();

  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  // Checks a write before it is assigned a decree: hash key, size limit and
  // request shape. ApplyMutation repeats the check, so an invalid request
  // never writes.
  absl::Status ValidateWrite(const WriteRequest& request) const;

  // Applies the requests of one mutation, in order, each seeing the effects
  // of those before it, as one atomic engine batch recorded under `decree`.
  // `timestamp_us` is the mutation's time (Unix microseconds), used for
  // expiry, default TTL and timetags. Returns one response per request, or
  // an error when the engine fails (then nothing was applied).
  // REQUIRES: decree > the engine's last applied decree.
  absl::StatusOr<std::vector<WriteResponse>> ApplyMutation(
      Decree decree, int64_t timestamp_us,
      std::span<const WriteRequest> requests);

  // Reads, judged at `now_us` (Unix microseconds).
  GetResponse Get(std::string_view hash_key, std::string_view sort_key,
                  int64_t now_us) const;
  MultiGetResponse MultiGet(const MultiGetRequest& request,
                            int64_t now_us) const;
  // All sort keys of a hash key (a multi_get without values).
  SortKeysResponse MultiGetSortKeys(std::string_view hash_key,
                                    int32_t max_kv_count, int32_t max_kv_size,
                                    int64_t now_us) const;
  SortKeyCountResponse SortKeyCount(std::string_view hash_key,
                                    int64_t now_us) const;
  TtlResponse Ttl(std::string_view hash_key, std::string_view sort_key,
                  int64_t now_us) const;
  // OK when the row exists and has not expired; else PERR_NOT_FOUND.
  absl::Status Exist(std::string_view hash_key, std::string_view sort_key,
                     int64_t now_us) const;
  // No keys, or more than multi_get_max_iteration_count, is
  // PERR_INVALID_ARGUMENT.
  BatchGetResponse BatchGet(std::span<const FullKey> keys,
                            int64_t now_us) const;

  // Scanners. A scan context holds an engine iterator (a snapshot) between
  // calls; ClearScanner() releases it early.
  ScanResponse GetScanner(const GetScannerRequest& request, int64_t now_us);
  ScanResponse Scan(int64_t context_id, int64_t now_us);
  void ClearScanner(int64_t context_id);
  // Drops every scan context (a client naming one gets PERR_NOT_FOUND and
  // resumes after its last key) and numbers later contexts from `id_base`,
  // within [id_base, id_base + id_count): once every id of the range was
  // handed out, numbering starts over at id_base and every open context is
  // dropped again, so an id is never handed out twice while its context
  // may live. A replica host calls it when a primary term starts, with a
  // range of that term's own.
  // REQUIRES: id_base >= 0, id_count > 0, id_base + id_count <= INT64_MAX.
  void ResetScanContexts(int64_t id_base, int64_t id_count);
  // On the strand only, like the scanner calls.
  size_t open_scan_contexts() const;

  // The table's default TTL (the `default_ttl` table env), for later writes
  // and for the engine's compaction. Rows written before keep their expiry
  // until a compaction gives them one.
  void SetDefaultTtl(uint32_t ttl_s);

 private:
  struct ScanContext;
  class MutationWriter;

  ScanResponse RunScan(std::unique_ptr<ScanContext> context, int64_t now_us);
  void DropIdleScanContexts(int64_t now_us);

  StorageEngine* const engine_;
  const PartitionOptions options_;
  std::atomic<uint32_t> default_ttl_s_;

  // By id; ids are handed out in increasing order, so the first is the
  // least recently used.
  std::map<int64_t, std::unique_ptr<ScanContext>> scan_contexts_;
  // Ids are handed out from [scan_context_id_base_, scan_context_id_end_).
  int64_t scan_context_id_base_;
  int64_t scan_context_id_end_;
  int64_t next_scan_context_id_;
};

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_PARTITION_H_
