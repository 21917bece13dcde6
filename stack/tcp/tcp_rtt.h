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
    // §2.3: RTO = SRTT + max(G, K*RTTVAR), with Linux's reading of the lower bound
    // (tcp_set_rto: its RTTVAR term is never below tcp_rto_min): the 200 ms are added to
    // SRTT instead of bounding the sum. On a steady path RTTVAR decays to nothing, and a
    // floor of 200 ms would then fire spuriously on any path whose RTT plus the peer's
    // delayed ACK exceeds it (a 150 ms path with a 40 ms delayed ACK). §2.5: at most max.
    base_ = std::min(srtt_ + std::max<Duration>(rttvar_ * 4, min_), max_);
  }

  // RFC 6298 §5.7: the handshake gave no sample because the SYN (or SYN-ACK) was
  // retransmitted (Karn), so the RTO for data starts at 3 s rather than 1 s (Linux's
  // TCP_TIMEOUT_FALLBACK in tcp_init_metrics). The first sample replaces it.
  void Fallback(Duration rto) {
    if (!has_sample_) base_ = std::min(rto, max_);
  }

  // RFC 6298 §5.5: double the RTO ("back off the timer").
  void Backoff() {
    if (rto() < max_) ++backoff_;
  }
  // §5.7 keeps the backed-off value until a new sample (Linux's tcp_ack_update_rtt:
  // "only reset backoff on valid RTT measurement"); the connection calls this with each
  // sample, and when a handshake completes.
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
