// The simulated world: virtual time, one event queue ordered by (time,
// sequence number), one seed. Everything that happens in a simulated run is
// an event popped from this queue on one thread, so a seed and a binary give
// the same run, event for event.
//
// A running digest folds in every event that runs (its time, kind, owner and
// a detail such as a message's hash) and every random draw made through the
// world's generators; two runs agree exactly when their digests do. With
// tracing on, the world also keeps one record per event so that two runs can
// be compared event by event (see FirstDivergence).

#ifndef PEGASUS_TESTING_SIM_WORLD_H_
#define PEGASUS_TESTING_SIM_WORLD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "pegasus/base/random.h"

namespace pegasus::sim {

using EventId = uint64_t;

// Who an event belongs to, so the world can hold it back while its process is
// paused or busy, or drop it when the process it was meant for has crashed.
struct EventOwner {
  static constexpr int kWorld = -1;
  static constexpr uint64_t kAnyIncarnation = 0;

  int process = kWorld;
  uint64_t incarnation = kAnyIncarnation;
  // Which of the process's strands runs it: 0 is the process's own, others
  // are the strands it handed out (SimProcess::Strand).
  int strand = 0;
};

// Decides, for an event owned by a process, whether it runs now.
class EventGate {
 public:
  virtual ~EventGate() = default;
  // Returns now_ns to run the event, a later time to hold it until then, or
  // nullopt to drop it.
  virtual std::optional<int64_t> Admit(const EventOwner& owner,
                                       int64_t now_ns) = 0;
  // Called before and after an admitted owned event runs.
  virtual void BeginEvent(const EventOwner& owner) = 0;
  virtual void EndEvent(const EventOwner& owner) = 0;
};

struct TraceRecord {
  uint64_t index = 0;
  int64_t time_ns = 0;
  const char* kind = "";
  int process = EventOwner::kWorld;
  uint64_t detail = 0;
  uint64_t digest = 0;  // After folding this event.
};

class World {
 public:
  explicit World(uint64_t seed);
  ~World();

  World(const World&) = delete;
  World& operator=(const World&) = delete;

  uint64_t seed() const { return seed_; }
  int64_t now_ns() const { return now_ns_; }
  uint64_t digest() const { return digest_; }
  uint64_t events_run() const { return events_run_; }

  void set_gate(EventGate* gate) { gate_ = gate; }

  // A generator for the named component, derived from the seed alone (so
  // adding a component leaves the others' draws unchanged). Every draw is
  // folded into the digest.
  std::unique_ptr<Random> NewRandom(std::string_view name, uint64_t index = 0);

  // Runs `task` at `time_ns` (not before now). `kind` must be a string
  // literal; `detail` goes into the digest.
  EventId At(int64_t time_ns, EventOwner owner, const char* kind,
             uint64_t detail, absl::AnyInvocable<void()> task);
  // Drops a pending event; false when it already ran or never existed.
  bool Cancel(EventId id);

  // Runs the next event due at or before `limit_ns`. Returns false when
  // there is none.
  bool Step(int64_t limit_ns = INT64_MAX);
  // Runs every event up to and including `time_ns`, then sets the time to it.
  void RunUntil(int64_t time_ns);

  // Folds a value into the digest (the world's generators call this).
  void Fold(uint64_t value);

  // Keeps a TraceRecord per event from now on.
  void EnableTrace() { tracing_ = true; }
  const std::vector<TraceRecord>& trace() const { return trace_; }

 private:
  struct Pending {
    int64_t time_ns;
    EventId seq;
    friend bool operator>(const Pending& a, const Pending& b) {
      return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.seq > b.seq;
    }
  };
  struct Body {
    EventOwner owner;
    const char* kind;
    uint64_t detail;
    absl::AnyInvocable<void()> task;
  };

  const uint64_t seed_;
  int64_t now_ns_ = 0;
  uint64_t digest_;
  uint64_t events_run_ = 0;
  EventId next_seq_ = 1;
  EventGate* gate_ = nullptr;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>>
      queue_;
  absl::flat_hash_map<EventId, Body> bodies_;
  bool tracing_ = false;
  std::vector<TraceRecord> trace_;
};

// A stable 64-bit hash of bytes, for digests.
uint64_t HashBytes(std::string_view bytes);

// The first record where two traces differ, or nullopt when they agree
// (including length). Compares time, kind, process, detail and digest; a
// record that differs in its digest alone means the runs drew different
// random numbers during an earlier event (usually the one before it).
std::optional<size_t> FirstDivergence(const std::vector<TraceRecord>& a,
                                      const std::vector<TraceRecord>& b);
std::string DescribeTraceRecord(const TraceRecord& record);

}  // namespace pegasus::sim

#endif  // PEGASUS_TESTING_SIM_WORLD_H_
