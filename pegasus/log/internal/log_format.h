// The mutation log's bytes on disk: segment names, the segment header, the
// record framing, and the parser recovery and reads share. The format is
// written down in docs/log_format.md; this file and that page change
// together.
//
// Internal to pegasus/log (Bazel visibility): the public contract is
// mutation_log.h.
//
// Thread-safety: pure functions.

#ifndef PEGASUS_LOG_INTERNAL_LOG_FORMAT_H_
#define PEGASUS_LOG_INTERNAL_LOG_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "pegasus/base/ids.h"

namespace pegasus::log_internal {

// Segment file names: "log." and a 12-digit zero-padded sequence number, so
// that name order is sequence order. Sequence numbers start at 1.
inline constexpr std::string_view kSegmentPrefix = "log.";
inline constexpr int kSequenceDigits = 12;
inline constexpr uint64_t kMaxSequence = 999'999'999'999;
// WriteFileAtomically's temporary: "<segment name>.tmp".
inline constexpr std::string_view kTempSuffix = ".tmp";

// Segment header: [8 bytes magic][u32 BE version][u64 BE sequence]
// [u64 BE crc64 of the 20 bytes before it].
inline constexpr std::string_view kMagic = "PGMUTLOG";
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderBytes = 8 + 4 + 8 + 8;

// Record: [u32 BE payload length][u32 BE header check][u64 BE crc64 of the
// body][body], body = [u64 BE decree][payload].
inline constexpr size_t kRecordHeaderBytes = 4 + 4 + 8;
inline constexpr size_t kDecreeBytes = 8;
inline constexpr size_t kRecordOverheadBytes =
    kRecordHeaderBytes + kDecreeBytes;

std::string SegmentName(uint64_t sequence);

// The sequence number of a segment name, or nullopt when `name` is not
// exactly "log.<12 digits>" with a number >= 1.
std::optional<uint64_t> ParseSegmentName(std::string_view name);

// True for "log.<12 digits>.tmp", a leftover of an interrupted rewrite.
bool IsTempName(std::string_view name);

std::string EncodeSegmentHeader(uint64_t sequence);

// The header check of a payload length: the low 32 bits of the CRC64 of its
// four big-endian bytes.
uint32_t HeaderCheck(uint32_t payload_length);

// Appends one framed record to `out`.
void AppendRecord(std::string* out, Decree decree, std::string_view payload);

inline size_t EncodedRecordBytes(size_t payload_bytes) {
  return kRecordOverheadBytes + payload_bytes;
}

struct RecordView {
  Decree decree = kNoDecree;
  std::string_view payload;  // Points into the parsed data.
};

struct ParsedSegment {
  std::vector<RecordView> records;
  // Bytes of the valid prefix: the header and every whole, valid record.
  // 0 when the header itself is torn.
  size_t valid_bytes = 0;
  // True when bytes after valid_bytes are a torn last write (only ever in
  // the last segment).
  bool torn_tail = false;
};

// Parses the bytes of segment `sequence`, read from `path` (named in
// errors). `last` says the segment is the newest one, where damage at the
// very end is a torn write; elsewhere every kind of damage is corruption.
// Errors: PERR_CORRUPTION naming the file and the byte offset.
absl::StatusOr<ParsedSegment> ParseSegment(std::string_view path,
                                           uint64_t sequence,
                                           std::string_view data, bool last);

// `status` from the file system with what the log was doing, and to which
// file, in front of its message; the Pegasus code is kept.
absl::Status WithContext(const absl::Status& status, std::string_view what,
                         std::string_view path);

}  // namespace pegasus::log_internal

#endif  // PEGASUS_LOG_INTERNAL_LOG_FORMAT_H_
