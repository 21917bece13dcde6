// Timers as stored deadlines (smoltcp's model): the engine asks NextDeadline() and calls
// OnTimer() once it has passed. Also the option setters that touch timers.
//
// RFCs to read: RFC 6298 §5 (the retransmission timer, backoff), RFC 5681 §3.1 (the
// response to a timeout), RFC 9293 §3.8.6.1 and RFC 1122 §4.2.2.17 (persist),
// RFC 1122 §4.2.3.6 (keep-alives), RFC 1122 §4.2.3.5 (R2: when to give up),
// RFC 9293 §3.10.8 (the user, retransmission and TIME-WAIT timeouts).
#include <algorithm>
#include <cerrno>

#include "stack/tcp/tcp_connection.h"

namespace pytcp {

Duration TcpConnection::KeepIdle() const { return opts_.keepidle.value_or(config_.keepalive_idle); }
Duration TcpConnection::KeepIntvl() const {
  return opts_.keepintvl.value_or(config_.keepalive_interval);
}
int TcpConnection::KeepCnt() const { return opts_.keepcnt.value_or(config_.keepalive_probes); }

Instant TcpConnection::KeepaliveDeadline() const {
  if (!opts_.keepalive) return Instant::Infinite();
  if (state_ != TcpState::kEstablished && state_ != TcpState::kCloseWait &&
      state_ != TcpState::kFinWait2) {
    return Instant::Infinite();
  }
  // With data in flight or waiting the retransmission and persist timers watch the peer.
  if (snd_una_ != snd_nxt_ || unsent() > 0) return Instant::Infinite();
  if (keepalive_probes_ == 0) return last_rx_ + KeepIdle();
  return last_keepalive_ + KeepIntvl();
}

Instant TcpConnection::NextDeadline() const {
  Instant next = EarliestOf(rtx_deadline_, persist_deadline_);
  next = EarliestOf(next, delack_deadline_);
  next = EarliestOf(next, timewait_deadline_);
  next = EarliestOf(next, cork_deadline_);
  next = EarliestOf(next, tlp_deadline_);
  next = EarliestOf(next, rack_deadline_);
  next = EarliestOf(next, pacing_deadline_);
  return EarliestOf(next, KeepaliveDeadline());
}

TcpInputResult TcpConnection::OnTimer(Instant now) {
  if (state_ == TcpState::kClosed) return TcpInputResult::kClosed;
  if (timewait_deadline_ <= now) {
    // TIME-WAIT's 2*MSL ended, or an orphan waited in FIN-WAIT-2 for tcp_fin_timeout.
    timewait_deadline_ = Instant::Infinite();
    if (state_ == TcpState::kFinWait2) {
      // Linux's tcp_keepalive_timer for a dead socket in FIN-WAIT-2 ends it with
      // tcp_send_active_reset: a peer that never sent its FIN (it may still be sending,
      // or think the connection open) learns that nobody is left to read.
      SendRst(snd_nxt_, now, /*with_ack=*/true);
      EnterClosed(0);
      return TcpInputResult::kClosed;
    }
    if (state_ == TcpState::kTimeWait) {
      EnterClosed(0);
      return TcpInputResult::kClosed;
    }
  }
  if (rack_deadline_ <= now) OnRackTimeout(now);
  // The probe goes first when both are due (its deadline is capped at the RTO's): it
  // re-arms the retransmission timer.
  if (tlp_deadline_ <= now) OnTlpTimeout(now);
  if (rtx_deadline_ <= now) {
    OnRetransmitTimeout(now);
    if (state_ == TcpState::kClosed) return TcpInputResult::kClosed;
  }
  if (persist_deadline_ <= now) OnPersistTimeout(now);
  if (delack_deadline_ <= now) {
    delack_deadline_ = Instant::Infinite();
    pingpong_ = false;  // tcp_delack_timer_handler: a missed delayed ACK leaves pingpong mode
    if (IsSynchronized(state_) && last_ack_sent_ != rcv_nxt_) {
      env_->counters().Inc(TcpCounter::kDelayedAcks);
      ack_now_ = true;
      Output(now);
    }
  }
  if (pacing_deadline_ <= now) {
    pacing_deadline_ = Instant::Infinite();
    Output(now);
  }
  if (cork_deadline_ <= now) {
    Output(now);
    if (cork_deadline_ <= now) cork_deadline_ = Instant::Infinite();
  }
  if (KeepaliveDeadline() <= now) {
    OnKeepaliveTimeout(now);
    if (state_ == TcpState::kClosed) return TcpInputResult::kClosed;
  }
  return state_ == TcpState::kClosed ? TcpInputResult::kClosed : TcpInputResult::kOk;
}

bool TcpConnection::UserTimedOut(Instant start, Instant now) const {
  return opts_.user_timeout && !start.is_infinite() && now - start >= *opts_.user_timeout;
}

Instant TcpConnection::ClampToUserTimeout(Instant deadline, Instant start, Instant now) const {
  // Linux's tcp_clamp_rto_to_user_timeout / tcp_clamp_probe0_to_user_timeout: the timer
  // that would fire after the user timeout fires when it runs out instead, so the
  // connection is given up on time rather than up to a whole backed-off RTO late.
  if (!opts_.user_timeout || start.is_infinite()) return deadline;
  const Instant end = std::max(start + *opts_.user_timeout, now + kTimeoutMin);
  return std::min(deadline, end);
}

void TcpConnection::OnRetransmitTimeout(Instant now) {
  rtx_deadline_ = Instant::Infinite();
  if (snd_una_ == snd_nxt_) return;
  env_->counters().Inc(TcpCounter::kTimeouts);
  if (total_rto_ < 0xffff) ++total_rto_;
  // TCP_USER_TIMEOUT runs from the oldest unacknowledged transmission (Linux's
  // retrans_stamp). Without per-segment send times, that is when the timer now expiring
  // was armed: the segment at SND.UNA was sent then, or just before the ACK that re-armed it.
  if (retransmits_ == 0) rtx_start_ = rtx_armed_;
  ++retransmits_;
  rtt_timing_ = false;  // RFC 6298 §3 (Karn)
  if (state_ == TcpState::kSynSent || state_ == TcpState::kSynReceived) {
    // TCP_SYNCNT replaces tcp_syn_retries, and on a listener tcp_synack_retries
    // (tcp_write_timeout, reqsk_timer_handler's max_syn_ack_retries).
    int limit = opts_.syn_retries != 0 ? opts_.syn_retries
                : state_ == TcpState::kSynSent ? config_.syn_retries
                                               : config_.synack_retries;
    bool expire = retransmits_ > limit;
    bool resend = true;
    if (state_ == TcpState::kSynReceived && opts_.defer_accept != 0) {
      // syn_ack_recalc with TCP_DEFER_ACCEPT (n: the timeouts before this one): after the
      // bare ACK, no SYN-ACK until the last period of the deferral, which gives the peer's
      // ACK a last chance; given up once both the deferral and the retries are spent.
      const int n = retransmits_ - 1;
      const int defer = opts_.defer_accept;
      limit = std::max(limit, defer);
      expire = n >= limit && (!defer_acked_ || n >= defer);
      resend = !defer_acked_ || n >= defer - 1;
    }
    // Linux's tcp_write_timeout: a user timeout replaces the count for the SYN too.
    if (opts_.user_timeout ? UserTimedOut(rtx_start_, now) : expire) {
      env_->counters().Inc(TcpCounter::kAttemptFails);
      EnterClosed(passive_ ? 0 : TimeoutError());
      return;
    }
    // RFC 6298 §5.5-§5.6 apply to the SYN as to data.
    rtt_.Backoff();
    if (resend) SendSynSegment(now);
    rtx_deadline_ = ClampToUserTimeout(now + rtt_.rto(), rtx_start_, now);
    rtx_armed_ = now;
    return;
  }
  // RFC 1122 §4.2.3.5: after R2 retransmissions (Linux's tcp_retries2; fewer for an
  // orphan, tcp_orphan_retries) give up with ETIMEDOUT; with TCP_USER_TIMEOUT, once that
  // long has passed since the oldest unacknowledged transmission instead (Linux's
  // retransmits_timed_out with the user timeout in place of the boundary).
  const int limit = orphaned_ ? config_.orphan_retries : config_.retries2;
  if (opts_.user_timeout ? UserTimedOut(rtx_start_, now) : retransmits_ > limit) {
    env_->counters().Inc(TcpCounter::kAbortOnTimeout);
    EnterClosed(TimeoutError());
    return;
  }
  // RFC 5681 §3.1: ssthresh from the first timeout of a series only (equation 4 "when a
  // segment is retransmitted more than once, ssthresh is held constant").
  tlp_in_flight_ = false;
  tlp_deadline_ = Instant::Infinite();
  if (retransmits_ == 1) {
    if (total_rto_recoveries_ < 0xffff) ++total_rto_recoveries_;
    if (rto_recovery_start_.is_infinite()) rto_recovery_start_ = now;
    if (recovery_ == Recovery::kOpen) SaveForUndo();  // RFC 4015 applies to timeouts too
    cc_->OnRetransmitTimeout(static_cast<uint32_t>(snd_nxt_ - snd_una_), now);
    NoteCwndReduced();
  } else {
    undo_valid_ = false;
    dsack_undo_ = false;
  }
  ClearRecoveryLogs();
  rtt_.Backoff();
  // A receiver may renege on SACKed data (RFC 2018 §8): the first timeout keeps the
  // scoreboard (Linux does, and it saves resending what arrived), a second one in a row
  // forgets it so that every byte is sent again.
  if (retransmits_ > 1) scoreboard_.Clear();
  // Everything in flight is presumed lost and resent from SND.UNA as cwnd allows (the
  // Loss state of Linux; RFC 6675 §5.1).
  recovery_ = Recovery::kLoss;
  recovery_point_ = snd_nxt_;
  reno_recover_ = snd_nxt_;  // RFC 6582 §3.2 step 1 after a timeout
  lost_until_ = snd_nxt_;
  high_rxt_ = snd_una_;
  dupacks_ = 0;
  force_rtx_ = true;
  Output(now);
  ArmRetransmitTimer(now, true);
  rtx_deadline_ = ClampToUserTimeout(rtx_deadline_, rtx_start_, now);
}

void TcpConnection::OnTlpTimeout(Instant now) {
  tlp_deadline_ = Instant::Infinite();
  if (snd_una_ == snd_nxt_ || recovery_ != Recovery::kOpen || tlp_in_flight_) return;
  env_->counters().Inc(TcpCounter::kTlpProbes);
  // RFC 8985 §7.3: new data if the peer's window takes it, else the last segment again.
  const int32_t wnd_left = (snd_una_ + snd_wnd_) - snd_nxt_;
  const uint32_t fresh = std::min<uint32_t>(static_cast<uint32_t>(unsent()), MaxPayload());
  if (fresh > 0 && wnd_left >= static_cast<int32_t>(fresh)) {
    TransmitNew(fresh, fin_queued_ && !fin_sent_ && snd_nxt_ + fresh == data_end(), now);
    tlp_was_rtx_ = false;
  } else {
    const SeqNum dend = data_end();
    const SeqNum data_top = SeqMin(dend, snd_nxt_);
    const SeqNum first = SeqMax(SeqMax(snd_una_, snd_buf_seq_), SeqMin(last_seg_start_, data_top));
    const uint32_t len = std::min<uint32_t>(static_cast<uint32_t>(data_top - first), MaxPayload());
    const SeqNum start = data_top - len;
    TcpFlags f;
    f.ack = true;
    f.fin = fin_sent_;
    f.psh = len > 0;
    SendSegment(start, f, static_cast<size_t>(start - snd_buf_seq_), len, now);
    rack_.OnRetransmit(start, start + len + (f.fin ? 1 : 0), now);
    env_->counters().Inc(TcpCounter::kTxRetransSegments);
    ++total_retrans_;
    bytes_retrans_ += len;
    NoteRetransmission(snd_nxt_, now);
    if (rtt_timing_ && start < rtt_seq_) rtt_timing_ = false;  // Karn
    tlp_was_rtx_ = true;
  }
  tlp_in_flight_ = true;
  tlp_end_ = snd_nxt_;
  tlp_tsval_ = TsNow(now);
  ArmRetransmitTimer(now, true);  // §7.3: the RTO is rescheduled after the probe
}

void TcpConnection::OnPersistTimeout(Instant now) {
  persist_deadline_ = Instant::Infinite();
  if (snd_una_ != snd_nxt_) return;
  const bool pending = unsent() > 0 || (fin_queued_ && !fin_sent_);
  if (!pending || !IsSynchronized(state_)) return;
  env_->counters().Inc(TcpCounter::kPersistProbes);
  const int32_t wnd_left = (snd_una_ + snd_wnd_) - snd_nxt_;
  if (wnd_left > 0 && unsent() > 0) {
    // RFC 9293 §3.8.6.2.1 rule 4: the SWS override timeout sends what fits.
    const uint32_t len = std::min<uint32_t>(
        {static_cast<uint32_t>(wnd_left), static_cast<uint32_t>(unsent()), MaxPayload()});
    const bool with_fin = fin_queued_ && snd_nxt_ + len == data_end();
    TransmitNew(len, with_fin, now);
    return;
  }
  // Linux's tcp_probe_timer. RFC 1122 §4.2.2.17 keeps a connection open as long as the
  // receiver answers its probes (any valid ACK resets probes_out_), but a peer that stops
  // answering is given up on after tcp_retries2 probes (tcp_orphan_retries for an orphan,
  // which nobody waits for) or TCP_USER_TIMEOUT from the first probe, with ETIMEDOUT and
  // no RST (tcp_write_err).
  if (probes_start_.is_infinite()) {
    probes_start_ = now;
  } else if (UserTimedOut(probes_start_, now)) {
    env_->counters().Inc(TcpCounter::kAbortOnTimeout);
    EnterClosed(TimeoutError());
    return;
  }
  const int max_probes = orphaned_ ? config_.orphan_retries : config_.retries2;
  if (probes_out_ >= max_probes) {
    env_->counters().Inc(TcpCounter::kAbortOnTimeout);
    EnterClosed(TimeoutError());
    return;
  }
  // RFC 9293 §3.8.6.1: probe the zero window. Linux's probe carries no data (SEQ=SND.UNA-1)
  // and so consumes no sequence space; the answer brings the current window.
  SendProbe(now);
  ++probes_out_;
  ++persist_backoff_;
  const Duration d = std::min(rtt_.base_rto() * (int64_t{1} << std::min(persist_backoff_, 20)),
                              config_.rto_max);
  persist_deadline_ = ClampToUserTimeout(now + d, probes_start_, now);
}

void TcpConnection::OnKeepaliveTimeout(Instant now) {
  // RFC 1122 §4.2.3.6: after the idle time, probes every interval; after the count of
  // unanswered probes the connection is dead (Linux sends a RST and reports ETIMEDOUT).
  // With TCP_USER_TIMEOUT, Linux's tcp_keepalive_timer ends it instead once it has been
  // idle that long and at least one probe went unanswered, whatever the count.
  const bool dead = opts_.user_timeout
                        ? keepalive_probes_ > 0 && now - last_rx_ >= *opts_.user_timeout
                        : keepalive_probes_ >= KeepCnt();
  if (dead) {
    env_->counters().Inc(TcpCounter::kAbortOnTimeout);
    SendRst(snd_nxt_, now, /*with_ack=*/true);
    EnterClosed(TimeoutError());
    return;
  }
  env_->counters().Inc(TcpCounter::kKeepaliveProbes);
  SendProbe(now);
  ++keepalive_probes_;
  last_keepalive_ = now;
}

void TcpConnection::set_keepalive(bool on, Instant now) {
  opts_.keepalive = on;
  (void)now;
}

void TcpConnection::SetKeepaliveTimes(Instant now) { (void)now; }

bool TcpConnection::SetCongestion(std::string_view name) {
  auto next = MakeTcpCongestionControl(name);
  if (next == nullptr) return false;
  if (next->name() == cc_->name()) return true;
  // The new algorithm starts from the current window (Linux's tcp_reinit_congestion_control
  // restarts it; keeping cwnd avoids a needless collapse).
  next->Init(mss_cache(), std::max<uint32_t>(cc_->cwnd() / std::max<uint32_t>(mss_cache(), 1), 2));
  next->set_hystart(config_.hystart);
  cc_ = std::move(next);
  opts_.congestion = std::string(name);
  return true;
}

}  // namespace pytcp
