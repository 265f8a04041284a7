#include "pegasus/meta/internal/local_file_format.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pegasus/base/check.h"
#include "pegasus/base/coding.h"
#include "pegasus/base/crc64.h"
#include "pegasus/base/status.h"

namespace pegasus::meta_internal {
namespace {

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](char c) { return c == '\0'; });
}

// Walks a store file record by record. The file is only ever created whole
// (a synced temporary renamed into place), so its header is never torn; only
// an append interrupted by a crash leaves damage, and only at the end.
class FileParser {
 public:
  FileParser(std::string_view path, std::string_view data)
      : path_(path), data_(data) {}

  absl::StatusOr<ParsedFile> Parse() {
    PEGASUS_RETURN_IF_ERROR(ParseHeader());
    while (!result_.torn_tail && result_.valid_bytes < data_.size()) {
      PEGASUS_RETURN_IF_ERROR(ParseRecord());
    }
    return std::move(result_);
  }

 private:
  absl::Status Corruption(size_t offset, std::string_view what) const {
    return PegasusError(ErrorCode::kCorruption,
                        absl::StrCat("meta store file ", std::string(path_),
                                     " is corrupt at offset ", offset, ": ",
                                     std::string(what)));
  }

  absl::Status ParseHeader() {
    if (data_.size() < kFileHeaderBytes) {
      return Corruption(0, absl::StrCat("the file header is incomplete (",
                                        data_.size(), " bytes)"));
    }
    const std::string_view header = data_.substr(0, kFileHeaderBytes);
    if (static_cast<uint32_t>(Crc64(header.substr(0, kFileHeaderBytes - 4))) !=
        DecodeBigEndian32(header.data() + kFileHeaderBytes - 4)) {
      return Corruption(0, "the file header fails its checksum");
    }
    if (header.substr(0, kMagic.size()) != kMagic) {
      return Corruption(0, "not a meta store file (bad magic)");
    }
    version_ = DecodeBigEndian32(header.data() + kMagic.size());
    if (version_ < kOldestFormatVersion || version_ > kFormatVersion) {
      return Corruption(0,
                        absl::StrCat("unsupported format version ", version_));
    }
    result_.valid_bytes = kFileHeaderBytes;
    return absl::OkStatus();
  }

  absl::Status ParseRecord() {
    const size_t offset = result_.valid_bytes;
    const std::string_view rest = data_.substr(offset);
    if (rest.size() < kRecordHeaderBytes) {
      result_.torn_tail = true;  // An incomplete record header.
      return absl::OkStatus();
    }
    const uint32_t key_length = DecodeBigEndian32(rest.data());
    const uint32_t value_length = DecodeBigEndian32(rest.data() + 4);
    if (DecodeBigEndian32(rest.data() + 8) !=
        HeaderCheck(key_length, value_length)) {
      // Zeros from here to the end: the file grew but the write never
      // reached the disk (some file systems show that after a crash).
      if (AllZero(rest)) {
        result_.torn_tail = true;
        return absl::OkStatus();
      }
      return Corruption(offset,
                        "the record header fails its check (a damaged "
                        "length)");
    }
    const bool deletion = value_length == kDeletionValueLength;
    if (deletion && version_ < 2) {
      return Corruption(offset, "a deletion record in a version 1 file");
    }
    const uint64_t payload =
        uint64_t{key_length} + (deletion ? 0 : value_length);
    if (payload > static_cast<uint64_t>(kMaxRecordPayloadBytes)) {
      return Corruption(offset, absl::StrCat("a record of ", payload,
                                             " bytes, over the limit of ",
                                             kMaxRecordPayloadBytes));
    }
    const size_t record_bytes = kRecordHeaderBytes + payload;
    if (rest.size() < record_bytes) {
      result_.torn_tail = true;  // The record runs past the end of the file.
      return absl::OkStatus();
    }
    // A whole record that fails its checksum is damage at rest, even at the
    // end of the file: every acknowledged record was synced whole, and
    // dropping one could silently roll a configuration back.
    const std::string_view body = rest.substr(kRecordHeaderBytes, payload);
    if (Crc64(body) != DecodeBigEndian64(rest.data() + 12)) {
      return Corruption(offset, "the record fails its checksum");
    }
    std::string key(body.substr(0, key_length));
    if (deletion) {
      result_.live.erase(key);
    } else {
      result_.live[std::move(key)] = std::string(body.substr(key_length));
    }
    result_.valid_bytes = offset + record_bytes;
    return absl::OkStatus();
  }

  const std::string_view path_;
  const std::string_view data_;
  uint32_t version_ = 0;
  ParsedFile result_;
};

}  // namespace

std::string EncodeFileHeader() {
  std::string header(kMagic);
  PutBigEndian32(&header, kFormatVersion);
  PutBigEndian32(&header, static_cast<uint32_t>(Crc64(header)));
  return header;
}

uint32_t HeaderCheck(uint32_t key_length, uint32_t value_length) {
  std::string bytes;
  PutBigEndian32(&bytes, key_length);
  PutBigEndian32(&bytes, value_length);
  return static_cast<uint32_t>(Crc64(bytes));
}

void AppendRecord(std::string* out, std::string_view key,
                  std::string_view value) {
  PEGASUS_CHECK_LE(static_cast<int64_t>(key.size() + value.size()),
                   kMaxRecordPayloadBytes);
  const auto key_length = static_cast<uint32_t>(key.size());
  const auto value_length = static_cast<uint32_t>(value.size());
  PutBigEndian32(out, key_length);
  PutBigEndian32(out, value_length);
  PutBigEndian32(out, HeaderCheck(key_length, value_length));
  // Extending the CRC over the value spares concatenating key and value.
  PutBigEndian64(out, Crc64Extend(Crc64(key), value));
  out->append(key);
  out->append(value);
}

void AppendDeletion(std::string* out, std::string_view key) {
  PEGASUS_CHECK_LE(static_cast<int64_t>(key.size()), kMaxRecordPayloadBytes);
  const auto key_length = static_cast<uint32_t>(key.size());
  PutBigEndian32(out, key_length);
  PutBigEndian32(out, kDeletionValueLength);
  PutBigEndian32(out, HeaderCheck(key_length, kDeletionValueLength));
  PutBigEndian64(out, Crc64(key));
  out->append(key);
}

absl::StatusOr<ParsedFile> ParseFile(std::string_view path,
                                     std::string_view data) {
  return FileParser(path, data).Parse();
}

}  // namespace pegasus::meta_internal
