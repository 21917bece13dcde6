#include "stack/socket/tcp_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>

#include "stack/base/cancel.h"
#include "stack/socket/message_parts.h"

namespace pytcp {
namespace {

template <typename T>
SysResult<void> ReadValue(const void* value, socklen_t len, T* out) {
  if (value == nullptr || len < static_cast<socklen_t>(sizeof(T))) return Err{EINVAL};
  std::memcpy(out, value, sizeof(T));
  return Ok();
}

template <typename T>
SysResult<void> WriteValue(void* value, socklen_t* len, const T& v) {
  if (value == nullptr || len == nullptr) return Err{EFAULT};
  const socklen_t n = std::min<socklen_t>(*len, sizeof(T));
  std::memcpy(value, &v, static_cast<size_t>(n));
  *len = n;
  return Ok();
}

// Linux's limits (include/net/tcp.h).
constexpr int kMaxKeepIdle = 32767;
constexpr int kMaxKeepIntvl = 32767;
constexpr int kMaxKeepCnt = 127;
constexpr int kMinMss = 88;       // TCP_MIN_MSS
constexpr int kMaxWindow = 32767; // MAX_TCP_WINDOW, TCP_MAXSEG's upper bound
constexpr int kMaxSynCnt = 127;   // MAX_TCP_SYNCNT
constexpr int kMaxFinTimeout = 120;  // TCP_FIN_TIMEOUT_MAX, seconds

// TCP_DEFER_ACCEPT is kept as a number of SYN-ACK timeouts (Linux's secs_to_retrans and
// retrans_to_secs with TCP_TIMEOUT_INIT = 1 s and TCP_RTO_MAX = 120 s): getsockopt returns
// the seconds those retransmissions cover, so 2 reads back as 3 and 4 as 7.
constexpr int kDeferTimeoutInit = 1;
constexpr int kDeferRtoMax = 120;

uint8_t SecsToRetrans(int seconds) {
  uint8_t res = 0;
  if (seconds > 0) {
    int timeout = kDeferTimeoutInit;
    int period = timeout;
    res = 1;
    while (seconds > period && res < 255) {
      ++res;
      timeout = std::min(timeout << 1, kDeferRtoMax);
      period += timeout;
    }
  }
  return res;
}

int RetransToSecs(uint8_t retrans) {
  int period = 0;
  if (retrans > 0) {
    int timeout = kDeferTimeoutInit;
    period = timeout;
    while (--retrans != 0) {
      timeout = std::min(timeout << 1, kDeferRtoMax);
      period += timeout;
    }
  }
  return period;
}

// send(2): EPIPE also raises SIGPIPE in the calling thread unless MSG_NOSIGNAL.
SysResult<size_t> Epipe(int flags) {
  if ((flags & MSG_NOSIGNAL) == 0) raise(SIGPIPE);
  return Err{EPIPE};
}

}  // namespace

TcpSocket::TcpSocket(SocketContext ctx, TcpEngine* tcp)
    : Socket(std::move(ctx), SOCK_STREAM, IPPROTO_TCP), tcp_(tcp) {
  // What getsockopt reports on a fresh Linux TCP socket (tcp_rmem[1], tcp_wmem[1]).
  rcvbuf_ = static_cast<int>(tcp_->config().rcvbuf_initial);
  sndbuf_ = static_cast<int>(tcp_->config().sndbuf_initial);
  mtu_discover_ = IP_PMTUDISC_WANT;
}

TcpSocket::TcpSocket(SocketContext ctx, TcpEngine* tcp, std::shared_ptr<TcpConnection> conn)
    : TcpSocket(std::move(ctx), tcp) {
  conn_ = std::move(conn);
  opts_ = conn_->options();
  conn_->set_observer(this);
  port_.local = conn_->tuple().local();
  phase_ = Phase::kConnected;
  keepalive_ = opts_.keepalive;
  if (opts_.rcvbuf > 0) rcvbuf_ = static_cast<int>(opts_.rcvbuf);
  if (opts_.sndbuf > 0) sndbuf_ = static_cast<int>(opts_.sndbuf);
  ttl_ = opts_.ttl;
  tos_ = opts_.tos;
  oobinline_ = opts_.oobinline;
}

TcpSocket::~TcpSocket() { Close(); }

void TcpSocket::KickIf(Instant before) {
  if (conn_ == nullptr) return;
  // Every call into the connection ends here: the engine re-files its deadline, and the
  // event loop, asleep until the old earliest deadline, is woken when it moved earlier.
  tcp_->UpdateTimer(conn_.get());
  if (conn_->NextDeadline() < before && ctx_.kick) ctx_.kick();
}

TcpState TcpSocket::state() const {
  std::lock_guard lock(*ctx_.mu);
  if (listener_) return TcpState::kListen;
  return conn_ ? conn_->state() : TcpState::kClosed;
}

int TcpSocket::TakeSocketError() {
  int e = TakePendingErrorLocked();
  if (conn_ != nullptr) {
    const int c = conn_->TakeError();
    if (e == 0) e = c;
  }
  return e;
}

bool TcpSocket::WaitingForConnect() const {
  return conn_ != nullptr &&
         (conn_->state() == TcpState::kSynSent || conn_->state() == TcpState::kSynReceived);
}

void TcpSocket::Close() {
  std::unique_lock lock(*ctx_.mu);
  if (closed_) return;
  const Instant now = Now();
  if (listener_) {
    tcp_->CloseListener(listener_, &port_, now);
    listener_.reset();
  } else if (conn_) {
    const bool abort = linger_on_ && linger_seconds_ == 0;
    const Instant before = conn_->NextDeadline();
    tcp_->CloseConnection(conn_, abort, now);
    KickIf(before);
    if (linger_on_ && linger_seconds_ > 0 && !nonblocking_) {
      // SO_LINGER: close() waits until the data and the FIN are acknowledged (or the
      // connection ends), at most the linger time. Not a place to be cancelled: the
      // socket must end up closed, and close_range/dup2 reach here too (not cancellation
      // points, noexcept in glibc).
      CancelGuard no_cancel(CancelGuard::kNoWindows);
      (void)WaitLocked(
          lock,
          [&] {
            const TcpState s = conn_->state();
            return s == TcpState::kClosed || s == TcpState::kTimeWait ||
                   s == TcpState::kFinWait2;
          },
          std::chrono::seconds(linger_seconds_), false);
    }
    conn_->set_observer(nullptr);
  } else {
    tcp_->Unbind(&port_);
  }
  closed_ = true;
  NotifyLocked();
}

SysResult<void> TcpSocket::Bind(const SocketAddress& addr) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (port_.registered || conn_ || listener_) return Err{EINVAL};
  SyncPortLocked();
  auto r = tcp_->Bind(&port_, addr);
  // __inet6_bind: a specific IPv6 address makes the socket IPV6_V6ONLY.
  if (r.ok()) v6only_ = port_.v6only;
  return r;
}

