#include "stack/base/clock.h"

#include <ctime>

namespace pytcp {

Instant RealClock::Now() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return Instant::FromNanos(int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec);
}

RealClock& RealClock::Instance() {
  static RealClock clock;
  return clock;
}

}  // namespace pytcp
