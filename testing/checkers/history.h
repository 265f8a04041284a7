// A client history: what each simulated (or real) client asked the store and
// what it got back, with call and return times. The linearizability checker
// reads it; the simulator writes it; docs/history_format.md specifies the
// JSON-lines file format exactly, for outside tools.

#ifndef PEGASUS_TESTING_CHECKERS_HISTORY_H_
#define PEGASUS_TESTING_CHECKERS_HISTORY_H_

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace pegasus::checkers {

enum class OpKind {
  kGet,          // sortkeys = {sk}; read = {value or absent}.
  kMultiGet,     // sortkeys = {sk...}; read aligned with sortkeys.
  kSet,          // sortkeys = {sk}; values = {v}.
  kMultiSet,     // sortkeys = {sk...}; values aligned.
  kDel,          // sortkeys = {sk}.
  kMultiDel,     // sortkeys = {sk...}.
  kIncr,         // sortkeys = {sk}; increment; new_value when ok.
  kCheckAndSet,  // check_* and set_* fields; check_succeeded (and
                 // check_value when return_check_value) when ok.
  // check_* fields; sortkeys = the mutations' sort keys, in order, and
  // mutate_values aligned (a value sets, nullopt deletes); outputs as
  // kCheckAndSet.
  kCheckAndMutate,
  // The rows of [start_sortkey, stop_sortkey) (an empty stop: to the end of
  // the hashkey; both empty: the whole hashkey). When ok: read_sortkeys and
  // read, the rows returned in ascending order, and incomplete.
  kMultiGetRange,
  kSortkeyCount,  // No sortkeys; count when ok.
  kExist,         // sortkeys = {sk}; exists when ok.
};

enum class OpResult {
  kOk,       // Took effect exactly once, between call and return.
  kFailed,   // Definitely took no effect (the store rejected it).
  kUnknown,  // The client gave up (timeout, lost connection): it may take
             // effect at any point after its call, or never.
};

struct Operation {
  int64_t client = 0;
  OpKind kind = OpKind::kGet;
  std::string hashkey;
  std::vector<std::string> sortkeys;
  // Values written (kSet, kMultiSet), aligned with sortkeys.
  std::vector<std::string> values;
  // Values read (kGet, kMultiGet, when ok), aligned with sortkeys;
  // nullopt = the sortkey had no value. kMultiGetRange: aligned with
  // read_sortkeys.
  std::vector<std::optional<std::string>> read;

  // kIncr.
  int64_t increment = 0;
  int64_t new_value = 0;  // When ok.

  // kCheckAndSet; the check_* fields also kCheckAndMutate. check_type is
  // the CheckType number (0..17).
  std::string check_sortkey;
  int32_t check_type = 0;
  std::string check_operand;
  std::string set_sortkey;
  std::string set_value;
  bool return_check_value = false;
  bool check_succeeded = false;                // When ok.
  std::optional<std::string> check_value;      // When ok and returned.

  // kCheckAndMutate (with the check_* fields above): what each mutation
  // does to its sort key, aligned with sortkeys: set this value, or delete.
  std::vector<std::optional<std::string>> mutate_values;

  // kMultiGetRange. read_sortkeys: the sort keys returned (when ok), in
  // the order returned (a correct store returns them ascending); read holds
  // their values. incomplete: the store stopped at a limit (PERR_INCOMPLETE),
  // so rows after the last one returned are not known.
  std::string start_sortkey;
  std::string stop_sortkey;
  std::vector<std::string> read_sortkeys;
  bool incomplete = false;

  int64_t count = 0;    // kSortkeyCount, when ok.
  bool exists = false;  // kExist, when ok.

  // Simulated (or real) nanoseconds. For kUnknown, return_ns is when the
  // client gave up; the checker treats the operation as open-ended.
  int64_t call_ns = 0;
  int64_t return_ns = 0;
  OpResult result = OpResult::kOk;
  std::string error;  // The error's name, for kFailed and kUnknown.
};

const char* OpKindName(OpKind kind);
const char* OpResultName(OpResult result);

// The shape rules every operation must follow, the same ones the parser
// enforces: one sort key for the single-key kinds, at least one for the
// multi kinds and check_and_mutate, none for multi_get_range and
// sortkey_count (check_and_set does not use them); values (and read, when
// ok) aligned with sortkeys, and mutate_values too; a multi_get_range's
// read aligned with read_sortkeys, every one a value; check_type in 0..17;
// call_ns <= return_ns. PERR_INVALID_ARGUMENT naming the field.
absl::Status ValidateOperation(const Operation& op);

// One JSON object, no trailing newline.
std::string FormatHistoryLine(const Operation& op);
// Parses one line; a clear error names the field that is missing or wrong.
absl::StatusOr<Operation> ParseHistoryLine(const std::string& line);

// Reads a whole JSON-lines history; blank lines are skipped; an error names
// the line number.
absl::StatusOr<std::vector<Operation>> ReadHistory(std::istream& in);
absl::StatusOr<std::vector<Operation>> ReadHistoryFile(const std::string& path);
absl::Status WriteHistoryFile(const std::string& path,
                              const std::vector<Operation>& ops);

}  // namespace pegasus::checkers

#endif  // PEGASUS_TESTING_CHECKERS_HISTORY_H_
