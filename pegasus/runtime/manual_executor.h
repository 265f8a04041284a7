// An Executor for single-threaded tests: nothing runs until the test says so,
// and time moves only when the test advances it.
//
//   ManualExecutor executor;
//   executor.Post(...);
//   executor.RunReady();            // runs posted tasks and due timers
//   executor.AdvanceNs(1'000'000);  // moves time, running timers as they fall due
//
// Thread-safety: none; use from the test's thread only. The simulator
// (testing/sim) is the full-featured deterministic executor.

#ifndef PEGASUS_RUNTIME_MANUAL_EXECUTOR_H_
#define PEGASUS_RUNTIME_MANUAL_EXECUTOR_H_

#include <cstdint>
#include <deque>
#include <map>
#include <utility>

#include "pegasus/base/check.h"
#include "pegasus/runtime/clock.h"
#include "pegasus/runtime/executor.h"

namespace pegasus {

class ManualExecutor final : public Executor, public Clock {
 public:
  void Post(Task task) override { ready_.push_back(std::move(task)); }

  TimerId ScheduleAfter(int64_t delay_ns, Task task) override {
    PEGASUS_CHECK_GE(delay_ns, 0);
    const TimerId id = next_timer_++;
    timers_.emplace(std::make_pair(now_ns_ + delay_ns, id), std::move(task));
    deadlines_.emplace(id, now_ns_ + delay_ns);
    return id;
  }

  bool Cancel(TimerId id) override {
    auto it = deadlines_.find(id);
    if (it == deadlines_.end()) return false;
    timers_.erase(std::make_pair(it->second, id));
    deadlines_.erase(it);
    return true;
  }

  int64_t MonotonicNowNs() override { return now_ns_; }
  int64_t WallNowUs() override { return now_ns_ / 1000; }

  // Runs the first posted task, if any (and nothing it posts). Returns
  // whether one ran.
  bool RunOne() {
    if (ready_.empty()) return false;
    Task task = std::move(ready_.front());
    ready_.pop_front();
    task();
    return true;
  }

  // Runs posted tasks and timers due now, including any they post, until
  // none is left. Returns how many ran.
  int RunReady() {
    int ran = 0;
    while (true) {
      if (!ready_.empty()) {
        Task task = std::move(ready_.front());
        ready_.pop_front();
        task();
        ++ran;
        continue;
      }
      if (!timers_.empty() && timers_.begin()->first.first <= now_ns_) {
        ran += RunFirstTimer();
        continue;
      }
      return ran;
    }
  }

  // Moves time forward by `delta_ns`, running every timer at its deadline in
  // deadline order (and the tasks each posts) on the way.
  void AdvanceNs(int64_t delta_ns) {
    const int64_t target = now_ns_ + delta_ns;
    RunReady();
    while (!timers_.empty() && timers_.begin()->first.first <= target) {
      now_ns_ = timers_.begin()->first.first;
      RunReady();
    }
    now_ns_ = target;
    RunReady();
  }

  size_t pending_timers() const { return timers_.size(); }

 private:
  int RunFirstTimer() {
    auto it = timers_.begin();
    Task task = std::move(it->second);
    deadlines_.erase(it->first.second);
    timers_.erase(it);
    task();
    return 1;
  }

  int64_t now_ns_ = 0;
  TimerId next_timer_ = 1;
  std::deque<Task> ready_;
  std::map<std::pair<int64_t, TimerId>, Task> timers_;
  std::map<TimerId, int64_t> deadlines_;
};

}  // namespace pegasus

#endif  // PEGASUS_RUNTIME_MANUAL_EXECUTOR_H_
