#include "pegasus/runtime/thread_pool.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "pegasus/base/check.h"

namespace pegasus {
namespace {

// The longest single wait on the condition variable. Waits are re-armed after
// it, so this only keeps steady_clock::now() + wait far from overflow for
// timers scheduled very far ahead.
constexpr int64_t kMaxWaitNs = int64_t{3600} * 1'000'000'000;

int64_t SaturatingAdd(int64_t now_ns, int64_t delay_ns) {
  if (delay_ns > std::numeric_limits<int64_t>::max() - now_ns) {
    return std::numeric_limits<int64_t>::max();
  }
  return now_ns + delay_ns;
}

}  // namespace

// One worker thread and its strand: a FIFO of posted tasks and a set of
// timers ordered by (deadline, id), both guarded by mu_.
class ThreadPool::Worker final : public Executor {
 public:
  Worker(const ThreadPoolOptions& options, std::atomic<TimerId>* next_timer_id)
      : options_(options), next_timer_id_(next_timer_id) {}

  void Start(int index) {
    thread_ = std::thread([this] { Run(); });
    // Names show up in top -H, gdb and perf; at most 15 characters.
    std::string name = "pegasus-w" + std::to_string(index);
    pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
  }

  void Post(Task task) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;  // `task` is destroyed unrun, outside the lock.
      PEGASUS_CHECK_LT(tasks_.size(), options_.max_queued_tasks)
          << "a strand's task queue is full: some producer is unbounded";
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
  }

  TimerId ScheduleAfter(int64_t delay_ns, Task task) override {
    // A deadline already passed (a negative delay) runs as soon as possible.
    int64_t deadline_ns = SaturatingAdd(options_.clock->MonotonicNowNs(),
                                        std::max<int64_t>(delay_ns, 0));
    TimerId id = kNoTimer;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return kNoTimer;
      PEGASUS_CHECK_LT(timers_.size(), options_.max_pending_timers)
          << "a strand's timer set is full: some producer is unbounded";
      id = next_timer_id_->fetch_add(1, std::memory_order_relaxed);
      timers_.emplace(TimerKey{deadline_ns, id}, std::move(task));
      deadlines_.emplace(id, deadline_ns);
    }
    wake_.notify_one();
    return id;
  }

  bool Cancel(TimerId id) override {
    Task cancelled;  // Destroyed after the lock is released.
    std::lock_guard<std::mutex> lock(mu_);
    auto it = deadlines_.find(id);
    if (it == deadlines_.end()) return false;
    auto timer = timers_.find(TimerKey{it->second, id});
    cancelled = std::move(timer->second);
    timers_.erase(timer);
    deadlines_.erase(it);
    return true;
  }

  // Asks the thread to return after its current task.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
  }

  // REQUIRES: Stop() was called. Joins, then destroys whatever never ran.
  void Join() {
    if (thread_.joinable()) thread_.join();
    std::deque<Task> tasks;
    std::map<TimerKey, Task> timers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks.swap(tasks_);
      timers.swap(timers_);
      deadlines_.clear();
    }
  }

  bool IsCurrentThread() const {
    return thread_.get_id() == std::this_thread::get_id();
  }

 private:
  using TimerKey = std::pair<int64_t, TimerId>;  // (deadline ns, id)

  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (Task task = NextTask(lock)) {
      lock.unlock();
      task();
      task = nullptr;  // Captures are destroyed outside the lock too.
      lock.lock();
    }
  }

  // Waits for the next thing to run: a due timer first, else the oldest
  // posted task. Returns an empty task when the worker is stopping.
  Task NextTask(std::unique_lock<std::mutex>& lock) {
    while (!stopping_) {
      if (!timers_.empty()) {
        auto first = timers_.begin();
        int64_t wait_ns = first->first.first - options_.clock->MonotonicNowNs();
        if (wait_ns <= 0) {
          Task task = std::move(first->second);
          deadlines_.erase(first->first.second);
          timers_.erase(first);
          return task;
        }
        if (tasks_.empty()) {
          WaitAtMost(lock, wait_ns);
          continue;
        }
      }
      if (!tasks_.empty()) {
        Task task = std::move(tasks_.front());
        tasks_.pop_front();
        return task;
      }
      wake_.wait(lock);
    }
    return nullptr;
  }

  void WaitAtMost(std::unique_lock<std::mutex>& lock, int64_t wait_ns) {
    wait_ns = std::min(wait_ns, kMaxWaitNs);
    if (options_.timer_poll_interval_ns > 0) {
      wait_ns = std::min(wait_ns, options_.timer_poll_interval_ns);
    }
    wake_.wait_for(lock, std::chrono::nanoseconds(wait_ns));
  }

  const ThreadPoolOptions& options_;
  std::atomic<TimerId>* const next_timer_id_;
  std::thread thread_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<Task> tasks_;
  std::map<TimerKey, Task> timers_;
  absl::flat_hash_map<TimerId, int64_t> deadlines_;  // For Cancel.
};

ThreadPool::ThreadPool(ThreadPoolOptions options) : options_(options) {
  PEGASUS_CHECK_GE(options_.threads, 1);
  PEGASUS_CHECK(options_.clock != nullptr);
  PEGASUS_CHECK_GE(options_.timer_poll_interval_ns, 0);
  workers_.reserve(options_.threads);
  for (int i = 0; i < options_.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(options_, &next_timer_id_));
  }
  // Started only once every worker exists, so none sees a half-built pool.
  for (int i = 0; i < options_.threads; ++i) workers_[i]->Start(i);
}

ThreadPool::~ThreadPool() { Shutdown(); }

Executor* ThreadPool::Strand(uint64_t key) {
  return workers_[key % workers_.size()].get();
}

Executor* ThreadPool::StrandOffWorkerZero(uint64_t key) {
  if (workers_.size() == 1) return workers_[0].get();
  return workers_[1 + key % (workers_.size() - 1)].get();
}

void ThreadPool::Shutdown() {
  std::lock_guard<std::mutex> lock(shutdown_mu_);
  if (shut_down_) return;
  for (const auto& worker : workers_) {
    PEGASUS_CHECK(!worker->IsCurrentThread())
        << "ThreadPool::Shutdown called from one of its own workers";
  }
  // Stop all before joining any, so the workers wind down in parallel.
  for (const auto& worker : workers_) worker->Stop();
  for (const auto& worker : workers_) worker->Join();
  shut_down_ = true;
}

}  // namespace pegasus
