// ThreadPool's strand and timer guarantees. The tests never sleep and make no
// timing assertion that load can break: they wait on latches, order timers
// with a ManualClock, and check real-clock timers only for "not early".
// Concurrency comes from the pools' own workers. A broken pool can make a
// test hang rather than fail; Bazel's test timeout turns that into a failure.
// Only std synchronization is used, so ThreadSanitizer sees all of it.

#include "pegasus/runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <latch>
#include <memory>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace pegasus {
namespace {

constexpr int64_t kHourNs = int64_t{3600} * 1'000'000'000;

// Burns the real clock for `ns`, without sleeping.
void SpinFor(int64_t ns) {
  int64_t end = RealClock()->MonotonicNowNs() + ns;
  while (RealClock()->MonotonicNowNs() < end) {
  }
}

// Runs on `strand` after everything posted there before it.
void Drain(Executor* strand) {
  std::latch done(1);
  strand->Post([&] { done.count_down(); });
  done.wait();
}

TEST(ThreadPoolTest, StrandIsStablePerKeyAndSharedModuloThreads) {
  ThreadPool pool({.threads = 3});
  EXPECT_EQ(pool.threads(), 3);
  EXPECT_EQ(pool.Strand(7), pool.Strand(7));
  EXPECT_EQ(pool.Strand(1), pool.Strand(4));
  EXPECT_NE(pool.Strand(1), pool.Strand(2));
  EXPECT_EQ(pool.Strand(~uint64_t{0}), pool.Strand(~uint64_t{0} % 3));
}

TEST(ThreadPoolTest, OneStrandRunsTasksInPostOrderOneAtATime) {
  ThreadPool pool({.threads = 4});
  Executor* strand = pool.Strand(5);
  constexpr int kTasks = 10'000;
  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};
  std::vector<int> order;  // Touched only on the strand.
  for (int i = 0; i < kTasks; ++i) {
    strand->Post([&, i] {
      int now = in_flight.fetch_add(1) + 1;
      if (now > max_in_flight.load()) max_in_flight.store(now);
      order.push_back(i);
      in_flight.fetch_sub(1);
    });
  }
  Drain(strand);
  EXPECT_EQ(max_in_flight.load(), 1);
  ASSERT_EQ(order.size(), size_t{kTasks});
  for (int i = 0; i < kTasks; ++i) ASSERT_EQ(order[i], i);
}

// Two tasks meet at a rendezvous that only opens when both are running: on
// a pool that ran them one after the other this would hang until Bazel's
// test timeout.
TEST(ThreadPoolTest, DifferentStrandsRunInParallel) {
  ThreadPool pool({.threads = 2});
  std::latch both_running(2);
  std::latch both_done(2);
  for (uint64_t key : {0, 1}) {
    pool.Strand(key)->Post([&] {
      both_running.arrive_and_wait();
      both_done.count_down();
    });
  }
  both_done.wait();
}

// Four producer threads (another pool's workers) post into one strand.
TEST(ThreadPoolTest, ConcurrentPostersKeepEachPostersOrder) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 5'000;
  ThreadPool consumer_pool({.threads = 2});
  Executor* consumer = consumer_pool.Strand(0);
  std::atomic<int> in_flight{0};
  std::atomic<bool> overlapped{false};
  std::vector<std::vector<int>> seen(kProducers);  // Touched only on consumer.
  std::latch all_received(kProducers * kPerProducer);
  {
    ThreadPool producers({.threads = kProducers});
    for (int p = 0; p < kProducers; ++p) {
      producers.Strand(p)->Post([&, p] {
        for (int i = 0; i < kPerProducer; ++i) {
          consumer->Post([&, p, i] {
            if (in_flight.fetch_add(1) != 0) overlapped = true;
            seen[p].push_back(i);
            in_flight.fetch_sub(1);
            all_received.count_down();
          });
        }
      });
    }
    all_received.wait();
  }
  EXPECT_FALSE(overlapped);
  for (int p = 0; p < kProducers; ++p) {
    ASSERT_EQ(seen[p].size(), size_t{kPerProducer});
    for (int i = 0; i < kPerProducer; ++i) ASSERT_EQ(seen[p][i], i);
  }
}

