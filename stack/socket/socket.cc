#include "stack/socket/socket.h"

#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "stack/base/cancel.h"
#include "stack/socket/socket_option.h"

namespace pytcp {
namespace {

// One eventfd per thread, created on first use, for blocking waits.
thread_local int t_wait_fd = -1;  // the fd below once created (no construction on lookup)
int ThreadWaitFd() {
  struct Holder {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ~Holder() {
      t_wait_fd = -1;
      if (fd >= 0) close(fd);
    }
  };
  thread_local Holder holder;
  t_wait_fd = holder.fd;
  return holder.fd;
}
int ThreadWaitFdIfAny() { return t_wait_fd; }

SysResult<void> ReadTimeout(const void* value, socklen_t len, std::optional<Duration>* out) {
  timeval tv{};
  if (value == nullptr || len < static_cast<socklen_t>(sizeof(tv))) return Err{EINVAL};
  std::memcpy(&tv, value, sizeof(tv));
  if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return Err{EDOM};
  if (tv.tv_sec < 0) {
    *out = Duration(0);  // Linux: a negative timeout means "do not wait"... treated as zero
    return Ok();
  }
  if (tv.tv_sec == 0 && tv.tv_usec == 0) {
    out->reset();  // zero: block forever
  } else {
    *out = std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
  }
  return Ok();
}

// net.core.rmem_max / wmem_max of this host, read once (Linux's defaults if unreadable):
// the ceiling of SO_RCVBUF/SO_SNDBUF for a process without CAP_NET_ADMIN.
int HostSysctl(const char* path) {
  int v = 212992;
  if (FILE* f = std::fopen(path, "re")) {
    if (std::fscanf(f, "%d", &v) != 1 || v <= 0) v = 212992;
    std::fclose(f);
  }
  return v;
}
int RmemMax() {
  static const int v = HostSysctl("/proc/sys/net/core/rmem_max");
  return v;
}
int WmemMax() {
  static const int v = HostSysctl("/proc/sys/net/core/wmem_max");
  return v;
}

// sock_setsockopt: SO_RCVBUF/SO_SNDBUF take min_t(u32, val, *mem_max) (so a negative value
// is the maximum), the FORCE variants max(val, 0); then __sock_set_rcvbuf and
// sock_set_sndbuf halve INT_MAX first, so that doubling cannot overflow, and enforce the
// minimum (SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF).
int BufferSize(int v, bool force, int sysctl_max, int minimum) {
  const uint32_t clamped = force ? static_cast<uint32_t>(std::max(v, 0))
                                 : std::min(static_cast<uint32_t>(v), static_cast<uint32_t>(sysctl_max));
  const int val = static_cast<int>(std::min<uint32_t>(clamped, INT_MAX / 2));
  return std::max(val * 2, minimum);
}

// The FORCE variants need CAP_NET_ADMIN (sock_setsockopt: EPERM otherwise).
bool HasNetAdmin() {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &h, d) != 0) return false;
  return (d[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32))) != 0;
}

timeval ToTimeval(const std::optional<Duration>& d) {
  if (!d) return timeval{0, 0};
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(*d).count();
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

}  // namespace

void Socket::AddListener(ReadinessListener* l) {
  std::lock_guard lock(*ctx_.mu);
  listeners_.push_back(l);
}

void Socket::RemoveListener(ReadinessListener* l) {
  std::lock_guard lock(*ctx_.mu);
  std::erase(listeners_, l);
}

void Socket::NotifyLocked() {
  // The calling thread's own fd is skipped: it can only be registered here while this
  // thread drives the link from inside WaitLocked, which re-checks readiness anyway (and
  // the write, the poll it would wake and the read that drains it are three system calls
  // on the request/response path).
  const int self = ThreadWaitFdIfAny();
  for (int fd : waiter_fds_) {
    if (fd == self) continue;
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(fd, &one, sizeof(one));
  }
  if (!listeners_.empty()) {
    const ReadinessMask mask = PollLocked();
    for (ReadinessListener* l : listeners_) l->OnReadinessChange(mask);
  }
}