void TcpSocket::SyncPortLocked() {
  port_.reuse_addr = reuse_addr_;
  port_.reuse_port = reuse_port_;
  port_.ipv6 = family_ == AF_INET6;
  port_.v6only = v6only_;
}

void TcpSocket::SyncPortAndOptionsLocked() {
  SyncPortLocked();
  opts_.keepalive = keepalive_;
  opts_.ttl = ttl_;
  opts_.tos = tos_;
}

bool TcpSocket::HasPortLocked() const {
  return port_.registered || listener_ != nullptr ||
         (conn_ != nullptr && conn_->state() != TcpState::kClosed);
}

SysResult<void> TcpSocket::Listen(int backlog) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (listener_) {
    // listen() again only changes the backlog.
    listener_->set_backlog(std::clamp(backlog, 0, tcp_->config().max_backlog));
    return Ok();
  }
  if (conn_ && conn_->state() != TcpState::kClosed) return Err{EINVAL};
  SyncPortAndOptionsLocked();
  auto l = tcp_->Listen(&port_, backlog, opts_);
  if (!l.ok()) return Err{l.error()};
  listener_ = *l;
  listener_->set_observer(this);
  conn_.reset();
  phase_ = Phase::kUnconnected;
  NotifyLocked();
  return Ok();
}

