// The local-file meta store's bytes on disk: the file header, the record
// framing, and the parser that reads a file back. The format is written down
// in local_file_meta_store.h and docs/meta_server.md ("The local-file
// store"); this file and those change together.
//
// Internal to pegasus/meta (Bazel visibility): the public contract is
// local_file_meta_store.h.
//
// Thread-safety: pure functions.

#ifndef PEGASUS_META_INTERNAL_LOCAL_FILE_FORMAT_H_
#define PEGASUS_META_INTERNAL_LOCAL_FILE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pegasus::meta_internal {

// The store's file in its directory, and the temporary a rewrite fills
// before renaming it over the file.
inline constexpr std::string_view kStoreFileName = "meta_store.log";
inline constexpr std::string_view kStoreTempFileName = "meta_store.log.tmp";

// File header: [8 bytes magic][u32 BE version][u32 BE low 32 bits of the
// CRC64 of the 12 bytes before it]. Version 2 added deletion records; a
// version 1 file (none) still reads, and is rewritten as version 2 before
// anything is appended to it.
inline constexpr std::string_view kMagic = "PGMETAKV";
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kOldestFormatVersion = 1;
inline constexpr size_t kFileHeaderBytes = 8 + 4 + 4;

// Record: [u32 BE key length][u32 BE value length][u32 BE header check]
// [u64 BE CRC64 of key + value][key][value]. A deletion record (version 2)
// has the value length kDeletionValueLength and no value: the key is gone.
inline constexpr size_t kRecordHeaderBytes = 4 + 4 + 4 + 8;
inline constexpr uint32_t kDeletionValueLength = 0xffffffff;

// The most bytes of key plus value one record may hold. A record claiming
// more is corruption, whatever the options of the store that reads it.
inline constexpr int64_t kMaxRecordPayloadBytes = int64_t{64} << 20;

std::string EncodeFileHeader();

// The header check of a record: the low 32 bits of the CRC64 of its eight
// length bytes. Never 0 for lengths (0, 0), so zeros never pass.
uint32_t HeaderCheck(uint32_t key_length, uint32_t value_length);

// Appends one framed record to `out`. REQUIRES: key.size() + value.size()
// <= kMaxRecordPayloadBytes.
void AppendRecord(std::string* out, std::string_view key,
                  std::string_view value);

// Appends a deletion record of `key`. REQUIRES: key.size() <=
// kMaxRecordPayloadBytes.
void AppendDeletion(std::string* out, std::string_view key);

inline int64_t EncodedDeletionBytes(size_t key_bytes) {
  return static_cast<int64_t>(kRecordHeaderBytes + key_bytes);
}

inline int64_t EncodedRecordBytes(size_t key_bytes, size_t value_bytes) {
  return static_cast<int64_t>(kRecordHeaderBytes + key_bytes + value_bytes);
}

struct ParsedFile {
  // Every key with the value of its last valid record, unless a deletion
  // record followed it.
  std::map<std::string, std::string> live;
  // Bytes of the valid prefix: the header and every whole, valid record.
  size_t valid_bytes = 0;
  // True when bytes after valid_bytes are the torn tail of a write a crash
  // interrupted (or zeros a file system showed for it).
  bool torn_tail = false;
};

// Parses a store file's bytes, read from `path` (named in errors). Only the
// end of the file may be torn: an incomplete record header, a record that
// runs past the end, or zeros from a record's start to the end. Anything
// else is PERR_CORRUPTION naming `path` and the byte offset of the damaged
// record (0 for the header).
absl::StatusOr<ParsedFile> ParseFile(std::string_view path,
                                     std::string_view data);

}  // namespace pegasus::meta_internal

#endif  // PEGASUS_META_INTERNAL_LOCAL_FILE_FORMAT_H_
