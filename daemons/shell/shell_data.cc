// The shell's data commands, on the table in use.

#include <map>

#include "absl/strings/numbers.h"
#include "daemons/shell/shell.h"
#include "daemons/shell/shell_internal.h"
#include "pegasus/storage/partition_types.h"

namespace pegasus::shell {
namespace {

template <typename T>
using Result = absl::StatusOr<T>;

absl::StatusOr<int64_t> ParseInt(const std::string& text,
                                 const std::string& what) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return BadArgument(what + " must be an integer, not '" + text + "'");
  }
  return value;
}

// Pegasus's shell names for check types.
absl::StatusOr<int32_t> ParseCheckType(const std::string& name) {
  static const std::map<std::string, CheckType> kTypes = {
      {"no_check", CheckType::kNoCheck},
      {"value_not_exist", CheckType::kValueNotExist},
      {"value_not_exist_or_empty", CheckType::kValueNotExistOrEmpty},
      {"value_exist", CheckType::kValueExist},
      {"value_not_empty", CheckType::kValueNotEmpty},
      {"match_anywhere", CheckType::kValueMatchAnywhere},
      {"match_prefix", CheckType::kValueMatchPrefix},
      {"match_postfix", CheckType::kValueMatchPostfix},
      {"bytes_less", CheckType::kValueBytesLess},
      {"bytes_less_or_equal", CheckType::kValueBytesLessOrEqual},
      {"bytes_equal", CheckType::kValueBytesEqual},
      {"bytes_greater_or_equal", CheckType::kValueBytesGreaterOrEqual},
      {"bytes_greater", CheckType::kValueBytesGreater},
      {"int_less", CheckType::kValueIntLess},
      {"int_less_or_equal", CheckType::kValueIntLessOrEqual},
      {"int_equal", CheckType::kValueIntEqual},
      {"int_greater_or_equal", CheckType::kValueIntGreaterOrEqual},
      {"int_greater", CheckType::kValueIntGreater},
  };
  auto it = kTypes.find(name);
  if (it == kTypes.end()) {
    std::string known;
    for (const auto& [type, value] : kTypes) known += " " + type;
    return BadArgument("unknown check type '" + name + "'; known:" + known);
  }
  return static_cast<int32_t>(it->second);
}

// anywhere, prefix or postfix (or none).
absl::StatusOr<int32_t> ParseFilterType(const std::string& name) {
  if (name.empty() || name == "none") return 0;
  if (name == "anywhere")
    return static_cast<int32_t>(FilterType::kMatchAnywhere);
  if (name == "prefix") return static_cast<int32_t>(FilterType::kMatchPrefix);
  if (name == "postfix") return static_cast<int32_t>(FilterType::kMatchPostfix);
  return BadArgument("filter types are anywhere, prefix and postfix, not '" +
                     name + "'");
}

// The options every range read and delete takes.
struct Range {
  bool start_inclusive = true;
  bool stop_inclusive = false;
  int32_t sort_key_filter_type = 0;
  std::string sort_key_filter_pattern;
};

absl::StatusOr<Range> ParseRange(const Args& args) {
  Range range;
  PEGASUS_ASSIGN_OR_RETURN(
      range.start_inclusive,
      ParseBool(args.Get("start_inclusive", "true"), "--start_inclusive"));
  PEGASUS_ASSIGN_OR_RETURN(
      range.stop_inclusive,
      ParseBool(args.Get("stop_inclusive", "false"), "--stop_inclusive"));
  PEGASUS_ASSIGN_OR_RETURN(
      range.sort_key_filter_type,
      ParseFilterType(args.Get("sort_key_filter_type", "")));
  range.sort_key_filter_pattern = args.Get("sort_key_filter_pattern", "");
  return range;
}

// Into DelRangeOptions or ScanOptions, whose range fields are alike.
template <typename Options>
void ApplyRange(const Range& range, Options* options) {
  options->start_inclusive = range.start_inclusive;
  options->stop_inclusive = range.stop_inclusive;
  options->sort_key_filter_type = range.sort_key_filter_type;
  options->sort_key_filter_pattern = range.sort_key_filter_pattern;
}

std::string Checked(const CheckAndSetResult& result) {
  std::string text = result.succeeded ? "check passed, set" : "check failed";
  if (result.check_value_returned) {
    text += result.check_value_exist
                ? "; checked value " + Escape(result.check_value)
                : "; checked row did not exist";
  }
  return text;
}

}  // namespace