TEST(ThreadPoolTest, TimerFiresNoEarlierThanItsDelay) {
  ThreadPool pool({.threads = 2});
  constexpr int64_t kDelayNs = 20'000'000;
  std::atomic<int64_t> fired_ns{0};
  std::latch fired(1);
  int64_t scheduled_ns = RealClock()->MonotonicNowNs();
  TimerId id = pool.Strand(0)->ScheduleAfter(kDelayNs, [&] {
    fired_ns = RealClock()->MonotonicNowNs();
    fired.count_down();
  });
  EXPECT_NE(id, kNoTimer);
  fired.wait();
  EXPECT_GE(fired_ns.load() - scheduled_ns, kDelayNs);
}

// With a ManualClock every deadline is exact, so the order is too.
TEST(ThreadPoolTest, TimersFireInDeadlineOrderThenIdOrder) {
  ManualClock clock;
  ThreadPool pool(
      {.threads = 1, .clock = &clock, .timer_poll_interval_ns = 1'000'000});
  Executor* strand = pool.Strand(0);
  std::vector<int> order;  // Touched only on the strand.
  std::latch all_fired(5);
  auto record = [&](int tag) {
    return [&, tag] {
      order.push_back(tag);
      all_fired.count_down();
    };
  };
  strand->ScheduleAfter(3000, record(3000));
  strand->ScheduleAfter(1000, record(1000));
  strand->ScheduleAfter(2000, record(2001));
  strand->ScheduleAfter(2000, record(2002));
  strand->ScheduleAfter(0, record(0));
  // The zero-delay timer is due already; the others wait for the clock.
  clock.AdvanceUs(3);
  all_fired.wait();
  Drain(strand);
  EXPECT_EQ(order, (std::vector<int>{0, 1000, 2001, 2002, 3000}));
}

TEST(ThreadPoolTest, TimerWaitsForItsClock) {
  ManualClock clock;
  ThreadPool pool(
      {.threads = 1, .clock = &clock, .timer_poll_interval_ns = 1'000'000});
  Executor* strand = pool.Strand(0);
  std::atomic<bool> fired{false};
  std::latch fired_note(1);
  strand->ScheduleAfter(5000, [&] {
    fired = true;
    fired_note.count_down();
  });
  // The worker checks due timers before each posted task, so by the time
  // these run it has seen the timer is not due.
  for (int i = 0; i < 3; ++i) Drain(strand);
  EXPECT_FALSE(fired);
  clock.AdvanceUs(4);
  Drain(strand);
  EXPECT_FALSE(fired) << "4 us of a 5 us delay";
  clock.AdvanceUs(1);
  fired_note.wait();
}

TEST(ThreadPoolTest, CancelBeforeFiringPreventsIt) {
  ManualClock clock;
  ThreadPool pool(
      {.threads = 1, .clock = &clock, .timer_poll_interval_ns = 1'000'000});
  Executor* strand = pool.Strand(0);
  std::atomic<bool> cancelled_ran{false};
  std::latch later_ran(1);
  TimerId cancelled =
      strand->ScheduleAfter(1000, [&] { cancelled_ran = true; });
  strand->ScheduleAfter(2000, [&] { later_ran.count_down(); });
  EXPECT_TRUE(strand->Cancel(cancelled));
  EXPECT_FALSE(strand->Cancel(cancelled)) << "already cancelled";
  clock.AdvanceUs(2);
  // Deadline order: had the cancelled timer survived, it would run first.
  later_ran.wait();
  EXPECT_FALSE(cancelled_ran);
}

TEST(ThreadPoolTest, CancelIsFalseAfterTheTimerRanOrForUnknownIds) {
  ThreadPool pool({.threads = 2});
  Executor* strand = pool.Strand(0);
  std::latch fired(1);
  TimerId id = strand->ScheduleAfter(0, [&] { fired.count_down(); });
  fired.wait();
  Drain(strand);
  EXPECT_FALSE(strand->Cancel(id));
  EXPECT_FALSE(strand->Cancel(kNoTimer));
  EXPECT_FALSE(strand->Cancel(id + 1000));
  // Ids belong to the strand that scheduled them.
  TimerId elsewhere = pool.Strand(1)->ScheduleAfter(kHourNs, [] {});
  EXPECT_FALSE(strand->Cancel(elsewhere));
  EXPECT_TRUE(pool.Strand(1)->Cancel(elsewhere));
}

TEST(ThreadPoolTest, CancelIsFalseWhileTheTimerRuns) {
  ThreadPool pool({.threads = 1});
  Executor* strand = pool.Strand(0);
  std::latch running(1), checked(1);
  TimerId id = strand->ScheduleAfter(0, [&] {
    running.count_down();
    checked.wait();
  });
  running.wait();
  EXPECT_FALSE(strand->Cancel(id));
  checked.count_down();
}

