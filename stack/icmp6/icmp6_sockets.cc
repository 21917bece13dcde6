#include "stack/icmp6/icmp6_sockets.h"

#include <algorithm>
#include <cerrno>
#include <vector>

#include "stack/wire/checksum.h"
#include "stack/wire/ip6.h"

namespace pytcp {
namespace {

// ipv6(7) IPV6_MULTICAST_LOOP (on by default): a message to a group this host is in is
// also received here, so a ping to ff02::1 is answered by this host too, as the kernel
// answers its own (and raw sockets see it). The copy is taken before `message` is sent.
void LoopBackMulticast(Icmp6Engine& icmp, Ip6Engine& ip6, ByteSpan message, const Ip6Address& src,
                       const Ip6Address& group, const Icmp6SendOptions& options, Instant now) {
  std::vector<uint8_t> packet(kIp6HeaderSize + message.size());
  Ip6Header h;
  h.src = src;
  h.dst = group;
  h.next_header = Ip6NextHeader::kIcmp6;
  h.hop_limit = options.hop_limit == 0 ? 1 : options.hop_limit;
  h.Emit(packet, message.size());
  std::copy(message.begin(), message.end(), packet.begin() + kIp6HeaderSize);
  Ip6PacketInfo info;
  info.src = src;
  info.dst = group;
  info.next_header = static_cast<uint8_t>(Ip6NextHeader::kIcmp6);
  info.hop_limit = h.hop_limit;
  info.to_multicast = true;
  info.packet = packet;
  icmp.Receive(info, ByteSpan(packet).subspan(kIp6HeaderSize), now);
  // Our own answer (to our own address) is delivered at once, before the request leaves,
  // so it comes first as it does on Linux (the loopback device beats the wire).
  if (ip6.HasLoopbackPending()) ip6.DeliverLoopback(now);
}

}  // namespace

Result<void, int> Icmp6Family::Transmit(Icmp6Engine& icmp, Ip6Engine& ip, const Ip6Address& hint,
                                        const Ip6Address& dst, PacketBuffer& message,
                                        const Icmp6SendOptions& options, Instant now) {
  // The checksum covers the pseudo-header (RFC 4443 §2.3), so the source is chosen first.
  auto route = ip.Route(dst, hint);
  if (!route.ok()) return Err{ToErrno(route.error())};
  if (route->src.is_unspecified()) return Err{EADDRNOTAVAIL};
  auto bytes = message.data();
  if (options.checksum_offset >= 0) {
    // raw(7)/RFC 3542 §3.1: whatever the sender left in the field is replaced.
    const auto at = static_cast<size_t>(options.checksum_offset);
    StoreBe16(bytes.data() + at, 0);
    StoreBe16(bytes.data() + at,
              InternetChecksum(bytes, Icmp6PseudoHeaderSum(route->src, dst, bytes.size())));
  }
  if (dst.is_multicast() && (dst == Ip6Address::AllNodesMulticast() || ip.IsMemberOf(dst))) {
    LoopBackMulticast(icmp, ip, bytes, route->src, dst, options, now);
  }
  // ipv6(7): IPV6_MULTICAST_HOPS defaults to 1 for multicast destinations.
  const Ip6SendParams params{
      .src = route->src,
      .dst = dst,
      .next_header = static_cast<uint8_t>(Ip6NextHeader::kIcmp6),
      .hop_limit = dst.is_multicast() && options.hop_limit == 0 ? uint8_t{1} : options.hop_limit,
      .traffic_class = options.traffic_class,
      .dont_fragment = options.dont_fragment,
      .scope_id = options.scope_id};
  return ToErrno(ip.Send(params, message, now));
}

}  // namespace pytcp
