// The data calls: read, write, readv, writev, send, sendto, sendmsg, sendmmsg, recv,
// recvfrom, recvmsg, recvmmsg, sendfile/sendfile64 (a file to a stack socket), and the
// fortified entry points Debian's binaries call (__read_chk, __recv_chk, __recvfrom_chk).
//
// All of them become Socket::SendMsg/RecvMsg over a list of spans (the iovecs). SIGPIPE on
// a stream's EPIPE is the socket layer's (as tcp_sendmsg's is the kernel's). Ancillary
// data on receive: SO_TIMESTAMP, IP_PKTINFO, IP_TTL (IP_RECVTTL), IP_TOS (IP_RECVTOS),
// IPV6_PKTINFO, IPV6_HOPLIMIT, IPV6_TCLASS and IP_RECVERR (the sock_extended_err of
// MSG_ERRQUEUE) when the socket's options ask for them; on send IP_PKTINFO, IP_TOS, IP_TTL,
// IPV6_PKTINFO, IPV6_TCLASS and IPV6_HOPLIMIT, checked as ip_cmsg_send and
// ip6_datagram_send_ctl check them.
#include <fcntl.h>
#include <limits.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/sendfile.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "shim/control_messages.h"
#include "shim/interpose.h"
#include "shim/libc.h"
#include "shim/loopback.h"
#include "shim/netlink_socket.h"
#include "shim/sockaddr.h"
#include "shim/user_memory.h"

namespace pytcp::shim {
namespace {

// Spans over iovecs, without allocating for the usual few.
template <typename Span>
class SpanList {
 public:
  // EINVAL (kernel: iovcnt out of range) is reported through ok().
  SpanList(const iovec* iov, size_t n) {
    if (n > IOV_MAX) {
      ok_ = false;
      return;
    }
    if (n > small_.size()) big_.resize(n);
    Span* out = n > small_.size() ? big_.data() : small_.data();
    for (size_t i = 0; i < n; ++i) {
      out[i] = Span(static_cast<typename Span::pointer>(iov[i].iov_base), iov[i].iov_len);
    }
    spans_ = std::span<const Span>(out, n);
  }
  explicit SpanList(Span one) : spans_(&small_[0], 1) { small_[0] = one; }
  bool ok() const { return ok_; }
  std::span<const Span> get() const { return spans_; }

 private:
  std::array<Span, 8> small_{};
  std::vector<Span> big_;
  std::span<const Span> spans_;
  bool ok_ = true;
};
using SendParts = SpanList<ByteSpan>;
using RecvParts = SpanList<MutableByteSpan>;

// The user ranges of `parts` (the first `limit` bytes), for the probes of user_memory.h.
template <typename Span>
class PartRanges {
 public:
  PartRanges(std::span<const Span> parts, size_t limit = SIZE_MAX) {
    for (const Span& p : parts) {
      if (limit == 0) break;
      const size_t n = std::min(p.size(), limit);
      if (n > 0) ranges_.push_back(UserRange{p.data(), n});
      limit -= n;
    }
  }
  std::span<const UserRange> get() const { return ranges_; }