TEST(ThreadPoolTest, TimerIdsAreUniqueAcrossThePool) {
  ThreadPool pool({.threads = 3});
  std::vector<TimerId> ids;
  for (uint64_t key = 0; key < 30; ++key) {
    ids.push_back(pool.Strand(key)->ScheduleAfter(kHourNs, [] {}));
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
  EXPECT_EQ(std::find(ids.begin(), ids.end(), kNoTimer), ids.end());
}

// The running task schedules a timer that is due at once, then spins until
// the pool stops accepting timers, which is how it knows Shutdown has begun,
// then works a little longer: Shutdown must wait for it, and must drop both
// the due timer and the task queued behind it.
TEST(ThreadPoolTest, ShutdownFinishesTheRunningTaskAndDropsTheRest) {
  ThreadPool pool({.threads = 1});
  Executor* strand = pool.Strand(0);
  std::latch started(1);
  std::atomic<bool> finished{false};
  std::atomic<bool> queued_ran{false};
  std::atomic<bool> timer_ran{false};
  auto token = std::make_shared<int>(0);
  strand->Post([&, token] {
    strand->ScheduleAfter(0, [&, token] { timer_ran = true; });
    started.count_down();
    while (true) {
      TimerId probe = strand->ScheduleAfter(kHourNs, [] {});
      if (probe == kNoTimer) break;
      strand->Cancel(probe);
    }
    SpinFor(20'000'000);
    finished = true;
  });
  strand->Post([&, token] { queued_ran = true; });
  started.wait();
  pool.Shutdown();
  EXPECT_TRUE(finished);
  EXPECT_FALSE(queued_ran);
  EXPECT_FALSE(timer_ran);
  EXPECT_EQ(token.use_count(), 1) << "dropped tasks are destroyed";
}

TEST(ThreadPoolTest, AfterShutdownPostsAndTimersAreDropped) {
  ThreadPool pool({.threads = 2});
  pool.Shutdown();
  pool.Shutdown();  // Idempotent.
  auto token = std::make_shared<int>(0);
  bool ran = false;
  pool.Strand(0)->Post([&ran, token] { ran = true; });
  EXPECT_EQ(pool.Strand(1)->ScheduleAfter(0, [&ran, token] { ran = true; }),
            kNoTimer);
  EXPECT_FALSE(ran);
  EXPECT_EQ(token.use_count(), 1);
}

TEST(ThreadPoolTest, DestructorDropsPendingTimers) {
  auto token = std::make_shared<int>(0);
  {
    ThreadPool pool({.threads = 2});
    pool.Strand(0)->ScheduleAfter(kHourNs, [token] {});
    EXPECT_EQ(token.use_count(), 2);
  }
  EXPECT_EQ(token.use_count(), 1);
}

// A due timer runs before the posted tasks that are waiting.
TEST(ThreadPoolTest, TasksMayPostAndScheduleOnTheirOwnStrand) {
  ThreadPool pool({.threads = 2});
  Executor* strand = pool.Strand(0);
  std::vector<int> order;  // Touched only on the strand.
  strand->Post([&] {
    order.push_back(1);
    strand->Post([&] { order.push_back(3); });
    strand->ScheduleAfter(0, [&] { order.push_back(2); });
  });
  Drain(strand);
  Drain(strand);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(ThreadPoolDeathTest, ShutdownFromAWorkerDies) {
  EXPECT_DEATH(
      {
        ThreadPool pool({.threads = 1});
        std::latch done(1);
        pool.Strand(0)->Post([&] {
          pool.Shutdown();
          done.count_down();
        });
        done.wait();
      },
      "own workers");
}

TEST(ThreadPoolTest, StrandsOffWorkerZeroNeverUseIt) {
  ThreadPool pool(ThreadPoolOptions{.threads = 4});
  std::set<Executor*> used;
  for (uint64_t key = 0; key < 100; ++key) {
    Executor* strand = pool.StrandOffWorkerZero(key);
    EXPECT_NE(strand, pool.Strand(0)) << key;
    EXPECT_EQ(strand, pool.StrandOffWorkerZero(key));
    used.insert(strand);
  }
  EXPECT_EQ(used.size(), 3u);  // Every other worker.
  ThreadPool single(ThreadPoolOptions{.threads = 1});
  EXPECT_EQ(single.StrandOffWorkerZero(7), single.Strand(0));
}

}  // namespace
}  // namespace pegasus
