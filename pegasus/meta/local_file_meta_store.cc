#include "pegasus/meta/local_file_meta_store.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "pegasus/base/check.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/internal/local_file_format.h"

namespace pegasus {

namespace format = meta_internal;

static_assert(kLocalFileMetaStoreMaxRecordBytes ==
              format::kMaxRecordPayloadBytes);

namespace {

// A rewrite hands the file system at most about this many bytes per append,
// so it never holds a second copy of a large store in memory.
constexpr size_t kRewriteChunkBytes = size_t{1} << 20;

// `status` from the file system with what the store was doing, and to
// which file, in front of its message; the Pegasus code is kept.
absl::Status WithContext(const absl::Status& status, std::string_view what,
                         std::string_view path) {
  if (status.ok()) return status;
  return PegasusError(
      ToErrorCode(status),
      absl::StrCat("meta store: ", std::string(what), " ", std::string(path),
                   ": ", std::string(status.message())));
}

absl::Status ValidateOptions(const LocalFileMetaStoreOptions& options) {
  if (options.max_record_bytes < 1 ||
      options.max_record_bytes > kLocalFileMetaStoreMaxRecordBytes) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        absl::StrCat("max_record_bytes must be in [1, ",
                                     kLocalFileMetaStoreMaxRecordBytes,
                                     "], not ", options.max_record_bytes));
  }
  if (options.max_live_bytes < 1) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        absl::StrCat("max_live_bytes must be >= 1, not ",
                                     options.max_live_bytes));
  }
  if (options.min_compact_bytes < 0) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        absl::StrCat("min_compact_bytes must be >= 0, not ",
                                     options.min_compact_bytes));
  }
  return absl::OkStatus();
}

// Creates `dir` and its missing parents, then syncs the parent of each
// directory created, top down, so that none of them vanishes in a crash
// (taking the store's file with it).
absl::Status CreateDirDurably(FileSystem* fs, const std::string& dir) {
  std::vector<std::string> missing;  // Deepest first.
  for (std::string d = dir; d != "/" && d != "." && !fs->FileExists(d);
       d = DirName(d)) {
    missing.push_back(d);
  }
  PEGASUS_RETURN_IF_ERROR(WithContext(fs->CreateDirs(dir), "mkdir", dir));
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    const std::string parent = DirName(*it);
    PEGASUS_RETURN_IF_ERROR(
        WithContext(fs->SyncDir(parent), "sync directory", parent));
  }
  return absl::OkStatus();
}

}  // namespace

// Everything the store's tasks touch. Every member below mu_ is guarded by
// it; I/O happens under it, so writes and loads never interleave.
class LocalFileMetaStore::State {
 public:
  State(FileSystem* fs, std::string dir, Executor* executor,
        LocalFileMetaStoreOptions options)
      : fs_(fs),
        executor_(executor),
        options_(options),
        dir_(std::move(dir)),
        path_(absl::StrCat(dir_, "/", std::string(format::kStoreFileName))),
        temp_path_(
            absl::StrCat(dir_, "/", std::string(format::kStoreTempFileName))) {}

  Executor* executor() const { return executor_; }
  const std::string& path() const { return path_; }

  LocalFileMetaStoreStats stats() const {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

  // Later writes fail with PERR_ABORTED and touch nothing.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    DropFileLocked();
  }

  absl::StatusOr<std::map<std::string, std::string>> LoadAll() {
    absl::MutexLock lock(&mu_);
    PEGASUS_RETURN_IF_ERROR(LoadLocked());
    return live_;
  }

  // Sets `key` to `*value`, or deletes it when `value` is null.
  absl::Status Write(const std::string& key, const std::string* value);

