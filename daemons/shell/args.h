// The shell's command lines: tokens (with quotes and escapes, so any byte
// string can be typed), options, and byte strings printed readably.

#ifndef DAEMONS_SHELL_ARGS_H_
#define DAEMONS_SHELL_ARGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pegasus::shell {

// Splits a line at unquoted blanks. "..." and '...' quote; inside double
// quotes and outside quotes, \\, \", \', \n, \t, \r, \0, \xHH and a
// backslash before a blank escape. PERR_INVALID_ARGUMENT for an unclosed
// quote or a bad escape.
absl::StatusOr<std::vector<std::string>> Tokenize(const std::string& line);

// Splits a script line into commands at each ';' outside quotes (a
// backslash escapes one too).
std::vector<std::string> SplitCommands(const std::string& text);

// `bytes` as printable text in double quotes: printable ASCII as is, \\ and
// \" escaped, anything else as \xHH (Tokenize reads it back).
std::string Escape(const std::string& bytes);

// What a command takes besides positional arguments.
struct OptionSpec {
  // Options with a value: every spelling ("-p", "--partition_count") to
  // its name ("partition_count").
  std::map<std::string, std::string> valued{};
  // Options without one: every spelling to its name.
  std::map<std::string, std::string> flags{};
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // By name.
  std::set<std::string> flags;                 // By name.

  bool Has(const std::string& flag) const { return flags.count(flag) > 0; }
  // The option's value, or `fallback`.
  std::string Get(const std::string& name, const std::string& fallback) const;
  // The option as an integer, or `fallback`; an error for a non-integer.
  absl::StatusOr<int64_t> GetInt(const std::string& name,
                                 int64_t fallback) const;
};

// Sorts tokens (the command's name excluded) into positional arguments and
// options: "--name=value", "--name value" or "-x value" for valued options,
// "--name" for flags; "--" ends options. An unknown option, or one missing
// its value, is an error naming it.
absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& tokens,
                               const OptionSpec& spec);

}  // namespace pegasus::shell

#endif  // DAEMONS_SHELL_ARGS_H_