 private:
  std::vector<UserRange> ranges_;
};

// EFAULT where the kernel's copy from the program's buffers would fault. A datagram is
// refused as a whole (ip_generic_getfrag); a stream's other errors come first
// (tcp_sendmsg_locked copies only once it may send): an empty send of the same kind
// tells which.
int SendFault(ShimSocket& s, std::span<const ByteSpan> parts, int flags) {
  if (parts.empty() || UserReadable(PartRanges<ByteSpan>(parts).get())) return 0;
  if (s.type() == SOCK_STREAM) {
    auto r = s.impl().SendMsg({}, nullptr, flags | MSG_DONTWAIT);
    if (!r.ok() && r.error() != EAGAIN) return r.error();
  }
  return EFAULT;
}

// EFAULT where the kernel's copy into the program's buffers would fault: the bytes the
// receive would fill now (the queued stream bytes or the next datagram), nothing when it
// returns at once without copying (EAGAIN, end of stream, an error, MSG_TRUNC on a
// stream), and the first byte when it is about to wait. A datagram that cannot be copied
// is dropped, as udp_recvmsg frees it; a stream's bytes stay.
int RecvFault(ShimSocket& s, std::span<const MutableByteSpan> parts, int flags) {
  if (parts.empty() || (flags & MSG_ERRQUEUE) != 0) return 0;
  if (s.type() == SOCK_STREAM && (flags & MSG_TRUNC) != 0) return 0;
  size_t bound = s.impl().ReadableBytes();
  if (bound == 0) {
    const bool nonblocking = s.impl().nonblocking() || (flags & MSG_DONTWAIT) != 0;
    if (nonblocking || (s.impl().Poll() & (POLLIN | POLLERR | POLLHUP)) != 0) return 0;
    bound = 1;
  }
  if (UserWritable(PartRanges<MutableByteSpan>(parts, bound).get())) return 0;
  if (s.type() != SOCK_STREAM && (flags & MSG_PEEK) == 0) {
    int out_flags = 0;
    (void)s.impl().RecvMsg({}, nullptr, MSG_DONTWAIT, &out_flags, nullptr);
  }
  return EFAULT;
}

// sendmsg's control messages, as the kernel reads them: each must fit the control buffer
// (CMSG_OK, else EINVAL); on an AF_INET socket ip_cmsg_send takes SOL_IP's IP_PKTINFO
// (ipi_spec_dst is the source), IP_TOS (an int or a byte), IP_TTL, refuses any other SOL_IP
// type, and ignores other levels but SOL_SOCKET; on an AF_INET6 socket
// ip6_datagram_send_ctl does the same for SOL_IPV6's IPV6_PKTINFO, IPV6_TCLASS and
// IPV6_HOPLIMIT. SOL_SOCKET's are ignored here (SO_MARK and timestamping requests mean
// nothing to this stack).
int ParseSendControl(const msghdr* msg, int domain, SendAncillary* anc) {
  if (msg->msg_control == nullptr || msg->msg_controllen == 0) return 0;
  if (msg->msg_controllen > INT_MAX) return ENOBUFS;
  if (!UserReadable(msg->msg_control, msg->msg_controllen)) return EFAULT;
  const auto* base = static_cast<const uint8_t*>(msg->msg_control);
  const size_t total = msg->msg_controllen;
  size_t off = 0;
  while (off + sizeof(cmsghdr) <= total) {
    cmsghdr h;
    std::memcpy(&h, base + off, sizeof(h));
    if (h.cmsg_len < sizeof(cmsghdr) || h.cmsg_len > total - off) return EINVAL;
    const uint8_t* data = base + off + CMSG_LEN(0);
    const size_t len = h.cmsg_len - CMSG_LEN(0);
    auto read_int = [&](int* v) {
      if (len != sizeof(int)) return false;
      std::memcpy(v, data, sizeof(int));
      return true;
    };
    if (domain == AF_INET && h.cmsg_level == SOL_IP) {
      int v = 0;
      switch (h.cmsg_type) {
        case IP_PKTINFO: {
          in_pktinfo pi{};
          if (len != sizeof(pi)) return EINVAL;
          std::memcpy(&pi, data, sizeof(pi));
          anc->src = IpAddress(Ip4Address(ntohl(pi.ipi_spec_dst.s_addr)));
          break;
        }
        case IP_TOS:
          if (len == 1) {
            v = *data;
          } else if (!read_int(&v)) {
            return EINVAL;
          }
          if (v < 0 || v > 255) return EINVAL;
          anc->tos = v;
          break;
        case IP_TTL:
          if (!read_int(&v) || v < 1 || v > 255) return EINVAL;
          anc->ttl = v;
          break;
        default:
          return EINVAL;
      }
    } else if (domain == AF_INET6 && h.cmsg_level == SOL_IPV6) {
      int v = 0;
      switch (h.cmsg_type) {
        case IPV6_PKTINFO: {
          in6_pktinfo pi{};
          if (len < sizeof(pi)) return EINVAL;
          std::memcpy(&pi, data, sizeof(pi));
          const Ip6Address a = Ip6Address::FromBytes(pi.ipi6_addr.s6_addr);
          if (!a.is_unspecified()) anc->src = IpAddress(a);
          break;
        }
        case IPV6_TCLASS:
          if (!read_int(&v) || v < -1 || v > 255) return EINVAL;
          anc->tos = v < 0 ? 0 : v;
          break;
        case IPV6_HOPLIMIT:
          if (!read_int(&v) || v < -1 || v > 255) return EINVAL;
          if (v >= 0) anc->ttl = v;
          break;
        default:
          break;  // the rest of RFC 3542's (routing headers, next hop) are not taken
      }
    }
    off += CMSG_ALIGN(h.cmsg_len);
  }
  return 0;
}

ssize_t DoSend(int fd, ShimSocket& s, std::span<const ByteSpan> parts, const sockaddr* addr,
               socklen_t addrlen, int flags, const msghdr* as_msg,
               const SendAncillary* anc = nullptr) {
  SocketAddress to;
  const SocketAddress* top = nullptr;
  if (addr != nullptr && s.type() != SOCK_STREAM) {
    auto a = SendToAddress(addr, addrlen, s.domain());
    if (!a.ok()) return FailWith<ssize_t>(a);
    to = *a;
    top = &to;
    if (ShouldHandOver(s, to)) {
      if (const int e = HandOverToKernel(fd, s); e != 0) return Fail<ssize_t>(e);
      if (as_msg != nullptr) return libc().sendmsg(fd, as_msg, flags);
      return libc().sendto(fd, parts.empty() ? nullptr : parts[0].data(),
                           parts.empty() ? 0 : parts[0].size(), flags, addr, addrlen);
    }
  }
  if (const int e = SendFault(s, parts, flags); e != 0) return Fail<ssize_t>(e);
  s.set_committed();
  auto send = [&] {
    return anc != nullptr ? s.impl().SendMsgWith(parts, top, flags, *anc)
                          : s.impl().SendMsg(parts, top, flags);
  };
  auto r = send();
  while (!r.ok() && r.error() == EINTR && ShouldRestart(s, /*receive_side=*/false)) r = send();
  if (!r.ok()) return FailWith<ssize_t>(r);  // (a stream's EPIPE raised SIGPIPE already)
  return static_cast<ssize_t>(*r);
}

// Receives into `parts`; writes the sender into (addr, addrlen) when given (a stream
// socket reports no address: *addrlen = 0, as tcp_recvmsg leaves msg_namelen).
ssize_t DoRecv(ShimSocket& s, std::span<const MutableByteSpan> parts, int flags, sockaddr* addr,
               socklen_t* addrlen, int* out_flags, RecvAncillary* anc = nullptr) {
  SocketAddress from;
  const bool want_from = addr != nullptr && addrlen != nullptr;
  if (want_from) {
    // move_addr_to_user: the length is read and written, the address written.
    if (!UserWritable(addrlen, sizeof(*addrlen))) return Fail<ssize_t>(EFAULT);
    if (static_cast<int>(*addrlen) < 0) return Fail<ssize_t>(EINVAL);
    if (!UserWritable(addr, std::min<size_t>(*addrlen, sizeof(sockaddr_in6)))) {
      return Fail<ssize_t>(EFAULT);
    }
  }
  if (const int e = RecvFault(s, parts, flags); e != 0) return Fail<ssize_t>(e);
  auto r = s.impl().RecvMsg(parts, want_from ? &from : nullptr, flags, out_flags, anc);
  while (!r.ok() && r.error() == EINTR && ShouldRestart(s, /*receive_side=*/true)) {
    r = s.impl().RecvMsg(parts, want_from ? &from : nullptr, flags, out_flags, anc);
  }
  if (!r.ok()) return FailWith<ssize_t>(r);
  if (s.type() != SOCK_STREAM) s.NoteReceived();  // SIOCGSTAMP
  if (want_from) {
    if (s.type() == SOCK_STREAM) {
      *addrlen = 0;
    } else {
      WriteAddress(from, addr, addrlen, s.domain());
    }
  }
  return static_cast<ssize_t>(*r);
}

ssize_t SendMsg(int fd, ShimSocket& s, const msghdr* msg, int flags) {
  if (const int e = MsgHeaderFault(msg, false); e != 0) return Fail<ssize_t>(e);
  SendParts parts(msg->msg_iov, msg->msg_iovlen);
  if (!parts.ok()) return Fail<ssize_t>(EMSGSIZE);
  // __copy_msghdr: a name without a length is no name, a longer one is cut to a
  // sockaddr_storage; a negative length is EINVAL.
  if (msg->msg_name != nullptr && static_cast<int>(msg->msg_namelen) < 0) {
    return Fail<ssize_t>(EINVAL);
  }
  const bool named = msg->msg_name != nullptr && msg->msg_namelen != 0;
  SendAncillary anc;
  if (s.type() != SOCK_STREAM) {
    if (const int e = ParseSendControl(msg, s.domain(), &anc); e != 0) return Fail<ssize_t>(e);
  }
  return DoSend(fd, s, parts.get(), named ? static_cast<const sockaddr*>(msg->msg_name) : nullptr,
                named ? std::min<socklen_t>(msg->msg_namelen, sizeof(sockaddr_storage)) : 0,
                flags, msg, anc.empty() ? nullptr : &anc);
}

// ip(7) IP_RECVERR, ipv6(7) IPV6_RECVERR: a sock_extended_err followed by the offender's
// address (SO_EE_OFFENDER), written by fill_offender; a local error (SO_EE_ORIGIN_LOCAL:
// EMSGSIZE with the MTU) has no offender, so zeros.
template <typename Sockaddr, typename Put, typename FillOffender>
void PutExtendedError(Put& put, int level, int type, const SocketError& error,
                      FillOffender&& fill_offender) {
  struct {
    sock_extended_err ee;
    Sockaddr offender;
  } e{};
  e.ee.ee_errno = static_cast<uint32_t>(error.error);
  e.ee.ee_origin = error.origin;
  e.ee.ee_type = error.type;
  e.ee.ee_code = error.code;
  e.ee.ee_info = error.info;
  if (error.origin != SO_EE_ORIGIN_LOCAL) fill_offender(e.offender);
  put(level, type, &e, sizeof(e));
}

// Writes the control messages of `anc` into msg_control as the kernel lays them out (put_cmsg):
// MSG_CTRUNC when they do not fit.
void WriteControl(const RecvAncillary& anc, int domain, msghdr* msg, int* out_flags) {
  const size_t cap = msg->msg_control != nullptr ? msg->msg_controllen : 0;
  auto* base = static_cast<uint8_t*>(msg->msg_control);
  size_t used = 0;
  auto put = [&](int level, int type, const void* data, size_t len) {
    const size_t space = CMSG_SPACE(len);
    if (used + CMSG_LEN(len) > cap) {
      *out_flags |= MSG_CTRUNC;
      return;
    }
    cmsghdr h{};
    h.cmsg_len = CMSG_LEN(len);
    h.cmsg_level = level;
    h.cmsg_type = type;
    std::memcpy(base + used, &h, sizeof(h));
    std::memcpy(base + used + (CMSG_LEN(0)), data, len);
    used += std::min(space, cap - used);
  };
  if (anc.has_timestamp) {
    const timeval tv{static_cast<time_t>(anc.timestamp_ns / 1000000000),
                     static_cast<suseconds_t>((anc.timestamp_ns % 1000000000) / 1000)};
    put(SOL_SOCKET, SO_TIMESTAMP, &tv, sizeof(tv));
  }
  // ip_cmsg_recv_offset's order: IP_PKTINFO, IP_TTL, IP_TOS; then IPv6's
  // (ip6_datagram_recv_specific_ctl): IPV6_PKTINFO, IPV6_HOPLIMIT, IPV6_TCLASS.
  if (anc.has_pktinfo) {
    in_pktinfo pi{};
    pi.ipi_ifindex = static_cast<int>(LinkLocalScope());
    pi.ipi_spec_dst.s_addr = htonl(anc.pktinfo_spec_dst.value());
    pi.ipi_addr.s_addr = htonl(anc.pktinfo_addr.value());
    put(SOL_IP, IP_PKTINFO, &pi, sizeof(pi));
  }
  if (anc.has_ttl) {
    const int ttl = anc.ttl;
    put(SOL_IP, IP_TTL, &ttl, sizeof(ttl));
  }
  if (anc.has_tos) put(SOL_IP, IP_TOS, &anc.tos, sizeof(anc.tos));  // one byte, as Linux
  if (anc.has_pktinfo6) {
    in6_pktinfo pi{};
    std::memcpy(pi.ipi6_addr.s6_addr, anc.pktinfo6_addr.bytes().data(), 16);
    pi.ipi6_ifindex = LinkLocalScope();
    put(SOL_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
  }
  if (anc.has_hoplimit) {
    const int hops = anc.hoplimit;
    put(SOL_IPV6, IPV6_HOPLIMIT, &hops, sizeof(hops));
  }
  if (anc.has_tclass) {
    const int tclass = anc.tclass;
    put(SOL_IPV6, IPV6_TCLASS, &tclass, sizeof(tclass));
  }
  if (anc.has_inq) put(SOL_TCP, TCP_CM_INQ, &anc.inq, sizeof(anc.inq));
  if (anc.has_error && domain == AF_INET6) {
    // ipv6(7) (ipv6_recv_error): on an AF_INET6 socket the error comes as SOL_IPV6
    // IPV6_RECVERR with a sockaddr_in6 offender, v4-mapped when an ICMPv4 error reported it.
    PutExtendedError<sockaddr_in6>(put, SOL_IPV6, IPV6_RECVERR, anc.error, [&](sockaddr_in6& o) {
      o.sin6_family = AF_INET6;
      const Ip6Address who = anc.error.origin == SO_EE_ORIGIN_ICMP6
                                 ? anc.error.offender6
                                 : IpAddress(anc.error.offender).v6();
      std::memcpy(&o.sin6_addr, who.bytes().data(), 16);
      if (who.is_link_local()) o.sin6_scope_id = LinkLocalScope();
    });
  } else if (anc.has_error) {
    // ip(7): IP_RECVERR with a sockaddr_in offender.
    PutExtendedError<sockaddr_in>(put, SOL_IP, IP_RECVERR, anc.error, [&](sockaddr_in& o) {
      o.sin_family = AF_INET;
      o.sin_addr.s_addr = htonl(anc.error.offender.value());
    });
  }
  msg->msg_controllen = used;
}

ssize_t RecvMsg(ShimSocket& s, msghdr* msg, int flags) {
  if (const int e = MsgHeaderFault(msg, true); e != 0) return Fail<ssize_t>(e);
  if (msg->msg_control != nullptr && !UserWritable(msg->msg_control, msg->msg_controllen)) {
    return Fail<ssize_t>(EFAULT);
  }
  RecvParts parts(msg->msg_iov, msg->msg_iovlen);
  if (!parts.ok()) return Fail<ssize_t>(EMSGSIZE);
  int out_flags = 0;
  socklen_t namelen = msg->msg_namelen;
  RecvAncillary anc;
  const ssize_t n = DoRecv(s, parts.get(), flags, static_cast<sockaddr*>(msg->msg_name),
                           msg->msg_name != nullptr ? &namelen : nullptr, &out_flags, &anc);
  if (n < 0) return n;
  if (msg->msg_name != nullptr) msg->msg_namelen = namelen;
  WriteControl(anc, s.domain(), msg, &out_flags);
  msg->msg_flags = out_flags;
  return n;
}

// sendfile() to a stack socket: read from the file, send, and leave the file offset just
// after what was sent (the rest is read again next time).
ssize_t SendFile(int out_fd, ShimSocket& s, int in_fd, off64_t* offset, size_t count) {
  if (FdTable::Get().Kind(in_fd) != FdKind::kNone) return Fail<ssize_t>(EINVAL);
  std::vector<uint8_t> buf(std::min<size_t>(count, 64 * 1024));
  size_t total = 0;
  while (total < count) {
    const size_t want = std::min(buf.size(), count - total);
    const ssize_t got = offset != nullptr
                            ? pread64(in_fd, buf.data(), want, *offset)
                            : libc().read(in_fd, buf.data(), want);
    if (got < 0) return total > 0 ? static_cast<ssize_t>(total) : -1;
    if (got == 0) break;
    const ByteSpan part(buf.data(), static_cast<size_t>(got));
    const ssize_t sent = DoSend(out_fd, s, std::span<const ByteSpan>(&part, 1), nullptr, 0,
                                total > 0 ? MSG_DONTWAIT : 0, nullptr);
    const size_t took = sent > 0 ? static_cast<size_t>(sent) : 0;
    if (offset != nullptr) {
      *offset += static_cast<off64_t>(took);
    } else if (took < static_cast<size_t>(got)) {
      lseek64(in_fd, static_cast<off64_t>(took) - got, SEEK_CUR);
    }
    total += took;
    if (sent < 0) return total > 0 ? static_cast<ssize_t>(total) : -1;
    if (took < static_cast<size_t>(got)) break;
  }
  return static_cast<ssize_t>(total);
}

// sendmmsg/recvmmsg: `one(msghdr*, flags)` per message, at most UIO_MAXIOV (as the kernel
// clamps); the count done, or -1 when the first fails. MSG_WAITFORONE (receiving): only
// the first message may block.
template <typename One>
int EachMessage(mmsghdr* vec, unsigned int vlen, int flags, One&& one) {
  if (vec == nullptr) return Fail(EFAULT);
  vlen = std::min(vlen, 1024u);
  if (!UserWritable(vec, vlen * sizeof(mmsghdr))) return Fail(EFAULT);
  const int base_flags = flags & ~MSG_WAITFORONE;
  unsigned int i = 0;
  for (; i < vlen; ++i) {
    const int f = (i > 0 && (flags & MSG_WAITFORONE) != 0) ? base_flags | MSG_DONTWAIT
                                                           : base_flags;
    const ssize_t n = one(&vec[i].msg_hdr, f);
    if (n < 0) return i > 0 ? static_cast<int>(i) : -1;
    vec[i].msg_len = static_cast<unsigned int>(n);
  }
  return static_cast<int>(i);
}

// The shared stack's sockets (remote_socket.h) through one msghdr.
ssize_t RemoteRecvInto(int fd, RemoteSocket& s, const iovec* iov, size_t iovcnt, int flags,
                       sockaddr* addr, socklen_t* addrlen) {
  msghdr m{};
  m.msg_name = addr;
  m.msg_namelen = addr != nullptr && addrlen != nullptr ? *addrlen : 0;
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = iovcnt;
  const ssize_t r = RemoteRecv(fd, s, &m, flags);
  if (r >= 0 && addrlen != nullptr) *addrlen = m.msg_namelen;
  return r;
}

ssize_t RemoteSendFrom(int fd, RemoteSocket& s, const iovec* iov, size_t iovcnt, int flags,
                       const sockaddr* addr, socklen_t addrlen) {
  msghdr m{};
  m.msg_name = const_cast<sockaddr*>(addr);
  m.msg_namelen = addr != nullptr ? addrlen : 0;
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = iovcnt;
  return RemoteSend(fd, s, &m, flags);
}

// write(), send() and sendto() on a stack socket: one buffer, `flags`, maybe a name.
ssize_t StackSendBuffer(int fd, ShimSocket& s, const void* buf, size_t n, int flags,
                        const sockaddr* addr, socklen_t addrlen) {
  SendParts parts(ByteSpan(static_cast<const uint8_t*>(buf), n));
  return DoSend(fd, s, parts.get(), addr, addrlen, flags, nullptr);
}

// The same on a daemon socket: a stream goes straight through the socketpair, a datagram
// with its name through the daemon.
ssize_t RemoteSendBuffer(int fd, RemoteSocket& s, const void* buf, size_t n, int flags,
                         const sockaddr* addr, socklen_t addrlen) {
  // move_addr_to_kernel, before the protocol looks at the address (or ignores it).
  if (addr != nullptr && addrlen > sizeof(sockaddr_storage)) return Fail<ssize_t>(EINVAL);
  if (s.stream()) {
    if (const int e = RemoteStreamCheck(fd, s, true, flags); e != 0) return Fail<ssize_t>(e);
    return RemoteStreamWritten(fd, s, libc().send(fd, buf, n, flags | MSG_NOSIGNAL), flags);
  }
  const iovec iov{const_cast<void*>(buf), n};
  return RemoteSendFrom(fd, s, &iov, 1, flags, addr, addrlen);
}

// readv() and writev() on a stack socket: the checks of import_iovec (EINVAL for a count
// out of 0..IOV_MAX, EFAULT for an array the caller cannot read); 0 when it passes.
int IovecFault(const iovec* iov, int iovcnt) {
  if (iovcnt < 0 || iovcnt > IOV_MAX) return EINVAL;
  if (!UserReadable(iov, static_cast<size_t>(iovcnt) * sizeof(iovec))) return EFAULT;
  return 0;
}

}  // namespace

int ParseSendControlMessages(const msghdr* msg, int domain, SendAncillary* anc) {
  return ParseSendControl(msg, domain, anc);
}
void WriteControlMessages(const RecvAncillary& anc, int domain, msghdr* msg, int* out_flags) {
  WriteControl(anc, domain, msg, out_flags);
}

}  // namespace pytcp::shim

using namespace pytcp;        // NOLINT: the interposed functions are C symbols
using namespace pytcp::shim;  // NOLINT

PYTCP_EXPORT ssize_t read(int fd, void* buf, size_t n) {
  return OnSocket<ssize_t, kCancelPoint>(
      fd,
      [&] {
        return KernelOrNetlink<ssize_t>(
            fd, [&] { return libc().read(fd, buf, n); },
            [&](NetlinkSocket& s) { return NetlinkRecvFrom(fd, s, buf, n, 0, nullptr, nullptr); });
      },
      [&](ShimSocket& s) {
        RecvParts parts(MutableByteSpan(static_cast<uint8_t*>(buf), n));
        return DoRecv(s, parts.get(), 0, nullptr, nullptr, nullptr);
      },
      [&](RemoteSocket& s) {
        const iovec iov{buf, n};
        return RemoteRecvInto(fd, s, &iov, 1, 0, nullptr, nullptr);
      });
}

PYTCP_EXPORT ssize_t __read_chk(int fd, void* buf, size_t n, size_t buflen) {
  if (n > buflen) __chk_fail();
  return read(fd, buf, n);
}

PYTCP_EXPORT ssize_t write(int fd, const void* buf, size_t n) {
  return OnSocket<ssize_t, kCancelPoint>(
      fd,
      [&] {
        return KernelOrNetlink<ssize_t>(
            fd, [&] { return libc().write(fd, buf, n); },
            [&](NetlinkSocket& s) { return NetlinkSendTo(fd, s, buf, n, 0, nullptr, 0); });
      },
      [&](ShimSocket& s) { return StackSendBuffer(fd, s, buf, n, 0, nullptr, 0); },
      [&](RemoteSocket& s) { return RemoteSendBuffer(fd, s, buf, n, 0, nullptr, 0); });
}

PYTCP_EXPORT ssize_t readv(int fd, const iovec* iov, int iovcnt) {
  return OnSocket<ssize_t, kCancelPoint>(
      fd, [&] { return libc().readv(fd, iov, iovcnt); },
      [&](ShimSocket& s) -> ssize_t {
        if (const int e = IovecFault(iov, iovcnt); e != 0) return Fail<ssize_t>(e);
        RecvParts parts(iov, static_cast<size_t>(iovcnt));
        if (!parts.ok()) return Fail<ssize_t>(EINVAL);
        return DoRecv(s, parts.get(), 0, nullptr, nullptr, nullptr);
      },
      [&](RemoteSocket& s) -> ssize_t {
        if (iovcnt < 0 || iovcnt > IOV_MAX) return Fail<ssize_t>(EINVAL);
        return RemoteRecvInto(fd, s, iov, static_cast<size_t>(iovcnt), 0, nullptr, nullptr);
      });
}

PYTCP_EXPORT ssize_t writev(int fd, const iovec* iov, int iovcnt) {
  return OnSocket<ssize_t, kCancelPoint>(
      fd, [&] { return libc().writev(fd, iov, iovcnt); },
      [&](ShimSocket& s) -> ssize_t {
        if (const int e = IovecFault(iov, iovcnt); e != 0) return Fail<ssize_t>(e);
        SendParts parts(iov, static_cast<size_t>(iovcnt));
        if (!parts.ok()) return Fail<ssize_t>(EINVAL);
        return DoSend(fd, s, parts.get(), nullptr, 0, 0, nullptr);
      },
      [&](RemoteSocket& s) -> ssize_t {
        if (s.stream()) {
          if (const int e = RemoteStreamCheck(fd, s, true, 0); e != 0) return Fail<ssize_t>(e);
          if (iovcnt < 0 || iovcnt > IOV_MAX) return Fail<ssize_t>(EINVAL);
          msghdr m{};
          m.msg_iov = const_cast<iovec*>(iov);
          m.msg_iovlen = static_cast<size_t>(iovcnt);
          return RemoteStreamWritten(fd, s, libc().sendmsg(fd, &m, MSG_NOSIGNAL), 0);
        }
        if (iovcnt < 0 || iovcnt > IOV_MAX) return Fail<ssize_t>(EINVAL);
        return RemoteSendFrom(fd, s, iov, static_cast<size_t>(iovcnt), 0, nullptr, 0);
      });
}

PYTCP_EXPORT ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* addr,
                            socklen_t addrlen) {
  return OnSocket<ssize_t, kCancelPoint>(
      fd,
      [&] {
        return KernelOrNetlink<ssize_t>(
            fd, [&] { return libc().sendto(fd, buf, n, flags, addr, addrlen); },
            [&](NetlinkSocket& s) { return NetlinkSendTo(fd, s, buf, n, flags, addr, addrlen); });
      },
      [&](ShimSocket& s) { return StackSendBuffer(fd, s, buf, n, flags, addr, addrlen); },
      [&](RemoteSocket& s) { return RemoteSendBuffer(fd, s, buf, n, flags, addr, addrlen); });
}

