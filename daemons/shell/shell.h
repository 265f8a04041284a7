// pegasus_shell's commands: Pegasus's data and admin commands over the C++
// client, results as aligned tables (docs/operations.md, "The shell").
//
//   Shell shell(&remote, std::cout);
//   shell.Execute("use temp");
//   shell.Execute("set user1 name ann");
//
// Each Execute runs one line; a wrong command or argument prints why and
// returns false, and changes nothing.

#ifndef DAEMONS_SHELL_SHELL_H_
#define DAEMONS_SHELL_SHELL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "daemons/shell/args.h"
#include "pegasus/net/remote_client.h"

namespace pegasus::shell {

class Shell {
 public:
  Shell(net::RemoteClient* remote, std::ostream& out);

  // Runs one command line (blank lines and lines starting with # do
  // nothing). False when it failed; the reason was printed.
  bool Execute(const std::string& line);

  // Whether `exit` or `quit` ran.
  bool done() const { return done_; }
  // The table in use ("" for none).
  const std::string& table() const { return table_name_; }
  // Every command's name, for completion.
  std::vector<std::string> CommandNames() const;
  // Each operation's deadline.
  void set_timeout_ms(int64_t ms) { timeout_ms_ = ms; }

 private:
  using Handler = absl::Status (Shell::*)(const Args&);
  struct Command {
    std::string usage;
    std::string help;
    OptionSpec options;
    Handler handler = nullptr;
    // How many positional arguments it takes: at least, and at most (-1:
    // any number).
    int min_args = 0;
    int max_args = 0;
  };

  void Register();
  // The table in use, opened; an error when none is.
  absl::StatusOr<Table*> CurrentTable();
  OpOptions Op() const {
    return OpOptions{.timeout_ns = timeout_ms_ * 1'000'000};
  }
  void PrintRows(const std::vector<std::pair<std::string, std::string>>& kvs,
                 const std::string& hash_key, bool complete);

  // Basic.
  absl::Status Help(const Args& args);
  absl::Status Use(const Args& args);
  absl::Status Exit(const Args& args);
  absl::Status Timeout(const Args& args);
  absl::Status WaitHealthy(const Args& args);
  // Data.
  absl::Status Set(const Args& args);
  absl::Status MultiSet(const Args& args);
  absl::Status Get(const Args& args);
  absl::Status MultiGet(const Args& args);
  absl::Status MultiGetRange(const Args& args);
  absl::Status MultiGetSortKeys(const Args& args);
  absl::Status Del(const Args& args);
  absl::Status MultiDel(const Args& args);
  absl::Status MultiDelRange(const Args& args);
  absl::Status Incr(const Args& args);
  absl::Status CheckAndSet(const Args& args);
  absl::Status CheckAndMutate(const Args& args);
  absl::Status Exist(const Args& args);
  absl::Status Count(const Args& args);
  absl::Status Ttl(const Args& args);
  absl::Status HashScan(const Args& args);
  absl::Status FullScan(const Args& args);
  absl::Status CountData(const Args& args);
  // Admin.
  absl::Status Ls(const Args& args);
  absl::Status App(const Args& args);
  absl::Status Create(const Args& args);
  absl::Status Drop(const Args& args);
  absl::Status Recall(const Args& args);
  absl::Status Rename(const Args& args);
  absl::Status GetAppEnvs(const Args& args);
  absl::Status SetAppEnvs(const Args& args);
  absl::Status DelAppEnvs(const Args& args);
  absl::Status ClearAppEnvs(const Args& args);
  absl::Status GetReplicaCount(const Args& args);
  absl::Status SetReplicaCount(const Args& args);
  absl::Status Nodes(const Args& args);
  absl::Status ClusterInfo(const Args& args);
  absl::Status Propose(const Args& args);
  absl::Status Balance(const Args& args);
  absl::Status GetMetaLevel(const Args& args);
  absl::Status SetMetaLevel(const Args& args);

  // Scans `scanners` to the end (or max_count rows), printing rows unless
  // counting.
  absl::Status RunScan(std::vector<std::unique_ptr<Scanner>> scanners,
                       int64_t max_count, bool count_only);
  // RunScan over the whole table, as one scanner.
  absl::Status ScanWholeTable(Table* table, const ScanOptions& options,
                              int64_t max_count, bool count_only);

  net::RemoteClient* const remote_;
  std::ostream& out_;
  std::map<std::string, Command> commands_;
  std::string table_name_;
  Table* table_ = nullptr;
  int64_t timeout_ms_ = 5000;
  bool done_ = false;
};

}  // namespace pegasus::shell

#endif  // DAEMONS_SHELL_SHELL_H_
