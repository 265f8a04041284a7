// How a value is stored: Pegasus's data version 1.
//
//   value = [u32 big-endian expire_ts][u64 big-endian timetag][user bytes]
//
// expire_ts is in seconds since 2016-01-01 00:00:00 UTC (Pegasus's epoch);
// 0 means the value never expires. A value has expired at time `now` (same
// unit) when expire_ts != 0 and expire_ts <= now.
//
// timetag = timestamp_us << 8 | cluster_id << 1 | delete_flag (56, 7 and 1
// bits), used by duplication to resolve conflicts by last writer.
//
// Expiry is judged against a time carried by the request or the mutation,
// never a clock read here, so every replica judges alike.
//
// Thread-safety: pure functions.

#ifndef PEGASUS_BASE_VALUE_SCHEMA_H_
#define PEGASUS_BASE_VALUE_SCHEMA_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace pegasus {

// 2016-01-01 00:00:00 UTC in Unix seconds.
inline constexpr int64_t kEpochBeginUnixSeconds = 1451606400;

// Bytes before the user data in a version-1 value.
inline constexpr size_t kValueHeaderBytes = 12;

// Seconds since Pegasus's epoch at `unix_us` microseconds since the Unix
// epoch; 0 for any time before 2016, saturating at UINT32_MAX.
uint32_t PegasusSecondsFromUnixMicros(int64_t unix_us);

// The expire_ts `ttl_s` seconds after `now_s` (seconds since Pegasus's
// epoch), saturating at UINT32_MAX.
uint32_t ExpireTsAfter(uint32_t now_s, uint64_t ttl_s);

// The expire_ts for a value written at `unix_us` that should live `ttl_s`
// seconds: 0 (never) when ttl_s <= 0.
uint32_t ExpireTsFromTtl(int64_t unix_us, int64_t ttl_s);

inline bool IsExpired(uint32_t expire_ts, uint32_t now_s) {
  return expire_ts != 0 && expire_ts <= now_s;
}

uint64_t MakeTimetag(int64_t timestamp_us, uint8_t cluster_id,
                     bool delete_flag);

struct ValueFields {
  uint32_t expire_ts = 0;
  uint64_t timetag = 0;
  std::string_view user_data;  // Points into the decoded bytes.
};

void AppendValue(std::string* out, uint32_t expire_ts, uint64_t timetag,
                 std::string_view user_data);

std::string EncodeValue(uint32_t expire_ts, uint64_t timetag,
                        std::string_view user_data);

// Returns kDataLoss (PERR_CORRUPTION) for a value shorter than the header.
absl::StatusOr<ValueFields> DecodeValue(std::string_view value);

}  // namespace pegasus

#endif  // PEGASUS_BASE_VALUE_SCHEMA_H_