absl::StatusOr<bool> ParseBool(const std::string& text,
                               const std::string& what) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return BadArgument(what + " is true or false, not '" + text + "'");
}

void Shell::PrintRows(
    const std::vector<std::pair<std::string, std::string>>& kvs,
    const std::string& hash_key, bool complete) {
  TablePrinter table({"hash_key", "sort_key", "value"});
  for (const auto& [sort_key, value] : kvs) {
    table.AddRow({Escape(hash_key), Escape(sort_key), Escape(value)});
  }
  table.Print(out_);
  out_ << kvs.size() << " rows" << (complete ? "" : " (more remain)") << "\n";
}

absl::Status Shell::Set(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  int64_t ttl = 0;
  if (args.positional.size() > 3) {
    PEGASUS_ASSIGN_OR_RETURN(ttl, ParseInt(args.positional[3], "the TTL"));
  }
  absl::Status status = SyncTable(table).Set(
      args.positional[0], args.positional[1], args.positional[2], ttl, Op());
  if (status.ok()) out_ << "OK\n";
  return status;
}

absl::Status Shell::MultiSet(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  if (args.positional.size() % 2 != 1) {
    return BadArgument("sort keys and values come in pairs");
  }
  std::vector<std::pair<std::string, std::string>> kvs;
  for (size_t i = 1; i + 1 < args.positional.size(); i += 2) {
    kvs.emplace_back(args.positional[i], args.positional[i + 1]);
  }
  PEGASUS_ASSIGN_OR_RETURN(int64_t ttl, args.GetInt("ttl", 0));
  absl::Status status =
      SyncTable(table).MultiSet(args.positional[0], kvs, ttl, Op());
  if (status.ok()) out_ << "OK: " << kvs.size() << " rows\n";
  return status;
}

absl::Status Shell::Get(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  Result<std::string> value =
      SyncTable(table).Get(args.positional[0], args.positional[1], Op());
  if (HasErrorCode(value.status(), ErrorCode::kNotFound)) {
    out_ << "not found\n";
    return absl::OkStatus();
  }
  if (!value.ok()) return value.status();
  out_ << Escape(*value) << "\n";
  return absl::OkStatus();
}

absl::Status Shell::MultiGet(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  std::vector<std::string> sort_keys(args.positional.begin() + 1,
                                     args.positional.end());
  PEGASUS_ASSIGN_OR_RETURN(int64_t max_count, args.GetInt("max_count", 0));
  Result<MultiGetResult> result = SyncTable(table).MultiGet(
      args.positional[0], sort_keys, static_cast<int32_t>(max_count), 0, Op());
  if (!result.ok()) return result.status();
  PrintRows(result->kvs, args.positional[0], result->complete);
  return absl::OkStatus();
}

absl::Status Shell::MultiGetRange(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  proto::MultiGetRequest request;
  request.set_hash_key(args.positional[0]);
  request.set_start_sort_key(args.positional[1]);
  request.set_stop_sort_key(args.positional[2]);
  PEGASUS_ASSIGN_OR_RETURN(Range range, ParseRange(args));
  request.set_start_inclusive(range.start_inclusive);
  request.set_stop_inclusive(range.stop_inclusive);
  request.set_sort_key_filter_type(range.sort_key_filter_type);
  request.set_sort_key_filter_pattern(range.sort_key_filter_pattern);
  PEGASUS_ASSIGN_OR_RETURN(int64_t max_count, args.GetInt("max_count", 0));
  request.set_max_kv_count(static_cast<int32_t>(max_count));
  request.set_no_value(args.Has("no_value"));
  request.set_reverse(args.Has("reverse"));
  Result<MultiGetResult> result = SyncTable(table).MultiGetRange(request, Op());
  if (!result.ok()) return result.status();
  PrintRows(result->kvs, args.positional[0], result->complete);
  return absl::OkStatus();
}

