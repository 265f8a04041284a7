#include "pegasus/storage/rocksdb/rocksdb_engine.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "pegasus/base/check.h"
#include "pegasus/base/coding.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/storage/compaction.h"
#include "pegasus/storage/rocksdb/hash_key_prefix.h"
#include "rocksdb/cache.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"

namespace pegasus {
namespace {

// The prefix of a storage key that names its hash key: [u16 length][hash key].
class HashKeyPrefixExtractor final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "pegasus.HashKeyPrefix"; }

  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), PrefixLength(key));
  }

  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() >= 2 && PrefixLength(key) <= key.size();
  }

 private:
  static size_t PrefixLength(const rocksdb::Slice& key) {
    return 2 + size_t{DecodeBigEndian16(key.data())};
  }
};


constexpr char kMetaColumnFamily[] = "pegasus_meta_cf";
constexpr char kDataVersionKey[] = "pegasus_data_version";
constexpr char kLastAppliedDecreeKey[] = "pegasus_last_applied_decree";
constexpr uint32_t kDataVersion = 1;

// An engine failure is an I/O error to callers, whatever RocksDB called it:
// codes such as PERR_TRY_AGAIN or PERR_INCOMPLETE mean something else in the
// data API. Corruption and shutdown keep their own codes. (Misses never come
// here; Get() answers them itself.)
absl::Status FromRocksDb(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return absl::OkStatus();
  ErrorCode code = ErrorCode::kIoError;
  if (status.IsCorruption()) code = ErrorCode::kCorruption;
  if (status.IsShutdownInProgress()) code = ErrorCode::kShutdownInProgress;
  return PegasusError(code, std::string(what) + ": " + status.ToString());
}

// A miss is a common answer, so it must be cheap: a status with a code and
// no message or payload allocates nothing, where PegasusError() allocates
// both. ToErrorCode() maps its absl::StatusCode::kNotFound to
// PERR_NOT_FOUND, as the contract requires.
absl::Status KeyNotFound() {
  return absl::Status(absl::StatusCode::kNotFound, "");
}

std::string EncodeDecree(Decree decree) {
  std::string out;
  PutBigEndian64(&out, static_cast<uint64_t>(decree));
  return out;
}

class TtlCompactionFilter final : public rocksdb::CompactionFilter {
 public:
  TtlCompactionFilter(uint32_t now_s, uint32_t default_ttl_s)
      : now_s_(now_s), default_ttl_s_(default_ttl_s) {}

  const char* Name() const override { return "pegasus.TtlCompactionFilter"; }

  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/,
              const rocksdb::Slice& existing_value, std::string* new_value,
              bool* value_changed) const override {
    CompactionDecision decision = DecideCompaction(
        std::string_view(existing_value.data(), existing_value.size()), now_s_,
        default_ttl_s_, new_value);
    *value_changed = decision == CompactionDecision::kRewrite;
    return decision == CompactionDecision::kDrop;
  }

 private:
  uint32_t now_s_;
  uint32_t default_ttl_s_;
};

// Takes the time and default TTL once per compaction, so one compaction
// judges every row alike.
class TtlCompactionFilterFactory final : public rocksdb::CompactionFilterFactory {
 public:
  TtlCompactionFilterFactory(Clock* clock, uint32_t default_ttl_s,
                             bool filter_background)
      : clock_(clock),
        filter_background_(filter_background),
        default_ttl_s_(default_ttl_s) {}

  const char* Name() const override { return "pegasus.TtlCompactionFilterFactory"; }

  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& /*context*/) override {
    // RocksDB may satisfy Compact() with a compaction it scheduled itself
    // (its context then says automatic), so "inside Compact()" is ours to
    // track.
    if (!filter_background_ && !in_explicit_compaction_.load()) return nullptr;
    return std::make_unique<TtlCompactionFilter>(
        PegasusSecondsFromUnixMicros(clock_->WallNowUs()), default_ttl_s_.load());
  }

  void set_default_ttl_s(uint32_t ttl_s) { default_ttl_s_.store(ttl_s); }

  // Brackets an explicit Compact(): every compaction that starts meanwhile
  // filters, whoever scheduled it.
  void set_in_explicit_compaction(bool value) {
    in_explicit_compaction_.store(value);
  }

 private:
  Clock* clock_;
  const bool filter_background_;
  std::atomic<bool> in_explicit_compaction_{false};
  std::atomic<uint32_t> default_ttl_s_;
};