// POSIX: send() is sendto() without a destination (and glibc's send is the sendto system
// call with a null address), on every kind of fd.
PYTCP_EXPORT ssize_t send(int fd, const void* buf, size_t n, int flags) {
  return sendto(fd, buf, n, flags, nullptr, 0);
}

PYTCP_EXPORT ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  return OnSocket<ssize_t, kCancelPoint>(
      fd,
      [&] {
        return KernelOrNetlink<ssize_t>(
            fd, [&] { return libc().sendmsg(fd, msg, flags); },
            [&](NetlinkSocket& s) { return NetlinkSendMsg(fd, s, msg, flags); });
      },
      [&](ShimSocket& s) { return SendMsg(fd, s, msg, flags); },
      [&](RemoteSocket& s) { return RemoteSend(fd, s, msg, flags); });
}

PYTCP_EXPORT int sendmmsg(int fd, mmsghdr* vec, unsigned int vlen, int flags) {
  return OnSocket<int, kCancelPoint>(
      fd, [&] { return libc().sendmmsg(fd, vec, vlen, flags); },
      [&](ShimSocket& s) {
        return EachMessage(vec, vlen, flags,
                           [&](msghdr* m, int f) { return SendMsg(fd, s, m, f); });
      },
      [&](RemoteSocket& s) {
        return EachMessage(vec, vlen, flags,
                           [&](msghdr* m, int f) { return RemoteSend(fd, s, m, f); });
      });
}

