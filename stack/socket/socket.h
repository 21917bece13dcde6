// The socket layer's common part: locking, blocking waits that behave like the kernel's,
// readiness, and the options every socket has.
//
// Every call takes the stack's lock for its critical section and never holds it while
// blocked. A blocked call waits on an eventfd of its own thread (registered with the
// socket), so that it is interrupted by signals exactly as a blocking syscall is (EINTR),
// honours O_NONBLOCK/MSG_DONTWAIT, SO_RCVTIMEO and SO_SNDTIMEO (EAGAIN when they expire),
// and wakes with EBADF when another thread closes the socket.
//
// Errors are reported as the errno values Linux uses; SysResult<T> carries a value or one.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/clock.h"
#include "stack/base/result.h"
#include "stack/iface/ip_transport.h"
#include "stack/net/ip_address.h"

namespace pytcp {

template <typename T>
using SysResult = Result<T, int>;

// Lets a thread that is about to block run the stack's link itself while it waits
// (DESIGN.md "Runtime model": run-to-completion). Implemented by the Stack.
class LinkDriver {
 public:
  virtual ~LinkDriver() = default;
  // Called under the stack lock by a caller whose `ready()` does not hold, with `wake_fd`
  // (the caller's own eventfd) registered as the socket's waiter. Waits, the lock released,
  // until `wake_fd` is signalled, the link has frames (which it processes under the lock,
  // possibly making `ready()` true), or `timeout_ms` (-1: none) passes. Returns with the
  // lock held and poll(2)'s result: > 0 something happened, 0 timed out, -1 with errno
  // (EINTR). Spurious returns are allowed: the caller re-checks `ready()`.
  virtual int WaitDriving(std::unique_lock<std::mutex>& lock, int wake_fd, int timeout_ms,
                          const std::function<bool()>& ready) = 0;
};

// What a socket needs from the stack that owns it.
struct SocketContext {
  std::mutex* mu = nullptr;
  const Clock* clock = nullptr;
  // Wakes the stack's event loop (a timer of this socket changed). Called under the lock;
  // the stack wakes its loop only when the earliest deadline moved before the one it sleeps
  // until.
  std::function<void()> kick;
  // Set when the stack runs its own event loop thread on a link with a file descriptor:
  // blocked callers then drive the link while they wait (nullptr: they only sleep).
  LinkDriver* driver = nullptr;
};

// poll(2) bits, as the kernel reports them for sockets.
using ReadinessMask = uint32_t;

// Notified (under the stack lock) whenever the socket's readiness may have changed; the
// shim uses it to drive poll/select/epoll over stack sockets.
class ReadinessListener {
 public:
  virtual ~ReadinessListener() = default;
  virtual void OnReadinessChange(ReadinessMask mask) = 0;
};

// One entry of a socket's error queue (ip(7) IP_RECVERR): what recvmsg(MSG_ERRQUEUE)
// returns as a sock_extended_err control message, the offender's address and, as data,
// the payload of the datagram that caused the error.
struct SocketError {
  int error = 0;           // ee_errno
  uint8_t origin = 2;      // ee_origin: SO_EE_ORIGIN_ICMP (2) or SO_EE_ORIGIN_LOCAL (1)
  uint8_t type = 0;        // ee_type, ee_code: the ICMP type and code
  uint8_t code = 0;
  uint32_t info = 0;       // ee_info: the next-hop MTU of "fragmentation needed"
  Ip4Address offender;     // who reported it (SO_EE_OFFENDER)
  Ip6Address offender6;    // the same for origin SO_EE_ORIGIN_ICMP6 (3): an ICMPv6 error
  SocketAddress dst;       // the original destination (msg_name)
  std::vector<uint8_t> payload;
};

// An ICMP or ICMPv6 error as IP_RECVERR / IPV6_RECVERR queue it (Linux ip_icmp_error,
// ipv6_icmp_error): errno, `origin`, type, code, the MTU as ee_info, the original
// destination with `dst_port`, and `payload` (what the error quoted after the transport
// header). The caller sets the offender of its family.
template <typename Addr>
SocketError SocketErrorFrom(const IpErrorInfo<Addr>& error, uint8_t origin, uint16_t dst_port,
                            ByteSpan payload) {
  SocketError e;
  e.error = error.error;
  e.origin = origin;
  e.type = error.icmp_type;
  e.code = error.icmp_code;
  e.info = error.mtu;
  e.dst = SocketAddress{IpAddress(error.orig_dst), dst_port, 0};
  e.payload.assign(payload.begin(), payload.end());
  return e;
}

// The ancillary data of one received message (recvmsg's control messages), filled when
// the matching option is on: SO_TIMESTAMP, IP_RECVTTL, and IP_RECVERR for MSG_ERRQUEUE.
struct RecvAncillary {
  bool has_timestamp = false;
  int64_t timestamp_ns = 0;  // CLOCK_REALTIME at arrival
  bool has_ttl = false;
  uint8_t ttl = 0;
  bool has_error = false;
  SocketError error;
  bool has_hoplimit = false;  // IPV6_RECVHOPLIMIT: the received packet's hop limit
  uint8_t hoplimit = 0;
  bool has_inq = false;  // TCP_INQ: bytes left to read after this receive (TCP_CM_INQ)
  int inq = 0;
  // ip(7) IP_PKTINFO: the header's destination (ipi_addr) and the local address a reply
  // comes from (ipi_spec_dst); the interface index is the caller's to fill (the stack has
  // one interface).
  bool has_pktinfo = false;
  Ip4Address pktinfo_addr;
  Ip4Address pktinfo_spec_dst;
  // ipv6(7) IPV6_RECVPKTINFO: the destination (v4-mapped for an IPv4 datagram).
  bool has_pktinfo6 = false;
  Ip6Address pktinfo6_addr;
  bool has_tos = false;  // IP_RECVTOS: the TOS byte
  uint8_t tos = 0;
  bool has_tclass = false;  // IPV6_RECVTCLASS: the traffic class
  uint8_t tclass = 0;
};

// The control messages of one send (sendmsg's msg_control, as ip_cmsg_send and
// ip6_datagram_send_ctl read them): unset fields leave the socket's options in force.
struct SendAncillary {
  IpAddress src;  // IP_PKTINFO ipi_spec_dst / IPV6_PKTINFO ipi6_addr (unspecified: none)
  int tos = -1;   // IP_TOS / IPV6_TCLASS
  int ttl = -1;   // IP_TTL / IPV6_HOPLIMIT
  bool empty() const { return src.is_unspecified() && tos < 0 && ttl < 0; }
};

class Socket {
 public:
  explicit Socket(SocketContext ctx, int type, int protocol)
      : ctx_(std::move(ctx)), type_(type), protocol_(protocol) {}
  virtual ~Socket() = default;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int type() const { return type_; }
  int protocol() const { return protocol_; }
  // AF_INET or AF_INET6 (an AF_INET6 socket also carries IPv4 as v4-mapped addresses
  // unless IPV6_V6ONLY is set). Set once, right after creation.
  int family() const { return family_; }
  void set_family(int family) { family_ = family; }
  bool v6only() const { return v6only_; }
  // SO_BINDTODEVICE (socket(7)): the stack's interface by position, -1 for none. A UDP
  // socket then takes datagrams that came in on it only and sends its broadcasts and
  // multicasts out of it; other sockets are bound to the first interface only (the shim).
  int bound_iface() const { return bound_iface_; }
  virtual void set_bound_iface(int iface) { bound_iface_ = iface; }

