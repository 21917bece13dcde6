// IPv6 forwarding (PYTCP_FORWARDING=1): what a router does with a packet to an address
// that is not its own (RFC 8200, RFC 4443). A router never fragments (RFC 8200 §5): a
// packet above the next link's MTU gets Packet Too Big. One that leaves by the link it
// came in on tells the neighbour that sent it of the better first hop with a Redirect
// (RFC 4861 §8.2).
#include <memory>

#include "stack/ip6/ip6_engine.h"
#include "stack/nd/nd_engine.h"
#include "stack/wire/checksum.h"
#include "stack/wire/tcp.h"

namespace pytcp {
namespace {

// RFC 4291 §2.5.6 (link-local is never forwarded), §2.5.2-3 (unspecified and loopback),
// and a multicast source (RFC 4291 §2.7).
bool NotForwarded(const Ip6Address& src, const Ip6Address& dst) {
  return src.is_unspecified() || src.is_loopback() || src.is_multicast() || src.is_link_local() ||
         dst.is_unspecified() || dst.is_loopback() || dst.is_link_local();
}

}  // namespace

void Ip6Engine::Forward(const Ip6View& ip, const RxFrameInfo& rx, uint8_t in_iface,
                        Instant now) {
  const ByteSpan packet = ip.packet();
  if (NotForwarded(ip.src(), ip.dst())) {
    counters_.Inc(IpCounter::kFwdDropMartian);
    // RFC 4443 §3.1 code 2: a link-local source would leave its link; its sender, a
    // neighbour, is told "beyond scope of source address", as Linux's ip6_forward does.
    if (ip.src().is_link_local() && !ip.dst().is_link_local() && !ip.dst().is_multicast()) {
      SendError(Icmp6Header::DestinationUnreachable(Icmp6UnreachableCode::kBeyondScope), ip, false,
                false, now);
    }
    return;
  }
  // RFC 8200 §3 / RFC 4443 §3.3: the hop limit would reach zero here.
  if (ip.hop_limit() <= 1) {
    counters_.Inc(IpCounter::kFwdDropHopLimit);
    SendError(Icmp6Header::TimeExceeded(Icmp6TimeExceededCode::kHopLimit), ip, false, false, now);
    return;
  }
  const std::optional<Ip6NextHop> next_hop = NextHop(ip.dst());
  if (!next_hop) {
    counters_.Inc(IpCounter::kFwdDropNoRoute);
    SendError(Icmp6Header::DestinationUnreachable(Icmp6UnreachableCode::kNoRoute), ip, false,
              false, now);
    return;
  }
  const size_t total = packet.size();
  const bool tcp = ip.next_header() == Ip6NextHeader::kTcp;
  // A TCP packet above the MTU came coalesced (GRO) from segments that fit: sent on as TSO.
  const uint32_t out_mtu = ports_[next_hop->iface]->iface->mtu();
  const bool tso = total > out_mtu && tcp && total <= tso_max_size();
  // Its segments, not the super-frame, must fit the next link (a smaller MTU there than
  // on the link it came by); a frame not coalesced is one segment, the packet itself.
  const size_t segment = rx.gso_size == 0 || !tso
                             ? total
                             : kIp6HeaderSize + TcpHeaderSizeOf(ip.payload()) + rx.gso_size;
  if (segment > out_mtu || (total > out_mtu && !tso)) {
    // RFC 4443 §3.2: Packet Too Big, with the next link's MTU, also about multicast.
    counters_.Inc(IpCounter::kFwdDropTooBig);
    SendError(Icmp6Header::PacketTooBig(out_mtu), ip, false, true, now);
    return;
  }
  // RFC 4861 §8.2: it leaves by the link it came in on, and its source is a neighbour
  // there (a route to it is on-link): tell the source of the better first hop, which is
  // the destination itself when on the link, else the next router, named by its
  // link-local address (a global one cannot be a Redirect's target). It still goes on.
  const std::optional<Ip6NextHop> to_source = NextHop(ip.src());
  const Ip6Address target = next_hop->address;
  NdEngine* nd = ports_[in_iface]->nd;
  if (next_hop->iface == in_iface && nd != nullptr && to_source &&
      *to_source == Ip6NextHop{ip.src(), in_iface} &&
      (target == ip.dst() || target.is_link_local()) && redirect_limiter_.Allowed(ip.src(), now)) {
    counters_.Inc(IpCounter::kFwdRedirects);
    nd->SendRedirect(ip.src(), target, ip.dst(), packet, now);
  }
  if (!forward_buf_) forward_buf_ = std::make_unique<PacketBuffer>(65535 + kIp6HeaderSize, 64);
  PacketBuffer& out = *forward_buf_;
  out.Reset(64);
  out.Append(packet);
  MutableByteSpan bytes = out.data();
  bytes[7] = static_cast<uint8_t>(ip.hop_limit() - 1);  // no header checksum in IPv6
  const bool udp = ip.next_header() == Ip6NextHeader::kUdp;
  // The sender left the checksum to the device: this router is that now.
  if (rx.l4_checksum_partial && !tso && (tcp || udp)) {
    CompletePartialChecksum(bytes.subspan(kIp6HeaderSize), tcp);
  }
  counters_.Inc(IpCounter::kFwdForwarded);
  (void)Transmit(Ip6RouteResult{Ip6Address(), next_hop->address, false, false, next_hop->iface},
                 out, now);
}

}  // namespace pytcp
