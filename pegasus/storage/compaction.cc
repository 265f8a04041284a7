#include "pegasus/storage/compaction.h"

#include "pegasus/base/value_schema.h"

namespace pegasus {

CompactionDecision DecideCompaction(std::string_view value, uint32_t now_s,
                                    uint32_t default_ttl_s,
                                    std::string* new_value) {
  absl::StatusOr<ValueFields> fields = DecodeValue(value);
  if (!fields.ok()) return CompactionDecision::kKeep;
  if (IsExpired(fields->expire_ts, now_s)) return CompactionDecision::kDrop;
  if (default_ttl_s > 0 && fields->expire_ts == 0) {
    new_value->clear();
    uint64_t expire_ts = uint64_t{now_s} + default_ttl_s;
    if (expire_ts > UINT32_MAX) expire_ts = UINT32_MAX;
    AppendValue(new_value, static_cast<uint32_t>(expire_ts), fields->timetag,
                fields->user_data);
    return CompactionDecision::kRewrite;
  }
  return CompactionDecision::kKeep;
}

}  // namespace pegasus
