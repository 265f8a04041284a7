// The executor seam: how the core runs work later. Code in pegasus/ never
// creates a thread, sleeps or blocks; it posts tasks and schedules timers on
// an Executor it was given.
//
// An Executor is a strand: its tasks and timers run one at a time, never
// concurrently with each other, posted tasks in the order they were posted.
// So an object whose every entry point runs on one strand (a partition's
// replica, for example) needs no locks.
//
// Production: ThreadPool (thread_pool.h) maps each key to one worker thread,
// so a partition always runs on the same strand. Simulator: one event queue
// in virtual time (testing/sim).
//
// Thread-safety: Post, ScheduleAfter and Cancel may be called from any thread.

#ifndef PEGASUS_RUNTIME_EXECUTOR_H_
#define PEGASUS_RUNTIME_EXECUTOR_H_

#include <cstdint>

#include "absl/functional/any_invocable.h"

namespace pegasus {

using Task = absl::AnyInvocable<void()>;

// Names a scheduled timer; never reused by one executor. 0 is never a timer.
using TimerId = uint64_t;
inline constexpr TimerId kNoTimer = 0;

class Executor {
 public:
  virtual ~Executor() = default;

  // Runs `task` on this strand after the tasks posted before it.
  virtual void Post(Task task) = 0;

  // Runs `task` on this strand once `delay_ns` nanoseconds (>= 0) of the
  // executor's monotonic clock have passed.
  virtual TimerId ScheduleAfter(int64_t delay_ns, Task task) = 0;

  // Stops a timer that has not started to run. Returns false when it already
  // ran, is running, was cancelled, or never existed.
  virtual bool Cancel(TimerId id) = 0;
};

}  // namespace pegasus

#endif  // PEGASUS_RUNTIME_EXECUTOR_H_