// Learns which decrees a flush made durable. Every Apply() writes the meta
// column family last in its batch, so the meta family's largest flushed
// sequence number is the sequence number of the last durable Apply().
class DurabilityTracker final : public rocksdb::EventListener {
 public:
  explicit DurabilityTracker(Decree durable) : durable_(durable) {}

  // Records that `decree` was written at sequence number `seqno`.
  void Applied(rocksdb::SequenceNumber seqno, Decree decree) {
    std::lock_guard<std::mutex> lock(mu_);
    if (seqno <= flushed_seqno_) {
      durable_ = decree;
    } else {
      pending_.emplace_back(seqno, decree);
    }
  }

  // Everything applied up to `decree` was flushed.
  void FlushedThrough(Decree decree) {
    std::lock_guard<std::mutex> lock(mu_);
    durable_ = std::max(durable_, decree);
    while (!pending_.empty() && pending_.front().second <= decree) {
      pending_.pop_front();
    }
  }

  Decree durable() const {
    std::lock_guard<std::mutex> lock(mu_);
    return durable_;
  }

  void OnFlushCompleted(rocksdb::DB* /*db*/,
                        const rocksdb::FlushJobInfo& info) override {
    if (info.cf_name != kMetaColumnFamily) return;
    std::lock_guard<std::mutex> lock(mu_);
    flushed_seqno_ = std::max(flushed_seqno_, info.largest_seqno);
    while (!pending_.empty() && pending_.front().first <= flushed_seqno_) {
      durable_ = std::max(durable_, pending_.front().second);
      pending_.pop_front();
    }
  }

 private:
  mutable std::mutex mu_;
  Decree durable_;
  rocksdb::SequenceNumber flushed_seqno_ = 0;
  std::deque<std::pair<rocksdb::SequenceNumber, Decree>> pending_;
};

class RocksDbIterator final : public StorageIterator {
 public:
  RocksDbIterator(std::unique_ptr<rocksdb::Iterator> it, std::string lower,
                  std::string upper)
      : lower_(std::move(lower)), upper_(std::move(upper)), it_(std::move(it)) {}

  // The bounds' storage must outlive the RocksDB iterator that points at it.
  static std::unique_ptr<StorageIterator> Create(
      rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
      const IteratorOptions& options) {
    auto result = std::unique_ptr<RocksDbIterator>(new RocksDbIterator(
        nullptr, options.lower_bound, options.upper_bound));
    rocksdb::ReadOptions read_options;
    if (!result->lower_.empty()) {
      result->lower_slice_ = rocksdb::Slice(result->lower_);
      read_options.iterate_lower_bound = &result->lower_slice_;
    }
    if (!result->upper_.empty()) {
      result->upper_slice_ = rocksdb::Slice(result->upper_);
      read_options.iterate_upper_bound = &result->upper_slice_;
    }
    read_options.total_order_seek = !options.within_one_hash_key;
    read_options.prefix_same_as_start = options.within_one_hash_key;
    result->it_.reset(db->NewIterator(read_options, cf));
    return result;
  }

  bool Valid() const override { return it_->Valid(); }
  void Seek(std::string_view target) override { it_->Seek(ToSlice(target)); }
  void SeekForPrev(std::string_view target) override {
    it_->SeekForPrev(ToSlice(target));
  }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override { return ToView(it_->key()); }
  std::string_view value() const override { return ToView(it_->value()); }
  absl::Status status() const override {
    return FromRocksDb(it_->status(), "iterate");
  }

 private:
  static rocksdb::Slice ToSlice(std::string_view s) {
    return rocksdb::Slice(s.data(), s.size());
  }
  static std::string_view ToView(const rocksdb::Slice& s) {
    return std::string_view(s.data(), s.size());
  }

