#include "testing/datadriven/datadriven.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace pegasus::datadriven {
namespace {

constexpr absl::string_view kSeparator = "----";

bool IsBlank(absl::string_view line) {
  return absl::StripAsciiWhitespace(line).empty();
}

std::string Unquote(absl::string_view value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  return std::string(value);
}

// Splits `text` at the characters `is_delimiter` accepts, outside double
// quotes and parentheses. Empty pieces are kept only if `keep_empty`.
absl::StatusOr<std::vector<std::string>> SplitOutside(
    absl::string_view text, bool (*is_delimiter)(char), bool keep_empty) {
  std::vector<std::string> parts;
  std::string current;
  bool in_quote = false;
  int depth = 0;
  for (char c : text) {
    if (in_quote) {
      current += c;
      if (c == '"') in_quote = false;
      continue;
    }
    if (c == '"') in_quote = true;
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0) {
      return absl::InvalidArgumentError("unbalanced ')'");
    }
    if (depth == 0 && is_delimiter(c)) {
      if (keep_empty || !current.empty()) parts.push_back(std::move(current));
      current.clear();
      continue;
    }
    current += c;
  }
  if (in_quote) return absl::InvalidArgumentError("unterminated '\"'");
  if (depth != 0) return absl::InvalidArgumentError("unbalanced '('");
  if (keep_empty || !current.empty()) parts.push_back(std::move(current));
  return parts;
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)); }
bool IsComma(char c) { return c == ','; }

absl::StatusOr<Arg> ParseArg(const std::string& word) {
  Arg arg;
  const size_t eq = word.find('=');
  const size_t special = word.find_first_of("\"(");
  if (eq == std::string::npos ||
      (special != std::string::npos && special < eq)) {
    arg.key = Unquote(word);
    return arg;
  }
  arg.key = word.substr(0, eq);
  if (arg.key.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("argument `", word, "` has no key"));
  }
  arg.has_value = true;
  absl::string_view value = absl::string_view(word).substr(eq + 1);
  if (value.empty() || value.front() != '(') {
    arg.values.push_back(Unquote(value));
    return arg;
  }
  if (value.back() != ')') {
    return absl::InvalidArgumentError(
        absl::StrCat("argument `", word, "`: text after ')'"));
  }
  arg.is_list = true;
  absl::string_view inner = value.substr(1, value.size() - 2);
  if (IsBlank(inner)) return arg;
  auto items = SplitOutside(inner, IsComma, /*keep_empty=*/true);
  if (!items.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("argument `", word, "`: ", items.status().message()));
  }
  for (const std::string& item : *items) {
    absl::string_view trimmed = absl::StripAsciiWhitespace(item);
    if (trimmed.empty() || trimmed.front() == '(') {
      return absl::InvalidArgumentError(
          absl::StrCat("argument `", word, "`: empty or nested list item"));
    }
    arg.values.push_back(Unquote(trimmed));
  }
  return arg;
}

