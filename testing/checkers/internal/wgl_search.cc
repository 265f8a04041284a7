#include "testing/checkers/internal/wgl_search.h"

#include <algorithm>
#include <limits>
#include <string>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "pegasus/base/check.h"
#include "testing/checkers/internal/kv_model.h"

namespace pegasus::checkers::internal {
namespace {

// A set of small integers whose encoding stays short however many there are:
// the search linearizes operations roughly in call order, so the set is a
// run of full words, then a few words with holes, then zeros. The encoding
// is the number of full words and the words from there to the last nonzero
// one, which is exact.
class CompactBitset {
 public:
  explicit CompactBitset(int bits) : words_((bits + 63) / 64, 0) {}

  void Set(int bit) {
    const size_t word = bit / 64;
    words_[word] |= uint64_t{1} << (bit % 64);
    top_ = std::max(top_, word + 1);
    while (low_ < words_.size() && words_[low_] == ~uint64_t{0}) ++low_;
  }

  void Clear(int bit) {
    const size_t word = bit / 64;
    words_[word] &= ~(uint64_t{1} << (bit % 64));
    low_ = std::min(low_, word);
    while (top_ > 0 && words_[top_ - 1] == 0) --top_;
  }

  void AppendKey(std::string* key) const {
    const uint32_t header[2] = {static_cast<uint32_t>(low_),
                                static_cast<uint32_t>(top_ - std::min(low_, top_))};
    key->append(reinterpret_cast<const char*>(header), sizeof(header));
    if (top_ > low_) {
      key->append(reinterpret_cast<const char*>(&words_[low_]), (top_ - low_) * sizeof(uint64_t));
    }
  }

 private:
  std::vector<uint64_t> words_;
  size_t low_ = 0;  // Words below are all ones.
  size_t top_ = 0;  // Words from here on are all zeros.
};

// The calls and returns of all operations in time order, as a doubly linked
// list from which an operation's pair of entries can be lifted when it is
// linearized and put back, in place, when the search backtracks.
class EventList {
 public:
  struct Node {
    int32_t op = -1;
    bool call = false;
    int32_t match = -1;  // For a call, its return.
    int32_t prev = -1;
    int32_t next = -1;
  };

  explicit EventList(const std::vector<const Operation*>& ops);

  int32_t first() const { return nodes_[0].next; }
  const Node& node(int32_t index) const { return nodes_[index]; }

  void Lift(int32_t call) {
    Unlink(call);
    Unlink(nodes_[call].match);
  }

  // Undoes the Lift() of `call`, which must be the most recent one not undone.
  void Unlift(int32_t call) {
    Relink(nodes_[call].match);
    Relink(call);
  }

 private:
  void Unlink(int32_t index) {
    const Node& n = nodes_[index];
    nodes_[n.prev].next = n.next;
    if (n.next != -1) nodes_[n.next].prev = n.prev;
  }

  void Relink(int32_t index) {
    const Node& n = nodes_[index];
    nodes_[n.prev].next = index;
    if (n.next != -1) nodes_[n.next].prev = index;
  }

  std::vector<Node> nodes_;  // nodes_[0] is the head.
};

EventList::EventList(const std::vector<const Operation*>& ops) {
  // (time, is return, op). At equal times calls come first, so operations
  // that touch only at an instant count as concurrent. An unknown
  // operation's return comes after every other event.
  std::vector<std::tuple<int64_t, bool, int32_t>> events;
  events.reserve(2 * ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const int32_t op = static_cast<int32_t>(i);
    const bool known = ops[i]->result == OpResult::kOk;
    events.emplace_back(ops[i]->call_ns, false, op);
    events.emplace_back(known ? ops[i]->return_ns : std::numeric_limits<int64_t>::max(), true, op);
  }
  std::sort(events.begin(), events.end());
  nodes_.resize(events.size() + 1);
  std::vector<int32_t> call_node(ops.size(), -1);
  for (size_t i = 0; i < events.size(); ++i) {
    const auto [time, is_return, op] = events[i];
    const int32_t index = static_cast<int32_t>(i + 1);
    Node& n = nodes_[index];
    n.op = op;
    n.call = !is_return;
    n.prev = index - 1;
    n.next = i + 1 < events.size() ? index + 1 : -1;
    if (n.call) {
      call_node[op] = index;
    } else {
      nodes_[call_node[op]].match = index;
    }
  }
  nodes_[0].next = events.empty() ? -1 : 1;
}

class Searcher {
 public:
  Searcher(const std::vector<const Operation*>& ops,
           std::chrono::steady_clock::time_point deadline);

  SearchResult Run();

