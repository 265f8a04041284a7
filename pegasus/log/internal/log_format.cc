#include "pegasus/log/internal/log_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "pegasus/base/coding.h"
#include "pegasus/base/crc64.h"
#include "pegasus/base/status.h"

namespace pegasus::log_internal {
namespace {

bool AllDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
}

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](char c) { return c == '\0'; });
}

// Walks one segment's bytes, record by record. Damage at the end of the last
// segment is a torn write: the bytes a crash kept of a write that was never
// synced, so never acknowledged. Anything else is corruption.
class SegmentParser {
 public:
  SegmentParser(std::string_view path, uint64_t sequence, std::string_view data,
                bool last)
      : path_(path), sequence_(sequence), data_(data), last_(last) {}

  absl::StatusOr<ParsedSegment> Parse() {
    absl::Status status = ParseHeader();
    while (status.ok() && !done_ && result_.valid_bytes < data_.size()) {
      status = ParseRecord();
    }
    if (!status.ok()) return status;
    return std::move(result_);
  }

 private:
  absl::Status Corruption(size_t offset, std::string_view what) const {
    return PegasusError(ErrorCode::kCorruption,
                        absl::StrCat("mutation log ", std::string(path_),
                                     " is corrupt at offset ", offset, ": ",
                                     std::string(what)));
  }

  // Ends the parse at `offset` as a torn tail when that is allowed, else
  // reports `what` as corruption there.
  absl::Status TornOrCorrupt(size_t offset, std::string_view what) {
    if (!last_) return Corruption(offset, what);
    result_.torn_tail = true;
    done_ = true;
    return absl::OkStatus();
  }

  absl::Status ParseHeader() {
    if (data_.size() < kSegmentHeaderBytes) {
      return TornOrCorrupt(0, "the segment header is incomplete");
    }
    const std::string_view header = data_.substr(0, kSegmentHeaderBytes);
    if (Crc64(header.substr(0, kSegmentHeaderBytes - 8)) !=
        DecodeBigEndian64(header.data() + kSegmentHeaderBytes - 8)) {
      // A header that is all there is, or zeros to the end of the file, is
      // the first write of a segment that never reached the disk.
      if (data_.size() == kSegmentHeaderBytes || AllZero(data_)) {
        return TornOrCorrupt(0, "the segment header fails its checksum");
      }
      return Corruption(0, "the segment header fails its checksum");
    }
    if (header.substr(0, kMagic.size()) != kMagic) {
      return Corruption(0, "not a mutation log segment (bad magic)");
    }
    const uint32_t version = DecodeBigEndian32(header.data() + 8);
    if (version != kFormatVersion) {
      return Corruption(0,
                        absl::StrCat("unsupported format version ", version));
    }
    const uint64_t sequence = DecodeBigEndian64(header.data() + 12);
    if (sequence != sequence_) {
      return Corruption(0, absl::StrCat("the header names segment ", sequence,
                                        ", the file name ", sequence_));
    }
    result_.valid_bytes = kSegmentHeaderBytes;
    return absl::OkStatus();
  }

  absl::Status ParseRecord() {
    const size_t offset = result_.valid_bytes;
    const std::string_view rest = data_.substr(offset);
    if (rest.size() < 8) {
      return TornOrCorrupt(offset, "the record header is incomplete");
    }
    const uint32_t length = DecodeBigEndian32(rest.data());
    if (DecodeBigEndian32(rest.data() + 4) != HeaderCheck(length)) {
      // Zeros from here to the end: the file grew but the write never
      // reached the disk (some file systems show that after a crash).
      if (AllZero(rest)) return TornOrCorrupt(offset, "zeros to the end");
      return Corruption(offset,
                        "the record header fails its check (a "
                        "damaged length)");
    }
    const size_t record_bytes = EncodedRecordBytes(length);
    if (rest.size() < record_bytes) {
      return TornOrCorrupt(offset, "the record runs past the end of the file");
    }
    const std::string_view body =
        rest.substr(kRecordHeaderBytes, kDecreeBytes + length);
    if (Crc64(body) != DecodeBigEndian64(rest.data() + 8)) {
      if (rest.size() == record_bytes) {
        return TornOrCorrupt(offset, "the last record fails its checksum");
      }
      return Corruption(offset, "the record fails its checksum");
    }
    const auto decree = static_cast<Decree>(DecodeBigEndian64(body.data()));
    if (decree <= kNoDecree) {
      return Corruption(offset, absl::StrCat("a record with decree ", decree));
    }
    result_.records.push_back({decree, body.substr(kDecreeBytes)});
    result_.valid_bytes = offset + record_bytes;
    return absl::OkStatus();
  }

  const std::string_view path_;
  const uint64_t sequence_;
  const std::string_view data_;
  const bool last_;
  ParsedSegment result_;
  bool done_ = false;
};

}  // namespace

std::string SegmentName(uint64_t sequence) {
  std::string digits = std::to_string(sequence);
  return absl::StrCat(std::string(kSegmentPrefix),
                      std::string(kSequenceDigits - digits.size(), '0'),
                      digits);
}

std::optional<uint64_t> ParseSegmentName(std::string_view name) {
  if (name.size() != kSegmentPrefix.size() + kSequenceDigits ||
      !name.starts_with(kSegmentPrefix)) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(kSegmentPrefix.size());
  if (!AllDigits(digits)) return std::nullopt;
  uint64_t sequence = 0;
  for (char c : digits)
    sequence = sequence * 10 + static_cast<uint64_t>(c - '0');
  if (sequence == 0) return std::nullopt;
  return sequence;
}

bool IsTempName(std::string_view name) {
  return name.ends_with(kTempSuffix) &&
         ParseSegmentName(name.substr(0, name.size() - kTempSuffix.size()))
             .has_value();
}

std::string EncodeSegmentHeader(uint64_t sequence) {
  std::string header(kMagic);
  PutBigEndian32(&header, kFormatVersion);
  PutBigEndian64(&header, sequence);
  PutBigEndian64(&header, Crc64(header));
  return header;
}

uint32_t HeaderCheck(uint32_t payload_length) {
  std::string bytes;
  PutBigEndian32(&bytes, payload_length);
  return static_cast<uint32_t>(Crc64(bytes));
}

void AppendRecord(std::string* out, Decree decree, std::string_view payload) {
  const auto length = static_cast<uint32_t>(payload.size());
  std::string decree_bytes;
  PutBigEndian64(&decree_bytes, static_cast<uint64_t>(decree));
  PutBigEndian32(out, length);
  PutBigEndian32(out, HeaderCheck(length));
  // Extending the CRC over the payload spares copying it into a body first.
  PutBigEndian64(out, Crc64Extend(Crc64(decree_bytes), payload));
  out->append(decree_bytes);
  out->append(payload);
}

absl::StatusOr<ParsedSegment> ParseSegment(std::string_view path,
                                           uint64_t sequence,
                                           std::string_view data, bool last) {
  return SegmentParser(path, sequence, data, last).Parse();
}

absl::Status WithContext(const absl::Status& status, std::string_view what,
                         std::string_view path) {
  if (status.ok()) return status;
  return PegasusError(ToErrorCode(status),
                      absl::StrCat("mutation log: ", std::string(what), " ",
                                   std::string(path), ": ", status.message()));
}

}  // namespace pegasus::log_internal
