#include "daemons/shell/shell.h"

#include <chrono>
#include <thread>

#include "absl/strings/numbers.h"
#include "daemons/shell/shell_internal.h"
#include "pegasus/base/status.h"

namespace pegasus::shell {
namespace {

constexpr char kNoTableInUse[] = "no table in use: `use <table>` first";

}  // namespace

Shell::Shell(net::RemoteClient* remote, std::ostream& out)
    : remote_(remote), out_(out) {
  Register();
}

std::vector<std::string> Shell::CommandNames() const {
  std::vector<std::string> names;
  for (const auto& [name, command] : commands_) names.push_back(name);
  return names;
}

bool Shell::Execute(const std::string& line) {
  absl::StatusOr<std::vector<std::string>> tokens = Tokenize(line);
  if (!tokens.ok()) {
    out_ << "error: " << tokens.status().message() << "\n";
    return false;
  }
  if (tokens->empty() || (*tokens)[0][0] == '#') return true;
  const std::string name = (*tokens)[0];
  auto it = commands_.find(name);
  if (it == commands_.end()) {
    out_ << "error: unknown command '" << name << "' (help lists them)\n";
    return false;
  }
  const Command& command = it->second;
  tokens->erase(tokens->begin());
  absl::StatusOr<Args> args = ParseArgs(*tokens, command.options);
  absl::Status status = args.status();
  if (status.ok()) {
    const int given = static_cast<int>(args->positional.size());
    if (given < command.min_args ||
        (command.max_args >= 0 && given > command.max_args)) {
      status = BadArgument("wrong number of arguments");
    }
  }
  if (status.ok()) status = (this->*command.handler)(*args);
  if (!status.ok()) {
    out_ << "error: " << ErrorCodeName(ToErrorCode(status)) << ": "
         << status.message() << "\n";
    if (HasErrorCode(status, ErrorCode::kInvalidArgument)) {
      out_ << "usage: " << name << " " << command.usage << "\n";
    }
    return false;
  }
  return true;
}

absl::StatusOr<Table*> Shell::CurrentTable() {
  if (table_name_.empty()) return BadArgument(kNoTableInUse);
  if (table_ == nullptr) {
    PEGASUS_ASSIGN_OR_RETURN(SyncTable opened,
                             remote_->sync_client().OpenTable(table_name_));
    table_ = opened.async();
  }
  return table_;
}

absl::Status Shell::Help(const Args& args) {
  if (!args.positional.empty()) {
    auto it = commands_.find(args.positional[0]);
    if (it == commands_.end()) {
      return BadArgument("no command '" + args.positional[0] + "'");
    }
    out_ << args.positional[0] << " " << it->second.usage << "\n  "
         << it->second.help << "\n";
    return absl::OkStatus();
  }
  TablePrinter table({"command", "arguments"});
  for (const auto& [name, command] : commands_) {
    table.AddRow({name, command.usage});
  }
  table.Print(out_);
  out_ << "help <command> says more. Byte strings take quotes and escapes: "
          "\"a b\", \\x00.\n";
  return absl::OkStatus();
}

// The table in use changes only once the new one opened.
absl::Status Shell::Use(const Args& args) {
  const std::string& name = args.positional[0];
  if (name.empty()) return BadArgument(kNoTableInUse);
  PEGASUS_ASSIGN_OR_RETURN(SyncTable opened,
                           remote_->sync_client().OpenTable(name));
  table_name_ = name;
  table_ = opened.async();
  out_ << "OK\n";
  return absl::OkStatus();
}

absl::Status Shell::Exit(const Args&) {
  done_ = true;
  return absl::OkStatus();
}

absl::Status Shell::Timeout(const Args& args) {
  if (!args.positional.empty()) {
    int64_t ms = 0;
    if (!absl::SimpleAtoi(args.positional[0], &ms) || ms <= 0) {
      return BadArgument("the timeout is a positive number of ms");
    }
    timeout_ms_ = ms;
  }
  out_ << "timeout " << timeout_ms_ << " ms\n";
  return absl::OkStatus();
}

// Not one of Pegasus's: for scripts (run.sh start_onebox) that need the
// cluster ready.
absl::Status Shell::WaitHealthy(const Args& args) {
  PEGASUS_ASSIGN_OR_RETURN(int64_t seconds, args.GetInt("timeout_s", 60));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::string last = "no answer";
  while (true) {
    absl::StatusOr<proto::ClusterInfoResponse> info =
        remote_->sync_client().ClusterInfo(Op());
    if (info.ok()) {
      const int unhealthy =
          info->writable_ill_partitions() + info->unwritable_partitions() +
          info->unreadable_partitions() + info->dead_partitions();
      if (info->partitions() > 0 && unhealthy == 0) {
        out_ << "healthy: " << info->healthy_partitions() << " partitions, "
             << info->alive_nodes() << " replica servers\n";
        return absl::OkStatus();
      }
      last = std::to_string(info->healthy_partitions()) + " of " +
             std::to_string(info->partitions()) + " partitions healthy";
    } else {
      last = info.status().ToString();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return PegasusError(ErrorCode::kTimeout, "not healthy: " + last);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace pegasus::shell
