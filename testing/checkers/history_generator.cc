#include "testing/checkers/history_generator.h"

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>

#include "pegasus/storage/predicates.h"

namespace pegasus::checkers {
namespace {

// The standard library's distributions differ between implementations; this
// keeps a seed's history the same everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  int64_t Uniform(int64_t n) { return static_cast<int64_t>(engine_() % n); }
  int64_t Between(int64_t low, int64_t high) { return low + Uniform(high - low + 1); }
  bool Chance(double p) { return static_cast<double>(engine_() >> 11) * 0x1.0p-53 < p; }

 private:
  std::mt19937_64 engine_;
};

// "", "x", then "1", "2", ...: empty, non-integer and integer values.
std::string RandomValue(Rng& rng, int distinct) {
  const int64_t k = rng.Uniform(std::max(distinct, 1));
  if (k == 0) return "";
  if (k == 1) return "x";
  return std::to_string(k - 1);
}

// Byte strings that are not text: a NUL and a byte that is not UTF-8.
std::string SortkeyName(int64_t k) { return std::string("s\0", 2) + static_cast<char>(k); }
std::string HashkeyName(int64_t k) { return "h" + std::to_string(k) + "\xff"; }

std::vector<std::string> DistinctSortkeys(Rng& rng, int available, int64_t count) {
  std::vector<int64_t> all(available);
  for (int i = 0; i < available; ++i) all[i] = i;
  std::vector<std::string> keys;
  for (int64_t i = 0; i < count && i < available; ++i) {
    std::swap(all[i], all[i + rng.Uniform(available - i)]);
    keys.push_back(SortkeyName(all[i]));
  }
  return keys;
}

void RandomCheck(Rng& rng, const GeneratorOptions& options, Operation* op) {
  const int keys = std::max(options.sortkeys_per_hashkey, 1);
  op->check_sortkey = SortkeyName(rng.Uniform(keys));
  op->check_type = static_cast<int32_t>(rng.Uniform(18));
  op->check_operand = RandomValue(rng, options.distinct_values);
  op->return_check_value = rng.Chance(0.5);
}

// A bound of a range: a sortkey, or between two (a sortkey with a byte
// appended sorts right after it).
std::string RandomBound(Rng& rng, int keys) {
  std::string bound = SortkeyName(rng.Uniform(keys));
  if (rng.Chance(0.3)) bound += 'x';
  return bound;
}

Operation RandomOperation(Rng& rng, const GeneratorOptions& options) {
  const int keys = std::max(options.sortkeys_per_hashkey, 1);
  Operation op;
  op.kind = static_cast<OpKind>(rng.Uniform(12));
  switch (op.kind) {
    case OpKind::kGet:
    case OpKind::kSet:
    case OpKind::kDel:
    case OpKind::kIncr:
    case OpKind::kExist:
      op.sortkeys = DistinctSortkeys(rng, keys, 1);
      break;
    case OpKind::kMultiGet:
    case OpKind::kMultiSet:
    case OpKind::kMultiDel:
      op.sortkeys = DistinctSortkeys(rng, keys, rng.Between(1, 3));
      break;
    case OpKind::kCheckAndSet:
      RandomCheck(rng, options, &op);
      op.set_sortkey = rng.Chance(0.5) ? op.check_sortkey : SortkeyName(rng.Uniform(keys));
      op.set_value = RandomValue(rng, options.distinct_values);
      break;
    case OpKind::kCheckAndMutate:
      RandomCheck(rng, options, &op);
      // Sortkeys may repeat: the last mutation of one wins.
      for (int64_t n = rng.Between(1, 3); n > 0; --n) {
        op.sortkeys.push_back(SortkeyName(rng.Uniform(keys)));
        op.mutate_values.push_back(rng.Chance(0.3) ? std::nullopt
                                                   : std::optional<std::string>(RandomValue(
                                                         rng, options.distinct_values)));
      }
      break;
    case OpKind::kMultiGetRange:
      if (rng.Chance(0.6)) op.start_sortkey = RandomBound(rng, keys);
      if (rng.Chance(0.6)) op.stop_sortkey = RandomBound(rng, keys);
      break;
    case OpKind::kSortkeyCount:
      break;
  }
  if (op.kind == OpKind::kSet || op.kind == OpKind::kMultiSet) {
    for (size_t i = 0; i < op.sortkeys.size(); ++i) {
      op.values.push_back(RandomValue(rng, options.distinct_values));
    }
  }
  if (op.kind == OpKind::kIncr) op.increment = rng.Between(-3, 3);
  return op;
}

void ClearOutputs(Operation* op) {
  op->read.clear();
  op->new_value = 0;
  op->check_succeeded = false;
  op->check_value.reset();
  op->read_sortkeys.clear();
  op->incomplete = false;
  op->count = 0;
  op->exists = false;
}

// Cuts a multi_get_range's rows short, as a store stopping at a limit does
// (which may also be right at the last row).
void MakeIncomplete(Rng& rng, Operation* op) {
  const size_t rows = static_cast<size_t>(rng.Uniform(op->read_sortkeys.size() + 1));
  op->read_sortkeys.resize(rows);
  op->read.resize(rows);
  op->incomplete = true;
}

// Whether recorded rows are what the store could return, given the
// complete answer: all of it, or, when incomplete, its first rows.
bool SameRows(const Operation& complete, const Operation& recorded) {
  const size_t rows = recorded.read_sortkeys.size();
  if (recorded.incomplete ? rows > complete.read_sortkeys.size()
                          : rows != complete.read_sortkeys.size()) {
    return false;
  }
  return std::equal(recorded.read_sortkeys.begin(), recorded.read_sortkeys.end(),
                    complete.read_sortkeys.begin()) &&
         std::equal(recorded.read.begin(), recorded.read.end(), complete.read.begin());
}

bool SameOutputs(const Operation& a, const Operation& b) {
  switch (a.kind) {
    case OpKind::kGet:
    case OpKind::kMultiGet:
      return a.read == b.read;
    case OpKind::kIncr:
      return a.new_value == b.new_value;
    case OpKind::kCheckAndSet:
    case OpKind::kCheckAndMutate:
      return a.check_succeeded == b.check_succeeded &&
             (!a.return_check_value || a.check_value == b.check_value);
    case OpKind::kMultiGetRange:
      return SameRows(a, b);
    case OpKind::kSortkeyCount:
      return a.count == b.count;
    case OpKind::kExist:
      return a.exists == b.exists;
    default:
      return true;
  }
}

using Rows = std::map<std::string, ReferenceRow>;

bool BruteForce(const std::vector<const Operation*>& ops, std::vector<bool>* used, const Rows& rows,
                int64_t pending_ok) {
  if (pending_ok == 0) return true;
  for (size_t i = 0; i < ops.size(); ++i) {
    if ((*used)[i]) continue;
    bool first = true;  // No pending ok operation returned before i's call.
    for (size_t j = 0; j < ops.size() && first; ++j) {
      first = (*used)[j] || ops[j]->result != OpResult::kOk || ops[j]->return_ns >= ops[i]->call_ns;
    }
    if (!first) continue;
    const bool ok = ops[i]->result == OpResult::kOk;
    Rows next = rows;
    Operation outputs = *ops[i];
    const bool applied = ExecuteReference(&next[ops[i]->hashkey], &outputs);
    if (ok && (!applied || !SameOutputs(outputs, *ops[i]))) continue;
    (*used)[i] = true;
    if (BruteForce(ops, used, next, pending_ok - (ok ? 1 : 0))) return true;
    (*used)[i] = false;
  }
  return false;
}

}  // namespace