  std::string lower_;
  std::string upper_;
  rocksdb::Slice lower_slice_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksDbEngine final : public StorageEngine {
 public:
  RocksDbEngine(std::unique_ptr<rocksdb::DB> db,
                std::vector<rocksdb::ColumnFamilyHandle*> handles,
                std::shared_ptr<TtlCompactionFilterFactory> filter_factory,
                std::shared_ptr<DurabilityTracker> tracker, Decree last_applied)
      : db_(std::move(db)),
        data_cf_(handles[0]),
        meta_cf_(handles[1]),
        filter_factory_(std::move(filter_factory)),
        tracker_(std::move(tracker)),
        last_applied_(last_applied) {
    write_options_.disableWAL = true;
  }

  ~RocksDbEngine() override {
    // Closing without a flush on purpose: the mutation log, not RocksDB,
    // holds what was applied since the last flush.
    db_->DestroyColumnFamilyHandle(data_cf_);
    db_->DestroyColumnFamilyHandle(meta_cf_);
    db_->Close().PermitUncheckedError();
  }

  absl::Status Apply(Decree decree, const WriteBatch& batch) override {
    PEGASUS_CHECK_GT(decree, last_applied_.load()) << "decrees apply in order";
    batch_.Clear();
    batch.ForEach([this](const WriteBatch::Op& op) {
      rocksdb::Slice key(op.key.data(), op.key.size());
      if (op.kind == WriteBatch::OpKind::kPut) {
        batch_.Put(data_cf_, key, rocksdb::Slice(op.value.data(), op.value.size()));
      } else {
        batch_.Delete(data_cf_, key);
      }
    });
    // Last in the batch, so the meta family's largest sequence number in a
    // flush identifies the last durable decree.
    batch_.Put(meta_cf_, kLastAppliedDecreeKey, EncodeDecree(decree));
    PEGASUS_RETURN_IF_ERROR(
        FromRocksDb(db_->Write(write_options_, &batch_), "write batch"));
    last_applied_.store(decree);
    tracker_->Applied(db_->GetLatestSequenceNumber(), decree);
    return absl::OkStatus();
  }

  absl::Status Get(std::string_view key, std::string* value) const override {
    rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), data_cf_,
                                      rocksdb::Slice(key.data(), key.size()), value);
    if (status.IsNotFound()) return KeyNotFound();
    return FromRocksDb(status, "get");
  }

  std::unique_ptr<StorageIterator> NewIterator(
      const IteratorOptions& options) const override {
    return RocksDbIterator::Create(db_.get(), data_cf_, options);
  }

  Decree LastAppliedDecree() const override { return last_applied_.load(); }
  Decree LastDurableDecree() const override { return tracker_->durable(); }

  absl::Status Flush() override {
    Decree applied = last_applied_.load();
    rocksdb::FlushOptions flush_options;
    flush_options.wait = true;
    PEGASUS_RETURN_IF_ERROR(FromRocksDb(
        db_->Flush(flush_options, {data_cf_, meta_cf_}), "flush"));
    tracker_->FlushedThrough(applied);
    return absl::OkStatus();
  }

  // RocksDB's flush thread writes the memtables; the listener moves the
  // durable decree when it is done.
  absl::Status StartFlush() override {
    rocksdb::FlushOptions flush_options;
    flush_options.wait = false;
    flush_options.allow_write_stall = true;
    return FromRocksDb(db_->Flush(flush_options, {data_cf_, meta_cf_}),
                       "flush");
  }

  absl::StatusOr<Decree> Checkpoint(const std::string& dir) override {
    // The WAL is off, so the memtables must reach SST files first.
    PEGASUS_RETURN_IF_ERROR(Flush());
    rocksdb::Checkpoint* raw = nullptr;
    PEGASUS_RETURN_IF_ERROR(FromRocksDb(
        rocksdb::Checkpoint::Create(db_.get(), &raw), "create checkpoint"));
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    PEGASUS_RETURN_IF_ERROR(FromRocksDb(
        checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0),
        "checkpoint into " + dir));
    return last_applied_.load();
  }

  absl::Status Compact() override {
    // CompactRange would flush the memtables anyway; flushing first keeps
    // the durable decree exact.
    filter_factory_->set_in_explicit_compaction(true);
    absl::Status status = Flush();
    if (status.ok()) {
      rocksdb::CompactRangeOptions options;
      options.bottommost_level_compaction =
          rocksdb::BottommostLevelCompaction::kForce;
      status = FromRocksDb(
          db_->CompactRange(options, data_cf_, nullptr, nullptr), "compact");
    }
    filter_factory_->set_in_explicit_compaction(false);
    return status;
  }

  void SetDefaultTtl(uint32_t ttl_s) override {
    filter_factory_->set_default_ttl_s(ttl_s);
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* data_cf_;
  rocksdb::ColumnFamilyHandle* meta_cf_;
  std::shared_ptr<TtlCompactionFilterFactory> filter_factory_;
  std::shared_ptr<DurabilityTracker> tracker_;
  std::atomic<Decree> last_applied_;
  rocksdb::WriteOptions write_options_;
  rocksdb::WriteBatch batch_;  // Reused by Apply() (one caller at a time).
};

