// Per-connection behaviour of socket options that change how TCP itself acts, each as
// Linux's do_tcp_setsockopt and the code it reaches: TCP_QUICKACK (pingpong mode),
// TCP_WINDOW_CLAMP (tcp_set_window_clamp), TCP_LINGER2 (tcp_fin_time), TCP_DEFER_ACCEPT
// (tcp_check_req, syn_ack_recalc). TCP_SYNCNT and TCP_NOTSENT_LOWAT are read where the
// SYN timer and the send path decide (tcp_timers.cc, tcp_send.cc).
#include <algorithm>

#include "stack/tcp/tcp_connection.h"

namespace pytcp {

void TcpConnection::SetQuickAck(int value, Instant now) {
  // __tcp_sock_set_quickack: 0 enters pingpong mode (delayed ACKs, no quick ACKs). Any
  // other value leaves it, and an ACK that is due goes now; an even value enters pingpong
  // mode again afterwards. It is a switch, not a setting: the delayed-ACK timer leaves
  // pingpong mode again (tcp_delack_timer_handler).
  if (value == 0) {
    pingpong_ = true;
    return;
  }
  pingpong_ = false;
  if ((state_ == TcpState::kEstablished || state_ == TcpState::kCloseWait) &&
      !delack_deadline_.is_infinite()) {
    ack_now_ = true;
    Output(now);
    if ((value & 1) == 0) pingpong_ = true;
  }
}

uint32_t TcpConnection::window_clamp() const {
  if (opts_.window_clamp != 0) return opts_.window_clamp;
  // Linux's tcp_select_initial_window / tcp_init_buffer_space bound it by the largest
  // window the buffer and the scale allow.
  const uint64_t field_max = uint64_t{65535} << rcv_wscale_;
  return static_cast<uint32_t>(
      std::min<uint64_t>(field_max, std::max(recv_capacity(), config_.rcvbuf_max / 2)));
}

Duration TcpConnection::FinTime() const {
  // tcp_fin_time: TCP_LINGER2 (else tcp_fin_timeout), at least 3.5 RTOs.
  Duration t = opts_.linger2.count() > 0 ? opts_.linger2 : config_.fin_timeout;
  const Duration rto = rtt_.rto();
  return std::max(t, rto * 4 - rto / 2);
}

bool TcpConnection::DeferBareAck(const TcpSegment& seg) {
  // tcp_check_req: "While TCP_DEFER_ACCEPT is active, drop bare ACK." The handshake stays
  // unfinished (Linux keeps the request socket) until data comes or the deferral ends
  // (counted in SYN-ACK timeouts); then the last SYN-ACK draws an ACK that is taken.
  if (!passive_ || opts_.defer_accept == 0) return false;
  if (retransmits_ >= opts_.defer_accept) return false;
  if (!seg.payload().empty() || seg.flags().fin) return false;
  defer_acked_ = true;
  return true;
}

}  // namespace pytcp
