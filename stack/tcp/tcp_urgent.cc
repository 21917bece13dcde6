// Urgent data as Linux implements it (RFC 9293 §3.8.5 and §3.10.7.4 sixth step, RFC 6093).
//
// RFC 6093 §4-§5: every stack in use reads the urgent pointer as pointing *past* the last
// urgent byte (the "BSD interpretation", Linux's tcp_stdurg = 0) and takes one byte, the
// last, out of the stream as "out-of-band" data unless SO_OOBINLINE. This file follows
// Linux function by function: the sender sets SND.UP at the end of a send(MSG_OOB) and
// marks every segment sent while SND.UP is ahead (tcp_mark_urg, __tcp_transmit_skb); the
// receiver records a new pointer (tcp_check_urg, which also raises SIGURG), takes the byte
// when it arrives (tcp_urg), reads stop at the mark and skip the byte (tcp_recvmsg_locked),
// and recv(MSG_OOB) returns it once (tcp_recv_urg).
#include <cerrno>

#include "stack/tcp/tcp_connection.h"

namespace pytcp {

void TcpConnection::FillUrgent(TcpHeader* h, SeqNum seq) {
  if (!snd_urg_) return;
  // Linux's tcp_clean_rtx_queue: urgent mode ends once SND.UNA passes SND.UP.
  if (!(snd_una_ < snd_up_)) {
    snd_urg_ = false;
    return;
  }
  if (!(seq < snd_up_)) return;
  // The 16-bit pointer reaches 64 KiB ahead; a segment further back says 0xFFFF, "more
  // urgent data is ahead" (RFC 6093 §4 allows any of these as long as URG is set).
  if (snd_up_ < seq + 0x10000u) {
    h->flags.urg = true;
    h->urgent_pointer = static_cast<uint16_t>(snd_up_ - seq);
  } else if (seq + 0xFFFFu > snd_nxt_) {
    h->flags.urg = true;
    h->urgent_pointer = 0xFFFF;
  }
}

void TcpConnection::ProcessUrg(const TcpSegment& seg) {
  const TcpFlags f = seg.flags();
  if (f.urg) {
    // tcp_check_urg: the pointer points past the urgent byte (tcp_stdurg = 0).
    uint32_t ptr = seg.view.urgent_pointer();
    if (ptr != 0) --ptr;
    const SeqNum p = seg.seq() + ptr;
    const SeqNum copied = CopiedSeq();
    // Ignored when it was read already, lies below RCV.NXT (a replay, or data held out of
    // order that cannot be fetched any more), or is not newer than the pointer we have.
    const bool stale = copied > p || p < rcv_nxt_ || (urg_data_ != 0 && !(p > urg_seq_));
    if (!stale) {
      if (observer_ != nullptr) observer_->OnTcpUrgent();
      // The previous urgent byte at the read position, not yet read with MSG_OOB: it would
      // be read as data once the mark moves, so it is dropped now, as Linux does.
      if (urg_data_ != 0 && urg_seq_ == copied && !opts_.oobinline && rcv_buf_.size() > 0) {
        rcv_buf_.Consume(1);
      }
      urg_data_ = kUrgNotYet;
      urg_seq_ = p;
    }
  }
  // tcp_urg: is the announced byte in this segment?
  if (urg_data_ == kUrgNotYet) {
    const SeqNum start = seg.seq() + (f.syn ? 1u : 0u);
    const uint32_t off = static_cast<uint32_t>(urg_seq_ - start);
    if (off < seg.payload().size()) {
      urg_data_ = static_cast<uint16_t>(kUrgValid | seg.payload()[off]);
      Notify();
    }
  }
}

int TcpConnection::RecvUrgent(uint8_t* byte, bool peek, bool* eof) {
  *eof = false;
  // tcp_recv_urg: "No URG data to read" is EINVAL ("Yes this is right!").
  if (opts_.oobinline || urg_data_ == 0 || urg_data_ == kUrgRead) return EINVAL;
  if (state_ == TcpState::kClosed && !fin_received_ && !done_) return ENOTCONN;
  if ((urg_data_ & kUrgValid) != 0) {
    *byte = static_cast<uint8_t>(urg_data_ & 0xff);
    if (!peek) urg_data_ = kUrgRead;
    return 0;
  }
  if (state_ == TcpState::kClosed || fin_received_ || shut_rd_) {
    *eof = true;
    return 0;
  }
  // Announced but not arrived: never blocks, whatever the socket's mode (BSD and Linux).
  return EAGAIN;
}

size_t TcpConnection::readable_data() const {
  size_t n = rcv_buf_.size();
  if (n > 0 && urg_data_ != 0 && urg_seq_ == CopiedSeq() && !opts_.oobinline) --n;
  return n;
}

}  // namespace pytcp
