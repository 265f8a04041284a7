// The sequential specification of one hashkey, as the linearizability search
// uses it: a state (sortkey -> value) that operations are applied to and
// undone from in last-in-first-out order.
//
// Sortkeys and values are numbered once (every sortkey an operation names,
// every value it writes or reads), so the state is a small array of value
// numbers, an apply or undo touches only the sortkeys the operation names
// (a multi_get_range, those in its range; a sortkey_count, a running count
// of the sortkeys with a value), and two states are equal exactly when their
// arrays are. A sortkey no operation names is always absent, so a read of a
// range or the count of rows need only look at the numbered sortkeys.
//
// Thread-compatible: one search owns one model.

#ifndef PEGASUS_TESTING_CHECKERS_INTERNAL_KV_MODEL_H_
#define PEGASUS_TESTING_CHECKERS_INTERNAL_KV_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pegasus/storage/partition_types.h"
#include "testing/checkers/history.h"

namespace pegasus::checkers::internal {

class KvModel {
 public:
  // `ops` all name the same hashkey, none has result kFailed, and each
  // passes ValidateOperation(). The model keeps pointers into them.
  explicit KvModel(const std::vector<const Operation*>& ops);

  KvModel(const KvModel&) = delete;
  KvModel& operator=(const KvModel&) = delete;

  int size() const { return static_cast<int>(ops_.size()); }

  // Applies operation `op` (an index into the constructor's `ops`) to the
  // state when the sequential specification allows it there: an ok operation
  // must produce exactly its recorded outputs; an unknown one always applies,
  // with whatever effect it has in this state (none, if the store would
  // reject it). Returns false, leaving the state as it was, otherwise; then
  // `why`, when not null, says what did not match.
  bool Apply(int op, std::string* why = nullptr);

  // Undoes the most recent Apply() that returned true and is not undone yet.
  void Undo();

  // The sortkey numbers `op` reads (its outputs or effect depend on them)
  // and may write, each sorted and without duplicates.
  const std::vector<int32_t>& Reads(int op) const { return ops_[op].reads; }
  const std::vector<int32_t>& Writes(int op) const { return ops_[op].writes; }

  // Whether `op` writes without reading anything: set, multi_set, del,
  // multi_del (not a read whose outputs depend on no sortkey, such as a
  // multi_get_range over a range no operation names).
  bool IsBlindWrite(int op) const { return ops_[op].reads.empty() && !ops_[op].writes.empty(); }

  // Appends the state's exact encoding: equal encodings, equal states.
  void AppendStateKey(std::string* key) const;

  // The state, readable: {"a"="1", "b"=absent}.
  std::string DescribeState() const;

 private:
  static constexpr int32_t kAbsent = -1;
  // A sortkey an incomplete multi_get_range says nothing about.
  static constexpr int32_t kUnchecked = -2;

  struct CompiledOp {
    const Operation* op = nullptr;
    // Sortkey numbers, aligned with op->sortkeys (op->read_sortkeys for
    // kMultiGetRange).
    std::vector<int32_t> keys;
    // Written (sets), read (gets) or mutated to (kCheckAndMutate; kAbsent
    // deletes) values, aligned with keys.
    std::vector<int32_t> values;
    int32_t check_key = 0;  // kCheckAndSet, kCheckAndMutate.
    int32_t set_key = 0;
    int32_t set_value = 0;
    int32_t check_value = kAbsent;
    // kMultiGetRange, when ok: every sortkey in the range with the value it
    // must have (kAbsent when not returned, or kUnchecked); and why the rows
    // returned cannot be right whatever the state, if they cannot.
    std::vector<std::pair<int32_t, int32_t>> expected;
    std::string bad_rows;
    std::vector<int32_t> reads;
    std::vector<int32_t> writes;
  };

  // The parts that need every sortkey numbered first.
  void CompileRange(CompiledOp* c) const;
  void SetReadsAndWrites(CompiledOp* c) const;
  int32_t KeyNumber(const std::string& sortkey);
  int32_t ValueNumber(const std::string& value);
  int32_t ValueNumber(const std::optional<std::string>& value);  // Or kAbsent.
  void Write(int32_t key, int32_t value);
  std::string Describe(int32_t value) const;

  bool ApplyRead(const CompiledOp& c, bool ok, std::string* why) const;
  bool ApplyRangeRead(const CompiledOp& c, bool ok, std::string* why) const;
  bool ApplyCount(const CompiledOp& c, bool ok, std::string* why) const;
  bool ApplyExist(const CompiledOp& c, bool ok, std::string* why) const;
  bool ApplyIncr(const CompiledOp& c, bool ok, std::string* why);
  // check_and_set and check_and_mutate.
  bool ApplyCheck(const CompiledOp& c, bool ok, std::string* why);

  std::vector<CompiledOp> ops_;
  std::vector<std::string> sortkeys_;  // By number.
  std::unordered_map<std::string, int32_t> key_numbers_;
  // Values by number, with what incr sees in each: Pegasus counts an empty
  // value as 0 and fails on one that is not an integer (nullopt).
  std::vector<std::string> values_;
  std::vector<std::optional<int64_t>> value_ints_;
  std::unordered_map<std::string, int32_t> value_numbers_;

  std::vector<int32_t> state_;  // Value number per sortkey number.
  int64_t present_ = 0;         // Sortkeys with a value.
  // (sortkey number, value before) per write, and where each applied
  // operation's writes begin.
  std::vector<std::pair<int32_t, int32_t>> undo_log_;
  std::vector<size_t> undo_frames_;
};

}  // namespace pegasus::checkers::internal

#endif  // PEGASUS_TESTING_CHECKERS_INTERNAL_KV_MODEL_H_
