// A token bucket on the stack's timeline, for rate limits such as ICMP error generation
// (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)) and TCP challenge ACKs (RFC 5961 §7).
#pragma once

#include <algorithm>
#include <cstdint>

#include "stack/base/clock.h"

namespace pytcp {

class TokenBucket {
 public:
  // `rate` tokens per second, at most `burst` saved up. Starts full.
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  // Takes one token if there is one.
  bool TryTake(Instant now) {
    Refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }
  void set_rate(double rate, double burst) {
    rate_ = rate;
    burst_ = burst;
    tokens_ = std::min(tokens_, burst_);
  }

 private:
  void Refill(Instant now) {
    if (!started_) {
      started_ = true;
      last_ = now;
      return;
    }
    const double elapsed = static_cast<double>((now - last_).count()) / 1e9;
    if (elapsed > 0) {
      tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
      last_ = now;
    }
  }

  double rate_;
  double burst_;
  double tokens_;
  bool started_ = false;
  Instant last_;
};

}  // namespace pytcp