int Socket::WaitLocked(std::unique_lock<std::mutex>& lock, const std::function<bool()>& ready,
                       std::optional<Duration> timeout, bool nonblocking) {
  if (ready()) return 0;
  if (nonblocking || nonblocking_) return EAGAIN;
  const int fd = ThreadWaitFd();
  if (fd < 0) return ENOMEM;
  const Instant deadline =
      timeout ? RealClock::Instance().Now() + *timeout : Instant::Infinite();
  while (!ready()) {
    if (closed_) return EBADF;
    // The registration is RAII: pthread_cancel unwinds from the poll below (a cancellation
    // point, base/cancel.h) with the lock released, and the mark must still go.
    WaiterMark mark(this, fd, lock);
    int wait_ms = -1;
    if (!deadline.is_infinite()) {
      const Duration left = deadline - RealClock::Instance().Now();
      wait_ms = left.count() <= 0
                    ? 0
                    : static_cast<int>((left.count() + 999999) / 1000000);  // round up
    }
    int r = 0;
    int saved_errno = 0;
    if (ctx_.driver != nullptr) {
      // Run-to-completion: this thread reads the link itself while it waits, so a reply
      // wakes it straight from the kernel instead of through the stack thread (a hand-off
      // that costs about as much as the kernel's whole round trip, DESIGN.md).
      r = ctx_.driver->WaitDriving(lock, fd, wait_ms, ready);
      saved_errno = errno;
    } else {
      lock.unlock();  // re-taken below, or by ~WaiterMark when the poll is cancelled
      {
        CancelWindow cancellable;
        pollfd p{fd, POLLIN, 0};
        r = poll(&p, 1, wait_ms);
        saved_errno = errno;
      }
      if (r > 0) {
        uint64_t count;
        [[maybe_unused]] ssize_t n = read(fd, &count, sizeof(count));
      }
      lock.lock();
    }
    if (r < 0 && saved_errno == EINTR) return EINTR;
    if (r == 0 && !ready()) return EAGAIN;  // SO_RCVTIMEO/SO_SNDTIMEO expired
  }
  return 0;
}

int Socket::WaitDatagramLocked(std::unique_lock<std::mutex>& lock, int flags, int* out_flags,
                               const std::function<bool()>& ready) {
  if (closed_) return EBADF;
  if (out_flags != nullptr) *out_flags = 0;
  if ((flags & MSG_OOB) != 0) return EOPNOTSUPP;
  const int err = WaitLocked(
      lock, [&] { return ready() || pending_error_ != 0 || closed_; }, rcv_timeout_,
      (flags & MSG_DONTWAIT) != 0);
  if (err != 0) return err;
  if (closed_) return EBADF;
  return TakePendingErrorLocked();
}

Socket::WaiterMark::WaiterMark(Socket* s, int fd, std::unique_lock<std::mutex>& lock)
    : socket_(s), fd_(fd), lock_(lock) {
  // A mark of this thread's that is still there was left by a siglongjmp out of a signal
  // handler that interrupted an earlier wait (no destructor ran): drop it, not add twice.
  std::erase(socket_->waiter_fds_, fd_);
  socket_->waiter_fds_.push_back(fd_);
}

Socket::WaiterMark::~WaiterMark() {
  if (!lock_.owns_lock()) lock_.lock();  // unwinding from the wait: the lock was let go
  std::erase(socket_->waiter_fds_, fd_);
}

void Socket::QueueErrorLocked(SocketError e) {
  // Linux charges queued errors against the receive buffer (sock_queue_err_skb).
  const size_t charge = e.payload.size() + 256;
  if (error_queue_bytes_ + charge > static_cast<size_t>(rcvbuf_)) return;
  error_queue_bytes_ += charge;
  error_queue_.push_back(std::move(e));
}

void Socket::FillAncillaryLocked(uint8_t ttl, RecvAncillary* anc) const {
  if (anc == nullptr) return;
  if (timestamp_) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    anc->has_timestamp = true;
    anc->timestamp_ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }
  if (recvttl_) {
    anc->has_ttl = true;
    anc->ttl = ttl;
  }
}