 private:
  absl::Status LoadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AppendLocked(const std::string& key, const std::string* value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RewriteLocked(const std::string& key, const std::string* value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetLocked(const std::string& key, const std::string* value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Closes the file open for appending, so the next write rewrites the
  // file. Everything acknowledged in it was synced already, so a failed
  // close loses nothing acknowledged.
  void DropFileLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (file_ == nullptr) return;
    file_->Close().IgnoreError();
    file_.reset();
  }

  FileSystem* const fs_;
  Executor* const executor_;
  const LocalFileMetaStoreOptions options_;
  const std::string dir_;
  const std::string path_;
  const std::string temp_path_;

  mutable absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // live_ holds what the file holds: set by a successful parse, kept by
  // every successful write since. False before the first parse and after
  // one found corruption.
  bool loaded_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::string> live_ ABSL_GUARDED_BY(mu_);
  // Keys plus values of live_, and the size of a file rewritten from it.
  int64_t live_payload_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rewritten_bytes_ ABSL_GUARDED_BY(mu_) =
      static_cast<int64_t>(format::kFileHeaderBytes);
  // The store's file, open for appending at file_bytes_, its valid end;
  // null when the next write must rewrite the file.
  std::unique_ptr<WritableFile> file_ ABSL_GUARDED_BY(mu_);
  int64_t file_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  LocalFileMetaStoreStats stats_ ABSL_GUARDED_BY(mu_);
};

absl::Status LocalFileMetaStore::State::Write(const std::string& key,
                                              const std::string* value) {
  const auto payload =
      static_cast<int64_t>(key.size() + (value ? value->size() : 0));
  if (payload > options_.max_record_bytes) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        absl::StrCat("meta store: a key and value of ", payload,
                                     " bytes are over max_record_bytes, ",
                                     options_.max_record_bytes));
  }
  absl::MutexLock lock(&mu_);
  if (closed_) {
    return PegasusError(ErrorCode::kAborted, "meta store: closed");
  }
  if (!loaded_) PEGASUS_RETURN_IF_ERROR(LoadLocked());
  auto old = live_.find(key);
  // Deleting what the file does not hold writes nothing. Only while a file
  // is open for appending is live_ known to be what the file holds: after a
  // failed write the file may hold that write, and the rewrite below drops
  // it.
  if (value == nullptr && old == live_.end() && file_ != nullptr) {
    return absl::OkStatus();
  }
  // What live_ and a file rewritten from it will hold after the write.
  const int64_t record =
      value ? format::EncodedRecordBytes(key.size(), value->size())
            : format::EncodedDeletionBytes(key.size());
  int64_t payload_after = live_payload_bytes_ + (value ? payload : 0);
  int64_t rewritten_after = rewritten_bytes_ + (value ? record : 0);
  if (old != live_.end()) {
    payload_after -= static_cast<int64_t>(key.size() + old->second.size());
    rewritten_after -=
        format::EncodedRecordBytes(key.size(), old->second.size());
  }
  // A deletion only shrinks the store, so it is never refused for size.
  if (value != nullptr && payload_after > options_.max_live_bytes) {
    return PegasusError(
        ErrorCode::kDiskInsufficient,
        absl::StrCat("meta store: the write would take the live keys and "
                     "values to ",
                     payload_after, " bytes, over max_live_bytes, ",
                     options_.max_live_bytes));
  }
  if (file_ != nullptr &&
      file_bytes_ + record <=
          std::max(options_.min_compact_bytes, 2 * rewritten_after)) {
    return AppendLocked(key, value);
  }
  const bool compaction = file_ != nullptr;
  absl::Status status = RewriteLocked(key, value);
  if (status.ok() && compaction) ++stats_.compactions;
  return status;
}

absl::Status LocalFileMetaStore::State::LoadLocked() {
  absl::StatusOr<std::string> data = fs_->ReadFile(path_);
  format::ParsedFile parsed;
  size_t file_size = 0;
  if (data.ok()) {
    file_size = data->size();
    absl::StatusOr<format::ParsedFile> result = format::ParseFile(path_, *data);
    if (!result.ok()) {
      // Nothing is written until the file parses again.
      loaded_ = false;
      DropFileLocked();
      return result.status();
    }
    parsed = std::move(*result);
  } else if (!HasErrorCode(data.status(), ErrorCode::kNotFound)) {
    return WithContext(data.status(), "read", path_);
  }
  if (parsed.torn_tail) {
    ++stats_.torn_tails_dropped;
    stats_.torn_bytes_dropped += file_size - parsed.valid_bytes;
  }
  // Appending is safe only at the valid end of the file this store wrote.
  if (!data.ok() || parsed.torn_tail ||
      static_cast<int64_t>(parsed.valid_bytes) != file_bytes_) {
    DropFileLocked();
  }
  live_ = std::move(parsed.live);
  live_payload_bytes_ = 0;
  rewritten_bytes_ = static_cast<int64_t>(format::kFileHeaderBytes);
  for (const auto& [key, value] : live_) {
    live_payload_bytes_ += static_cast<int64_t>(key.size() + value.size());
    rewritten_bytes_ += format::EncodedRecordBytes(key.size(), value.size());
  }
  loaded_ = true;
  return absl::OkStatus();
}

absl::Status LocalFileMetaStore::State::AppendLocked(const std::string& key,
                                                     const std::string* value) {
  std::string record;
  if (value != nullptr) {
    format::AppendRecord(&record, key, *value);
  } else {
    format::AppendDeletion(&record, key);
  }
  absl::Status status = WithContext(file_->Append(record), "append", path_);
  if (status.ok()) status = WithContext(file_->Sync(), "sync", path_);
  if (!status.ok()) {
    // Part of the record may be in the file: never append after it.
    DropFileLocked();
    return status;
  }
  file_bytes_ += static_cast<int64_t>(record.size());
  ++stats_.records_appended;
  SetLocked(key, value);
  return absl::OkStatus();
}

