#include "testing/sim/world.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace pegasus::sim {
namespace {

// A gate whose decision is a function of the owner and the time, and which
// records the owned events it was told about.
class ScriptedGate final : public EventGate {
 public:
  using Decide =
      std::function<std::optional<int64_t>(const EventOwner&, int64_t)>;

  explicit ScriptedGate(Decide decide) : decide_(std::move(decide)) {}

  std::optional<int64_t> Admit(const EventOwner& owner,
                               int64_t now_ns) override {
    ++admit_calls;
    return decide_(owner, now_ns);
  }
  void BeginEvent(const EventOwner& owner) override {
    log.push_back("begin " + std::to_string(owner.process));
  }
  void EndEvent(const EventOwner& owner) override {
    log.push_back("end " + std::to_string(owner.process));
  }

  int admit_calls = 0;
  std::vector<std::string> log;

 private:
  Decide decide_;
};

// Records which events ran, and when.
struct Ran {
  std::string name;
  int64_t time_ns;
  friend bool operator==(const Ran&, const Ran&) = default;
};

void PrintTo(const Ran& ran, std::ostream* os) {
  *os << ran.name << "@" << ran.time_ns;
}

class WorldTest : public testing::Test {
 protected:
  EventId Schedule(int64_t time_ns, std::string name,
                   EventOwner owner = EventOwner{}) {
    return world_.At(time_ns, owner, "test", 0, [this, name] {
      ran_.push_back(Ran{name, world_.now_ns()});
    });
  }
  void RunAll() {
    while (world_.Step()) {
    }
  }

