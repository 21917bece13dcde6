// IPv6 forwarding (PYTCP_FORWARDING=1): what a router does with a packet to an address
// that is not its own (RFC 8200, RFC 4443). A router never fragments (RFC 8200 §5): a
// packet above the next link's MTU gets Packet Too Big. Not done yet: the Redirect of RFC
// 4861 §8.2 for a packet that leaves by the interface it came in on (every one today: a
// stack has one interface).
#include <memory>

#include "stack/ip6/ip6_engine.h"
#include "stack/wire/checksum.h"

namespace pytcp {
namespace {

// RFC 4291 §2.5.6 (link-local is never forwarded), §2.5.2-3 (unspecified and loopback),
// and a multicast source (RFC 4291 §2.7).
bool NotForwarded(const Ip6Address& src, const Ip6Address& dst) {
  return src.is_unspecified() || src.is_loopback() || src.is_multicast() || src.is_link_local() ||
         dst.is_unspecified() || dst.is_loopback() || dst.is_link_local();
}

}  // namespace

void Ip6Engine::Forward(const Ip6View& ip, bool l4_checksum_partial, Instant now) {
  const ByteSpan packet = ip.packet();
  if (NotForwarded(ip.src(), ip.dst())) {
    counters_.Inc(IpCounter::kFwdDropMartian);
    return;
  }
  // RFC 8200 §3 / RFC 4443 §3.3: the hop limit would reach zero here.
  if (ip.hop_limit() <= 1) {
    counters_.Inc(IpCounter::kFwdDropHopLimit);
    SendError(Icmp6Header::TimeExceeded(Icmp6TimeExceededCode::kHopLimit), ip, false, false, now);
    return;
  }
  const std::optional<Ip6Address> next_hop = NextHop(ip.dst());
  if (!next_hop) {
    counters_.Inc(IpCounter::kFwdDropNoRoute);
    SendError(Icmp6Header::DestinationUnreachable(Icmp6UnreachableCode::kNoRoute), ip, false,
              false, now);
    return;
  }
  const size_t total = packet.size();
  const bool tcp = ip.next_header() == Ip6NextHeader::kTcp;
  // A TCP packet above the MTU came coalesced (GRO) from segments that fit: sent on as TSO.
  const bool tso = total > iface_->mtu() && tcp && total <= tso_max_size();
  if (total > iface_->mtu() && !tso) {
    // RFC 4443 §3.2: Packet Too Big, with the next link's MTU, also about multicast.
    counters_.Inc(IpCounter::kFwdDropTooBig);
    SendError(Icmp6Header::PacketTooBig(iface_->mtu()), ip, false, true, now);
    return;
  }
  if (!forward_buf_) forward_buf_ = std::make_unique<PacketBuffer>(65535 + kIp6HeaderSize, 64);
  PacketBuffer& out = *forward_buf_;
  out.Reset(64);
  out.Append(packet);
  MutableByteSpan bytes = out.data();
  bytes[7] = static_cast<uint8_t>(ip.hop_limit() - 1);  // no header checksum in IPv6
  const bool udp = ip.next_header() == Ip6NextHeader::kUdp;
  // The sender left the checksum to the device: this router is that now.
  if (l4_checksum_partial && !tso && (tcp || udp)) {
    CompletePartialChecksum(bytes.subspan(kIp6HeaderSize), tcp);
  }
  counters_.Inc(IpCounter::kFwdForwarded);
  (void)Transmit(Ip6RouteResult{Ip6Address(), *next_hop, false, false}, out, now);
}

}  // namespace pytcp
