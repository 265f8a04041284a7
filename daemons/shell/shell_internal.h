// What the shell's command files share.

#ifndef DAEMONS_SHELL_SHELL_INTERNAL_H_
#define DAEMONS_SHELL_SHELL_INTERNAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "daemons/shell/table_printer.h"
#include "pegasus/base/status.h"
#include "pegasus/client/sync_client.h"

namespace pegasus::shell {

inline absl::Status BadArgument(const std::string& message) {
  return PegasusError(ErrorCode::kInvalidArgument, message);
}

// "true"/"false" (or 1/0); an error naming `what` otherwise.
absl::StatusOr<bool> ParseBool(const std::string& text,
                               const std::string& what);

}  // namespace pegasus::shell

#endif  // DAEMONS_SHELL_SHELL_INTERNAL_H_