std::vector<std::string> SplitLines(absl::string_view content) {
  std::vector<std::string> lines = absl::StrSplit(content, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::string Getenv(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

bool IsAbsolute(const std::string& path) {
  return !path.empty() && path[0] == '/';
}

std::string ResolveForRead(const std::string& path) {
  if (IsAbsolute(path)) return path;
  const std::string workspace = Getenv("BUILD_WORKSPACE_DIRECTORY");
  if (!workspace.empty()) return absl::StrCat(workspace, "/", path);
  const std::string srcdir = Getenv("TEST_SRCDIR");
  const std::string test_workspace = Getenv("TEST_WORKSPACE");
  if (!srcdir.empty() && !test_workspace.empty()) {
    return absl::StrCat(srcdir, "/", test_workspace, "/", path);
  }
  return path;
}

absl::StatusOr<std::string> ResolveForWrite(const std::string& path) {
  if (IsAbsolute(path)) return path;
  const std::string workspace = Getenv("BUILD_WORKSPACE_DIRECTORY");
  if (!workspace.empty()) return absl::StrCat(workspace, "/", path);
  if (!Getenv("TEST_SRCDIR").empty()) {
    return absl::FailedPreconditionError(
        "rewriting needs the source tree: use `bazel run <test> -- --rewrite` "
        "instead of `bazel test`");
  }
  return path;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

absl::Status WriteFile(const std::string& path, const std::string& content) {
  const std::string temp = path + ".rewrite";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", temp));
  }
  std::error_code error;
  std::filesystem::rename(temp, path, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot rename ", temp, ": ", error.message()));
  }
  return absl::OkStatus();
}

// The output a function returned, as the file would hold it.
std::string Normalize(absl::string_view output) {
  std::string out(output);
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

bool& RewriteFlag() {
  static bool rewrite = false;
  return rewrite;
}

}  // namespace

// --- TestCase -----------------------------------------------------------

std::string TestCase::Position() const {
  return absl::StrCat(file_, ":", line_);
}

const Arg* TestCase::Find(absl::string_view key) const {
  for (const Arg& arg : args_) {
    if (arg.has_value && arg.key == key) return &arg;
  }
  return nullptr;
}

std::vector<std::string> TestCase::Positional() const {
  std::vector<std::string> words;
  for (const Arg& arg : args_) {
    if (!arg.has_value) {
      words.push_back(arg.key);
      used_.insert(arg.key);
    }
  }
  return words;
}

bool TestCase::HasWord(absl::string_view word) const {
  for (const Arg& arg : args_) {
    if (!arg.has_value && arg.key == word) {
      used_.insert(arg.key);
      return true;
    }
  }
  return false;
}

bool TestCase::HasArg(absl::string_view key) const {
  return Find(key) != nullptr;
}

const std::string* TestCase::Single(absl::string_view key) const {
  const Arg* arg = Find(key);
  if (arg == nullptr) return nullptr;
  used_.insert(arg->key);
  if (arg->values.size() != 1) {
    Fail(absl::StrCat("argument ", key, " takes one value, not ",
                      arg->values.size()));
    return nullptr;
  }
  return &arg->values[0];
}

std::string TestCase::String(absl::string_view key) const {
  if (!HasArg(key)) {
    Fail(absl::StrCat("missing argument ", key, "="));
    return "";
  }
  return String(key, "");
}

std::string TestCase::String(absl::string_view key,
                             absl::string_view default_value) const {
  const std::string* value = Single(key);
  return value == nullptr ? std::string(default_value) : *value;
}

int64_t TestCase::Int(absl::string_view key) const {
  if (!HasArg(key)) {
    Fail(absl::StrCat("missing argument ", key, "="));
    return 0;
  }
  return Int(key, 0);
}

int64_t TestCase::Int(absl::string_view key, int64_t default_value) const {
  const std::string* value = Single(key);
  if (value == nullptr) return default_value;
  int64_t out = 0;
  if (!absl::SimpleAtoi(*value, &out)) {
    Fail(absl::StrCat("argument ", key, "=", *value, " is not an integer"));
    return default_value;
  }
  return out;
}

bool TestCase::Bool(absl::string_view key, bool default_value) const {
  const std::string* value = Single(key);
  if (value == nullptr) return default_value;
  const std::string v = absl::AsciiStrToLower(*value);
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  Fail(absl::StrCat("argument ", key, "=", *value, " is not a boolean"));
  return default_value;
}

std::vector<std::string> TestCase::Strings(absl::string_view key) const {
  const Arg* arg = Find(key);
  if (arg == nullptr) return {};
  used_.insert(arg->key);
  return arg->values;
}

std::vector<int64_t> TestCase::Ints(absl::string_view key) const {
  std::vector<int64_t> out;
  for (const std::string& value : Strings(key)) {
    int64_t n = 0;
    if (!absl::SimpleAtoi(value, &n)) {
      Fail(absl::StrCat("argument ", key, ": ", value, " is not an integer"));
      return {};
    }
    out.push_back(n);
  }
  return out;
}

void TestCase::Fail(absl::string_view message) const {
  errors_.emplace_back(message);
}

std::vector<std::string> TestCase::UnusedArgs() const {
  std::vector<std::string> out;
  for (const Arg& arg : args_) {
    if (used_.count(arg.key) > 0) continue;
    out.push_back(arg.has_value
                      ? absl::StrCat("unknown argument ", arg.key, "=")
                      : absl::StrCat("unexpected word ", arg.key));
  }
  return out;
}

// --- Parsing and rewriting ----------------------------------------------

absl::StatusOr<std::vector<TestCase>> ParseTestFile(absl::string_view file,
                                                    absl::string_view content) {
  const std::vector<std::string> lines = SplitLines(content);
  const int n = static_cast<int>(lines.size());
  auto error = [&](int index, absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ":", index + 1, ": ", what));
  };
  std::vector<TestCase> cases;
  int i = 0;
  while (i < n) {
    const absl::string_view trimmed = absl::StripAsciiWhitespace(lines[i]);
    if (trimmed.empty() || trimmed.front() == '#') {
      ++i;
      continue;
    }
    TestCase test;
    test.file_ = std::string(file);
    test.line_ = i + 1;
    test.command_line_ = std::string(trimmed);
    auto words = SplitOutside(trimmed, IsSpace, /*keep_empty=*/false);
    if (!words.ok()) return error(i, words.status().message());
    test.command_ = (*words)[0];
    if (test.command_.find_first_of("=(\"") != std::string::npos) {
      return error(i, absl::StrCat("bad command name `", test.command_, "`"));
    }
    std::set<std::string> keys;
    for (size_t w = 1; w < words->size(); ++w) {
      auto arg = ParseArg((*words)[w]);
      if (!arg.ok()) return error(i, arg.status().message());
      if (!keys.insert(arg->key).second) {
        return error(i, absl::StrCat("argument `", arg->key, "` is repeated"));
      }
      test.args_.push_back(*std::move(arg));
    }
    const int command_index = i++;
    while (i < n && lines[i] != kSeparator) test.input_.push_back(lines[i++]);
    if (i == n) return error(command_index, "no ---- after the command");
    test.separator_index_ = i++;
    if (i < n && lines[i] == kSeparator) {
      // Double-separator form: up to a "----" line followed by another.
      ++i;
      while (i < n && !(lines[i] == kSeparator && i + 1 < n &&
                        lines[i + 1] == kSeparator)) {
        test.expected_ += lines[i++] + "\n";
      }
      if (i == n) {
        return error(command_index, "the output has no closing ----\\n----");
      }
      i += 2;
    } else {
      while (i < n && !IsBlank(lines[i])) test.expected_ += lines[i++] + "\n";
    }
    test.output_end_index_ = i;
    cases.push_back(std::move(test));
  }
  return cases;
}

std::string FormatOutput(absl::string_view output) {
  const std::string out = Normalize(output);
  if (out.empty()) return out;
  bool double_form = false;
  const std::vector<std::string> lines = SplitLines(out);
  for (const std::string& line : lines) double_form |= IsBlank(line);
  double_form |= lines.front() == kSeparator;
  if (!double_form) return out;
  return absl::StrCat(kSeparator, "\n", out, kSeparator, "\n", kSeparator,
                      "\n");
}

std::string RewriteTestFile(absl::string_view content,
                            const std::vector<TestCase>& cases,
                            const std::vector<std::string>& outputs) {
  const std::vector<std::string> lines = SplitLines(content);
  const int n = static_cast<int>(lines.size());
  std::string out;
  int i = 0;
  for (size_t c = 0; c < cases.size(); ++c) {
    for (; i <= cases[c].separator_index_; ++i) out += lines[i] + "\n";
    const std::string formatted = FormatOutput(outputs[c]);
    out += formatted;
    i = cases[c].output_end_index_;
    // An output in the single-separator form ends at a blank line.
    if (!formatted.empty() && !absl::StartsWith(formatted, kSeparator) &&
        i < n && !IsBlank(lines[i])) {
      out += "\n";
    }
  }
  for (; i < n; ++i) out += lines[i] + "\n";
  return out;
}

// --- Diff -----------------------------------------------------------------

std::string Diff(absl::string_view expected, absl::string_view actual) {
  const std::vector<std::string> a = SplitLines(expected);
  const std::vector<std::string> b = SplitLines(actual);
  const size_t n = a.size();
  const size_t m = b.size();
  if (n * m > 4'000'000) {
    return absl::StrCat("--- expected\n", expected, "+++ actual\n", actual);
  }
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1
                               : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  // Edit script: (op, line index in a or b).
  struct Edit {
    char op;
    size_t ai, bi;
  };
  std::vector<Edit> edits;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      edits.push_back({' ', i++, j++});
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      edits.push_back({'-', i++, j});
    } else {
      edits.push_back({'+', i, j++});
    }
  }
  // Hunks with three lines of context.
  constexpr size_t kContext = 3;
  std::string out = "--- expected\n+++ actual\n";
  size_t e = 0;
  while (e < edits.size()) {
    while (e < edits.size() && edits[e].op == ' ') ++e;
    if (e == edits.size()) break;
    size_t begin = e >= kContext ? e - kContext : 0;
    size_t end = e;
    size_t quiet = 0;
    while (end < edits.size() && quiet <= 2 * kContext) {
      quiet = edits[end].op == ' ' ? quiet + 1 : 0;
      ++end;
    }
    if (quiet > kContext) end -= quiet - kContext;
    size_t a_count = 0, b_count = 0;
    for (size_t k = begin; k < end; ++k) {
      a_count += edits[k].op != '+';
      b_count += edits[k].op != '-';
    }
    absl::StrAppend(&out, "@@ -", edits[begin].ai + 1, ",", a_count, " +",
                    edits[begin].bi + 1, ",", b_count, " @@\n");
    for (size_t k = begin; k < end; ++k) {
      const std::string& line =
          edits[k].op == '+' ? b[edits[k].bi] : a[edits[k].ai];
      absl::StrAppend(&out, std::string(1, edits[k].op), line, "\n");
    }
    e = end;
  }
  return out;
}

