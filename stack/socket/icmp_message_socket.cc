#include "stack/socket/icmp_message_socket.h"

#include <netinet/in.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/socket/message_parts.h"

namespace pytcp {
namespace {
int64_t RealtimeNanos() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
}  // namespace

IcmpMessageSocket::IcmpMessageSocket(SocketContext ctx, int type, int protocol)
    : Socket(std::move(ctx), type, protocol) {}

void IcmpMessageSocket::Close() {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return;
  closed_ = true;
  RemoveFromTableLocked();
  queue_.Clear();
  NotifyLocked();
}

SysResult<void> IcmpMessageSocket::Connect(const SocketAddress* to) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (to == nullptr) {
    binding().remote.reset();
    return Ok();
  }
  if (!IsFamilyTarget(*to)) return Err{EAFNOSUPPORT};
  auto src = SourceForLocked(to->ip);
  if (!src.ok()) return Err{src.error()};
  if (!raw() && !binding().bound) {
    SocketAddress any;
    any.ip = family() == AF_INET6 ? IpAddress(Ip6Address()) : IpAddress(Ip4Address());
    auto r = BindPingLocked(any);
    if (!r.ok()) return r;
  }
  if (binding().local.ip.is_unspecified()) binding().local.ip = *src;
  binding().remote = SocketAddress{to->ip, 0, to->scope_id};
  pending_error_ = 0;
  return Ok();
}

SysResult<size_t> IcmpMessageSocket::RecvFrom(MutableByteSpan buf, SocketAddress* from,
                                              int flags, int* out_flags, RecvAncillary* anc) {
  if ((flags & MSG_ERRQUEUE) != 0) return RecvErrorQueue(buf, from, anc, out_flags);
  std::unique_lock lock(*ctx_.mu);
  if (const int e = WaitDatagramLocked(lock, flags, out_flags, [&] { return !queue_.empty(); });
      e != 0) {
    return Err{e};
  }
  const ReceivedMessage& m = queue_.front();
  const size_t n = std::min(buf.size(), m.data.size());
  if (n > 0) std::memcpy(buf.data(), m.data.data(), n);
  const size_t full = m.data.size();
  if (from != nullptr) *from = SocketAddress{m.from, 0, 0};
  if (out_flags != nullptr && full > n) *out_flags |= MSG_TRUNC;
  if (anc != nullptr) {
    FillMessageAncillaryLocked(m, anc);
    if (anc->has_timestamp) anc->timestamp_ns = m.stamp_ns;
  }
  if ((flags & MSG_PEEK) == 0) queue_.Pop();
  return (flags & MSG_TRUNC) != 0 ? full : n;
}

SysResult<SocketAddress> IcmpMessageSocket::LocalAddress() const {
  std::lock_guard lock(*ctx_.mu);
  SocketAddress a = binding().local;
  if (a.ip.is_unspecified()) {
    a.ip = family() == AF_INET6 ? IpAddress(Ip6Address()) : IpAddress(Ip4Address());
  }
  if (raw()) a.port = 0;
  return a;
}

SysResult<SocketAddress> IcmpMessageSocket::PeerAddress() const {
  std::lock_guard lock(*ctx_.mu);
  if (!binding().remote) return Err{ENOTCONN};
  return *binding().remote;
}

size_t IcmpMessageSocket::NextMessageSize() const {
  std::lock_guard lock(*ctx_.mu);
  return queue_.next_size();
}

size_t IcmpMessageSocket::QueueLength() const {
  std::lock_guard lock(*ctx_.mu);
  return queue_.size();
}

ReadinessMask IcmpMessageSocket::PollLocked() const {
  ReadinessMask m = POLLOUT | POLLWRNORM;
  if (!queue_.empty()) m |= POLLIN | POLLRDNORM;
  if (pending_error_ != 0 || !error_queue_.empty()) m |= POLLERR;
  return m;
}

void IcmpMessageSocket::QueueMessageLocked(const IpAddress& from, uint8_t hops, ByteSpan bytes) {
  if (binding().remote && binding().remote->ip != from) return;
  if (!queue_.Push(from, hops, RealtimeNanos(), bytes, static_cast<size_t>(rcvbuf_))) {
    ++drops_;
    return;
  }
  NotifyLocked();
}

void IcmpMessageSocket::ReportIcmpErrorLocked(SocketError e, bool fatal) {
  if (recverr_) {
    const int error = e.error;
    QueueErrorLocked(std::move(e));
    pending_error_ = error;
    NotifyLocked();
    return;
  }
  // A raw socket reads the error itself as a message; an unconnected ping socket has no
  // one to report it to.
  if (!fatal || !binding().remote || raw()) return;
  pending_error_ = e.error;
  NotifyLocked();
}

SysResult<SocketAddress> IcmpMessageSocket::SendTargetLocked(const SocketAddress* to, int flags,
                                                             int wrong_family) const {
  if (closed_) return Err{EBADF};
  if ((flags & MSG_OOB) != 0) return Err{EOPNOTSUPP};
  if (to != nullptr) {
    if (!IsFamilyTarget(*to)) return Err{wrong_family};
    return *to;
  }
  if (binding().remote) return *binding().remote;
  return Err{EDESTADDRREQ};
}

void IcmpMessageSocket::QueueLocalTooBigLocked(uint32_t mtu, const SocketAddress& dst) {
  if (!recverr_) return;
  SocketError e;
  e.error = EMSGSIZE;
  e.origin = 1;  // SO_EE_ORIGIN_LOCAL
  e.info = mtu;
  e.dst = dst;
  QueueErrorLocked(std::move(e));
  NotifyLocked();
}

// ---------------------------------------------------------------------------------
// The protocol-independent API (socket.h).

SysResult<size_t> IcmpMessageSocket::SendMsg(std::span<const ByteSpan> parts,
                                             const SocketAddress* to, int flags) {
  return SendTo(Gather(parts), to, flags);
}

SysResult<size_t> IcmpMessageSocket::RecvMsg(std::span<const MutableByteSpan> parts,
                                             SocketAddress* from, int flags, int* out_flags,
                                             RecvAncillary* anc) {
  // The largest IPv4 datagram or IPv6 payload without a jumbogram: nothing longer can
  // arrive (a raw IPv4 socket reads the header too).
  return RecvScattered(parts, 65535, [&](MutableByteSpan buf) {
    return RecvFrom(buf, from, flags, out_flags, anc);
  });
}

}  // namespace pytcp
