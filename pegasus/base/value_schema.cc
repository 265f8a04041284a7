#include "pegasus/base/value_schema.h"

#include <algorithm>
#include <limits>

#include "pegasus/base/coding.h"
#include "pegasus/base/status.h"

namespace pegasus {

uint32_t PegasusSecondsFromUnixMicros(int64_t unix_us) {
  int64_t seconds = unix_us / 1000000 - kEpochBeginUnixSeconds;
  if (seconds <= 0) return 0;
  if (seconds >= std::numeric_limits<uint32_t>::max()) {
    return std::numeric_limits<uint32_t>::max();
  }
  return static_cast<uint32_t>(seconds);
}

uint32_t ExpireTsAfter(uint32_t now_s, uint64_t ttl_s) {
  constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
  return static_cast<uint32_t>(std::min(uint64_t{now_s} + std::min(ttl_s, kMax), kMax));
}

uint32_t ExpireTsFromTtl(int64_t unix_us, int64_t ttl_s) {
  if (ttl_s <= 0) return 0;
  return ExpireTsAfter(PegasusSecondsFromUnixMicros(unix_us), static_cast<uint64_t>(ttl_s));
}

uint64_t MakeTimetag(int64_t timestamp_us, uint8_t cluster_id,
                     bool delete_flag) {
  return (static_cast<uint64_t>(timestamp_us) << 8) |
         (uint64_t{cluster_id & 0x7Fu} << 1) | (delete_flag ? 1u : 0u);
}

void AppendValue(std::string* out, uint32_t expire_ts, uint64_t timetag,
                 std::string_view user_data) {
  out->reserve(out->size() + kValueHeaderBytes + user_data.size());
  PutBigEndian32(out, expire_ts);
  PutBigEndian64(out, timetag);
  out->append(user_data);
}

std::string EncodeValue(uint32_t expire_ts, uint64_t timetag,
                        std::string_view user_data) {
  std::string value;
  AppendValue(&value, expire_ts, timetag, user_data);
  return value;
}

absl::StatusOr<ValueFields> DecodeValue(std::string_view value) {
  if (value.size() < kValueHeaderBytes) {
    return PegasusError(ErrorCode::kCorruption,
                        "stored value shorter than its 12-byte header");
  }
  ValueFields fields;
  fields.expire_ts = DecodeBigEndian32(value.data());
  fields.timetag = DecodeBigEndian64(value.data() + 4);
  fields.user_data = value.substr(kValueHeaderBytes);
  return fields;
}

}  // namespace pegasus
