#include "daemons/lib/daemon_main.h"

#include <cstdio>
#include <fstream>

#include "absl/synchronization/mutex.h"
#include "spdlog/spdlog.h"

namespace pegasus::daemons {

void PrepareDaemonProcess() {
  BlockTerminationSignals();
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

bool SetLogLevel(const std::string& level) {
  const spdlog::level::level_enum parsed = spdlog::level::from_str(level);
  // from_str answers "off" for any name it does not know.
  if (parsed == spdlog::level::off && level != "off") {
    std::fprintf(stderr,
                 "unknown --log_level '%s' (trace, debug, info, warn, error, "
                 "off)\n",
                 level.c_str());
    return false;
  }
  spdlog::set_level(parsed);
  spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %L %t %v");
  return true;
}

bool WriteReadyFile(const std::string& path, const std::string& address,
                    int http_port) {
  if (path.empty()) return true;
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << address << " " << http_port << "\n";
    if (!out.flush()) {
      spdlog::error("cannot write {}", temporary);
      return false;
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    spdlog::error("cannot rename {} to {}", temporary, path);
    return false;
  }
  return true;
}

}  // namespace pegasus::daemons
