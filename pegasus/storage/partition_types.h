// The requests and responses of one partition's data operations: Pegasus's
// whole data API (rrdb.thrift), field for field where Pegasus has the field.
//
// Times: every `*_expire_ts_s` is an absolute expiry in seconds since
// Pegasus's epoch (2016-01-01 UTC), as on Pegasus's wire; 0 means none. Use
// ExpireTsFromTtl() to turn a TTL into one.
//
// Every response has a `status`: OK, or a status carrying the Pegasus error
// code (status.h) the operation ends with. Fields other than `status` hold
// what Pegasus returns alongside that code.

#ifndef PEGASUS_STORAGE_PARTITION_TYPES_H_
#define PEGASUS_STORAGE_PARTITION_TYPES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "pegasus/base/ids.h"

namespace pegasus {

// How a hash key or sort key is matched against a pattern. An empty pattern
// matches everything.
enum class FilterType : int32_t {
  kNoFilter = 0,
  kMatchAnywhere = 1,
  kMatchPrefix = 2,
  kMatchPostfix = 3,
};

// The 18 checks of check_and_set / check_and_mutate, with Pegasus's values.
// A check on a missing (or expired) value fails, except the "not exist"
// checks and kNoCheck. The int checks parse the stored value and the operand
// as int64 (see ParseInt64); a parse failure is PERR_INVALID_ARGUMENT.
enum class CheckType : int32_t {
  kNoCheck = 0,
  kValueNotExist = 1,
  kValueNotExistOrEmpty = 2,
  kValueExist = 3,
  kValueNotEmpty = 4,
  kValueMatchAnywhere = 5,
  kValueMatchPrefix = 6,
  kValueMatchPostfix = 7,
  kValueBytesLess = 8,
  kValueBytesLessOrEqual = 9,
  kValueBytesEqual = 10,
  kValueBytesGreaterOrEqual = 11,
  kValueBytesGreater = 12,
  kValueIntLess = 13,
  kValueIntLessOrEqual = 14,
  kValueIntEqual = 15,
  kValueIntGreaterOrEqual = 16,
  kValueIntGreater = 17,
};

enum class MutateOperation : int32_t { kPut = 0, kDelete = 1 };

// A sort key and its value.
struct KeyValue {
  std::string key;
  std::string value;

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// ---- Writes ----------------------------------------------------------------

struct PutRequest {
  std::string hash_key;
  std::string sort_key;
  std::string value;
  uint32_t expire_ts_s = 0;
};

// REQUIRES for success: kvs not empty (else PERR_INVALID_VALUE).
struct MultiPutRequest {
  std::string hash_key;
  std::vector<KeyValue> kvs;
  uint32_t expire_ts_s = 0;
};

struct RemoveRequest {
  std::string hash_key;
  std::string sort_key;
};

// REQUIRES for success: sort_keys not empty (else PERR_INVALID_VALUE).
struct MultiRemoveRequest {
  std::string hash_key;
  std::vector<std::string> sort_keys;
};

// Adds `increment` to the value parsed as an int64 (a missing, expired or
// empty value counts as 0) and stores the sum as decimal text.
// expire_ts_s: 0 keeps the current expiry (none for a new value), > 0 sets
// it, < 0 clears it.
struct IncrRequest {
  std::string hash_key;
  std::string sort_key;
  int64_t increment = 0;
  int32_t expire_ts_s = 0;
};

// If the check on check_sort_key passes, sets (set_diff_sort_key ?
// set_sort_key : check_sort_key) to set_value.
struct CheckAndSetRequest {
  std::string hash_key;
  std::string check_sort_key;
  CheckType check_type = CheckType::kNoCheck;
  std::string check_operand;
  bool set_diff_sort_key = false;
  std::string set_sort_key;
  std::string set_value;
  uint32_t set_expire_ts_s = 0;
  bool return_check_value = false;
};

struct Mutate {
  MutateOperation operation = MutateOperation::kPut;
  std::string sort_key;
  std::string value;          // kPut only.
  uint32_t set_expire_ts_s = 0;  // kPut only.
};

// If the check passes, applies mutate_list in order, atomically.
// REQUIRES for success: mutate_list not empty (else PERR_INVALID_ARGUMENT).
struct CheckAndMutateRequest {
  std::string hash_key;
  std::string check_sort_key;
  CheckType check_type = CheckType::kNoCheck;
  std::string check_operand;
  std::vector<Mutate> mutate_list;
  bool return_check_value = false;
};

using WriteRequest =
    std::variant<PutRequest, MultiPutRequest, RemoveRequest, MultiRemoveRequest,
                 IncrRequest, CheckAndSetRequest, CheckAndMutateRequest>;

// The answer to one write. Which fields mean something depends on the
// request: new_value for incr (on overflow, the old value); count for
// multi_remove (the number of sort keys requested, as Pegasus counts);
// check_* and check_succeeded for check_and_set and check_and_mutate, where a
// failed check is status PERR_TRY_AGAIN with check_succeeded false.
struct WriteResponse {
  absl::Status status;
  Decree decree = kNoDecree;
  int64_t new_value = 0;
  int64_t count = 0;
  bool check_succeeded = false;
  bool check_value_returned = false;
  bool check_value_exist = false;
  std::string check_value;
};

// ---- Reads -----------------------------------------------------------------

struct GetResponse {
  absl::Status status;  // PERR_NOT_FOUND when missing or expired.
  std::string value;
};

// Reads one hash key: the listed sort keys, or (with sort_keys empty) a range
// of sort keys.
struct MultiGetRequest {
  std::string hash_key;
  // Point mode: these sort keys, answered in this order; missing and expired
  // ones are left out. The range, filter and reverse fields are ignored.
  std::vector<std::string> sort_keys;
  // At most this many rows (<= 0: the server's cap of
  // multi_get_max_iteration_count) and about this many bytes of sort keys
  // plus values (<= 0: unlimited); the row that crosses max_kv_size is still
  // returned. A read that stops at a limit before the end of the range (or
  // of the listed sort keys that exist) has status PERR_INCOMPLETE; in range
  // mode the rows not yet read may still turn out expired or filtered.
  int32_t max_kv_count = 100;
  int32_t max_kv_size = 1000000;
  bool no_value = false;
  // Range mode: from start_sort_key to stop_sort_key ("" = to the end of the
  // hash key, exclusive).
  std::string start_sort_key;
  std::string stop_sort_key;
  bool start_inclusive = true;
  bool stop_inclusive = false;
  FilterType sort_key_filter_type = FilterType::kNoFilter;
  std::string sort_key_filter_pattern;
  // Take rows from the end of the range; they are still returned in
  // ascending sort-key order.
  bool reverse = false;
};

struct MultiGetResponse {
  absl::Status status;  // OK, PERR_INCOMPLETE (kvs hold a prefix), or error.
  std::vector<KeyValue> kvs;
};

struct SortKeysResponse {
  absl::Status status;  // As MultiGetResponse.
  std::vector<std::string> sort_keys;
};

struct SortKeyCountResponse {
  absl::Status status;
  int64_t count = 0;
};

struct TtlResponse {
  absl::Status status;  // PERR_NOT_FOUND when missing or expired.
  // Seconds left, or -1 when the value never expires.
  int32_t ttl_s = 0;
};

struct FullKey {
  std::string hash_key;
  std::string sort_key;
};

struct FullData {
  std::string hash_key;
  std::string sort_key;
  std::string value;

