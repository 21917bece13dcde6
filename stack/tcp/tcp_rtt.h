// The retransmission timeout (RFC 6298): SRTT and RTTVAR from round-trip samples, the RTO
// with its bounds, and exponential backoff.
//
// RFCs to read: RFC 6298 §2 (the computation), §3 (Karn's rule: no samples from
// retransmitted segments — the connection enforces it by timing one never-retransmitted
// segment at a time), §5 (timer management and backoff), RFC 7323 §4 (timestamps).
#pragma once

#include <algorithm>
#include <cstdint>

#include "stack/base/clock.h"

namespace pytcp {

class TcpRttEstimator {
 public:
  TcpRttEstimator(Duration initial, Duration min, Duration max)
      : min_(min), max_(max), base_(initial) {}

  // RFC 6298 §2.2 (first sample) and §2.3 (later samples, alpha 1/8, beta 1/4).
  void Sample(Duration r) {
    if (r.count() < 0) return;
    if (!has_sample_) {
      srtt_ = r;
      rttvar_ = r / 2;
      has_sample_ = true;
    } else {
      const Duration err = srtt_ > r ? srtt_ - r : r - srtt_;
      rttvar_ = (rttvar_ * 3 + err) / 4;
      srtt_ = (srtt_ * 7 + r) / 8;
    }
    min_rtt_ = min_rtt_.count() == 0 ? r : std::min(min_rtt_, r);
    // §2.3: RTO = SRTT + max(G, K*RTTVAR); the clock granularity G is 1 ms here.
    // §2.4/§2.5: bounded below and above.
    base_ = std::clamp(srtt_ + std::max<Duration>(std::chrono::milliseconds(1), rttvar_ * 4),
                       min_, max_);
  }

  // RFC 6298 §5.5: double the RTO ("back off the timer").
  void Backoff() {
    if (rto() < max_) ++backoff_;
  }
  // §5.7 keeps the backed-off value until a new sample; Linux (and we) drop the backoff
  // as soon as an ACK acknowledges new data.
  void ResetBackoff() { backoff_ = 0; }

  // The current timeout: the base RTO doubled once per backoff, at most the maximum.
  Duration rto() const {
    Duration r = base_;
    for (int i = 0; i < backoff_ && r < max_; ++i) r *= 2;
    return std::min(r, max_);
  }
  Duration base_rto() const { return base_; }
  Duration srtt() const { return srtt_; }
  Duration rttvar() const { return rttvar_; }
  Duration min_rtt() const { return min_rtt_; }
  bool has_sample() const { return has_sample_; }
  int backoff() const { return backoff_; }

 private:
  Duration min_;
  Duration max_;
  Duration base_;
  Duration srtt_{0};
  Duration rttvar_{0};
  Duration min_rtt_{0};
  bool has_sample_ = false;
  int backoff_ = 0;
};

}  // namespace pytcp