SysResult<std::shared_ptr<TcpSocket>> TcpSocket::Accept(SocketAddress* peer, int flags) {
  std::unique_lock lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (!listener_) return Err{EINVAL};
  if ((flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != 0) return Err{EINVAL};
  // accept(2) honours SO_RCVTIMEO.
  const int err = WaitLocked(
      lock, [&] { return closed_ || !listener_ || listener_->pending() > 0; }, rcv_timeout_,
      false);
  if (err != 0) return Err{err};
  if (closed_) return Err{EBADF};
  if (!listener_) return Err{EINVAL};
  auto conn = listener_->Accept();
  auto sock = std::make_shared<TcpSocket>(ctx_, tcp_, conn);
  sock->set_family(family_);  // accept(2): the listener's family
  if ((flags & SOCK_NONBLOCK) != 0) sock->set_nonblocking(true);
  if (peer != nullptr) *peer = conn->tuple().remote();
  NotifyLocked();
  return sock;
}

SysResult<void> TcpSocket::Connect(const SocketAddress& to) {
  std::unique_lock lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  // Linux's __inet_stream_connect, state by state.
  if (listener_) return Err{EISCONN};
  int err = 0;
  switch (phase_) {
    case Phase::kConnected:
      return Err{EISCONN};
    case Phase::kConnecting:
      err = EALREADY;
      break;
    case Phase::kUnconnected: {
      if (conn_ && conn_->state() != TcpState::kClosed) return Err{EISCONN};
      SyncPortAndOptionsLocked();
      if (family_ == AF_INET6 && unicast_hops_ >= 0) opts_.ttl = static_cast<uint8_t>(unicast_hops_);
      opts_.user_mss = user_mss_;
      auto c = tcp_->Connect(&port_, to, opts_, Now());
      if (!c.ok()) return Err{c.error()};
      if (conn_) conn_->set_observer(nullptr);
      conn_ = *c;
      conn_->set_observer(this);
      if (pingpong_) conn_->SetQuickAck(0, Now());  // TCP_QUICKACK 0 before connect()
      pending_error_ = 0;
      phase_ = Phase::kConnecting;
      if (ctx_.kick) ctx_.kick();
      NotifyLocked();
      err = EINPROGRESS;
      break;
    }
  }
  if (WaitingForConnect()) {
    // Non-blocking: EINPROGRESS the first time, EALREADY after. Blocking: wait for the
    // handshake, at most SO_SNDTIMEO (then EINPROGRESS, as Linux).
    if (nonblocking_) return Err{err};
    const int w = WaitLocked(lock, [&] { return closed_ || !WaitingForConnect(); }, snd_timeout_,
                             false);
    if (w == EAGAIN) return Err{EINPROGRESS};
    if (w != 0) return Err{w};
    if (closed_) return Err{EBADF};
  }
  if (conn_->state() == TcpState::kClosed) {
    // Refused, timed out, unreachable: report the error once and start over.
    phase_ = Phase::kUnconnected;
    const int e = TakeSocketError();
    return Err{e != 0 ? e : ECONNABORTED};
  }
  phase_ = Phase::kConnected;
  return Ok();
}

SysResult<size_t> TcpSocket::Send(ByteSpan data, int flags) {
  std::unique_lock lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if ((flags & ~(MSG_OOB | MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE | MSG_WAITALL | MSG_EOR |
                 MSG_CONFIRM | MSG_DONTROUTE)) != 0) {
    return Err{EOPNOTSUPP};
  }
  const bool urgent = (flags & MSG_OOB) != 0;  // the last byte queued is urgent
  if (listener_ || !conn_) return Epipe(flags);
  const bool nonblocking = nonblocking_ || (flags & MSG_DONTWAIT) != 0;
  const bool more = (flags & MSG_MORE) != 0;
  size_t copied = 0;
  while (true) {
    // tcp_sendmsg: wait for the connection (sk_stream_wait_connect) ...
    if (WaitingForConnect()) {
      const int w = WaitLocked(lock, [&] { return closed_ || !WaitingForConnect(); },
                               snd_timeout_, nonblocking);
      if (w != 0) return Err{w};
      if (closed_) return Err{EBADF};
      continue;
    }
    if (conn_->error() != 0) {
      if (copied > 0) return copied;
      return Err{TakeSocketError()};
    }
    const TcpState s = conn_->state();
    if (shut_wr_ || conn_->shut_wr() ||
        (s != TcpState::kEstablished && s != TcpState::kCloseWait)) {
      if (copied > 0) return copied;
      return Epipe(flags);
    }
    const Instant before = conn_->NextDeadline();
    const size_t n = conn_->Send(data.subspan(copied), more, Now(), urgent);
    KickIf(before);
    copied += n;
    if (copied == data.size()) return copied;
    // ... and for room in the send buffer (sk_stream_wait_memory).
    const int w = WaitLocked(
        lock,
        [&] {
          return closed_ || conn_->writable() || conn_->error() != 0 ||
                 conn_->state() != s || conn_->shut_wr();
        },
        snd_timeout_, nonblocking);
    if (w != 0) {
      if (copied > 0) return copied;
      return Err{w};
    }
    if (closed_) return copied > 0 ? SysResult<size_t>(copied) : SysResult<size_t>(Err{EBADF});
  }
}

SysResult<size_t> TcpSocket::Recv(MutableByteSpan buf, int flags) {
  std::unique_lock lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if ((flags & MSG_OOB) != 0) {
    lock.unlock();
    int out_flags = 0;
    const MutableByteSpan parts[] = {buf};
    return RecvUrgent(parts, flags, &out_flags);
  }
  if ((flags & MSG_ERRQUEUE) != 0) return Err{EAGAIN};
  if (listener_ || !conn_) return Err{ENOTCONN};
  const bool peek = (flags & MSG_PEEK) != 0;
  const bool nonblocking = nonblocking_ || (flags & MSG_DONTWAIT) != 0;
  // MSG_WAITALL waits for the whole buffer (not with MSG_PEEK, as Linux); otherwise
  // SO_RCVLOWAT's bytes, at most the buffer (sock_rcvlowat).
  const size_t target = (flags & MSG_WAITALL) != 0 && !peek
                            ? buf.size()
                            : std::min(buf.size(), static_cast<size_t>(rcvlowat_));
  if (buf.empty()) return size_t{0};
  size_t copied = 0;
  while (true) {
    const Instant before = conn_->NextDeadline();
    const size_t n = conn_->Recv(buf.subspan(copied), peek, Now());
    KickIf(before);
    copied += n;
    if (copied >= target || (peek && copied > 0)) break;
    // tcp_recvmsg_locked: a read that has something stops at the urgent mark, whatever
    // the target (MSG_WAITALL, SO_RCVLOWAT).
    if (copied > 0 && conn_->stop_at_mark()) break;
    if (conn_->error() != 0) {
      if (copied > 0) break;
      return Err{TakeSocketError()};
    }
    // End of stream: the peer's FIN, shutdown(SHUT_RD) or a connection that ended.
    if (conn_->fin_received() || shut_rd_ || conn_->done()) break;
    if (conn_->state() == TcpState::kClosed) {
      if (copied > 0) break;
      return Err{ENOTCONN};
    }
    const int w = WaitLocked(
        lock,
        [&] {
          return closed_ || conn_->readable_data() > 0 || conn_->fin_received() || shut_rd_ ||
                 conn_->done() || conn_->error() != 0;
        },
        rcv_timeout_, nonblocking);
    if (w != 0) {
      if (copied > 0) break;
      return Err{w};
    }
    if (closed_) return copied > 0 ? SysResult<size_t>(copied) : SysResult<size_t>(Err{EBADF});
  }
  return copied;
}

SysResult<void> TcpSocket::Shutdown(int how) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return Err{EINVAL};
  const Instant now = Now();
  if (listener_) {
    // Linux (inet_shutdown on LISTEN): shutting down reading stops listening.
    if (how == SHUT_WR) return Ok();
    tcp_->CloseListener(listener_, &port_, now);
    listener_.reset();
    NotifyLocked();
    return Ok();
  }
  if (!conn_ || conn_->state() == TcpState::kClosed) {
    if (how != SHUT_WR) shut_rd_ = true;
    if (how != SHUT_RD) shut_wr_ = true;
    NotifyLocked();
    return Err{ENOTCONN};
  }
  const Instant before = conn_->NextDeadline();
  if (conn_->state() == TcpState::kSynSent) {
    // Linux disconnects a connecting socket (tcp_disconnect: sk_err = ECONNRESET).
    tcp_->CloseConnection(conn_, /*abort=*/false, now);
    conn_.reset();  // back to TCP_CLOSE with no shutdown recorded (sk_shutdown = 0)
    phase_ = Phase::kUnconnected;
    pending_error_ = ECONNRESET;
    NotifyLocked();
    return Ok();
  }
  if (how != SHUT_WR) {
    shut_rd_ = true;
    conn_->ShutdownRead();
  }
  if (how != SHUT_RD) {
    shut_wr_ = true;
    conn_->ShutdownWrite(now);
  }
  KickIf(before);
  NotifyLocked();
  return Ok();
}

