// The meta server daemon: flags -> MetaDaemonOptions -> Start -> wait for
// SIGTERM or SIGINT -> stop. docs/operations.md lists the flags.

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "daemons/lib/daemon_main.h"
#include "daemons/lib/meta_daemon.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:34601",
          "ip:port to serve on (port 0: any free one); the meta server's "
          "address, which replica servers and clients are given");
ABSL_FLAG(std::string, data_dir, "", "where the meta server keeps its state");
ABSL_FLAG(int, http_port, 0,
          "port for /metrics on the listen ip (0: any free one; -1: none)");
ABSL_FLAG(int, threads, 2, "worker threads (0: one per core)");
ABSL_FLAG(int, grace_ms, 2000,
          "a replica server not heard from this long is declared dead and "
          "its primaries move; must exceed the servers' --lease_ms");
ABSL_FLAG(int, lease_ms, 1500,
          "the replica servers' lease (the same as their --lease_ms)");
ABSL_FLAG(int, min_live_nodes, 3,
          "below this many alive replica servers the meta server freezes "
          "(no reconfiguration)");
ABSL_FLAG(bool, lively, true,
          "start at meta level lively (the load balancer runs) rather than "
          "steady");
ABSL_FLAG(std::string, ready_file, "",
          "once serving, write \"<grpc address> <http port>\" here");
ABSL_FLAG(std::string, log_level, "info",
          "trace, debug, info, warn, error or off");

int main(int argc, char** argv) {
  pegasus::daemons::PrepareDaemonProcess();
  absl::SetProgramUsageMessage("The Pegasus meta server.");
  absl::ParseCommandLine(argc, argv);
  if (!pegasus::daemons::SetLogLevel(absl::GetFlag(FLAGS_log_level))) {
    return 2;
  }

  pegasus::daemons::MetaDaemonOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.http_port = absl::GetFlag(FLAGS_http_port);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.meta.grace_ns = int64_t{absl::GetFlag(FLAGS_grace_ms)} * 1'000'000;
  options.meta.lease_ns = int64_t{absl::GetFlag(FLAGS_lease_ms)} * 1'000'000;
  options.meta.min_live_nodes = absl::GetFlag(FLAGS_min_live_nodes);
  options.meta.level_on_start = absl::GetFlag(FLAGS_lively)
                                    ? pegasus::proto::META_LEVEL_LIVELY
                                    : pegasus::proto::META_LEVEL_STEADY;

  return pegasus::daemons::ServeUntilSignal(
      pegasus::daemons::MetaDaemon::Start(options), "meta server",
      "data in " + options.data_dir, absl::GetFlag(FLAGS_ready_file));
}