rocksdb::ColumnFamilyOptions DataFamilyOptions(
    const RocksDbEngineOptions& options,
    std::shared_ptr<TtlCompactionFilterFactory> filter_factory) {
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = options.write_buffer_size_bytes;
  cf.max_write_buffer_number = options.max_write_buffer_number;
  cf.compression = options.lz4_compression ? rocksdb::kLZ4Compression
                                           : rocksdb::kNoCompression;
  cf.prefix_extractor = NewHashKeyPrefixExtractor();
  cf.compaction_filter_factory = std::move(filter_factory);

  rocksdb::BlockBasedTableOptions table;
  table.block_size = options.block_size_bytes;
  table.block_cache = options.shared_block_cache != nullptr
                          ? options.shared_block_cache
                          : rocksdb::NewLRUCache(options.block_cache_size_bytes);
  if (options.bloom_bits_per_key > 0) {
    table.filter_policy.reset(
        rocksdb::NewBloomFilterPolicy(options.bloom_bits_per_key));
    table.whole_key_filtering = true;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return cf;
}

// The meta family takes one put per Apply(), always of the same key. Each
// one sorts before the last (same key, newer sequence number), which defeats
// the skip list's shortcut for ascending inserts and costs a full descent,
// about as much as inserting the data row itself. A vector memtable appends
// instead and sorts once, when the flush thread reads it: Apply() gets
// cheaper and the flush dearer, by less than Apply() saves.
rocksdb::ColumnFamilyOptions MetaFamilyOptions() {
  rocksdb::ColumnFamilyOptions cf;
  cf.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
  return cf;
}

// Writes the meta family of a new data directory and flushes it.
rocksdb::Status Initialize(rocksdb::DB* db,
                           const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  std::string version;
  PutBigEndian32(&version, kDataVersion);
  rocksdb::WriteBatch init;
  init.Put(handles[1], kDataVersionKey, version);
  init.Put(handles[1], kLastAppliedDecreeKey, EncodeDecree(kNoDecree));
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;
  rocksdb::Status status = db->Write(write_options, &init);
  if (status.ok()) status = db->Flush(rocksdb::FlushOptions(), handles);
  return status;
}

// True when the data family holds no row at all.
bool DataIsEmpty(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* data) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), data));
  it->SeekToFirst();
  return !it->Valid() && it->status().ok();
}

absl::StatusOr<Decree> ReadMeta(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
  std::string version;
  rocksdb::Status status = db->Get(rocksdb::ReadOptions(), meta, kDataVersionKey, &version);
  if (!status.ok() && !status.IsNotFound()) {
    return FromRocksDb(status, "read the data version");
  }
  if (!status.ok() || version.size() != 4) {
    return PegasusError(ErrorCode::kCorruption,
                        "pegasus meta column family has no valid data version");
  }
  if (DecodeBigEndian32(version.data()) != kDataVersion) {
    return PegasusError(ErrorCode::kCorruption,
                        "data version " +
                            std::to_string(DecodeBigEndian32(version.data())) +
                            " is not the version this build reads (" +
                            std::to_string(kDataVersion) + ")");
  }
  std::string decree;
  status = db->Get(rocksdb::ReadOptions(), meta, kLastAppliedDecreeKey, &decree);
  if (status.IsNotFound()) return kNoDecree;
  if (!status.ok() || decree.size() != 8) {
    return PegasusError(ErrorCode::kCorruption, "malformed last applied decree");
  }
  return static_cast<Decree>(DecodeBigEndian64(decree.data()));
}