absl::Status Shell::MultiGetSortKeys(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  Result<MultiGetResult> result =
      WaitFor<Result<MultiGetResult>>([&](auto done) {
        table->MultiGetSortKeys(args.positional[0], 0, 0, std::move(done),
                                Op());
      });
  if (!result.ok()) return result.status();
  TablePrinter printer({"sort_key"});
  for (const auto& [sort_key, value] : result->kvs) {
    printer.AddRow({Escape(sort_key)});
  }
  printer.Print(out_);
  out_ << result->kvs.size() << " sort keys"
       << (result->complete ? "" : " (more remain)") << "\n";
  return absl::OkStatus();
}

absl::Status Shell::Del(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  absl::Status status =
      SyncTable(table).Del(args.positional[0], args.positional[1], Op());
  if (status.ok()) out_ << "OK\n";
  return status;
}

absl::Status Shell::MultiDel(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  std::vector<std::string> sort_keys(args.positional.begin() + 1,
                                     args.positional.end());
  absl::Status status =
      SyncTable(table).MultiDel(args.positional[0], sort_keys, Op());
  if (status.ok()) out_ << "OK: " << sort_keys.size() << " sort keys\n";
  return status;
}

absl::Status Shell::MultiDelRange(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  PEGASUS_ASSIGN_OR_RETURN(Range range, ParseRange(args));
  DelRangeOptions options;
  ApplyRange(range, &options);
  options.op = Op();
  Result<int64_t> deleted = WaitFor<Result<int64_t>>([&](auto done) {
    table->DelRange(args.positional[0], args.positional[1], args.positional[2],
                    options, std::move(done));
  });
  if (!deleted.ok()) return deleted.status();
  out_ << "OK: " << *deleted << " rows deleted\n";
  return absl::OkStatus();
}

absl::Status Shell::Incr(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  int64_t increment = 1;
  if (args.positional.size() > 2) {
    PEGASUS_ASSIGN_OR_RETURN(increment,
                             ParseInt(args.positional[2], "the increment"));
  }
  Result<int64_t> value = SyncTable(table).Incr(
      args.positional[0], args.positional[1], increment, 0, Op());
  if (!value.ok()) return value.status();
  out_ << *value << "\n";
  return absl::OkStatus();
}

absl::Status Shell::CheckAndSet(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  PEGASUS_ASSIGN_OR_RETURN(int32_t check_type,
                           ParseCheckType(args.positional[2]));
  CheckAndSetOptions options;
  PEGASUS_ASSIGN_OR_RETURN(options.set_value_ttl_s, args.GetInt("ttl", 0));
  options.return_check_value = args.Has("return_check_value");
  options.op = Op();
  Result<CheckAndSetResult> result = SyncTable(table).CheckAndSet(
      args.positional[0], args.positional[1], check_type, args.positional[3],
      args.positional[4], args.positional[5], options);
  if (!result.ok()) return result.status();
  out_ << Checked(*result) << "\n";
  return absl::OkStatus();
}

absl::Status Shell::CheckAndMutate(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  PEGASUS_ASSIGN_OR_RETURN(int32_t check_type,
                           ParseCheckType(args.positional[2]));
  std::vector<Mutation> mutations;
  const std::vector<std::string>& p = args.positional;
  for (size_t i = 4; i < p.size();) {
    if (p[i] == "set" && i + 2 < p.size()) {
      mutations.push_back({Mutation::Op::kSet, p[i + 1], p[i + 2], 0});
      i += 3;
    } else if (p[i] == "del" && i + 1 < p.size()) {
      mutations.push_back({Mutation::Op::kDel, p[i + 1], "", 0});
      i += 2;
    } else {
      return BadArgument(
          "mutations are `set <sort_key> <value>` and "
          "`del <sort_key>`, not '" +
          p[i] + "'");
    }
  }
  if (mutations.empty()) return BadArgument("no mutation given");
  CheckAndMutateOptions options;
  options.return_check_value = args.Has("return_check_value");
  options.op = Op();
  Result<CheckAndSetResult> result =
      WaitFor<Result<CheckAndSetResult>>([&](auto done) {
        table->CheckAndMutate(p[0], p[1], check_type, p[3], mutations, options,
                              std::move(done));
      });
  if (!result.ok()) return result.status();
  out_ << Checked(*result) << "\n";
  return absl::OkStatus();
}

absl::Status Shell::Exist(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  Result<bool> exists = WaitFor<Result<bool>>([&](auto done) {
    table->Exist(args.positional[0], args.positional[1], std::move(done), Op());
  });
  if (!exists.ok()) return exists.status();
  out_ << (*exists ? "exists" : "not found") << "\n";
  return absl::OkStatus();
}

