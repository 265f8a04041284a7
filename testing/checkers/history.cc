#include "testing/checkers/history.h"

#include <cstdint>
#include <fstream>
#include <istream>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "pegasus/base/status.h"

namespace pegasus::checkers {
namespace {

using Json = nlohmann::json;
// Output keeps fields in the order they are added, so every line reads the
// same way: who, what, the arguments, the outputs, then times and result.
using OrderedJson = nlohmann::ordered_json;

constexpr int32_t kMaxCheckType = 17;  // CheckType::kValueIntGreater.

struct KindName {
  OpKind kind;
  const char* name;
};

constexpr KindName kKindNames[] = {
    {OpKind::kGet, "get"},
    {OpKind::kMultiGet, "multi_get"},
    {OpKind::kSet, "set"},
    {OpKind::kMultiSet, "multi_set"},
    {OpKind::kDel, "del"},
    {OpKind::kMultiDel, "multi_del"},
    {OpKind::kIncr, "incr"},
    {OpKind::kCheckAndSet, "check_and_set"},
    {OpKind::kCheckAndMutate, "check_and_mutate"},
    {OpKind::kMultiGetRange, "multi_get_range"},
    {OpKind::kSortkeyCount, "sortkey_count"},
    {OpKind::kExist, "exist"},
};

absl::Status FieldError(const std::string& field, const std::string& problem) {
  return PegasusError(ErrorCode::kInvalidArgument,
                      absl::StrCat("field \"", field, "\": ", problem));
}

// Kinds with one or more sortkeys, and kinds with none.
bool IsMultiKind(OpKind kind) {
  return kind == OpKind::kMultiGet || kind == OpKind::kMultiSet || kind == OpKind::kMultiDel ||
         kind == OpKind::kCheckAndMutate;
}

bool HasNoSortkeys(OpKind kind) {
  return kind == OpKind::kCheckAndSet || kind == OpKind::kMultiGetRange ||
         kind == OpKind::kSortkeyCount;
}

// Kinds whose read, when ok, is aligned with sortkeys.
bool IsReadKind(OpKind kind) { return kind == OpKind::kGet || kind == OpKind::kMultiGet; }

bool HasCheck(OpKind kind) {
  return kind == OpKind::kCheckAndSet || kind == OpKind::kCheckAndMutate;
}

bool IsSetKind(OpKind kind) { return kind == OpKind::kSet || kind == OpKind::kMultiSet; }

// Debian's Abseil has its own string_view; convert at this boundary.
std::string Base64(std::string_view bytes) {
  return absl::Base64Escape(absl::string_view(bytes.data(), bytes.size()));
}

// ---------------------------------------------------------------------------
// Formatting.

OrderedJson Base64Array(const std::vector<std::string>& items) {
  OrderedJson array = OrderedJson::array();
  for (const std::string& item : items) array.push_back(Base64(item));
  return array;
}

OrderedJson OptionalBase64(const std::optional<std::string>& item) {
  if (!item.has_value()) return nullptr;
  return Base64(*item);
}

OrderedJson OptionalBase64Array(const std::vector<std::optional<std::string>>& items) {
  OrderedJson array = OrderedJson::array();
  for (const auto& item : items) array.push_back(OptionalBase64(item));
  return array;
}

void FormatCheck(const Operation& op, OrderedJson* line) {
  OrderedJson& out = *line;
  out["check_sortkey"] = Base64(op.check_sortkey);
  out["check_type"] = op.check_type;
  out["check_operand"] = Base64(op.check_operand);
  if (op.kind == OpKind::kCheckAndSet) {
    out["set_sortkey"] = Base64(op.set_sortkey);
    out["set_value"] = Base64(op.set_value);
  } else {
    out["mutate_values"] = OptionalBase64Array(op.mutate_values);
  }
  out["return_check_value"] = op.return_check_value;
  if (op.result == OpResult::kOk) {
    out["check_succeeded"] = op.check_succeeded;
    if (op.return_check_value) out["check_value"] = OptionalBase64(op.check_value);
  }
}

void FormatArguments(const Operation& op, OrderedJson* line) {
  OrderedJson& out = *line;
  const bool ok = op.result == OpResult::kOk;
  if (!HasNoSortkeys(op.kind)) out["sortkeys"] = Base64Array(op.sortkeys);
  if (IsSetKind(op.kind)) out["values"] = Base64Array(op.values);
  if (IsReadKind(op.kind) && ok) out["read"] = OptionalBase64Array(op.read);
  if (op.kind == OpKind::kIncr) {
    out["increment"] = op.increment;
    if (ok) out["new_value"] = op.new_value;
  }
  if (HasCheck(op.kind)) FormatCheck(op, line);
  if (op.kind == OpKind::kMultiGetRange) {
    out["start_sortkey"] = Base64(op.start_sortkey);
    out["stop_sortkey"] = Base64(op.stop_sortkey);
    if (ok) {
      out["read_sortkeys"] = Base64Array(op.read_sortkeys);
      out["read"] = OptionalBase64Array(op.read);
      out["incomplete"] = op.incomplete;
    }
  }
  if (op.kind == OpKind::kSortkeyCount && ok) out["count"] = op.count;
  if (op.kind == OpKind::kExist && ok) out["exists"] = op.exists;
}

// ---------------------------------------------------------------------------
// Parsing. Every accessor checks the JSON type first, so nothing here throws.

absl::StatusOr<const Json*> Field(const Json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end()) return FieldError(field, "missing");
  return &*it;
}

absl::StatusOr<int64_t> ParseInt(const Json& object, const char* field) {
  PEGASUS_ASSIGN_OR_RETURN(const Json* value, Field(object, field));
  if (!value->is_number_integer()) {
    return FieldError(field, "must be an integer, not " + value->dump());
  }
  if (value->is_number_unsigned() &&
      value->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return FieldError(field, "does not fit in a signed 64-bit integer");
  }
  return value->get<int64_t>();
}

absl::StatusOr<bool> ParseBool(const Json& object, const char* field) {
  PEGASUS_ASSIGN_OR_RETURN(const Json* value, Field(object, field));
  if (!value->is_boolean()) {
    return FieldError(field, "must be true or false, not " + value->dump());
  }
  return value->get<bool>();
}

absl::StatusOr<std::string> ParseString(const Json& object, const char* field) {
  PEGASUS_ASSIGN_OR_RETURN(const Json* value, Field(object, field));
  if (!value->is_string()) {
    return FieldError(field, "must be a string, not " + value->dump());
  }
  return value->get<std::string>();
}

// Decodes standard base64 with padding. Abseil's decoder also accepts
// missing padding and stray bits; re-encoding and comparing accepts only the
// one canonical spelling of each byte string.
absl::StatusOr<std::string> DecodeBase64(const Json& value, const std::string& field) {
  if (!value.is_string()) {
    return FieldError(field, "must be a base64 string, not " + value.dump());
  }
  const std::string& text = value.get_ref<const std::string&>();
  std::string bytes;
  if (!absl::Base64Unescape(absl::string_view(text.data(), text.size()), &bytes) ||
      Base64(bytes) != text) {
    return FieldError(
        field, "not valid base64 (RFC 4648, with padding): \"" + absl::CHexEscape(text) + "\"");
  }
  return bytes;
}

absl::StatusOr<std::optional<std::string>> DecodeOptionalBase64(const Json& value,
                                                                const std::string& field) {
  if (value.is_null()) return std::optional<std::string>();
  PEGASUS_ASSIGN_OR_RETURN(std::string bytes, DecodeBase64(value, field));
  return std::optional<std::string>(std::move(bytes));
}

absl::StatusOr<std::string> ParseBytes(const Json& object, const char* field) {
  PEGASUS_ASSIGN_OR_RETURN(const Json* value, Field(object, field));
  return DecodeBase64(*value, field);
}

absl::StatusOr<std::optional<std::string>> ParseOptionalBytes(const Json& object,
                                                              const char* field) {
  PEGASUS_ASSIGN_OR_RETURN(const Json* value, Field(object, field));
  return DecodeOptionalBase64(*value, field);
}

absl::StatusOr<const Json*> ParseArray(const Json& object, const char* field) {
  PEGASUS_ASSIGN_OR_RETURN(const Json* value, Field(object, field));
  if (!value->is_array()) {
    return FieldError(field, "must be an array, not " + value->dump());
  }
  return value;
}

absl::StatusOr<std::vector<std::string>> ParseBytesArray(const Json& object, const char* field) {
  PEGASUS_ASSIGN_OR_RETURN(const Json* array, ParseArray(object, field));
  std::vector<std::string> items;
  for (size_t i = 0; i < array->size(); ++i) {
    PEGASUS_ASSIGN_OR_RETURN(std::string item,
                             DecodeBase64((*array)[i], absl::StrCat(field, "[", i, "]")));
    items.push_back(std::move(item));
  }
  return items;
}

absl::StatusOr<std::vector<std::optional<std::string>>> ParseOptionalBytesArray(const Json& object,
                                                                                const char* field) {
  PEGASUS_ASSIGN_OR_RETURN(const Json* array, ParseArray(object, field));
  std::vector<std::optional<std::string>> items;
  for (size_t i = 0; i < array->size(); ++i) {
    PEGASUS_ASSIGN_OR_RETURN(std::optional<std::string> item,
                             DecodeOptionalBase64((*array)[i], absl::StrCat(field, "[", i, "]")));
    items.push_back(std::move(item));
  }
  return items;
}

absl::StatusOr<OpKind> ParseKind(const Json& object) {
  PEGASUS_ASSIGN_OR_RETURN(std::string name, ParseString(object, "op"));
  for (const KindName& entry : kKindNames) {
    if (name == entry.name) return entry.kind;
  }
  return FieldError("op", "unknown operation \"" + absl::CHexEscape(name) + "\"");
}

absl::StatusOr<OpResult> ParseResult(const Json& object) {
  PEGASUS_ASSIGN_OR_RETURN(std::string name, ParseString(object, "result"));
  for (OpResult result : {OpResult::kOk, OpResult::kFailed, OpResult::kUnknown}) {
    if (name == OpResultName(result)) return result;
  }
  return FieldError("result", "unknown result \"" + absl::CHexEscape(name) + "\"");
}

// check_and_set's and check_and_mutate's fields, but for the sortkeys.
absl::Status ParseCheck(const Json& object, Operation* op) {
  PEGASUS_ASSIGN_OR_RETURN(op->check_sortkey, ParseBytes(object, "check_sortkey"));
  PEGASUS_ASSIGN_OR_RETURN(int64_t check_type, ParseInt(object, "check_type"));
  if (check_type < 0 || check_type > kMaxCheckType) {
    return FieldError("check_type", absl::StrCat(check_type, " is not in 0..17"));
  }
  op->check_type = static_cast<int32_t>(check_type);
  PEGASUS_ASSIGN_OR_RETURN(op->check_operand, ParseBytes(object, "check_operand"));
  if (op->kind == OpKind::kCheckAndSet) {
    PEGASUS_ASSIGN_OR_RETURN(op->set_sortkey, ParseBytes(object, "set_sortkey"));
    PEGASUS_ASSIGN_OR_RETURN(op->set_value, ParseBytes(object, "set_value"));
  } else {
    PEGASUS_ASSIGN_OR_RETURN(op->mutate_values, ParseOptionalBytesArray(object, "mutate_values"));
  }
  PEGASUS_ASSIGN_OR_RETURN(op->return_check_value, ParseBool(object, "return_check_value"));
  if (op->result != OpResult::kOk) return absl::OkStatus();
  PEGASUS_ASSIGN_OR_RETURN(op->check_succeeded, ParseBool(object, "check_succeeded"));
  if (op->return_check_value) {
    PEGASUS_ASSIGN_OR_RETURN(op->check_value, ParseOptionalBytes(object, "check_value"));
  }
  return absl::OkStatus();
}

absl::Status ParseMultiGetRange(const Json& object, Operation* op) {
  PEGASUS_ASSIGN_OR_RETURN(op->start_sortkey, ParseBytes(object, "start_sortkey"));
  PEGASUS_ASSIGN_OR_RETURN(op->stop_sortkey, ParseBytes(object, "stop_sortkey"));
  if (op->result != OpResult::kOk) return absl::OkStatus();
  PEGASUS_ASSIGN_OR_RETURN(op->read_sortkeys, ParseBytesArray(object, "read_sortkeys"));
  PEGASUS_ASSIGN_OR_RETURN(op->read, ParseOptionalBytesArray(object, "read"));
  PEGASUS_ASSIGN_OR_RETURN(op->incomplete, ParseBool(object, "incomplete"));
  return absl::OkStatus();
}

// The fields that depend on the kind of operation.
absl::Status ParseArguments(const Json& object, Operation* op) {
  const bool ok = op->result == OpResult::kOk;
  if (op->kind == OpKind::kMultiGetRange) return ParseMultiGetRange(object, op);
  if (op->kind == OpKind::kSortkeyCount) {
    if (ok) {
      PEGASUS_ASSIGN_OR_RETURN(op->count, ParseInt(object, "count"));
    }
    return absl::OkStatus();
  }
  if (!HasNoSortkeys(op->kind)) {
    PEGASUS_ASSIGN_OR_RETURN(op->sortkeys, ParseBytesArray(object, "sortkeys"));
  }
  if (HasCheck(op->kind)) return ParseCheck(object, op);
  if (IsSetKind(op->kind)) {
    PEGASUS_ASSIGN_OR_RETURN(op->values, ParseBytesArray(object, "values"));
  }
  if (IsReadKind(op->kind) && ok) {
    PEGASUS_ASSIGN_OR_RETURN(op->read, ParseOptionalBytesArray(object, "read"));
  }
  if (op->kind == OpKind::kIncr) {
    PEGASUS_ASSIGN_OR_RETURN(op->increment, ParseInt(object, "increment"));
    if (ok) {
      PEGASUS_ASSIGN_OR_RETURN(op->new_value, ParseInt(object, "new_value"));
    }
  }
  if (op->kind == OpKind::kExist && ok) {
    PEGASUS_ASSIGN_OR_RETURN(op->exists, ParseBool(object, "exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Json> ParseJson(const std::string& line) {
  // nlohmann reports syntax errors (with their byte offset) only as
  // exceptions; this is the one place one is caught, and it goes no further.
  try {
    return Json::parse(line);
  } catch (const Json::parse_error& e) {
    return PegasusError(ErrorCode::kInvalidArgument, absl::StrCat("not JSON: ", e.what()));
  }
}

}  // namespace

const char* OpKindName(OpKind kind) {
  for (const KindName& entry : kKindNames) {
    if (entry.kind == kind) return entry.name;
  }
  return "unrecognized";
}

const char* OpResultName(OpResult result) {
  switch (result) {
    case OpResult::kOk:
      return "ok";
    case OpResult::kFailed:
      return "failed";
    case OpResult::kUnknown:
      return "unknown";
  }
  return "unrecognized";
}

namespace {

// The number of sortkeys each kind takes.
absl::Status ValidateSortkeyCount(const Operation& op) {
  const size_t keys = op.sortkeys.size();
  if (op.kind == OpKind::kCheckAndSet) return absl::OkStatus();
  if (HasNoSortkeys(op.kind) && keys != 0) {
    return FieldError("sortkeys", absl::StrCat(OpKindName(op.kind), " takes no sort keys"));
  }
  if (IsMultiKind(op.kind) && keys == 0) {
    return FieldError("sortkeys",
                      absl::StrCat(OpKindName(op.kind), " needs at least one sort key"));
  }
  if (!IsMultiKind(op.kind) && !HasNoSortkeys(op.kind) && keys != 1) {
    return FieldError("sortkeys",
                      absl::StrCat(OpKindName(op.kind), " needs exactly one sort key, not ", keys));
  }
  return absl::OkStatus();
}

// A multi_get_range's rows: a value for each sort key returned.
absl::Status ValidateRangeRead(const Operation& op) {
  if (op.read.size() != op.read_sortkeys.size()) {
    return FieldError("read", absl::StrCat(op.read.size(), " values read for ",
                                           op.read_sortkeys.size(), " read_sortkeys"));
  }
  for (size_t i = 0; i < op.read.size(); ++i) {
    if (!op.read[i].has_value()) {
      return FieldError(absl::StrCat("read[", i, "]"), "a row returned has a value, not null");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateOperation(const Operation& op) {
  const size_t keys = op.sortkeys.size();
  PEGASUS_RETURN_IF_ERROR(ValidateSortkeyCount(op));
  if (IsSetKind(op.kind) && op.values.size() != keys) {
    return FieldError("values", absl::StrCat(op.values.size(), " values for ", keys, " sortkeys"));
  }
  if (op.kind == OpKind::kCheckAndMutate && op.mutate_values.size() != keys) {
    return FieldError("mutate_values",
                      absl::StrCat(op.mutate_values.size(), " mutations for ", keys, " sortkeys"));
  }
  if (IsReadKind(op.kind) && op.result == OpResult::kOk && op.read.size() != keys) {
    return FieldError("read", absl::StrCat(op.read.size(), " values read for ", keys, " sortkeys"));
  }
  if (op.kind == OpKind::kMultiGetRange && op.result == OpResult::kOk) {
    PEGASUS_RETURN_IF_ERROR(ValidateRangeRead(op));
  }
  if (HasCheck(op.kind) && (op.check_type < 0 || op.check_type > kMaxCheckType)) {
    return FieldError("check_type", absl::StrCat(op.check_type, " is not in 0..17"));
  }
  if (op.return_ns < op.call_ns) {
    return FieldError("return_ns", absl::StrCat(op.return_ns, " is before call_ns ", op.call_ns));
  }
  return absl::OkStatus();
}

std::string FormatHistoryLine(const Operation& op) {
  OrderedJson line;
  line["client"] = op.client;
  line["op"] = OpKindName(op.kind);
  line["hashkey"] = Base64(op.hashkey);
  FormatArguments(op, &line);
  line["call_ns"] = op.call_ns;
  line["return_ns"] = op.return_ns;
  line["result"] = OpResultName(op.result);
  if (!op.error.empty()) line["error"] = op.error;
  // An error name is free text; replace bytes that are not UTF-8 rather than
  // fail (the default handler throws).
  return line.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

absl::StatusOr<Operation> ParseHistoryLine(const std::string& line) {
  PEGASUS_ASSIGN_OR_RETURN(Json object, ParseJson(line));
  if (!object.is_object()) {
    return PegasusError(ErrorCode::kInvalidArgument, "a line must be a JSON object");
  }
  Operation op;
  PEGASUS_ASSIGN_OR_RETURN(op.client, ParseInt(object, "client"));
  PEGASUS_ASSIGN_OR_RETURN(op.kind, ParseKind(object));
  PEGASUS_ASSIGN_OR_RETURN(op.result, ParseResult(object));
  PEGASUS_ASSIGN_OR_RETURN(op.hashkey, ParseBytes(object, "hashkey"));
  PEGASUS_ASSIGN_OR_RETURN(op.call_ns, ParseInt(object, "call_ns"));
  PEGASUS_ASSIGN_OR_RETURN(op.return_ns, ParseInt(object, "return_ns"));
  if (object.contains("error")) {
    PEGASUS_ASSIGN_OR_RETURN(op.error, ParseString(object, "error"));
  }
  PEGASUS_RETURN_IF_ERROR(ParseArguments(object, &op));
  PEGASUS_RETURN_IF_ERROR(ValidateOperation(op));
  return op;
}

absl::StatusOr<std::vector<Operation>> ReadHistory(std::istream& in) {
  std::vector<Operation> ops;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    absl::StatusOr<Operation> op = ParseHistoryLine(line);
    if (!op.ok()) {
      return PegasusError(ErrorCode::kInvalidArgument,
                          absl::StrCat("line ", number, ": ", op.status().message()));
    }
    ops.push_back(*std::move(op));
  }
  if (in.bad()) return PegasusError(ErrorCode::kIoError, "reading the history failed");
  return ops;
}

absl::StatusOr<std::vector<Operation>> ReadHistoryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return PegasusError(ErrorCode::kIoError, "cannot open " + path);
  }
  absl::StatusOr<std::vector<Operation>> ops = ReadHistory(in);
  if (!ops.ok()) {
    return PegasusError(ToErrorCode(ops.status()),
                        absl::StrCat(path, ": ", ops.status().message()));
  }
  return ops;
}

absl::Status WriteHistoryFile(const std::string& path, const std::vector<Operation>& ops) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out.is_open()) {
    return PegasusError(ErrorCode::kIoError, "cannot create " + path);
  }
  for (const Operation& op : ops) out << FormatHistoryLine(op) << '\n';
  out.close();
  if (!out) return PegasusError(ErrorCode::kIoError, "writing " + path + " failed");
  return absl::OkStatus();
}

}  // namespace pegasus::checkers
