#include "pegasus/meta/internal/tables.h"

#include <limits>

#include "absl/strings/numbers.h"
#include "pegasus/base/status.h"
#include "pegasus/meta/meta_options.h"

namespace pegasus::meta_internal {
namespace {

constexpr std::string_view kTablePrefix = "table/";

absl::Status Invalid(const std::string& message) {
  return PegasusError(ErrorCode::kInvalidArgument, message);
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

std::optional<uint32_t> ParseTtl(std::string_view value) {
  uint64_t ttl = 0;
  if (value.empty() || value.size() > 10 ||
      !absl::SimpleAtoi(std::string(value), &ttl) ||
      ttl > std::numeric_limits<uint32_t>::max() || value[0] == '+' ||
      value[0] == '-') {
    return std::nullopt;
  }
  return static_cast<uint32_t>(ttl);
}

}  // namespace

absl::Status MetaNotReady() {
  return PegasusError(ErrorCode::kTryAgain,
                      "the meta server has not recovered its state yet");
}

absl::Status CheckTableName(std::string_view name) {
  if (name.empty() || name.size() > kMaxTableNameLength) {
    return PegasusError(ErrorCode::kInvalidAppName,
                        "a table name has 1 to 128 characters");
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return PegasusError(ErrorCode::kInvalidAppName,
                          "table name \"" + std::string(name) +
                              "\": only letters, digits, '_', '.' and '-'");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEnv(std::string_view key, std::string_view value) {
  if (key == kDefaultTtlEnv) {
    if (!ParseTtl(value)) {
      return Invalid("env default_ttl: \"" + std::string(value) +
                     "\" is not a number of seconds in [0, 4294967295]");
    }
    return absl::OkStatus();
  }
  if (key == kBusinessInfoEnv) {
    if (value.size() > kMaxEnvValueLength) {
      return Invalid("env business.info: longer than 4096 bytes");
    }
    return absl::OkStatus();
  }
  return Invalid("unknown env \"" + std::string(key) +
                 "\" (known: default_ttl, business.info)");
}

absl::Status CheckEnvs(
    const google::protobuf::Map<std::string, std::string>& envs) {
  if (static_cast<int>(envs.size()) > kMaxEnvs) {
    return Invalid("more than 64 envs");
  }
  for (const auto& [key, value] : envs) {
    PEGASUS_RETURN_IF_ERROR(CheckEnv(key, value));
  }
  return absl::OkStatus();
}

uint32_t DefaultTtlOf(const proto::TableInfo& table) {
  auto it = table.envs().find(std::string(kDefaultTtlEnv));
  if (it == table.envs().end()) return 0;
  return ParseTtl(it->second).value_or(0);
}

bool IsPowerOfTwo(int32_t n) { return n > 0 && (n & (n - 1)) == 0; }

std::string TableKey(int32_t app_id) {
  return std::string(kTablePrefix) + std::to_string(app_id);
}

bool IsTableKey(std::string_view key) {
  return key.substr(0, kTablePrefix.size()) == kTablePrefix;
}

std::optional<int32_t> ParseTableKey(std::string_view key) {
  if (!IsTableKey(key)) return std::nullopt;
  int32_t app_id = 0;
  if (!absl::SimpleAtoi(std::string(key.substr(kTablePrefix.size())),
                        &app_id) ||
      app_id <= 0 || TableKey(app_id) != key) {
    return std::nullopt;
  }
  return app_id;
}

absl::StatusOr<proto::TableInfo> ParseTable(int32_t app_id,
                                            const std::string& value) {
  const std::string where = "meta store entry " + TableKey(app_id) + ": ";
  proto::TableInfo table;
  if (!table.ParseFromString(value)) {
    return PegasusError(ErrorCode::kCorruption, where + "does not parse");
  }
  std::string why;
  if (table.app_id() != app_id) {
    why = "names another table";
  } else if (!CheckTableName(table.name()).ok()) {
    why = "a bad name";
  } else if (table.status() != proto::TABLE_AVAILABLE &&
             table.status() != proto::TABLE_DROPPED &&
             table.status() != proto::TABLE_PURGED) {
    why = "a bad status";
  } else if (!IsPowerOfTwo(table.partition_count())) {
    why = "a partition count that is not a power of two";
  } else if (table.replica_count() < kMinReplicaCount ||
             table.replica_count() > kMaxReplicaCount) {
    why = "a replica count outside [1, 5]";
  }
  if (!why.empty()) return PegasusError(ErrorCode::kCorruption, where + why);
  return table;
}

std::string EncodeMetaLevel(proto::MetaLevel level) {
  return std::to_string(static_cast<int>(level));
}

bool IsMetaLevel(int value) {
  return proto::MetaLevel_IsValid(value) && value != proto::META_LEVEL_INVALID;
}

std::optional<proto::MetaLevel> DecodeMetaLevel(std::string_view value) {
  int level = 0;
  if (!absl::SimpleAtoi(std::string(value), &level) || !IsMetaLevel(level)) {
    return std::nullopt;
  }
  return static_cast<proto::MetaLevel>(level);
}

}  // namespace pegasus::meta_internal
