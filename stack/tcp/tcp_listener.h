// A listening endpoint (RFC 9293 §3.10.1 passive OPEN): the SYN queue of connections in
// SYN-RECEIVED and the accept queue of established ones, both bounded by the backlog,
// as Linux bounds them.
//
// RFCs to read: RFC 9293 §3.10.7.2 (segments arriving in LISTEN), RFC 4987 (SYN flooding
// and its defences: a bounded SYN queue, SYN cookies when it overflows — tcp_syn_cookie
// in tcp_isn.h).
//
// Linux's rules, followed here: a SYN is dropped while the accept queue is full
// (sk_acceptq_is_full: more than `backlog` waiting); SYN cookies are used once the SYN
// queue holds `backlog` embryonic connections; a final ACK that would overflow the accept
// queue is dropped, and the peer's retransmission (or our SYN-ACK retransmission) tries
// again later.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>

#include "stack/net/ip_address.h"
#include "stack/tcp/tcp_connection.h"

namespace pytcp {

class TcpListener {
 public:
  TcpListener(const SocketAddress& local, int backlog, const TcpConnectionOptions& options)
      : local_(local), backlog_(backlog), options_(options) {}

  const SocketAddress& local() const { return local_; }
  int backlog() const { return backlog_; }
  void set_backlog(int backlog) { backlog_ = backlog; }
  const TcpConnectionOptions& options() const { return options_; }
  TcpConnectionOptions& options() { return options_; }
  void set_observer(TcpObserver* o) { observer_ = o; }
  // SO_REUSEADDR of the listening socket, inherited by its connections' port usage.
  bool reuse_addr = false;

  bool AcceptQueueFull() const { return accept_queue_.size() > static_cast<size_t>(backlog_); }
  bool SynQueueFull() const { return embryonic_ > static_cast<size_t>(backlog_); }
  size_t embryonic() const { return embryonic_; }
  size_t pending() const { return accept_queue_.size(); }

  // The engine created a passive connection for a SYN.
  void AddEmbryonic() { ++embryonic_; }
  // A connection in the SYN queue reached ESTABLISHED (its listener_ is still set) or
  // ended before that.
  void OnEstablished(std::shared_ptr<TcpConnection> conn);
  void OnEmbryonicClosed() {
    if (embryonic_ > 0) --embryonic_;
  }

  // SYN cookies (RFC 4987 §3.6) are answered only while the SYN queue is overflowing:
  // Linux's tcp_synq_overflow notes when it last did, and cookie_v4_check ignores an ACK
  // (tcp_synq_no_recent_overflow) unless that was within TCP_SYNCOOKIE_VALID, the two
  // minutes a cookie lives. Otherwise every listener would accept a connection from
  // anyone who guesses a cookie (24 bits of hash), not only one under attack.
  void NoteOverflow(Instant now) { last_overflow_ = now; }
  bool RecentOverflow(Instant now) const {
    return last_overflow_ && now - *last_overflow_ <= kSynCookieValid;
  }
  static constexpr Duration kSynCookieValid = std::chrono::minutes(2);

  // accept(): the oldest established connection, or nullptr.
  std::shared_ptr<TcpConnection> Accept();

  // close() of the listening socket: queued connections that were never accepted are
  // reset (Linux's inet_csk_listen_stop).
  std::deque<std::shared_ptr<TcpConnection>> TakeQueue() {
    auto q = std::move(accept_queue_);
    accept_queue_.clear();
    return q;
  }

 private:
  SocketAddress local_;
  int backlog_;
  TcpConnectionOptions options_;  // inherited by accepted connections
  TcpObserver* observer_ = nullptr;
  size_t embryonic_ = 0;
  std::optional<Instant> last_overflow_;
  std::deque<std::shared_ptr<TcpConnection>> accept_queue_;
};

}  // namespace pytcp
