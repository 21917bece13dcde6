// The receive side: segment text into the ring (in order or into the out-of-order area),
// the FIN, the window we advertise, receive-buffer auto-tuning and when to ACK.
//
// RFCs to read: RFC 9293 §3.10.7.4 seventh and eighth steps, §3.8.6.2.2 (receiver SWS
// avoidance; the window's right edge is never moved back), §3.8.6.3 and RFC 1122
// §4.2.3.2 (delayed ACKs), RFC 5681 §4.2 (immediate ACKs for out-of-order segments and
// for filling holes), RFC 7323 §2.3 (the scaled window field).
#include <algorithm>
#include <cerrno>

#include "stack/tcp/tcp_connection.h"

namespace pytcp {

void TcpConnection::EnsureBuffers() {
  if (rcv_buf_.capacity() == 0) rcv_buf_.Resize(rcv_capacity_);
  if (snd_buf_.capacity() == 0) snd_buf_.Resize(snd_capacity_);
}

size_t TcpConnection::recv_capacity() const {
  return rcv_buf_.capacity() != 0 ? rcv_buf_.capacity() : rcv_capacity_;
}

void TcpConnection::CommitInOrder(SeqNum new_nxt) {
  const uint32_t n = static_cast<uint32_t>(new_nxt - rcv_nxt_);
  rcv_buf_.Commit(n);
  rcv_nxt_ = new_nxt;
  bytes_received_ += n;
}

void TcpConnection::ReceiveText(const TcpSegment& seg, Instant now) {
  ByteSpan data = seg.payload();
  // Text on a SYN-ACK (the only SYN that gets here, from SYN-SENT) starts after the SYN.
  SeqNum seq = seg.seq() + (seg.flags().syn ? 1u : 0u);
  bool fin = seg.flags().fin;
  const bool had_data = !data.empty();
  if (fin_received_) {
    // The peer's FIN was processed before: this is a retransmission. RFC 9293
    // §3.10.7.4 eighth step: in TIME-WAIT "restart the 2 MSL time-wait timeout"; in any
    // case the ACK is repeated.
    if (state_ == TcpState::kTimeWait && fin) timewait_deadline_ = now + config_.time_wait;
    if (!data.empty()) NoteDuplicate(seq, seq + static_cast<uint32_t>(data.size()));
    ack_now_ = true;
    return;
  }
  if (state_ != TcpState::kEstablished && state_ != TcpState::kFinWait1 &&
      state_ != TcpState::kFinWait2) {
    return;
  }
  // Only the new part of a segment that straddles RCV.NXT is processed.
  if (seq < rcv_nxt_) {
    const uint32_t old = static_cast<uint32_t>(rcv_nxt_ - seq);
    // RFC 2883 §4.1.2: the part received before is reported.
    if (!data.empty()) {
      NoteDuplicate(seq, seq + std::min<uint32_t>(old, static_cast<uint32_t>(data.size())));
    }
    if (old > data.size()) {
      data = {};
      fin = false;
    } else {
      data = data.subspan(old);
    }
    seq = rcv_nxt_;
  }
  // Linux (tcp_rcv_state_process, LINUX_MIB_TCPABORTONDATA): new data for a socket that
  // closed or shut down reading after sending its FIN cannot be delivered: RST.
  if ((orphaned_ || shut_rd_) && !data.empty() &&
      (state_ == TcpState::kFinWait1 || state_ == TcpState::kFinWait2)) {
    env_->counters().Inc(TcpCounter::kAbortOnData);
    SendRst(snd_nxt_, now);
    EnterClosed(0);
    return;
  }
  // Trim what lies beyond the advertised window or the room left in the buffer.
  const SeqNum room_end = rcv_nxt_ + static_cast<uint32_t>(rcv_buf_.free());
  const SeqNum limit = SeqMin(SeqMax(rcv_adv_, rcv_nxt_), room_end);
  if (seq + static_cast<uint32_t>(data.size()) > limit) {
    data = data.first(limit > seq ? static_cast<size_t>(limit - seq) : 0);
    fin = false;
  }
  if (data.empty() && !fin) {
    if (had_data) {
      // Old or out-of-window data: RFC 5681 §4.2 asks for an immediate ACK.
      env_->counters().Inc(seq == rcv_nxt_ && limit > rcv_nxt_ ? TcpCounter::kRxDuplicate
                                                               : TcpCounter::kRxDuplicate);
      ack_now_ = true;
    }
    return;
  }
  if (had_data) {
    // Linux's tcp_measure_rcv_mss: the segment size, never above what we announced. A
    // frame the device coalesced (GRO, up to 64 KB) holds segments of at most our MSS less
    // the options each carries; taken whole, it made rcv_mss 64 KB, so a short GRO frame
    // (the end of a burst, a retransmission) waited for the delayed-ACK timer and the
    // sender's recovery with it (40 ms per loss at 3 % in lab receive runs).
    const uint32_t options = static_cast<uint32_t>(seg.view.header_size() - kTcpMinHeaderSize);
    const uint32_t most = adv_mss_ > options ? adv_mss_ - options : adv_mss_;
    rcv_mss_ = std::max<uint32_t>(
        rcv_mss_, std::min<uint32_t>(static_cast<uint32_t>(seg.payload().size()), most));
    last_data_recv_ = now;
  }
  if (seq == rcv_nxt_) {
    rcv_buf_.WriteAt(rcv_buf_.size(), data);
    SeqNum next = rcv_nxt_ + static_cast<uint32_t>(data.size());
    const bool filled_hole = !ooo_.empty();
    if (filled_hole) next = ooo_.Advance(next);
    CommitInOrder(next);
    if (filled_hole) ack_now_ = true;  // RFC 5681 §4.2: a segment that fills a gap
    if (fin && seq + static_cast<uint32_t>(data.size()) == rcv_nxt_) {
      ProcessFin(now);
    } else if (ooo_fin_ && *ooo_fin_ == rcv_nxt_) {
      ProcessFin(now);
    }
    ScheduleAck(static_cast<uint32_t>(data.size()), now);
    Notify();
    return;
  }
  // Out of order: held beyond RCV.NXT at its offset in the ring (RFC 9293 §3.10.7.4
  // "segments with higher beginning sequence numbers SHOULD be held").
  env_->counters().Inc(TcpCounter::kRxOutOfOrder);
  ++rcv_ooopack_;
  if (!data.empty()) {
    // RFC 2883 §4.1.3: out-of-order data held already.
    if (ooo_.Covers(seq, seq + static_cast<uint32_t>(data.size()))) {
      NoteDuplicate(seq, seq + static_cast<uint32_t>(data.size()));
    }
    if (!ooo_.Add(seq, seq + static_cast<uint32_t>(data.size()))) {
      env_->counters().Inc(TcpCounter::kRxDropOooFull);
      ack_now_ = true;
      return;
    }
    rcv_buf_.WriteAt(rcv_buf_.size() + static_cast<size_t>(seq - rcv_nxt_), data);
  }
  if (fin) ooo_fin_ = seq + static_cast<uint32_t>(data.size());
  // RFC 5681 §4.2: an out-of-order segment is acknowledged at once (a duplicate ACK that
  // carries the SACK blocks).
  ack_now_ = true;
}

void TcpConnection::NoteDuplicate(SeqNum left, SeqNum right) {
  if (!sack_ok_ || !(left < right)) return;
  dsack_ = TcpSackBlock{left, right};
  ack_now_ = true;  // RFC 2883 §4: sent at once, like any ACK for out-of-order data
}

void TcpConnection::ProcessFin(Instant now) {
  // RFC 9293 §3.10.7.4 eighth step.
  rcv_nxt_ += 1;
  bytes_received_ += 1;  // Linux's tcp_rcv_nxt_update counts the FIN's sequence number too
  fin_received_ = true;
  ooo_fin_.reset();
  ack_now_ = true;
  switch (state_) {
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
      state_ = TcpState::kCloseWait;
      break;
    case TcpState::kFinWait1:
      // Our FIN was not acknowledged yet (else we would be in FIN-WAIT-2): simultaneous close.
      if (FinAcked()) {
        EnterTimeWait(now);
      } else {
        state_ = TcpState::kClosing;
      }
      break;
    case TcpState::kFinWait2:
      EnterTimeWait(now);
      break;
    default:
      break;
  }
  Notify();
}

void TcpConnection::ScheduleAck(uint32_t bytes, Instant now) {
  unacked_bytes_ += bytes;
  if (ack_now_) return;
  if (quickack_ > 0 && !pingpong_) {
    // Quick ACKs at the start let the peer's slow start grow without waiting for our
    // delayed-ACK timer (Linux's quick-ACK mode).
    --quickack_;
    ack_now_ = true;
    return;
  }
  // RFC 5681 §4.2: "an ACK SHOULD be generated for at least every second full-sized
  // segment"; otherwise within the delayed-ACK timeout (RFC 1122 §4.2.3.2, < 0.5 s).
  if (static_cast<uint32_t>(rcv_nxt_ - last_ack_sent_) >= 2 * rcv_mss_) {
    ack_now_ = true;
    return;
  }
  if (delack_deadline_.is_infinite()) delack_deadline_ = now + config_.delayed_ack;
}

uint32_t TcpConnection::WindowToAdvertise() const {
  const size_t capacity = recv_capacity();
  const size_t used = rcv_buf_.size();
  const size_t free = capacity > used ? capacity - used : 0;
  const uint64_t field_max = uint64_t{65535} << rcv_wscale_;
  uint64_t wnd = std::min<uint64_t>(free, field_max);
  // TCP_WINDOW_CLAMP bounds the window offered (Linux's window_clamp over rcv_ssthresh).
  if (opts_.window_clamp != 0) wnd = std::min<uint64_t>(wnd, opts_.window_clamp);
  const uint32_t cur = rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  // RFC 9293 §3.8.6.2.2 (receiver SWS avoidance): move the right edge only by at least
  // min(buffer/2, MSS).
  const uint64_t step = std::min<uint64_t>(capacity / 2, rcv_mss_);
  if (wnd > cur && wnd - cur < step) wnd = cur;
  // ... and never move it back (the window may only shrink as data fills it).
  if (wnd < cur) wnd = cur;
  // The scaled field drops the low bits; round up instead when rounding down would
  // shrink the window (Linux's tcp_select_window does the same).
  const uint64_t unit = uint64_t{1} << rcv_wscale_;
  uint64_t rounded = wnd & ~(unit - 1);
  if (rounded < cur) {
    rounded = (wnd + unit - 1) & ~(unit - 1);
    // ... but not past the room in the buffer: each such rounding would move the right
    // edge up to a unit further, ACK after ACK while the application does not read, and
    // the peer's data out there would have to be dropped. Then the edge moves back by
    // less than one unit instead, the granularity the scaled field has anyway (RFC 7323
    // §2.3) and which a sender must tolerate (§2.4).
    if (rounded > free) rounded = wnd & ~(unit - 1);
  }
  return static_cast<uint32_t>(std::min(rounded, field_max));
}

void TcpConnection::AfterAppRead(size_t copied, Instant now) {
  // Receive-buffer auto-tuning (Linux's tcp_rcv_space_adjust, "dynamic right-sizing"):
  // once per RTT, if the application drained more than half the buffer, the buffer
  // grows to twice that, so the window keeps ahead of the bandwidth-delay product.
  copied_in_rtt_ += copied;
  const Duration interval = std::max<Duration>(rtt_.srtt(), std::chrono::milliseconds(1));
  if (now - rcv_rtt_start_ >= interval) {
    if (!rcv_locked_) {
      const size_t max_cap = config_.rcvbuf_max / 2;
      const size_t target = std::min(max_cap, copied_in_rtt_ * 4);
      if (target > rcv_buf_.capacity() && rcv_buf_.capacity() != 0) {
        const size_t next = std::min(max_cap, std::max(target, rcv_buf_.capacity() * 3 / 2));
        rcv_buf_.Resize(next, ooo_.SpanFrom(rcv_nxt_));
        rcv_capacity_ = next;
      }
    }
    copied_in_rtt_ = 0;
    rcv_rtt_start_ = now;
  }
  // Linux's tcp_cleanup_rbuf: after a read, announce the window at once if it at least
  // doubles one that had shrunk to half the buffer or less (this reopens a zero window).
  if (!IsSynchronized(state_) || fin_received_) return;
  const uint32_t cur = rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
  if (size_t{2} * cur <= recv_capacity()) {
    const uint32_t next = WindowToAdvertise();
    if (next > cur && next >= 2 * cur) {
      ack_now_ = true;
      Output(now);
    }
  }
}

void TcpConnection::SetRecvBuffer(size_t bytes, Instant now) {
  (void)now;
  rcv_locked_ = true;
  rcv_capacity_ = std::max<size_t>(bytes / 2, 1024);
  if (rcv_buf_.capacity() != 0) {
    // Never below what is held or promised.
    const uint32_t promised = rcv_adv_ > rcv_nxt_ ? static_cast<uint32_t>(rcv_adv_ - rcv_nxt_) : 0;
    const size_t needed = rcv_buf_.size() + std::max<size_t>(promised, ooo_.SpanFrom(rcv_nxt_));
    rcv_capacity_ = std::max(rcv_capacity_, needed);
    if (rcv_capacity_ != rcv_buf_.capacity()) rcv_buf_.Resize(rcv_capacity_, ooo_.SpanFrom(rcv_nxt_));
  }
}

}  // namespace pytcp
