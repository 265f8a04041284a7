#include "testing/checkers/internal/wgl_search.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "pegasus/base/check.h"
#include "testing/checkers/internal/event_list.h"
#include "testing/checkers/internal/kv_model.h"

namespace pegasus::checkers::internal {
namespace {

// An operation's arguments, encoded: equal for operations that do the same.
std::string Arguments(const Operation& op) {
  std::string out = OpKindName(op.kind);
  auto add = [&out](const std::string& bytes) {
    out += std::to_string(bytes.size());
    out += ':';
    out += bytes;
  };
  for (const std::string& sortkey : op.sortkeys) add(sortkey);
  out += ';';
  for (const std::string& value : op.values) add(value);
  out += ';';
  add(std::to_string(op.increment));
  if (op.kind == OpKind::kCheckAndSet || op.kind == OpKind::kCheckAndMutate) {
    add(op.check_sortkey);
    add(std::to_string(op.check_type));
    add(op.check_operand);
    add(op.set_sortkey);
    add(op.set_value);
    out += ';';
    for (const std::optional<std::string>& value : op.mutate_values) {
      if (value.has_value()) {
        add(*value);
      } else {
        out += '-';
      }
    }
  }
  if (op.kind == OpKind::kMultiGetRange) {
    add(op.start_sortkey);
    add(op.stop_sortkey);
  }
  return out;
}

bool Intersect(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() && j != b.end()) {
    if (*i < *j) {
      ++i;
    } else if (*j < *i) {
      ++j;
    } else {
      return true;
    }
  }
  return false;
}

// Which of the operations that may come next (the calls before the first
// return still in the list) the search tries first.
enum class Order {
  // All in call order, so an unknown operation takes effect as early as it
  // can. Quick to find the linearization of a history that has one, since
  // an unknown operation that took effect usually did so soon after its
  // call.
  kCallOrder,
  // Ok operations in call order, then unknown ones. The search sees what
  // happens without an unknown operation before what happens with it, so
  // the second is mostly cut as dominated (see Explore()). Quick to
  // exhaust a history that has no linearization.
  kOkFirst,
};

// Steps per operation the call-order search runs alone before the ok-first
// search starts.
constexpr int64_t kHeadStartStepsPerOperation = 64;

// One depth-first search, run a number of steps at a time.
class Searcher {
 public:
  Searcher(const std::vector<const Operation*>& ops, Order order);

  Searcher(const Searcher&) = delete;
  Searcher& operator=(const Searcher&) = delete;

  // Runs up to `max_steps` more steps; true once the search is decided.
  bool Advance(int64_t max_steps);

  // REQUIRES: Advance() returned true.
  SearchOutcome outcome() const { return outcome_; }
  const std::vector<int>& deepest() const { return deepest_; }
  int64_t steps() const { return steps_; }
  int64_t explored() const { return explored_count_; }

 private:
  bool IsKnown(int32_t op) const { return ops_[op]->result == OpResult::kOk; }
  OpSet& SetOf(int32_t op) { return IsKnown(op) ? known_ : unknown_; }

  // An unknown operation can always move later, past operations it
  // commutes with, and be dropped when the next one overwrites everything
  // it wrote, or there is none. Moving each unknown operation later while
  // it commutes with the next one (ordering commuting unknown operations by
  // number), and dropping erased ones, turns any linearization into one
  // where every unknown operation is followed by one it does not commute
  // with and that does not erase it, or by a commuting unknown one with a
  // higher number. The search looks only for linearizations of that form.
  bool MayFollow(int32_t unknown, int32_t op) const;

  // Applies `op` and marks it linearized; true when the resulting node is
  // worth exploring. Otherwise leaves everything as it was.
  bool TryLinearize(int32_t op);
  // Whether the current node is new and not dominated; records it if so.
  bool Explore();
  bool Dominated(const std::string& key) const;
  void AppendKey(int32_t deferred, std::string* key) const;
  void Push(int32_t call);
  int32_t Pop();  // Returns the call entry popped.

  const std::vector<const Operation*>& ops_;
  const Order order_;
  KvModel model_;
  EventList list_;
  // For an unknown operation, the one before it (by call) with exactly the
  // same arguments, or -1. Twins are interchangeable, so the search uses
  // them in call order.
  std::vector<int32_t> twin_before_;
  // Numbers in the two sets: ok and unknown operations are counted
  // separately, so a long-pending unknown one does not stretch the ok set's
  // encoding.
  std::vector<int32_t> number_;
  OpSet known_;
  OpSet unknown_;
  int64_t known_total_ = 0;
  int64_t known_linearized_ = 0;
  int64_t unknown_total_ = 0;
  int64_t unknown_linearized_ = 0;
  // The unknown operation just linearized, which the next one must be able
  // to follow (MayFollow()), or -1; and its value before each linearized
  // operation.
  int32_t deferred_ = -1;
  std::vector<int32_t> deferred_before_;

