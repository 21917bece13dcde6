#include "stack/tcp/tcp_congestion.h"

#include <algorithm>

namespace pytcp {

void TcpCongestionControl::Init(uint32_t smss, uint32_t initial_segments) {
  smss_ = std::max<uint32_t>(smss, 1);
  // RFC 6928 §2: IW = min(10*MSS, max(2*MSS, 14600)) for the default of ten segments;
  // Linux simply uses ten segments, which is what peers see from it.
  cwnd_ = initial_segments * smss_;
}

void TcpCongestionControl::OnRecoveryExit(Instant) { cwnd_ = std::max(ssthresh_, 2 * smss_); }

void TcpCongestionControl::SlowStart(const TcpAckSample& s) {
  const uint32_t growth = std::min(s.acked_bytes, 2 * smss_);
  if (!hystart_) {
    cwnd_ += growth;
    return;
  }
  // RFC 9406 §4.2: rounds end when the ACK passes the SND.NXT of the round's start.
  constexpr int kNRttSample = 8;
  constexpr int kCssGrowthDivisor = 4;
  constexpr int kCssRounds = 5;
  constexpr Duration kMinRttThresh = std::chrono::milliseconds(4);
  constexpr Duration kMaxRttThresh = std::chrono::milliseconds(16);
  if (!round_started_ || s.ack >= window_end_) {
    round_started_ = true;
    window_end_ = s.snd_nxt;
    last_round_min_rtt_ = current_round_min_rtt_;
    current_round_min_rtt_ = Duration::max();
    rtt_samples_ = 0;
    if (in_css_ && ++css_rounds_ >= kCssRounds) {
      // CSS lasted CSS_ROUNDS: on to congestion avoidance.
      ssthresh_ = cwnd_;
      in_css_ = false;
      hystart_ = false;
      return;
    }
  }
  if (s.rtt.count() > 0) {
    current_round_min_rtt_ = std::min(current_round_min_rtt_, s.rtt);
    ++rtt_samples_;
  }
  const bool measured = rtt_samples_ >= kNRttSample && current_round_min_rtt_ != Duration::max() &&
                        last_round_min_rtt_ != Duration::max();
  if (!in_css_) {
    cwnd_ += growth;
    if (measured) {
      const Duration thresh = std::clamp(last_round_min_rtt_ / 8, kMinRttThresh, kMaxRttThresh);
      if (current_round_min_rtt_ >= last_round_min_rtt_ + thresh) {
        // The queue is building: Conservative Slow Start.
        css_baseline_min_rtt_ = current_round_min_rtt_;
        in_css_ = true;
        css_rounds_ = 0;
      }
    }
  } else {
    cwnd_ += growth / kCssGrowthDivisor;
    // §4.2: an RTT back below the baseline means the increase was spurious.
    if (measured && current_round_min_rtt_ < css_baseline_min_rtt_) {
      in_css_ = false;
      css_baseline_min_rtt_ = Duration::max();
    }
  }
}

void TcpNewReno::OnAck(const TcpAckSample& s) {
  if (!s.cwnd_limited) return;  // RFC 7661 §4.3: no growth while application-limited
  if (in_slow_start()) {
    SlowStart(s);
    return;
  }
  // RFC 5681 §3.1 congestion avoidance with byte counting: one SMSS per cwnd acked.
  bytes_acked_ += s.acked_bytes;
  if (bytes_acked_ >= cwnd_) {
    bytes_acked_ -= cwnd_;
    cwnd_ += smss_;
  }
}

void TcpNewReno::OnCongestionEvent(uint32_t flight, Instant) {
  // RFC 5681 §3.2 step 2 (equation 4), and cwnd = ssthresh as RFC 6675 §5 does (the
  // scoreboard's pipe replaces RFC 5681's window inflation).
  ssthresh_ = std::max(flight / 2, 2 * smss_);
  cwnd_ = ssthresh_;
  bytes_acked_ = 0;
  StopHystart();
}

void TcpNewReno::OnRetransmitTimeout(uint32_t flight, Instant) {
  ssthresh_ = std::max(flight / 2, 2 * smss_);
  cwnd_ = smss_;  // RFC 5681 §3.1: loss window of one segment
  bytes_acked_ = 0;
  StopHystart();
}

std::unique_ptr<TcpCongestionControl> MakeTcpCongestionControl(std::string_view name) {
  if (name == "reno" || name == "newreno") return std::make_unique<TcpNewReno>();
  if (name == "cubic") return std::make_unique<TcpCubic>();
  return nullptr;
}

bool IsKnownTcpCongestionControl(std::string_view name) {
  return name == "reno" || name == "newreno" || name == "cubic";
}

}  // namespace pytcp
