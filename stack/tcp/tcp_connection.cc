// Opening, closing and segment arrival (RFC 9293 §3.10.1-§3.10.4, §3.10.7).
#include "stack/tcp/tcp_connection.h"

#include <algorithm>
#include <cerrno>

#include "stack/base/log.h"
#include "stack/tcp/tcp_listener.h"

namespace pytcp {
namespace {
LogChannel log_tcp("tcp");

// RFC 7323 §5.5: TS.Recent is only trusted for 24 days of idleness.
constexpr Duration kPawsIdle = std::chrono::hours(24 * 24);

// Timestamps compare modulo 2^32 like sequence numbers (RFC 7323 §5.2).
bool TsBefore(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
}  // namespace

TcpConnection::TcpConnection(TcpConnectionEnv* env, const TcpFourTuple& tuple,
                             const TcpConnectionOptions& options, uint32_t ts_offset)
    : env_(env),
      config_(env->config()),
      tuple_(tuple),
      opts_(options),
      scoreboard_(env->config().max_ooo_ranges),
      ooo_(env->config().max_ooo_ranges),
      ts_offset_(ts_offset),
      rtt_(env->config().rto_initial, env->config().rto_min, env->config().rto_max) {
  cc_ = MakeTcpCongestionControl(opts_.congestion.empty() ? config_.congestion : opts_.congestion);
  if (cc_ == nullptr) cc_ = MakeTcpCongestionControl("cubic");
  cc_->set_hystart(config_.hystart);
  reordering_ = config_.dupthresh;
  // Buffer sizes: SO_RCVBUF/SO_SNDBUF values are Linux's doubled "sk" sizes; half of
  // that is payload (the rest is Linux's bookkeeping overhead), which is what a Linux
  // socket can actually hold and advertise.
  if (opts_.rcvbuf > 0) {
    rcv_capacity_ = std::max<size_t>(opts_.rcvbuf / 2, 1024);
    rcv_locked_ = true;
  } else {
    rcv_capacity_ = config_.rcvbuf_initial / 2;
  }
  if (opts_.sndbuf > 0) {
    snd_capacity_ = std::max<size_t>(opts_.sndbuf / 2, 2048);
    snd_locked_ = true;
  } else {
    snd_capacity_ = config_.sndbuf_initial;
  }
  pmtu_generation_ = env_->PathMtuGeneration();
  UpdateMss();
}

TcpConnection::~TcpConnection() = default;

void TcpConnection::Notify() {
  if (observer_ != nullptr) observer_->OnTcpEvent();
}

uint8_t TcpChooseRcvWscale(const TcpConfig& config, const TcpConnectionOptions& options) {
  // RFC 7323 §2.2-§2.3: the shift covers the largest window we may offer; like Linux
  // (tcp_select_initial_window), sized for the buffer's maximum, at most 14.
  const size_t space = options.rcvbuf > 0 ? std::max<size_t>(options.rcvbuf / 2, 1024)
                                          : config.rcvbuf_max;
  uint8_t shift = 0;
  while (shift < 14 && (size_t{65535} << shift) < space) ++shift;
  return shift;
}

void TcpConnection::UpdateMss() {
  // RFC 9293 §3.7.1 / RFC 6691: MSS = MTU minus the fixed IP and TCP headers; options
  // are subtracted per segment (MaxPayload).
  const uint32_t ip_overhead = tuple_.remote_ip.is_v4() ? 40 : 60;
  const uint32_t mtu = env_->PathMtu(tuple_.remote_ip);
  uint32_t path = mtu > ip_overhead + 8 ? mtu - ip_overhead : 536;
  if (opts_.user_mss != 0) path = std::min<uint32_t>(path, opts_.user_mss);
  adv_mss_ = static_cast<uint16_t>(std::min<uint32_t>(path, 65535));
  // Linux's TCP_MIN_SND_MSS (48) keeps a hostile tiny MSS from costing a segment per byte.
  mss_ = static_cast<uint16_t>(std::max<uint32_t>(std::min<uint32_t>(peer_mss_, path), 48));
}

void TcpConnection::NegotiateOptions(const TcpOptions& peer, bool active) {
  // RFC 9293 §3.7.1: 536 when the peer sends no MSS option.
  peer_mss_ = peer.mss.value_or(config_.default_mss);
  if (peer_mss_ == 0) peer_mss_ = config_.default_mss;
  // RFC 7323 §2.2: scaling is on only when both SYNs carry the option; a shift above 14
  // is used as 14 (§2.3).
  ws_ok_ = config_.window_scaling && peer.window_scale.has_value();
  snd_wscale_ = ws_ok_ ? std::min<uint8_t>(*peer.window_scale, 14) : 0;
  rcv_wscale_ = ws_ok_ ? TcpChooseRcvWscale(config_, opts_) : 0;
  // RFC 2018 §2: SACK only when both sides sent SACK-permitted; RFC 7323 §3.2:
  // timestamps only when both SYNs carried them.
  sack_ok_ = config_.sack && peer.sack_permitted;
  ts_ok_ = config_.timestamps && peer.timestamps.has_value();
  if (ts_ok_) {
    ts_recent_ = peer.timestamps->value;
    ts_recent_time_ = last_rx_;
  }
  (void)active;
  UpdateMss();
}

void TcpConnection::InitSendSequence(SeqNum iss) {
  iss_ = iss;
  snd_una_ = iss;
  snd_nxt_ = iss;
  snd_buf_seq_ = iss + 1;
  snd_sml_ = iss;
  high_rxt_ = lost_until_ = recovery_point_ = reno_recover_ = rtx_max_ = iss;
}

void TcpConnection::Open(SeqNum iss, Instant now) {
  InitSendSequence(iss);
  state_ = TcpState::kSynSent;
  last_rx_ = now;
  // Offer every option the configuration allows; the SYN-ACK decides (RFC 7323 §2.2).
  ws_ok_ = config_.window_scaling;
  rcv_wscale_ = ws_ok_ ? TcpChooseRcvWscale(config_, opts_) : 0;
  sack_ok_ = config_.sack;
  ts_ok_ = config_.timestamps;
  env_->counters().Inc(TcpCounter::kActiveOpens);
  SendSynSegment(now);
  ArmRetransmitTimer(now, true);
}

void TcpConnection::AcceptSyn(const TcpSegment& syn, SeqNum iss, TcpListener* listener,
                              Instant now) {
  passive_ = true;
  listener_ = listener;
  last_rx_ = now;
  InitSendSequence(iss);
  irs_ = syn.seq();
  rcv_nxt_ = irs_ + 1;
  rcv_adv_ = rcv_nxt_;
  NegotiateOptions(syn.options, false);
  // RFC 3168 §6.1.1: an ECN-setup SYN has ECE and CWR; we accept it unless ECN is off.
  ecn_ok_ = config_.ecn != 0 && syn.flags().ece && syn.flags().cwr;
  // RFC 7323 §2.2: the window in a SYN is never scaled.
  snd_wnd_ = syn.view.window();
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = syn.seq();
  snd_wl2_ = iss;
  state_ = TcpState::kSynReceived;
  env_->counters().Inc(TcpCounter::kPassiveOpens);
  SendSynSegment(now);
  ArmRetransmitTimer(now, true);
}

void TcpConnection::AcceptCookie(const TcpSegment& ack, SeqNum iss, uint16_t mss,
                                 std::optional<uint8_t> peer_wscale, bool sack,
                                 TcpListener* listener, Instant now) {
  passive_ = true;
  listener_ = listener;
  last_rx_ = now;
  iss_ = iss;
  snd_una_ = iss;
  snd_nxt_ = iss + 1;  // the SYN-ACK was sent (statelessly)
  snd_buf_seq_ = iss + 1;
  snd_sml_ = iss;
  high_rxt_ = lost_until_ = recovery_point_ = reno_recover_ = rtx_max_ = iss;
  irs_ = ack.seq() - 1;
  rcv_nxt_ = ack.seq();
  TcpOptions peer;
  peer.mss = mss;
  if (peer_wscale) peer.window_scale = peer_wscale;
  peer.sack_permitted = sack;
  peer.timestamps = ack.options.timestamps;
  NegotiateOptions(peer, false);
  rcv_adv_ = rcv_nxt_ + static_cast<uint32_t>(std::min<size_t>(rcv_capacity_, 65535));
  snd_wl1_ = ack.seq();
  snd_wl2_ = iss;
  state_ = TcpState::kSynReceived;
  env_->counters().Inc(TcpCounter::kPassiveOpens);
}

void TcpConnection::EnterEstablished(Instant now) {
  state_ = TcpState::kEstablished;
  was_established_ = true;
  EnsureBuffers();
  quickack_ = config_.quickack_segments;
  rcv_rtt_start_ = now;
  // RFC 5681 §3.1: after a retransmitted SYN or SYN-ACK the initial window is one
  // segment; Linux (tcp_init_transfer) cuts it only after more than one retransmission,
  // since the 1 s initial RTO of RFC 6298 makes a single one common. RFC 6298 §5.7: with
  // no RTT sample from the handshake (Karn), data starts with a 3 s RTO.
  const int syn_retransmits = retransmits_;
  cc_->Init(MaxPayload(), syn_retransmits > 1 ? 1 : config_.initial_cwnd_segments);
  if (syn_retransmits > 0) rtt_.Fallback(kTimeoutFallback);
  retransmits_ = 0;
  rtt_.ResetBackoff();
  last_data_sent_ = now;  // Linux starts lsndtime here: idleness counts from the handshake
  if (listener_ != nullptr) listener_->OnEstablished(shared_from_this());
  Notify();
}

void TcpConnection::EnterTimeWait(Instant now) {
  state_ = TcpState::kTimeWait;
  // RFC 9293 §3.10.7.4: TIME-WAIT lasts 2*MSL; only the timer and a re-ACK remain.
  timewait_deadline_ = now + config_.time_wait;
  rtx_deadline_ = persist_deadline_ = delack_deadline_ = cork_deadline_ = Instant::Infinite();
  tlp_deadline_ = rack_deadline_ = pacing_deadline_ = Instant::Infinite();
  Notify();
}

void TcpConnection::EnterClosed(int error) {
  const bool embryonic = listener_ != nullptr && !was_established_;
  state_ = TcpState::kClosed;
  done_ = true;
  if (error != 0) error_ = error;
  rtx_deadline_ = persist_deadline_ = delack_deadline_ = timewait_deadline_ = cork_deadline_ =
      Instant::Infinite();
  tlp_deadline_ = rack_deadline_ = pacing_deadline_ = Instant::Infinite();
  if (embryonic) {
    listener_->OnEmbryonicClosed();
    listener_ = nullptr;
  }
  Notify();
}

// ---------------------------------------------------------------------------------
// Application calls.

size_t TcpConnection::Send(ByteSpan data, bool more, Instant now, bool urgent) {
  if (state_ != TcpState::kEstablished && state_ != TcpState::kCloseWait) return 0;
  if (fin_queued_) return 0;
  EnsureBuffers();
  size_t room = send_space();
  if (opts_.notsent_lowat != 0) {
    // TCP_NOTSENT_LOWAT (tcp_sendmsg_locked: a new skb only while sk_stream_memory_free):
    // no more than the limit unsent, plus what fills the segment being built.
    const size_t queued = unsent();
    room = queued >= opts_.notsent_lowat
               ? 0
               : std::min<size_t>(room, opts_.notsent_lowat - queued + TsoPayload());
  }
  const size_t n = snd_buf_.Write(data.first(std::min(data.size(), room)));
  more_ = more;
  if (urgent && n > 0) {
    // send(MSG_OOB), Linux's tcp_mark_urg: SND.UP is the end of what was queued, one
    // past the urgent byte (RFC 6093 §4), and stays until SND.UNA passes it.
    snd_urg_ = true;
    snd_up_ = data_end();
  }
  if (n > 0) {
    MaybeRestartAfterIdle(now);
    Output(now);
  }
  return n;
}

size_t TcpConnection::Recv(MutableByteSpan out, bool peek, Instant now) {
  // Urgent data (tcp_recvmsg_locked): a read ends before the mark, and at the mark the
  // urgent byte is skipped unless SO_OOBINLINE (it is recv(MSG_OOB)'s).
  size_t skip = 0;
  if (urg_data_ != 0) {
    const uint32_t off = static_cast<uint32_t>(urg_seq_ - CopiedSeq());
    if (off < rcv_buf_.size()) {
      if (off != 0) {
        out = out.first(std::min<size_t>(out.size(), off));
      } else if (!opts_.oobinline) {
        skip = 1;
      }
    }
  }
  const size_t n = rcv_buf_.Peek(skip, out);
  if (!peek && n + skip > 0) {
    rcv_buf_.Consume(n + skip);
    if (urg_data_ != 0 && CopiedSeq() > urg_seq_) urg_data_ = 0;  // past the mark
    if (rcv_buf_.empty() && ooo_.empty()) rcv_buf_.Rewind();
    AfterAppRead(n + skip, now);
  }
  return n;
}

void TcpConnection::ShutdownWrite(Instant now) {
  if (fin_queued_) return;
  switch (state_) {
    case TcpState::kSynSent:
      // Linux's tcp_close_state: SYN_SENT goes straight to CLOSE.
      EnterClosed(0);
      return;
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
      state_ = TcpState::kFinWait1;
      break;
    case TcpState::kCloseWait:
      state_ = TcpState::kLastAck;
      break;
    default:
      return;
  }
  // RFC 9293 §3.10.4 CLOSE: the FIN follows the queued data (on the last segment).
  fin_queued_ = true;
  EnsureBuffers();
  Output(now);
  Notify();
}

void TcpConnection::ShutdownRead() {
  shut_rd_ = true;
  Notify();
}

void TcpConnection::Close(bool abort, Instant now) {
  orphaned_ = true;
  switch (state_) {
    case TcpState::kClosed:
    case TcpState::kListen:
      return;
    case TcpState::kSynSent:
      EnterClosed(0);
      return;
    default:
      break;
  }
  if (abort) {
    env_->counters().Inc(TcpCounter::kAbortOnLinger);
    Abort(now);
    return;
  }
  // RFC 2525 §2.17 / RFC 9293 §3.10.4: closing with unread data resets the connection
  // so the peer learns its data was not consumed (Linux does the same).
  if (rcv_buf_.size() > 0) {
    env_->counters().Inc(TcpCounter::kAbortOnClose);
    Abort(now);
    return;
  }
  ShutdownWrite(now);
  if (state_ == TcpState::kFinWait2) {
    // tcp_close: TCP_LINGER2 < 0 resets an orphan in FIN-WAIT-2 at once.
    if (opts_.linger2_reset) {
      env_->counters().Inc(TcpCounter::kAbortOnLinger);
      Abort(now);
      return;
    }
    timewait_deadline_ = now + FinTime();
  }
  // Nothing will read the receive buffer again (new data resets the connection), so an
  // orphan keeps only what it may still have to send.
  rcv_buf_ = TcpRingBuffer();
  ooo_.Clear();
}

void TcpConnection::ReleaseBuffersAfterFin() {
  // Our FIN is acknowledged: no byte of the send buffer will be sent again (TIME-WAIT
  // and FIN-WAIT-2 connections then cost a few hundred bytes, like Linux's tw buckets).
  snd_buf_ = TcpRingBuffer();
  if (orphaned_) {
    rcv_buf_ = TcpRingBuffer();
    ooo_.Clear();
  }
}

void TcpConnection::Abort(Instant now) {
  // RFC 9293 §3.10.5 ABORT: a RST in SYN-RECEIVED and the synchronized states that still
  // have a peer to tell (not CLOSING, LAST-ACK or TIME-WAIT, as Linux).
  switch (state_) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
    case TcpState::kCloseWait:
      SendRst(snd_nxt_, now, /*with_ack=*/true);
      break;
    default:
      break;
  }
  EnterClosed(0);
}

// ---------------------------------------------------------------------------------
// Segment arrival.

bool TcpConnection::OowLimited(Instant now) {
  // Linux's __tcp_oow_rate_limited: at most one such ACK per tcp_invalid_ratelimit.
  if (last_oow_ack_ && now - *last_oow_ack_ < config_.invalid_ratelimit) return true;
  last_oow_ack_ = now;
  return false;
}

void TcpConnection::SendInvalidAck(const TcpSegment& seg, Instant now) {
  // Linux's tcp_oow_rate_limited: the ACK that answers an invalid segment (RFC 9293
  // §3.10.7.4 "send an acknowledgment") goes at most once per 500 ms, so two endpoints
  // that disagree about the sequence space do not ping-pong ACKs at line rate. Data
  // without a SYN is not part of such a loop and is always answered.
  const bool data = seg.len() > 0 && !seg.flags().syn;
  if (!data && OowLimited(now)) {
    env_->counters().Inc(TcpCounter::kAckSkippedOow);
    return;
  }
  SendAck(now);
}

void TcpConnection::SendChallengeAck(Instant now) {
  // RFC 5961 §7: challenge ACKs are rate-limited so they cannot be used as an amplifier
  // or a side channel: first per connection (one per 500 ms, sharing the out-of-window
  // ACK limit, as Linux's tcp_send_challenge_ack), then by the host-wide budget that is
  // randomised every second (tcp_challenge_limit.h).
  if (OowLimited(now) || !env_->AllowChallengeAck(now)) {
    env_->counters().Inc(TcpCounter::kChallengeAckLimited);
    return;
  }
  env_->counters().Inc(TcpCounter::kTxChallengeAck);
  SendAck(now);
}

void TcpConnection::UpdateTsRecent(const TcpSegment& seg, Instant now) {
  // RFC 7323 §4.3 (2): TS.Recent takes SEG.TSval when the segment covers Last.ACK.sent.
  // Called only once the segment's ACK has been validated (Linux's tcp_replace_ts_recent
  // from tcp_ack): a blind segment without an ACK, or acknowledging what was never sent,
  // could otherwise raise TS.Recent to any value and have PAWS drop every real segment.
  // A TS.Recent idle for 24 days is replaced even by an "older" TSval (§5.5; Linux's
  // tcp_paws_check), as the peer's clock may have wrapped.
  if (!ts_ok_ || !seg.options.timestamps) return;
  const uint32_t tsval = seg.options.timestamps->value;
  const bool newer = !TsBefore(tsval, ts_recent_) || now - ts_recent_time_ >= kPawsIdle;
  if (newer && seg.seq() <= last_ack_sent_) {
    ts_recent_ = tsval;
    ts_recent_time_ = now;
  }
}

bool TcpConnection::Acceptable(const TcpSegment& seg) const {
  // RFC 9293 §3.10.7.4 first check, in Linux's form (tcp_sequence): the segment must not
  // end before RCV.NXT nor start beyond the right edge of the window. Unlike the RFC's
  // strict table this accepts a segment at exactly the right edge (an ACK from a peer
  // that filled the window) and a zero-window probe at RCV.NXT, whose ACK and window
  // must be processed even though its data cannot be (RFC 9293: "special allowance
  // should be made to accept valid ACKs").
  const uint32_t wnd = rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  const SeqNum seq = seg.seq();
  const SeqNum end = seq + seg.len();
  return end >= rcv_nxt_ && seq <= rcv_nxt_ + wnd;
}

void TcpConnection::NoteAlive(Instant now) {
  last_rx_ = now;
  keepalive_probes_ = 0;
  probes_out_ = 0;
}

TcpInputResult TcpConnection::Input(const TcpSegment& seg, Instant now) {
  ++segs_in_;
  if (!seg.payload().empty()) NoteDataIn(seg, now);
  const TcpFlags f = seg.flags();
  switch (state_) {
    case TcpState::kClosed:
      return TcpInputResult::kClosed;
    case TcpState::kListen:
      return TcpInputResult::kOk;
    case TcpState::kSynSent:
      return InputSynSent(seg, now);
    default:
      break;
  }

  // A retransmitted SYN in SYN-RECEIVED: our SYN-ACK was lost; send it again (Linux's
  // tcp_check_req does this instead of the challenge ACK of step four).
  if (state_ == TcpState::kSynReceived && f.syn && !f.ack && !f.rst && seg.seq() == irs_) {
    SendSynSegment(now);
    return TcpInputResult::kOk;
  }
  // RFC 6191 / RFC 9293 §3.10.7.4 note: a new SYN may end TIME-WAIT when its sequence
  // number (or timestamp) is beyond everything of the old incarnation.
  if (state_ == TcpState::kTimeWait && f.syn && !f.ack && !f.rst) {
    const bool newer_ts = ts_ok_ && seg.options.timestamps &&
                          TsBefore(ts_recent_, seg.options.timestamps->value);
    if (seg.seq() > rcv_nxt_ || newer_ts) {
      env_->counters().Inc(TcpCounter::kTimeWaitRecycled);
      EnterClosed(0);
      return TcpInputResult::kReopen;
    }
  }

  // RFC 7323 §5.3 R1 (PAWS): an older timestamp marks an old duplicate.
  if (ts_ok_ && seg.options.timestamps && !f.rst &&
      TsBefore(seg.options.timestamps->value, ts_recent_) && now - ts_recent_time_ < kPawsIdle) {
    env_->counters().Inc(TcpCounter::kRxDropPaws);
    SendInvalidAck(seg, now);
    return TcpInputResult::kOk;
  }

  // First: sequence number acceptability.
  if (!Acceptable(seg)) {
    env_->counters().Inc(TcpCounter::kRxDropUnacceptable);
    // RFC 2883 §4.1.1: data that lies wholly below RCV.NXT was received before.
    const SeqNum data_end = seg.seq() + static_cast<uint32_t>(seg.payload().size());
    if (!f.rst && !seg.payload().empty() && data_end <= rcv_nxt_) NoteDuplicate(seg.seq(), data_end);
    // "If an incoming segment is not acceptable, an acknowledgment should be sent in
    // reply (unless the RST bit is set)."
    if (!f.rst) SendInvalidAck(seg, now);
    return TcpInputResult::kOk;
  }

  // Second: RST (RFC 5961 §3.2): only an exact match of RCV.NXT resets; anything else
  // in the window draws a challenge ACK.
  if (f.rst) {
    if (seg.seq() != rcv_nxt_) {
      env_->counters().Inc(TcpCounter::kRxDropRst);
      SendChallengeAck(now);
      return TcpInputResult::kOk;
    }
    return OnReset(now);
  }

  // Fourth: SYN (RFC 5961 §4.2): in a synchronized state any SYN gets a challenge ACK.
  // The exception (Linux's tcp_validate_incoming) is the peer's SYN-ACK in a
  // simultaneous open, which acknowledges our SYN-ACK and completes the handshake.
  const bool simultaneous_synack = state_ == TcpState::kSynReceived && f.ack &&
                                   seg.seq() + 1 == rcv_nxt_ && seg.ack() == snd_nxt_ &&
                                   seg.payload().empty();
  if (f.syn && !simultaneous_synack) {
    SendChallengeAck(now);
    return TcpInputResult::kOk;
  }

  // Fifth: ACK.
  if (!f.ack) return TcpInputResult::kOk;
  if (state_ == TcpState::kSynReceived) {
    if (!(snd_una_ < seg.ack() && seg.ack() <= snd_nxt_)) {
      // RFC 9293 §3.10.7.4: an unacceptable ACK in SYN-RECEIVED draws <SEQ=SEG.ACK><RST>.
      SendRst(seg.ack(), now);
      return TcpInputResult::kOk;
    }
    if (DeferBareAck(seg)) return TcpInputResult::kOk;
    if (listener_ != nullptr && listener_->AcceptQueueFull()) {
      // Linux (tcp_abort_on_overflow = 0): drop the ACK; the handshake completes when a
      // later segment or our SYN-ACK retransmission finds room.
      env_->counters().Inc(TcpCounter::kListenOverflows);
      return TcpInputResult::kOk;
    }
    // The window from the ACK that completes the handshake (Linux's
    // tcp_create_openreq_child also starts max_window from it).
    snd_wnd_ = static_cast<uint32_t>(seg.view.window()) << snd_wscale_;
    max_snd_wnd_ = snd_wnd_;
    snd_wl1_ = seg.seq();
    snd_wl2_ = seg.ack();
    EnterEstablished(now);
  }
  // RFC 9293 §3.10.7.4 ESTABLISHED: an ACK of something not yet sent is answered with an
  // ACK and dropped. RFC 5961 §5.2: an ACK older than SND.UNA - MAX.SND.WND draws a
  // challenge ACK.
  if (seg.ack() > snd_nxt_) {
    SendInvalidAck(seg, now);
    return TcpInputResult::kOk;
  }
  if (seg.ack() < snd_una_ - std::max<uint32_t>(max_snd_wnd_, 1)) {
    SendChallengeAck(now);
    return TcpInputResult::kOk;
  }
  // Past every check: only such a segment says the peer is alive (spoofed, stale and
  // out-of-window segments were answered above but refresh nothing).
  NoteAlive(now);
  UpdateTsRecent(seg, now);
  ProcessAck(seg, now);
  if (FinAcked()) {
    switch (state_) {
      case TcpState::kFinWait1:
        state_ = TcpState::kFinWait2;
        ReleaseBuffersAfterFin();
        if (orphaned_ && opts_.linger2_reset) {
          // tcp_rcv_state_process with TCP_LINGER2 < 0: the orphan ends at once and the
          // segment is answered with a RST (tcp_v4_do_rcv's reset path: <SEQ=SEG.ACK>).
          env_->counters().Inc(TcpCounter::kAbortOnData);
          SendRst(seg.ack(), now);
          EnterClosed(0);
          return TcpInputResult::kClosed;
        }
        // Linux's tcp_fin_time for orphans: FIN-WAIT-2 does not wait forever.
        if (orphaned_) timewait_deadline_ = now + FinTime();
        Notify();
        break;
      case TcpState::kClosing:
        ReleaseBuffersAfterFin();
        EnterTimeWait(now);
        break;
      case TcpState::kLastAck:
        ReleaseBuffersAfterFin();
        EnterClosed(0);
        return TcpInputResult::kClosed;
      default:
        break;
    }
  }

  // RFC 3168 §6.1.3: a CWR ends the echo of earlier congestion; a CE mark (on this very
  // segment too) starts it again and is answered at once (Linux's quick ACK on CE).
  if (ecn_ok_) {
    if (f.cwr) ece_pending_ = false;
    if (seg.ecn == 3) {
      env_->counters().Inc(TcpCounter::kRxCe);
      if (!ece_pending_) ack_now_ = true;
      ece_pending_ = true;
    }
  }
  // Sixth: URG (tcp_urgent.cc).
  if (f.urg || urg_data_ == kUrgNotYet) ProcessUrg(seg);
  // Seventh and eighth: segment text and FIN.
  if (!seg.payload().empty() || f.fin) {
    ReceiveText(seg, now);
    if (state_ == TcpState::kClosed) return TcpInputResult::kClosed;
  }
  Output(now);
  return state_ == TcpState::kClosed ? TcpInputResult::kClosed : TcpInputResult::kOk;
}

TcpInputResult TcpConnection::InputSynSent(const TcpSegment& seg, Instant now) {
  const TcpFlags f = seg.flags();
  // RFC 9293 §3.10.7.3 first: the ACK must acknowledge our SYN.
  if (f.ack && (seg.ack() <= iss_ || seg.ack() > snd_nxt_)) {
    if (f.rst) return TcpInputResult::kOk;
    SendRst(seg.ack(), now);
    // Most often this is the ACK of a peer's TIME-WAIT that found our SYN older than its
    // old connection on the tuple (RFC 6191 failed): our RST has just ended that
    // TIME-WAIT, so the SYN is sent again at once instead of after the RTO. Linux does the
    // same in tcp_rcv_synsent_state_process (retransmit timer at TCP_TIMEOUT_MIN, only
    // while nothing was retransmitted, so stray ACKs cannot drive a SYN storm).
    if (retransmits_ == 0) rtx_deadline_ = std::min(rtx_deadline_, now + kTimeoutMin);
    return TcpInputResult::kOk;
  }
  // Second: a RST with an acceptable ACK refuses the connection (RFC 5961 §3.2 keeps
  // this rule for SYN-SENT).
  if (f.rst) {
    if (!f.ack) return TcpInputResult::kOk;
    env_->counters().Inc(TcpCounter::kAttemptFails);
    EnterClosed(ECONNREFUSED);
    return TcpInputResult::kClosed;
  }
  // Fourth: SYN.
  if (!f.syn) return TcpInputResult::kOk;
  NoteAlive(now);
  irs_ = seg.seq();
  rcv_nxt_ = irs_ + 1;
  NegotiateOptions(seg.options, true);
  // RFC 3168 §6.1.1: our ECN-setup SYN is accepted by a SYN-ACK with ECE and without CWR.
  ecn_ok_ = config_.ecn == 1 && f.ece && !f.cwr;
  if (f.ack) {
    // Our SYN is acknowledged: ESTABLISHED. RFC 7323 §2.2: SYN windows are unscaled.
    if (rtt_timing_) {
      rtt_.Sample(now - rtt_start_);
      rtt_timing_ = false;
    } else if (ts_ok_ && seg.options.timestamps && seg.options.timestamps->echo_reply != 0) {
      // A retransmitted SYN is not timed (Karn), but the echo of its TSval says which
      // one the SYN-ACK answers (RFC 7323 §4; Linux's tcp_ack_update_rtt from TSecr).
      const uint32_t ms = TsNow(now) - seg.options.timestamps->echo_reply;
      if (ms < 60'000) rtt_.Sample(std::chrono::milliseconds(ms));
    }
    snd_una_ = seg.ack();
    bytes_acked_ += 1;  // our SYN: Linux's tcp_ack counts it in tcpi_bytes_acked
    high_rxt_ = lost_until_ = recovery_point_ = snd_una_;
    snd_wnd_ = seg.view.window();
    max_snd_wnd_ = snd_wnd_;
    snd_wl1_ = seg.seq();
    snd_wl2_ = seg.ack();
    rtx_deadline_ = Instant::Infinite();
    // The window our SYN offered (unscaled, RFC 7323 §2.2) is open from RCV.NXT on:
    // text on this SYN-ACK is within it.
    rcv_adv_ = rcv_nxt_ + static_cast<uint32_t>(std::min<size_t>(recv_capacity(), 65535));
    EnterEstablished(now);
    // RFC 9293 §3.10.7.3: "If there are other controls or text in the segment, then
    // continue processing at the sixth step": text on the SYN-ACK is queued (Linux drops
    // it and lets the peer retransmit). A SYN with a FIN never gets here: the parser
    // refuses SYN+FIN as invalid.
    if (!seg.payload().empty() || f.fin) {
      ReceiveText(seg, now);
      if (state_ == TcpState::kClosed) return TcpInputResult::kClosed;
    }
    if ((opts_.defer_accept != 0 || pingpong_) && seg.payload().empty() && !f.fin) {
      // Linux's tcp_rcv_synsent_state_process with TCP_DEFER_ACCEPT or pingpong mode
      // (TCP_QUICKACK 0) on the connecting socket: "Save one ACK": the handshake's ACK
      // waits up to TCP_DELACK_MAX for data to ride on.
      delack_deadline_ = now + kDelackMax;
      Notify();
      return TcpInputResult::kOk;
    }
    // RFC 9293: "form an ACK segment and send it" (data queued meanwhile goes with it).
    ack_now_ = true;
    Output(now);
    return state_ == TcpState::kClosed ? TcpInputResult::kClosed : TcpInputResult::kOk;
  }
  // Simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, and our SYN is sent again
  // as a SYN-ACK.
  snd_wnd_ = seg.view.window();
  max_snd_wnd_ = snd_wnd_;
  snd_wl1_ = seg.seq();
  rcv_adv_ = rcv_nxt_;
  state_ = TcpState::kSynReceived;
  SendSynSegment(now);
  return TcpInputResult::kOk;
}

TcpInputResult TcpConnection::OnReset(Instant now) {
  (void)now;
  env_->counters().Inc(TcpCounter::kRxRst);
  // RFC 9293 §3.10.7.4 second check, with Linux's errno per state (tcp_reset).
  switch (state_) {
    case TcpState::kSynReceived:
      // A passive connection simply disappears ("return to LISTEN"); an active one
      // (simultaneous open) was refused.
      env_->counters().Inc(TcpCounter::kAttemptFails);
      EnterClosed(passive_ ? 0 : ECONNREFUSED);
      break;
    case TcpState::kEstablished:
    case TcpState::kFinWait1:
    case TcpState::kFinWait2:
      env_->counters().Inc(TcpCounter::kEstablishedResets);
      EnterClosed(ECONNRESET);
      break;
    case TcpState::kCloseWait:
      env_->counters().Inc(TcpCounter::kEstablishedResets);
      EnterClosed(EPIPE);
      break;
    default:
      EnterClosed(orphaned_ ? 0 : ECONNRESET);
      break;
  }
  return TcpInputResult::kClosed;
}

void TcpConnection::ProcessAck(const TcpSegment& seg, Instant now) {
  const SeqNum ack = seg.ack();
  const uint32_t flight_before = static_cast<uint32_t>(snd_nxt_ - snd_una_);
  const uint32_t pipe_before = Pipe();
  // RFC 6937 DeliveredData: the change in SND.UNA plus the change in SACKed bytes.
  const uint32_t sacked_before = scoreboard_.sacked_bytes();
  const uint32_t una_delta = ack > snd_una_ ? static_cast<uint32_t>(ack - snd_una_) : 0;
  // RFC 9293 §3.10.7.4 ESTABLISHED: the send window is updated from segments that are
  // newer (SND.WL1/SND.WL2) than the one it was last taken from.
  bool window_changed = false;
  if (snd_wl1_ < seg.seq() || (snd_wl1_ == seg.seq() && snd_wl2_ <= ack)) {
    const uint32_t wnd = static_cast<uint32_t>(seg.view.window()) << snd_wscale_;
    window_changed = wnd != snd_wnd_;
    snd_wnd_ = wnd;
    max_snd_wnd_ = std::max(max_snd_wnd_, wnd);
    snd_wl1_ = seg.seq();
    snd_wl2_ = ack;
    if (snd_wnd_ > 0) {
      // Linux's tcp_ack_probe: the window opened; the next zero window starts afresh.
      persist_backoff_ = 0;
      probes_start_ = Instant::Infinite();
    }
  }

  RackOnAck(seg, now);
  uint32_t newly_sacked = 0;
  if (sack_ok_ && seg.options.sack_block_count > 0) {
    newly_sacked = scoreboard_.Add(seg.options.sack(), SeqMax(ack, snd_una_), snd_nxt_);
  }

  if (tlp_in_flight_ && ack >= tlp_end_) {
    // RFC 8985 §7.4: the probe's episode is over. A retransmitted probe whose own
    // timestamp comes back repaired a loss: respond to it as to congestion (§7.4.2).
    tlp_in_flight_ = false;
    if (tlp_was_rtx_ && recovery_ == Recovery::kOpen && seg.options.timestamps &&
        static_cast<int32_t>(seg.options.timestamps->echo_reply - tlp_tsval_) >= 0) {
      env_->counters().Inc(TcpCounter::kTlpRecoveries);
      cc_->OnCongestionEvent(static_cast<uint32_t>(snd_nxt_ - snd_una_), now);
    }
  }
  if (ack > snd_una_ && DetectSpuriousRecovery(seg)) {
    env_->counters().Inc(TcpCounter::kSpuriousRecoveries);
  }
  if (ack > snd_una_) {
    const uint32_t acked = static_cast<uint32_t>(ack - snd_una_);
    const bool syn_acked = passive_ && snd_una_ == iss_;
    // RFC 6298 §3 (Karn): only a segment never retransmitted is timed.
    Duration timed{0};
    bool have_timed = false;
    if (rtt_timing_ && ack >= rtt_seq_) {
      timed = now - rtt_start_;
      have_timed = true;
      rtt_timing_ = false;
    }
    // RFC 7323 §4.1-§4.2: with timestamps every ACK of new data is an RTT measurement,
    // retransmitted or not (the echo says which transmission it was), at the 1 ms
    // resolution of the timestamp clock. Without them, one timed segment per round trip
    // (RFC 6298 §3, Karn).
    std::optional<Duration> ts_sample;
    if (ts_ok_ && seg.options.timestamps && seg.options.timestamps->echo_reply != 0) {
      const uint32_t ms = TsNow(now) - seg.options.timestamps->echo_reply;
      if (ms < 60'000) ts_sample = std::chrono::milliseconds(ms);
    }
    // The estimator takes the timed segment's sample and, when larger, the timestamp's.
    // (Linux feeds one sample per ACK; tried here, a single sample left RTTVAR so small
    // that the 20 %-loss transfers of tcp_transfer_test took 2.5 to 4 times as long, with
    // 2.6 times the RTO expiries, so the second sample stays.) Only a valid sample ends
    // the backoff (RFC 6298 §5.7, Linux's tcp_ack_update_rtt): the ACK of a retransmission
    // without timestamps is ambiguous, so the doubled RTO stays for what is sent next. An
    // ACK of data never retransmitted counts as valid even when none of it was timed:
    // Linux times every segment and would have its sample (tcp_clean_rtx_queue without
    // FLAG_RETRANS_DATA_ACKED); we time one per round trip.
    if (have_timed) rtt_.Sample(timed);
    if (ts_sample && (!have_timed || *ts_sample > timed)) rtt_.Sample(*ts_sample);
    if (have_timed || ts_sample || snd_una_ >= rtx_max_) rtt_.ResetBackoff();
    // What the congestion controller and RACK see: the timestamp sample when there is one.
    Duration sample = timed;
    if (ts_sample) {
      sample = std::max<Duration>(*ts_sample, std::chrono::microseconds(1));
      latest_rtt_ = *ts_sample;
    } else if (timed.count() > 0) {
      latest_rtt_ = timed;
    }
    retransmits_ = 0;
    rtx_start_ = Instant::Infinite();
    // Release acknowledged data (the SYN and FIN occupy sequence space but no buffer).
    if (ack > snd_buf_seq_) {
      const size_t data = std::min<size_t>(static_cast<uint32_t>(ack - snd_buf_seq_), snd_buf_.size());
      snd_buf_.Consume(data);
      if (snd_buf_.empty()) snd_buf_.Rewind();  // nothing is written past size() here
      snd_buf_seq_ += static_cast<uint32_t>(data);
    }
    snd_una_ = ack;
    if (retrans_stamp_ != 0 && snd_una_ >= retrans_high_) retrans_stamp_ = 0;
    // Linux counts our SYN in tcpi_bytes_acked on an active open (tcp_ack in SYN-SENT) but
    // not on a passive one (the child starts with SND.UNA after it).
    bytes_acked_ += acked - (syn_acked ? 1u : 0u);
    scoreboard_.AdvanceUna(ack);
    rack_.AdvanceUna(ack);
    if (high_rxt_ < snd_una_) high_rxt_ = snd_una_;
    if (lost_until_ < snd_una_) lost_until_ = snd_una_;
    if (snd_sml_ < snd_una_) snd_sml_ = snd_una_;
    dupacks_ = 0;
    const Recovery was = recovery_;
    if (recovery_ != Recovery::kOpen) {
      if (ack >= recovery_point_) {
        // RFC 6582 §3.2 step 6 / RFC 6675 §5 (A): the recovery point is acknowledged.
        if (recovery_ == Recovery::kFast) cc_->OnRecoveryExit(now);
        recovery_ = Recovery::kOpen;
        rack_.OnRecoveryEnd();
        ClearRecoveryLogs();
      } else if (!sack_ok_) {
        // RFC 6582 §3.2 step 5: a partial ACK retransmits the first unacknowledged
        // segment at once.
        lost_until_ = SeqMax(lost_until_, snd_una_ + MaxPayload());
        high_rxt_ = snd_una_;
        force_rtx_ = true;
      }
    }
    if (was != Recovery::kFast) {
      TcpAckSample s;
      s.acked_bytes = acked;
      s.pipe = pipe_before;
      s.srtt = rtt_.srtt();
      s.min_rtt = rtt_.min_rtt();
      s.rtt = sample;
      s.ack = ack;
      s.snd_nxt = snd_nxt_;
      s.now = now;
      // RFC 7661: grow only when the window was actually used.
      // RFC 7661 / Linux's tcp_is_cwnd_limited: in slow start, growth while at least half
      // the window was used; in congestion avoidance, while it was (nearly) full.
      s.cwnd_limited = cc_->in_slow_start() ? max_pipe_ * 2 >= cc_->cwnd()
                                            : max_pipe_ + MaxPayload() >= cc_->cwnd();
      cc_->OnAck(s);
      max_pipe_ = Pipe();
    }
    MaybeGrowSendBuffer();
    // RFC 6298 §5.2/§5.3: stop the timer when everything is acknowledged, else restart.
    ArmRetransmitTimer(now, true);
    Notify();
  } else if (ack == snd_una_ && snd_una_ != snd_nxt_) {
    // RFC 5681 §2 "duplicate acknowledgment", or RFC 6675's SACK-bearing equivalent.
    const bool pure = seg.payload().empty() && !seg.flags().syn && !seg.flags().fin;
    if (newly_sacked > 0 || (pure && !window_changed)) ++dupacks_;
  }

  if (ecn_ok_ && seg.flags().ece) OnEce(flight_before, now);
  if (sack_ok_ && seg.options.sack_block_count > 0) {
    // RFC 2883 §4: the first block reports a duplicate when it lies below SEG.ACK or
    // inside the second block.
    const auto blocks = seg.options.sack();
    const TcpSackBlock& b0 = blocks[0];
    const bool dsack = b0.left < b0.right &&
                       (b0.right <= ack || (blocks.size() > 1 && blocks[1].left <= b0.left &&
                                            b0.right <= blocks[1].right));
    if (dsack) OnDsack(b0, now);
  }
  NoteDelivered(una_delta + newly_sacked, ecn_ok_ && seg.flags().ece, now);
  if (recovery_ != Recovery::kLoss && !rto_recovery_start_.is_infinite()) {
    total_rto_time_ += now - rto_recovery_start_;  // TCP_INFO's tcpi_total_rto_time
    rto_recovery_start_ = Instant::Infinite();
  }
  if (recovery_ != Recovery::kOpen && sack_ok_ && newly_sacked > 0) DetectLostRetransmissions(now);
  // RFC 8985 §6.2: what RACK finds lost by transmit time joins the lost range, in
  // recovery as well as before it.
  const bool rack_loss = RackDetect(now);

  // Loss detection: RFC 6675 §5 (DupThresh duplicates, or IsLost(SND.UNA) from the
  // scoreboard) and RFC 6582 §3.2 step 1 (not again for the same window without SACK).
  if (recovery_ == Recovery::kOpen && snd_una_ != snd_nxt_) {
    const int thresh = DupThresh();
    bool loss = dupacks_ >= thresh;
    if (sack_ok_) {
      loss = loss || rack_loss || scoreboard_.LostBoundary(snd_una_, mss_cache(), thresh) > snd_una_;
    } else if (loss && !(snd_una_ > reno_recover_)) {
      // RFC 6582 §3.2 step 1: duplicates of a window already recovered are ignored.
      loss = false;
    }
    if (loss) EnterFastRecovery(std::max(flight_before, pipe_before), now);
  }
  if (recovery_ == Recovery::kFast) {
    // RFC 6937 §3, on every ACK of a fast recovery (the one that began it included, the
    // one that ended it not): cwnd = pipe + sndcnt, sndcnt in proportion to what this ACK
    // delivered while pipe is above ssthresh, and catching up no faster than slow start
    // (PRR-SSRB) once it is below.
    const int64_t delivered = static_cast<int64_t>(una_delta) +
                              static_cast<int64_t>(scoreboard_.sacked_bytes()) -
                              static_cast<int64_t>(sacked_before);
    cc_->set_cwnd(prr_.OnAck(static_cast<uint32_t>(std::max<int64_t>(delivered, 0)), Pipe(),
                             cc_->ssthresh(), mss_cache()));
  }
}

void TcpConnection::OnIcmpError(int error, Instant now) {
  (void)now;
  // Linux's tcp_v4_err / tcp_v6_err: a connection still opening (SYN-SENT, or an active
  // SYN-RECEIVED after a simultaneous open) fails with the error, whatever it is. Later,
  // RFC 1122 §4.2.3.9 and RFC 5927 §4.1: an ICMP error never aborts a synchronized
  // connection (routes come back; errors can be forged); it is kept as the soft error
  // that a connection finally given up on reports instead of ETIMEDOUT, and SO_ERROR
  // shows meanwhile.
  if (state_ == TcpState::kSynSent || (state_ == TcpState::kSynReceived && !passive_)) {
    env_->counters().Inc(TcpCounter::kAttemptFails);
    EnterClosed(error);
    return;
  }
  if (state_ != TcpState::kClosed && state_ != TcpState::kListen) soft_error_ = error;
}

bool TcpConnection::SyncPathMtu() {
  pmtu_generation_ = env_->PathMtuGeneration();
  const uint32_t ip_overhead = tuple_.remote_ip.is_v4() ? 40 : 60;
  const uint32_t mtu = env_->PathMtu(tuple_.remote_ip);
  if (mtu <= ip_overhead + 48) return false;
  uint32_t path = mtu - ip_overhead;
  if (opts_.user_mss != 0) path = std::min<uint32_t>(path, opts_.user_mss);
  // Never above what the peer announced; Linux's TCP_MIN_SND_MSS (48) below.
  const auto target = static_cast<uint16_t>(std::max<uint32_t>(std::min<uint32_t>(peer_mss_, path), 48));
  if (target == mss_) return false;
  const uint16_t before = mss_;
  mss_ = target;
  // The congestion controller counts in the new segments: cwnd and ssthresh keep their
  // number of segments, as Linux's (in packets) do — "units changed and effective
  // cwnd/ssthresh really reduced now" (tcp_simple_retransmit).
  if (was_established_) cc_->SetSmss(mss_cache());
  return mss_ < before;
}

void TcpConnection::OnPathMtu(Instant now) {
  // The value was checked and clamped by the engine (RFC 5927 §4.1, RFC 1191 §5/§7 and
  // Linux's min_pmtu for IPv4, tcp_pmtu.h; RFC 8201 §4's 1280 for IPv6) and is in the
  // cache now, shared by every connection to the destination.
  if (!SyncPathMtu() || snd_una_ == snd_nxt_) return;
  // RFC 1191 §6.5 ("retransmit with the smaller size"): what is in flight was too big,
  // so it is marked lost and sent again in smaller segments.
  lost_until_ = snd_nxt_;
  high_rxt_ = snd_una_;
  force_rtx_ = true;
  Output(now);
}

}  // namespace pytcp
