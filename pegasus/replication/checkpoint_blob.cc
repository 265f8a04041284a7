#include "pegasus/replication/checkpoint_blob.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "pegasus/base/coding.h"
#include "pegasus/base/crc64.h"
#include "pegasus/base/status.h"

namespace pegasus::replication {
namespace {

absl::Status Corrupt(const std::string& why) {
  return PegasusError(ErrorCode::kCorruption, "checkpoint blob: " + why);
}

// Reads fixed-width fields off the front of a blob.
class Reader {
 public:
  explicit Reader(const std::string& data) : data_(data) {}
  bool U32(uint32_t* out) {
    if (data_.size() - offset_ < 4) return false;
    *out = DecodeBigEndian32(data_.data() + offset_);
    offset_ += 4;
    return true;
  }
  bool U64(uint64_t* out) {
    if (data_.size() - offset_ < 8) return false;
    *out = DecodeBigEndian64(data_.data() + offset_);
    offset_ += 8;
    return true;
  }
  bool Bytes(uint64_t n, std::string_view* out) {
    if (data_.size() - offset_ < n) return false;
    *out = std::string_view(data_.data() + offset_, n);
    offset_ += n;
    return true;
  }
  bool done() const { return offset_ == data_.size(); }

 private:
  const std::string& data_;
  size_t offset_ = 0;
};

}  // namespace

absl::StatusOr<std::string> PackDirectory(FileSystem* fs,
                                          const std::string& dir) {
  PEGASUS_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  std::string blob;
  PutBigEndian32(&blob, static_cast<uint32_t>(names.size()));
  for (const std::string& name : names) {
    PEGASUS_ASSIGN_OR_RETURN(std::string data, fs->ReadFile(dir + "/" + name));
    PutBigEndian32(&blob, static_cast<uint32_t>(name.size()));
    blob += name;
    PutBigEndian64(&blob, data.size());
    blob += data;
    PutBigEndian64(&blob, Crc64(data));
  }
  return blob;
}

absl::Status UnpackDirectory(FileSystem* fs, const std::string& blob,
                             const std::string& dir) {
  Reader reader(blob);
  uint32_t count = 0;
  if (!reader.U32(&count)) return Corrupt("truncated header");
  std::vector<std::pair<std::string, std::string_view>> files;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t name_bytes = 0;
    uint64_t data_bytes = 0;
    uint64_t crc = 0;
    std::string_view name;
    std::string_view data;
    if (!reader.U32(&name_bytes) || !reader.Bytes(name_bytes, &name) ||
        !reader.U64(&data_bytes) || !reader.Bytes(data_bytes, &data) ||
        !reader.U64(&crc)) {
      return Corrupt(absl::StrCat("truncated at file ", i));
    }
    if (name.empty() || name.find('/') != std::string_view::npos ||
        name == "." || name == "..") {
      return Corrupt(absl::StrCat("bad file name at file ", i));
    }
    if (Crc64(data) != crc) {
      return Corrupt("checksum mismatch in " + std::string(name));
    }
    files.emplace_back(std::string(name), data);
  }
  if (!reader.done()) return Corrupt("trailing bytes");
  PEGASUS_RETURN_IF_ERROR(fs->CreateDirs(dir));
  for (const auto& [name, data] : files) {
    PEGASUS_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                             fs->NewWritableFile(dir + "/" + name));
    PEGASUS_RETURN_IF_ERROR(file->Append(data));
    PEGASUS_RETURN_IF_ERROR(file->Sync());
    PEGASUS_RETURN_IF_ERROR(file->Close());
  }
  PEGASUS_RETURN_IF_ERROR(fs->SyncDir(dir));
  return fs->SyncDir(DirName(dir));
}

void RemoveDirectoryFiles(FileSystem* fs, const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = fs->ListDir(dir);
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    (void)fs->DeleteFile(dir + "/" + name);
  }
  (void)fs->SyncDir(dir);
}

}  // namespace pegasus::replication
