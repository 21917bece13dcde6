// IPv4 forwarding (PYTCP_FORWARDING=1): what a router does with a datagram to an address
// that is not its own (RFC 1812 §5.2 and §5.3).
//
// A datagram that leaves by the interface it came in on, to a next hop on its source's
// network, still goes on, and the source is told of the better first hop with a Redirect
// (§5.2.7.2), as Linux's ip_forward does.
#include <algorithm>
#include <memory>

#include "stack/base/bytes.h"
#include "stack/base/log.h"
#include "stack/ip4/ip4_engine.h"
#include "stack/wire/checksum.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/tcp.h"

namespace pytcp {
namespace {

LogChannel log_fwd("ip4");

// RFC 1812 §5.3.7 (and RFC 3927 §7 for link-local): addresses a router never forwards
// from or to. Broadcast and multicast destinations never reach here (the receive path
// delivers or drops them).
bool Martian(Ip4Address a) {
  return a.is_this_network() || a.is_loopback() || a.is_multicast() || a.is_reserved() ||
         a.is_limited_broadcast() || a.is_link_local();
}

}  // namespace

void Ip4Engine::Forward(const Ip4View& ip, const RxFrameInfo& rx, uint8_t in_iface, Instant now) {
  const ByteSpan datagram = ip.datagram();
  if (Martian(ip.src()) || Martian(ip.dst())) {
    counters_.Inc(IpCounter::kFwdDropMartian);
    return;
  }
  // §5.3.1: a datagram whose TTL would reach zero here is not forwarded; its source hears
  // Time Exceeded ("time to live exceeded in transit"), which is what traceroute counts on.
  if (ip.ttl() <= 1) {
    counters_.Inc(IpCounter::kFwdDropHopLimit);
    if (errors_ != nullptr) errors_->SendTimeExceeded(datagram, 0, now);
    return;
  }
  auto route = Route(ip.dst(), Ip4Address());
  if (!route.ok() || route->local) {
    // §5.2.7.1: "network unreachable" when no route covers it.
    counters_.Inc(IpCounter::kFwdDropNoRoute);
    if (errors_ != nullptr) {
      errors_->SendForwardingError(Icmp4Header::DestinationUnreachable(Icmp4UnreachableCode::kNet),
                                   datagram, now);
    }
    return;
  }
  const size_t total = datagram.size();
  const uint32_t mtu = PortOf(*route).iface->mtu();
  // A TCP datagram above the MTU came to us coalesced (GRO) from segments that each fit
  // (the link has our MTU): it leaves the same way, cut up by the device (TSO).
  const bool tso = total > mtu && ip.protocol() == IpProto::kTcp &&
                   total <= tso_max_size() && !ip.is_fragment();
  // Its segments, not the super-frame, must fit the next hop (a smaller MTU there than on
  // the link it came by); a frame not coalesced is one segment, the datagram itself.
  const size_t segment = rx.gso_size == 0 || !tso
                             ? total
                             : ip.header_size() + TcpHeaderSizeOf(ip.payload()) + rx.gso_size;
  if ((segment > mtu || (total > mtu && !tso)) && ip.dont_fragment()) {
    // RFC 1191 §4: "fragmentation needed and DF set" with the next hop's MTU.
    counters_.Inc(IpCounter::kFwdDropTooBig);
    if (errors_ != nullptr) {
      errors_->SendForwardingError(
          Icmp4Header::DestinationUnreachable(Icmp4UnreachableCode::kFragmentationNeeded,
                                              static_cast<uint16_t>(mtu)),
          datagram, now);
    }
    return;
  }
  // §5.2.7.2: out by the interface it came in on, to a next hop on the source's own
  // network, and not source-routed (no options here, to be sure): tell the source.
  // A host redirect (code 1): RFC 1812 says network redirects SHOULD NOT be sent.
  const bool source_on_link =
      route->iface == in_iface &&
      std::any_of(addresses_->entries().begin(), addresses_->entries().end(), [&](const Ip4AddressEntry& e) {
        return e.iface == in_iface && e.ifaddr.Contains(ip.src()) &&
               e.ifaddr.Contains(route->next_hop);
      });
  if (source_on_link && ip.header_size() == kIp4MinHeaderSize && errors_ != nullptr &&
      redirects_.Allowed(ip.src(), now)) {
    counters_.Inc(IpCounter::kFwdRedirects);
    errors_->SendForwardingError(
        Icmp4Header{Icmp4Type::kRedirect, 1, route->next_hop.value()}, datagram, now);
  }

  if (!forward_buf_) forward_buf_ = std::make_unique<PacketBuffer>(kIp4MaxDatagramSize, 64);
  PacketBuffer& out = *forward_buf_;
  out.Reset(64);
  out.Append(datagram);
  MutableByteSpan bytes = out.data();
  const size_t ihl = ip.header_size();
  if (rx.l4_checksum_partial && !tso && !ip.is_fragment()) {
    // Its sender left the TCP or UDP checksum to the device: this router is that now.
    if (ip.protocol() == IpProto::kTcp || ip.protocol() == IpProto::kUdp) {
      CompletePartialChecksum(bytes.subspan(ihl), ip.protocol() == IpProto::kTcp);
    }
  }
  // The TTL shares its 16-bit word with the protocol (header bytes 8 and 9).
  const uint16_t old_word = LoadBe16(bytes.data() + 8);
  bytes[8] = static_cast<uint8_t>(ip.ttl() - 1);
  const uint16_t new_word = LoadBe16(bytes.data() + 8);
  StoreBe16(bytes.data() + 10, ChecksumUpdate16(LoadBe16(bytes.data() + 10), old_word, new_word));
  counters_.Inc(IpCounter::kFwdForwarded);
  PYTCP_LOG(log_fwd, kTrace, "forward {} -> {} via {}", ip.src(), ip.dst(), route->next_hop);
  if (total > mtu && !tso) {
    // DF clear: RFC 791 §3.2 fragmentation, every piece with the lowered TTL.
    const auto lowered = Ip4View::Parse(bytes, ChecksumPolicy::kSkip);
    if (lowered.ok()) (void)Fragment(*route, lowered->ToHeader(), lowered->payload(), now);
    return;
  }
  (void)Transmit(*route, out, now);
}

}  // namespace pytcp
