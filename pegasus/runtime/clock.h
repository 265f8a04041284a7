// The clock seam. Code in pegasus/ never reads time any other way, so the
// simulator can drive it with virtual time.
//
// Thread-safety: implementations are safe to call from any thread.

#ifndef PEGASUS_RUNTIME_CLOCK_H_
#define PEGASUS_RUNTIME_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace pegasus {

class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic time in nanoseconds from an arbitrary origin: for timeouts and
  // intervals.
  virtual int64_t MonotonicNowNs() = 0;

  // Wall time in microseconds since the Unix epoch: for data (TTL expiry,
  // timetags), never for timeouts.
  virtual int64_t WallNowUs() = 0;
};

// The process's real clocks (steady_clock, system_clock). Never destroyed.
Clock* RealClock();

// A clock that moves only when told to: for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t wall_now_us = 0, int64_t monotonic_now_ns = 0)
      : wall_now_us_(wall_now_us), monotonic_now_ns_(monotonic_now_ns) {}

  int64_t MonotonicNowNs() override { return monotonic_now_ns_.load(); }
  int64_t WallNowUs() override { return wall_now_us_.load(); }

  void SetWallNowUs(int64_t now_us) { wall_now_us_.store(now_us); }
  // Advances both clocks by `delta_us` microseconds.
  void AdvanceUs(int64_t delta_us) {
    wall_now_us_.fetch_add(delta_us);
    monotonic_now_ns_.fetch_add(delta_us * 1000);
  }

 private:
  std::atomic<int64_t> wall_now_us_;
  std::atomic<int64_t> monotonic_now_ns_;
};

}  // namespace pegasus

#endif  // PEGASUS_RUNTIME_CLOCK_H_
