// The two data structures the linearizability search moves through: the
// time-ordered list of calls and returns, from which linearized operations
// are lifted, and sets of operations with a short exact encoding.
//
// Thread-compatible.

#ifndef PEGASUS_TESTING_CHECKERS_INTERNAL_EVENT_LIST_H_
#define PEGASUS_TESTING_CHECKERS_INTERNAL_EVENT_LIST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "testing/checkers/history.h"

namespace pegasus::checkers::internal {

// A set of operation numbers in [0, size). The search linearizes operations
// roughly in call order, so the set is mostly a run of full words, a few
// words with holes, then zeros; the encoding keeps only the middle part.
class OpSet {
 public:
  explicit OpSet(int size) : words_((size + 63) / 64, 0) {}

  bool Contains(int op) const { return (words_[op / 64] >> (op % 64)) & 1; }
  void Insert(int op);
  void Erase(int op);

  // Whether every member of `subset`, as returned by Words(), is a member.
  bool Includes(const std::vector<uint64_t>& subset) const;

  // The words up to the last nonzero one.
  std::vector<uint64_t> Words() const;

  // Appends an encoding equal for equal sets and different otherwise.
  void AppendKey(std::string* key) const;

 private:
  std::vector<uint64_t> words_;
  size_t full_ = 0;  // Words below are all ones.
  size_t top_ = 0;   // Words from here on are all zeros.
};

// The calls and returns of a hashkey's operations in time order, as a
// doubly linked list from which an operation's pair of entries is lifted
// when it is linearized and put back, in place, when the search backtracks.
// At equal times calls come first, so operations that touch only at an
// instant count as concurrent. An unknown operation's return comes after
// every other entry.
class EventList {
 public:
  struct Entry {
    int32_t op = -1;
    bool call = false;
    int32_t match = -1;  // For a call, its return.
    int32_t prev = -1;
    int32_t next = -1;  // -1 after the last.
  };

  explicit EventList(const std::vector<const Operation*>& ops);

  // The first entry still in the list, or -1.
  int32_t first() const { return entries_[0].next; }
  const Entry& entry(int32_t index) const { return entries_[index]; }

  // Lifts a call and its return out of the list.
  void Lift(int32_t call);
  // Puts back the most recently lifted call and its return.
  void Unlift(int32_t call);

 private:
  void Unlink(int32_t index);
  void Relink(int32_t index);

  std::vector<Entry> entries_;  // entries_[0] is the head.
};

}  // namespace pegasus::checkers::internal

#endif  // PEGASUS_TESTING_CHECKERS_INTERNAL_EVENT_LIST_H_
