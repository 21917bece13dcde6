#include "stack/icmp4/icmp4_engine.h"

#include <cerrno>

#include "stack/base/log.h"

namespace pytcp {
namespace {
LogChannel log_icmp4("icmp4");
}  // namespace

int Icmp4ErrorToErrno(uint8_t type, uint8_t code) {
  switch (static_cast<Icmp4Type>(type)) {
    case Icmp4Type::kDestinationUnreachable: {
      static constexpr int kByCode[] = {
          ENETUNREACH, EHOSTUNREACH, ENOPROTOOPT,  ECONNREFUSED, EMSGSIZE,     EOPNOTSUPP,
          ENETUNREACH, EHOSTDOWN,    ENONET,       ENETUNREACH,  EHOSTUNREACH, ENETUNREACH,
          EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH, EHOSTUNREACH};
      return code < std::size(kByCode) ? kByCode[code] : EHOSTUNREACH;
    }
    case Icmp4Type::kTimeExceeded: return EHOSTUNREACH;
    case Icmp4Type::kParameterProblem: return EPROTO;
    case Icmp4Type::kSourceQuench: return 0;  // RFC 6633: ignored
    default: return 0;
  }
}

Icmp4Engine::Icmp4Engine(Ip4Engine* ip4, double error_rate_per_second, double error_burst)
    : ip4_(ip4), error_bucket_(error_rate_per_second, error_burst) {
  ip4_->RegisterTransport(IpProto::kIcmp4, this);
  ip4_->set_error_sender(this);
}

void Icmp4Engine::Receive(const Ip4PacketInfo& info, ByteSpan payload, Instant now) {
  counters_.Inc(Icmp4Counter::kRxMessages);
  auto parsed = Icmp4View::Parse(payload);
  if (!parsed.ok()) {
    counters_.Inc(Icmp4Counter::kRxDropMalformed);
    PYTCP_LOG(log_icmp4, kDebug, "drop message from {}: {}", info.src, ToString(parsed.error()));
    return;
  }
  const Icmp4View& icmp = *parsed;
  if (icmp.is_error()) {
    counters_.Inc(Icmp4Counter::kRxErrors);
    if (listener_) (void)listener_(info, icmp, now);
    DeliverError(info, icmp, now);
    return;
  }
  if (icmp.type() == Icmp4Type::kEchoReply) counters_.Inc(Icmp4Counter::kRxEchoReplies);
  if (listener_ && listener_(info, icmp, now)) return;
  if (icmp.type() != Icmp4Type::kEchoRequest) return;
  counters_.Inc(Icmp4Counter::kRxEchoRequests);
  if ((info.to_broadcast || info.to_multicast) && ignore_broadcast_echo_) {
    counters_.Inc(Icmp4Counter::kRxDropBroadcastEcho);
    return;
  }
  if (!MayAnswer(info.src)) return;
  // RFC 792 "Echo": reverse the addresses, change the type, keep id, sequence and data.
  // RFC 1122 §3.2.2.6: the reply's source is the request's specific destination.
  PacketBuffer buf(icmp.message().size() + 64, 128);
  buf.Append(icmp.echo_data());
  const Ip4Address src = (info.to_broadcast || info.to_multicast) ? Ip4Address() : info.dst;
  Icmp4Header::EchoReply(icmp.echo_id(), icmp.echo_seq())
      .Emit(buf.Prepend(kIcmp4HeaderSize), icmp.echo_data());
  Ip4SendParams params;
  params.src = src;
  params.dst = info.src;
  params.protocol = IpProto::kIcmp4;
  params.tos = info.tos;
  if (ip4_->Send(params, buf, now).ok()) counters_.Inc(Icmp4Counter::kTxEchoReplies);
}

void Icmp4Engine::DeliverError(const Ip4PacketInfo& info, const Icmp4View& icmp, Instant now) {
  // The quoted datagram may be truncated (RFC 792 quotes the header and 64 bits), so its
  // header is read with explicit bounds rather than through a full parse.
  ByteSpan orig = icmp.original_datagram();
  if (orig.size() < kIp4MinHeaderSize || (orig[0] >> 4) != 4) return;
  const size_t ihl = static_cast<size_t>(orig[0] & 0x0f) * 4;
  if (ihl < kIp4MinHeaderSize || orig.size() < ihl + 8) return;  // need the ports
  const auto proto = static_cast<IpProto>(orig[9]);
  Ip4Transport* t = ip4_->transport(proto);
  if (t == nullptr || t == this) return;
  const int err = Icmp4ErrorToErrno(static_cast<uint8_t>(icmp.type()), icmp.code());
  if (err == 0) return;
  Ip4ErrorInfo e{static_cast<uint8_t>(icmp.type()),
                 icmp.code(),
                 info.src,
                 Ip4Address::FromBytes(orig.data() + 12),
                 Ip4Address::FromBytes(orig.data() + 16),
                 proto,
                 orig.subspan(ihl),
                 icmp.type() == Icmp4Type::kDestinationUnreachable ? icmp.next_hop_mtu() : 0u,
                 err,
                 false};
  t->ReceiveError(e, now);
}

bool Icmp4Engine::MayAnswer(Ip4Address src) {
  // RFC 1122 §3.2.1.3: {0, 0} and {0, host} are only sources while a host learns its
  // address (a) (b); broadcast (c) (d), class D and E (RFC 5771, RFC 1112 §4) addresses
  // never name one host. §3.2.2.6: an echo reply goes to the request's source, so none
  // is sent to such a source; §3.2.2: nor is an error.
  Icmp4Counter reason;
  if (src.is_this_network()) {
    reason = Icmp4Counter::kNoReplySrcThisNetwork;
  } else if (src.is_limited_broadcast() || ip4_->addresses().IsDirectedBroadcast(src)) {
    reason = Icmp4Counter::kNoReplySrcBroadcast;
  } else if (src.is_multicast()) {
    reason = Icmp4Counter::kNoReplySrcMulticast;
  } else if (src.is_reserved()) {
    reason = Icmp4Counter::kNoReplySrcReserved;
  } else {
    return true;
  }
  counters_.Inc(reason);
  PYTCP_LOG(log_icmp4, kDebug, "no reply to invalid source {}", src);
  return false;
}

void Icmp4Engine::SendUnreachable(const Ip4PacketInfo& info, ByteSpan datagram, uint8_t code,
                                  Instant now) {
  // RFC 1122 §3.2.2: never about a broadcast/multicast datagram or from such a source.
  if (info.to_broadcast || info.to_multicast) return;
  if (!MayAnswer(info.src)) return;
  counters_.Inc(Icmp4Counter::kTxUnreachable);
  SendError(info.src, Icmp4Header::DestinationUnreachable(static_cast<Icmp4UnreachableCode>(code)),
            datagram, now);
}

void Icmp4Engine::SendTimeExceeded(ByteSpan datagram, uint8_t code, Instant now) {
  if (datagram.size() < kIp4MinHeaderSize) return;
  const Ip4Address src = Ip4Address::FromBytes(datagram.data() + 12);
  if (!MayAnswer(src)) return;
  counters_.Inc(Icmp4Counter::kTxTimeExceeded);
  SendError(src, Icmp4Header::TimeExceeded(static_cast<Icmp4TimeExceededCode>(code)), datagram,
            now);
}

void Icmp4Engine::SendForwardingError(const Icmp4Header& header, ByteSpan datagram, Instant now) {
  if (datagram.size() < kIp4MinHeaderSize) return;
  const Ip4Address src = Ip4Address::FromBytes(datagram.data() + 12);
  if (!MayAnswer(src)) return;
  counters_.Inc(header.type == Icmp4Type::kRedirect ? Icmp4Counter::kTxRedirect
                                                     : Icmp4Counter::kTxUnreachable);
  SendError(src, header, datagram, now);
}

void Icmp4Engine::SendError(Ip4Address dst, const Icmp4Header& header, ByteSpan datagram,
                            Instant now) {
  // RFC 1122 §3.2.2: never an error about an ICMP error, nor about a non-first fragment.
  if (datagram.size() >= kIp4MinHeaderSize) {
    const size_t ihl = static_cast<size_t>(datagram[0] & 0x0f) * 4;
    const uint16_t frag = LoadBe16(datagram.data() + 6);
    if ((frag & 0x1fff) != 0) return;
    if (datagram[9] == static_cast<uint8_t>(IpProto::kIcmp4) && datagram.size() > ihl &&
        Icmp4IsError(static_cast<Icmp4Type>(datagram[ihl]))) {
      return;
    }
  }
  if (!error_bucket_.TryTake(now)) {
    counters_.Inc(Icmp4Counter::kTxRateLimited);
    return;
  }
  // RFC 1812 §4.3.2.3: quote as much of the datagram as fits in 576 bytes.
  const ByteSpan quote = datagram.first(std::min(datagram.size(), kIcmp4MaxQuoteSize));
  PacketBuffer buf(quote.size() + 64, 128);
  buf.Append(quote);
  header.Emit(buf.Prepend(kIcmp4HeaderSize), quote);
  Ip4SendParams params;
  params.dst = dst;
  params.protocol = IpProto::kIcmp4;
  params.tos = 0xc0;  // RFC 1812 §4.3.2.5: internetwork control precedence
  (void)ip4_->Send(params, buf, now);
}

}  // namespace pytcp
