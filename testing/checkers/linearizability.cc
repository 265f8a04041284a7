#include "testing/checkers/linearizability.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "testing/checkers/internal/kv_model.h"
#include "testing/checkers/internal/wgl_search.h"

namespace pegasus::checkers {
namespace {

using internal::SearchOutcome;
using internal::SearchResult;
using Clock = std::chrono::steady_clock;

// An explanation lists at most this many operations, around the place the
// search got stuck, so a long history does not bury it.
constexpr size_t kMaxListedOps = 200;

std::string Quote(const std::string& bytes) {
  return absl::StrCat("\"", absl::CHexEscape(bytes), "\"");
}

std::string QuoteOptional(const std::optional<std::string>& bytes) {
  return bytes.has_value() ? Quote(*bytes) : "absent";
}

std::string QuoteList(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  for (const std::string& item : items) quoted.push_back(Quote(item));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

std::string DescribeCheck(const Operation& op) {
  return absl::StrCat("check ", Quote(op.check_sortkey), " type ",
                      op.check_type, " operand ", Quote(op.check_operand));
}

// "{"a"="1", "b" deleted}".
std::string DescribeMutations(const Operation& op) {
  std::vector<std::string> mutations;
  for (size_t i = 0; i < op.sortkeys.size() && i < op.mutate_values.size();
       ++i) {
    const std::optional<std::string>& value = op.mutate_values[i];
    mutations.push_back(
        absl::StrCat(Quote(op.sortkeys[i]),
                     value.has_value() ? "=" + Quote(*value) : " deleted"));
  }
  return absl::StrCat("{", absl::StrJoin(mutations, ", "), "}");
}

// "["a", "c")", or "["a", end)".
std::string DescribeRange(const Operation& op) {
  return absl::StrCat("[", Quote(op.start_sortkey), ", ",
                      op.stop_sortkey.empty() ? "end" : Quote(op.stop_sortkey),
                      ")");
}

std::string DescribeArguments(const Operation& op) {
  switch (op.kind) {
    case OpKind::kGet:
    case OpKind::kDel:
    case OpKind::kMultiGet:
    case OpKind::kMultiDel:
    case OpKind::kExist:
      return QuoteList(op.sortkeys);
    case OpKind::kSet:
    case OpKind::kMultiSet: {
      std::vector<std::string> pairs;
      for (size_t i = 0; i < op.sortkeys.size() && i < op.values.size(); ++i) {
        pairs.push_back(
            absl::StrCat(Quote(op.sortkeys[i]), "=", Quote(op.values[i])));
      }
      return absl::StrCat("{", absl::StrJoin(pairs, ", "), "}");
    }
    case OpKind::kIncr:
      return absl::StrCat(QuoteList(op.sortkeys), " by ", op.increment);
    case OpKind::kCheckAndSet:
      return absl::StrCat(DescribeCheck(op), ", set ", Quote(op.set_sortkey),
                          "=", Quote(op.set_value));
    case OpKind::kCheckAndMutate:
      return absl::StrCat(DescribeCheck(op), ", mutate ",
                          DescribeMutations(op));
    case OpKind::kMultiGetRange:
      return DescribeRange(op);
    case OpKind::kSortkeyCount:
      return "";
  }
  return "";
}

std::string DescribeCheckOutputs(const Operation& op) {
  return absl::StrCat(" -> check ", op.check_succeeded ? "passed" : "failed",
                      op.return_check_value
                          ? ", check value " + QuoteOptional(op.check_value)
                          : "");
}

// "-> {"a"="1", "b"="2"}", "incomplete" after it when it is.
std::string DescribeRows(const Operation& op) {
  std::vector<std::string> rows;
  for (size_t i = 0; i < op.read_sortkeys.size() && i < op.read.size(); ++i) {
    rows.push_back(absl::StrCat(Quote(op.read_sortkeys[i]), "=",
                                QuoteOptional(op.read[i])));
  }
  return absl::StrCat(" -> {", absl::StrJoin(rows, ", "), "}",
                      op.incomplete ? " incomplete" : "");
}

std::string DescribeOutputs(const Operation& op) {
  if (op.result != OpResult::kOk) return "";
  switch (op.kind) {
    case OpKind::kGet:
    case OpKind::kMultiGet: {
      std::vector<std::string> read;
      for (const auto& value : op.read) read.push_back(QuoteOptional(value));
      return absl::StrCat(" -> [", absl::StrJoin(read, ", "), "]");
    }
    case OpKind::kIncr:
      return absl::StrCat(" -> ", op.new_value);
    case OpKind::kCheckAndSet:
    case OpKind::kCheckAndMutate:
      return DescribeCheckOutputs(op);
    case OpKind::kMultiGetRange:
      return DescribeRows(op);
    case OpKind::kSortkeyCount:
      return absl::StrCat(" -> ", op.count);
    case OpKind::kExist:
      return op.exists ? " -> exists" : " -> absent";
    default:
      return "";
  }
}

// "#3 client 2 [100, 250] ok get ["a"] -> ["1"]".
std::string DescribeOp(int index, const Operation& op) {
  const std::string interval =
      op.result == OpResult::kOk
          ? absl::StrCat("[", op.call_ns, ", ", op.return_ns, "]")
          : absl::StrCat("[", op.call_ns, ", gave up at ", op.return_ns, "]");
  return absl::StrCat("#", index, " client ", op.client, " ", interval, " ",
                      OpResultName(op.result), " ", OpKindName(op.kind), " ",
                      DescribeArguments(op), DescribeOutputs(op),
                      op.error.empty() ? "" : " (" + op.error + ")");
}

// One hashkey's operations, by call time. Failed operations took no effect;
// unknown reads neither took effect nor can be contradicted: both are left
// out.
struct Part {
  std::string hashkey;
  std::vector<const Operation*> ops;
  int64_t left_out = 0;
};

std::map<std::string, Part> SplitByHashkey(
    const std::vector<Operation>& history, int64_t* checked) {
  std::map<std::string, Part> parts;
  for (const Operation& op : history) {
    if (op.result == OpResult::kFailed) continue;
    ++*checked;
    Part& part = parts[op.hashkey];
    part.hashkey = op.hashkey;
    const bool read = op.kind == OpKind::kGet || op.kind == OpKind::kMultiGet ||
                      op.kind == OpKind::kMultiGetRange ||
                      op.kind == OpKind::kSortkeyCount ||
                      op.kind == OpKind::kExist;
    if (read && op.result == OpResult::kUnknown) {
      ++part.left_out;
    } else {
      part.ops.push_back(&op);
    }
  }
  for (auto& [hashkey, part] : parts) {
    std::stable_sort(part.ops.begin(), part.ops.end(),
                     [](const Operation* a, const Operation* b) {
                       return a->call_ns < b->call_ns;
                     });
  }
  return parts;
}

// The part without its unknown writes whose written values nobody observed
// (no read returned them, no check_and_set or check_and_mutate compared
// against them or returned them) and that delete nothing. An unknown
// operation may never have taken effect, so a linearization of what is left
// is one of the whole part; and as written values are unique, such writes
// are rarely needed to explain anything (an exist, a sortkey_count or a
// check may still need the row to be there), while each one multiplies the
// orders the search must try.
std::vector<const Operation*> WithoutUnobservedUnknownWrites(const Part& part) {
  std::set<std::string> observed;
  for (const Operation* op : part.ops) {
    for (const std::optional<std::string>& value : op->read) {
      if (value.has_value()) observed.insert(*value);
    }
    if (op->kind == OpKind::kCheckAndSet ||
        op->kind == OpKind::kCheckAndMutate) {
      observed.insert(op->check_operand);
      if (op->check_value.has_value()) observed.insert(*op->check_value);
    }
  }
  std::vector<const Operation*> kept;
  for (const Operation* op : part.ops) {
    std::vector<std::string> written = op->values;
    if (op->kind == OpKind::kCheckAndSet) written.push_back(op->set_value);
    bool deletes = false;
    for (const std::optional<std::string>& value : op->mutate_values) {
      if (value.has_value()) {
        written.push_back(*value);
      } else {
        deletes = true;
      }
    }
    const bool blind = op->kind == OpKind::kSet ||
                       op->kind == OpKind::kMultiSet ||
                       op->kind == OpKind::kCheckAndSet ||
                       (op->kind == OpKind::kCheckAndMutate && !deletes);
    const bool unobserved = std::none_of(
        written.begin(), written.end(),
        [&](const std::string& v) { return observed.count(v) > 0; });
    if (op->result == OpResult::kUnknown && blind && unobserved) continue;
    kept.push_back(op);
  }
  return kept;
}

// The operations that could have been linearized right after `prefix`: those
// called before the first return among the ok ones still pending.
std::vector<int> NextCandidates(const Part& part,
                                const std::vector<int>& prefix) {
  std::vector<bool> done(part.ops.size(), false);
  for (int op : prefix) done[op] = true;
  int64_t first_return = std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < part.ops.size(); ++i) {
    if (!done[i] && part.ops[i]->result == OpResult::kOk) {
      first_return = std::min(first_return, part.ops[i]->return_ns);
    }
  }
  std::vector<int> candidates;
  for (size_t i = 0; i < part.ops.size(); ++i) {
    if (!done[i] && part.ops[i]->call_ns <= first_return) {
      candidates.push_back(static_cast<int>(i));
    }
  }
  return candidates;
}

// Replays the longest prefix and says, for each operation that could have
// come next, why it cannot.
std::string ExplainDeadEnd(const Part& part, const std::vector<int>& prefix) {
  internal::KvModel model(part.ops);
  for (int op : prefix) model.Apply(op);
  std::string out =
      absl::StrCat("State after it: ", model.DescribeState(), "\n",
                   "Operations that could come next, and why not:\n");
  for (int op : NextCandidates(part, prefix)) {
    std::string why;
    if (model.Apply(op, &why)) {
      model.Undo();
      why = "it can take effect, but nothing after it linearizes the rest";
    }
    absl::StrAppend(&out, "  #", op, ": ", why, "\n");
  }
  return out;
}

std::string ListOps(const Part& part, const std::vector<int>& prefix) {
  std::vector<int> position(part.ops.size(), -1);
  for (size_t i = 0; i < prefix.size(); ++i)
    position[prefix[i]] = static_cast<int>(i);
  // Center the listing on the first operation the prefix leaves out.
  size_t first_missing = 0;
  while (first_missing < position.size() && position[first_missing] != -1)
    ++first_missing;
  const size_t begin =
      first_missing > kMaxListedOps / 4 ? first_missing - kMaxListedOps / 4 : 0;
  const size_t end = std::min(part.ops.size(), begin + kMaxListedOps);
  std::string out =
      absl::StrCat("Operations by call time (", begin, " to ", end - 1, " of ",
                   part.ops.size(), "; [k] = k-th in the prefix):\n");
  for (size_t i = begin; i < end; ++i) {
    absl::StrAppend(
        &out, "  ", DescribeOp(static_cast<int>(i), *part.ops[i]),
        position[i] >= 0 ? absl::StrCat(" [", position[i], "]") : "", "\n");
  }
  return out;
}

std::string Explain(const Part& part, const SearchResult& result) {
  const std::vector<int>& prefix = result.longest_prefix;
  std::string out = absl::StrCat(
      "hashkey ", Quote(part.hashkey), ": ",
      result.outcome == SearchOutcome::kOutOfTime
          ? "the search ran out of time"
          : "no order of the operations explains what they returned",
      " (", part.ops.size(), " operations, ", part.left_out,
      " unknown reads left out; ", result.steps, " steps, ", result.explored,
      " nodes explored).\n");
  std::vector<std::string> order;
  for (int op : prefix) order.push_back(absl::StrCat("#", op));
  absl::StrAppend(&out, "Longest linearizable prefix: ", prefix.size(), " of ",
                  part.ops.size(), " operations: ", absl::StrJoin(order, " "),
                  "\n");
  if (result.outcome == SearchOutcome::kNotLinearizable) {
    absl::StrAppend(&out, ExplainDeadEnd(part, prefix));
  }
  return out + ListOps(part, prefix);
}

}  // namespace

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kLinearizable:
      return "linearizable";
    case Verdict::kNotLinearizable:
      return "not linearizable";
    case Verdict::kUnknown:
      return "unknown";
  }
  return "unrecognized";
}

