// The replica server daemon: flags -> ReplicaDaemonOptions -> Start ->
// wait for SIGTERM or SIGINT -> stop. docs/operations.md lists the flags.

#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "daemons/lib/daemon_main.h"
#include "daemons/lib/replica_daemon.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:34801",
          "ip:port to serve on (port 0: any free one); the server's address "
          "is its node id, so keep it across restarts");
ABSL_FLAG(std::string, meta, "127.0.0.1:34601", "the meta server's ip:port");
ABSL_FLAG(std::string, data_dir, "", "where the replicas live");
ABSL_FLAG(int, http_port, 0,
          "port for /metrics on the listen ip (0: any free one; -1: none)");
ABSL_FLAG(int, threads, 0,
          "worker threads (strands for the host and the replicas); 0: one "
          "per core. Servers sharing a machine should split its cores");
ABSL_FLAG(int, lease_ms, 1500,
          "the lease a beacon answer grants; must be below the meta "
          "server's --grace_ms");
ABSL_FLAG(int, beacon_ms, 300, "how often to beacon the meta server");
ABSL_FLAG(std::string, ready_file, "",
          "once serving, write \"<grpc address> <http port>\" here");
ABSL_FLAG(std::string, log_level, "info",
          "trace, debug, info, warn, error or off");

int main(int argc, char** argv) {
  pegasus::daemons::PrepareDaemonProcess();
  absl::SetProgramUsageMessage("The Pegasus replica server.");
  absl::ParseCommandLine(argc, argv);
  if (!pegasus::daemons::SetLogLevel(absl::GetFlag(FLAGS_log_level))) {
    return 2;
  }

  pegasus::daemons::ReplicaDaemonOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.meta = absl::GetFlag(FLAGS_meta);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.http_port = absl::GetFlag(FLAGS_http_port);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.host.lease_ns = int64_t{absl::GetFlag(FLAGS_lease_ms)} * 1'000'000;
  options.host.beacon_interval_ns =
      int64_t{absl::GetFlag(FLAGS_beacon_ms)} * 1'000'000;

  return pegasus::daemons::ServeUntilSignal(
      pegasus::daemons::ReplicaDaemon::Start(options), "replica server",
      "meta server " + options.meta + ", data in " + options.data_dir,
      absl::GetFlag(FLAGS_ready_file));
}