SysResult<SocketAddress> TcpSocket::LocalAddress() const {
  std::lock_guard lock(*ctx_.mu);
  SocketAddress a = conn_ ? conn_->tuple().local() : port_.local;
  if (a.ip.is_unspecified()) a.ip = family_ == AF_INET6 ? IpAddress() : IpAddress(Ip4Address());
  return a;
}

SysResult<SocketAddress> TcpSocket::PeerAddress() const {
  std::lock_guard lock(*ctx_.mu);
  // inet_getname: ENOTCONN in CLOSE and SYN_SENT.
  if (!conn_ || conn_->state() == TcpState::kClosed || conn_->state() == TcpState::kSynSent) {
    return Err{ENOTCONN};
  }
  return conn_->tuple().remote();
}

size_t TcpSocket::ReadableBytes() const {
  std::lock_guard lock(*ctx_.mu);
  return conn_ ? conn_->readable() : 0;
}

SysResult<bool> TcpSocket::AtMark() const {
  std::lock_guard lock(*ctx_.mu);
  // tcp_ioctl SIOCATMARK: urg_data set and urg_seq == copied_seq (0 on a listener).
  return conn_ != nullptr && conn_->at_mark();
}

void TcpSocket::OnTcpUrgent() {
  // sk_send_sigurg: SIGURG to the F_SETOWN owner (a negative owner is a process group,
  // as kill() takes it).
  const int o = owner();
  if (o != 0) kill(o, SIGURG);
}

SysResult<size_t> TcpSocket::RecvUrgent(std::span<const MutableByteSpan> parts, int flags,
                                        int* out_flags) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (listener_) return Err{ENOTCONN};  // tcp_recvmsg_locked on TCP_LISTEN
  if (!conn_) return Err{EINVAL};  // tcp_recv_urg: no urgent data
  uint8_t byte = 0;
  bool eof = false;
  const int e = conn_->RecvUrgent(&byte, (flags & MSG_PEEK) != 0, &eof);
  if (e != 0) return Err{e};
  if (eof) return size_t{0};
  NotifyLocked();  // POLLPRI ends
  *out_flags |= MSG_OOB;
  for (const MutableByteSpan& p : parts) {
    if (p.empty()) continue;
    if ((flags & MSG_TRUNC) == 0) p[0] = byte;
    return size_t{1};
  }
  *out_flags |= MSG_TRUNC;  // a zero-length buffer: the byte is gone all the same
  return size_t{0};
}

size_t TcpSocket::QueueLength() const {
  std::lock_guard lock(*ctx_.mu);
  return listener_ ? listener_->pending() : 0;
}

size_t TcpSocket::UnsentBytes() const {
  std::lock_guard lock(*ctx_.mu);
  return conn_ ? conn_->send_queued() : 0;
}