// --- Running ----------------------------------------------------------------

void SetRewrite(bool rewrite) { RewriteFlag() = rewrite; }

bool Rewriting() {
  return RewriteFlag() || Getenv("DATADRIVEN_REWRITE") == "1";
}

void RunTest(const std::string& path,
             absl::FunctionRef<std::string(const TestCase&)> run) {
  auto content = ReadFile(ResolveForRead(path));
  if (!content.ok()) {
    ADD_FAILURE() << path << ": " << content.status().message();
    return;
  }
  auto cases = ParseTestFile(path, *content);
  if (!cases.ok()) {
    ADD_FAILURE() << cases.status().message();
    return;
  }
  const bool rewrite = Rewriting();
  std::vector<std::string> outputs(cases->size());
  for (size_t i = 0; i < cases->size(); ++i) {
    const TestCase& test = (*cases)[i];
    const std::string actual = Normalize(run(test));
    for (const std::string& unused : test.UnusedArgs()) test.Fail(unused);
    if (!test.ok()) {
      ADD_FAILURE_AT(path.c_str(), test.line())
          << test.command_line() << "\n  "
          << absl::StrJoin(test.errors(), "\n  ");
      outputs[i] = test.expected();
      continue;
    }
    outputs[i] = actual;
    if (!rewrite && actual != test.expected()) {
      ADD_FAILURE_AT(path.c_str(), test.line())
          << "the output of `" << test.command_line()
          << "` is not the expected one (rewrite with --rewrite):\n"
          << Diff(test.expected(), actual);
    }
  }
  if (!rewrite) return;
  const std::string rewritten = RewriteTestFile(*content, *cases, outputs);
  if (rewritten == *content) return;
  auto target = ResolveForWrite(path);
  absl::Status written =
      target.ok() ? WriteFile(*target, rewritten) : target.status();
  if (!written.ok()) {
    ADD_FAILURE() << path << ": " << written.message();
  }
}

absl::StatusOr<std::vector<std::string>> ListTestFiles(
    const std::string& dir, absl::string_view suffix) {
  std::vector<std::string> paths;
  std::error_code error;
  std::filesystem::directory_iterator it(ResolveForRead(dir), error);
  if (error) {
    return absl::NotFoundError(
        absl::StrCat("cannot list ", dir, ": ", error.message()));
  }
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    if (absl::EndsWith(name, suffix)) {
      paths.push_back(absl::StrCat(dir, "/", name));
    }
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace pegasus::datadriven
