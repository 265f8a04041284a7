// Runs a task on a strand and waits for its result: for building and
// inspecting a node's objects from a daemon's main thread.

#ifndef DAEMONS_LIB_RUN_ON_H_
#define DAEMONS_LIB_RUN_ON_H_

#include <optional>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "pegasus/runtime/executor.h"

namespace pegasus::daemons {

// The task's result, or nullopt when it has not run within `timeout` (the
// strand is busy or stopped); the task may then still run later, so it must
// own what it touches.
template <typename T>
std::optional<T> RunOn(Executor* strand, absl::AnyInvocable<T()> task,
                       absl::Duration timeout = absl::InfiniteDuration()) {
  struct Shared {
    absl::Notification done;
    std::optional<T> result;
  };
  auto shared = std::make_shared<Shared>();
  strand->Post([shared, task = std::move(task)]() mutable {
    shared->result.emplace(task());
    shared->done.Notify();
  });
  if (!shared->done.WaitForNotificationWithTimeout(timeout)) {
    return std::nullopt;
  }
  return std::move(shared->result);
}

}  // namespace pegasus::daemons

#endif  // DAEMONS_LIB_RUN_ON_H_
