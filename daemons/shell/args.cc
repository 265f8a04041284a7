#include "daemons/shell/args.h"

#include <cctype>

#include "absl/strings/numbers.h"
#include "pegasus/base/status.h"

namespace pegasus::shell {
namespace {

absl::Status Invalid(const std::string& message) {
  return PegasusError(ErrorCode::kInvalidArgument, message);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the escape at line[i] (just after the backslash) into `out`;
// returns the index after it.
absl::StatusOr<size_t> ReadEscape(const std::string& line, size_t i,
                                  std::string* out) {
  if (i >= line.size()) return Invalid("a line may not end in a backslash");
  const char c = line[i];
  switch (c) {
    case 'n':
      *out += '\n';
      return i + 1;
    case 't':
      *out += '\t';
      return i + 1;
    case 'r':
      *out += '\r';
      return i + 1;
    case '0':
      *out += '\0';
      return i + 1;
    case 'x': {
      if (i + 2 >= line.size() || HexValue(line[i + 1]) < 0 ||
          HexValue(line[i + 2]) < 0) {
        return Invalid("\\x takes two hex digits");
      }
      *out +=
          static_cast<char>(HexValue(line[i + 1]) * 16 + HexValue(line[i + 2]));
      return i + 3;
    }
    default:
      if (c == '\\' || c == '"' || c == '\'' || c == ' ' || c == '\t') {
        *out += c;
        return i + 1;
      }
      return Invalid(std::string("unknown escape \\") + c);
  }
}

}  // namespace

absl::StatusOr<std::vector<std::string>> Tokenize(const std::string& line) {
  std::vector<std::string> tokens;
  std::string token;
  bool in_token = false;
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_token) tokens.push_back(std::move(token));
      token.clear();
      in_token = false;
      ++i;
      continue;
    }
    in_token = true;
    if (c == '\\') {
      absl::StatusOr<size_t> next = ReadEscape(line, i + 1, &token);
      if (!next.ok()) return next.status();
      i = *next;
    } else if (c == '\'') {
      const size_t close = line.find('\'', i + 1);
      if (close == std::string::npos) return Invalid("unclosed '");
      token += line.substr(i + 1, close - i - 1);
      i = close + 1;
    } else if (c == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return Invalid("unclosed \"");
        if (line[i] == '"') break;
        if (line[i] == '\\') {
          absl::StatusOr<size_t> next = ReadEscape(line, i + 1, &token);
          if (!next.ok()) return next.status();
          i = *next;
        } else {
          token += line[i++];
        }
      }
      ++i;
    } else {
      token += c;
      ++i;
    }
  }
  if (in_token) tokens.push_back(std::move(token));
  return tokens;
}

std::vector<std::string> SplitCommands(const std::string& text) {
  std::vector<std::string> commands(1);
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size() && quote != '\'') {
      commands.back() += c;
      commands.back() += text[++i];
      continue;
    }
    if (quote == 0 && c == ';') {
      commands.emplace_back();
      continue;
    }
    if (quote == 0 && (c == '"' || c == '\'')) {
      quote = c;
    } else if (c == quote) {
      quote = 0;
    }
    commands.back() += c;
  }
  return commands;
}

std::string Escape(const std::string& bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : bytes) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out + "\"";
}

std::string Args::Get(const std::string& name,
                      const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

absl::StatusOr<int64_t> Args::GetInt(const std::string& name,
                                     int64_t fallback) const {
  auto it = options.find(name);
  if (it == options.end()) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(it->second, &value)) {
    return Invalid("--" + name + " takes an integer, not '" + it->second + "'");
  }
  return value;
}

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& tokens,
                               const OptionSpec& spec) {
  Args args;
  bool options_ended = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (options_ended || token.size() < 2 || token[0] != '-' ||
        std::isdigit(static_cast<unsigned char>(token[1]))) {
      args.positional.push_back(token);  // Negative numbers are arguments.
      continue;
    }
    if (token == "--") {
      options_ended = true;
      continue;
    }
    const size_t equals = token.find('=');
    const std::string spelling = token.substr(0, equals);
    if (auto flag = spec.flags.find(spelling); flag != spec.flags.end()) {
      if (equals != std::string::npos) {
        return Invalid(spelling + " takes no value");
      }
      args.flags.insert(flag->second);
      continue;
    }
    auto valued = spec.valued.find(spelling);
    if (valued == spec.valued.end()) {
      return Invalid("unknown option " + spelling);
    }
    if (equals != std::string::npos) {
      args.options[valued->second] = token.substr(equals + 1);
    } else if (i + 1 < tokens.size()) {
      args.options[valued->second] = tokens[++i];
    } else {
      return Invalid(spelling + " needs a value");
    }
  }
  return args;
}

}  // namespace pegasus::shell
