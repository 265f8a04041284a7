#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "pegasus/base/status.h"
#include "pegasus/runtime/file_system.h"

namespace pegasus {
namespace {

absl::Status NotFound(const std::string& what, const std::string& path) {
  return PegasusError(ErrorCode::kNotFound, what + " " + path + ": no such file or directory");
}

class MemFileSystemImpl;

// A file's bytes. Names refer to contents, and an open WritableFile holds its
// contents rather than its name, so it keeps writing to the same file after a
// rename (or a delete), as a POSIX file descriptor does.
using Contents = std::shared_ptr<std::string>;

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(MemFileSystemImpl* fs, Contents contents)
      : fs_(fs), contents_(std::move(contents)) {}

  absl::Status Append(std::string_view data) override;
  absl::Status Sync() override { return absl::OkStatus(); }
  absl::Status Close() override { return absl::OkStatus(); }

 private:
  MemFileSystemImpl* fs_;
  Contents contents_;
};

class MemFileSystemImpl final : public FileSystem {
 public:
  MemFileSystemImpl() { dirs_.insert("/"); }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!dirs_.contains(DirName(path))) return NotFound("open", path);
    // An existing file is truncated in place (O_TRUNC): writers already open
    // on it see the truncation.
    Contents& contents = files_[path];
    if (contents == nullptr) contents = std::make_shared<std::string>();
    contents->clear();
    return std::make_unique<MemWritableFile>(this, contents);
  }

  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(path);
    if (it == files_.end()) return NotFound("open", path);
    return *it->second;
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(from);
    if (it == files_.end()) return NotFound("rename", from);
    if (!dirs_.contains(DirName(to))) return NotFound("rename to", to);
    Contents contents = std::move(it->second);
    files_.erase(it);
    files_[to] = std::move(contents);
    return absl::OkStatus();
  }

  absl::Status DeleteFile(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (files_.erase(path) == 0) return NotFound("unlink", path);
    return absl::OkStatus();
  }

  bool FileExists(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    return files_.contains(path) || dirs_.contains(path);
  }

  absl::Status CreateDirs(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    // DirName() ends at "/" for an absolute path and at "." for a relative
    // one. Nothing is created unless every component can be.
    std::vector<std::string> chain;
    for (std::string dir = path; dir != "/" && dir != "." && !dir.empty();
         dir = DirName(dir)) {
      if (files_.contains(dir)) {
        return PegasusError(ErrorCode::kIoError, "mkdir " + dir + ": is a file");
      }
      chain.push_back(dir);
    }
    dirs_.insert(chain.begin(), chain.end());
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!dirs_.contains(path)) return NotFound("opendir", path);
    std::set<std::string> names;
    std::string prefix = path == "/" ? "/" : path + "/";
    auto add_children = [&](const auto& container) {
      for (auto it = container.lower_bound(prefix);
           it != container.end() && GetPath(*it).starts_with(prefix); ++it) {
        std::string rest = GetPath(*it).substr(prefix.size());
        if (!rest.empty()) names.insert(rest.substr(0, rest.find('/')));
      }
    };
    add_children(files_);
    add_children(dirs_);
    return std::vector<std::string>(names.begin(), names.end());
  }

  absl::Status SyncDir(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!dirs_.contains(path)) return NotFound("open", path);
    return absl::OkStatus();
  }

  absl::Status AppendTo(std::string& contents, std::string_view data) {
    std::lock_guard<std::mutex> lock(mu_);
    contents.append(data);
    return absl::OkStatus();
  }

 private:
  static const std::string& GetPath(const std::string& dir) { return dir; }
  static const std::string& GetPath(
      const std::pair<const std::string, Contents>& file) {
    return file.first;
  }

  std::mutex mu_;
  std::map<std::string, Contents> files_;
  std::set<std::string> dirs_;
};

absl::Status MemWritableFile::Append(std::string_view data) {
  return fs_->AppendTo(*contents_, data);
}

}  // namespace

std::unique_ptr<FileSystem> NewMemFileSystem() {
  return std::make_unique<MemFileSystemImpl>();
}

}  // namespace pegasus
