// The send side: what to send next and how segments are built.
//
// RFCs to read: RFC 9293 §3.7.4 and RFC 1122 §4.2.3.4 (Nagle), §3.8.6.2.1 (sender SWS
// avoidance), §3.8.6.1 (zero-window probing), RFC 6675 §4-§5 (pipe, NextSeg), RFC 5681
// §3 (congestion window), RFC 6582 (NewReno partial ACKs), RFC 7323 §3 (timestamps on
// every segment), RFC 2018 §4 (SACK blocks in ACKs), RFC 6691 (options reduce the
// payload of a segment, not the MSS).
//
// Segmentation happens in exactly one place: MaxPayload() is the largest payload a
// segment may carry on the wire, and every data-bearing segment is cut to it. When the
// link offers TSO/GSO, new data leaves in TsoPayload() pieces (a whole number of
// MaxPayload() segments, up to 64 KB) that the device cuts into MaxPayload() segments,
// each with a copy of the header. Everything else (retransmissions, probes, congestion
// control's SMSS) stays in MaxPayload() units.
#include <algorithm>

#include "stack/tcp/tcp_connection.h"

namespace pytcp {
namespace {
// tcp(7): "there is a 200 millisecond ceiling on the time for which output is corked".
constexpr Duration kCorkCeiling = std::chrono::milliseconds(200);
}  // namespace

uint32_t TcpConnection::TsNow(Instant now) const {
  // RFC 7323 §5.4: a 1 ms timestamp clock, offset per connection.
  return static_cast<uint32_t>(now.nanos() / 1'000'000) + ts_offset_;
}

uint32_t TcpConnection::mss_cache() const {
  // RFC 6691: the timestamp option is carried by every segment, so it comes off the MSS
  // once (Linux's mss_cache).
  return static_cast<uint32_t>(mss_) - (ts_ok_ ? 12u : 0u);
}

uint32_t TcpConnection::MaxPayload() const {
  uint32_t limit = mss_cache();
  // SACK blocks (RFC 2018 §3: at most three beside timestamps) take room from the payload.
  if (sack_ok_ && (!ooo_.empty() || dsack_)) {
    const size_t blocks =
        std::min<size_t>(ooo_.range_count() + (dsack_ ? 1 : 0), ts_ok_ ? 3 : 4);
    limit -= static_cast<uint32_t>(4 + 8 * blocks);
  }
  return std::max<uint32_t>(limit, 8);
}

uint32_t TcpConnection::TsoPayload() const {
  const uint32_t wire = MaxPayload();
  // TSO: the device cuts a large segment at MTU - IP header - TCP header, so it is used
  // only when that is exactly MaxPayload(): the MSS is the path's own (not a smaller one
  // announced by the peer or set with TCP_MAXSEG). Over IPv6 the device's cut is the same
  // (VIRTIO_NET_HDR_GSO_TCPV6, gso_size = MTU - 40 - TCP header).
  const uint32_t tso = env_->TsoMaxSize(tuple_.remote_ip);
  const uint32_t ip_header = tuple_.remote_ip.is_v4() ? 20 : 40;
  if (tso == 0 || uint32_t{mss_} + ip_header + 20 != env_->PathMtu(tuple_.remote_ip)) return wire;
  // The device would copy one urgent pointer into every piece (relative to the first).
  if (snd_urg_) return wire;
  // Room for the largest IP (IPv4 60 counts in its total length; IPv6's 40 does not, but
  // the frame must fit the device's limit too) and TCP (60) headers around the payload.
  const uint32_t segments = tso > 120 + wire ? (tso - 120) / wire : 1;
  return wire * segments;
}

size_t TcpConnection::send_capacity() const { return snd_capacity_; }

size_t TcpConnection::send_space() const {
  return snd_capacity_ > snd_buf_.size() ? snd_capacity_ - snd_buf_.size() : 0;
}

size_t TcpConnection::unsent() const {
  const SeqNum end = data_end();
  return snd_nxt_ < end ? static_cast<size_t>(end - snd_nxt_) : 0;
}

bool TcpConnection::writable() const {
  // Linux's sk_stream_is_writeable: the free space is at least half of what is queued.
  // TCP_NOTSENT_LOWAT (tcp_stream_memory_free with wake = 1, as tcp_poll asks): twice
  // the unsent bytes below the limit.
  if (opts_.notsent_lowat != 0 && 2 * uint64_t{unsent()} >= opts_.notsent_lowat) return false;
  return send_space() > 0 && send_space() >= snd_buf_.size() / 2;
}

void TcpConnection::MaybeGrowSendBuffer() {
  // Send-buffer auto-tuning (Linux's tcp_sndbuf_expand): room for twice the congestion
  // window, so the sender is never limited by its own buffer before the network.
  if (snd_locked_) return;
  const size_t target = std::min<size_t>(config_.sndbuf_max, size_t{2} * cc_->cwnd() + 4 * mss_);
  if (target <= snd_capacity_) return;
  snd_capacity_ = std::min<size_t>(config_.sndbuf_max, std::max(target, snd_capacity_ * 3 / 2));
  if (snd_buf_.capacity() != 0 && snd_buf_.capacity() < snd_capacity_) snd_buf_.Resize(snd_capacity_);
  Notify();
}

void TcpConnection::SetSendBuffer(size_t bytes) {
  snd_locked_ = true;
  snd_capacity_ = std::max<size_t>(bytes / 2, 2048);
  if (snd_buf_.capacity() != 0) snd_buf_.Resize(std::max(snd_capacity_, snd_buf_.size()));
  Notify();
}

void TcpConnection::set_nodelay(bool on, Instant now) {
  opts_.nodelay = on;
  // Linux pushes pending data when TCP_NODELAY is turned on.
  if (on && IsSynchronized(state_)) Output(now);
}

void TcpConnection::set_cork(bool on, Instant now) {
  opts_.cork = on;
  if (!on) {
    // Uncorking sends what was held.
    cork_deadline_ = Instant::Infinite();
    if (IsSynchronized(state_)) Output(now);
  }
}

SeqNum TcpConnection::LostPoint() const {
  SeqNum l = lost_until_;
  if (sack_ok_ && !scoreboard_.empty()) {
    l = SeqMax(l, scoreboard_.LostBoundary(snd_una_, mss_cache(), DupThresh()));
  }
  return SeqMin(SeqMax(l, snd_una_), snd_nxt_);
}

uint32_t TcpConnection::Pipe() const {
  // RFC 6675 §4 SetPipe(): every unSACKed byte counts once if not lost, and once more if
  // it was retransmitted.
  if (snd_nxt_ == snd_una_) return 0;
  const SeqNum lost = LostPoint();
  const SeqNum rtx = SeqMin(SeqMax(high_rxt_, snd_una_), snd_nxt_);
  uint32_t not_lost = static_cast<uint32_t>(snd_nxt_ - lost);
  uint32_t retransmitted = static_cast<uint32_t>(rtx - snd_una_);
  if (sack_ok_) {
    not_lost -= scoreboard_.SackedIn(lost, snd_nxt_);
    retransmitted -= scoreboard_.SackedIn(snd_una_, rtx);
    // Retransmissions known lost again have left the network.
    retransmitted -= std::min(retransmitted, rtx_again_bytes_);
  } else {
    // Without SACK each duplicate ACK stands for a segment that left the network
    // (RFC 5681 §3.2 step 4's inflation, expressed as Linux's emulated sacked_out).
    not_lost -= std::min<uint32_t>(not_lost, static_cast<uint32_t>(dupacks_) * mss_cache());
  }
  return not_lost + retransmitted;
}

void TcpConnection::FillOptions(TcpOptions* o, bool syn, Instant now) const {
  if (syn) {
    o->mss = adv_mss_;
    if (ws_ok_) o->window_scale = rcv_wscale_;
    o->sack_permitted = sack_ok_;
  }
  // RFC 7323 §3.2: TSecr echoes TS.Recent (zero in an initial SYN).
  if (ts_ok_) o->timestamps = TcpTimestamps{TsNow(now), state_ == TcpState::kSynSent ? 0 : ts_recent_};
  if (!syn && sack_ok_ && (!ooo_.empty() || dsack_)) {
    const size_t max = ts_ok_ ? 3 : 4;
    size_t n = 0;
    // RFC 2883 §4: a D-SACK block goes first; the SACK blocks follow as usual.
    if (dsack_) o->sack_blocks[n++] = *dsack_;
    n += ooo_.SackBlocks(o->sack_blocks.data() + n, max - n);
    o->sack_block_count = static_cast<uint8_t>(n);
  }
}

bool TcpConnection::SendSegment(SeqNum seq, TcpFlags flags, size_t data_offset, size_t len,
                                Instant now, bool ect) {
  TcpHeader h;
  h.src_port = tuple_.local_port;
  h.dst_port = tuple_.remote_port;
  h.seq = seq;
  h.flags = flags;
  // RFC 3168 §6.1.3: congestion experienced is echoed on every ACK until the peer's CWR.
  if (flags.ack && !flags.syn && ece_pending_) h.flags.ece = true;
  if (flags.ack) h.ack = rcv_nxt_;
  FillUrgent(&h, seq);
  FillOptions(&h.options, flags.syn, now);
  if (flags.syn) {
    // RFC 7323 §2.2: the window of a SYN is not scaled.
    uint32_t wnd = static_cast<uint32_t>(std::min<size_t>(recv_capacity(), 65535));
    if (opts_.window_clamp != 0) wnd = std::min(wnd, opts_.window_clamp);  // TCP_WINDOW_CLAMP
    h.window = static_cast<uint16_t>(wnd);
    if (state_ != TcpState::kSynSent) rcv_adv_ = SeqMax(rcv_adv_, rcv_nxt_ + wnd);
  } else {
    const uint32_t wnd = WindowToAdvertise();
    const uint32_t field = std::min<uint32_t>(wnd >> rcv_wscale_, 65535);
    h.window = static_cast<uint16_t>(field);
    rcv_adv_ = SeqMax(rcv_adv_, rcv_nxt_ + (field << rcv_wscale_));
  }
  std::pair<ByteSpan, ByteSpan> payload;
  if (len > 0) payload = snd_buf_.Slice(data_offset, len);
  // The ECN field is TCP's (Linux masks it out of IP_TOS): ECT(0) on new data of an ECN
  // connection only — not on SYNs, pure ACKs, retransmissions or probes (§6.1.1, §6.1.4,
  // §6.1.5, §6.1.6).
  const uint8_t tos = static_cast<uint8_t>((opts_.tos & 0xfc) | (ect ? 0x02 : 0));
  const bool ok = env_->Transmit(tuple_, h, payload.first, payload.second, opts_.ttl, tos, now);
  env_->counters().Inc(TcpCounter::kTxSegments);
  if (len > 0) {
    env_->counters().Inc(TcpCounter::kTxDataSegments);
    ++data_segs_out_;
    bytes_sent_ += len;
    last_data_sent_ = now;  // Linux's lsndtime: every data segment, retransmissions too
    if (config_.pacing) pacer_.OnSent(static_cast<uint32_t>(len), PacingRate(), now);
  }
  if (recovery_ == Recovery::kFast) prr_.OnSent(static_cast<uint32_t>(len) + (flags.fin ? 1 : 0));
  ++segs_out_;
  if (flags.ack) {
    last_ack_sent_ = rcv_nxt_;
    dsack_.reset();  // RFC 2883 §4: reported once
    ack_now_ = false;
    delack_deadline_ = Instant::Infinite();
    unacked_bytes_ = 0;
  }
  return ok;
}

void TcpConnection::SendSynSegment(Instant now) {
  TcpFlags f;
  f.syn = true;
  f.ack = state_ == TcpState::kSynReceived;
  // RFC 3168 §6.1.1: an ECN-setup SYN carries ECE and CWR (the first only: a SYN sent
  // again goes without, in case a middlebox drops ECN-setup SYNs, as Linux's
  // tcp_ecn_fallback); the SYN-ACK that accepts one carries ECE alone.
  if (state_ == TcpState::kSynSent && config_.ecn == 1 && retransmits_ == 0) f.ece = f.cwr = true;
  if (state_ == TcpState::kSynReceived && ecn_ok_) f.ece = true;
  snd_nxt_ = SeqMax(snd_nxt_, iss_ + 1);
  // RFC 6298 §3 (Karn): only a SYN sent once is timed.
  if (retransmits_ == 0 && !rtt_timing_) {
    rtt_timing_ = true;
    rtt_seq_ = iss_ + 1;
    rtt_start_ = now;
  }
  if (state_ == TcpState::kSynSent) rcv_adv_ = rcv_nxt_;
  SendSegment(iss_, f, 0, 0, now);
}

void TcpConnection::SendAck(Instant now) {
  if (state_ == TcpState::kClosed || state_ == TcpState::kSynSent ||
      state_ == TcpState::kListen) {
    return;
  }
  TcpFlags f;
  f.ack = true;
  SendSegment(snd_nxt_, f, 0, 0, now);
}

void TcpConnection::SendProbe(Instant now) {
  // <SEQ=SND.UNA-1><CTL=ACK>, no data: outside the peer's window, so it must answer with
  // an ACK that carries its current window (Linux's tcp_xmit_probe_skb; RFC 1122
  // §4.2.3.6 allows this form for keep-alives).
  TcpFlags f;
  f.ack = true;
  SendSegment(snd_una_ - 1, f, 0, 0, now);
}

void TcpConnection::SendRst(SeqNum seq, Instant now, bool with_ack) {
  TcpHeader h;
  h.src_port = tuple_.local_port;
  h.dst_port = tuple_.remote_port;
  h.seq = seq;
  h.flags.rst = true;
  if (with_ack) {
    h.flags.ack = true;
    h.ack = rcv_nxt_;
  }
  env_->Transmit(tuple_, h, {}, {}, opts_.ttl, opts_.tos, now);
  env_->counters().Inc(TcpCounter::kTxSegments);
  env_->counters().Inc(TcpCounter::kTxRst);
}

void TcpConnection::ArmRetransmitTimer(Instant now, bool restart) {
  if (snd_nxt_ == snd_una_) {
    rtx_deadline_ = Instant::Infinite();
    return;
  }
  // RFC 6298 §5.1: start the timer if it is not running; §5.3: restart on new ACKs.
  if (restart || rtx_deadline_.is_infinite()) {
    rtx_deadline_ = now + rtt_.rto();
    rtx_armed_ = now;  // the TCP_USER_TIMEOUT start should this timer expire
    ArmTlp(now);
  }
  persist_deadline_ = Instant::Infinite();
}

void TcpConnection::ArmTlp(Instant now) {
  // RFC 8985 §7.2: a probe timeout of two SRTTs (plus the worst-case delayed ACK when a
  // single segment is out), only in the Open state, with SACK, one probe in flight.
  tlp_deadline_ = Instant::Infinite();
  if (!sack_ok_ || recovery_ != Recovery::kOpen || tlp_in_flight_ || !rtt_.has_sample()) return;
  if (snd_nxt_ == snd_una_ || !IsSynchronized(state_)) return;
  Duration pto = rtt_.srtt() * 2;
  if (static_cast<uint32_t>(snd_nxt_ - snd_una_) <= mss_cache()) pto += std::chrono::milliseconds(200);
  pto = std::max<Duration>(pto, std::chrono::milliseconds(10));
  // §7.2: a probe due after the RTO is sent when the RTO would fire, in its place (Linux's
  // tcp_schedule_loss_probe caps the timeout at the time left to the RTO): a single lost
  // segment at the tail is then repaired by a probe, without the RTO's collapse of cwnd.
  tlp_deadline_ = std::min(now + pto, rtx_deadline_);
}

int TcpConnection::DupThresh() const {
  int thresh = reordering_;
  // RFC 5827 (early retransmit): with fewer than four segments outstanding and nothing new
  // to send, there will never be DupThresh duplicates; one fewer than outstanding suffices.
  if (unsent() == 0 && !(fin_queued_ && !fin_sent_)) {
    const uint32_t smss = std::max<uint32_t>(mss_cache(), 1);
    const uint32_t segs = (static_cast<uint32_t>(snd_nxt_ - snd_una_) + smss - 1) / smss;
    if (segs < 4) thresh = std::min<int>(thresh, std::max<int>(1, static_cast<int>(segs) - 1));
  }
  return thresh;
}

void TcpConnection::NoteRetransmission(SeqNum end, Instant now) {
  rtx_max_ = SeqMax(rtx_max_, end);
  if (dsack_undo_) ++undo_retrans_;  // one segment each (RFC 3708 counting)
  if (!ts_ok_) return;
  if (retrans_stamp_ == 0) {
    retrans_stamp_ = TsNow(now) == 0 ? 1 : TsNow(now);
    retrans_high_ = end;
  } else {
    retrans_high_ = SeqMax(retrans_high_, end);
  }
}

TcpConnection::RtxResult TcpConnection::SendRetransmission(Instant now) {
  // Retransmissions found lost again go first.
  while (!rtx_again_.empty()) {
    RtxRecord r = rtx_again_.back();
    if (r.end <= snd_una_) {
      rtx_again_bytes_ -= std::min(rtx_again_bytes_, static_cast<uint32_t>(r.end - r.start));
      rtx_again_.pop_back();
      continue;
    }
    if (Pipe() + mss_cache() > cc_->cwnd()) return RtxResult::kBlocked;
    rtx_again_bytes_ -= std::min(rtx_again_bytes_, static_cast<uint32_t>(r.end - r.start));
    rtx_again_.pop_back();
    r.start = SeqMax(r.start, snd_una_);
    const SeqNum dend = data_end();
    TcpFlags f;
    f.ack = true;
    uint32_t len = 0;
    if (r.start < dend) {
      len = std::min({static_cast<uint32_t>(r.end - r.start), static_cast<uint32_t>(dend - r.start),
                      MaxPayload()});
      if (fin_sent_ && r.start + len == dend && r.end > dend) f.fin = true;
    } else {
      f.fin = fin_sent_;
      if (!f.fin) continue;
    }
    SendSegment(r.start, f, static_cast<size_t>(r.start - snd_buf_seq_), len, now);
    rack_.OnRetransmit(r.start, r.start + len + (f.fin ? 1 : 0), now);
    rtx_log_.push_back({r.start, r.start + len + (f.fin ? 1 : 0), snd_nxt_, now});
    NoteRetransmission(r.start + len + (f.fin ? 1 : 0), now);
    env_->counters().Inc(TcpCounter::kTxRetransSegments);
    ++total_retrans_;
    bytes_retrans_ += len;
    return RtxResult::kSent;
  }
  const SeqNum lost = LostPoint();
  const SeqNum from = SeqMax(high_rxt_, snd_una_);
  if (from >= lost) return RtxResult::kNone;
  // RFC 6675 §4 NextSeg() rule 1: the first unSACKed byte above HighRxt that is lost.
  SeqNum hole_end;
  const SeqNum start = sack_ok_ ? scoreboard_.NextHole(from, lost, &hole_end) : from;
  if (!sack_ok_) hole_end = lost;
  if (start >= lost) {
    high_rxt_ = lost;
    force_rtx_ = false;
    return RtxResult::kNone;
  }
  // RFC 6675 §5 (C): while cwnd - pipe >= 1 SMSS; the first retransmission of an episode
  // (fast retransmit, RTO) goes regardless.
  if (!force_rtx_ && Pipe() + mss_cache() > cc_->cwnd()) return RtxResult::kBlocked;
  const SeqNum dend = data_end();
  TcpFlags f;
  f.ack = true;
  uint32_t len = 0;
  if (start < dend) {
    len = std::min({static_cast<uint32_t>(hole_end - start), static_cast<uint32_t>(dend - start),
                    MaxPayload()});
    if (fin_sent_ && start + len == dend && hole_end > dend) f.fin = true;
  } else if (fin_sent_ && start == dend) {
    f.fin = true;
  } else {
    force_rtx_ = false;
    return RtxResult::kNone;
  }
  f.psh = len > 0 && start + len == dend;
  SendSegment(start, f, static_cast<size_t>(start - snd_buf_seq_), len, now);
  high_rxt_ = start + len + (f.fin ? 1 : 0);
  rack_.OnRetransmit(start, high_rxt_, now);
  force_rtx_ = false;
  NoteRetransmission(high_rxt_, now);
  if (sack_ok_ && rtx_log_.size() < 4096) rtx_log_.push_back({start, high_rxt_, snd_nxt_, now});
  env_->counters().Inc(TcpCounter::kTxRetransSegments);
  ++total_retrans_;
  bytes_retrans_ += len;
  // RFC 6298 §3 (Karn): a retransmitted segment is not timed.
  if (rtt_timing_ && start < rtt_seq_) rtt_timing_ = false;
  max_pipe_ = std::max(max_pipe_, Pipe());
  return RtxResult::kSent;
}

void TcpConnection::TransmitNew(uint32_t len, bool with_fin, Instant now) {
  // Sending starts again from nothing in flight: CUBIC moves its epoch over the pause.
  if (snd_una_ == snd_nxt_ && len > 0) cc_->OnTxStart(now - last_data_sent_, now);
  TcpFlags f;
  f.ack = true;
  f.fin = with_fin;
  // Linux sets PSH on the segment that empties the queue.
  f.psh = len > 0 && snd_nxt_ + len == data_end();
  // RFC 3168 §6.1.2: the first new data after a reduction carries CWR.
  if (ecn_ok_ && cwr_pending_ && len > 0) {
    f.cwr = true;
    cwr_pending_ = false;
  }
  SendSegment(snd_nxt_, f, static_cast<size_t>(snd_nxt_ - snd_buf_seq_), len, now,
              ecn_ok_ && len > 0);
  rack_.OnSend(snd_nxt_, snd_nxt_ + len + (with_fin ? 1 : 0), now);  // RFC 8985 §6.1
  last_seg_start_ = snd_nxt_;
  if (!rtt_timing_) {
    rtt_timing_ = true;
    rtt_seq_ = snd_nxt_ + len + (with_fin ? 1 : 0);
    rtt_start_ = now;
  }
  snd_nxt_ += len;
  if (with_fin) {
    snd_nxt_ += 1;
    fin_sent_ = true;
  }
  if (len > 0 && len < mss_cache()) snd_sml_ = snd_nxt_;
  cork_deadline_ = Instant::Infinite();
  ArmRetransmitTimer(now, false);
  ArmTlp(now);  // Linux's tcp_schedule_loss_probe after every transmission of new data
}

uint64_t TcpConnection::PacingRate() const {
  if (!config_.pacing) return 0;
  return TcpPacer::Rate(cc_->cwnd(), static_cast<uint32_t>(snd_nxt_ - snd_una_), cc_->ssthresh(),
                        rtt_.srtt());
}

void TcpConnection::MaybeRestartAfterIdle(Instant now) {
  // Linux's tcp_slow_start_after_idle_check: nothing in flight and nothing sent for more
  // than an RTO — the window measured then no longer says what the path takes (RFC 5681
  // §4.1, RFC 7661 §4): restart towards the initial window.
  if (!config_.slow_start_after_idle || snd_una_ != snd_nxt_ || !IsSynchronized(state_)) return;
  const Duration idle = now - last_data_sent_;
  if (idle <= rtt_.rto()) return;
  cc_->RestartAfterIdle(config_.initial_cwnd_segments * mss_cache(), idle, rtt_.rto());
}

bool TcpConnection::SendOne(Instant now, bool* window_blocked) {
  // Pacing: the next data segment waits for its departure time (a forced retransmission,
  // the first of an episode, does not).
  if (config_.pacing && !force_rtx_ &&
      (unsent() > 0 || recovery_ != Recovery::kOpen || lost_until_ > snd_una_ || !rtx_again_.empty())) {
    Instant when;
    if (!pacer_.MaySend(now, &when)) {
      pacing_deadline_ = when;
      return false;
    }
  }
  // Retransmissions first (RFC 6675 §4 NextSeg rule 1).
  if (recovery_ != Recovery::kOpen || lost_until_ > snd_una_ || !rtx_again_.empty()) {
    const RtxResult r = SendRetransmission(now);
    if (r == RtxResult::kSent) return true;
    if (r == RtxResult::kBlocked) return false;
  }
  const SeqNum dend = data_end();
  const bool fin_pending = fin_queued_ && !fin_sent_;
  const uint32_t unsent_bytes = snd_nxt_ < dend ? static_cast<uint32_t>(dend - snd_nxt_) : 0;
  if (unsent_bytes == 0 && !fin_pending) return SendRescue(now) == RtxResult::kSent;

  const int32_t wnd_left = (snd_una_ + snd_wnd_) - snd_nxt_;
  const uint32_t room = wnd_left > 0 ? static_cast<uint32_t>(wnd_left) : 0;
  const uint32_t pipe = Pipe();
  const uint32_t cwnd = cc_->cwnd();
  const uint32_t cwnd_room = cwnd > pipe ? cwnd - pipe : 0;
  uint32_t seg_max = TsoPayload();
  if (config_.pacing && seg_max > MaxPayload()) {
    // Linux's tcp_tso_autosize: a TSO piece is about one pacing quantum, so a large
    // window leaves in many paced pieces rather than a few 64 KB bursts.
    const uint32_t w = MaxPayload();
    seg_max = std::min(seg_max, std::max(w, TcpPacer::BurstBytes(PacingRate(), w) / w * w));
  }

  if (unsent_bytes == 0) {
    // Only the FIN is left. It is sent even into a closed window; the peer ACKs it
    // without taking it and it is retransmitted like data.
    if (cwnd_room == 0 && pipe > 0) return false;
    TransmitNew(0, true, now);
    return true;
  }
  uint32_t len = std::min(unsent_bytes, seg_max);
  // A TSO segment (seg_max above one wire segment) shrinks to the whole wire segments that
  // the peer's window and the congestion window allow, as Linux's tcp_tso_segs and
  // tcp_cwnd_test do; below one wire segment the rules for a plain segment apply.
  const uint32_t wire = MaxPayload();
  if (seg_max > wire && len > room && room >= wire) len = room / wire * wire;
  if (len > room) {
    // RFC 9293 §3.8.6.2.1 (sender SWS avoidance): a segment cut short by the window goes
    // only if it is at least half the largest window the peer has offered.
    if (room == 0 || room < max_snd_wnd_ / 2) {
      *window_blocked = true;
      return SendRescue(now) == RtxResult::kSent;
    }
    len = room;
  }
  if (seg_max > wire && len > cwnd_room && cwnd_room >= wire) len = cwnd_room / wire * wire;
  // RFC 5681 §3.1 / RFC 6675: within the congestion window.
  if (cwnd_room < len) return false;
  if (len % wire != 0 && len == unsent_bytes && !fin_pending) {
    // The last, partial segment of the queue.
    bool hold = false;
    if (urgent_mode()) {
      // tcp_nagle_test: urgent mode sends partial segments whatever Nagle or the cork say.
    } else if (opts_.cork || more_) {
      // TCP_CORK / MSG_MORE: wait for more data, at most the cork ceiling.
      if (cork_deadline_.is_infinite()) cork_deadline_ = now + kCorkCeiling;
      hold = now < cork_deadline_;
    } else if (!opts_.nodelay && snd_sml_ > snd_una_) {
      // Nagle (RFC 9293 §3.7.4) in Minshall's form, as Linux: no second small segment
      // while one is unacknowledged.
      hold = true;
    }
    if (hold) {
      // A TSO segment still carries the whole segments in front of the partial one
      // (Linux's tcp_mss_split_point).
      if (len < wire) return false;
      len -= len % wire;
    }
  }
  const bool with_fin = fin_pending && snd_nxt_ + len == dend;
  TransmitNew(len, with_fin, now);
  max_pipe_ = std::max(max_pipe_, pipe + len);
  return true;
}

void TcpConnection::Output(Instant now) {
  switch (state_) {
    case TcpState::kClosed:
    case TcpState::kListen:
    case TcpState::kSynSent:
      return;
    case TcpState::kSynReceived:
    case TcpState::kTimeWait:
      if (ack_now_) SendAck(now);
      return;
    default:
      break;
  }
  // Some destination's path MTU changed (an ICMP error of another connection to our peer,
  // or an entry that aged out): new segments follow it, as Linux's tcp_current_mss. What
  // is in flight is resent only on this connection's own ICMP error (OnPathMtu).
  if (pmtu_generation_ != env_->PathMtuGeneration()) SyncPathMtu();
  bool window_blocked = false;
  pacing_deadline_ = Instant::Infinite();  // SendOne sets it again if pacing holds data back
  // Bounded: each iteration sends one segment and moves snd_nxt or HighRxt.
  for (int i = 0; i < 100000 && SendOne(now, &window_blocked); ++i) {
  }
  if (ack_now_) SendAck(now);
  // RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: with data waiting, nothing in flight and a
  // window too small to send into, the persist timer keeps probing it.
  const bool pending = unsent() > 0 || (fin_queued_ && !fin_sent_);
  if (pending && snd_una_ == snd_nxt_ && window_blocked) {
    if (persist_deadline_.is_infinite()) {
      const Duration d = std::min(rtt_.base_rto() * (int64_t{1} << std::min(persist_backoff_, 20)),
                                  config_.rto_max);
      persist_deadline_ = now + d;
    }
  } else if (!pending || snd_una_ != snd_nxt_) {
    persist_deadline_ = Instant::Infinite();
  }
  ArmRetransmitTimer(now, false);
  // TCP_INFO's busy and limited times (Linux's tcp_chrono_*).
  if (snd_una_ == snd_nxt_ && !pending) {
    SetChrono(Chrono::kIdle, now);
  } else if (pending && window_blocked) {
    SetChrono(Chrono::kRwndLimited, now);
  } else if (!pending && send_space() == 0) {
    SetChrono(Chrono::kSndbufLimited, now);
  } else {
    SetChrono(Chrono::kBusy, now);
  }
}

}  // namespace pytcp