bool ExecuteReference(ReferenceRow* row, Operation* op) {
  switch (op->kind) {
    case OpKind::kGet:
    case OpKind::kMultiGet:
      op->read.clear();
      for (const std::string& sortkey : op->sortkeys) {
        auto it = row->find(sortkey);
        op->read.push_back(it == row->end() ? std::nullopt
                                            : std::optional<std::string>(it->second));
      }
      return true;
    case OpKind::kSet:
    case OpKind::kMultiSet:
      for (size_t i = 0; i < op->sortkeys.size(); ++i) (*row)[op->sortkeys[i]] = op->values[i];
      return true;
    case OpKind::kDel:
    case OpKind::kMultiDel:
      for (const std::string& sortkey : op->sortkeys) row->erase(sortkey);
      return true;
    case OpKind::kIncr: {
      auto it = row->find(op->sortkeys[0]);
      int64_t base = 0;
      if (it != row->end() && !it->second.empty()) {
        std::optional<int64_t> parsed = ParseInt64(it->second);
        if (!parsed.has_value()) return false;
        base = *parsed;
      }
      int64_t sum = 0;
      if (__builtin_add_overflow(base, op->increment, &sum)) return false;
      (*row)[op->sortkeys[0]] = std::to_string(sum);
      op->new_value = sum;
      return true;
    }
    case OpKind::kCheckAndSet:
    case OpKind::kCheckAndMutate: {
      auto it = row->find(op->check_sortkey);
      const bool exists = it != row->end();
      const CheckResult result =
          EvaluateCheck(static_cast<CheckType>(op->check_type), op->check_operand, exists,
                        exists ? std::string_view(it->second) : std::string_view());
      if (result == CheckResult::kInvalidArgument) return false;
      op->check_succeeded = result == CheckResult::kPassed;
      op->check_value.reset();
      if (op->return_check_value && exists) op->check_value = it->second;
      if (!op->check_succeeded) return true;
      if (op->kind == OpKind::kCheckAndSet) {
        (*row)[op->set_sortkey] = op->set_value;
        return true;
      }
      for (size_t i = 0; i < op->sortkeys.size(); ++i) {
        if (op->mutate_values[i].has_value()) {
          (*row)[op->sortkeys[i]] = *op->mutate_values[i];
        } else {
          row->erase(op->sortkeys[i]);
        }
      }
      return true;
    }
    case OpKind::kMultiGetRange:
      op->read_sortkeys.clear();
      op->read.clear();
      op->incomplete = false;
      for (auto it = row->lower_bound(op->start_sortkey);
           it != row->end() && (op->stop_sortkey.empty() || it->first < op->stop_sortkey); ++it) {
        op->read_sortkeys.push_back(it->first);
        op->read.push_back(it->second);
      }
      return true;
    case OpKind::kSortkeyCount:
      op->count = static_cast<int64_t>(row->size());
      return true;
    case OpKind::kExist:
      op->exists = row->count(op->sortkeys[0]) > 0;
      return true;
  }
  return false;
}