  friend bool operator==(const FullData&, const FullData&) = default;
};

struct BatchGetResponse {
  absl::Status status;
  // Found rows, in request order; missing and expired keys are left out.
  std::vector<FullData> data;
};

// ---- Scanners --------------------------------------------------------------

// Context ids in scan responses: >= 0 names a live scan context.
inline constexpr int64_t kScanContextCompleted = -1;
inline constexpr int64_t kScanContextNotExist = -2;

// Opens a scan over storage keys [start_key, stop_key]. Use ForHashKey() or
// ForFullScan() to build the keys as Pegasus's clients do.
struct GetScannerRequest {
  std::string start_key;  // Storage key; "" = the first key.
  std::string stop_key;   // Storage key; "" = past the last key.
  bool start_inclusive = true;
  bool stop_inclusive = false;
  // Rows returned per call; <= 0 or above the server cap means the cap
  // (scan_max_iteration_count).
  int32_t batch_size = 100;
  bool no_value = false;
  FilterType hash_key_filter_type = FilterType::kNoFilter;
  std::string hash_key_filter_pattern;
  FilterType sort_key_filter_type = FilterType::kNoFilter;
  std::string sort_key_filter_pattern;
  bool return_expire_ts = false;
  // Count matching rows instead of returning them (kv_count).
  bool only_return_count = false;
  // Set by ForHashKey(): the hash key a hash scan reads, which GetScanner()
  // validates like any other operation's (PERR_INVALID_HASH_KEY).
  std::optional<std::string> hash_key;

  // The rows of one hash key between two sort keys; an empty stop_sort_key
  // means the end of the hash key. An invalid hash key is reported by
  // GetScanner().
  static GetScannerRequest ForHashKey(const std::string& hash_key,
                                      const std::string& start_sort_key,
                                      const std::string& stop_sort_key,
                                      bool start_inclusive = true,
                                      bool stop_inclusive = false);
  // Every row of the partition.
  static GetScannerRequest ForFullScan();
};

struct ScanKeyValue {
  std::string hash_key;
  std::string sort_key;
  std::string value;           // Empty with no_value.
  uint32_t expire_ts_s = 0;    // Set with return_expire_ts.

  friend bool operator==(const ScanKeyValue&, const ScanKeyValue&) = default;
};

struct ScanResponse {
  // OK; PERR_NOT_FOUND from Scan() for an unknown or evicted context (the
  // client restarts after its last key); or an error.
  absl::Status status;
  std::vector<ScanKeyValue> kvs;
  // kScanContextCompleted when the range is exhausted, else the id to pass
  // to the next Scan(). A batch may be short (even empty) and still have a
  // context: the server caps the rows it examines per call.
  int64_t context_id = kScanContextCompleted;
  // Rows matched by this call, with only_return_count.
  int32_t kv_count = 0;
};

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_PARTITION_TYPES_H_
