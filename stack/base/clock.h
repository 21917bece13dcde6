// Time as the protocols see it: an Instant on a monotonic timeline and Durations
// between Instants. Protocol code never reads a clock; it is handed `now` (DESIGN.md
// "Runtime model"), which is what lets tests run on a VirtualClock.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>

namespace pytcp {

using Duration = std::chrono::nanoseconds;
using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;
using std::chrono_literals::operator""us;
using std::chrono_literals::operator""ns;

// A point on the stack's monotonic timeline, in nanoseconds from an arbitrary origin.
class Instant {
 public:
  constexpr Instant() = default;
  static constexpr Instant FromNanos(int64_t ns) { return Instant(ns); }
  // A deadline that never arrives: the "no timer armed" value of poll_at style APIs.
  static constexpr Instant Infinite() { return Instant(std::numeric_limits<int64_t>::max()); }

  constexpr int64_t nanos() const { return ns_; }
  constexpr bool is_infinite() const { return ns_ == std::numeric_limits<int64_t>::max(); }

  constexpr Instant operator+(Duration d) const {
    if (is_infinite()) return *this;
    return Instant(ns_ + d.count());
  }
  constexpr Instant operator-(Duration d) const { return Instant(ns_ - d.count()); }
  constexpr Duration operator-(Instant o) const { return Duration(ns_ - o.ns_); }
  constexpr Instant& operator+=(Duration d) { return *this = *this + d; }
  constexpr auto operator<=>(const Instant&) const = default;

 private:
  constexpr explicit Instant(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

constexpr Instant EarliestOf(Instant a, Instant b) { return a < b ? a : b; }

// Where `now` comes from.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant Now() const = 0;
};

// CLOCK_MONOTONIC.
class RealClock final : public Clock {
 public:
  Instant Now() const override;
  static RealClock& Instance();
};

// A clock that only moves when told to: deterministic tests advance it explicitly.
class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(Instant start = Instant::FromNanos(1'000'000'000)) : now_(start) {}
  Instant Now() const override { return now_; }
  void Advance(Duration d) { now_ += d; }
  void AdvanceTo(Instant t) {
    if (t > now_) now_ = t;
  }

 private:
  Instant now_;
};

}  // namespace pytcp
