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

void TcpCongestionControl::SlowStart(uint32_t acked) {
  cwnd_ += std::min(acked, 2 * smss_);
}

void TcpNewReno::OnAck(const TcpAckSample& s) {
  if (!s.cwnd_limited) return;  // RFC 7661 §4.3: no growth while application-limited
  if (in_slow_start()) {
    SlowStart(s.acked_bytes);
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
}

void TcpNewReno::OnRetransmitTimeout(uint32_t flight, Instant) {
  ssthresh_ = std::max(flight / 2, 2 * smss_);
  cwnd_ = smss_;  // RFC 5681 §3.1: loss window of one segment
  bytes_acked_ = 0;
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
