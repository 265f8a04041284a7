#include "testing/sim/process.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "pegasus/base/status.h"
#include "testing/sim/network.h"
#include "testing/sim/world.h"

namespace pegasus::sim {
namespace {

// Hands owned events to their process, as the Simulation does.
class ProcessGate final : public EventGate {
 public:
  ProcessGate(World* world, std::vector<std::unique_ptr<SimProcess>>* processes)
      : world_(world), processes_(processes) {}

  std::optional<int64_t> Admit(const EventOwner& owner,
                               int64_t now_ns) override {
    return (*processes_)[owner.process]->Admit(owner, now_ns);
  }
  void BeginEvent(const EventOwner& owner) override {
    (*processes_)[owner.process]->BeginEvent(world_->now_ns(), owner.strand);
  }
  void EndEvent(const EventOwner& owner) override {
    (*processes_)[owner.process]->EndEvent();
  }

 private:
  World* world_;
  std::vector<std::unique_ptr<SimProcess>>* processes_;
};

struct Received {
  int to;
  uint64_t from;
  std::string message;
  int64_t time_ns;
  friend bool operator==(const Received&, const Received&) = default;
};

void PrintTo(const Received& r, std::ostream* os) {
  *os << "n" << r.from << "->" << r.to << " '" << r.message << "' @"
      << r.time_ns;
}

// Records what arrives, and whether it has been destroyed.
class TestService final : public Service {
 public:
  TestService(const ProcessEnv& env, int index, World* world,
              std::vector<Received>* received, int* destroyed)
      : destroyed_(destroyed) {
    env.transport->SetReceiver(
        [index, world, received](NodeId from, std::string message) {
          received->push_back(
              Received{index, from.value, std::move(message), world->now_ns()});
        });
  }
  ~TestService() override { ++*destroyed_; }

 private:
  int* destroyed_;
};

class SimProcessTest : public testing::Test {
 protected:
  static constexpr int64_t kLatencyNs = 1000;

  SimProcessTest() : world_(1), gate_(&world_, &processes_) {
    world_.set_gate(&gate_);
    NetworkOptions network;
    network.latency_min_ns = kLatencyNs;
    network.latency_mean_ns = 0;
    network_ = std::make_unique<SimNetwork>(
        &world_, network, world_.NewRandom("network"),
        [this](int from, int to, const std::string& message) {
          if (to < 0 || to >= static_cast<int>(processes_.size())) return false;
          return processes_[to]->Receive(
              NodeId{static_cast<uint64_t>(from) + 1}, message);
        });
  }

  // Adds a process and starts it.
  SimProcess* Add(ProcessOptions options = {}) {
    const int index = static_cast<int>(processes_.size());
    processes_.push_back(
        std::make_unique<SimProcess>(&world_, network_.get(), index,
                                     NodeId{static_cast<uint64_t>(index) + 1},
                                     "p" + std::to_string(index), options));
    envs_.emplace_back();
    destroyed_.push_back(0);
    Start(index);
    return processes_.back().get();
  }

  void Start(int index) {
    absl::Status status = processes_[index]->Start(
        [this, index](
            const ProcessEnv& env) -> absl::StatusOr<std::unique_ptr<Service>> {
          envs_[index] = env;
          return std::make_unique<TestService>(env, index, &world_, &received_,
                                               &destroyed_[index]);
        });
    ASSERT_TRUE(status.ok()) << status;
  }

  void RunAll() {
    while (world_.Step()) {
    }
  }

