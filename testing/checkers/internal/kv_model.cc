#include "testing/checkers/internal/kv_model.h"

#include <algorithm>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "pegasus/base/check.h"
#include "pegasus/storage/predicates.h"

namespace pegasus::checkers::internal {
namespace {

std::string Quote(const std::string& bytes) {
  return absl::StrCat("\"", absl::CHexEscape(bytes), "\"");
}

bool InRange(const std::string& sortkey, const Operation& op) {
  return sortkey >= op.start_sortkey && (op.stop_sortkey.empty() || sortkey < op.stop_sortkey);
}

std::string DescribeRange(const Operation& op) {
  return absl::StrCat("[", Quote(op.start_sortkey), ", ",
                      op.stop_sortkey.empty() ? "end" : Quote(op.stop_sortkey), ")");
}

}  // namespace

KvModel::KvModel(const std::vector<const Operation*>& ops) {
  ops_.reserve(ops.size());
  for (const Operation* op : ops) {
    CompiledOp c;
    c.op = op;
    const std::vector<std::string>& keys =
        op->kind == OpKind::kMultiGetRange ? op->read_sortkeys : op->sortkeys;
    for (const std::string& sortkey : keys) c.keys.push_back(KeyNumber(sortkey));
    for (const std::string& value : op->values) c.values.push_back(ValueNumber(value));
    for (const auto& value : op->read) c.values.push_back(ValueNumber(value));
    for (const auto& value : op->mutate_values) c.values.push_back(ValueNumber(value));
    if (op->kind == OpKind::kCheckAndSet || op->kind == OpKind::kCheckAndMutate) {
      c.check_key = KeyNumber(op->check_sortkey);
      c.check_value = ValueNumber(op->check_value);
    }
    if (op->kind == OpKind::kCheckAndSet) {
      c.set_key = KeyNumber(op->set_sortkey);
      c.set_value = ValueNumber(op->set_value);
    }
    ops_.push_back(std::move(c));
  }
  for (CompiledOp& c : ops_) {
    CompileRange(&c);
    SetReadsAndWrites(&c);
  }
  state_.assign(sortkeys_.size(), kAbsent);
}

void KvModel::CompileRange(CompiledOp* c) const {
  const Operation& op = *c->op;
  if (op.kind != OpKind::kMultiGetRange || op.result != OpResult::kOk) return;
  for (size_t i = 0; i < op.read_sortkeys.size(); ++i) {
    if (!InRange(op.read_sortkeys[i], op)) {
      c->bad_rows =
          absl::StrCat("it returned sortkey ", Quote(op.read_sortkeys[i]), ", outside its range");
      return;
    }
    if (i > 0 && op.read_sortkeys[i] <= op.read_sortkeys[i - 1]) {
      c->bad_rows = absl::StrCat("it returned sortkey ", Quote(op.read_sortkeys[i]), " after ",
                                 Quote(op.read_sortkeys[i - 1]));
      return;
    }
  }
  for (size_t key = 0; key < sortkeys_.size(); ++key) {
    const std::string& sortkey = sortkeys_[key];
    if (!InRange(sortkey, op)) continue;
    int32_t value = kAbsent;
    if (op.incomplete && (op.read_sortkeys.empty() || sortkey > op.read_sortkeys.back())) {
      value = kUnchecked;
    }
    auto it = std::lower_bound(op.read_sortkeys.begin(), op.read_sortkeys.end(), sortkey);
    if (it != op.read_sortkeys.end() && *it == sortkey) {
      value = c->values[it - op.read_sortkeys.begin()];
    }
    if (value != kUnchecked) c->expected.emplace_back(static_cast<int32_t>(key), value);
  }
}

int32_t KvModel::KeyNumber(const std::string& sortkey) {
  auto [it, inserted] = key_numbers_.emplace(sortkey, static_cast<int32_t>(sortkeys_.size()));
  if (inserted) sortkeys_.push_back(sortkey);
  return it->second;
}

int32_t KvModel::ValueNumber(const std::string& value) {
  auto [it, inserted] = value_numbers_.emplace(value, static_cast<int32_t>(values_.size()));
  if (inserted) {
    values_.push_back(value);
    value_ints_.push_back(value.empty() ? std::optional<int64_t>(0) : ParseInt64(value));
  }
  return it->second;
}

int32_t KvModel::ValueNumber(const std::optional<std::string>& value) {
  return value.has_value() ? ValueNumber(*value) : kAbsent;
}

void KvModel::SetReadsAndWrites(CompiledOp* c) const {
  switch (c->op->kind) {
    case OpKind::kGet:
    case OpKind::kMultiGet:
    case OpKind::kExist:
      c->reads = c->keys;
      break;
    case OpKind::kMultiGetRange:
      for (const auto& [key, value] : c->expected) c->reads.push_back(key);
      break;
    case OpKind::kSortkeyCount:
      for (size_t key = 0; key < sortkeys_.size(); ++key) {
        c->reads.push_back(static_cast<int32_t>(key));
      }
      break;
    case OpKind::kSet:
    case OpKind::kMultiSet:
    case OpKind::kDel:
    case OpKind::kMultiDel:
      c->writes = c->keys;
      break;
    case OpKind::kIncr:
      c->reads = c->writes = c->keys;
      break;
    case OpKind::kCheckAndSet:
      c->reads = {c->check_key};
      c->writes = {c->set_key};
      break;
    case OpKind::kCheckAndMutate:
      c->reads = {c->check_key};
      c->writes = c->keys;
      break;
  }
  for (std::vector<int32_t>* keys : {&c->reads, &c->writes}) {
    std::sort(keys->begin(), keys->end());
    keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
  }
}

void KvModel::Write(int32_t key, int32_t value) {
  undo_log_.emplace_back(key, state_[key]);
  present_ += (value != kAbsent) - (state_[key] != kAbsent);
  state_[key] = value;
}

void KvModel::Undo() {
  PEGASUS_CHECK(!undo_frames_.empty()) << "Undo() without an applied operation";
  const size_t begin = undo_frames_.back();
  undo_frames_.pop_back();
  // Newest first, so a sortkey written twice by one multi_set gets back
  // the value it had before the operation.
  while (undo_log_.size() > begin) {
    const auto [key, value] = undo_log_.back();
    present_ += (value != kAbsent) - (state_[key] != kAbsent);
    state_[key] = value;
    undo_log_.pop_back();
  }
}

bool KvModel::Apply(int op, std::string* why) {
  const CompiledOp& c = ops_[op];
  const bool ok = c.op->result == OpResult::kOk;
  switch (c.op->kind) {
    case OpKind::kGet:
    case OpKind::kMultiGet:
      if (!ApplyRead(c, ok, why)) return false;
      undo_frames_.push_back(undo_log_.size());
      return true;
    case OpKind::kMultiGetRange:
      if (!ApplyRangeRead(c, ok, why)) return false;
      undo_frames_.push_back(undo_log_.size());
      return true;
    case OpKind::kSortkeyCount:
      if (!ApplyCount(c, ok, why)) return false;
      undo_frames_.push_back(undo_log_.size());
      return true;
    case OpKind::kExist:
      if (!ApplyExist(c, ok, why)) return false;
      undo_frames_.push_back(undo_log_.size());
      return true;
    case OpKind::kSet:
    case OpKind::kMultiSet:
      undo_frames_.push_back(undo_log_.size());
      for (size_t i = 0; i < c.keys.size(); ++i) Write(c.keys[i], c.values[i]);
      return true;
    case OpKind::kDel:
    case OpKind::kMultiDel:
      undo_frames_.push_back(undo_log_.size());
      for (int32_t key : c.keys) Write(key, kAbsent);
      return true;
    case OpKind::kIncr:
      return ApplyIncr(c, ok, why);
    case OpKind::kCheckAndSet:
    case OpKind::kCheckAndMutate:
      return ApplyCheck(c, ok, why);
  }
  PEGASUS_CHECK(false) << "unknown operation kind " << static_cast<int>(c.op->kind);
  return false;
}

bool KvModel::ApplyRead(const CompiledOp& c, bool ok, std::string* why) const {
  if (!ok) return true;  // What an unknown read saw is not known.
  for (size_t i = 0; i < c.keys.size(); ++i) {
    const int32_t current = state_[c.keys[i]];
    if (c.values[i] == current) continue;
    if (why != nullptr) {
      *why = absl::StrCat("read ", Describe(c.values[i]), " at sortkey ", Quote(c.op->sortkeys[i]),
                          ", but the value is ", Describe(current));
    }
    return false;
  }
  return true;
}

bool KvModel::ApplyRangeRead(const CompiledOp& c, bool ok, std::string* why) const {
  if (!ok) return true;
  std::string mismatch = c.bad_rows;
  for (size_t i = 0; i < c.expected.size() && mismatch.empty(); ++i) {
    const auto [key, value] = c.expected[i];
    if (state_[key] == value) continue;
    mismatch = value == kAbsent ? "it did not return sortkey "
                                : absl::StrCat("it read ", Describe(value), " at sortkey ");
    absl::StrAppend(&mismatch, Quote(sortkeys_[key]), ", but the value is ", Describe(state_[key]));
  }
  if (mismatch.empty()) return true;
  if (why != nullptr) {
    *why = absl::StrCat("multi_get_range ", DescribeRange(*c.op),
                        c.op->incomplete ? " (incomplete): " : ": ", mismatch);
  }
  return false;
}

bool KvModel::ApplyCount(const CompiledOp& c, bool ok, std::string* why) const {
  if (!ok || c.op->count == present_) return true;
  if (why != nullptr) {
    *why = absl::StrCat("sortkey_count returned ", c.op->count, ", but ", present_,
                        " sortkeys have a value");
  }
  return false;
}

bool KvModel::ApplyExist(const CompiledOp& c, bool ok, std::string* why) const {
  const int32_t current = state_[c.keys[0]];
  if (!ok || c.op->exists == (current != kAbsent)) return true;
  if (why != nullptr) {
    *why = absl::StrCat("exist returned ", c.op->exists ? "true" : "false", " at sortkey ",
                        Quote(c.op->sortkeys[0]), ", but the value is ", Describe(current));
  }
  return false;
}

bool KvModel::ApplyIncr(const CompiledOp& c, bool ok, std::string* why) {
  const int32_t key = c.keys[0];
  const int32_t current = state_[key];
  const std::optional<int64_t> base =
      current == kAbsent ? std::optional<int64_t>(0) : value_ints_[current];
  int64_t sum = 0;
  if (!base.has_value() || __builtin_add_overflow(*base, c.op->increment, &sum)) {
    // The store rejects the incr here: an ok one cannot be here, an unknown
    // one takes no effect.
    if (!ok) {
      undo_frames_.push_back(undo_log_.size());
      return true;
    }
    if (why != nullptr) {
      *why = absl::StrCat("incr by ", c.op->increment, " cannot succeed on ", Describe(current));
    }
    return false;
  }
  if (ok && sum != c.op->new_value) {
    if (why != nullptr) {
      *why = absl::StrCat("incr by ", c.op->increment, " returned ", c.op->new_value,
                          ", but the value is ", Describe(current));
    }
    return false;
  }
  undo_frames_.push_back(undo_log_.size());
  Write(key, ValueNumber(std::to_string(sum)));
  return true;
}

bool KvModel::ApplyCheck(const CompiledOp& c, bool ok, std::string* why) {
  const Operation& op = *c.op;
  const int32_t current = state_[c.check_key];
  const std::string_view value =
      current == kAbsent ? std::string_view() : std::string_view(values_[current]);
  const CheckResult result = EvaluateCheck(static_cast<CheckType>(op.check_type), op.check_operand,
                                           current != kAbsent, value);
  std::string mismatch;
  if (ok && result == CheckResult::kInvalidArgument) {
    mismatch = "its check cannot be evaluated on ";
  } else if (ok && op.return_check_value && c.check_value != current) {
    mismatch =
        absl::StrCat("it returned check value ", Describe(c.check_value), ", but the value is ");
  } else if (ok && op.check_succeeded != (result == CheckResult::kPassed)) {
    mismatch =
        absl::StrCat("its check ", op.check_succeeded ? "passed" : "failed", ", but the value is ");
  }
  if (!mismatch.empty()) {
    if (why != nullptr) {
      *why = absl::StrCat(OpKindName(op.kind), ": ", mismatch, Describe(current), " (check type ",
                          op.check_type, ", operand ", Quote(op.check_operand), ")");
    }
    return false;
  }
  undo_frames_.push_back(undo_log_.size());
  if (result != CheckResult::kPassed) return true;
  if (op.kind == OpKind::kCheckAndSet) {
    Write(c.set_key, c.set_value);
    return true;
  }
  // In order: a later mutation of the same sortkey wins.
  for (size_t i = 0; i < c.keys.size(); ++i) Write(c.keys[i], c.values[i]);
  return true;
}

void KvModel::AppendStateKey(std::string* key) const {
  key->append(reinterpret_cast<const char*>(state_.data()), state_.size() * sizeof(state_[0]));
}

std::string KvModel::Describe(int32_t value) const {
  return value == kAbsent ? "absent" : Quote(values_[value]);
}

std::string KvModel::DescribeState() const {
  std::vector<int32_t> keys(state_.size());
  for (size_t key = 0; key < keys.size(); ++key) keys[key] = static_cast<int32_t>(key);
  std::sort(keys.begin(), keys.end(),
            [this](int32_t a, int32_t b) { return sortkeys_[a] < sortkeys_[b]; });
  std::string out = "{";
  for (size_t i = 0; i < keys.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", Quote(sortkeys_[keys[i]]), "=",
                    Describe(state_[keys[i]]));
  }
  return out + "}";
}

}  // namespace pegasus::checkers::internal