void Socket::FillPacketInfoLocked(const IpAddress& dst, const IpAddress& spec_dst, uint8_t tos,
                                  RecvAncillary* anc) const {
  if (anc == nullptr) return;
  // An AF_INET6 socket gets the IPv4 control messages of an IPv4 datagram as well as its
  // own (udpv6_recvmsg: ip_cmsg_recv_offset, then ip6_datagram_recv_specific_ctl).
  if (dst.is_v4()) {
    if (recvpktinfo_) {
      anc->has_pktinfo = true;
      anc->pktinfo_addr = dst.v4();
      anc->pktinfo_spec_dst = spec_dst.is_v4() ? spec_dst.v4() : Ip4Address();
    }
    if (recvtos_) {
      anc->has_tos = true;
      anc->tos = tos;
    }
  }
  if (family_ == AF_INET6) {
    if (recvpktinfo6_) {
      anc->has_pktinfo6 = true;
      anc->pktinfo6_addr = dst.v6();
    }
    if (recvtclass_) {
      anc->has_tclass = true;
      anc->tclass = tos;
    }
  }
}

SysResult<size_t> Socket::RecvErrorQueue(MutableByteSpan buf, SocketAddress* from,
                                         RecvAncillary* anc, int* out_flags) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (out_flags != nullptr) *out_flags = 0;
  if (error_queue_.empty()) return Err{EAGAIN};
  SocketError e = std::move(error_queue_.front());
  error_queue_.pop_front();
  error_queue_bytes_ -= e.payload.size() + 256;
  const size_t n = std::min(buf.size(), e.payload.size());
  if (n > 0) std::memcpy(buf.data(), e.payload.data(), n);
  if (out_flags != nullptr) {
    *out_flags |= MSG_ERRQUEUE;
    if (n < e.payload.size()) *out_flags |= MSG_TRUNC;
  }
  if (from != nullptr) *from = e.dst;
  // sock_dequeue_err_skb: the next queued error becomes the pending one (or none).
  pending_error_ = error_queue_.empty() ? 0 : error_queue_.front().error;
  if (anc != nullptr) {
    anc->has_error = true;
    anc->error = std::move(e);
  }
  NotifyLocked();
  return n;
}