ReadinessMask TcpSocket::PollLocked() const {
  // Linux's tcp_poll / inet_csk_listen_poll.
  if (listener_) return listener_->pending() > 0 ? (POLLIN | POLLRDNORM) : 0;
  ReadinessMask m = 0;
  const TcpState s = conn_ ? conn_->state() : TcpState::kClosed;
  const bool done = conn_ && conn_->done();
  const bool rcv_shutdown = shut_rd_ || done || (conn_ && conn_->fin_received());
  const bool snd_shutdown = shut_wr_ || done;
  if ((rcv_shutdown && snd_shutdown) || s == TcpState::kClosed) m |= POLLHUP;
  if (rcv_shutdown) m |= POLLIN | POLLRDNORM | POLLRDHUP;
  if (s != TcpState::kSynSent && s != TcpState::kSynReceived) {
    // tcp_stream_is_readable: SO_RCVLOWAT's bytes at least.
    // An urgent byte at the mark that is out of the stream does not count (target + 1).
    if (conn_ && conn_->readable_data() > 0 &&
        conn_->readable_data() >= static_cast<size_t>(rcvlowat_)) {
      m |= POLLIN | POLLRDNORM;
    }
    if (conn_ && conn_->urgent_valid()) m |= POLLPRI;  // the urgent byte is there
    if (!snd_shutdown) {
      if (!conn_ || conn_->writable() || s == TcpState::kClosed) m |= POLLOUT | POLLWRNORM;
    } else {
      m |= POLLOUT | POLLWRNORM;
    }
  }
  if (pending_error_ != 0 || (conn_ && conn_->error() != 0)) m |= POLLERR;
  return m;
}