absl::Status Shell::Count(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  Result<int64_t> count = WaitFor<Result<int64_t>>([&](auto done) {
    table->SortKeyCount(args.positional[0], std::move(done), Op());
  });
  if (!count.ok()) return count.status();
  out_ << *count << "\n";
  return absl::OkStatus();
}

absl::Status Shell::Ttl(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  Result<int32_t> ttl = WaitFor<Result<int32_t>>([&](auto done) {
    table->Ttl(args.positional[0], args.positional[1], std::move(done), Op());
  });
  if (HasErrorCode(ttl.status(), ErrorCode::kNotFound)) {
    out_ << "not found\n";
    return absl::OkStatus();
  }
  if (!ttl.ok()) return ttl.status();
  if (*ttl < 0) {
    out_ << "no TTL\n";
  } else {
    out_ << *ttl << " s\n";
  }
  return absl::OkStatus();
}

absl::Status Shell::RunScan(std::vector<std::unique_ptr<Scanner>> scanners,
                            int64_t max_count, bool count_only) {
  TablePrinter table({"hash_key", "sort_key", "value"});
  int64_t rows = 0;
  absl::Status status;
  for (std::unique_ptr<Scanner>& scanner : scanners) {
    while (status.ok() && (max_count <= 0 || rows < max_count)) {
      Result<ScanBatch> batch = WaitFor<Result<ScanBatch>>(
          [&](auto done) { scanner->Next(std::move(done)); });
      if (!batch.ok()) {
        status = batch.status();
        break;
      }
      rows += count_only ? batch->count : 0;
      for (Row& row : batch->rows) {
        if (max_count > 0 && rows >= max_count) break;
        ++rows;
        table.AddRow(
            {Escape(row.hash_key), Escape(row.sort_key), Escape(row.value)});
      }
      if (batch->complete) break;
    }
  }
  if (!status.ok()) return status;
  if (!count_only) table.Print(out_);
  out_ << rows << " rows\n";
  return absl::OkStatus();
}

absl::Status Shell::HashScan(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  PEGASUS_ASSIGN_OR_RETURN(Range range, ParseRange(args));
  ScanOptions options;
  ApplyRange(range, &options);
  options.no_value = args.Has("no_value");
  options.op = Op();
  PEGASUS_ASSIGN_OR_RETURN(int64_t max_count, args.GetInt("max_count", 0));
  std::vector<std::unique_ptr<Scanner>> scanners;
  scanners.push_back(table->GetScanner(args.positional[0], args.positional[1],
                                       args.positional[2], options));
  return RunScan(std::move(scanners), max_count, false);
}

absl::Status Shell::FullScan(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  ScanOptions options;
  PEGASUS_ASSIGN_OR_RETURN(
      options.hash_key_filter_type,
      ParseFilterType(args.Get("hash_key_filter_type", "")));
  options.hash_key_filter_pattern = args.Get("hash_key_filter_pattern", "");
  PEGASUS_ASSIGN_OR_RETURN(
      options.sort_key_filter_type,
      ParseFilterType(args.Get("sort_key_filter_type", "")));
  options.sort_key_filter_pattern = args.Get("sort_key_filter_pattern", "");
  options.no_value = args.Has("no_value");
  options.op = Op();
  PEGASUS_ASSIGN_OR_RETURN(int64_t max_count, args.GetInt("max_count", 0));
  return ScanWholeTable(table, options, max_count, false);
}

absl::Status Shell::CountData(const Args&) {
  PEGASUS_ASSIGN_OR_RETURN(Table * table, CurrentTable());
  ScanOptions options;
  options.only_return_count = true;
  options.batch_size = 1000;
  options.op = Op();
  return ScanWholeTable(table, options, 0, true);
}

absl::Status Shell::ScanWholeTable(Table* table, const ScanOptions& options,
                                   int64_t max_count, bool count_only) {
  Result<std::vector<std::unique_ptr<Scanner>>> scanners =
      WaitFor<Result<std::vector<std::unique_ptr<Scanner>>>>([&](auto done) {
        table->GetUnorderedScanners(1, options, std::move(done));
      });
  if (!scanners.ok()) return scanners.status();
  return RunScan(*std::move(scanners), max_count, count_only);
}

}  // namespace pegasus::shell
