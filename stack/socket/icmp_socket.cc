#include "stack/socket/icmp_socket.h"

#include <netinet/in.h>
#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/socket/message_parts.h"

namespace pytcp {
namespace {
// <linux/icmp.h>: setsockopt(SOL_RAW, ICMP_FILTER, struct icmp_filter{uint32 data}).
constexpr int kSolRaw = 255;
constexpr int kIcmpFilter = 1;

int64_t RealtimeNanos() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
}  // namespace

IcmpSocket::IcmpSocket(SocketContext ctx, Icmp4Sockets* table, int type)
    : Socket(std::move(ctx), type, IPPROTO_ICMP), table_(table) {
  if (raw()) {
    std::lock_guard lock(*ctx_.mu);
    table_->AddRaw(this);
  }
}

IcmpSocket::~IcmpSocket() { Close(); }

void IcmpSocket::Close() {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return;
  closed_ = true;
  table_->Remove(this);
  queue_.Clear();
  NotifyLocked();
}

SysResult<bool> IcmpSocket::Bind(const SocketAddress& addr) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (!addr.ip.is_v4()) return Err{EAFNOSUPPORT};
  if (raw()) {
    // raw(7): binding only fixes the local address (there are no ports).
    if (!addr.ip.is_unspecified() && !addr.ip.v4().is_loopback() &&
        !table_->SourceFor(addr.ip.v4(), addr.ip.v4()).ok()) {
      return Err{EADDRNOTAVAIL};
    }
    local.ip = addr.ip;
    return true;
  }
  if (Icmp4Endpoint::bound) return Err{EINVAL};
  return table_->BindPing(this, addr);
}

SysResult<bool> IcmpSocket::Connect(const SocketAddress* to) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (to == nullptr) {
    remote.reset();
    return true;
  }
  if (!to->ip.is_v4()) return Err{EAFNOSUPPORT};
  auto src = table_->SourceFor(to->ip.v4(), local.ip.is_unspecified() ? Ip4Address()
                                                                        : local.ip.v4());
  if (!src.ok()) return Err{src.error()};
  if (!raw() && !Icmp4Endpoint::bound) {
    auto r = table_->BindPing(this, SocketAddress{IpAddress(Ip4Address()), 0, 0});
    if (!r.ok()) return r;
  }
  if (local.ip.is_unspecified()) local.ip = IpAddress(*src);
  remote = SocketAddress{to->ip, 0, 0};
  pending_error_ = 0;
  return true;
}

SysResult<size_t> IcmpSocket::SendTo(ByteSpan message, const SocketAddress* to, int flags) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if ((flags & MSG_OOB) != 0) return Err{EOPNOTSUPP};
  Ip4Address dst;
  if (to != nullptr) {
    if (!to->ip.is_v4()) return Err{EAFNOSUPPORT};
    dst = to->ip.v4();
  } else if (remote) {
    dst = remote->ip.v4();
  } else {
    return Err{EDESTADDRREQ};
  }
  Icmp4SendOptions opts;
  opts.ttl = ttl_;
  opts.tos = tos_;
  opts.allow_broadcast = broadcast_;
  opts.dont_fragment = mtu_discover_ == IP_PMTUDISC_DO || mtu_discover_ == IP_PMTUDISC_PROBE;
  const Instant now = ctx_.clock->Now();
  auto r = raw() ? table_->SendRaw(this, dst, message, opts, now)
                 : table_->SendPing(this, dst, message, opts, now);
  if (!r.ok()) {
    if (r.error() == EMSGSIZE && recverr_ && opts.dont_fragment) {
      // ip_local_error: with IP_RECVERR a datagram too long to leave unfragmented is also
      // queued as a local error carrying the MTU (ping: "local error: message too long").
      SocketError e;
      e.error = EMSGSIZE;
      e.origin = 1;  // SO_EE_ORIGIN_LOCAL
      e.info = table_->Mtu();
      e.dst = SocketAddress{IpAddress(dst), 0, 0};
      QueueErrorLocked(std::move(e));
      NotifyLocked();
    }
    return Err{r.error()};
  }
  return message.size();
}

SysResult<size_t> IcmpSocket::RecvFrom(MutableByteSpan buf, SocketAddress* from, int flags,
                                       int* out_flags, RecvAncillary* anc) {
  if ((flags & MSG_ERRQUEUE) != 0) return RecvErrorQueue(buf, from, anc, out_flags);
  std::unique_lock lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (out_flags != nullptr) *out_flags = 0;
  if ((flags & MSG_OOB) != 0) return Err{EOPNOTSUPP};
  const int err = WaitLocked(
      lock, [&] { return !queue_.empty() || pending_error_ != 0 || closed_; }, rcv_timeout_,
      (flags & MSG_DONTWAIT) != 0);
  if (err != 0) return Err{err};
  if (closed_) return Err{EBADF};
  if (pending_error_ != 0) {
    // skb_recv_datagram reports a pending error before any queued message.
    const int e = pending_error_;
    pending_error_ = 0;
    return Err{e};
  }
  const ReceivedMessage& m = queue_.front();
  const size_t n = std::min(buf.size(), m.data.size());
  if (n > 0) std::memcpy(buf.data(), m.data.data(), n);
  const size_t full = m.data.size();
  if (from != nullptr) *from = SocketAddress{m.from, 0, 0};
  if (out_flags != nullptr && full > n) *out_flags |= MSG_TRUNC;
  if (anc != nullptr) {
    FillAncillaryLocked(m.hops, anc);
    if (anc->has_timestamp) anc->timestamp_ns = m.stamp_ns;
  }
  if ((flags & MSG_PEEK) == 0) {
    queue_.Pop();
  }
  return (flags & MSG_TRUNC) != 0 ? full : n;
}