CheckReport CheckLinearizability(const std::vector<Operation>& history,
                                 const CheckOptions& options) {
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(options.time_budget_ms);
  CheckReport report;
  for (size_t i = 0; i < history.size(); ++i) {
    absl::Status valid = ValidateOperation(history[i]);
    if (!valid.ok()) {
      report.verdict = Verdict::kUnknown;
      report.hashkey = history[i].hashkey;
      report.explanation = absl::StrCat(
          "operation ", i, " of the history is malformed: ", valid.message());
      return report;
    }
  }
  const std::map<std::string, Part> parts =
      SplitByHashkey(history, &report.operations);
  report.hashkeys = static_cast<int64_t>(parts.size());
  for (const auto& [hashkey, part] : parts) {
    SearchResult result;
    const std::vector<const Operation*> reduced =
        WithoutUnobservedUnknownWrites(part);
    if (reduced.size() < part.ops.size() && Clock::now() < deadline) {
      // At most half of what is left of the budget; if it does not
      // linearize, the whole part is searched.
      const Clock::time_point now = Clock::now();
      if (internal::SearchLinearization(reduced, now + (deadline - now) / 2)
              .outcome == SearchOutcome::kLinearizable) {
        continue;
      }
    }
    if (Clock::now() >= deadline) {
      result.outcome = SearchOutcome::kOutOfTime;
    } else {
      result = internal::SearchLinearization(part.ops, deadline);
    }
    if (result.outcome == SearchOutcome::kLinearizable) continue;
    report.verdict = result.outcome == SearchOutcome::kOutOfTime
                         ? Verdict::kUnknown
                         : Verdict::kNotLinearizable;
    report.hashkey = hashkey;
    report.explanation = Explain(part, result);
    return report;
  }
  return report;
}

}  // namespace pegasus::checkers