// Writes live_ with `key` set to `*value` (or without `key`, when `value`
// is null) to the temporary file, syncs it,
// renames it over the store's file and syncs the directory: a crash at any
// step leaves the old file or the new one, each whole. The temporary's
// handle then appends to the store's file.
absl::Status LocalFileMetaStore::State::RewriteLocked(
    const std::string& key, const std::string* value) {
  DropFileLocked();
  absl::StatusOr<std::unique_ptr<WritableFile>> file =
      fs_->NewWritableFile(temp_path_);
  if (!file.ok()) return WithContext(file.status(), "create", temp_path_);
  std::string chunk = format::EncodeFileHeader();
  int64_t bytes = 0;
  auto flush = [&](size_t at_least) -> absl::Status {
    if (chunk.size() < at_least) return absl::OkStatus();
    bytes += static_cast<int64_t>(chunk.size());
    absl::Status status = (*file)->Append(chunk);
    chunk.clear();
    return WithContext(status, "append", temp_path_);
  };
  for (const auto& [live_key, live_value] : live_) {
    if (live_key == key) continue;
    format::AppendRecord(&chunk, live_key, live_value);
    PEGASUS_RETURN_IF_ERROR(flush(kRewriteChunkBytes));
  }
  if (value != nullptr) format::AppendRecord(&chunk, key, *value);
  PEGASUS_RETURN_IF_ERROR(flush(0));
  PEGASUS_RETURN_IF_ERROR(WithContext((*file)->Sync(), "sync", temp_path_));
  PEGASUS_RETURN_IF_ERROR(
      WithContext(fs_->Rename(temp_path_, path_),
                  absl::StrCat("rename ", temp_path_, " to"), path_));
  PEGASUS_RETURN_IF_ERROR(WithContext(fs_->SyncDir(dir_), "sync", dir_));
  file_ = std::move(*file);
  file_bytes_ = bytes;
  ++stats_.rewrites;
  SetLocked(key, value);
  PEGASUS_CHECK_EQ(file_bytes_, rewritten_bytes_);
  return absl::OkStatus();
}

void LocalFileMetaStore::State::SetLocked(const std::string& key,
                                          const std::string* value) {
  auto it = live_.find(key);
  if (it != live_.end()) {
    live_payload_bytes_ -= static_cast<int64_t>(key.size() + it->second.size());
    rewritten_bytes_ -=
        format::EncodedRecordBytes(key.size(), it->second.size());
    if (value == nullptr) {
      live_.erase(it);
      return;
    }
    it->second = *value;
  } else {
    if (value == nullptr) return;
    live_.emplace(key, *value);
  }
  live_payload_bytes_ += static_cast<int64_t>(key.size() + value->size());
  rewritten_bytes_ += format::EncodedRecordBytes(key.size(), value->size());
}

absl::StatusOr<std::unique_ptr<LocalFileMetaStore>> LocalFileMetaStore::Open(
    FileSystem* fs, std::string dir, Executor* executor,
    LocalFileMetaStoreOptions options) {
  if (fs == nullptr || executor == nullptr) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "meta store: a file system and an executor are "
                        "required");
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) {
    return PegasusError(ErrorCode::kInvalidArgument,
                        "meta store: the directory is empty");
  }
  PEGASUS_RETURN_IF_ERROR(ValidateOptions(options));
  PEGASUS_RETURN_IF_ERROR(CreateDirDurably(fs, dir));
  return std::unique_ptr<LocalFileMetaStore>(new LocalFileMetaStore(
      std::make_shared<State>(fs, std::move(dir), executor, options)));
}

LocalFileMetaStore::LocalFileMetaStore(std::shared_ptr<State> state)
    : state_(std::move(state)) {}

LocalFileMetaStore::~LocalFileMetaStore() { state_->Close(); }

void LocalFileMetaStore::Write(std::string key, std::string value,
                               WriteDone done) {
  Apply(std::move(key), std::move(value), std::move(done));
}

void LocalFileMetaStore::Delete(std::string key, WriteDone done) {
  Apply(std::move(key), std::nullopt, std::move(done));
}

void LocalFileMetaStore::Apply(std::string key,
                               std::optional<std::string> value,
                               WriteDone done) {
  PEGASUS_CHECK(done != nullptr);
  // The task holds the state, not the store: it may run after the store is
  // gone, and then fails without touching the file.
  state_->executor()->Post([state = state_, key = std::move(key),
                            value = std::move(value),
                            done = std::move(done)]() mutable {
    absl::Status status =
        state->Write(key, value.has_value() ? &*value : nullptr);
    done(std::move(status));
  });
}

absl::StatusOr<std::map<std::string, std::string>>
LocalFileMetaStore::LoadAll() {
  return state_->LoadAll();
}

const std::string& LocalFileMetaStore::file_path() const {
  return state_->path();
}

LocalFileMetaStoreStats LocalFileMetaStore::stats() const {
  return state_->stats();
}

}  // namespace pegasus