std::vector<Operation> GenerateLinearizableHistory(const GeneratorOptions& options) {
  Rng rng(options.seed);
  const int64_t clients = int64_t{options.hashkeys} * options.clients_per_hashkey;
  std::vector<int64_t> client_time(clients, 0);
  std::vector<Operation> ops;
  // (point at which the operation takes effect, index); unknown operations
  // that never take effect have none.
  std::vector<std::pair<int64_t, size_t>> effects;
  for (int64_t i = 0; i < options.operations; ++i) {
    const int64_t client = i % clients;
    Operation op = RandomOperation(rng, options);
    op.client = client;
    op.hashkey = HashkeyName(client / options.clients_per_hashkey);
    op.call_ns = client_time[client] + rng.Between(1, options.max_gap_ns);
    op.return_ns = op.call_ns + rng.Between(1, options.max_duration_ns);
    client_time[client] = op.return_ns;
    int64_t point = rng.Between(op.call_ns, op.return_ns);
    if (rng.Chance(options.unknown_fraction)) {
      op.result = OpResult::kUnknown;
      op.error = "PERR_TIMEOUT";
      // It may take effect after the client gave up.
      point = rng.Between(op.call_ns, op.call_ns + 3 * (op.return_ns - op.call_ns));
      if (rng.Chance(0.5)) point = -1;
    }
    if (point >= 0) effects.emplace_back(point, ops.size());
    ops.push_back(std::move(op));
  }
  std::sort(effects.begin(), effects.end());
  Rows rows;
  for (const auto& [point, index] : effects) {
    Operation& op = ops[index];
    if (!ExecuteReference(&rows[op.hashkey], &op) && op.result == OpResult::kOk) {
      op.result = OpResult::kFailed;
      op.error = "PERR_INVALID_ARGUMENT";
    }
    if (op.kind == OpKind::kMultiGetRange && rng.Chance(0.2)) MakeIncomplete(rng, &op);
  }
  for (Operation& op : ops) {
    if (op.result != OpResult::kOk) ClearOutputs(&op);
  }
  std::stable_sort(ops.begin(), ops.end(), [](const Operation& a, const Operation& b) {
    return a.return_ns < b.return_ns;
  });
  return ops;
}

bool BruteForceLinearizable(const std::vector<Operation>& history) {
  std::vector<const Operation*> ops;
  int64_t pending_ok = 0;
  for (const Operation& op : history) {
    if (op.result == OpResult::kFailed) continue;
    ops.push_back(&op);
    if (op.result == OpResult::kOk) ++pending_ok;
  }
  std::vector<bool> used(ops.size(), false);
  return BruteForce(ops, &used, Rows(), pending_ok);
}

}  // namespace pegasus::checkers
