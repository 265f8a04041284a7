// What MetaCore checks and persists of tables: names, envs, the store keys
// of tables and of the meta level. Pure functions.

#ifndef PEGASUS_META_INTERNAL_TABLES_H_
#define PEGASUS_META_INTERNAL_TABLES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pegasus/proto/meta.pb.h"

namespace pegasus::meta_internal {

// What the meta server answers before it recovered its state:
// PERR_TRY_AGAIN.
absl::Status MetaNotReady();

// A table name: 1 to kMaxTableNameLength characters of [A-Za-z0-9_.-].
// PERR_INVALID_APP_NAME otherwise.
inline constexpr size_t kMaxTableNameLength = 128;
absl::Status CheckTableName(std::string_view name);

// The table envs the meta server accepts, and each one's rule:
//   default_ttl    seconds, a decimal integer in [0, 2^32 - 1]; 0 = none.
//                  Replicas give it to later writes without a TTL.
//   business.info  free text for operators, at most kMaxEnvValueLength.
// An unknown key, or a value its rule refuses, is PERR_INVALID_ARGUMENT
// naming it. At most kMaxEnvs keys per table.
inline constexpr std::string_view kDefaultTtlEnv = "default_ttl";
inline constexpr std::string_view kBusinessInfoEnv = "business.info";
inline constexpr size_t kMaxEnvValueLength = 4096;
inline constexpr int kMaxEnvs = 64;
absl::Status CheckEnv(std::string_view key, std::string_view value);
// Every key and value of `envs`, and their number.
absl::Status CheckEnvs(
    const google::protobuf::Map<std::string, std::string>& envs);

// A table's default_ttl env in seconds; 0 when unset.
uint32_t DefaultTtlOf(const proto::TableInfo& table);

// Partition counts are powers of two, so a hash key's partition is its
// CRC64's low bits (and a split doubles the count).
bool IsPowerOfTwo(int32_t n);

// The store key of a table: "table/<app_id>".
std::string TableKey(int32_t app_id);
// The table a key names; nullopt for another kind of key, or one with the
// table prefix that does not parse (IsTableKey tells them apart).
std::optional<int32_t> ParseTableKey(std::string_view key);
bool IsTableKey(std::string_view key);

// A stored table record, checked: it parses, names the key's table, and is
// well formed (a name, a status, a power-of-two partition count, a replica
// count within [1, 5]). PERR_CORRUPTION otherwise.
absl::StatusOr<proto::TableInfo> ParseTable(int32_t app_id,
                                            const std::string& value);

// The store key of the meta level set by an operator, and its value.
inline constexpr std::string_view kMetaLevelKey = "meta/level";
std::string EncodeMetaLevel(proto::MetaLevel level);
std::optional<proto::MetaLevel> DecodeMetaLevel(std::string_view value);
bool IsMetaLevel(int value);

}  // namespace pegasus::meta_internal

#endif  // PEGASUS_META_INTERNAL_TABLES_H_