PYTCP_EXPORT ssize_t __recv_chk(int fd, void* buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) __chk_fail();
  return recv(fd, buf, n, flags);
}

PYTCP_EXPORT ssize_t recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* addr,
                              socklen_t* addrlen) {
  return OnSocket<ssize_t, kCancelPoint>(
      fd,
      [&] {
        return KernelOrNetlink<ssize_t>(
            fd, [&] { return libc().recvfrom(fd, buf, n, flags, addr, addrlen); },
            [&](NetlinkSocket& s) { return NetlinkRecvFrom(fd, s, buf, n, flags, addr, addrlen); });
      },
      [&](ShimSocket& s) {
        RecvParts parts(MutableByteSpan(static_cast<uint8_t*>(buf), n));
        return DoRecv(s, parts.get(), flags, addr, addrlen, nullptr);
      },
      [&](RemoteSocket& s) {
        const iovec iov{buf, n};
        return RemoteRecvInto(fd, s, &iov, 1, flags, addr, addrlen);
      });
}

// POSIX: recv() is recvfrom() without an address (and glibc's recv is the recvfrom system
// call with a null address), on every kind of fd.
PYTCP_EXPORT ssize_t recv(int fd, void* buf, size_t n, int flags) {
  return recvfrom(fd, buf, n, flags, nullptr, nullptr);
}

