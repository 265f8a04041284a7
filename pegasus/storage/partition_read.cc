// The read half of Partition: point reads, multi_get and its relatives.

#include <algorithm>
#include <limits>

#include "pegasus/base/key_schema.h"
#include "pegasus/base/status.h"
#include "pegasus/base/value_schema.h"
#include "pegasus/storage/key_range.h"
#include "pegasus/storage/partition.h"
#include "pegasus/storage/predicates.h"

namespace pegasus {
namespace {

absl::Status Missing() {
  return PegasusError(ErrorCode::kNotFound, "not found or expired");
}

// Reads a row that exists and has not expired at now_s: *raw holds the
// stored bytes, *fields views into it. PERR_NOT_FOUND otherwise.
absl::Status ReadLive(const StorageEngine& engine, std::string_view key,
                      uint32_t now_s, std::string* raw, ValueFields* fields) {
  PEGASUS_RETURN_IF_ERROR(engine.Get(key, raw));
  PEGASUS_ASSIGN_OR_RETURN(*fields, DecodeValue(*raw));
  if (IsExpired(fields->expire_ts, now_s)) return Missing();
  return absl::OkStatus();
}

bool IsMissing(const absl::Status& status) {
  return HasErrorCode(status, ErrorCode::kNotFound);
}

// A multi_get's limits once the request's and the server's are combined.
struct Limits {
  int64_t rows;
  uint64_t bytes;
  int64_t iterations;
};

Limits MultiGetLimits(const MultiGetRequest& request,
                      const PartitionOptions& options) {
  Limits limits;
  int64_t cap = options.multi_get_max_iteration_count;
  limits.rows = request.max_kv_count > 0 ? std::min<int64_t>(request.max_kv_count, cap)
                                         : cap;
  limits.bytes = request.max_kv_size > 0 ? static_cast<uint64_t>(request.max_kv_size)
                                         : std::numeric_limits<uint64_t>::max();
  if (options.multi_get_max_iteration_size_bytes != 0) {
    limits.bytes = std::min(limits.bytes, options.multi_get_max_iteration_size_bytes);
  }
  limits.iterations = cap;
  return limits;
}

// Point mode: the listed sort keys, in request order.
void MultiGetPoints(const StorageEngine& engine, const MultiGetRequest& request,
                    const Limits& limits, uint32_t now_s,
                    MultiGetResponse* response) {
  uint64_t bytes = 0;
  std::string raw;
  for (const std::string& sort_key : request.sort_keys) {
    ValueFields fields;
    absl::Status status = ReadLive(engine, EncodeStorageKey(request.hash_key, sort_key),
                                   now_s, &raw, &fields);
    if (IsMissing(status)) continue;
    if (!status.ok()) {
      response->status = status;
      response->kvs.clear();
      return;
    }
    if (static_cast<int64_t>(response->kvs.size()) >= limits.rows ||
        bytes >= limits.bytes) {
      response->status = PegasusError(ErrorCode::kIncomplete, "multi_get hit a limit");
      return;
    }
    std::string value = request.no_value ? "" : std::string(fields.user_data);
    bytes += sort_key.size() + value.size();
    response->kvs.push_back(KeyValue{sort_key, std::move(value)});
  }
}

// The storage-key range a range-mode multi_get covers (its stop is never
// empty: at most the end of the hash key).
KeyRange MultiGetRange(const MultiGetRequest& request, const std::string& prefix) {
  KeyRange range{prefix + request.start_sort_key, "", request.start_inclusive, false};
  if (request.stop_sort_key.empty()) {
    range.stop = PrefixSuccessor(prefix);
  } else {
    range.stop = prefix + request.stop_sort_key;
    range.stop_inclusive = request.stop_inclusive;
  }
  // A prefix filter narrows the range itself (rows are still filtered).
  if (request.sort_key_filter_type == FilterType::kMatchPrefix &&
      !request.sort_key_filter_pattern.empty()) {
    std::string prefix_start = prefix + request.sort_key_filter_pattern;
    std::string prefix_stop = PrefixSuccessor(prefix_start);
    if (prefix_start > range.start) {
      range.start = prefix_start;
      range.start_inclusive = true;
    }
    if (prefix_stop <= range.stop) {
      range.stop = prefix_stop;
      range.stop_inclusive = false;
    }
  }
  return range;
}

// Range mode. Returns the rows in ascending order also when reverse.
void MultiGetRangeRows(const StorageEngine& engine, const MultiGetRequest& request,
                       const Limits& limits, uint32_t now_s,
                       MultiGetResponse* response) {
  std::string prefix = HashKeyPrefix(request.hash_key);
  KeyRange range = MultiGetRange(request, prefix);
  if (range.Empty()) return;

  IteratorOptions options;
  options.lower_bound = prefix;
  options.upper_bound = PrefixSuccessor(prefix);
  options.within_one_hash_key = !request.reverse;
  std::unique_ptr<StorageIterator> it = engine.NewIterator(options);
  auto advance = [&] { request.reverse ? it->Prev() : it->Next(); };
  if (request.reverse) {
    range.SeekToStop(it.get());
  } else {
    range.SeekToStart(it.get());
  }

  bool complete = false;
  int64_t iterations = 0;
  uint64_t bytes = 0;
  for (;; advance()) {
    if (!it->Valid() ||
        (request.reverse ? range.BeforeStart(it->key()) : range.BeyondStop(it->key()))) {
      complete = true;
      break;
    }
    if (static_cast<int64_t>(response->kvs.size()) >= limits.rows ||
        iterations >= limits.iterations || bytes >= limits.bytes) {
      break;
    }
    ++iterations;
    absl::StatusOr<ValueFields> fields = DecodeValue(it->value());
    if (!fields.ok()) {
      response->status = fields.status();
      response->kvs.clear();
      return;
    }
    if (IsExpired(fields->expire_ts, now_s)) continue;
    std::string_view sort_key = it->key().substr(prefix.size());
    if (!MatchesFilter(request.sort_key_filter_type, request.sort_key_filter_pattern,
                       sort_key)) {
      continue;
    }
    std::string value = request.no_value ? "" : std::string(fields->user_data);
    bytes += sort_key.size() + value.size();
    response->kvs.push_back(KeyValue{std::string(sort_key), std::move(value)});
  }
  if (!it->status().ok()) {
    response->status = it->status();
    response->kvs.clear();
    return;
  }
  if (request.reverse) std::reverse(response->kvs.begin(), response->kvs.end());
  if (!complete) {
    response->status = PegasusError(ErrorCode::kIncomplete, "multi_get hit a limit");
  }
}

}  // namespace

void Partition::SetDefaultTtl(uint32_t ttl_s) {
  default_ttl_s_.store(ttl_s);
  engine_->SetDefaultTtl(ttl_s);
}

GetResponse Partition::Get(std::string_view hash_key, std::string_view sort_key,
                           int64_t now_us) const {
  GetResponse response;
  response.status = ValidateHashKey(hash_key);
  if (!response.status.ok()) return response;
  std::string raw;
  ValueFields fields;
  response.status = ReadLive(*engine_, EncodeStorageKey(hash_key, sort_key),
                             PegasusSecondsFromUnixMicros(now_us), &raw, &fields);
  if (response.status.ok()) response.value = std::string(fields.user_data);
  return response;
}

MultiGetResponse Partition::MultiGet(const MultiGetRequest& request,
                                     int64_t now_us) const {
  MultiGetResponse response;
  response.status = ValidateHashKey(request.hash_key);
  if (!response.status.ok()) return response;
  response.status = ValidateFilterType(request.sort_key_filter_type);
  if (!response.status.ok()) return response;
  Limits limits = MultiGetLimits(request, options_);
  uint32_t now_s = PegasusSecondsFromUnixMicros(now_us);
  if (!request.sort_keys.empty()) {
    MultiGetPoints(*engine_, request, limits, now_s, &response);
  } else {
    MultiGetRangeRows(*engine_, request, limits, now_s, &response);
  }
  return response;
}

SortKeysResponse Partition::MultiGetSortKeys(std::string_view hash_key,
                                             int32_t max_kv_count,
                                             int32_t max_kv_size,
                                             int64_t now_us) const {
  MultiGetRequest request;
  request.hash_key = std::string(hash_key);
  request.max_kv_count = max_kv_count;
  request.max_kv_size = max_kv_size;
  request.no_value = true;
  MultiGetResponse rows = MultiGet(request, now_us);
  SortKeysResponse response;
  response.status = rows.status;
  for (KeyValue& kv : rows.kvs) response.sort_keys.push_back(std::move(kv.key));
  return response;
}

SortKeyCountResponse Partition::SortKeyCount(std::string_view hash_key,
                                             int64_t now_us) const {
  SortKeyCountResponse response;
  response.status = ValidateHashKey(hash_key);
  if (!response.status.ok()) return response;
  uint32_t now_s = PegasusSecondsFromUnixMicros(now_us);
  std::string prefix = HashKeyPrefix(hash_key);
  IteratorOptions options;
  options.lower_bound = prefix;
  options.upper_bound = PrefixSuccessor(prefix);
  options.within_one_hash_key = true;
  std::unique_ptr<StorageIterator> it = engine_->NewIterator(options);
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    absl::StatusOr<ValueFields> fields = DecodeValue(it->value());
    if (!fields.ok()) {
      response.status = fields.status();
      response.count = 0;
      return response;
    }
    if (!IsExpired(fields->expire_ts, now_s)) ++response.count;
  }
  response.status = it->status();
  if (!response.status.ok()) response.count = 0;
  return response;
}

