// What the daemons' mains share: the log level and the ready file.

#ifndef DAEMONS_LIB_LOGGING_H_
#define DAEMONS_LIB_LOGGING_H_

#include <string>

namespace pegasus::daemons {

// Sets spdlog's level by name (trace, debug, info, warn, error, off); false
// (with a message on stderr) for another name. Log lines carry the time,
// the level and the thread.
bool SetLogLevel(const std::string& level);

// When `path` is not empty, writes "<address> <http_port>\n" to it
// atomically (a temporary file, then a rename), so a script that waits for
// the file to appear reads it whole. False, logged, on failure.
bool WriteReadyFile(const std::string& path, const std::string& address,
                    int http_port);

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_LOGGING_H_
