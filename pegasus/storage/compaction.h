// The rule both engines' compaction applies to each stored row.
//
// Thread-safety: pure function.

#ifndef PEGASUS_STORAGE_COMPACTION_H_
#define PEGASUS_STORAGE_COMPACTION_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace pegasus {

enum class CompactionDecision { kKeep, kDrop, kRewrite };

// Decides the fate of one row at time `now_s` (seconds since Pegasus's
// epoch): an expired row is dropped; with default_ttl_s > 0, a row without an
// expiry is rewritten into *new_value with expire_ts = now_s + default_ttl_s.
// A value too short to decode is kept untouched: compaction never destroys
// what it does not understand.
CompactionDecision DecideCompaction(std::string_view value, uint32_t now_s,
                                    uint32_t default_ttl_s,
                                    std::string* new_value);

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_COMPACTION_H_
