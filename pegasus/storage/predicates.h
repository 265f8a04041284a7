// The small pure rules the data operations share: Pegasus's integer parsing,
// key filters and check_and_set checks.
//
// Thread-safety: pure functions.

#ifndef PEGASUS_STORAGE_PREDICATES_H_
#define PEGASUS_STORAGE_PREDICATES_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"

#include "pegasus/storage/partition_types.h"

namespace pegasus {

// PERR_INVALID_HASH_KEY for an empty hash key or one longer than
// kMaxHashKeyBytes; OK otherwise.
absl::Status ValidateHashKey(std::string_view hash_key);

// Parses `text` as Pegasus parses stored integers (strtoll with base 0 over
// the whole text): optional leading whitespace, an optional sign, then
// decimal, 0x-prefixed hex or 0-prefixed octal digits, and nothing after.
// Empty text, junk, embedded NULs and out-of-range values fail.
std::optional<int64_t> ParseInt64(std::string_view text);

inline bool IsValidFilterType(FilterType type) {
  return type >= FilterType::kNoFilter && type <= FilterType::kMatchPostfix;
}

inline bool IsValidCheckType(CheckType type) {
  return type >= CheckType::kNoCheck && type <= CheckType::kValueIntGreater;
}

// PERR_INVALID_ARGUMENT naming the unknown value; OK for a known one.
absl::Status ValidateFilterType(FilterType type);
absl::Status ValidateCheckType(CheckType type);

// Whether `key` passes the filter. REQUIRES: IsValidFilterType(type).
bool MatchesFilter(FilterType type, std::string_view pattern,
                   std::string_view key);

enum class CheckResult { kPassed, kFailed, kInvalidArgument };

// Evaluates a check against the current value (`exists` false when missing
// or expired). REQUIRES: IsValidCheckType(type).
CheckResult EvaluateCheck(CheckType type, std::string_view operand,
                          bool exists, std::string_view value);

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_PREDICATES_H_