SysResult<void> Socket::SetOption(int level, int name, const void* value, socklen_t len) {
  int v = 0;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_RCVTIMEO:
        return ReadTimeout(value, len, &rcv_timeout_);
      case SO_SNDTIMEO:
        return ReadTimeout(value, len, &snd_timeout_);
      default:
        break;
    }
    if (auto r = ReadOpt(value, len, &v); !r.ok()) return r;
    switch (name) {
      case SO_REUSEADDR: reuse_addr_ = v != 0; return Ok();
      case SO_REUSEPORT: reuse_port_ = v != 0; return Ok();
      case SO_BROADCAST: broadcast_ = v != 0; return Ok();
      case SO_KEEPALIVE: keepalive_ = v != 0; return Ok();
      // Linux doubles the requested size (for bookkeeping), within its limits.
      case SO_RCVBUF:
        rcvbuf_ = BufferSize(v, false, RmemMax(), kMinRcvbuf);
        rcvbuf_locked_ = true;
        return Ok();
      case SO_SNDBUF: sndbuf_ = BufferSize(v, false, WmemMax(), kMinSndbuf); return Ok();
      case SO_RCVBUFFORCE:
        if (!HasNetAdmin()) return Err{EPERM};
        rcvbuf_ = BufferSize(v, true, 0, kMinRcvbuf);
        rcvbuf_locked_ = true;
        return Ok();
      case SO_SNDBUFFORCE:
        if (!HasNetAdmin()) return Err{EPERM};
        sndbuf_ = BufferSize(v, true, 0, kMinSndbuf);
        return Ok();
      case SO_RCVLOWAT:
        // sock_setsockopt: negative is INT_MAX, 0 is 1 (a stream caps it, tcp_set_rcvlowat).
        rcvlowat_ = v < 0 ? INT_MAX : std::max(v, 1);
        return Ok();
      case SO_TIMESTAMP: timestamp_ = v != 0; return Ok();
      case SO_OOBINLINE: oobinline_ = v != 0; return Ok();
      case SO_DONTROUTE:
      case SO_PRIORITY:
      case SO_ZEROCOPY:
      case SO_NO_CHECK:
        return Ok();  // accepted; no effect on this stack
      case SO_TYPE:
      case SO_ERROR:
      case SO_PROTOCOL:
      case SO_DOMAIN:
      case SO_ACCEPTCONN:
        return Err{ENOPROTOOPT};
      default:
        return Err{ENOPROTOOPT};
    }
  }
  if (level == IPPROTO_IP) {
    if (auto r = ReadOpt(value, len, &v); !r.ok()) {
      // Linux also accepts a single byte for these.
      if (len == 1 && value != nullptr) {
        v = *static_cast<const uint8_t*>(value);
      } else {
        return r;
      }
    }
    switch (name) {
      case IP_TTL:
        if (v == -1) v = 64;
        if (v < 1 || v > 255) return Err{EINVAL};
        ttl_ = static_cast<uint8_t>(v);
        return Ok();
      case IP_TOS:
        // do_ip_setsockopt: a stream keeps its ECN bits (TCP's own), a datagram socket
        // takes the whole byte.
        tos_ = type_ == SOCK_STREAM ? static_cast<uint8_t>((v & ~0x03) | (tos_ & 0x03))
                                    : static_cast<uint8_t>(v);
        return Ok();
      case IP_MTU_DISCOVER:
        if (v < IP_PMTUDISC_DONT || v > IP_PMTUDISC_OMIT) return Err{EINVAL};
        mtu_discover_ = v;
        return Ok();
      case IP_RECVERR:
        // ip(7): turning it off purges the queue.
        recverr_ = v != 0;
        if (!recverr_) {
          error_queue_.clear();
          error_queue_bytes_ = 0;
        }
        return Ok();
      case IP_RECVTTL: recvttl_ = v != 0; return Ok();
      case IP_MULTICAST_TTL:
        if (v == -1) v = 1;
        if (v < 0 || v > 255) return Err{EINVAL};
        multicast_ttl_ = static_cast<uint8_t>(v);
        return Ok();
      case IP_MULTICAST_LOOP: multicast_loop_ = v != 0; return Ok();
      case IP_RETOPTS:
        return Ok();  // accepted (ping sets it); no options are echoed back
      case IP_PKTINFO: recvpktinfo_ = v != 0; return Ok();
      case IP_RECVTOS: recvtos_ = v != 0; return Ok();
      case IP_FREEBIND:
      case IP_BIND_ADDRESS_NO_PORT:
        return Ok();  // accepted
      default:
        return Err{ENOPROTOOPT};
    }
  }
  if (level == IPPROTO_IPV6) {
    // ipv6(7); only AF_INET6 sockets have these (Linux: ENOPROTOOPT on AF_INET).
    if (family_ != AF_INET6) return Err{ENOPROTOOPT};
    if (name == IPV6_PKTINFO) {
      // RFC 3542 §6.1 sticky IPV6_PKTINFO: the stack has one interface, so an index says
      // nothing more; a source address is not taken from it (EINVAL rather than ignored).
      if (len == 0) return Ok();
      in6_pktinfo pi{};
      if (value == nullptr || len < sizeof(pi)) return Err{EINVAL};
      std::memcpy(&pi, value, sizeof(pi));
      if (!IN6_IS_ADDR_UNSPECIFIED(&pi.ipi6_addr)) return Err{EINVAL};
      return Ok();
    }
    if (auto r = ReadOpt(value, len, &v); !r.ok()) return r;
    switch (name) {
      case IPV6_V6ONLY: v6only_ = v != 0; return Ok();
      case IPV6_UNICAST_HOPS:
        if (v < -1 || v > 255) return Err{EINVAL};
        unicast_hops_ = v;
        return Ok();
      case IPV6_TCLASS:
        if (v < -1 || v > 255) return Err{EINVAL};
        tos_ = static_cast<uint8_t>(v == -1 ? 0 : v);
        return Ok();
      case IPV6_RECVERR:
        recverr_ = v != 0;
        if (!recverr_) {
          error_queue_.clear();
          error_queue_bytes_ = 0;
        }
        return Ok();
      case IPV6_MTU_DISCOVER:
        if (v < IPV6_PMTUDISC_DONT || v > IPV6_PMTUDISC_OMIT) return Err{EINVAL};
        mtu_discover_ = v;
        return Ok();
      case IPV6_RECVHOPLIMIT: recvhoplimit_ = v != 0; return Ok();
      case IPV6_RECVPKTINFO: recvpktinfo6_ = v != 0; return Ok();
      case IPV6_RECVTCLASS: recvtclass_ = v != 0; return Ok();
      case IPV6_MULTICAST_HOPS:
      case IPV6_MULTICAST_LOOP:
      case IPV6_ADDR_PREFERENCES:
        return Ok();  // accepted
      default:
        return Err{ENOPROTOOPT};
    }
  }
  return Err{ENOPROTOOPT};
}

