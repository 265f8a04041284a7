// The file-system seam. Everything in pegasus/ that persists files of its own
// (checkpoints of the memory engine, and later the mutation log and backups)
// goes through a FileSystem, so tests and the simulator can substitute one
// that lives in memory and fails on command.
//
// Paths are '/'-separated. Errors are statuses carrying PERR_IO_ERROR, or
// PERR_NOT_FOUND for a missing file or directory.
//
// Thread-safety: implementations are safe for concurrent use; a WritableFile
// is used by one thread at a time.

#ifndef PEGASUS_RUNTIME_FILE_SYSTEM_H_
#define PEGASUS_RUNTIME_FILE_SYSTEM_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pegasus {

// A file open for appending. It writes to the file it opened even after a
// Rename gives that file another name (as a POSIX descriptor does), so a
// file may be written under a temporary name, renamed into place, and then
// appended to.
class WritableFile {
 public:
  virtual ~WritableFile() = default;

  virtual absl::Status Append(std::string_view data) = 0;
  // Makes everything appended so far durable.
  virtual absl::Status Sync() = 0;
  virtual absl::Status Close() = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates (or truncates) `path` for writing. The parent must exist.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path) = 0;
  virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;
  // Atomically replaces `to` with `from`.
  virtual absl::Status Rename(const std::string& from,
                              const std::string& to) = 0;
  virtual absl::Status DeleteFile(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // Creates `path` and missing parents; OK when it already exists.
  virtual absl::Status CreateDirs(const std::string& path) = 0;
  // Names (not paths) of the entries directly under `path`, sorted.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& path) = 0;
  // Makes the directory's entries (creations, renames) durable.
  virtual absl::Status SyncDir(const std::string& path) = 0;
};

// The operating system's file system. Never destroyed.
FileSystem* PosixFileSystem();

// A file system held in memory, empty at first. Everything written is
// durable at once (crash semantics belong to the simulator's file system).
std::unique_ptr<FileSystem> NewMemFileSystem();

// The directory part of `path`: "/a/b" for "/a/b/c", "/" for "/c", "." for
// "c".
std::string DirName(const std::string& path);

// Writes `data` to `path` so that a crash leaves either the old file or the
// new one: write a temporary file, sync it, rename it over, sync the dir.
absl::Status WriteFileAtomically(FileSystem* fs, const std::string& path,
                                 std::string_view data);

}  // namespace pegasus

#endif  // PEGASUS_RUNTIME_FILE_SYSTEM_H_
