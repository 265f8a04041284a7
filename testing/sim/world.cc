#include "testing/sim/world.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "pegasus/base/check.h"
#include "pegasus/base/crc64.h"

namespace pegasus::sim {
namespace {

// A generator whose every draw goes into the world's digest.
class TracedRandom final : public Random {
 public:
  TracedRandom(World* world, uint64_t seed) : world_(world), random_(seed) {}
  uint64_t Next64() override {
    const uint64_t x = random_.Next64();
    world_->Fold(x);
    return x;
  }

 private:
  World* world_;
  SeededRandom random_;
};

uint64_t HashKind(const char* kind) {
  return HashBytes(std::string_view(kind, std::strlen(kind)));
}

}  // namespace

uint64_t HashBytes(std::string_view bytes) { return Crc64(bytes); }

World::World(uint64_t seed) : seed_(seed), digest_(MixBits(seed)) {}

World::~World() = default;

std::unique_ptr<Random> World::NewRandom(std::string_view name,
                                         uint64_t index) {
  return std::make_unique<TracedRandom>(this, DeriveSeed(seed_, name, index));
}

void World::Fold(uint64_t value) {
  digest_ = MixBits(digest_ ^ MixBits(value + 0x9e3779b97f4a7c15ULL));
}

EventId World::At(int64_t time_ns, EventOwner owner, const char* kind,
                  uint64_t detail, absl::AnyInvocable<void()> task) {
  const EventId seq = next_seq_++;
  const int64_t when = time_ns < now_ns_ ? now_ns_ : time_ns;
  queue_.push(Pending{when, seq});
  bodies_.emplace(seq, Body{owner, kind, detail, std::move(task)});
  return seq;
}

bool World::Cancel(EventId id) { return bodies_.erase(id) > 0; }

bool World::Step(int64_t limit_ns) {
  while (!queue_.empty() && queue_.top().time_ns <= limit_ns) {
    const Pending next = queue_.top();
    queue_.pop();
    auto it = bodies_.find(next.seq);
    if (it == bodies_.end()) continue;  // Cancelled.
    now_ns_ = next.time_ns;
    Body body = std::move(it->second);
    bodies_.erase(it);
    const bool owned = body.owner.process != EventOwner::kWorld;
    if (owned) {
      PEGASUS_CHECK(gate_ != nullptr) << "an owned event needs a gate";
      std::optional<int64_t> admit = gate_->Admit(body.owner, now_ns_);
      if (!admit.has_value()) continue;
      if (*admit > now_ns_) {
        // Held back. It keeps its sequence number (and id, for Cancel), so
        // a process's events still run in the order they were scheduled.
        queue_.push(Pending{*admit, next.seq});
        bodies_.emplace(next.seq, std::move(body));
        continue;
      }
    }
    ++events_run_;
    Fold(static_cast<uint64_t>(now_ns_));
    Fold(HashKind(body.kind));
    Fold(static_cast<uint64_t>(body.owner.process + 1));
    Fold(body.detail);
    if (tracing_) {
      trace_.push_back(TraceRecord{events_run_, now_ns_, body.kind,
                                   body.owner.process, body.detail, digest_});
    }
    if (owned) gate_->BeginEvent(body.owner);
    body.task();
    if (owned) gate_->EndEvent(body.owner);
    return true;
  }
  return false;
}

void World::RunUntil(int64_t time_ns) {
  while (Step(time_ns)) {
  }
  if (now_ns_ < time_ns) now_ns_ = time_ns;
}

std::optional<size_t> FirstDivergence(const std::vector<TraceRecord>& a,
                                      const std::vector<TraceRecord>& b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i].time_ns != b[i].time_ns ||
        std::strcmp(a[i].kind, b[i].kind) != 0 ||
        a[i].process != b[i].process || a[i].detail != b[i].detail ||
        a[i].digest != b[i].digest) {
      return i;
    }
  }
  if (a.size() != b.size()) return n;
  return std::nullopt;
}

std::string DescribeTraceRecord(const TraceRecord& record) {
  return absl::StrFormat(
      "event #%d at %.9fs: %s on %s (detail %016x, digest %016x)", record.index,
      record.time_ns / 1e9, record.kind,
      record.process == EventOwner::kWorld
          ? std::string("world")
          : "process " + std::to_string(record.process),
      record.detail, record.digest);
}

}  // namespace pegasus::sim