  World world_{42};
  std::vector<Ran> ran_;
};

TEST_F(WorldTest, RunsEventsInTimeOrderAndTiesInSchedulingOrder) {
  Schedule(30, "c");
  Schedule(10, "a1");
  Schedule(20, "b1");
  Schedule(10, "a2");
  Schedule(20, "b2");
  RunAll();
  EXPECT_EQ(ran_,
            (std::vector<Ran>{
                {"a1", 10}, {"a2", 10}, {"b1", 20}, {"b2", 20}, {"c", 30}}));
  EXPECT_EQ(world_.now_ns(), 30);
  EXPECT_EQ(world_.events_run(), 5u);
}

TEST_F(WorldTest,
       EventScheduledDuringAnEventForTheSameTimeRunsAfterQueuedOnes) {
  world_.At(10, EventOwner{}, "test", 0, [this] {
    ran_.push_back(Ran{"first", world_.now_ns()});
    Schedule(10, "nested");
  });
  Schedule(10, "second");
  RunAll();
  EXPECT_EQ(ran_,
            (std::vector<Ran>{{"first", 10}, {"second", 10}, {"nested", 10}}));
}

TEST_F(WorldTest, EventScheduledInThePastRunsAtTheCurrentTime) {
  world_.RunUntil(100);
  Schedule(5, "late");
  Schedule(100, "on_time");
  RunAll();
  EXPECT_EQ(ran_, (std::vector<Ran>{{"late", 100}, {"on_time", 100}}));
}

TEST_F(WorldTest, StepReturnsFalseWhenNothingIsQueued) {
  EXPECT_FALSE(world_.Step());
  Schedule(1, "only");
  EXPECT_TRUE(world_.Step());
  EXPECT_FALSE(world_.Step());
}

TEST_F(WorldTest, CancelledEventDoesNotRun) {
  Schedule(10, "kept");
  const EventId dropped = Schedule(20, "dropped");
  Schedule(30, "also_kept");
  EXPECT_TRUE(world_.Cancel(dropped));
  RunAll();
  EXPECT_EQ(ran_, (std::vector<Ran>{{"kept", 10}, {"also_kept", 30}}));
  EXPECT_EQ(world_.events_run(), 2u);
}

TEST_F(WorldTest, CancelReturnsFalseForRunCancelledAndUnknownEvents) {
  const EventId ran = Schedule(10, "ran");
  const EventId cancelled = Schedule(20, "cancelled");
  ASSERT_TRUE(world_.Step());
  EXPECT_FALSE(world_.Cancel(ran));
  EXPECT_TRUE(world_.Cancel(cancelled));
  EXPECT_FALSE(world_.Cancel(cancelled));
  EXPECT_FALSE(world_.Cancel(987654));
}

TEST_F(WorldTest, EventCanCancelALaterEvent) {
  EventId victim = 0;
  world_.At(10, EventOwner{}, "test", 0,
            [this, &victim] { EXPECT_TRUE(world_.Cancel(victim)); });
  victim = Schedule(10, "victim");
  RunAll();
  EXPECT_TRUE(ran_.empty());
}

TEST_F(WorldTest, RunUntilRunsEventsUpToAndIncludingTheBound) {
  Schedule(10, "a");
  Schedule(20, "b");
  Schedule(21, "c");
  world_.RunUntil(20);
  EXPECT_EQ(ran_, (std::vector<Ran>{{"a", 10}, {"b", 20}}));
  EXPECT_EQ(world_.now_ns(), 20);
  world_.RunUntil(100);
  EXPECT_EQ(ran_.back(), (Ran{"c", 21}));
  EXPECT_EQ(world_.now_ns(), 100);
}

TEST_F(WorldTest, RunUntilAdvancesTimeWithNothingQueuedAndNeverGoesBack) {
  world_.RunUntil(500);
  EXPECT_EQ(world_.now_ns(), 500);
  world_.RunUntil(200);
  EXPECT_EQ(world_.now_ns(), 500);
}

TEST_F(WorldTest, GateAdmitsOwnedEventsAndBracketsThem) {
  ScriptedGate gate([](const EventOwner&, int64_t now_ns) { return now_ns; });
  world_.set_gate(&gate);
  Schedule(10, "owned", EventOwner{3, 1});
  Schedule(20, "world");
  RunAll();
  EXPECT_EQ(ran_, (std::vector<Ran>{{"owned", 10}, {"world", 20}}));
  // World events do not go through the gate.
  EXPECT_EQ(gate.admit_calls, 1);
  EXPECT_EQ(gate.log, (std::vector<std::string>{"begin 3", "end 3"}));
}

TEST_F(WorldTest, GateDropsOwnedEvents) {
  ScriptedGate gate(
      [](const EventOwner& owner, int64_t now_ns) -> std::optional<int64_t> {
        if (owner.process == 1) return std::nullopt;
        return now_ns;
      });
  world_.set_gate(&gate);
  Schedule(10, "to_dropped_process", EventOwner{1, 0});
  Schedule(10, "to_live_process", EventOwner{2, 0});
  RunAll();
  EXPECT_EQ(ran_, (std::vector<Ran>{{"to_live_process", 10}}));
  EXPECT_EQ(world_.events_run(), 1u);
  EXPECT_EQ(gate.log, (std::vector<std::string>{"begin 2", "end 2"}));
}

TEST_F(WorldTest, DeferredEventRunsLaterBehindEventsAlreadyQueuedForThatTime) {
  // Process 1 is held until 50, once.
  bool held = false;
  ScriptedGate gate([&held](const EventOwner& owner,
                            int64_t now_ns) -> std::optional<int64_t> {
    if (owner.process == 1 && !held) {
      held = true;
      return 50;
    }
    return now_ns;
  });
  world_.set_gate(&gate);
  Schedule(50, "queued_first");
  Schedule(10, "deferred", EventOwner{1, 0});
  Schedule(30, "in_between");
  RunAll();
  EXPECT_EQ(ran_,
            (std::vector<Ran>{
                {"in_between", 30}, {"queued_first", 50}, {"deferred", 50}}));
  EXPECT_EQ(gate.admit_calls, 2);
  EXPECT_EQ(world_.events_run(), 3u);
}

// A process's events run in the order they were scheduled even when one is
// held back: a task posted at 10 and held until 50 still runs before a task
// the process scheduled for 50 afterwards.
TEST_F(WorldTest, HeldBackEventKeepsItsPlaceInItsProcessOrder) {
  bool held = false;
  ScriptedGate gate(
      [&held](const EventOwner&, int64_t now_ns) -> std::optional<int64_t> {
        if (!held) {
          held = true;
          return 50;
        }
        return now_ns;
      });
  world_.set_gate(&gate);
  Schedule(10, "posted_first", EventOwner{1, 0});
  Schedule(50, "posted_second", EventOwner{1, 0});
  RunAll();
  EXPECT_EQ(ran_,
            (std::vector<Ran>{{"posted_first", 50}, {"posted_second", 50}}));
}

// Regression: a deferred event was requeued under a new id, so cancelling it
// by the id At() returned failed and the event ran anyway. (A held-back event
// keeps its place in the order too, so the cancel must come before 50.)
TEST_F(WorldTest, DeferredEventCanStillBeCancelled) {
  bool held = false;
  ScriptedGate gate(
      [&held](const EventOwner&, int64_t now_ns) -> std::optional<int64_t> {
        if (!held) {
          held = true;
          return 50;
        }
        return now_ns;
      });
  world_.set_gate(&gate);
  const EventId deferred = Schedule(10, "deferred", EventOwner{1, 0});
  bool cancelled = false;
  world_.At(40, EventOwner{}, "canceller", 0,
            [&] { cancelled = world_.Cancel(deferred); });
  RunAll();
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(ran_.empty());
}

// Regression: RunUntil looked only at the head of the queue; when the head was
// a cancelled event, Step() skipped it and ran the next one even past the
// bound.
TEST_F(WorldTest, RunUntilDoesNotRunPastTheBoundBehindACancelledEvent) {
  world_.Cancel(Schedule(10, "cancelled"));
  Schedule(100, "later");
  world_.RunUntil(50);
  EXPECT_TRUE(ran_.empty());
  EXPECT_EQ(world_.now_ns(), 50);
  world_.RunUntil(100);
  EXPECT_EQ(ran_, (std::vector<Ran>{{"later", 100}}));
}

TEST_F(WorldTest, RunUntilDoesNotRunPastTheBoundBehindADroppedOrDeferredEvent) {
  ScriptedGate gate(
      [](const EventOwner& owner, int64_t) -> std::optional<int64_t> {
        if (owner.process == 1) return std::nullopt;
        return 200;  // Process 2 is held until 200.
      });
  world_.set_gate(&gate);
  Schedule(10, "dropped", EventOwner{1, 0});
  Schedule(20, "deferred", EventOwner{2, 0});
  Schedule(100, "later");
  world_.RunUntil(50);
  EXPECT_TRUE(ran_.empty());
  EXPECT_EQ(world_.now_ns(), 50);
}

// Runs a small scenario in which events draw random numbers and schedule
// more events from what they drew; returns the digest.
uint64_t ScenarioDigest(uint64_t seed, bool extra_draw) {
  World world(seed);
  std::unique_ptr<Random> random = world.NewRandom("scenario");
  std::function<void(int)> chain = [&](int left) {
    const int64_t delay = 1 + static_cast<int64_t>(random->Uniform(1000));
    if (left > 0) {
      world.At(world.now_ns() + delay, EventOwner{}, "chain",
               static_cast<uint64_t>(left),
               [&chain, left] { chain(left - 1); });
    }
  };
  world.At(0, EventOwner{}, "start", 0, [&] { chain(20); });
  world.At(300, EventOwner{}, "side", 7, [&] {
    if (extra_draw) random->Next64();
  });
  while (world.Step()) {
  }
  return world.digest();
}

TEST(WorldDigestTest, SameSeedAndScheduleGiveTheSameDigest) {
  EXPECT_EQ(ScenarioDigest(7, false), ScenarioDigest(7, false));
}

TEST(WorldDigestTest, DifferentSeedGivesADifferentDigest) {
  EXPECT_NE(ScenarioDigest(7, false), ScenarioDigest(8, false));
}

TEST(WorldDigestTest, AnExtraRandomDrawChangesTheDigest) {
  EXPECT_NE(ScenarioDigest(7, false), ScenarioDigest(7, true));
}

TEST(WorldDigestTest, EventKindDetailTimeAndOwnerAllChangeTheDigest) {
  struct Variant {
    int64_t time_ns;
    const char* kind;
    int process;
    uint64_t detail;
  };
  auto digest = [](const Variant& v) {
    World world(1);
    ScriptedGate gate([](const EventOwner&, int64_t now_ns) { return now_ns; });
    world.set_gate(&gate);
    world.At(v.time_ns, EventOwner{v.process, 0}, v.kind, v.detail, [] {});
    EXPECT_TRUE(world.Step());
    return world.digest();
  };
  const uint64_t base = digest({10, "a", EventOwner::kWorld, 1});
  EXPECT_NE(base, digest({11, "a", EventOwner::kWorld, 1}));
  EXPECT_NE(base, digest({10, "b", EventOwner::kWorld, 1}));
  EXPECT_NE(base, digest({10, "a", 0, 1}));
  EXPECT_NE(base, digest({10, "a", EventOwner::kWorld, 2}));
}

TEST(WorldDigestTest, CancelledAndDroppedEventsLeaveTheDigestAlone) {
  World plain(3);
  plain.At(10, EventOwner{}, "a", 1, [] {});
  while (plain.Step()) {
  }

  World busy(3);
  ScriptedGate gate([](const EventOwner&, int64_t) -> std::optional<int64_t> {
    return std::nullopt;
  });
  busy.set_gate(&gate);
  busy.At(10, EventOwner{}, "a", 1, [] {});
  busy.Cancel(busy.At(5, EventOwner{}, "cancelled", 2, [] {}));
  busy.At(7, EventOwner{0, 0}, "dropped", 3, [] {});
  while (busy.Step()) {
  }
  EXPECT_EQ(plain.digest(), busy.digest());
}

std::vector<uint64_t> Draw(Random& random, int n) {
  std::vector<uint64_t> values;
  for (int i = 0; i < n; ++i) values.push_back(random.Next64());
  return values;
}

TEST(WorldRandomTest, StreamsForDifferentNamesAndIndexesDiffer) {
  World world(5);
  const std::vector<uint64_t> net = Draw(*world.NewRandom("network"), 4);
  const std::vector<uint64_t> disk0 = Draw(*world.NewRandom("disk", 0), 4);
  const std::vector<uint64_t> disk1 = Draw(*world.NewRandom("disk", 1), 4);
  EXPECT_NE(net, disk0);
  EXPECT_NE(disk0, disk1);
  EXPECT_NE(net, disk1);
}

TEST(WorldRandomTest, StreamDependsOnTheSeed) {
  World a(5);
  World b(6);
  EXPECT_NE(Draw(*a.NewRandom("network"), 4), Draw(*b.NewRandom("network"), 4));
}

TEST(WorldRandomTest, StreamDoesNotDependOnOtherStreams) {
  World alone(5);
  const std::vector<uint64_t> expected = Draw(*alone.NewRandom("disk", 2), 8);

  World crowded(5);
  std::unique_ptr<Random> other = crowded.NewRandom("network");
  Draw(*other, 3);
  std::unique_ptr<Random> sibling = crowded.NewRandom("disk", 1);
  std::unique_ptr<Random> disk = crowded.NewRandom("disk", 2);
  // Interleave draws from the others with the stream under test.
  std::vector<uint64_t> got;
  for (int i = 0; i < 8; ++i) {
    sibling->Next64();
    got.push_back(disk->Next64());
    other->Next64();
  }
  EXPECT_EQ(got, expected);
}

class WorldTraceTest : public testing::Test {
 protected:
  // Three events: world, process 2, world; details 100, 200, 300.
  static std::vector<TraceRecord> Run(uint64_t seed, uint64_t second_detail,
                                      int events = 3) {
    World world(seed);
    ScriptedGate gate([](const EventOwner&, int64_t now_ns) { return now_ns; });
    world.set_gate(&gate);
    world.EnableTrace();
    const uint64_t details[] = {100, second_detail, 300};
    const int processes[] = {EventOwner::kWorld, 2, EventOwner::kWorld};
    for (int i = 0; i < events; ++i) {
      world.At(10 * (i + 1), EventOwner{processes[i], 0}, "step", details[i],
               [] {});
    }
    while (world.Step()) {
    }
    if (!world.trace().empty()) {
      EXPECT_EQ(world.trace().back().digest, world.digest());
    }
    return world.trace();
  }
};

TEST_F(WorldTraceTest, RecordsOneRecordPerEventRun) {
  const std::vector<TraceRecord> trace = Run(1, 200);
  ASSERT_EQ(trace.size(), 3u);
  EXPECT_EQ(trace[0].index, 1u);
  EXPECT_EQ(trace[1].index, 2u);
  EXPECT_EQ(trace[2].index, 3u);
  EXPECT_EQ(trace[1].time_ns, 20);
  EXPECT_STREQ(trace[1].kind, "step");
  EXPECT_EQ(trace[1].process, 2);
  EXPECT_EQ(trace[1].detail, 200u);
  EXPECT_NE(trace[0].digest, trace[1].digest);
}

TEST_F(WorldTraceTest, RecordsNothingUntilEnabled) {
  World world(1);
  world.At(1, EventOwner{}, "before", 0, [] {});
  ASSERT_TRUE(world.Step());
  world.EnableTrace();
  world.At(2, EventOwner{}, "after", 0, [] {});
  ASSERT_TRUE(world.Step());
  ASSERT_EQ(world.trace().size(), 1u);
  EXPECT_STREQ(world.trace()[0].kind, "after");
  EXPECT_EQ(world.trace()[0].index, 2u);
}

TEST_F(WorldTraceTest, EqualTracesHaveNoDivergence) {
  EXPECT_EQ(FirstDivergence(Run(1, 200), Run(1, 200)), std::nullopt);
  EXPECT_EQ(FirstDivergence({}, {}), std::nullopt);
}

TEST_F(WorldTraceTest, FirstDivergenceFindsTheFirstDifferingRecord) {
  EXPECT_EQ(FirstDivergence(Run(1, 200), Run(1, 201)), 1u);
}

TEST_F(WorldTraceTest, FirstDivergenceReportsALengthDifference) {
  const std::vector<TraceRecord> full = Run(1, 200);
  const std::vector<TraceRecord> shorter = Run(1, 200, 2);
  EXPECT_EQ(FirstDivergence(full, shorter), 2u);
  EXPECT_EQ(FirstDivergence(shorter, full), 2u);
  EXPECT_EQ(FirstDivergence({}, full), 0u);
}

TEST_F(WorldTraceTest, FirstDivergenceCatchesARandomDrawThroughTheDigest) {
  auto run = [](bool extra_draw) {
    World world(1);
    world.EnableTrace();
    std::unique_ptr<Random> random = world.NewRandom("test");
    world.At(10, EventOwner{}, "draws", 0, [&] {
      if (extra_draw) random->Next64();
    });
    world.At(20, EventOwner{}, "after", 0, [] {});
    while (world.Step()) {
    }
    return world.trace();
  };
  // The draw happens while event 0 runs, after its record was taken.
  EXPECT_EQ(FirstDivergence(run(false), run(true)), 1u);
}

TEST_F(WorldTraceTest, DescriptionNamesTheEventAndItsProcess) {
  const std::vector<TraceRecord> trace = Run(1, 200);
  const std::string world_event = DescribeTraceRecord(trace[0]);
  const std::string owned_event = DescribeTraceRecord(trace[1]);
  EXPECT_NE(world_event.find("event #1"), std::string::npos) << world_event;
  EXPECT_NE(world_event.find("step on world"), std::string::npos)
      << world_event;
  EXPECT_NE(owned_event.find("step on process 2"), std::string::npos)
      << owned_event;
}

}  // namespace
}  // namespace pegasus::sim
