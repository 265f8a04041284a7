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
    AppendValue(new_value, ExpireTsAfter(now_s, default_ttl_s), fields->timetag,
                fields->user_data);
    return CompactionDecision::kRewrite;
  }
  return CompactionDecision::kKeep;
}

}  // namespace pegasus