  // Current readiness (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP, POLLPRI).
  ReadinessMask Poll() {
    std::lock_guard lock(*ctx_.mu);
    return PollLocked();
  }
  virtual ReadinessMask PollLocked() const = 0;

  void set_nonblocking(bool on) { nonblocking_ = on; }
  bool nonblocking() const { return nonblocking_; }

  void AddListener(ReadinessListener* l);
  void RemoveListener(ReadinessListener* l);

  // setsockopt/getsockopt with the kernel's calling convention.
  virtual SysResult<void> SetOption(int level, int name, const void* value, socklen_t len);
  virtual SysResult<void> GetOption(int level, int name, void* value, socklen_t* len);

  // Closes the socket: wakes every waiter (they return EBADF) and releases its resources.
  virtual void Close() = 0;

  // The socket API every protocol offers, one shape for all of them (as gVisor's
  // tcpip.Endpoint), so that callers (the shim, a daemon serving sockets) never look at
  // the protocol. Errors are the errno values Linux gives. Data moves through lists of
  // spans (the iovecs of readv/sendmsg): a stream gathers them without copying large
  // parts, a message socket sends them as one message and scatters one received message
  // over them (udp(7), icmp(7)).
  virtual SysResult<void> Bind(const SocketAddress& addr) = 0;
  // nullptr: AF_UNSPEC (dissolve the association).
  virtual SysResult<void> Connect(const SocketAddress* to) = 0;
  virtual SysResult<void> Listen(int /*backlog*/) { return Err{EOPNOTSUPP}; }
  // accept(): a connection from the queue as a socket of its own; `peer` gets its address.
  virtual SysResult<std::shared_ptr<Socket>> AcceptSocket(SocketAddress* /*peer*/) {
    return Err{EOPNOTSUPP};
  }
  // sendmsg(): `to` nullptr sends to the connected peer. Returns the bytes taken.
  virtual SysResult<size_t> SendMsg(std::span<const ByteSpan> parts, const SocketAddress* to,
                                    int flags) = 0;
  // sendmsg() with control messages; sockets that take none ignore them (as TCP does).
  virtual SysResult<size_t> SendMsgWith(std::span<const ByteSpan> parts, const SocketAddress* to,
                                        int flags, const SendAncillary& /*anc*/) {
    return SendMsg(parts, to, flags);
  }
  // recvmsg(): fills `parts` in order; `from` (optional) gets the sender, *out_flags
  // MSG_TRUNC and the like, `anc` (optional) the control messages the options ask for.
  // Returns the bytes received (the whole message's size with MSG_TRUNC in flags).
  virtual SysResult<size_t> RecvMsg(std::span<const MutableByteSpan> parts, SocketAddress* from,
                                    int flags, int* out_flags, RecvAncillary* anc) = 0;
  // A message socket that is not connected has nothing to shut down (inet_shutdown).
  virtual SysResult<void> Shutdown(int /*how*/) { return Err{ENOTCONN}; }
  virtual SysResult<SocketAddress> LocalAddress() const = 0;
  virtual SysResult<SocketAddress> PeerAddress() const = 0;
  // FIONREAD / SIOCINQ: what the next read returns at most (a message socket: the size of
  // the next message).
  virtual size_t ReadableBytes() const = 0;
  // TIOCOUTQ / SIOCOUTQ: bytes not yet sent (TCP: not yet acknowledged).
  virtual size_t UnsentBytes() const { return 0; }
  // What waits to be taken one at a time: connections in a listener's accept queue,
  // messages in a message socket's receive queue (0 for a connected stream).
  virtual size_t QueueLength() const { return 0; }
  // SIOCATMARK: whether the next byte read is the urgent mark (a stream socket); ENOTTY
  // for the others, as Linux's udp_ioctl.
  virtual SysResult<bool> AtMark() const { return Err{ENOTTY}; }
  // fcntl(F_SETOWN): the process (> 0) or process group (< 0) that gets SIGURG when urgent
  // data is announced (Linux's f_owner, sk_send_sigurg). 0: nobody.
  void set_owner(int pid) { owner_.store(pid, std::memory_order_relaxed); }
  int owner() const { return owner_.load(std::memory_order_relaxed); }

