// Congestion control behind one interface, chosen per connection (TCP_CONGESTION):
// NewReno (RFC 5681 with RFC 6582's recovery) and CUBIC (RFC 9438, the default as on
// Linux). Loss detection and recovery (which segment to send) live in the connection
// and its SACK scoreboard; an algorithm only answers "how large is cwnd".
//
// RFCs to read: RFC 5681 §3.1 (slow start, congestion avoidance, the RTO response),
// §3.2 (fast retransmit/recovery, ssthresh = max(FlightSize/2, 2*SMSS)), RFC 3465
// (byte counting, L = 2*SMSS), RFC 6928 (IW10), RFC 9438 (CUBIC), RFC 7661 §4 (no
// growth while the application leaves the window unused).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "stack/base/clock.h"

namespace pytcp {

struct TcpAckSample {
  uint32_t acked_bytes = 0;   // newly acknowledged (cumulatively or by SACK)
  uint32_t pipe = 0;          // bytes in flight before this ACK
  Duration rtt{0};            // a fresh RTT sample, or 0
  Duration min_rtt{0};
  Duration srtt{0};
  bool cwnd_limited = true;   // the sender had cwnd's worth in flight (RFC 7661)
  Instant now;
};

class TcpCongestionControl {
 public:
  virtual ~TcpCongestionControl() = default;
  virtual std::string_view name() const = 0;

  // The sender's MSS became known or changed; the initial window follows RFC 6928.
  virtual void Init(uint32_t smss, uint32_t initial_segments);
  // An ACK of new data outside fast recovery (slow start or congestion avoidance).
  virtual void OnAck(const TcpAckSample& s) = 0;
  // Fast retransmit: the congestion event of RFC 5681 §3.2 step 2 / RFC 9438 §4.6.
  virtual void OnCongestionEvent(uint32_t flight, Instant now) = 0;
  // Fast recovery ended (RFC 6582 §3.2 step 6): deflate to ssthresh.
  virtual void OnRecoveryExit(Instant now);
  // RFC 5681 §3.1 equation (4) and "LW = 1 SMSS" after a retransmission timeout.
  virtual void OnRetransmitTimeout(uint32_t flight, Instant now) = 0;

  uint32_t cwnd() const { return cwnd_; }
  uint32_t ssthresh() const { return ssthresh_; }
  uint32_t smss() const { return smss_; }
  bool in_slow_start() const { return cwnd_ < ssthresh_; }

 protected:
  // RFC 3465 §2.2: slow start grows by the bytes acknowledged, at most L = 2*SMSS per ACK.
  void SlowStart(uint32_t acked);

  uint32_t smss_ = 536;
  uint32_t cwnd_ = 4 * 536;
  uint32_t ssthresh_ = 0x7fffffff;  // RFC 5681 §3.1: "arbitrarily high"
};

class TcpNewReno final : public TcpCongestionControl {
 public:
  std::string_view name() const override { return "reno"; }
  void OnAck(const TcpAckSample& s) override;
  void OnCongestionEvent(uint32_t flight, Instant now) override;
  void OnRetransmitTimeout(uint32_t flight, Instant now) override;

 private:
  uint32_t bytes_acked_ = 0;  // RFC 5681 §3.1 byte counting in congestion avoidance
};

class TcpCubic final : public TcpCongestionControl {
 public:
  std::string_view name() const override { return "cubic"; }
  void OnAck(const TcpAckSample& s) override;
  void OnCongestionEvent(uint32_t flight, Instant now) override;
  void OnRetransmitTimeout(uint32_t flight, Instant now) override;

 private:
  void Reduce(uint32_t flight);

  // RFC 9438 §4: windows in segments (as doubles), time in seconds.
  double w_max_ = 0;        // window before the last reduction
  double w_last_max_ = 0;   // §4.7 fast convergence
  double k_ = 0;
  double w_est_ = 0;        // §4.3 the Reno-friendly estimate
  double cwnd_seg_ = 0;     // fractional cwnd in segments, carried between ACKs
  bool epoch_valid_ = false;
  Instant epoch_start_;
};

// "reno" or "cubic"; nullptr for other names.
std::unique_ptr<TcpCongestionControl> MakeTcpCongestionControl(std::string_view name);
bool IsKnownTcpCongestionControl(std::string_view name);

}  // namespace pytcp
