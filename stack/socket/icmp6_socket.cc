#include "stack/socket/icmp6_socket.h"

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/socket/socket_option.h"

namespace pytcp {
namespace {
// <linux/in6.h> / <netinet/icmp6.h>: IPV6_CHECKSUM (7) at SOL_RAW (255) or IPPROTO_IPV6,
// ICMP6_FILTER (1) at IPPROTO_ICMPV6 with struct icmp6_filter { uint32_t data[8]; }.
constexpr int kSolRaw = 255;
constexpr int kIpv6Checksum = 7;
constexpr int kIcmp6Filter = 1;
}  // namespace

Icmp6SendOptions Icmp6Socket::SendOptionsLocked(const SocketAddress& dst) const {
  const bool route_hops = unicast_hops_ < 0 || dst.ip.v6().is_multicast();
  return Icmp6SendOptions{
      .hop_limit = route_hops ? uint8_t{0} : static_cast<uint8_t>(unicast_hops_),
      .traffic_class = tos_,
      .dont_fragment = DontFragmentLocked(),
      .checksum_offset = raw() ? checksum_offset_ : 2,
      .scope_id = dst.scope_id};
}

void Icmp6Socket::FillMessageAncillaryLocked(const ReceivedMessage& m, RecvAncillary* anc) {
  FillAncillaryLocked(0, anc);
  anc->has_ttl = false;  // IP_RECVTTL means nothing on an IPv6 socket
  FillHopLimitLocked(m.hops, anc);
}

SysResult<void> Icmp6Socket::SetOption(int level, int name, const void* value, socklen_t len) {
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
    return Ok();
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
    return Ok();
  }
  if (level == kSolRaw) return Err{ENOPROTOOPT};
  return Socket::SetOption(level, name, value, len);
}

SysResult<void> Icmp6Socket::GetOption(int level, int name, void* value, socklen_t* len) {
  if (level == IPPROTO_ICMPV6) {
    std::lock_guard lock(*ctx_.mu);
    if (!raw() || name != kIcmp6Filter) return Err{ENOPROTOOPT};
    return WriteOpt(value, len, filter_);
  }
  if ((level == kSolRaw || level == IPPROTO_IPV6) && name == kIpv6Checksum) {
    std::lock_guard lock(*ctx_.mu);
    if (!raw()) return Err{ENOPROTOOPT};
    if (value == nullptr || len == nullptr) return Err{EFAULT};
    if (*len < sizeof(int)) return Err{EINVAL};
    const int v = checksum_offset_;
    std::memcpy(value, &v, sizeof(v));
    *len = sizeof(int);
    return Ok();
  }
  if (level == kSolRaw) return Err{ENOPROTOOPT};
  return Socket::GetOption(level, name, value, len);
}

void Icmp6Socket::OnIcmpMessage(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant) {
  if (closed_) return;
  const auto type = static_cast<uint8_t>(icmp.type());
  // RFC 3542 §3.2 ICMP6_FILTER (ICMP6_FILTER_WILLBLOCK): a set bit blocks the type.
  if (raw() && (filter_[type >> 5] & (1u << (type & 31))) != 0) return;
  QueueMessageLocked(IpAddress(info.src), info.hop_limit, icmp.message());
}

}  // namespace pytcp
