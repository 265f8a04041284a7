// A FileSystem wrapper for tests: it passes every call to another file
// system, counts and traces it, and lets a test fail the calls it picks or
// act before one (crash a simulated disk, say).
//
//   FaultyFileSystem fs(base);
//   fs.set_hook([](FsOp op, const std::string& path) {
//     return op == FsOp::kSync ? InjectedIoError("sync") : absl::OkStatus();
//   });
//
// Thread-safety: none; use from one thread.

#ifndef PEGASUS_RUNTIME_FAULTY_FILE_SYSTEM_H_
#define PEGASUS_RUNTIME_FAULTY_FILE_SYSTEM_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/base/status.h"
#include "pegasus/runtime/file_system.h"

namespace pegasus {

enum class FsOp {
  kCreate,
  kAppend,
  kSync,
  kClose,
  kRead,
  kRename,
  kDelete,
  kCreateDirs,
  kList,
  kSyncDir,
};

inline const char* FsOpName(FsOp op) {
  switch (op) {
    case FsOp::kCreate:
      return "create";
    case FsOp::kAppend:
      return "append";
    case FsOp::kSync:
      return "sync";
    case FsOp::kClose:
      return "close";
    case FsOp::kRead:
      return "read";
    case FsOp::kRename:
      return "rename";
    case FsOp::kDelete:
      return "delete";
    case FsOp::kCreateDirs:
      return "mkdir";
    case FsOp::kList:
      return "list";
    case FsOp::kSyncDir:
      return "syncdir";
  }
  return "?";
}

// Passes every call to `base`, counting it. `hook` runs before each call
// and may fail it (the call then does nothing) or act, say crash a SimDisk.
class FaultyFileSystem final : public FileSystem {
 public:
  using Hook = std::function<absl::Status(FsOp op, const std::string& path)>;

  explicit FaultyFileSystem(FileSystem* base) : base_(base) {}

  void set_hook(Hook hook) { hook_ = std::move(hook); }
  int count(FsOp op) const {
    auto it = counts_.find(op);
    return it == counts_.end() ? 0 : it->second;
  }
  // Every call, in order, as "op path" lines.
  const std::vector<std::string>& trace() const { return trace_; }

  absl::Status Before(FsOp op, const std::string& path) {
    ++counts_[op];
    trace_.push_back(std::string(FsOpName(op)) + " " + path);
    return hook_ ? hook_(op, path) : absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override;
  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    PEGASUS_RETURN_IF_ERROR(Before(FsOp::kRead, path));
    return base_->ReadFile(path);
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    PEGASUS_RETURN_IF_ERROR(Before(FsOp::kRename, from));
    return base_->Rename(from, to);
  }
  absl::Status DeleteFile(const std::string& path) override {
    PEGASUS_RETURN_IF_ERROR(Before(FsOp::kDelete, path));
    return base_->DeleteFile(path);
  }
  bool FileExists(const std::string& path) override {
    return base_->FileExists(path);
  }
  absl::Status CreateDirs(const std::string& path) override {
    PEGASUS_RETURN_IF_ERROR(Before(FsOp::kCreateDirs, path));
    return base_->CreateDirs(path);
  }
  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& path) override {
    PEGASUS_RETURN_IF_ERROR(Before(FsOp::kList, path));
    return base_->ListDir(path);
  }
  absl::Status SyncDir(const std::string& path) override {
    PEGASUS_RETURN_IF_ERROR(Before(FsOp::kSyncDir, path));
    return base_->SyncDir(path);
  }

 private:
  class File;

  FileSystem* base_;
  Hook hook_;
  std::map<FsOp, int> counts_;
  std::vector<std::string> trace_;
};

class FaultyFileSystem::File final : public WritableFile {
 public:
  File(FaultyFileSystem* fs, std::string path,
       std::unique_ptr<WritableFile> base)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)) {}

  absl::Status Append(std::string_view data) override {
    PEGASUS_RETURN_IF_ERROR(fs_->Before(FsOp::kAppend, path_));
    return base_->Append(data);
  }
  absl::Status Sync() override {
    PEGASUS_RETURN_IF_ERROR(fs_->Before(FsOp::kSync, path_));
    return base_->Sync();
  }
  absl::Status Close() override {
    PEGASUS_RETURN_IF_ERROR(fs_->Before(FsOp::kClose, path_));
    return base_->Close();
  }

 private:
  FaultyFileSystem* fs_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

inline absl::StatusOr<std::unique_ptr<WritableFile>>
FaultyFileSystem::NewWritableFile(const std::string& path) {
  PEGASUS_RETURN_IF_ERROR(Before(FsOp::kCreate, path));
  PEGASUS_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                           base_->NewWritableFile(path));
  return std::make_unique<File>(this, path, std::move(file));
}

inline absl::Status InjectedIoError(const std::string& what) {
  return PegasusError(ErrorCode::kIoError, "injected " + what);
}

}  // namespace pegasus

#endif  // PEGASUS_RUNTIME_FAULTY_FILE_SYSTEM_H_
