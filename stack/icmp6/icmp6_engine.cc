#include "stack/icmp6/icmp6_engine.h"

#include <cerrno>

#include "stack/base/log.h"
#include "stack/mld/mld_engine.h"
#include "stack/nd/nd_engine.h"

namespace pytcp {
namespace {
LogChannel log_icmp6("icmp6");

bool IsExtensionHeader(uint8_t nh) {
  return nh == 0 || nh == 43 || nh == 60 || nh == 44;
}

// RFC 4443 §2.4 (e.6): a source that does not uniquely identify a node gets no answer:
// the unspecified address (RFC 4291 §2.5.2, DAD's source) and, should one pass the IPv6
// parser, a multicast address (§2.7). kCount: a valid destination.
Icmp6Counter InvalidSourceReason(const Ip6Address& src) {
  if (src.is_unspecified()) return Icmp6Counter::kNoReplySrcUnspecified;
  if (src.is_multicast()) return Icmp6Counter::kNoReplySrcMulticast;
  return Icmp6Counter::kCount;
}
}  // namespace

int Icmp6ErrorToErrno(uint8_t type, uint8_t code) {
  switch (static_cast<Icmp6Type>(type)) {
    case Icmp6Type::kDestinationUnreachable:
      switch (static_cast<Icmp6UnreachableCode>(code)) {
        case Icmp6UnreachableCode::kNoRoute: return ENETUNREACH;
        case Icmp6UnreachableCode::kPort: return ECONNREFUSED;
        case Icmp6UnreachableCode::kAdminProhibited:
        case Icmp6UnreachableCode::kSourcePolicy:
        case Icmp6UnreachableCode::kRejectRoute: return EACCES;
        default: return EHOSTUNREACH;
      }
    case Icmp6Type::kPacketTooBig: return EMSGSIZE;
    case Icmp6Type::kParameterProblem: return EPROTO;
    case Icmp6Type::kTimeExceeded: return EHOSTUNREACH;
    default: return 0;
  }
}

Icmp6Engine::Icmp6Engine(Ip6Engine* ip6, NdEngine* nd, MldEngine* mld,
                         double error_rate_per_second, double error_burst)
    : ip6_(ip6), nd_(nd), mld_(mld), error_bucket_(error_rate_per_second, error_burst) {
  ip6_->RegisterTransport(static_cast<uint8_t>(Ip6NextHeader::kIcmp6), this);
  ip6_->set_error_sender(this);
}

void Icmp6Engine::Receive(const Ip6PacketInfo& info, ByteSpan payload, Instant now) {
  counters_.Inc(Icmp6Counter::kRxMessages);
  auto parsed = Icmp6View::Parse(payload, Icmp6PseudoHeaderSum(info.src, info.dst, payload.size()));
  if (!parsed.ok()) {
    counters_.Inc(Icmp6Counter::kRxDropMalformed);
    PYTCP_LOG(log_icmp6, kDebug, "drop message from {}: {}", info.src, ToString(parsed.error()));
    return;
  }
  const Icmp6View& icmp = *parsed;
  const Icmp6Type type = icmp.type();
  if (info.dst_tentative && type != Icmp6Type::kNeighborSolicitation &&
      type != Icmp6Type::kNeighborAdvertisement) {
    counters_.Inc(Icmp6Counter::kRxDropTentative);
    return;
  }
  if (type == Icmp6Type::kEchoReply) counters_.Inc(Icmp6Counter::kRxEchoReplies);
  // Sockets first (raw sockets see ND and MLD too, as on Linux); only an echo reply that
  // a ping socket took is consumed.
  if (listener_ && listener_(info, icmp, now)) return;
  switch (type) {
    case Icmp6Type::kRouterSolicitation:
    case Icmp6Type::kRouterAdvertisement:
    case Icmp6Type::kNeighborSolicitation:
    case Icmp6Type::kNeighborAdvertisement:
    case Icmp6Type::kRedirect:
    {
      // Each interface has its own Neighbour Discovery.
      NdEngine* nd = info.iface == 0 ? nd_ : ip6_->nd(info.iface);
      if (nd != nullptr) nd->Receive(info, icmp, now);
      return;
    }
    case Icmp6Type::kMldQuery:
    case Icmp6Type::kMldV1Report:
    case Icmp6Type::kMldV1Done:
    case Icmp6Type::kMldV2Report:
      // MLD runs on the first interface (a router's further ones do not report).
      if (mld_ != nullptr && info.iface == 0) mld_->Receive(info, icmp, now);
      return;
    default:
      break;
  }
  if (icmp.is_error()) {
    counters_.Inc(Icmp6Counter::kRxErrors);
    DeliverError(info, icmp, now);
    return;
  }
  if (type != Icmp6Type::kEchoRequest) return;  // RFC 4443 §2.4 (b): unknown informational
  counters_.Inc(Icmp6Counter::kRxEchoRequests);
  if (const Icmp6Counter bad = InvalidSourceReason(info.src); bad != Icmp6Counter::kCount) {
    counters_.Inc(bad);
    return;
  }
  // RFC 4443 §4.2: the reply's source is the request's destination when that was unicast,
  // else one of our unicast addresses; identifier, sequence and data come back unchanged.
  const Ip6Address src = info.to_multicast ? ip6_->SourceToward(info.src) : info.dst;
  if (src.is_unspecified()) return;
  PacketBuffer buf(icmp.message().size() + 64, 128);
  buf.Append(icmp.echo_data());
  Icmp6Header::EchoReply(icmp.echo_id(), icmp.echo_seq())
      .Emit(buf.Prepend(kIcmp6HeaderSize), icmp.echo_data(),
            Icmp6PseudoHeaderSum(src, info.src, kIcmp6HeaderSize + icmp.echo_data().size()));
  Ip6SendParams p;
  p.src = src;
  p.dst = info.src;
  p.next_header = static_cast<uint8_t>(Ip6NextHeader::kIcmp6);
  p.traffic_class = info.traffic_class;
  if (ip6_->Send(p, buf, now).ok()) counters_.Inc(Icmp6Counter::kTxEchoReplies);
}

void Icmp6Engine::DeliverError(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now) {
  // The invoking packet may be cut short, so it is read with explicit bounds: the fixed
  // header, then extension headers as far as they are there, up to the transport header.
  ByteSpan orig = icmp.invoking_packet();
  if (orig.size() < kIp6HeaderSize || (orig[0] >> 4) != 6) return;
  const Ip6Address orig_src = Ip6Address::FromBytes(orig.data() + 8);
  const Ip6Address orig_dst = Ip6Address::FromBytes(orig.data() + 24);
  // RFC 8201 §4: a Packet Too Big lowers the path MTU of the destination for every
  // socket. One that quotes a TCP segment is believed only if the segment is in flight
  // (RFC 5927 §4.1): the TCP engine checks that and lowers the path MTU itself; any
  // other (and one whose transport header cannot be found) is taken here.
  constexpr uint8_t kTcpNextHeader = 6;  // RFC 9293 (IANA protocol number)
  const bool too_big = icmp.type() == Icmp6Type::kPacketTooBig;
  if (too_big) counters_.Inc(Icmp6Counter::kRxPacketTooBig);
  const auto lower_pmtu = [&] {
    if (too_big) ip6_->UpdatePathMtu(orig_dst, icmp.mtu(), now);
  };
  uint8_t nh = orig[6];
  size_t off = kIp6HeaderSize;
  while (IsExtensionHeader(nh)) {
    if (off + 8 > orig.size()) return lower_pmtu();
    const uint8_t next = orig[off];
    if (nh == 44) {
      if ((LoadBe16(orig, off + 2) & 0xfff8) != 0) return lower_pmtu();  // not the first fragment
      off += 8;
    } else {
      off += (size_t{orig[off + 1]} + 1) * 8;
    }
    nh = next;
  }
  if (off > orig.size()) return lower_pmtu();
  if (nh != kTcpNextHeader) lower_pmtu();
  Ip6Transport* t = ip6_->transport(nh);
  if (t == nullptr) return;
  const int err = Icmp6ErrorToErrno(static_cast<uint8_t>(icmp.type()), icmp.code());
  if (err == 0) return;
  // About an ICMPv6 message of ours (an echo request): to the ping/raw sockets.
  if (t == this && !error_listener_) return;
  Ip6ErrorInfo e;
  e.icmp_type = static_cast<uint8_t>(icmp.type());
  e.icmp_code = icmp.code();
  e.reporter = info.src;
  e.orig_src = orig_src;
  e.orig_dst = orig_dst;
  e.protocol = static_cast<IpProto>(nh);
  e.orig_l4 = orig.subspan(off);
  e.mtu = icmp.type() == Icmp6Type::kPacketTooBig ? std::max<uint32_t>(icmp.mtu(), kIp6MinMtu) : 0;
  e.error = err;
  if (t == this) {
    error_listener_(e, now);
    return;
  }
  t->ReceiveError(e, now);
}

void Icmp6Engine::SendError(const Icmp6Header& header, ByteSpan packet, bool to_multicast,
                            bool allow_multicast, Instant now) {
  if (packet.size() < kIp6HeaderSize) return;
  const Ip6Address src = Ip6Address::FromBytes(packet.data() + 8);
  const Ip6Address dst = Ip6Address::FromBytes(packet.data() + 24);
  // RFC 4443 §2.4 (e.3): not about a packet to a multicast address, except Packet Too Big
  // and Parameter Problem code 2 for an option with action bits 10.
  // (e.6): not to a source that does not identify one node.
  bool suppress = to_multicast && !allow_multicast;
  if (const Icmp6Counter bad = InvalidSourceReason(src); !suppress && bad != Icmp6Counter::kCount) {
    counters_.Inc(bad);
    suppress = true;
  }
  // (e.1), (e.2): not about an ICMPv6 error or a Redirect. The walk stops at anything that
  // is not a plain extension header.
  uint8_t nh = packet[6];
  size_t off = kIp6HeaderSize;
  while (!suppress && IsExtensionHeader(nh) && nh != 44 && off + 8 <= packet.size()) {
    const uint8_t next = packet[off];
    off += (size_t{packet[off + 1]} + 1) * 8;
    nh = next;
  }
  if (!suppress && nh == 58 && off < packet.size()) {
    const auto t = static_cast<Icmp6Type>(packet[off]);
    suppress = Icmp6IsError(t) || t == Icmp6Type::kRedirect;
  }
  if (suppress) {
    counters_.Inc(Icmp6Counter::kTxSuppressed);
    return;
  }
  // (f): rate limited by a token bucket.
  if (!error_bucket_.TryTake(now)) {
    counters_.Inc(Icmp6Counter::kTxRateLimited);
    return;
  }
  // §2.2: from the address the packet was sent to when it is ours and unicast.
  const Ip6Address from = (!dst.is_multicast() && ip6_->addresses().IsOurs(dst))
                              ? dst
                              : ip6_->SourceToward(src);
  if (from.is_unspecified()) return;
  const ByteSpan quote = Icmp6Quote(packet);  // (c)
  PacketBuffer buf(quote.size() + 64, 128);
  buf.Append(quote);
  header.Emit(buf.Prepend(kIcmp6HeaderSize), quote,
              Icmp6PseudoHeaderSum(from, src, kIcmp6HeaderSize + quote.size()));
  Ip6SendParams p;
  p.src = from;
  p.dst = src;
  p.next_header = static_cast<uint8_t>(Ip6NextHeader::kIcmp6);
  if (ip6_->Send(p, buf, now).ok()) counters_.Inc(Icmp6Counter::kTxErrors);
}

}  // namespace pytcp
