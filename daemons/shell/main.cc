// pegasus_shell: Pegasus's data and admin commands against a cluster of
// daemons, interactively (line editing and history with libedit) or from a
// script: -e "cmd; cmd" or commands on standard input.

#include <editline/readline.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "daemons/shell/shell.h"
#include "pegasus/net/remote_client.h"

ABSL_FLAG(std::string, meta, "127.0.0.1:34601", "the meta server's ip:port");
ABSL_FLAG(std::string, e, "",
          "run these commands (separated by ';') and exit; the exit status "
          "is 1 if any failed");
ABSL_FLAG(std::string, table, "", "the table to use at start");
ABSL_FLAG(int, timeout_ms, 5000, "each operation's deadline");

namespace {

pegasus::shell::Shell* completion_shell = nullptr;

// Completes the first word of a line with a command name.
char* CompleteCommand(const char* text, int state) {
  static std::vector<std::string> names;
  static size_t next = 0;
  if (state == 0) {
    names = completion_shell->CommandNames();
    next = 0;
  }
  const std::string prefix(text);
  while (next < names.size()) {
    const std::string& name = names[next++];
    if (name.rfind(prefix, 0) == 0) return strdup(name.c_str());
  }
  return nullptr;
}

char** Complete(const char* text, int start, int) {
  rl_attempted_completion_over = 1;
  if (start != 0) return nullptr;
  return rl_completion_matches(text, CompleteCommand);
}

int Interactive(pegasus::shell::Shell& shell) {
  completion_shell = &shell;
  rl_attempted_completion_function = Complete;
  const char* home = std::getenv("HOME");
  const std::string history =
      std::string(home != nullptr ? home : ".") + "/.pegasus_shell_history";
  read_history(history.c_str());
  std::cout << "Pegasus shell: `help` lists the commands, `exit` leaves.\n";
  while (!shell.done()) {
    const std::string prompt = shell.table() + ">>> ";
    char* line = readline(prompt.c_str());
    if (line == nullptr) break;  // End of input.
    const std::string text(line);
    free(line);
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    add_history(text.c_str());
    shell.Execute(text);
    std::cout.flush();
  }
  write_history(history.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "The Pegasus shell. pegasus_shell [--meta=ip:port] [-e \"commands\"]");
  absl::ParseCommandLine(argc, argv);
  pegasus::net::RemoteClientOptions options;
  options.meta = absl::GetFlag(FLAGS_meta);
  auto remote = pegasus::net::RemoteClient::Connect(options);
  if (!remote.ok()) {
    std::cerr << "pegasus_shell: " << remote.status().message() << "\n";
    return 2;
  }
  pegasus::shell::Shell shell(remote->get(), std::cout);
  shell.set_timeout_ms(absl::GetFlag(FLAGS_timeout_ms));
  bool ok = true;
  if (!absl::GetFlag(FLAGS_table).empty()) {
    ok = shell.Execute("use " + absl::GetFlag(FLAGS_table)) && ok;
  }
  if (!absl::GetFlag(FLAGS_e).empty()) {
    for (const std::string& command :
         pegasus::shell::SplitCommands(absl::GetFlag(FLAGS_e))) {
      ok = shell.Execute(command) && ok;
      if (shell.done()) break;
    }
    return ok ? 0 : 1;
  }
  if (isatty(STDIN_FILENO)) return Interactive(shell);
  std::string line;
  while (!shell.done() && std::getline(std::cin, line)) {
    ok = shell.Execute(line) && ok;
  }
  return ok ? 0 : 1;
}
