#include "stack/socket/icmp6_socket.h"

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pytcp {
namespace {
// <linux/in6.h> / <netinet/icmp6.h>: IPV6_CHECKSUM (7) at SOL_RAW (255) or IPPROTO_IPV6,
// ICMP6_FILTER (1) at IPPROTO_ICMPV6 with struct icmp6_filter { uint32_t data[8]; }.
constexpr int kSolRaw = 255;
constexpr int kIpv6Checksum = 7;
constexpr int kIcmp6Filter = 1;
constexpr int kOriginIcmp6 = 3;  // SO_EE_ORIGIN_ICMP6
}  // namespace

Icmp6Socket::Icmp6Socket(SocketContext ctx, Icmp6Sockets* table, int type)
    : IcmpMessageSocket(std::move(ctx), type, IPPROTO_ICMPV6), table_(table) {
  set_family(AF_INET6);
  // Linux's ping sockets on AF_INET6 are IPv6-only (no v4-mapped peers).
  v6only_ = true;
  if (raw()) {
    std::lock_guard lock(*ctx_.mu);
    table_->AddRaw(this);
  }
}

Icmp6Socket::~Icmp6Socket() { Close(); }

SysResult<bool> Icmp6Socket::Bind(const SocketAddress& addr) {
  std::lock_guard lock(*ctx_.mu);
  if (closed_) return Err{EBADF};
  if (addr.ip.is_v4()) return Err{EINVAL};  // rawv6_bind/ping_check_bind_addr: v4-mapped
  if (raw()) {
    // raw(7): binding only fixes the local address (there are no ports).
    if (!addr.ip.is_unspecified() && !table_->IsOurs(addr.ip.v6())) return Err{EADDRNOTAVAIL};
    local.ip = addr.ip;
    local.scope_id = addr.scope_id;
    return true;
  }
  if (bound) return Err{EINVAL};
  return table_->BindPing(this, addr);
}

Result<IpAddress, int> Icmp6Socket::SourceForLocked(const IpAddress& dst) const {
  const Ip6Address hint = local.ip.is_unspecified() ? Ip6Address() : local.ip.v6();
  auto src = table_->SourceFor(dst.v6(), hint);
  if (!src.ok()) return Err{src.error()};
  return IpAddress(*src);
}

Result<bool, int> Icmp6Socket::BindPingLocked(const SocketAddress& addr) {
  return table_->BindPing(this, addr);
}

Icmp6SendOptions Icmp6Socket::SendOptionsLocked(const Ip6Address& dst) const {
  Icmp6SendOptions opts;
  opts.hop_limit = unicast_hops_ < 0 || dst.is_multicast() ? 0 : static_cast<uint8_t>(unicast_hops_);
  opts.traffic_class = tos_;
  opts.dont_fragment = mtu_discover_ == IPV6_PMTUDISC_DO || mtu_discover_ == IPV6_PMTUDISC_PROBE;
  opts.checksum_offset = raw() ? checksum_offset_ : 2;
  return opts;
}

SysResult<size_t> Icmp6Socket::SendTo(ByteSpan message, const SocketAddress* to, int flags) {
  std::lock_guard lock(*ctx_.mu);
  auto target = SendTargetLocked(to, flags, EINVAL);
  if (!target.ok()) return Err{target.error()};
  const SocketAddress& dst = *target;
  Icmp6SendOptions opts = SendOptionsLocked(dst.ip.v6());
  opts.scope_id = dst.scope_id;
  const Instant now = ctx_.clock->Now();
  auto r = raw() ? table_->SendRaw(this, dst.ip.v6(), message, opts, now)
                 : table_->SendPing(this, dst.ip.v6(), message, opts, now);
  if (!r.ok()) {
    if (r.error() == EMSGSIZE && opts.dont_fragment) {
      // ping: "local error: message too long, mtu: 1500"; the port is the flow's, which
      // for ICMPv6 holds type and code.
      const uint16_t type_code =
          message.size() >= 2 ? static_cast<uint16_t>(message[0] << 8 | message[1]) : 0;
      QueueLocalTooBigLocked(table_->PathMtu(dst.ip.v6()), SocketAddress{dst.ip, type_code, 0});
    }
    return Err{r.error()};
  }
  // A message to ourselves (our address, or a group we are in) waits in the IPv6
  // loopback queue: the event loop must run it now, not at its next wake-up.
  if (dst.ip.v6().is_multicast() || table_->IsOurs(dst.ip.v6())) {
    if (ctx_.kick) ctx_.kick();
  }
  return message.size();
}

void Icmp6Socket::FillMessageAncillaryLocked(const ReceivedMessage& m, RecvAncillary* anc) {
  FillAncillaryLocked(0, anc);
  anc->has_ttl = false;  // IP_RECVTTL means nothing on an IPv6 socket
  FillHopLimitLocked(m.hops, anc);
}

SysResult<bool> Icmp6Socket::SetOption(int level, int name, const void* value, socklen_t len) {
  if (level == IPPROTO_ICMPV6) {
    std::lock_guard lock(*ctx_.mu);
    // A ping socket has no ICMPv6-level options (ipv6_setsockopt: ENOPROTOOPT).
    if (!raw() || name != kIcmp6Filter) return Err{ENOPROTOOPT};
    if (value == nullptr) return Err{EFAULT};
    if (static_cast<int>(len) < 0) return Err{EINVAL};
    // rawv6_seticmpfilter: a longer value is cut to the filter's size; a shorter one is
    // copied as far as it goes.
    std::memcpy(filter_.data(), value,
                std::min<size_t>(static_cast<size_t>(len), sizeof(filter_)));
    return true;
  }
  if ((level == kSolRaw || level == IPPROTO_IPV6) && name == kIpv6Checksum) {
    std::lock_guard lock(*ctx_.mu);
    if (!raw()) return Err{ENOPROTOOPT};
    // RFC 3542 §3.1: at IPPROTO_IPV6 the option is not allowed on ICMPv6 sockets; Linux
    // lets SOL_RAW move it (iputils ping sets offset 2 there).
    if (level == IPPROTO_IPV6) return Err{EINVAL};
    int v = 0;
    if (value == nullptr) return Err{EFAULT};
    if (len < sizeof(int)) return Err{EINVAL};
    std::memcpy(&v, value, sizeof(v));
    if (v > 0 && (v & 1) != 0) return Err{EINVAL};  // an odd offset splits a word
    checksum_offset_ = v < 0 ? -1 : v;
    return true;
  }
  if (level == kSolRaw) return Err{ENOPROTOOPT};
  return Socket::SetOption(level, name, value, len);
}

SysResult<bool> Icmp6Socket::GetOption(int level, int name, void* value, socklen_t* len) {
  if (level == IPPROTO_ICMPV6) {
    std::lock_guard lock(*ctx_.mu);
    if (!raw() || name != kIcmp6Filter) return Err{ENOPROTOOPT};
    if (value == nullptr || len == nullptr) return Err{EFAULT};
    if (static_cast<int>(*len) < 0) return Err{EINVAL};
    const size_t n = std::min<size_t>(*len, sizeof(filter_));
    std::memcpy(value, filter_.data(), n);
    *len = static_cast<socklen_t>(n);
    return true;
  }
  if ((level == kSolRaw || level == IPPROTO_IPV6) && name == kIpv6Checksum) {
    std::lock_guard lock(*ctx_.mu);
    if (!raw()) return Err{ENOPROTOOPT};
    if (value == nullptr || len == nullptr) return Err{EFAULT};
    if (*len < sizeof(int)) return Err{EINVAL};
    const int v = checksum_offset_;
    std::memcpy(value, &v, sizeof(v));
    *len = sizeof(int);
    return true;
  }
  if (level == kSolRaw) return Err{ENOPROTOOPT};
  return Socket::GetOption(level, name, value, len);
}

void Icmp6Socket::OnIcmp6Message(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant) {
  if (closed_) return;
  const auto type = static_cast<uint8_t>(icmp.type());
  // RFC 3542 §3.2 ICMP6_FILTER (ICMP6_FILTER_WILLBLOCK): a set bit blocks the type.
  if (raw() && (filter_[type >> 5] & (1u << (type & 31))) != 0) return;
  QueueMessageLocked(IpAddress(info.src), info.hop_limit, icmp.message());
}

void Icmp6Socket::OnIcmp6Error(const Ip6ErrorInfo& error, Instant) {
  if (closed_) return;
  SocketError e = SocketErrorFrom(error, kOriginIcmp6, 0, error.orig_l4);
  e.offender6 = error.reporter;
  // pingv6_err / rawv6_err (ipv6_icmp_error): icmpv6_err_convert's "fatal".
  const bool fatal = error.icmp_type == static_cast<uint8_t>(Icmp6Type::kDestinationUnreachable) ||
                     error.icmp_type == static_cast<uint8_t>(Icmp6Type::kParameterProblem);
  ReportIcmpErrorLocked(std::move(e), fatal);
}

}  // namespace pytcp
