// Scanners: a scan context keeps an engine iterator between calls.

#include "pegasus/base/key_schema.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/storage/key_range.h"
#include "pegasus/storage/partition.h"
#include "pegasus/storage/predicates.h"

namespace pegasus {

struct Partition::ScanContext {
  std::unique_ptr<StorageIterator> it;
  KeyRange range;
  GetScannerRequest request;  // Filters and output options.
  int32_t batch_count = 0;
  int64_t last_used_us = 0;
};

Partition::Partition(StorageEngine* engine, PartitionOptions options)
    : engine_(engine),
      options_(options),
      default_ttl_s_(options.default_ttl_s),
      scan_context_id_base_(options.scan_context_id_base),
      scan_context_id_end_(INT64_MAX),
      next_scan_context_id_(options.scan_context_id_base) {
  PEGASUS_CHECK_GE(options.scan_context_id_base, 0) << "ids below 0 are reserved";
  PEGASUS_CHECK_GT(options.scan_max_iteration_count, 0);
  PEGASUS_CHECK_GT(options.multi_get_max_iteration_count, 0);
  PEGASUS_CHECK_GT(options.max_scan_contexts, 0u);
  engine_->SetDefaultTtl(options.default_ttl_s);
}

Partition::~Partition() = default;

GetScannerRequest GetScannerRequest::ForHashKey(const std::string& hash_key,
                                                const std::string& start_sort_key,
                                                const std::string& stop_sort_key,
                                                bool start_inclusive,
                                                bool stop_inclusive) {
  GetScannerRequest request;
  request.hash_key = hash_key;
  if (!ValidateHashKey(hash_key).ok()) return request;  // GetScanner() says why.
  request.start_key = EncodeStorageKey(hash_key, start_sort_key);
  request.start_inclusive = start_inclusive;
  if (stop_sort_key.empty()) {
    request.stop_key = PrefixSuccessor(HashKeyPrefix(hash_key));
    request.stop_inclusive = false;
  } else {
    request.stop_key = EncodeStorageKey(hash_key, stop_sort_key);
    request.stop_inclusive = stop_inclusive;
  }
  return request;
}

GetScannerRequest GetScannerRequest::ForFullScan() { return GetScannerRequest(); }

ScanResponse Partition::GetScanner(const GetScannerRequest& request, int64_t now_us) {
  ScanResponse response;
  if (request.hash_key.has_value()) {
    response.status = ValidateHashKey(*request.hash_key);
    if (!response.status.ok()) return response;
  }
  for (FilterType type : {request.hash_key_filter_type, request.sort_key_filter_type}) {
    response.status = ValidateFilterType(type);
    if (!response.status.ok()) return response;
  }
  DropIdleScanContexts(now_us);

  KeyRange range{request.start_key, request.stop_key, request.start_inclusive,
                 request.stop_inclusive};
  // Hash keys sort by length first, so no hash key matching a prefix pattern
  // sorts before the pattern's own first key.
  if (request.hash_key_filter_type == FilterType::kMatchPrefix &&
      !request.hash_key_filter_pattern.empty() &&
      request.hash_key_filter_pattern.size() <= kMaxHashKeyBytes) {
    std::string pattern_start = HashKeyPrefix(request.hash_key_filter_pattern);
    if (pattern_start > range.start) {
      range.start = std::move(pattern_start);
      range.start_inclusive = true;
    }
  }
  if (range.Empty()) return response;  // Complete at once.

  auto context = std::make_unique<ScanContext>();
  IteratorOptions options;
  if (!range.stop.empty()) {
    // The smallest key after stop is stop + "\0".
    options.upper_bound = range.stop;
    if (range.stop_inclusive) options.upper_bound.push_back('\0');
  }
  context->it = engine_->NewIterator(options);
  range.SeekToStart(context->it.get());
  context->range = std::move(range);
  context->request = request;
  int32_t cap = options_.scan_max_iteration_count;
  context->batch_count =
      request.batch_size > 0 && request.batch_size < cap ? request.batch_size : cap;
  return RunScan(std::move(context), now_us);
}

ScanResponse Partition::Scan(int64_t context_id, int64_t now_us) {
  DropIdleScanContexts(now_us);
  auto it = scan_contexts_.find(context_id);
  if (it == scan_contexts_.end()) {
    ScanResponse response;
    response.status = PegasusError(ErrorCode::kNotFound,
                                   "scan context " + std::to_string(context_id) +
                                       " does not exist (finished, cleared or evicted)");
    response.context_id = kScanContextNotExist;
    return response;
  }
  std::unique_ptr<ScanContext> context = std::move(it->second);
  scan_contexts_.erase(it);
  return RunScan(std::move(context), now_us);
}

ScanResponse Partition::RunScan(std::unique_ptr<ScanContext> context,
                                int64_t now_us) {
  ScanResponse response;
  const GetScannerRequest& request = context->request;
  uint32_t now_s = PegasusSecondsFromUnixMicros(now_us);
  StorageIterator* it = context->it.get();
  int32_t matched = 0;
  int32_t iterations = 0;
  for (; it->Valid() && !context->range.BeyondStop(it->key()); it->Next()) {
    if (matched >= context->batch_count ||
        iterations >= options_.scan_max_iteration_count) {
      break;
    }
    ++iterations;
    std::string_view hash_key, sort_key;
    absl::Status status = DecodeStorageKey(it->key(), &hash_key, &sort_key);
    absl::StatusOr<ValueFields> fields = DecodeValue(it->value());
    if (status.ok()) status = fields.status();
    if (!status.ok()) {
      response.status = status;
      response.kvs.clear();
      return response;
    }
    if (IsExpired(fields->expire_ts, now_s) ||
        !MatchesFilter(request.hash_key_filter_type, request.hash_key_filter_pattern,
                       hash_key) ||
        !MatchesFilter(request.sort_key_filter_type, request.sort_key_filter_pattern,
                       sort_key)) {
      continue;
    }
    ++matched;
    if (request.only_return_count) continue;
    ScanKeyValue kv{std::string(hash_key), std::string(sort_key), "", 0};
    if (!request.no_value) kv.value = std::string(fields->user_data);
    if (request.return_expire_ts) kv.expire_ts_s = fields->expire_ts;
    response.kvs.push_back(std::move(kv));
  }
  response.kv_count = matched;
  if (!it->status().ok()) {
    response.status = it->status();
    response.kvs.clear();
    return response;
  }
  if (!it->Valid() || context->range.BeyondStop(it->key())) {
    response.context_id = kScanContextCompleted;
    return response;
  }
  // More to come: keep the context under a fresh id, evicting the least
  // recently used context beyond the bound.
  context->last_used_us = now_us;
  if (next_scan_context_id_ == scan_context_id_end_) {
    // Every id of the range is used up: numbering starts over, and the
    // contexts whose ids it will hand out again go.
    scan_contexts_.clear();
    next_scan_context_id_ = scan_context_id_base_;
  }
  response.context_id = next_scan_context_id_++;
  scan_contexts_.emplace(response.context_id, std::move(context));
  while (scan_contexts_.size() > options_.max_scan_contexts) {
    scan_contexts_.erase(scan_contexts_.begin());
  }
  return response;
}

void Partition::ClearScanner(int64_t context_id) { scan_contexts_.erase(context_id); }

void Partition::ResetScanContexts(int64_t id_base, int64_t id_count) {
  PEGASUS_CHECK_GE(id_base, 0) << "ids below 0 are reserved";
  PEGASUS_CHECK_GT(id_count, 0);
  PEGASUS_CHECK_LE(id_base, INT64_MAX - id_count);
  scan_contexts_.clear();
  scan_context_id_base_ = id_base;
  scan_context_id_end_ = id_base + id_count;
  next_scan_context_id_ = id_base;
}

size_t Partition::open_scan_contexts() const { return scan_contexts_.size(); }

void Partition::DropIdleScanContexts(int64_t now_us) {
  for (auto it = scan_contexts_.begin(); it != scan_contexts_.end();) {
    if (now_us - it->second->last_used_us > options_.scan_context_idle_timeout_us) {
      it = scan_contexts_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace pegasus
