// Congestion control behind one interface, chosen per connection (TCP_CONGESTION):
// NewReno (RFC 5681 with RFC 6582's recovery) and CUBIC (RFC 9438, the default as on
// Linux). Loss detection and recovery (which segment to send) live in the connection
// and its SACK scoreboard; an algorithm only answers "how large is cwnd".
//
// RFCs to read: RFC 5681 §3.1 (slow start, congestion avoidance, the RTO response),
// §3.2 (fast retransmit/recovery, ssthresh = max(FlightSize/2, 2*SMSS)), RFC 3465
// (byte counting, L = 2*SMSS), RFC 6928 (IW10), RFC 9438 (CUBIC), RFC 7661 §4 (no
// growth while the application leaves the window unused), RFC 9406 (HyStart++: leave
// slow start when the RTT starts to grow, before the queue overflows).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string_view>

#include "stack/base/clock.h"
#include "stack/net/seq_num.h"

namespace pytcp {

struct TcpAckSample {
  uint32_t acked_bytes = 0;   // newly acknowledged (cumulatively or by SACK)
  uint32_t pipe = 0;          // bytes in flight before this ACK
  Duration rtt{0};            // an RTT sample from this ACK (timestamps), or 0
  SeqNum ack;                 // SEG.ACK
  SeqNum snd_nxt;             // the highest sequence sent (RFC 9406 round tracking)
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
  void set_hystart(bool on) { hystart_ = on; }
  // An ACK of new data outside fast recovery (slow start or congestion avoidance).
  virtual void OnAck(const TcpAckSample& s) = 0;
  // Fast retransmit: the congestion event of RFC 5681 §3.2 step 2 / RFC 9438 §4.6.
  virtual void OnCongestionEvent(uint32_t flight, Instant now) = 0;
  // Fast recovery ended (RFC 6582 §3.2 step 6): deflate to ssthresh.
  virtual void OnRecoveryExit(Instant now);
  // RFC 5681 §3.1 equation (4) and "LW = 1 SMSS" after a retransmission timeout.
  virtual void OnRetransmitTimeout(uint32_t flight, Instant now) = 0;

  // Linux's tcp_cwnd_restart (tcp_slow_start_after_idle): after `idle` without sending,
  // ssthresh keeps three quarters of cwnd and cwnd is halved once per RTO of idleness,
  // down to `restart` (the initial window or cwnd, whichever is smaller).
  void RestartAfterIdle(uint32_t restart, Duration idle, Duration rto) {
    ssthresh_ = std::max(ssthresh_, cwnd_ / 2 + cwnd_ / 4);
    restart = std::min(restart, cwnd_);
    uint32_t cwnd = cwnd_;
    for (Duration d = idle - rto; d.count() > 0 && cwnd > restart; d -= rto) cwnd >>= 1;
    cwnd_ = std::max(cwnd, restart);
  }
  // The segment size changed (a smaller path MTU): cwnd and ssthresh keep their count of
  // segments.
  void SetSmss(uint32_t smss) {
    smss = std::max<uint32_t>(smss, 1);
    cwnd_ = static_cast<uint32_t>(uint64_t{cwnd_} * smss / smss_);
    if (ssthresh_ < 0x7fffffff) {
      ssthresh_ = static_cast<uint32_t>(uint64_t{ssthresh_} * smss / smss_);
    }
    smss_ = smss;
  }
  // Sending starts again with nothing in flight after `idle` (Linux's CA_EVENT_TX_START).
  virtual void OnTxStart(Duration idle, Instant now) {
    (void)idle;
    (void)now;
  }

  // RFC 4015 §3.2: a spurious congestion response is undone, back to the window before.
  virtual void Undo(uint32_t prior_cwnd, uint32_t prior_ssthresh) {
    cwnd_ = std::max(cwnd_, prior_cwnd);
    ssthresh_ = std::max(ssthresh_, prior_ssthresh);
  }

  uint32_t cwnd() const { return cwnd_; }
  // The connection's own reductions set the window directly: PRR during fast recovery
  // (RFC 6937, as Linux's tcp_cwnd_reduction sets snd_cwnd), a restart after idle.
  void set_cwnd(uint32_t bytes) { cwnd_ = bytes; }
  uint32_t ssthresh() const { return ssthresh_; }
  uint32_t smss() const { return smss_; }
  bool in_slow_start() const { return cwnd_ < ssthresh_; }

 protected:
  // RFC 3465 §2.2: slow start grows by the bytes acknowledged, at most L = 2*SMSS per
  // ACK; RFC 9406 HyStart++ may end it early (ssthresh = cwnd) when the RTT grows.
  void SlowStart(const TcpAckSample& s);
  // A congestion event ends HyStart++ for good (it only runs in the initial slow start).
  void StopHystart() { hystart_ = false; }

  uint32_t smss_ = 536;
  uint32_t cwnd_ = 4 * 536;
  uint32_t ssthresh_ = 0x7fffffff;  // RFC 5681 §3.1: "arbitrarily high"

 private:
  // RFC 9406 §4.2 state.
  bool hystart_ = true;
  bool round_started_ = false;
  SeqNum window_end_;
  Duration last_round_min_rtt_ = Duration::max();
  Duration current_round_min_rtt_ = Duration::max();
  int rtt_samples_ = 0;
  bool in_css_ = false;
  Duration css_baseline_min_rtt_ = Duration::max();
  int css_rounds_ = 0;
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
  void OnTxStart(Duration idle, Instant now) override;

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
