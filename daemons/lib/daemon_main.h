// What the daemons' mains share: the log level, the ready file, and the
// wait for a signal to stop.

#ifndef DAEMONS_LIB_DAEMON_MAIN_H_
#define DAEMONS_LIB_DAEMON_MAIN_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "daemons/lib/signals.h"
#include "spdlog/spdlog.h"

namespace pegasus::daemons {

// The start of a daemon's main(), before any thread: blocks SIGTERM and
// SIGINT for WaitForTermination, and turns off Abseil's deadlock detector.
// Debian builds Abseil without NDEBUG, which leaves the detector on: every
// absl::Mutex lock (gRPC's included) then updates a global lock graph. It
// is a debugging aid; off, gets at 64 clients ran 4-8% faster.
void PrepareDaemonProcess();

// Sets spdlog's level by name (trace, debug, info, warn, error, off); false
// (with a message on stderr) for another name. Log lines carry the time,
// the level and the thread.
bool SetLogLevel(const std::string& level);

// When `path` is not empty, writes "<address> <http_port>\n" to it
// atomically (a temporary file, then a rename), so a script that waits for
// the file to appear reads it whole. False, logged, on failure.
bool WriteReadyFile(const std::string& path, const std::string& address,
                    int http_port);

// The end of a daemon's main(): logs where `daemon` (a MetaDaemon or a
// ReplicaDaemon, `what`) serves, writes the ready file, waits for SIGTERM or
// SIGINT and stops it. The process's exit status: 0, or 1 when it failed
// to start.
template <typename Daemon>
int ServeUntilSignal(absl::StatusOr<std::unique_ptr<Daemon>> daemon,
                     const std::string& what, const std::string& details,
                     const std::string& ready_file) {
  if (!daemon.ok()) {
    spdlog::critical("{} failed to start: {}", what,
                     daemon.status().ToString());
    return 1;
  }
  const std::string address = (*daemon)->self().ToString();
  spdlog::info("{} serving on {} (gRPC), HTTP port {}, {}", what, address,
               (*daemon)->http_port(), details);
  if (!WriteReadyFile(ready_file, address, (*daemon)->http_port())) return 1;
  const int signal = WaitForTermination();
  spdlog::info("signal {}: stopping", signal);
  daemon->reset();
  spdlog::info("stopped");
  return 0;
}

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_DAEMON_MAIN_H_