  // Explored nodes: for each (ok operations linearized, deferred, state),
  // the sets of unknown operations linearized.
  absl::flat_hash_map<std::string, std::vector<std::vector<uint64_t>>> explored_;
  int64_t explored_count_ = 0;
  std::string key_;

  std::vector<int32_t> stack_;  // Call entries of the linearized operations.
  // The deepest stack seen, as operations, and how much of it the stack
  // still shares; so recording a new deepest stack copies only its new part.
  std::vector<int> deepest_;
  size_t shared_ = 0;

  // Where the search is: the entry to look at next, and whether this pass
  // over the candidates is the one for unknown operations (kOkFirst).
  int32_t entry_;
  bool unknown_pass_ = false;
  int64_t steps_ = 0;
  SearchOutcome outcome_ = SearchOutcome::kOutOfTime;
};

Searcher::Searcher(const std::vector<const Operation*>& ops, Order order)
    : ops_(ops),
      order_(order),
      model_(ops),
      list_(ops),
      twin_before_(ops.size(), -1),
      number_(ops.size()),
      known_(static_cast<int>(ops.size())),
      unknown_(static_cast<int>(ops.size())),
      entry_(list_.first()) {
  absl::flat_hash_map<std::string, int32_t> last_with_arguments;
  for (size_t i = 0; i < ops.size(); ++i) {
    number_[i] = static_cast<int32_t>(IsKnown(i) ? known_total_++ : unknown_total_++);
    if (!IsKnown(i)) {
      auto [it, inserted] = last_with_arguments.emplace(Arguments(*ops[i]), i);
      if (!inserted) twin_before_[i] = std::exchange(it->second, i);
    }
  }
}

bool Searcher::MayFollow(int32_t unknown, int32_t op) const {
  const std::vector<int32_t>& written = model_.Writes(unknown);
  const bool commute = !Intersect(written, model_.Reads(op)) &&
                       !Intersect(written, model_.Writes(op)) &&
                       !Intersect(model_.Writes(op), model_.Reads(unknown));
  if (commute) return !IsKnown(op) && op > unknown;
  const bool erases =
      model_.IsBlindWrite(op) && std::includes(model_.Writes(op).begin(), model_.Writes(op).end(),
                                               written.begin(), written.end());
  return !erases;
}

bool Searcher::TryLinearize(int32_t op) {
  if (twin_before_[op] >= 0 && !unknown_.Contains(number_[twin_before_[op]])) return false;
  if (deferred_ >= 0 && !MayFollow(deferred_, op)) return false;
  if (!model_.Apply(op)) return false;
  SetOf(op).Insert(number_[op]);
  deferred_before_.push_back(deferred_);
  deferred_ = IsKnown(op) ? -1 : op;
  if (Explore()) return true;
  deferred_ = deferred_before_.back();
  deferred_before_.pop_back();
  SetOf(op).Erase(number_[op]);
  model_.Undo();
  return false;
}

void Searcher::AppendKey(int32_t deferred, std::string* key) const {
  key->clear();
  known_.AppendKey(key);
  key->append(reinterpret_cast<const char*>(&deferred), sizeof(deferred));
  model_.AppendStateKey(key);
}

// A node can do everything another can when both have linearized the same
// ok operations and reached the same state, and it has used up no more
// unknown operations and has no requirement the other lacks.
bool Searcher::Dominated(const std::string& key) const {
  auto it = explored_.find(key);
  if (it == explored_.end()) return false;
  for (const std::vector<uint64_t>& used : it->second) {
    if (unknown_.Includes(used)) return true;
  }
  return false;
}

bool Searcher::Explore() {
  AppendKey(deferred_, &key_);
  if (Dominated(key_)) return false;
  if (deferred_ >= 0) {
    std::string free_key;
    AppendKey(-1, &free_key);
    if (Dominated(free_key)) return false;
  }
  explored_[key_].push_back(unknown_.Words());
  ++explored_count_;
  return true;
}

void Searcher::Push(int32_t call) {
  const int32_t op = list_.entry(call).op;
  stack_.push_back(call);
  list_.Lift(call);
  if (IsKnown(op)) {
    ++known_linearized_;
  } else {
    ++unknown_linearized_;
  }
  const size_t depth = stack_.size();
  if (shared_ == depth - 1 && shared_ < deepest_.size() && deepest_[shared_] == op) {
    ++shared_;
  }
  if (depth > deepest_.size()) {
    deepest_.resize(shared_);
    for (size_t i = shared_; i < depth; ++i) deepest_.push_back(list_.entry(stack_[i]).op);
    shared_ = depth;
  }
}

int32_t Searcher::Pop() {
  const int32_t call = stack_.back();
  const int32_t op = list_.entry(call).op;
  stack_.pop_back();
  shared_ = std::min(shared_, stack_.size());
  deferred_ = deferred_before_.back();
  deferred_before_.pop_back();
  model_.Undo();
  SetOf(op).Erase(number_[op]);
  list_.Unlift(call);
  if (IsKnown(op)) {
    --known_linearized_;
  } else {
    --unknown_linearized_;
  }
  return call;
}

bool Searcher::Advance(int64_t max_steps) {
  for (int64_t step = 0; step < max_steps; ++step) {
    // Done once every ok operation is linearized: unknown ones left over
    // take effect at the end, or never, which no output can contradict.
    if (known_linearized_ == known_total_) {
      outcome_ = SearchOutcome::kLinearizable;
      return true;
    }
    ++steps_;
    // A return always precedes the end: some ok operation is pending.
    PEGASUS_CHECK(entry_ != -1) << "the search ran off the event list";
    const EventList::Entry& entry = list_.entry(entry_);
    if (entry.call) {
      const bool wanted = order_ == Order::kCallOrder || IsKnown(entry.op) != unknown_pass_;
      if (wanted && TryLinearize(entry.op)) {
        Push(entry_);
        entry_ = list_.first();
        unknown_pass_ = false;
      } else {
        entry_ = entry.next;
      }
      continue;
    }
    if (order_ == Order::kOkFirst && !unknown_pass_ && unknown_linearized_ < unknown_total_) {
      unknown_pass_ = true;
      entry_ = list_.first();
      continue;
    }
    // No operation that may come next works here: take back the last
    // choice and try the next one.
    if (stack_.empty()) {
      outcome_ = SearchOutcome::kNotLinearizable;
      return true;
    }
    const int32_t call = Pop();
    unknown_pass_ = order_ == Order::kOkFirst && !IsKnown(list_.entry(call).op);
    entry_ = list_.entry(call).next;
  }
  return false;
}

SearchResult ResultOf(const std::vector<std::unique_ptr<Searcher>>& searchers,
                      const Searcher& answer, SearchOutcome outcome) {
  SearchResult result;
  result.outcome = outcome;
  result.longest_prefix = answer.deepest();
  for (const auto& searcher : searchers) {
    result.steps += searcher->steps();
    result.explored += searcher->explored();
  }
  return result;
}

}  // namespace

