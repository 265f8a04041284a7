#include <chrono>

#include "pegasus/runtime/clock.h"

namespace pegasus {
namespace {

class SystemClock final : public Clock {
 public:
  int64_t MonotonicNowNs() override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  int64_t WallNowUs() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

Clock* RealClock() {
  static Clock* clock = new SystemClock();
  return clock;
}

}  // namespace pegasus