SysResult<SocketAddress> IcmpSocket::LocalAddress() const {
  std::lock_guard lock(*ctx_.mu);
  SocketAddress a = local;
  if (a.ip.is_unspecified()) a.ip = IpAddress(Ip4Address());
  if (raw()) a.port = 0;
  return a;
}

SysResult<SocketAddress> IcmpSocket::PeerAddress() const {
  std::lock_guard lock(*ctx_.mu);
  if (!remote) return Err{ENOTCONN};
  return *remote;
}

size_t IcmpSocket::NextMessageSize() const {
  std::lock_guard lock(*ctx_.mu);
  return queue_.next_size();
}

SysResult<bool> IcmpSocket::SetOption(int level, int name, const void* value, socklen_t len) {
  if (level == kSolRaw) {
    std::lock_guard lock(*ctx_.mu);
    if (!raw() || name != kIcmpFilter) return Err{ENOPROTOOPT};
    if (value == nullptr) return Err{EFAULT};
    // raw_seticmpfilter: a shorter value is taken as far as it goes, a longer one cut.
    uint32_t mask = 0;
    std::memcpy(&mask, value, std::min<size_t>(static_cast<size_t>(len), sizeof(mask)));
    filter_ = mask;
    return true;
  }
  return Socket::SetOption(level, name, value, len);
}

SysResult<bool> IcmpSocket::GetOption(int level, int name, void* value, socklen_t* len) {
  if (level == kSolRaw) {
    std::lock_guard lock(*ctx_.mu);
    if (!raw() || name != kIcmpFilter) return Err{ENOPROTOOPT};
    if (value == nullptr || len == nullptr) return Err{EFAULT};
    if (static_cast<int>(*len) < 0) return Err{EINVAL};
    const size_t n = std::min<size_t>(*len, sizeof(filter_));
    std::memcpy(value, &filter_, n);
    *len = static_cast<socklen_t>(n);
    return true;
  }
  return Socket::GetOption(level, name, value, len);
}

ReadinessMask IcmpSocket::PollLocked() const {
  ReadinessMask m = POLLOUT | POLLWRNORM;
  if (!queue_.empty()) m |= POLLIN | POLLRDNORM;
  if (pending_error_ != 0 || !error_queue_.empty()) m |= POLLERR;
  return m;
}

void IcmpSocket::OnIcmpMessage(const Ip4PacketInfo& info, const Icmp4View& icmp, Instant) {
  if (closed_) return;
  const auto type = static_cast<uint8_t>(icmp.type());
  // raw(7) ICMP_FILTER: a set bit n drops messages of type n.
  if (raw() && type < 32 && (filter_ & (1u << type)) != 0) return;
  if (remote && remote->ip != IpAddress(info.src)) return;
  // A raw socket reads the IPv4 header too; a ping socket the ICMP message only.
  const ByteSpan bytes = raw() ? info.datagram : icmp.message();
  if (!queue_.Push(IpAddress(info.src), info.ttl, RealtimeNanos(), bytes, static_cast<size_t>(rcvbuf_))) {
    ++drops_;
    return;
  }
  NotifyLocked();
}

void IcmpSocket::OnIcmpError(const Ip4ErrorInfo& error, Instant) {
  if (closed_) return;
  // ping_err / raw_err: with IP_RECVERR the error is queued with the quoted ICMP message
  // as payload, and reported once by the next call. Without it, only a fatal error on a
  // connected socket is reported (ping_err's harderr rule); a raw socket also reads the
  // error itself as a message.
  if (recverr_) {
    SocketError e;
    e.error = error.error;
    e.origin = 2;  // SO_EE_ORIGIN_ICMP
    e.type = error.icmp_type;
    e.code = error.icmp_code;
    e.info = error.mtu;
    e.offender = error.reporter;
    e.dst = SocketAddress{IpAddress(error.orig_dst), 0, 0};
    e.payload.assign(error.orig_l4.begin(), error.orig_l4.end());
    QueueErrorLocked(std::move(e));
    pending_error_ = error.error;
    NotifyLocked();
    return;
  }
  const bool hard = error.icmp_type == static_cast<uint8_t>(Icmp4Type::kDestinationUnreachable) ||
                    error.icmp_type == static_cast<uint8_t>(Icmp4Type::kParameterProblem);
  if (!hard || !remote || raw()) return;
  pending_error_ = error.error;
  NotifyLocked();
}

// ---------------------------------------------------------------------------------
// The protocol-independent API (socket.h).

size_t IcmpSocket::QueueLength() const {
  std::lock_guard lock(*ctx_.mu);
  return queue_.size();
}

SysResult<size_t> IcmpSocket::SendMsg(std::span<const ByteSpan> parts, const SocketAddress* to,
                                     int flags) {
  return SendTo(Gather(parts), to, flags);
}

SysResult<size_t> IcmpSocket::RecvMsg(std::span<const MutableByteSpan> parts, SocketAddress* from,
                                     int flags, int* out_flags, RecvAncillary* anc) {
  // The largest IPv4 datagram: nothing longer can arrive (a raw socket reads the header too).
  return RecvScattered(parts, 65535, [&](MutableByteSpan buf) {
    return RecvFrom(buf, from, flags, out_flags, anc);
  });
}

}  // namespace pytcp