  // recvmsg(MSG_ERRQUEUE): the oldest queued error (never blocks; EAGAIN when none). The
  // payload goes to `buf` (MSG_TRUNC in *out_flags when cut), the sock_extended_err to
  // `anc`, the original destination to `from`.
  SysResult<size_t> RecvErrorQueue(MutableByteSpan buf, SocketAddress* from, RecvAncillary* anc,
                                   int* out_flags);
  size_t error_queue_size() const { return error_queue_.size(); }

 protected:
  int family_ = AF_INET;
  int bound_iface_ = -1;
  bool v6only_ = false;     // IPV6_V6ONLY
  int unicast_hops_ = -1;   // IPV6_UNICAST_HOPS (-1: the route's default)
  // Waits (the lock released) until `ready()` holds. Returns 0, or EAGAIN (non-blocking
  // or the timeout expired), EINTR (a signal), EBADF (closed meanwhile).
  int WaitLocked(std::unique_lock<std::mutex>& lock, const std::function<bool()>& ready,
                 std::optional<Duration> timeout, bool nonblocking);
  // The start of a datagram socket's receive (UDP, ping, raw): MSG_OOB refused, then a wait
  // until `ready()` (a message queued, or more), an error or close, as SO_RCVTIMEO and
  // MSG_DONTWAIT say. Returns 0 or the errno to fail with, a pending error taken before
  // any queued message as skb_recv_datagram takes it.
  int WaitDatagramLocked(std::unique_lock<std::mutex>& lock, int flags, int* out_flags,
                         const std::function<bool()>& ready);
  // SO_ERROR, read and cleared: a pending error is reported once.
  int TakePendingErrorLocked() { return std::exchange(pending_error_, 0); }
  // Wakes blocked callers and tells listeners; call under the lock after a state change.
  void NotifyLocked();
  // Queues an error for MSG_ERRQUEUE (IP_RECVERR on); bounded by SO_RCVBUF as in Linux.
  void QueueErrorLocked(SocketError e);
  // What the options ask to report with a message received now (timestamp, TTL).
  void FillAncillaryLocked(uint8_t ttl, RecvAncillary* anc) const;
  // IP_MTU_DISCOVER or IPV6_MTU_DISCOVER (they share values) set to DO or PROBE: a datagram
  // too big for the path is EMSGSIZE, never fragmented (ip(7), ipv6(7)).
  bool DontFragmentLocked() const {
    return mtu_discover_ == IP_PMTUDISC_DO || mtu_discover_ == IP_PMTUDISC_PROBE;
  }
  // IP_PKTINFO / IP_RECVTOS / IPV6_RECVPKTINFO / IPV6_RECVTCLASS for a datagram sent to
  // `dst` with the TOS or traffic class `tos`; `spec_dst` is IP_PKTINFO's ipi_spec_dst.
  void FillPacketInfoLocked(const IpAddress& dst, const IpAddress& spec_dst, uint8_t tos,
                            RecvAncillary* anc) const;
  // IPV6_RECVHOPLIMIT: the hop limit of a packet received now (for sockets that know it).
  void FillHopLimitLocked(uint8_t hop_limit, RecvAncillary* anc) const {
    if (anc != nullptr && recvhoplimit_) {
      anc->has_hoplimit = true;
      anc->hoplimit = hop_limit;
    }
  }