SysResult<void> TcpSocket::SetOption(int level, int name, const void* value, socklen_t len) {
  std::lock_guard lock(*ctx_.mu);
  const Instant now = Now();
  const Instant before = conn_ ? conn_->NextDeadline() : Instant::Infinite();
  if (level == SOL_SOCKET) {
    if (name == SO_LINGER) {
      linger l{};
      if (auto r = ReadValue(value, len, &l); !r.ok()) return r;
      linger_on_ = l.l_onoff != 0;
      linger_seconds_ = std::max(l.l_linger, 0);
      return Ok();
    }
    auto r = Socket::SetOption(level, name, value, len);
    if (!r.ok()) return r;
    switch (name) {
      case SO_REUSEADDR:
        // inet_csk_bind_conflict reads sk_reuse when a later bind looks: set after this
        // socket was bound, it still lets a bind that also sets it share the port.
        if (port_.registered) port_.reuse_addr = reuse_addr_;
        break;
      case SO_OOBINLINE:
        opts_.oobinline = oobinline_;
        if (conn_) conn_->set_oobinline(oobinline_);
        if (listener_) listener_->options().oobinline = oobinline_;
        NotifyLocked();
        break;
      case SO_KEEPALIVE:
        opts_.keepalive = keepalive_;
        if (conn_) conn_->set_keepalive(keepalive_, now);
        if (listener_) listener_->options().keepalive = keepalive_;
        break;
      case SO_RCVBUF:
      case SO_RCVBUFFORCE:
        opts_.rcvbuf = static_cast<size_t>(rcvbuf_);
        if (conn_) conn_->SetRecvBuffer(opts_.rcvbuf, now);
        if (listener_) listener_->options().rcvbuf = opts_.rcvbuf;
        break;
      case SO_SNDBUF:
      case SO_SNDBUFFORCE:
        opts_.sndbuf = static_cast<size_t>(sndbuf_);
        if (conn_) conn_->SetSendBuffer(opts_.sndbuf);
        if (listener_) listener_->options().sndbuf = opts_.sndbuf;
        break;
      case SO_RCVLOWAT: {
        // tcp_set_rcvlowat: at most half the receive buffer (the program's, else tcp_rmem[2]).
        const int cap = rcvbuf_locked_ ? rcvbuf_ >> 1
                                       : static_cast<int>(tcp_->config().rcvbuf_max >> 1);
        rcvlowat_ = std::max(std::min(rcvlowat_, cap), 1);
        NotifyLocked();
        break;
      }
      default:
        break;
    }
    KickIf(before);
    return Ok();
  }
  if (level == IPPROTO_IP) {
    auto r = Socket::SetOption(level, name, value, len);
    if (!r.ok()) return r;
    opts_.ttl = ttl_;
    opts_.tos = tos_;
    if (conn_) {
      conn_->options().ttl = ttl_;
      conn_->options().tos = tos_;
    }
    if (listener_) {
      listener_->options().ttl = ttl_;
      listener_->options().tos = tos_;
    }
    return Ok();
  }
  if (level == IPPROTO_IPV6) {
    // ipv6(7): AF_INET6 only; an AF_INET socket's ip_setsockopt knows no such level.
    if (family_ != AF_INET6) return Err{ENOPROTOOPT};
    // do_ipv6_setsockopt: IPV6_V6ONLY is EINVAL once the socket has a port (inet_num):
    // bound, listening or connected.
    if (name == IPV6_V6ONLY && HasPortLocked()) return Err{EINVAL};
    auto r = Socket::SetOption(level, name, value, len);
    if (!r.ok()) return r;
    // IPV6_TCLASS and IPV6_UNICAST_HOPS: as IP_TOS and IP_TTL, for what is sent from now.
    opts_.tos = tos_;
    if (listener_) listener_->options().tos = tos_;
    if (conn_) {
      conn_->options().tos = tos_;
      if (!conn_->tuple().local().ip.is_v4()) {
        conn_->options().ttl = unicast_hops_ >= 0 ? static_cast<uint8_t>(unicast_hops_) : ttl_;
      }
    }
    return Ok();
  }
  if (level != IPPROTO_TCP) return Err{ENOPROTOOPT};
  if (name == TCP_INQ) {
    int v = 0;
    if (auto r = ReadValue(value, len, &v); !r.ok()) return r;
    inq_ = v != 0;
    return Ok();
  }
  if (name == TCP_CONGESTION) {
    if (value == nullptr || len <= 0) return Err{EINVAL};
    const char* p = static_cast<const char*>(value);
    const size_t n = strnlen(p, std::min<size_t>(static_cast<size_t>(len), 16));
    const std::string algo(p, n);
    // Linux: ENOENT for an algorithm it does not know.
    if (!IsKnownTcpCongestionControl(algo)) return Err{ENOENT};
    opts_.congestion = algo;
    if (conn_) conn_->SetCongestion(algo);
    if (listener_) listener_->options().congestion = algo;
    return Ok();
  }
  if (name == TCP_INFO) return Err{ENOPROTOOPT};
  int v = 0;
  if (auto r = ReadValue(value, len, &v); !r.ok()) return r;
  auto apply = [&](auto fn) {
    fn(opts_);
    if (conn_) fn(conn_->options());
    if (listener_) fn(listener_->options());
  };
  switch (name) {
    case TCP_NODELAY:
      opts_.nodelay = v != 0;
      if (listener_) listener_->options().nodelay = v != 0;
      if (conn_) conn_->set_nodelay(v != 0, now);
      break;
    case TCP_CORK:
      opts_.cork = v != 0;
      if (listener_) listener_->options().cork = v != 0;
      if (conn_) conn_->set_cork(v != 0, now);
      break;
    case TCP_MAXSEG:
      // tcp(7): applies before the connection is established; Linux bounds it.
      if (v != 0 && (v < kMinMss || v > kMaxWindow)) return Err{EINVAL};
      user_mss_ = static_cast<uint16_t>(v);
      apply([&](TcpConnectionOptions& o) { o.user_mss = user_mss_; });
      break;
    case TCP_KEEPIDLE:
      if (v < 1 || v > kMaxKeepIdle) return Err{EINVAL};
      apply([&](TcpConnectionOptions& o) { o.keepidle = std::chrono::seconds(v); });
      break;
    case TCP_KEEPINTVL:
      if (v < 1 || v > kMaxKeepIntvl) return Err{EINVAL};
      apply([&](TcpConnectionOptions& o) { o.keepintvl = std::chrono::seconds(v); });
      break;
    case TCP_KEEPCNT:
      if (v < 1 || v > kMaxKeepCnt) return Err{EINVAL};
      apply([&](TcpConnectionOptions& o) { o.keepcnt = v; });
      break;
    case TCP_USER_TIMEOUT:
      if (v < 0) return Err{EINVAL};
      apply([&](TcpConnectionOptions& o) {
        if (v == 0) {
          o.user_timeout.reset();
        } else {
          o.user_timeout = std::chrono::milliseconds(v);
        }
      });
      break;
    case TCP_SYNCNT:
      if (v < 1 || v > kMaxSynCnt) return Err{EINVAL};
      apply([&](TcpConnectionOptions& o) { o.syn_retries = v; });
      break;
    case TCP_LINGER2:
      // do_tcp_setsockopt: negative is -1 (reset an orphan in FIN-WAIT-2 at once), 0 the
      // sysctl, anything else seconds up to TCP_FIN_TIMEOUT_MAX.
      apply([&](TcpConnectionOptions& o) {
        o.linger2_reset = v < 0;
        o.linger2 = std::chrono::seconds(std::clamp(v, 0, kMaxFinTimeout));
      });
      break;
    case TCP_QUICKACK:
      pingpong_ = v == 0;
      if (conn_) conn_->SetQuickAck(v, now);
      break;
    case TCP_DEFER_ACCEPT:
      apply([&](TcpConnectionOptions& o) { o.defer_accept = SecsToRetrans(v); });
      break;
    case TCP_NOTSENT_LOWAT:
      // Any value (u32 in Linux); 0 is the sysctl's, which is no limit.
      apply([&](TcpConnectionOptions& o) { o.notsent_lowat = static_cast<uint32_t>(v); });
      NotifyLocked();  // sk_write_space: writability may change
      break;
    case TCP_WINDOW_CLAMP: {
      // tcp_set_window_clamp: 0 only on a closed socket; else at least SOCK_MIN_RCVBUF/2.
      if (v == 0) {
        if (listener_ || (conn_ && conn_->state() != TcpState::kClosed)) return Err{EINVAL};
      }
      const uint32_t clamp = v == 0 ? 0 : static_cast<uint32_t>(std::max(v, kMinRcvbuf / 2));
      apply([&](TcpConnectionOptions& o) { o.window_clamp = clamp; });
      break;
    }
    case TCP_FASTOPEN:
      return Ok();  // accepted; no effect in this stack
    default:
      return Err{ENOPROTOOPT};
  }
  KickIf(before);
  return Ok();
}