TtlResponse Partition::Ttl(std::string_view hash_key, std::string_view sort_key,
                           int64_t now_us) const {
  TtlResponse response;
  response.status = ValidateHashKey(hash_key);
  if (!response.status.ok()) return response;
  uint32_t now_s = PegasusSecondsFromUnixMicros(now_us);
  std::string raw;
  ValueFields fields;
  response.status =
      ReadLive(*engine_, EncodeStorageKey(hash_key, sort_key), now_s, &raw, &fields);
  if (response.status.ok()) {
    response.ttl_s = fields.expire_ts == 0
                         ? -1
                         : static_cast<int32_t>(std::min<uint32_t>(
                               fields.expire_ts - now_s,
                               std::numeric_limits<int32_t>::max()));
  }
  return response;
}

absl::Status Partition::Exist(std::string_view hash_key, std::string_view sort_key,
                              int64_t now_us) const {
  return Ttl(hash_key, sort_key, now_us).status;
}

BatchGetResponse Partition::BatchGet(std::span<const FullKey> keys,
                                     int64_t now_us) const {
  BatchGetResponse response;
  if (keys.empty()) {
    response.status = PegasusError(ErrorCode::kInvalidArgument,
                                   "batch_get needs at least one key");
    return response;
  }
  const size_t max_keys =
      static_cast<size_t>(options_.multi_get_max_iteration_count);
  if (keys.size() > max_keys) {
    response.status =
        PegasusError(ErrorCode::kInvalidArgument,
                     "batch_get of " + std::to_string(keys.size()) +
                         " keys exceeds multi_get_max_iteration_count (" +
                         std::to_string(max_keys) + ")");
    return response;
  }
  for (const FullKey& key : keys) {
    response.status = ValidateHashKey(key.hash_key);
    if (!response.status.ok()) return response;
  }
  uint32_t now_s = PegasusSecondsFromUnixMicros(now_us);
  std::string raw;
  for (const FullKey& key : keys) {
    ValueFields fields;
    absl::Status status = ReadLive(*engine_, EncodeStorageKey(key.hash_key, key.sort_key),
                                   now_s, &raw, &fields);
    if (IsMissing(status)) continue;
    if (!status.ok()) {
      response.status = status;
      response.data.clear();
      return response;
    }
    response.data.push_back(
        FullData{key.hash_key, key.sort_key, std::string(fields.user_data)});
  }
  return response;
}

}  // namespace pegasus