SysResult<void> Socket::GetOption(int level, int name, void* value, socklen_t* len) {
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_TYPE: return WriteOpt(value, len, type_);
      case SO_PROTOCOL: return WriteOpt(value, len, protocol_);
      case SO_DOMAIN: return WriteOpt(value, len, family_);
      case SO_ERROR: return WriteOpt(value, len, TakePendingErrorLocked());
      case SO_REUSEADDR: return WriteOpt(value, len, int{reuse_addr_});
      case SO_REUSEPORT: return WriteOpt(value, len, int{reuse_port_});
      case SO_BROADCAST: return WriteOpt(value, len, int{broadcast_});
      case SO_KEEPALIVE: return WriteOpt(value, len, int{keepalive_});
      case SO_RCVBUF: return WriteOpt(value, len, rcvbuf_);
      case SO_SNDBUF: return WriteOpt(value, len, sndbuf_);
      case SO_RCVTIMEO: return WriteOpt(value, len, ToTimeval(rcv_timeout_));
      case SO_SNDTIMEO: return WriteOpt(value, len, ToTimeval(snd_timeout_));
      case SO_ACCEPTCONN: return WriteOpt(value, len, 0);
      case SO_TIMESTAMP: return WriteOpt(value, len, int{timestamp_});
      case SO_RCVLOWAT: return WriteOpt(value, len, rcvlowat_);
      case SO_OOBINLINE: return WriteOpt(value, len, int{oobinline_});
      default: return Err{ENOPROTOOPT};
    }
  }
  if (level == IPPROTO_IP) {
    switch (name) {
      case IP_TTL: return WriteIpOpt(value, len, int{ttl_});
      case IP_TOS: return WriteIpOpt(value, len, int{tos_});
      case IP_MTU_DISCOVER: return WriteIpOpt(value, len, mtu_discover_);
      case IP_RECVERR: return WriteIpOpt(value, len, int{recverr_});
      case IP_RECVTTL: return WriteIpOpt(value, len, int{recvttl_});
      case IP_MULTICAST_TTL: return WriteIpOpt(value, len, int{multicast_ttl_});
      case IP_MULTICAST_LOOP: return WriteIpOpt(value, len, int{multicast_loop_});
      case IP_PKTINFO: return WriteIpOpt(value, len, int{recvpktinfo_});
      case IP_RECVTOS: return WriteIpOpt(value, len, int{recvtos_});
      case IP_MULTICAST_IF: {
        // do_ip_getsockopt: the address as an in_addr (network order), cut to *len.
        if (value == nullptr || len == nullptr) return Err{EFAULT};
        if (static_cast<int>(*len) < 0) return Err{EINVAL};
        uint8_t a[4];
        StoreBe32(a, multicast_if4_.value());
        const socklen_t n = std::min<socklen_t>(*len, sizeof(a));
        std::memcpy(value, a, n);
        *len = n;
        return Ok();
      }
      default: return Err{ENOPROTOOPT};
    }
  }
  if (level == IPPROTO_IPV6) {
    // An AF_INET socket: do_ip_getsockopt answers any level but SOL_IP with EOPNOTSUPP
    // (setsockopt's is ENOPROTOOPT).
    if (family_ != AF_INET6) return Err{EOPNOTSUPP};
    switch (name) {
      case IPV6_V6ONLY: return WriteOpt(value, len, int{v6only_});
      // Linux reports the effective value: 64 when left at the default.
      case IPV6_UNICAST_HOPS: return WriteOpt(value, len, unicast_hops_ < 0 ? 64 : unicast_hops_);
      case IPV6_TCLASS: return WriteOpt(value, len, int{tos_});
      case IPV6_RECVERR: return WriteOpt(value, len, int{recverr_});
      case IPV6_MTU_DISCOVER: return WriteOpt(value, len, mtu_discover_);
      case IPV6_RECVHOPLIMIT: return WriteOpt(value, len, int{recvhoplimit_});
      case IPV6_RECVPKTINFO: return WriteOpt(value, len, int{recvpktinfo6_});
      case IPV6_RECVTCLASS: return WriteOpt(value, len, int{recvtclass_});
      case IPV6_MULTICAST_HOPS: return WriteOpt(value, len, 1);
      default: return Err{ENOPROTOOPT};
    }
  }
  return Err{ENOPROTOOPT};
}

}  // namespace pytcp