  SocketContext ctx_;
  int type_;
  int protocol_;
  bool nonblocking_ = false;
  bool closed_ = false;
  std::optional<Duration> rcv_timeout_;
  std::optional<Duration> snd_timeout_;
  static constexpr int kMinRcvbuf = 2304;  // SOCK_MIN_RCVBUF on x86-64
  static constexpr int kMinSndbuf = 4608;  // SOCK_MIN_SNDBUF
  int rcvbuf_ = 212992;  // Linux net.core.rmem_default
  bool rcvbuf_locked_ = false;  // SOCK_RCVBUF_LOCK: set by the program
  int rcvlowat_ = 1;            // SO_RCVLOWAT
  int sndbuf_ = 212992;  // Linux net.core.wmem_default
  bool reuse_addr_ = false;
  bool reuse_port_ = false;
  bool broadcast_ = false;
  bool keepalive_ = false;
  int pending_error_ = 0;  // SO_ERROR
  uint8_t ttl_ = 64;
  uint8_t tos_ = 0;
  int mtu_discover_ = 1;  // IP_PMTUDISC_WANT (Linux default for UDP)
  bool recverr_ = false;    // IP_RECVERR
  bool recvttl_ = false;    // IP_RECVTTL
  bool timestamp_ = false;  // SO_TIMESTAMP
  bool recvhoplimit_ = false;  // IPV6_RECVHOPLIMIT
  uint8_t multicast_ttl_ = 1;   // IP_MULTICAST_TTL (ip(7) default 1)
  bool multicast_loop_ = true;  // IP_MULTICAST_LOOP
  Ip4Address multicast_if4_;    // IP_MULTICAST_IF (0.0.0.0: the routing table's choice)
  bool recvpktinfo_ = false;    // IP_PKTINFO
  bool recvtos_ = false;        // IP_RECVTOS
  bool recvpktinfo6_ = false;   // IPV6_RECVPKTINFO
  bool recvtclass_ = false;     // IPV6_RECVTCLASS
  bool oobinline_ = false;      // SO_OOBINLINE
  std::atomic<int> owner_{0};   // F_SETOWN
  std::deque<SocketError> error_queue_;
  size_t error_queue_bytes_ = 0;

 private:
  // This thread's eventfd in waiter_fds_ for one wait; removed (the lock re-taken if the
  // wait let it go) however the wait ends, also by pthread_cancel's unwinding.
  class WaiterMark {
   public:
    WaiterMark(Socket* s, int fd, std::unique_lock<std::mutex>& lock);
    ~WaiterMark();
    WaiterMark(const WaiterMark&) = delete;
    WaiterMark& operator=(const WaiterMark&) = delete;

   private:
    Socket* socket_;
    int fd_;
    std::unique_lock<std::mutex>& lock_;
  };

  std::vector<int> waiter_fds_;
  std::vector<ReadinessListener*> listeners_;
};

}  // namespace pytcp