SearchResult SearchLinearization(const std::vector<const Operation*>& ops,
                                 std::chrono::steady_clock::time_point deadline) {
  // Each order is quick where the other can be slow, so both run, a round
  // each in turn, and the first to decide answers. With no unknown
  // operations they are the same search.
  std::vector<std::unique_ptr<Searcher>> searchers;
  searchers.push_back(std::make_unique<Searcher>(ops, Order::kCallOrder));
  const bool any_unknown = std::any_of(
      ops.begin(), ops.end(), [](const Operation* op) { return op->result == OpResult::kUnknown; });
  while (true) {
    for (const auto& searcher : searchers) {
      if (searcher->Advance(kStepsPerRound)) {
        return ResultOf(searchers, *searcher, searcher->outcome());
      }
    }
    // A history with a linearization usually has it found in a few dozen
    // steps per operation; start the second order only after that.
    if (any_unknown && searchers.size() == 1 &&
        searchers[0]->steps() >= kHeadStartStepsPerOperation * static_cast<int64_t>(ops.size())) {
      searchers.push_back(std::make_unique<Searcher>(ops, Order::kOkFirst));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      const Searcher* deepest = searchers[0].get();
      for (const auto& searcher : searchers) {
        if (searcher->deepest().size() > deepest->deepest().size()) deepest = searcher.get();
      }
      return ResultOf(searchers, *deepest, SearchOutcome::kOutOfTime);
    }
  }
}

}  // namespace pegasus::checkers::internal
