// CUBIC (RFC 9438): the window grows as a cubic function of the time since the last
// congestion event, centred on the window where it happened, with a Reno-friendly floor.
#include <algorithm>
#include <cmath>

#include "stack/tcp/tcp_congestion.h"

namespace pytcp {
namespace {
constexpr double kC = 0.4;            // RFC 9438 §5 C
constexpr double kBeta = 0.7;         // RFC 9438 §4.6 beta_cubic
// RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta).
constexpr double kAlpha = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);

double Seconds(Duration d) { return static_cast<double>(d.count()) / 1e9; }
}  // namespace

void TcpCubic::OnAck(const TcpAckSample& s) {
  if (!s.cwnd_limited) return;  // RFC 9438 §4.1 / RFC 7661: no growth when app-limited
  if (in_slow_start()) {
    SlowStart(s);
    return;
  }
  const double smss = smss_;
  // The fractional window carries sub-segment growth between ACKs, as long as nobody else
  // (slow start, recovery exit) has set cwnd since.
  double cwnd = static_cast<uint32_t>(cwnd_seg_ * smss) == cwnd_ ? cwnd_seg_
                                                                   : static_cast<double>(cwnd_) / smss;
  if (!epoch_valid_) {
    // §4.2: a new congestion-avoidance epoch starts at the first ACK after the event.
    epoch_valid_ = true;
    epoch_start_ = s.now;
    if (w_max_ < cwnd) {
      // No reduction before (or the window is already beyond it): start at the plateau.
      w_max_ = cwnd;
      k_ = 0;
    } else {
      k_ = std::cbrt((w_max_ - cwnd) / kC);  // §4.2 equation 2, with cwnd_epoch = cwnd
    }
    w_est_ = cwnd;
  }
  const double acked_seg = static_cast<double>(s.acked_bytes) / smss;
  // §4.3: the Reno-friendly estimate grows alpha_cubic segments per window acked (and by
  // one per window once it passed W_max).
  w_est_ += (w_est_ >= w_max_ ? 1.0 : kAlpha) * acked_seg / cwnd;
  // §4.2: the target is W_cubic(t + RTT), clamped to [cwnd, 1.5 * cwnd] (§4.4).
  const double t = Seconds(s.now - epoch_start_) + Seconds(s.srtt);
  const double w_cubic = kC * std::pow(t - k_, 3.0) + w_max_;
  double next;
  if (w_cubic < w_est_) {
    next = w_est_;  // §4.3 Reno-friendly region
  } else {
    const double target = std::clamp(w_cubic, cwnd, 1.5 * cwnd);
    // §4.4/§4.5: cwnd grows by (target - cwnd) / cwnd per acknowledged segment.
    next = cwnd + (target - cwnd) / cwnd * acked_seg;
  }
  cwnd_seg_ = next;
  cwnd_ = std::max<uint32_t>(static_cast<uint32_t>(next * smss), 2 * smss_);
}

void TcpCubic::OnTxStart(Duration idle, Instant now) {
  // RFC 9438 §5.8 / Linux's cubictcp_cwnd_event(CA_EVENT_TX_START): time spent idle
  // (application-limited) does not count as time on the cubic curve, or the first ACK
  // after a pause would jump the window to where the curve has run off to meanwhile.
  if (!epoch_valid_ || idle.count() <= 0) return;
  epoch_start_ = std::min(epoch_start_ + idle, now);
}

void TcpCubic::Reduce(uint32_t flight) {
  const double smss = smss_;
  const double cwnd = static_cast<double>(cwnd_) / smss;
  // §4.7 fast convergence: release bandwidth when the plateau keeps dropping.
  if (cwnd < w_last_max_) {
    w_last_max_ = cwnd;
    w_max_ = cwnd * (1.0 + kBeta) / 2.0;
  } else {
    w_last_max_ = cwnd;
    w_max_ = cwnd;
  }
  // §4.6: ssthresh = flight_size * beta_cubic (at least 2 segments, RFC 5681).
  const double reduced = std::max(static_cast<double>(flight) / smss, 1.0) * kBeta;
  ssthresh_ = std::max<uint32_t>(static_cast<uint32_t>(reduced * smss), 2 * smss_);
  epoch_valid_ = false;
  StopHystart();
}

void TcpCubic::OnCongestionEvent(uint32_t flight, Instant) {
  Reduce(flight);
  cwnd_ = ssthresh_;
  cwnd_seg_ = static_cast<double>(cwnd_) / smss_;
}

void TcpCubic::OnRetransmitTimeout(uint32_t flight, Instant) {
  // §4.8: on RTO, reduce as for a congestion event and restart from one segment in slow
  // start; the cubic epoch restarts when congestion avoidance resumes.
  Reduce(flight);
  cwnd_ = smss_;
  cwnd_seg_ = 1.0;
}

}  // namespace pytcp
