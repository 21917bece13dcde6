// TCP_INFO: Linux's struct tcp_info (tcp_info.h) filled as tcp_get_info fills it, and the
// statistics behind it that the rest of the connection does not need (RFC 4898's
// counters, the delivery rate, the receiver's RTT estimate, the busy/limited times).
#include <algorithm>
#include <cstring>
#include <limits>

#include "stack/tcp/tcp_connection.h"

namespace pytcp {

void TcpConnection::SetChrono(Chrono c, Instant now) {
  // Linux's tcp_chrono_start/stop: the time of each state is summed; busy_time reports all
  // three sending states together, rwnd_limited and sndbuf_limited their own.
  if (c == chrono_) return;
  if (chrono_ != Chrono::kIdle) chrono_time_[static_cast<size_t>(chrono_)] += now - chrono_start_;
  chrono_ = c;
  chrono_start_ = now;
}

void TcpConnection::NoteDataIn(const TcpSegment& seg, Instant now) {
  ++data_segs_in_;
  // Linux's tcp_rcv_rtt_measure_ts: a full-sized segment echoing one of our timestamps
  // measures the round trip as the receiver sees it (RFC 7323 §4's echo), smoothed with
  // a gain of 1/8 as tcp_rcv_rtt_update does without a window dependency.
  if (!ts_ok_ || !seg.options.timestamps || seg.options.timestamps->echo_reply == 0) return;
  if (seg.payload().size() < rcv_mss_) return;
  const uint32_t ms = TsNow(now) - seg.options.timestamps->echo_reply;
  if (ms >= 60'000) return;
  const Duration sample = std::max<Duration>(std::chrono::milliseconds(ms), std::chrono::microseconds(1));
  rcv_rtt_ = rcv_rtt_.count() == 0 ? sample : rcv_rtt_ + (sample - rcv_rtt_) / 8;
}

void TcpConnection::NoteDelivered(uint32_t bytes, bool ce, Instant now) {
  if (bytes == 0) return;
  delivered_bytes_ += bytes;
  const uint32_t smss = std::max<uint32_t>(mss_cache(), 1);
  if (ce) delivered_ce_ += (bytes + smss - 1) / smss;
  // The delivery rate of the last interval of at least one SRTT (Linux's rate sample is
  // per ACK over the flight's delivery interval; this is its smoothed cousin).
  if (rate_start_ == Instant()) {
    rate_start_ = now;
    rate_start_bytes_ = delivered_bytes_ - bytes;
    return;
  }
  const Duration interval = now - rate_start_;
  if (interval >= std::max<Duration>(rtt_.srtt(), std::chrono::milliseconds(1))) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(interval).count();
    delivery_rate_ = (delivered_bytes_ - rate_start_bytes_) * 1'000'000 / static_cast<uint64_t>(us);
    rate_start_ = now;
    rate_start_bytes_ = delivered_bytes_;
  }
}

void TcpConnection::FillInfo(TcpInfo* info, Instant now) const {
  std::memset(info, 0, sizeof(*info));
  const auto us32 = [](Duration d) {
    return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  };
  const auto us64 = [](Duration d) {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  };
  const auto ms_since = [&](Instant t) {
    if (t == Instant() || t > now) return uint32_t{0};
    return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now - t).count());
  };
  const uint32_t smss = std::max<uint32_t>(mss_cache(), 1);
  info->tcpi_state = ToLinuxState(state_);
  switch (recovery_) {
    case Recovery::kOpen: info->tcpi_ca_state = dupacks_ > 0 ? 1 : 0; break;  // Open/Disorder
    case Recovery::kFast: info->tcpi_ca_state = 3; break;                    // Recovery
    case Recovery::kLoss: info->tcpi_ca_state = 4; break;                    // Loss
  }
  info->tcpi_retransmits = static_cast<uint8_t>(std::min(retransmits_, 255));
  info->tcpi_probes = static_cast<uint8_t>(std::min(std::max(keepalive_probes_, probes_out_), 255));
  info->tcpi_backoff = static_cast<uint8_t>(std::min(rtt_.backoff(), 255));
  info->tcpi_options = static_cast<uint8_t>((ts_ok_ ? kTcpiOptTimestamps : 0) |
                                            (sack_ok_ ? kTcpiOptSack : 0) |
                                            (ws_ok_ ? kTcpiOptWscale : 0) |
                                            (ecn_ok_ ? kTcpiOptEcn : 0));
  info->tcpi_snd_wscale = snd_wscale_ & 0xf;
  info->tcpi_rcv_wscale = rcv_wscale_ & 0xf;
  info->tcpi_rto = us32(rtt_.rto());
  info->tcpi_ato = us32(config_.delayed_ack);
  info->tcpi_snd_mss = mss_cache();
  info->tcpi_rcv_mss = rcv_mss_;
  const uint32_t flight = static_cast<uint32_t>(snd_nxt_ - snd_una_);
  info->tcpi_unacked = (flight + smss - 1) / smss;
  info->tcpi_sacked = (scoreboard_.sacked_bytes() + smss - 1) / smss;
  const SeqNum lost = LostPoint();
  info->tcpi_lost = (static_cast<uint32_t>(lost - snd_una_) + smss - 1) / smss;
  const SeqNum rtx = SeqMin(SeqMax(high_rxt_, snd_una_), snd_nxt_);
  info->tcpi_retrans = (static_cast<uint32_t>(rtx - snd_una_) + smss - 1) / smss;
  info->tcpi_last_data_sent = ms_since(last_data_sent_);
  info->tcpi_last_data_recv = ms_since(last_data_recv_);
  info->tcpi_last_ack_recv = ms_since(last_rx_);
  info->tcpi_pmtu = env_->PathMtu(tuple_.remote_ip);
  info->tcpi_rcv_ssthresh = WindowToAdvertise();
  info->tcpi_rtt = us32(rtt_.srtt());
  info->tcpi_rttvar = us32(rtt_.rttvar());
  info->tcpi_snd_ssthresh = cc_->ssthresh() >= 0x7fffffff ? 0x7fffffff : cc_->ssthresh() / smss;
  info->tcpi_snd_cwnd = cc_->cwnd() / smss;
  info->tcpi_advmss = static_cast<uint32_t>(adv_mss_) - (ts_ok_ ? 12u : 0u);
  info->tcpi_reordering = static_cast<uint32_t>(reordering_);
  info->tcpi_rcv_rtt = us32(rcv_rtt_);
  info->tcpi_rcv_space = static_cast<uint32_t>(recv_capacity());
  info->tcpi_total_retrans = total_retrans_;

  // Beyond glibc's 104 bytes (tcp_get_info after "info->tcpi_total_retrans").
  const uint64_t pacing = PacingRate();
  info->tcpi_pacing_rate = pacing != 0 ? pacing : std::numeric_limits<uint64_t>::max();
  info->tcpi_max_pacing_rate = std::numeric_limits<uint64_t>::max();  // SO_MAX_PACING_RATE unset
  info->tcpi_bytes_acked = bytes_acked_;
  info->tcpi_bytes_received = bytes_received_;
  info->tcpi_segs_out = segs_out_;
  info->tcpi_segs_in = segs_in_;
  info->tcpi_notsent_bytes = static_cast<uint32_t>(unsent());
  // Linux reports ~0U until the first sample.
  info->tcpi_min_rtt = rtt_.min_rtt().count() == 0 ? ~0u : us32(rtt_.min_rtt());
  info->tcpi_data_segs_in = data_segs_in_;
  info->tcpi_data_segs_out = data_segs_out_;
  info->tcpi_delivery_rate = delivery_rate_;
  std::array<Duration, 4> chrono = chrono_time_;
  if (chrono_ != Chrono::kIdle && state_ != TcpState::kClosed) chrono[static_cast<size_t>(chrono_)] += now - chrono_start_;
  const Duration busy = chrono[static_cast<size_t>(Chrono::kBusy)] +
                        chrono[static_cast<size_t>(Chrono::kRwndLimited)] +
                        chrono[static_cast<size_t>(Chrono::kSndbufLimited)];
  info->tcpi_busy_time = us64(busy);
  info->tcpi_rwnd_limited = us64(chrono[static_cast<size_t>(Chrono::kRwndLimited)]);
  info->tcpi_sndbuf_limited = us64(chrono[static_cast<size_t>(Chrono::kSndbufLimited)]);
  // Linux's delivered counts the SYN (it starts at 1 once connected); in segments.
  info->tcpi_delivered = static_cast<uint32_t>((delivered_bytes_ + smss - 1) / smss) +
                         (was_established_ ? 1u : 0u);
  info->tcpi_delivered_ce = delivered_ce_;
  info->tcpi_bytes_sent = bytes_sent_;
  info->tcpi_bytes_retrans = bytes_retrans_;
  info->tcpi_dsack_dups = dsack_dups_;
  info->tcpi_reord_seen = reord_seen_;
  info->tcpi_rcv_ooopack = rcv_ooopack_;
  info->tcpi_snd_wnd = snd_wnd_;
  info->tcpi_rcv_wnd = rcv_wnd();
  info->tcpi_rehash = 0;
  info->tcpi_total_rto = total_rto_;
  info->tcpi_total_rto_recoveries = total_rto_recoveries_;
  Duration rto_time = total_rto_time_;
  if (!rto_recovery_start_.is_infinite()) rto_time += now - rto_recovery_start_;
  info->tcpi_total_rto_time =
      static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::milliseconds>(rto_time).count());
}

}  // namespace pytcp
