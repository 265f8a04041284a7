// The production Executor: a fixed set of worker threads, each one a strand.
//
//   ThreadPool pool({.threads = 8});
//   Executor* strand = pool.Strand(partition_key);
//   strand->Post([&] { replica.OnTimerTick(); });
//
// Strand(key) picks worker `key % threads`, so a key (a partition) always
// runs on the same thread, one task at a time, posted tasks in post order.
// Several keys share a worker when there are more keys than threads: a task
// that runs long delays every key on its worker.
//
// Timers: a worker runs a timer once `clock` says its deadline has passed.
// Due timers run in (deadline, TimerId) order, before the posted tasks that
// are waiting. Between tasks a worker waits on std::chrono::steady_clock for
// the time left until the earliest deadline (by `clock`), then re-reads
// `clock`. With RealClock() (steady_clock underneath) a timer fires on time.
// With any other clock (a ManualClock in a test) the worker only notices
// that clock's movement when it wakes: set `timer_poll_interval_ns` so it
// wakes often enough.
//
// Shutdown() (also run by the destructor) stops accepting work, lets each
// worker finish the task it is running, joins the threads, and destroys the
// queued tasks and pending timers without running them. After it, Post()
// destroys the task at once without running it and ScheduleAfter() does the
// same and returns kNoTimer.
//
// Thread-safety: every method may be called from any thread, except that
// Shutdown() and the destructor must not be called from one of the pool's
// own workers (it would join itself).

#ifndef PEGASUS_RUNTIME_THREAD_POOL_H_
#define PEGASUS_RUNTIME_THREAD_POOL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/executor.h"

namespace pegasus {

struct ThreadPoolOptions {
  // Worker threads, and so strands. REQUIRES: >= 1. Default: 4.
  int threads = 4;

  // The clock timer deadlines are measured on (MonotonicNowNs).
  // REQUIRES: not null, outlives the pool. Default: RealClock().
  Clock* clock = RealClock();

  // Longest a worker with pending timers sleeps before it re-reads `clock`,
  // in nanoseconds; 0 means "until the earliest deadline", which is exact for
  // RealClock(). Set it (e.g. to 1 ms) when `clock` is not the real one.
  // Default: 0.
  int64_t timer_poll_interval_ns = 0;

  // Most tasks posted to one worker and not yet started, and most timers
  // pending on one worker. The Executor contract has no way to refuse work,
  // so these are a safety net, not flow control: callers bound their own
  // in-flight work (prepare windows, request queues), and going past either
  // limit means such a bound is missing, which stops the process with a
  // CHECK failure. Defaults: 1,000,000 each.
  size_t max_queued_tasks = 1'000'000;
  size_t max_pending_timers = 1'000'000;
};

class ThreadPool {
 public:
  // Starts `options.threads` workers.
  explicit ThreadPool(ThreadPoolOptions options = {});
  // Shutdown().
  ~ThreadPool();

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // The strand of `key`: worker `key % threads`. The same key always gives
  // the same Executor, which lives as long as the pool. Keys equal modulo
  // `threads` share a strand. A TimerId is cancellable only on the strand
  // that scheduled it; ids are unique across the pool.
  Executor* Strand(uint64_t key);

  // The strand of `key` among workers 1 to threads - 1 (worker 0 with a
  // single thread): for work that may block its worker (a log sync), kept
  // off Strand(0), which a node uses for its network.
  Executor* StrandOffWorkerZero(uint64_t key);

  int threads() const { return static_cast<int>(workers_.size()); }

  // Stops accepting tasks, waits for running tasks to return, joins the
  // workers and drops whatever was queued or pending. Idempotent.
  // REQUIRES: not called from one of this pool's workers.
  void Shutdown();

 private:
  class Worker;

  const ThreadPoolOptions options_;
  std::atomic<TimerId> next_timer_id_{1};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::mutex shutdown_mu_;
  bool shut_down_ = false;  // Guarded by shutdown_mu_.
};

}  // namespace pegasus

#endif  // PEGASUS_RUNTIME_THREAD_POOL_H_
