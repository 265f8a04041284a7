#include "testing/checkers/internal/event_list.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace pegasus::checkers::internal {

void OpSet::Insert(int op) {
  const size_t word = op / 64;
  words_[word] |= uint64_t{1} << (op % 64);
  top_ = std::max(top_, word + 1);
  while (full_ < words_.size() && words_[full_] == ~uint64_t{0}) ++full_;
}

void OpSet::Erase(int op) {
  const size_t word = op / 64;
  words_[word] &= ~(uint64_t{1} << (op % 64));
  full_ = std::min(full_, word);
  while (top_ > 0 && words_[top_ - 1] == 0) --top_;
}

bool OpSet::Includes(const std::vector<uint64_t>& subset) const {
  if (subset.size() > top_) return false;
  for (size_t i = 0; i < subset.size(); ++i) {
    if ((subset[i] & ~words_[i]) != 0) return false;
  }
  return true;
}

std::vector<uint64_t> OpSet::Words() const {
  return std::vector<uint64_t>(words_.begin(), words_.begin() + top_);
}

void OpSet::AppendKey(std::string* key) const {
  // Words below full_ are all ones and words from top_ on all zeros, and
  // full_ <= top_ unless the set is empty (then both are 0).
  const uint32_t header[2] = {static_cast<uint32_t>(full_), static_cast<uint32_t>(top_ - full_)};
  key->append(reinterpret_cast<const char*>(header), sizeof(header));
  key->append(reinterpret_cast<const char*>(words_.data() + full_),
              (top_ - full_) * sizeof(uint64_t));
}

EventList::EventList(const std::vector<const Operation*>& ops) {
  // (time, is return, op).
  std::vector<std::tuple<int64_t, bool, int32_t>> events;
  events.reserve(2 * ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const int32_t op = static_cast<int32_t>(i);
    const bool known = ops[i]->result == OpResult::kOk;
    events.emplace_back(ops[i]->call_ns, false, op);
    events.emplace_back(known ? ops[i]->return_ns : std::numeric_limits<int64_t>::max(), true, op);
  }
  std::sort(events.begin(), events.end());
  entries_.resize(events.size() + 1);
  std::vector<int32_t> call_entry(ops.size(), -1);
  for (size_t i = 0; i < events.size(); ++i) {
    const auto [time, is_return, op] = events[i];
    const int32_t index = static_cast<int32_t>(i + 1);
    Entry& e = entries_[index];
    e.op = op;
    e.call = !is_return;
    e.prev = index - 1;
    e.next = i + 1 < events.size() ? index + 1 : -1;
    if (e.call) {
      call_entry[op] = index;
    } else {
      entries_[call_entry[op]].match = index;
    }
  }
  entries_[0].next = events.empty() ? -1 : 1;
}

void EventList::Lift(int32_t call) {
  Unlink(call);
  Unlink(entries_[call].match);
}

void EventList::Unlift(int32_t call) {
  // Dancing links: relinking in the reverse order of unlinking restores
  // the list exactly, even when the two entries are adjacent.
  Relink(entries_[call].match);
  Relink(call);
}

void EventList::Unlink(int32_t index) {
  const Entry& e = entries_[index];
  entries_[e.prev].next = e.next;
  if (e.next != -1) entries_[e.next].prev = e.prev;
}

void EventList::Relink(int32_t index) {
  const Entry& e = entries_[index];
  entries_[e.prev].next = index;
  if (e.next != -1) entries_[e.next].prev = index;
}

}  // namespace pegasus::checkers::internal
