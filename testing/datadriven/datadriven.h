// Data-driven tests in the format of cockroachdb/datadriven (as pebble and
// etcd raft use it): a test file is a sequence of test cases, each a command,
// optional input lines, a separator and the expected output.
//
//   # Comments start with '#' between cases.
//   write node=1 key=a nodes=(2,3) drop
//   optional input line
//   ----
//   the expected output,
//   up to a blank line
//
//   show
//   ----
//   ----
//   output that contains
//
//   blank lines uses the double separator
//   ----
//   ----
//
// The command line is a command name and arguments separated by spaces:
// bare words (positional arguments), key=value, and key=(v1, v2, ...) for a
// list (key=() is an empty one). A value with spaces is written in double
// quotes: key="a b".
//
// RunTest hands each case to the test's function in file order and compares
// what it returns with the expected output, reporting a mismatch as a gtest
// failure at the case's file:line with a diff. In rewrite mode (SetRewrite,
// the --rewrite flag parsed by datadriven_main, or DATADRIVEN_REWRITE=1) it
// writes the file back with the actual outputs instead.
//
// Paths are workspace-relative ("pegasus/replication/core/testdata/x.txt")
// or absolute. Under `bazel test` a relative path is read from the runfiles;
// under `bazel run` (BUILD_WORKSPACE_DIRECTORY is set) it is read from, and
// rewritten in, the source tree. Rewriting under `bazel test` is refused,
// since the runfiles are not the source.
//
// Thread-safety: none; call from the test's thread.

#ifndef PEGASUS_TESTING_DATADRIVEN_DATADRIVEN_H_
#define PEGASUS_TESTING_DATADRIVEN_DATADRIVEN_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pegasus::datadriven {

// One command-line argument: a bare word (has_value false), key=value, or
// key=(v1, ...).
struct Arg {
  std::string key;
  bool has_value = false;
  // Whether the value was written as a parenthesized list.
  bool is_list = false;
  std::vector<std::string> values;
};

// One test case as the test's function sees it.
//
// Argument accessors never abort: an argument that is missing (and has no
// default) or does not parse records an error and returns a zero value. So
// does Fail(). A function that acts on arguments should check ok() first;
// RunTest reports every error at the case's file:line and does not compare
// its output. RunTest also reports key=value arguments and bare words the
// function never asked for, so a misspelt argument cannot pass silently.
class TestCase {
 public:
  TestCase() = default;

  // "path:line" of the command line, for messages.
  std::string Position() const;
  const std::string& file() const { return file_; }
  // 1-based line number of the command line.
  int line() const { return line_; }

  const std::string& command() const { return command_; }
  // The command line as written.
  const std::string& command_line() const { return command_line_; }
  const std::vector<Arg>& args() const { return args_; }

  // The bare words, in order (marks them all as used).
  std::vector<std::string> Positional() const;
  // Whether `word` is among the bare words (marks it as used if so).
  bool HasWord(absl::string_view word) const;
  // Whether key=... is present (does not mark it as used).
  bool HasArg(absl::string_view key) const;

  // key=value accessors. The one-argument forms require the argument.
  std::string String(absl::string_view key) const;
  std::string String(absl::string_view key,
                     absl::string_view default_value) const;
  int64_t Int(absl::string_view key) const;
  int64_t Int(absl::string_view key, int64_t default_value) const;
  // true/false, yes/no, on/off or 1/0.
  bool Bool(absl::string_view key, bool default_value) const;
  // key=(v1, ...) or a single key=v; an absent key gives an empty list.
  std::vector<std::string> Strings(absl::string_view key) const;
  std::vector<int64_t> Ints(absl::string_view key) const;

  // Lines between the command and the separator, without line breaks.
  const std::vector<std::string>& input() const { return input_; }
  // The expected output as written in the file (each line ends in '\n').
  const std::string& expected() const { return expected_; }

  // Records an error: the case fails at its file:line with `message`.
  void Fail(absl::string_view message) const;
  bool ok() const { return errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }

  // The arguments the function never asked for, as "unused argument ..."
  // messages.
  std::vector<std::string> UnusedArgs() const;

 private:
  friend absl::StatusOr<std::vector<TestCase>> ParseTestFile(
      absl::string_view file, absl::string_view content);
  friend std::string RewriteTestFile(absl::string_view content,
                                     const std::vector<TestCase>& cases,
                                     const std::vector<std::string>& outputs);

  const Arg* Find(absl::string_view key) const;
  // The single value of key=value; null (with an error recorded) if the
  // argument is a list of other than one value.
  const std::string* Single(absl::string_view key) const;

  std::string file_;
  int line_ = 0;
  std::string command_;
  std::string command_line_;
  std::vector<Arg> args_;
  std::vector<std::string> input_;
  std::string expected_;
  // 0-based indices into the file's lines: the separator line, and one past
  // the last line of the expected output (closing separators included).
  int separator_index_ = 0;
  int output_end_index_ = 0;

  mutable std::set<std::string> used_;
  mutable std::vector<std::string> errors_;
};

// Parses a test file. Errors name the file and line (InvalidArgument).
absl::StatusOr<std::vector<TestCase>> ParseTestFile(absl::string_view file,
                                                    absl::string_view content);

// How an output is written after the "----" line: with a trailing line
// break, in the double-separator form if it has a blank line.
std::string FormatOutput(absl::string_view output);

// `content` with each case's expected output replaced by outputs[i]
// (REQUIRES: cases parsed from content, outputs.size() == cases.size()).
std::string RewriteTestFile(absl::string_view content,
                            const std::vector<TestCase>& cases,
                            const std::vector<std::string>& outputs);

// A line diff of expected against actual, in the unified format.
std::string Diff(absl::string_view expected, absl::string_view actual);

// Rewrite mode: off unless turned on here or by DATADRIVEN_REWRITE=1.
void SetRewrite(bool rewrite);
bool Rewriting();

// Runs every case of the file at `path` through `run`, in order, and
// compares (or, rewriting, replaces) the outputs. Failures are reported
// with ADD_FAILURE_AT(path, line).
void RunTest(const std::string& path,
             absl::FunctionRef<std::string(const TestCase&)> run);

// The paths ("dir/name") of the files in directory `dir` whose names end
// in `suffix`, sorted. `dir` follows the path rules of RunTest.
absl::StatusOr<std::vector<std::string>> ListTestFiles(
    const std::string& dir, absl::string_view suffix = ".txt");

}  // namespace pegasus::datadriven

#endif  // PEGASUS_TESTING_DATADRIVEN_DATADRIVEN_H_
