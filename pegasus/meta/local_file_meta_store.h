// LocalFileMetaStore: the MetaStore of a single meta server, kept in one
// file of a local directory so that it survives the process's restart (and
// a power failure). It honours the MetaStore contract (meta_store.h).
//
//   auto store = LocalFileMetaStore::Open(PosixFileSystem(), "/data/meta",
//                                         meta_strand);
//   auto loaded = store.value()->LoadAll();       // at start
//   store.value()->Write(key, value, [](absl::Status status) { ... });
//
// On disk (docs/meta_server.md, "The local-file store"). The directory holds
// `meta_store.log`, an append-only file of checksummed records, and at times
// `meta_store.log.tmp`, the temporary of a rewrite (ignored when read, and
// overwritten by the next rewrite). All integers are big-endian; CRC64 is
// pegasus/base/crc64.h's.
//
//   file   = header record*
//   header = "PGMETAKV" (8 bytes) | u32 version (2) |
//            u32 low 32 bits of CRC64 of the 12 bytes before
//   record = u32 key_length | u32 value_length |
//            u32 header check: low 32 bits of CRC64 of the 8 length bytes |
//            u64 CRC64 of key + value | key | value
//
// The latest record of a key holds its value. A deletion record (Delete)
// has value_length 0xffffffff and no value bytes (its CRC64 covers the
// key): the key has no value since. key_length + value_length is at most
// 64 MiB (kLocalFileMetaStoreMaxRecordBytes). Version 1 files (no deletion
// records) are read as well; every file written is version 2.
//
// Writing. A Write or Delete posts a task on the executor; the task appends
// the record, syncs the file, and only then calls done(OK). A Delete of a
// key the file does not hold writes nothing. The file is
// rewritten instead of appended to (the live map with the new value written
// to the temporary, synced, renamed over the file, the directory synced)
// when the store has no file open for appending (its first write, since
// the FileSystem seam opens files only to create them; the first after a
// LoadAll that found a torn tail, or after a failed write, so that nothing
// is ever appended after garbage), and when appending would make the file
// larger than max(min_compact_bytes, 2 x the size of a rewritten file):
// compaction. So the file never grows past that bound.
//
// Reading (LoadAll) reads and parses the file every time. Only its end may
// be torn (what a crash kept of an append that was never acknowledged): an
// incomplete record header, a record that runs past the end of the file, or
// zeros from a record's start to the end. A torn tail is dropped, and the
// next write rewrites the file. Any other damage (a bad header, a header
// check or checksum that fails, a length over the limit) is PERR_CORRUPTION
// naming the file and the byte offset of the damaged record; LoadAll then
// changes nothing, and every write fails with that error, writing nothing,
// for as long as the file does not parse.
//
// Errors. From LoadAll: PERR_IO_ERROR (or the file system's code) when the
// file cannot be read; PERR_CORRUPTION as above. Through a Write's (or a
// Delete's) done:
// PERR_INVALID_ARGUMENT when key plus value exceed max_record_bytes;
// PERR_DISK_INSUFFICIENT when a Write would take the live keys and values
// over max_live_bytes (a Delete never is); PERR_CORRUPTION when the file is corrupt (nothing is
// written); PERR_IO_ERROR (or the file system's code) when an I/O call
// failed, after which the write may or may not have taken effect and the
// store stays usable; PERR_ABORTED when the store was destroyed before the
// write's task ran (nothing written).
//
// Thread-safety: Write, Delete and LoadAll may be called from any thread.
// `done` runs on the executor, never inline. The file system and the
// executor must outlive the tasks the store posts; the tasks may outlive the
// store (they then fail with PERR_ABORTED). One store per directory at a
// time.

#ifndef PEGASUS_META_LOCAL_FILE_META_STORE_H_
#define PEGASUS_META_LOCAL_FILE_META_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/meta/meta_store.h"
#include "pegasus/runtime/executor.h"
#include "pegasus/runtime/file_system.h"

namespace pegasus {

// The most bytes of key plus value one record holds, whatever the options.
inline constexpr int64_t kLocalFileMetaStoreMaxRecordBytes = int64_t{64} << 20;

struct LocalFileMetaStoreOptions {
  // Most bytes of key plus value one Write may carry; a larger one fails
  // with PERR_INVALID_ARGUMENT. Bytes; in [1,
  // kLocalFileMetaStoreMaxRecordBytes]. Default 64 MiB.
  int64_t max_record_bytes = kLocalFileMetaStoreMaxRecordBytes;
  // Most bytes of every key and its latest value together (framing
  // excluded); a Write that would exceed it fails with
  // PERR_DISK_INSUFFICIENT. Bounds the memory the store holds and, with
  // compaction, the file. Bytes; >= 1. Default 1 GiB.
  int64_t max_live_bytes = int64_t{1} << 30;
  // The file is rewritten (compacted) rather than appended to when the
  // append would make it larger than max(min_compact_bytes, 2 x the size of
  // a rewritten file). Bytes; >= 0. Default 4 MiB.
  int64_t min_compact_bytes = int64_t{4} << 20;
};

struct LocalFileMetaStoreStats {
  uint64_t records_appended = 0;
  // Rewrites of the whole file, for compaction or after a torn tail, a
  // failed write or a restart.
  uint64_t rewrites = 0;
  uint64_t compactions = 0;  // The rewrites done because the file grew.
  uint64_t torn_tails_dropped = 0;
  uint64_t torn_bytes_dropped = 0;
};

class LocalFileMetaStore final : public MetaStore {
 public:
  // A store in `dir`, created (with its missing parents) if missing. Reads
  // nothing yet: LoadAll (or the first write) reads the file. Errors:
  // PERR_INVALID_ARGUMENT for bad options, a null fs or executor or an
  // empty dir; the file system's error when the directory cannot be made.
  static absl::StatusOr<std::unique_ptr<LocalFileMetaStore>> Open(
      FileSystem* fs, std::string dir, Executor* executor,
      LocalFileMetaStoreOptions options = {});

  // Writes whose tasks have not run yet will fail with PERR_ABORTED.
  ~LocalFileMetaStore() override;

  LocalFileMetaStore(const LocalFileMetaStore&) = delete;
  LocalFileMetaStore& operator=(const LocalFileMetaStore&) = delete;

  void Write(std::string key, std::string value, WriteDone done) override;
  void Delete(std::string key, WriteDone done) override;
  absl::StatusOr<std::map<std::string, std::string>> LoadAll() override;

  // The path of the store's file: `dir` + "/meta_store.log".
  const std::string& file_path() const;
  LocalFileMetaStoreStats stats() const;

 private:
  class State;

  explicit LocalFileMetaStore(std::shared_ptr<State> state);
  // Write (a value) or Delete (none).
  void Apply(std::string key, std::optional<std::string> value, WriteDone done);

  // Shared with the tasks in flight, which may outlive the store.
  const std::shared_ptr<State> state_;
};

}  // namespace pegasus

#endif  // PEGASUS_META_LOCAL_FILE_META_STORE_H_