 private:
  bool IsKnown(int32_t op) const { return ops_[op]->result == OpResult::kOk; }
  CompactBitset& BitsOf(int32_t op) { return IsKnown(op) ? known_bits_ : unknown_bits_; }

  // Applies `op` and marks it linearized; true when the resulting
  // (linearized set, state) pair is new. Otherwise leaves nothing changed.
  bool TryLinearize(int32_t op);
  void Push(int32_t call);
  int32_t Pop();  // Returns the call entry popped.

  const std::vector<const Operation*>& ops_;
  const std::chrono::steady_clock::time_point deadline_;
  KvModel model_;
  EventList list_;
  // Bit numbers: known and unknown operations are counted separately, so a
  // long-pending unknown one does not stretch the known set's encoding.
  std::vector<int32_t> bit_;
  CompactBitset known_bits_;
  CompactBitset unknown_bits_;
  int64_t known_total_ = 0;
  int64_t known_linearized_ = 0;

  absl::flat_hash_set<std::string> cache_;
  std::string key_;
  std::vector<int32_t> stack_;  // Call entries of the linearized operations.
  // The deepest stack seen, as operations, and how much of it the stack
  // still shares; so recording a new deepest stack copies only its new part.
  std::vector<int> deepest_;
  size_t shared_ = 0;
};

Searcher::Searcher(const std::vector<const Operation*>& ops,
                   std::chrono::steady_clock::time_point deadline)
    : ops_(ops),
      deadline_(deadline),
      model_(ops),
      list_(ops),
      bit_(ops.size()),
      known_bits_(static_cast<int>(ops.size())),
      unknown_bits_(static_cast<int>(ops.size())) {
  int32_t unknown = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    bit_[i] = IsKnown(i) ? known_total_++ : unknown++;
  }
}

bool Searcher::TryLinearize(int32_t op) {
  if (!model_.Apply(op)) return false;
  BitsOf(op).Set(bit_[op]);
  key_.clear();
  known_bits_.AppendKey(&key_);
  unknown_bits_.AppendKey(&key_);
  model_.AppendStateKey(&key_);
  if (cache_.insert(key_).second) return true;
  BitsOf(op).Clear(bit_[op]);
  model_.Undo();
  return false;
}

void Searcher::Push(int32_t call) {
  const int32_t op = list_.node(call).op;
  stack_.push_back(call);
  list_.Lift(call);
  if (IsKnown(op)) ++known_linearized_;
  const size_t depth = stack_.size();
  if (shared_ == depth - 1 && shared_ < deepest_.size() && deepest_[shared_] == op) {
    ++shared_;
  }
  if (depth > deepest_.size()) {
    deepest_.resize(shared_);
    for (size_t i = shared_; i < depth; ++i) deepest_.push_back(list_.node(stack_[i]).op);
    shared_ = depth;
  }
}

int32_t Searcher::Pop() {
  const int32_t call = stack_.back();
  const int32_t op = list_.node(call).op;
  stack_.pop_back();
  shared_ = std::min(shared_, stack_.size());
  model_.Undo();
  BitsOf(op).Clear(bit_[op]);
  list_.Unlift(call);
  if (IsKnown(op)) --known_linearized_;
  return call;
}

SearchResult Searcher::Run() {
  SearchResult result;
  int32_t entry = list_.first();
  // Done once every ok operation is linearized: unknown ones left over take
  // effect at the end, or never, which no output can contradict.
  while (known_linearized_ < known_total_) {
    ++result.steps;
    if (result.steps % kStepsPerClockRead == 0 && std::chrono::steady_clock::now() >= deadline_) {
      result.outcome = SearchOutcome::kOutOfTime;
      break;
    }
    // A return always precedes the end: some ok operation is pending.
    PEGASUS_CHECK(entry != -1) << "the search ran off the event list";
    const EventList::Node& node = list_.node(entry);
    if (node.call) {
      if (TryLinearize(node.op)) {
        Push(entry);
        entry = list_.first();
      } else {
        entry = node.next;
      }
      continue;
    }
    // An operation returned before any order of the pending ones could
    // include it: take back the last choice and try the next one.
    if (stack_.empty()) {
      result.outcome = SearchOutcome::kNotLinearizable;
      break;
    }
    entry = list_.node(Pop()).next;
  }
  result.longest_prefix = deepest_;
  result.cache_entries = static_cast<int64_t>(cache_.size());
  return result;
}

}  // namespace

SearchResult SearchLinearization(const std::vector<const Operation*>& ops,
                                 std::chrono::steady_clock::time_point deadline) {
  return Searcher(ops, deadline).Run();
}

}  // namespace pegasus::checkers::internal