PYTCP_EXPORT ssize_t __recvfrom_chk(int fd, void* buf, size_t n, size_t buflen, int flags,
                                    sockaddr* addr, socklen_t* addrlen) {
  if (n > buflen) __chk_fail();
  return recvfrom(fd, buf, n, flags, addr, addrlen);
}

PYTCP_EXPORT ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  return OnSocket<ssize_t, kCancelPoint>(
      fd,
      [&] {
        return KernelOrNetlink<ssize_t>(
            fd, [&] { return libc().recvmsg(fd, msg, flags); },
            [&](NetlinkSocket& s) { return NetlinkRecvMsg(fd, s, msg, flags); });
      },
      [&](ShimSocket& s) { return RecvMsg(s, msg, flags); },
      [&](RemoteSocket& s) { return RemoteRecv(fd, s, msg, flags); });
}

PYTCP_EXPORT int recvmmsg(int fd, mmsghdr* vec, unsigned int vlen, int flags, timespec* timeout) {
  return OnSocket<int, kCancelPoint>(
      fd, [&] { return libc().recvmmsg(fd, vec, vlen, flags, timeout); },
      [&](ShimSocket& s) {
        return EachMessage(vec, vlen, flags, [&](msghdr* m, int f) { return RecvMsg(s, m, f); });
      },
      [&](RemoteSocket& s) {
        return EachMessage(vec, vlen, flags,
                           [&](msghdr* m, int f) { return RemoteRecv(fd, s, m, f); });
      });
}

PYTCP_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) noexcept {
  return OnSocket<ssize_t>(
      out_fd, [&] { return libc().sendfile(out_fd, in_fd, offset, count); },
      [&](ShimSocket& s) -> ssize_t {
        off64_t off = offset != nullptr ? *offset : 0;
        const ssize_t n = SendFile(out_fd, s, in_fd, offset != nullptr ? &off : nullptr, count);
        if (offset != nullptr) *offset = static_cast<off_t>(off);
        return n;
      });
}

PYTCP_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off64_t* offset, size_t count) noexcept {
  return OnSocket<ssize_t>(
      out_fd, [&] { return libc().sendfile64(out_fd, in_fd, offset, count); },
      [&](ShimSocket& s) { return SendFile(out_fd, s, in_fd, offset, count); });
}
