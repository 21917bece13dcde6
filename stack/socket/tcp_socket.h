// A TCP socket (SOCK_STREAM) with Linux semantics, as tcp(7), socket(7), connect(2),
// accept(2), send(2), recv(2), shutdown(2) and poll(2) describe them: the calls, their
// errno values and the readiness they report mirror Linux's inet_stream_connect,
// tcp_sendmsg, tcp_recvmsg and tcp_poll.
//
//   bind/listen/accept, connect (blocking, or non-blocking with EINPROGRESS then SO_ERROR;
//   EALREADY, EISCONN), send/recv with MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_NOSIGNAL
//   (else SIGPIPE with EPIPE) and MSG_MORE, shutdown, close with SO_LINGER (0: abortive
//   RST), SO_KEEPALIVE, SO_RCVBUF/SO_SNDBUF (doubled as Linux does; auto-tuned when unset),
//   TCP_NODELAY, TCP_CORK, TCP_MAXSEG, TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, TCP_USER_TIMEOUT,
//   TCP_CONGESTION ("cubic", "reno"), TCP_INFO, TCP_SYNCNT, TCP_LINGER2, TCP_QUICKACK,
//   TCP_DEFER_ACCEPT, TCP_NOTSENT_LOWAT, TCP_WINDOW_CLAMP; urgent data (send/recv MSG_OOB,
//   SO_OOBINLINE, POLLPRI, SIOCATMARK, SIGURG to the F_SETOWN owner) as tcp_recv_urg.
#pragma once

#include <cstdint>
#include <memory>

#include "stack/socket/socket.h"
#include "stack/tcp/tcp_engine.h"

namespace pytcp {

class TcpSocket final : public Socket, private TcpObserver {
 public:
  TcpSocket(SocketContext ctx, TcpEngine* tcp);
  // A socket for a connection taken from a listener's accept queue.
  TcpSocket(SocketContext ctx, TcpEngine* tcp, std::shared_ptr<TcpConnection> conn);
  ~TcpSocket() override;

  SysResult<void> Bind(const SocketAddress& addr) override;
  SysResult<void> Listen(int backlog) override;
  // accept4(): `flags` may hold SOCK_NONBLOCK. `peer` (optional) receives the address.
  SysResult<std::shared_ptr<TcpSocket>> Accept(SocketAddress* peer = nullptr, int flags = 0);
  SysResult<void> Connect(const SocketAddress& to);
  // Returns the bytes queued (possibly fewer than asked when non-blocking or interrupted).
  SysResult<size_t> Send(ByteSpan data, int flags = 0);
  // Returns the bytes copied; 0 at end of stream.
  SysResult<size_t> Recv(MutableByteSpan buf, int flags = 0);
  SysResult<void> Shutdown(int how) override;
  SysResult<SocketAddress> LocalAddress() const override;
  SysResult<SocketAddress> PeerAddress() const override;
  // FIONREAD/SIOCINQ and SIOCOUTQ.
  size_t ReadableBytes() const override;
  size_t UnsentBytes() const override;
  // A listener: connections in its accept queue.
  size_t QueueLength() const override;
  SysResult<bool> AtMark() const override;

  // The protocol-independent API (socket.h).
  SysResult<void> Connect(const SocketAddress* to) override;
  SysResult<std::shared_ptr<Socket>> AcceptSocket(SocketAddress* peer) override;
  SysResult<size_t> SendMsg(std::span<const ByteSpan> parts, const SocketAddress* to,
                            int flags) override;
  SysResult<size_t> RecvMsg(std::span<const MutableByteSpan> parts, SocketAddress* from,
                            int flags, int* out_flags, RecvAncillary* anc) override;

  SysResult<void> SetOption(int level, int name, const void* value, socklen_t len) override;
  SysResult<void> GetOption(int level, int name, void* value, socklen_t* len) override;
  ReadinessMask PollLocked() const override;
  void Close() override;

  // For tests and tools (take the stack lock).
  TcpState state() const;
  std::shared_ptr<TcpConnection> connection() const { return conn_; }

 private:
  enum class Phase : uint8_t { kUnconnected, kConnecting, kConnected };

  void OnTcpEvent() override { NotifyLocked(); }
  void OnTcpUrgent() override;
  // recv(MSG_OOB) (tcp_recv_urg).
  SysResult<size_t> RecvUrgent(std::span<const MutableByteSpan> parts, int flags, int* out_flags);
  // The socket's options copied to what the engine reads: to port_ before a bind, listen
  // or connect takes a port, and also to opts_ before listen or connect makes connections.
  void SyncPortLocked();
  void SyncPortAndOptionsLocked();
  // Linux's inet_num != 0: the socket holds a local port (bound, listening, connected).
  bool HasPortLocked() const;
  Instant Now() const { return ctx_.clock->Now(); }
  // Wakes the event loop when an operation moved a connection deadline earlier.
  void KickIf(Instant before);
  int TakeSocketError();
  // recv(MSG_TRUNC): up to `n` bytes consumed without being copied to the caller.
  SysResult<size_t> Discard(size_t n, int flags);
  bool WaitingForConnect() const;

  TcpEngine* tcp_;
  TcpPortUser port_;
  TcpConnectionOptions opts_;
  std::shared_ptr<TcpConnection> conn_;
  std::shared_ptr<TcpListener> listener_;
  Phase phase_ = Phase::kUnconnected;
  bool shut_rd_ = false;
  bool shut_wr_ = false;
  bool inq_ = false;  // TCP_INQ
  bool linger_on_ = false;
  int linger_seconds_ = 0;
  uint16_t user_mss_ = 0;
  bool pingpong_ = false;  // TCP_QUICKACK 0 before there is a connection
};

}  // namespace pytcp