  World world_;
  // Declared before the processes, whose services point at them.
  std::vector<Received> received_;
  std::deque<int> destroyed_;  // Per process; a deque keeps them in place.
  std::vector<ProcessEnv> envs_;
  std::vector<std::unique_ptr<SimProcess>> processes_;
  ProcessGate gate_;
  std::unique_ptr<SimNetwork> network_;
};

TEST_F(SimProcessTest, PostedTaskRunsOnTheProcessInPostingOrder) {
  SimProcess* p = Add();
  std::vector<std::string> ran;
  p->Post([&] { ran.push_back("first"); });
  p->Post([&] {
    ran.push_back("second");
    p->Post([&] { ran.push_back("posted_from_a_task"); });
  });
  p->Post([&] { ran.push_back("third"); });
  RunAll();
  EXPECT_EQ(ran, (std::vector<std::string>{"first", "second", "third",
                                           "posted_from_a_task"}));
  EXPECT_EQ(world_.now_ns(), 0);
}

TEST_F(SimProcessTest, TimerRunsAfterItsDelay) {
  SimProcess* p = Add();
  world_.RunUntil(100);
  int64_t fired_at = -1;
  int64_t clock_at_fire = -1;
  p->ScheduleAfter(5000, [&] {
    fired_at = world_.now_ns();
    clock_at_fire = p->MonotonicNowNs();
  });
  RunAll();
  EXPECT_EQ(fired_at, 5100);
  EXPECT_EQ(clock_at_fire, 5100);
}

TEST_F(SimProcessTest, CancelledTimerDoesNotRun) {
  SimProcess* p = Add();
  bool fired = false;
  const TimerId id = p->ScheduleAfter(5000, [&] { fired = true; });
  EXPECT_TRUE(p->Cancel(id));
  EXPECT_FALSE(p->Cancel(id));
  RunAll();
  EXPECT_FALSE(fired);
}

TEST_F(SimProcessTest, CrashDropsTheOldIncarnationsEventsAndStartMakesANewOne) {
  SimProcess* p = Add();
  const uint64_t first = p->incarnation();
  std::vector<std::string> ran;
  p->ScheduleAfter(1000, [&] { ran.push_back("old_timer"); });
  p->Post([&] { ran.push_back("old_task"); });
  p->Crash("pulled the plug");
  EXPECT_FALSE(p->up());
  EXPECT_EQ(destroyed_[0], 1);
  EXPECT_EQ(p->crashes(), 1u);
  EXPECT_EQ(p->last_failure(), "pulled the plug");
  Start(0);
  EXPECT_TRUE(p->up());
  EXPECT_GT(p->incarnation(), first);
  p->ScheduleAfter(1000, [&] { ran.push_back("new_timer"); });
  RunAll();
  EXPECT_EQ(ran, (std::vector<std::string>{"new_timer"}));
}

TEST_F(SimProcessTest, CrashingADownProcessDoesNothing) {
  SimProcess* p = Add();
  p->Crash("first");
  p->Crash("second");
  EXPECT_EQ(p->crashes(), 1u);
  EXPECT_EQ(p->last_failure(), "first");
}

TEST_F(SimProcessTest, FailedStartLeavesTheProcessDown) {
  SimProcess* p = Add();
  p->Crash("restart");
  absl::Status status = p->Start(
      [](const ProcessEnv&) -> absl::StatusOr<std::unique_ptr<Service>> {
        return PegasusError(ErrorCode::kIoError, "log is corrupt");
      });
  EXPECT_EQ(ToErrorCode(status), ErrorCode::kIoError);
  EXPECT_FALSE(p->up());
  EXPECT_EQ(p->last_failure(), "log is corrupt");
  Start(0);
  EXPECT_TRUE(p->up());
}

TEST_F(SimProcessTest, MessagesReachTheReceiverAfterTheLatency) {
  Add();
  Add();
  processes_[0]->Post([&] { envs_[0].transport->Send(NodeId{2}, "hi"); });
  RunAll();
  EXPECT_EQ(received_, (std::vector<Received>{{1, 1, "hi", kLatencyNs}}));
}

TEST_F(SimProcessTest, MessagesToADownProcessAreDropped) {
  Add();
  SimProcess* p1 = Add();
  p1->Crash("down");
  processes_[0]->Post([&] { envs_[0].transport->Send(NodeId{2}, "lost"); });
  RunAll();
  EXPECT_TRUE(received_.empty());
  Start(1);
  processes_[0]->Post([&] { envs_[0].transport->Send(NodeId{2}, "kept"); });
  RunAll();
  ASSERT_EQ(received_.size(), 1u);
  EXPECT_EQ(received_[0].message, "kept");
}

TEST_F(SimProcessTest, PauseHoldsEventsUntilItEnds) {
  SimProcess* p = Add();
  std::vector<std::pair<std::string, int64_t>> ran;
  p->Pause(10'000);
  p->Post([&] { ran.push_back({"task", world_.now_ns()}); });
  p->ScheduleAfter(2000, [&] { ran.push_back({"timer", world_.now_ns()}); });
  world_.At(5000, EventOwner{}, "world", 0, [&] {
    ran.push_back({"world", world_.now_ns()});
  });
  RunAll();
  EXPECT_EQ(ran, (std::vector<std::pair<std::string, int64_t>>{
                     {"world", 5000}, {"task", 10'000}, {"timer", 10'000}}));
}

ProcessOptions WithDisk(int64_t write_ns, int64_t sync_ns) {
  ProcessOptions options;
  options.has_disk = true;
  options.disk.write_latency_ns = write_ns;
  options.disk.sync_latency_ns = sync_ns;
  options.disk.read_latency_ns = 0;
  return options;
}

TEST_F(SimProcessTest, DiskLatencyDelaysTheProcessesNextEvents) {
  SimProcess* p = Add(WithDisk(1000, 4000));
  world_.RunUntil(100);
  int64_t clock_after_io = -1;
  int64_t next_ran_at = -1;
  p->Post([&] {
    auto file = envs_[0].file_system->NewWritableFile("/f");  // 1000
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append("x").ok());  // 1000
    ASSERT_TRUE((*file)->Sync().ok());       // 4000
    clock_after_io = p->MonotonicNowNs();
  });
  p->Post([&] { next_ran_at = world_.now_ns(); });
  RunAll();
  EXPECT_EQ(clock_after_io, 6100);
  EXPECT_EQ(next_ran_at, 6100);
}

TEST_F(SimProcessTest, DiskLatencyDelaysTheMessagesAndTimersAnEventStarts) {
  SimProcess* p = Add(WithDisk(1000, 4000));
  Add();
  int64_t timer_at = -1;
  p->Post([&] {
    auto file = envs_[0].file_system->NewWritableFile("/f");  // 1000
    ASSERT_TRUE(file.ok());
    envs_[0].transport->Send(NodeId{2}, "after_open");
    ASSERT_TRUE((*file)->Sync().ok());  // 4000
    envs_[0].transport->Send(NodeId{2}, "after_sync");
    p->ScheduleAfter(500, [&] { timer_at = world_.now_ns(); });
  });
  RunAll();
  EXPECT_EQ(received_,
            (std::vector<Received>{{1, 1, "after_open", 1000 + kLatencyNs},
                                   {1, 1, "after_sync", 5000 + kLatencyNs}}));
  EXPECT_EQ(timer_at, 5500);
}

TEST_F(SimProcessTest, AKeyAlwaysGetsTheSameStrandAcrossRestarts) {
  SimProcess* p = Add();
  Executor* a = envs_[0].strand(7);
  EXPECT_EQ(envs_[0].strand(7), a);
  EXPECT_NE(envs_[0].strand(8), a);
  EXPECT_NE(a, static_cast<Executor*>(p));
  p->Crash("test");
  Start(0);
  EXPECT_EQ(envs_[0].strand(7), a);
}

TEST_F(SimProcessTest, StrandsAreBusyOnTheirOwnSoTheyRunSideBySide) {
  SimProcess* p = Add(WithDisk(0, 4000));
  Executor* a = envs_[0].strand(1);
  Executor* b = envs_[0].strand(2);
  int64_t a_next_at = -1;
  int64_t b_ran_at = -1;
  int64_t process_ran_at = -1;
  a->Post([&] {
    auto file = envs_[0].file_system->NewWritableFile("/f");
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Sync().ok());  // Strand a is busy until 4000.
  });
  a->Post([&] { a_next_at = world_.now_ns(); });
  b->Post([&] { b_ran_at = world_.now_ns(); });
  p->Post([&] { process_ran_at = world_.now_ns(); });
  RunAll();
  EXPECT_EQ(a_next_at, 4000);
  EXPECT_EQ(b_ran_at, 0);
  EXPECT_EQ(process_ran_at, 0);
}

TEST_F(SimProcessTest, StrandsShareTheDiskOneOperationAtATime) {
  Add(WithDisk(0, 4000));
  int64_t a_done = -1;
  int64_t b_done = -1;
  auto sync_on = [&](uint64_t key, const std::string& path, int64_t* done) {
    envs_[0].strand(key)->Post([&, path, done] {
      auto file = envs_[0].file_system->NewWritableFile(path);
      ASSERT_TRUE(file.ok());
      ASSERT_TRUE((*file)->Sync().ok());
      *done = processes_[0]->MonotonicNowNs();
    });
  };
  sync_on(1, "/a", &a_done);
  sync_on(2, "/b", &b_done);
  RunAll();
  EXPECT_EQ(a_done, 4000);
  EXPECT_EQ(b_done, 8000) << "the second sync waits for the first";
}

TEST_F(SimProcessTest, HandedOverTasksArriveSoonAndInPostingOrder) {
  SimProcess* p = Add();
  Executor* strand = envs_[0].strand(1);
  std::vector<int> ran;
  std::vector<int64_t> at;
  constexpr int kTasks = 50;
  p->Post([&] {
    for (int i = 0; i < kTasks; ++i) {
      strand->Post([&, i] {
        ran.push_back(i);
        at.push_back(world_.now_ns());
      });
    }
  });
  RunAll();
  std::vector<int> in_order(kTasks);
  for (int i = 0; i < kTasks; ++i) in_order[i] = i;
  EXPECT_EQ(ran, in_order);
  ASSERT_EQ(at.size(), static_cast<size_t>(kTasks));
  // A handover takes a moment (up to 20 us), not nothing every time.
  EXPECT_GT(at.back(), 0);
  EXPECT_LE(at.back(), 20'000);
}

TEST_F(SimProcessTest, CrashDropsEveryStrandsEvents) {
  SimProcess* p = Add();
  Executor* strand = envs_[0].strand(1);
  bool ran = false;
  strand->Post([&] { ran = true; });
  strand->ScheduleAfter(100, [&] { ran = true; });
  p->Crash("test");
  RunAll();
  EXPECT_FALSE(ran);
}

// Regression: a timer held back while its process was busy was requeued
// under a new id, so cancelling it from the event that ran first at the end
// of the busy period failed and the timer fired anyway.
TEST_F(SimProcessTest, TimerDueWhileBusyCanStillBeCancelled) {
  SimProcess* p = Add(WithDisk(0, 1000));
  bool fired = false;
  bool cancelled = false;
  TimerId timer = kNoTimer;
  p->Post([&] {
    auto file = envs_[0].file_system->NewWritableFile("/f");
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Sync().ok());  // Busy until 1000.
  });
  // Both fall due while the process is busy; the canceller is queued first.
  world_.At(100, EventOwner{0, p->incarnation()}, "canceller", 0,
            [&] { cancelled = p->Cancel(timer); });
  timer = p->ScheduleAfter(200, [&] { fired = true; });
  RunAll();
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(fired);
}

TEST_F(SimProcessTest,
       CrashLosesUnsyncedDiskDataAndTheNextIncarnationSeesTheRest) {
  SimProcess* p = Add(WithDisk(0, 0));
  p->Post([&] {
    auto file = envs_[0].file_system->NewWritableFile("/f");
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(envs_[0].file_system->SyncDir("/").ok());
    ASSERT_TRUE((*file)->Append("synced").ok());
    ASSERT_TRUE((*file)->Sync().ok());
    ASSERT_TRUE((*file)->Append("+unsynced").ok());
  });
  RunAll();
  p->Crash("power");
  Start(0);
  EXPECT_EQ(*envs_[0].file_system->ReadFile("/f"), "synced");
}

ProcessOptions WithDrift(double drift, int64_t wall_offset_us = 0) {
  ProcessOptions options;
  options.clock_drift = drift;
  options.wall_offset_us = wall_offset_us;
  return options;
}

TEST_F(SimProcessTest, FastClockFiresTimersEarlyInWorldTime) {
  SimProcess* p = Add(WithDrift(0.25));
  int64_t fired_at = -1;
  int64_t clock_at_fire = -1;
  p->ScheduleAfter(10'000, [&] {
    fired_at = world_.now_ns();
    clock_at_fire = p->MonotonicNowNs();
  });
  RunAll();
  EXPECT_EQ(fired_at, 8000);  // 10'000 / 1.25
  EXPECT_EQ(clock_at_fire, 10'000);
}

TEST_F(SimProcessTest, SlowClockFiresTimersLateInWorldTime) {
  SimProcess* p = Add(WithDrift(-0.2));
  int64_t fired_at = -1;
  p->ScheduleAfter(8000, [&] { fired_at = world_.now_ns(); });
  RunAll();
  EXPECT_EQ(fired_at, 10'000);  // 8000 / 0.8
}

TEST_F(SimProcessTest, DriftingClockAdvancesAtItsRate) {
  SimProcess* p = Add(WithDrift(0.001, /*wall_offset_us=*/250));
  world_.RunUntil(1'000'000'000);
  const int64_t mono_1s = p->MonotonicNowNs();
  const int64_t wall_1s = p->WallNowUs();
  world_.RunUntil(3'000'000'000);
  // Within a nanosecond (a microsecond for the wall clock) of rounding.
  EXPECT_NEAR(mono_1s, 1'001'000'000, 1);
  EXPECT_NEAR(p->MonotonicNowNs() - mono_1s, 2'002'000'000, 2);
  EXPECT_NEAR(wall_1s, kSimEpochUnixUs + 1'001'000 + 250, 1);
  EXPECT_NEAR(p->WallNowUs() - wall_1s, 2'002'000, 2);
}

TEST_F(SimProcessTest, FailStopCrashesTheProcessAfterTheEvent) {
  SimProcess* p = Add();
  std::vector<SimProcess*> failed;
  p->set_on_fail_stop([&](SimProcess* process) { failed.push_back(process); });
  bool up_after_fail_stop = false;
  bool later_task_ran = false;
  p->Post([&] {
    envs_[0].fail_stop("invariant broken");
    up_after_fail_stop = p->up();
    p->Post([&] { later_task_ran = true; });
  });
  RunAll();
  EXPECT_TRUE(up_after_fail_stop);
  EXPECT_FALSE(p->up());
  EXPECT_EQ(p->last_failure(), "fail-stop: invariant broken");
  EXPECT_EQ(p->crashes(), 1u);
  EXPECT_EQ(failed, (std::vector<SimProcess*>{p}));
  EXPECT_FALSE(later_task_ran);
}

TEST_F(SimProcessTest, SecondFailStopOfTheSameIncarnationIsIgnored) {
  SimProcess* p = Add();
  int fail_stops = 0;
  p->set_on_fail_stop([&](SimProcess*) { ++fail_stops; });
  p->Post([&] {
    envs_[0].fail_stop("first");
    envs_[0].fail_stop("second");
  });
  RunAll();
  EXPECT_EQ(fail_stops, 1);
  EXPECT_EQ(p->last_failure(), "fail-stop: first");
}

TEST_F(SimProcessTest, FailStopOfAnOldIncarnationLeavesTheNewOneAlone) {
  SimProcess* p = Add();
  std::function<void(const std::string&)> old_fail_stop = envs_[0].fail_stop;
  p->Crash("restart");
  Start(0);
  old_fail_stop("stale");
  RunAll();
  EXPECT_TRUE(p->up());
  EXPECT_EQ(p->crashes(), 1u);
}

TEST_F(SimProcessTest, MessagesSentAfterFailStopAreNotDelivered) {
  Add();
  Add();
  processes_[0]->Post([&] {
    envs_[0].transport->Send(NodeId{2}, "before");
    envs_[0].fail_stop("boom");
    envs_[0].transport->Send(NodeId{2}, "after");
  });
  RunAll();
  ASSERT_EQ(received_.size(), 1u);
  EXPECT_EQ(received_[0].message, "before");
}

}  // namespace
}  // namespace pegasus::sim
