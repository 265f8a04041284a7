#include "pegasus/storage/memory/memory_engine.h"

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "pegasus/base/check.h"
#include "pegasus/base/coding.h"
#include "pegasus/base/crc64.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/storage/compaction.h"

namespace pegasus {
namespace {

constexpr char kDataFile[] = "MEMORY_ENGINE_DATA";
constexpr std::string_view kMagic = "PGMEMv01";

// One version of a row; a row's versions are kept in ascending seq order.
struct Version {
  uint64_t seq;
  bool deleted;
  std::string value;
};

using Rows = std::map<std::string, std::vector<Version>, std::less<>>;

// The version of `versions` visible at snapshot `seq`, or null.
const Version* Visible(const std::vector<Version>& versions, uint64_t seq) {
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    if (it->seq <= seq) return it->deleted ? nullptr : &*it;
  }
  return nullptr;
}

absl::Status Corrupt(const std::string& path, std::string_view why) {
  return PegasusError(ErrorCode::kCorruption,
                      path + ": " + std::string(why));
}

// Reads the data file into *rows and *decree.
absl::Status ParseDataFile(const std::string& path, std::string_view data,
                           Rows* rows, Decree* decree) {
  if (data.size() < kMagic.size() + 24 || data.substr(0, kMagic.size()) != kMagic) {
    return Corrupt(path, "not a memory engine data file");
  }
  size_t body = data.size() - 8;
  if (Crc64(data.substr(0, body)) != DecodeBigEndian64(data.data() + body)) {
    return Corrupt(path, "checksum mismatch");
  }
  size_t pos = kMagic.size();
  *decree = static_cast<Decree>(DecodeBigEndian64(data.data() + pos));
  uint64_t count = DecodeBigEndian64(data.data() + pos + 8);
  pos += 16;
  auto read_field = [&](std::string* out) {
    if (body - pos < 4) return false;
    uint32_t size = DecodeBigEndian32(data.data() + pos);
    pos += 4;
    if (body - pos < size) return false;
    out->assign(data.data() + pos, size);
    pos += size;
    return true;
  };
  for (uint64_t i = 0; i < count; ++i) {
    std::string key, value;
    if (!read_field(&key) || !read_field(&value)) {
      return Corrupt(path, "truncated row");
    }
    (*rows)[std::move(key)].push_back(Version{0, false, std::move(value)});
  }
  if (pos != body) return Corrupt(path, "trailing bytes after rows");
  return absl::OkStatus();
}

class MemoryEngine;

class MemoryIterator final : public StorageIterator {
 public:
  MemoryIterator(const MemoryEngine* engine, uint64_t seq,
                 const IteratorOptions& options)
      : engine_(engine), seq_(seq), lower_(options.lower_bound),
        upper_(options.upper_bound) {}
  ~MemoryIterator() override;

  bool Valid() const override { return valid_; }
  void Seek(std::string_view target) override;
  void SeekForPrev(std::string_view target) override;
  void SeekToFirst() override { Seek(lower_); }
  void SeekToLast() override;
  void Next() override;
  void Prev() override;
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  // Moves to the first visible row at or after `it` (forward) or at or
  // before it (backward), within the bounds.
  void SettleForward(Rows::const_iterator it);
  void SettleBackward(Rows::const_iterator it, bool include_it);

  const MemoryEngine* engine_;
  uint64_t seq_;
  std::string lower_;
  std::string upper_;
  bool valid_ = false;
  std::string key_;
  std::string value_;
};

class MemoryEngine final : public StorageEngine {
 public:
  MemoryEngine(std::string dir, const MemoryEngineOptions& options, Rows rows,
               Decree decree)
      : dir_(std::move(dir)),
        fs_(options.file_system),
        clock_(options.clock),
        default_ttl_s_(options.default_ttl_s),
        rows_(std::move(rows)),
        last_applied_(decree),
        last_durable_(decree) {}

  ~MemoryEngine() override {
    PEGASUS_CHECK(snapshots_.empty()) << "iterators must die before their engine";
  }

  absl::Status Apply(Decree decree, const WriteBatch& batch) override {
    std::lock_guard<std::mutex> lock(mu_);
    PEGASUS_CHECK_GT(decree, last_applied_.load()) << "decrees apply in order";
    ++seq_;
    batch.ForEach([this](const WriteBatch::Op& op) {
      AddVersion(std::string(op.key), op.kind == WriteBatch::OpKind::kDelete,
                 std::string(op.value));
    });
    last_applied_.store(decree);
    return absl::OkStatus();
  }

