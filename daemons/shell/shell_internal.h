// What the shell's command files share.

#ifndef DAEMONS_SHELL_SHELL_INTERNAL_H_
#define DAEMONS_SHELL_SHELL_INTERNAL_H_

#include <future>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "daemons/shell/table_printer.h"
#include "pegasus/base/status.h"
#include "pegasus/runtime/executor.h"

namespace pegasus::shell {

// Runs `call` on `strand` with a callback and waits for the callback's
// value. The client's calls answer within their deadline, so this returns.
template <typename T, typename Call>
T AwaitOn(Executor* strand, Call call) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> future = promise->get_future();
  strand->Post([&call, promise]() mutable {
    call([promise](T value) { promise->set_value(std::move(value)); });
  });
  return future.get();
}

inline absl::Status BadArgument(const std::string& message) {
  return PegasusError(ErrorCode::kInvalidArgument, message);
}

// "true"/"false" (or 1/0); an error naming `what` otherwise.
absl::StatusOr<bool> ParseBool(const std::string& text,
                               const std::string& what);

}  // namespace pegasus::shell

#endif  // DAEMONS_SHELL_SHELL_INTERNAL_H_