// Initializes the meta family of a new directory, then reads the last
// applied decree.
absl::StatusOr<Decree> PrepareMeta(rocksdb::DB* db,
                                   const std::vector<rocksdb::ColumnFamilyHandle*>& handles,
                                   bool fresh, const std::string& dir) {
  // RocksDB records the column families before Initialize() flushes the
  // meta family, so a crash in between leaves a directory with an empty meta
  // family and no data: finish the initialization rather than refuse it.
  std::string version;
  bool unfinished =
      !fresh &&
      db->Get(rocksdb::ReadOptions(), handles[1], kDataVersionKey, &version).IsNotFound() &&
      DataIsEmpty(db, handles[0]);
  if (fresh || unfinished) {
    PEGASUS_RETURN_IF_ERROR(FromRocksDb(Initialize(db, handles), "initialize " + dir));
  }
  return ReadMeta(db, handles[1]);
}

}  // namespace

absl::StatusOr<std::unique_ptr<StorageEngine>> OpenRocksDbEngine(
    const std::string& dir, const RocksDbEngineOptions& options) {
  auto filter_factory = std::make_shared<TtlCompactionFilterFactory>(
      options.clock, options.default_ttl_s, options.drop_expired_in_background);
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.atomic_flush = true;
  // RocksDB flushes on close when the WAL is off; the contract is that only
  // an explicit (or automatic) flush persists, as after a crash.
  db_options.avoid_flush_during_shutdown = true;
  db_options.max_background_jobs = options.max_background_jobs;
  // Required by the meta family's vector memtable. It costs nothing: Apply()
  // has one caller at a time, so there are never concurrent inserts.
  db_options.allow_concurrent_memtable_write = false;
  auto tracker = std::make_shared<DurabilityTracker>(kNoDecree);
  db_options.listeners.push_back(tracker);

  std::vector<std::string> existing;
  bool fresh = !rocksdb::DB::ListColumnFamilies(db_options, dir, &existing).ok();
  if (!fresh && std::find(existing.begin(), existing.end(), kMetaColumnFamily) ==
                    existing.end()) {
    return PegasusError(ErrorCode::kCorruption,
                        dir + " holds a RocksDB instance without " +
                            kMetaColumnFamily + "; not a Pegasus data directory");
  }
  db_options.create_missing_column_families = fresh;

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, DataFamilyOptions(options, filter_factory)},
      {kMetaColumnFamily, MetaFamilyOptions()},
  };
  // No Pegasus directory has other families; refuse to open one that does
  // rather than drop them silently.
  if (!fresh && existing.size() != families.size()) {
    return PegasusError(ErrorCode::kCorruption,
                        dir + " has unexpected column families");
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  PEGASUS_RETURN_IF_ERROR(FromRocksDb(
      rocksdb::DB::Open(db_options, dir, families, &handles, &raw), "open " + dir));
  std::unique_ptr<rocksdb::DB> db(raw);
  absl::StatusOr<Decree> last_applied = PrepareMeta(db.get(), handles, fresh, dir);
  if (!last_applied.ok()) {
    for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
    return last_applied.status();
  }
  // With the WAL off, everything a fresh open sees was flushed.
  tracker->FlushedThrough(*last_applied);
  return std::unique_ptr<StorageEngine>(new RocksDbEngine(
      std::move(db), std::move(handles), std::move(filter_factory), tracker,
      *last_applied));
}

std::shared_ptr<const rocksdb::SliceTransform> NewHashKeyPrefixExtractor() {
  return std::make_shared<HashKeyPrefixExtractor>();
}

}  // namespace pegasus