  absl::Status Get(std::string_view key, std::string* value) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rows_.find(key);
    const Version* version = it == rows_.end() ? nullptr : Visible(it->second, seq_);
    if (version == nullptr) return PegasusError(ErrorCode::kNotFound, "key not found");
    *value = version->value;
    return absl::OkStatus();
  }

  std::unique_ptr<StorageIterator> NewIterator(
      const IteratorOptions& options) const override {
    std::lock_guard<std::mutex> lock(mu_);
    snapshots_.insert(seq_);
    return std::make_unique<MemoryIterator>(this, seq_, options);
  }

  Decree LastAppliedDecree() const override { return last_applied_.load(); }
  Decree LastDurableDecree() const override { return last_durable_.load(); }

  absl::Status Flush() override {
    PEGASUS_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
    return WriteState(dir_);
  }

  absl::StatusOr<Decree> Checkpoint(const std::string& dir) override {
    if (fs_->FileExists(dir)) {
      return PegasusError(ErrorCode::kIoError, "checkpoint directory " + dir + " exists");
    }
    // As the contract says: flushed first, so the copy is also durable here.
    PEGASUS_RETURN_IF_ERROR(Flush());
    PEGASUS_RETURN_IF_ERROR(fs_->CreateDirs(dir));
    Decree decree = last_applied_.load();
    PEGASUS_RETURN_IF_ERROR(WriteState(dir));
    return decree;
  }

  absl::Status Compact() override {
    CompactInMemory();
    return Flush();
  }

  void SetDefaultTtl(uint32_t ttl_s) override { default_ttl_s_.store(ttl_s); }

 private:
  friend class MemoryIterator;

  void CompactInMemory() {
    std::lock_guard<std::mutex> lock(mu_);
    uint32_t now_s = PegasusSecondsFromUnixMicros(clock_->WallNowUs());
    uint32_t default_ttl_s = default_ttl_s_.load();
    // Compaction's changes are a new version, unseen by live iterators.
    ++seq_;
    std::vector<std::string> keys;
    for (const auto& [key, versions] : rows_) keys.push_back(key);
    for (const std::string& key : keys) {
      const Version* latest = Visible(rows_[key], seq_);
      if (latest == nullptr) continue;
      std::string rewritten;
      switch (DecideCompaction(latest->value, now_s, default_ttl_s, &rewritten)) {
        case CompactionDecision::kKeep:
          break;
        case CompactionDecision::kDrop:
          AddVersion(key, /*deleted=*/true, "");
          break;
        case CompactionDecision::kRewrite:
          AddVersion(key, /*deleted=*/false, std::move(rewritten));
          break;
      }
    }
  }

  // REQUIRES: mu_ held.
  void AddVersion(std::string key, bool deleted, std::string value) {
    std::vector<Version>& versions = rows_[key];
    versions.push_back(Version{seq_, deleted, std::move(value)});
    Prune(key);
  }

  // Drops versions no live iterator can see. REQUIRES: mu_ held.
  void Prune(const std::string& key) {
    auto it = rows_.find(key);
    if (it == rows_.end()) return;
    std::vector<Version>& versions = it->second;
    uint64_t oldest = snapshots_.empty() ? seq_ : *snapshots_.begin();
    // Keep the newest version at or below the oldest snapshot, and all newer.
    size_t first_needed = 0;
    for (size_t i = 0; i < versions.size(); ++i) {
      if (versions[i].seq <= oldest) first_needed = i;
    }
    versions.erase(versions.begin(), versions.begin() + first_needed);
    if (versions.size() == 1 && versions[0].deleted) {
      rows_.erase(it);
      gc_candidates_.erase(key);
    } else if (versions.size() == 1) {
      gc_candidates_.erase(key);
    } else {
      gc_candidates_.insert(key);
    }
  }

  // REQUIRES: mu_ held.
  void ReleaseSnapshot(uint64_t seq) const {
    snapshots_.erase(snapshots_.find(seq));
    auto* self = const_cast<MemoryEngine*>(this);
    std::vector<std::string> candidates(gc_candidates_.begin(), gc_candidates_.end());
    for (const std::string& key : candidates) self->Prune(key);
  }

