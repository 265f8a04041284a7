// Test helpers for the mutation log: a FileSystem wrapper that counts every
// operation and fails the ones a test picks, and a fixture that opens logs
// over it on a ManualExecutor.

#ifndef PEGASUS_LOG_LOG_TEST_UTIL_H_
#define PEGASUS_LOG_LOG_TEST_UTIL_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "pegasus/log/mutation_log.h"
#include "pegasus/runtime/file_system.h"
#include "pegasus/runtime/manual_executor.h"

namespace pegasus::log_testing {

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

inline std::string Payload(Decree decree) {
  return "mutation-" + std::to_string(decree);
}

inline LogRecord Record(Decree decree) { return {decree, Payload(decree)}; }

// The path of segment `sequence` in the fixture's directory.
inline std::string SegmentFile(uint64_t sequence) {
  std::string digits = std::to_string(sequence);
  return "/log/log." + std::string(12 - digits.size(), '0') + digits;
}

// A log over an in-memory file system (behind a FaultyFileSystem), driven by
// a ManualExecutor.
class LogTest : public testing::Test {
 protected:
  LogTest() : mem_(NewMemFileSystem()), fs_(mem_.get()) {}

  MutationLogOptions Options() {
    MutationLogOptions options;
    options.file_system = &fs_;
    options.executor = &executor_;
    options.dir = "/log";
    return options;
  }

  // Small segments, so a few records roll over.
  MutationLogOptions SmallSegmentOptions() {
    MutationLogOptions options = Options();
    options.max_group_commit_bytes = 200;
    options.max_segment_bytes = 300;
    options.max_pending_bytes = 1000;
    options.gc_reserve_bytes = 0;
    return options;
  }

  // Opens a log, replaying into replayed_ (cleared first).
  absl::StatusOr<std::unique_ptr<MutationLog>> TryOpen(
      const MutationLogOptions& options) {
    replayed_.clear();
    return MutationLog::Open(options, [this](const LogRecord& record) {
      replayed_.push_back(record);
      return absl::OkStatus();
    });
  }

  std::unique_ptr<MutationLog> OpenLog(const MutationLogOptions& options) {
    absl::StatusOr<std::unique_ptr<MutationLog>> log = TryOpen(options);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // Appends; the callback records (decree, status) in acks_.
  void Append(MutationLog* log, Decree decree) {
    log->Append(decree, Payload(decree), [this, decree](absl::Status status) {
      acks_.emplace_back(decree, std::move(status));
    });
  }

  // Appends each decree, runs the executor, and expects every ack OK.
  void AppendAll(MutationLog* log, const std::vector<Decree>& decrees) {
    const size_t before = acks_.size();
    for (Decree decree : decrees) Append(log, decree);
    log->CheckInvariants();
    executor_.RunReady();
    log->CheckInvariants();
    ASSERT_EQ(acks_.size(), before + decrees.size());
    for (size_t i = before; i < acks_.size(); ++i) {
      ASSERT_TRUE(acks_[i].second.ok()) << acks_[i].second;
    }
  }

  std::string ReadBytes(const std::string& path) {
    absl::StatusOr<std::string> data = mem_->ReadFile(path);
    EXPECT_TRUE(data.ok()) << data.status();
    return data.ok() ? *data : "";
  }

  void WriteBytes(const std::string& path, const std::string& data) {
    ASSERT_TRUE(WriteFileAtomically(mem_.get(), path, data).ok());
  }

  // Every file under /log with its bytes: "nothing changed on disk" checks.
  std::map<std::string, std::string> Snapshot() {
    std::map<std::string, std::string> files;
    absl::StatusOr<std::vector<std::string>> names = mem_->ListDir("/log");
    if (!names.ok()) return files;
    for (const std::string& name : *names) {
      files[name] = ReadBytes("/log/" + name);
    }
    return files;
  }

  ManualExecutor executor_;
  std::unique_ptr<FileSystem> mem_;
  FaultyFileSystem fs_;
  std::vector<LogRecord> replayed_;
  std::vector<std::pair<Decree, absl::Status>> acks_;
};

}  // namespace pegasus::log_testing

#endif  // PEGASUS_LOG_LOG_TEST_UTIL_H_
