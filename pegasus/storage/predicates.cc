#include "pegasus/storage/predicates.h"

#include <cerrno>
#include <cstdlib>
#include <string>

#include "pegasus/base/check.h"
#include "pegasus/base/key_schema.h"
#include "pegasus/base/status.h"

namespace pegasus {

absl::Status ValidateHashKey(std::string_view hash_key) {
  if (hash_key.empty()) {
    return PegasusError(ErrorCode::kInvalidHashKey, "hash key must not be empty");
  }
  if (hash_key.size() > kMaxHashKeyBytes) {
    return PegasusError(ErrorCode::kInvalidHashKey,
                        "hash key of " + std::to_string(hash_key.size()) +
                            " bytes; the limit is " + std::to_string(kMaxHashKeyBytes));
  }
  return absl::OkStatus();
}

absl::Status ValidateFilterType(FilterType type) {
  if (IsValidFilterType(type)) return absl::OkStatus();
  return PegasusError(ErrorCode::kInvalidArgument,
                      "unknown filter type " + std::to_string(static_cast<int>(type)));
}

absl::Status ValidateCheckType(CheckType type) {
  if (IsValidCheckType(type)) return absl::OkStatus();
  return PegasusError(ErrorCode::kInvalidArgument,
                      "unknown check type " + std::to_string(static_cast<int>(type)));
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string buffer(text);  // strtoll needs a terminator.
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(buffer.c_str(), &end, 0);
  if (errno == ERANGE || end != buffer.c_str() + buffer.size()) {
    return std::nullopt;
  }
  // strtoll accepts "" after whitespace; require at least one digit.
  if (end == buffer.c_str()) return std::nullopt;
  return static_cast<int64_t>(value);
}

bool MatchesFilter(FilterType type, std::string_view pattern,
                   std::string_view key) {
  if (type == FilterType::kNoFilter || pattern.empty()) return true;
  if (key.size() < pattern.size()) return false;
  switch (type) {
    case FilterType::kMatchAnywhere:
      return key.find(pattern) != std::string_view::npos;
    case FilterType::kMatchPrefix:
      return key.starts_with(pattern);
    case FilterType::kMatchPostfix:
      return key.ends_with(pattern);
    case FilterType::kNoFilter:
      break;
  }
  PEGASUS_CHECK(false) << "unknown filter type " << static_cast<int>(type);
  return false;
}

namespace {

bool Compare(CheckType type, int order) {
  switch (type) {
    case CheckType::kValueBytesLess:
    case CheckType::kValueIntLess:
      return order < 0;
    case CheckType::kValueBytesLessOrEqual:
    case CheckType::kValueIntLessOrEqual:
      return order <= 0;
    case CheckType::kValueBytesEqual:
    case CheckType::kValueIntEqual:
      return order == 0;
    case CheckType::kValueBytesGreaterOrEqual:
    case CheckType::kValueIntGreaterOrEqual:
      return order >= 0;
    case CheckType::kValueBytesGreater:
    case CheckType::kValueIntGreater:
      return order > 0;
    default:
      PEGASUS_CHECK(false) << "not a comparison " << static_cast<int>(type);
      return false;
  }
}

CheckResult Passed(bool passed) {
  return passed ? CheckResult::kPassed : CheckResult::kFailed;
}

}  // namespace

CheckResult EvaluateCheck(CheckType type, std::string_view operand,
                          bool exists, std::string_view value) {
  switch (type) {
    case CheckType::kNoCheck:
      return CheckResult::kPassed;
    case CheckType::kValueNotExist:
      return Passed(!exists);
    case CheckType::kValueNotExistOrEmpty:
      return Passed(!exists || value.empty());
    case CheckType::kValueExist:
      return Passed(exists);
    case CheckType::kValueNotEmpty:
      return Passed(exists && !value.empty());
    default:
      break;
  }
  if (!exists) return CheckResult::kFailed;
  switch (type) {
    case CheckType::kValueMatchAnywhere:
      return Passed(MatchesFilter(FilterType::kMatchAnywhere, operand, value));
    case CheckType::kValueMatchPrefix:
      return Passed(MatchesFilter(FilterType::kMatchPrefix, operand, value));
    case CheckType::kValueMatchPostfix:
      return Passed(MatchesFilter(FilterType::kMatchPostfix, operand, value));
    case CheckType::kValueBytesLess:
    case CheckType::kValueBytesLessOrEqual:
    case CheckType::kValueBytesEqual:
    case CheckType::kValueBytesGreaterOrEqual:
    case CheckType::kValueBytesGreater:
      // std::string_view compares as unsigned bytes (char_traits<char>).
      return Passed(Compare(type, value.compare(operand)));
    default:
      break;
  }
  std::optional<int64_t> stored = ParseInt64(value);
  if (!stored.has_value()) return CheckResult::kInvalidArgument;
  std::optional<int64_t> wanted = ParseInt64(operand);
  if (!wanted.has_value()) return CheckResult::kInvalidArgument;
  int order = *stored < *wanted ? -1 : (*stored > *wanted ? 1 : 0);
  return Passed(Compare(type, order));
}

}  // namespace pegasus