  absl::Status WriteState(const std::string& dir) {
    std::string data(kMagic);
    Decree decree;
    {
      std::lock_guard<std::mutex> lock(mu_);
      decree = last_applied_.load();
      PutBigEndian64(&data, static_cast<uint64_t>(decree));
      size_t count_at = data.size();
      PutBigEndian64(&data, 0);
      uint64_t count = 0;
      for (const auto& [key, versions] : rows_) {
        const Version* version = Visible(versions, seq_);
        if (version == nullptr) continue;
        PutBigEndian32(&data, static_cast<uint32_t>(key.size()));
        data.append(key);
        PutBigEndian32(&data, static_cast<uint32_t>(version->value.size()));
        data.append(version->value);
        ++count;
      }
      std::string count_bytes;
      PutBigEndian64(&count_bytes, count);
      data.replace(count_at, 8, count_bytes);
    }
    PutBigEndian64(&data, Crc64(data));
    PEGASUS_RETURN_IF_ERROR(WriteFileAtomically(fs_, dir + "/" + kDataFile, data));
    if (dir == dir_) last_durable_.store(std::max(last_durable_.load(), decree));
    return absl::OkStatus();
  }

  const std::string dir_;
  FileSystem* const fs_;
  Clock* const clock_;
  std::atomic<uint32_t> default_ttl_s_;

  mutable std::mutex mu_;
  Rows rows_;
  uint64_t seq_ = 0;
  mutable std::multiset<uint64_t> snapshots_;
  std::set<std::string> gc_candidates_;
  std::atomic<Decree> last_applied_;
  std::atomic<Decree> last_durable_;
};

MemoryIterator::~MemoryIterator() {
  std::lock_guard<std::mutex> lock(engine_->mu_);
  engine_->ReleaseSnapshot(seq_);
}

void MemoryIterator::SettleForward(Rows::const_iterator it) {
  const Rows& rows = engine_->rows_;
  for (; it != rows.end(); ++it) {
    if (!upper_.empty() && it->first >= upper_) break;
    if (const Version* version = Visible(it->second, seq_)) {
      valid_ = true;
      key_ = it->first;
      value_ = version->value;
      return;
    }
  }
  valid_ = false;
}

void MemoryIterator::SettleBackward(Rows::const_iterator it, bool include_it) {
  const Rows& rows = engine_->rows_;
  if (!include_it) {
    if (it == rows.begin()) {
      valid_ = false;
      return;
    }
    --it;
  }
  while (true) {
    if (it == rows.end()) break;
    if (it->first < lower_) break;
    if (const Version* version = Visible(it->second, seq_)) {
      valid_ = true;
      key_ = it->first;
      value_ = version->value;
      return;
    }
    if (it == rows.begin()) break;
    --it;
  }
  valid_ = false;
}

void MemoryIterator::Seek(std::string_view target) {
  std::lock_guard<std::mutex> lock(engine_->mu_);
  std::string_view from = target < std::string_view(lower_) ? lower_ : target;
  SettleForward(engine_->rows_.lower_bound(from));
}

void MemoryIterator::SeekForPrev(std::string_view target) {
  std::lock_guard<std::mutex> lock(engine_->mu_);
  const Rows& rows = engine_->rows_;
  if (!upper_.empty() && target >= std::string_view(upper_)) {
    SettleBackward(rows.lower_bound(upper_), /*include_it=*/false);
  } else {
    SettleBackward(rows.upper_bound(target), /*include_it=*/false);
  }
}

void MemoryIterator::SeekToLast() {
  std::lock_guard<std::mutex> lock(engine_->mu_);
  const Rows& rows = engine_->rows_;
  SettleBackward(upper_.empty() ? rows.end() : rows.lower_bound(upper_),
                 /*include_it=*/false);
}

void MemoryIterator::Next() {
  PEGASUS_CHECK(valid_);
  std::lock_guard<std::mutex> lock(engine_->mu_);
  SettleForward(engine_->rows_.upper_bound(key_));
}

void MemoryIterator::Prev() {
  PEGASUS_CHECK(valid_);
  std::lock_guard<std::mutex> lock(engine_->mu_);
  SettleBackward(engine_->rows_.lower_bound(key_), /*include_it=*/false);
}

}  // namespace

absl::StatusOr<std::unique_ptr<StorageEngine>> OpenMemoryEngine(
    const std::string& dir, const MemoryEngineOptions& options) {
  PEGASUS_CHECK(options.file_system != nullptr);
  PEGASUS_CHECK(options.clock != nullptr);
  PEGASUS_RETURN_IF_ERROR(options.file_system->CreateDirs(dir));
  Rows rows;
  Decree decree = kNoDecree;
  std::string path = dir + "/" + kDataFile;
  if (options.file_system->FileExists(path)) {
    PEGASUS_ASSIGN_OR_RETURN(std::string data, options.file_system->ReadFile(path));
    PEGASUS_RETURN_IF_ERROR(ParseDataFile(path, data, &rows, &decree));
  }
  return std::unique_ptr<StorageEngine>(
      new MemoryEngine(dir, options, std::move(rows), decree));
}

}  // namespace pegasus