SysResult<void> TcpSocket::GetOption(int level, int name, void* value, socklen_t* len) {
  std::lock_guard lock(*ctx_.mu);
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_ERROR: {
        // sock_getsockopt: the pending error, else the soft one (an ICMP error about a
        // connection still trying, tcp_v4_err's sk_err_soft); either is cleared.
        int e = TakeSocketError();
        if (e == 0 && conn_) e = conn_->TakeSoftError();
        return WriteValue(value, len, e);
      }
      case SO_LINGER: {
        linger l{linger_on_ ? 1 : 0, linger_seconds_};
        return WriteValue(value, len, l);
      }
      case SO_ACCEPTCONN: return WriteValue(value, len, listener_ ? 1 : 0);
      case SO_RCVBUF:
        if (conn_) return WriteValue(value, len, std::max(rcvbuf_, static_cast<int>(2 * conn_->recv_capacity())));
        return WriteValue(value, len, rcvbuf_);
      case SO_SNDBUF:
        if (conn_) return WriteValue(value, len, std::max(sndbuf_, static_cast<int>(conn_->send_capacity())));
        return WriteValue(value, len, sndbuf_);
      default:
        return Socket::GetOption(level, name, value, len);
    }
  }
  if (level == IPPROTO_IP || level == IPPROTO_IPV6) return Socket::GetOption(level, name, value, len);
  if (level != IPPROTO_TCP) return Err{ENOPROTOOPT};
  const TcpConnectionOptions& o = conn_ ? conn_->options() : opts_;
  const auto seconds = [](Duration d) {
    return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
  };
  switch (name) {
    case TCP_NODELAY: return WriteValue(value, len, o.nodelay ? 1 : 0);
    case TCP_CORK: return WriteValue(value, len, o.cork ? 1 : 0);
    case TCP_INQ: return WriteValue(value, len, inq_ ? 1 : 0);
    case TCP_SYNCNT:
      return WriteValue(value, len, o.syn_retries != 0 ? o.syn_retries : tcp_->config().syn_retries);
    case TCP_LINGER2:
      if (o.linger2_reset) return WriteValue(value, len, -1);
      return WriteValue(value, len,
                        seconds(o.linger2.count() > 0 ? o.linger2 : tcp_->config().fin_timeout));
    case TCP_QUICKACK:
      return WriteValue(value, len, (conn_ ? conn_->pingpong() : pingpong_) ? 0 : 1);
    case TCP_DEFER_ACCEPT: return WriteValue(value, len, RetransToSecs(o.defer_accept));
    case TCP_NOTSENT_LOWAT: return WriteValue(value, len, static_cast<int>(o.notsent_lowat));
    case TCP_WINDOW_CLAMP:
      return WriteValue(value, len,
                        static_cast<int>(conn_ && o.window_clamp == 0 &&
                                                 conn_->state() != TcpState::kClosed
                                             ? conn_->window_clamp()
                                             : o.window_clamp));
    case TCP_MAXSEG: {
      // Linux: the current MSS once connected, else the user's value or 536.
      if (conn_ && IsSynchronized(conn_->state())) {
        TcpInfo info;
        conn_->FillInfo(&info, Now());
        return WriteValue(value, len, static_cast<int>(info.tcpi_snd_mss));
      }
      return WriteValue(value, len, user_mss_ != 0 ? int{user_mss_} : 536);
    }
    case TCP_KEEPIDLE:
      return WriteValue(value, len, seconds(o.keepidle.value_or(tcp_->config().keepalive_idle)));
    case TCP_KEEPINTVL:
      return WriteValue(value, len,
                        seconds(o.keepintvl.value_or(tcp_->config().keepalive_interval)));
    case TCP_KEEPCNT:
      return WriteValue(value, len, o.keepcnt.value_or(tcp_->config().keepalive_probes));
    case TCP_USER_TIMEOUT:
      return WriteValue(value, len,
                        o.user_timeout ? static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(*o.user_timeout).count()) : 0);
    case TCP_INFO: {
      // Linux's whole struct tcp_info, cut to the caller's length (do_tcp_getsockopt:
      // len = min(len, sizeof(info)), a negative length is EINVAL): glibc's 104-byte
      // struct, Debian 12's 232-byte one and newer ones all get what they ask for.
      if (value == nullptr || len == nullptr) return Err{EFAULT};
      if (static_cast<int>(*len) < 0) return Err{EINVAL};
      TcpInfo info;
      if (conn_) {
        conn_->FillInfo(&info, Now());
      } else {
        std::memset(&info, 0, sizeof(info));
        info.tcpi_state = listener_ ? ToLinuxState(TcpState::kListen) : ToLinuxState(TcpState::kClosed);
      }
      const socklen_t out = std::min<socklen_t>(*len, sizeof(info));
      std::memcpy(value, &info, out);
      *len = out;
      return Ok();
    }
    case TCP_CONGESTION: {
      if (value == nullptr || len == nullptr) return Err{EFAULT};
      char name_buf[16] = {};
      const std::string_view n = conn_ ? conn_->congestion_name()
                                       : std::string_view(o.congestion.empty()
                                                              ? tcp_->config().congestion
                                                              : o.congestion);
      std::memcpy(name_buf, n.data(), std::min<size_t>(n.size(), 15));
      const socklen_t out = std::min<socklen_t>(*len, sizeof(name_buf));
      std::memcpy(value, name_buf, static_cast<size_t>(out));
      *len = out;
      return Ok();
    }
    default:
      return Err{ENOPROTOOPT};
  }
}

