// A range of storage keys with inclusive or exclusive ends, shared by
// multi_get's range mode and the scanners. Internal to the partition.

#ifndef PEGASUS_STORAGE_KEY_RANGE_H_
#define PEGASUS_STORAGE_KEY_RANGE_H_

#include <string>
#include <string_view>

#include "pegasus/storage/storage_engine.h"

namespace pegasus {

struct KeyRange {
  std::string start;
  std::string stop;  // "" = unbounded.
  bool start_inclusive = true;
  bool stop_inclusive = false;

  // True when no key can lie in the range.
  bool Empty() const {
    if (stop.empty()) return false;
    int order = start.compare(stop);
    return order > 0 || (order == 0 && !(start_inclusive && stop_inclusive));
  }
  bool BeyondStop(std::string_view key) const {
    if (stop.empty()) return false;
    int order = key.compare(stop);
    return order > 0 || (order == 0 && !stop_inclusive);
  }
  bool BeforeStart(std::string_view key) const {
    int order = key.compare(start);
    return order < 0 || (order == 0 && !start_inclusive);
  }

  // Positions `it` at the first key at or after the start, honouring an
  // exclusive start.
  void SeekToStart(StorageIterator* it) const {
    it->Seek(start);
    if (it->Valid() && !start_inclusive && it->key() == start) it->Next();
  }
  // Positions `it` at the last key at or before the stop, honouring an
  // exclusive stop. REQUIRES: !stop.empty().
  void SeekToStop(StorageIterator* it) const {
    it->SeekForPrev(stop);
    if (it->Valid() && !stop_inclusive && it->key() == stop) it->Prev();
  }
};

}  // namespace pegasus

#endif  // PEGASUS_STORAGE_KEY_RANGE_H_