// ---------------------------------------------------------------------------------
// The protocol-independent API (socket.h).

SysResult<void> TcpSocket::Connect(const SocketAddress* to) {
  if (to != nullptr) return Connect(*to);
  // connect(AF_UNSPEC): Linux disconnects (tcp_disconnect). Nothing to dissolve on a
  // socket that has no peer; dissolving a live connection is not supported (yet).
  if (!PeerAddress().ok()) return Ok();
  return Err{EOPNOTSUPP};
}

SysResult<std::shared_ptr<Socket>> TcpSocket::AcceptSocket(SocketAddress* peer) {
  auto r = Accept(peer, 0);
  if (!r.ok()) return Err{r.error()};
  return std::shared_ptr<Socket>(std::move(*r));
}

// A byte stream need not keep iovecs together; but handing several small parts over one
// by one would put them in separate segments (TCP_NODELAY) where the kernel would have
// copied them all before pushing. So up to this many bytes in several parts are copied
// into one send, and larger ones go one by one with MSG_MORE on all but the last.
constexpr size_t kGatherLimit = 64 * 1024;

SysResult<size_t> TcpSocket::SendMsg(std::span<const ByteSpan> parts, const SocketAddress*,
                                     int flags) {
  if (parts.size() == 1 || TotalSize(parts) <= kGatherLimit) return Send(Gather(parts), flags);
  size_t sent = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) continue;
    // MSG_OOB marks the last byte of the whole message only.
    const int f = i + 1 < parts.size() ? (flags & ~MSG_OOB) | MSG_MORE : flags;
    auto r = Send(parts[i], f);
    if (!r.ok()) return sent > 0 ? SysResult<size_t>(sent) : r;
    sent += *r;
    if (*r < parts[i].size()) break;  // non-blocking, or interrupted: partial write
  }
  return sent;
}

// Several parts are received through one buffer, so that MSG_PEEK and MSG_WAITALL mean
// what they mean for the whole request.
SysResult<size_t> TcpSocket::RecvMsg(std::span<const MutableByteSpan> parts, SocketAddress*,
                                     int flags, int* out_flags, RecvAncillary* anc) {
  if (out_flags != nullptr) *out_flags = 0;
  if ((flags & MSG_OOB) != 0) {
    int unused = 0;
    return RecvUrgent(parts, flags, out_flags != nullptr ? out_flags : &unused);
  }
  auto r = (flags & (MSG_TRUNC | MSG_PEEK)) == MSG_TRUNC
               ? Discard(TotalSize(parts), flags & ~MSG_TRUNC)
               : RecvScattered(parts, SIZE_MAX, [&](MutableByteSpan buf) { return Recv(buf, flags); });
  if (r.ok() && anc != nullptr) {
    std::lock_guard lock(*ctx_.mu);
    if (inq_ && conn_) {
      // tcp_recvmsg with TCP_INQ: what is left to read, 1 at the end of the stream.
      anc->has_inq = true;
      const size_t left = conn_->readable();
      anc->inq = left > 0 ? static_cast<int>(std::min<size_t>(left, INT_MAX))
                          : (conn_->fin_received() ? 1 : 0);
    }
  }
  return r;
}

SysResult<size_t> TcpSocket::Discard(size_t n, int flags) {
  // tcp_recvmsg_locked with MSG_TRUNC: the bytes are consumed and not copied (the
  // program's buffer may be anything). They pass through a scratch buffer here, the first
  // piece as an ordinary receive (which may wait), the rest only what is there already.
  constexpr size_t kPiece = 64 * 1024;
  std::vector<uint8_t>& scratch = ThreadScratch();
  size_t done = 0;
  while (done < n) {
    const size_t piece = std::min(n - done, kPiece);
    scratch.resize(piece);
    auto r = Recv(MutableByteSpan(scratch.data(), piece),
                  done == 0 ? flags : (flags & ~MSG_WAITALL) | MSG_DONTWAIT);
    if (!r.ok()) return done > 0 ? SysResult<size_t>(done) : r;
    done += *r;
    if (*r < piece) break;
  }
  return done;
}

}  // namespace pytcp
