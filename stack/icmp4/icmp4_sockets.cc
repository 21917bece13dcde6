#include "stack/icmp4/icmp4_sockets.h"

#include <algorithm>
#include <cerrno>

#include "stack/wire/checksum.h"

namespace pytcp {
Icmp4Sockets::Icmp4Sockets(Icmp4Engine* engine, Ip4Engine* ip4, Random* random)
    : icmp_(engine), ip4_(ip4), random_(random) {
  icmp_->set_listener([this](const Ip4PacketInfo& info, const Icmp4View& icmp, Instant now) {
    return OnMessage(info, icmp, now);
  });
  // An ARP failure about a queued echo request: Linux reports it as a host unreachable
  // from our own address ("Destination Host Unreachable" in ping).
  icmp_->set_local_error_listener([this](const Ip4ErrorInfo& e, Instant now) {
    if (e.orig_l4.size() < kIcmp4HeaderSize) return;
    Ip4ErrorInfo local = e;
    local.reporter = e.orig_src;
    DeliverError(local, now);
  });
}

Icmp4Sockets::~Icmp4Sockets() {
  icmp_->set_listener(nullptr);
  icmp_->set_local_error_listener(nullptr);
}

Result<bool, int> Icmp4Sockets::BindPing(Icmp4Endpoint* ep, SocketAddress local) {
  if (!local.ip.is_unspecified()) {
    if (!local.ip.is_v4()) return Err{EADDRNOTAVAIL};
    const Ip4Address a = local.ip.v4();
    if (!ip4_->addresses().IsOurs(a) && !a.is_loopback()) return Err{EADDRNOTAVAIL};
  }
  return endpoints_.BindPing(ep, local, *random_);
}

Result<Ip4Address, int> Icmp4Sockets::SourceFor(Ip4Address dst, Ip4Address hint) const {
  auto route = ip4_->Route(dst, hint);
  if (!route.ok()) return Err{ToErrno(route.error())};
  return route->src;
}

Result<bool, int> Icmp4Sockets::SendPing(Icmp4Endpoint* ep, Ip4Address dst, ByteSpan message,
                                         const Icmp4SendOptions& options, Instant now) {
  // ping_common_sendmsg: only echo requests, code 0, at least a header.
  if (message.size() > 0xffff) return Err{EMSGSIZE};
  if (message.size() < kIcmp4HeaderSize) return Err{EINVAL};
  if (message[0] != static_cast<uint8_t>(Icmp4Type::kEchoRequest) || message[1] != 0) {
    return Err{EINVAL};
  }
  if (message.size() + kIp4MinHeaderSize > kIp4MaxDatagramSize) return Err{EMSGSIZE};
  if (!ep->bound) {
    auto r = BindPing(ep, SocketAddress{ep->local.ip, 0, 0});
    if (!r.ok()) return r;
  }
  tx_.Reset();
  tx_.Append(message);
  auto bytes = tx_.data();
  // RFC 792: the identifier is the socket's; the checksum covers the whole message.
  StoreBe16(bytes.data() + 4, ep->local.port);
  StoreBe16(bytes.data() + 2, 0);
  StoreBe16(bytes.data() + 2, InternetChecksum(bytes));
  return Transmit(ep, dst, options, now);
}

Result<bool, int> Icmp4Sockets::SendRaw(Icmp4Endpoint* ep, Ip4Address dst, ByteSpan message,
                                        const Icmp4SendOptions& options, Instant now) {
  if (message.size() + kIp4MinHeaderSize > kIp4MaxDatagramSize) return Err{EMSGSIZE};
  tx_.Reset();
  tx_.Append(message);
  return Transmit(ep, dst, options, now);
}

Result<bool, int> Icmp4Sockets::Transmit(Icmp4Endpoint* ep, Ip4Address dst,
                                         const Icmp4SendOptions& options, Instant now) {
  Ip4SendParams params;
  params.src = ep->local.ip.is_unspecified() || !ep->local.ip.is_v4() ? Ip4Address()
                                                                       : ep->local.ip.v4();
  params.dst = dst;
  params.protocol = IpProto::kIcmp4;
  params.ttl = options.ttl;
  params.tos = options.tos;
  params.allow_broadcast = options.allow_broadcast;
  params.dont_fragment = options.dont_fragment;
  auto sent = ip4_->Send(params, tx_, now);
  if (!sent.ok()) return Err{ToErrno(sent.error())};
  return true;
}

bool Icmp4Sockets::OnMessage(const Ip4PacketInfo& info, const Icmp4View& icmp, Instant now) {
  const std::optional<uint16_t> reply_id =
      icmp.type() == Icmp4Type::kEchoReply ? std::optional(icmp.echo_id()) : std::nullopt;
  const bool taken = endpoints_.DeliverMessage(
      IpAddress(info.dst), reply_id, [&](Icmp4Endpoint* ep) { ep->OnIcmpMessage(info, icmp, now); });
  if (icmp.is_error()) OnError(info, icmp, now);
  return taken;
}

void Icmp4Sockets::OnError(const Ip4PacketInfo& info, const Icmp4View& icmp, Instant now) {
  // RFC 1122 §3.2.2: the quoted header names the sender. It may be truncated (RFC 792
  // quotes the header and 64 bits), so it is read with explicit bounds.
  ByteSpan orig = icmp.original_datagram();
  if (orig.size() < kIp4MinHeaderSize || (orig[0] >> 4) != 4) return;
  const size_t ihl = static_cast<size_t>(orig[0] & 0x0f) * 4;
  if (ihl < kIp4MinHeaderSize || orig.size() < ihl + kIcmp4HeaderSize) return;
  if (orig[9] != static_cast<uint8_t>(IpProto::kIcmp4)) return;
  const ByteSpan l4 = orig.subspan(ihl);
  const int err = Icmp4ErrorToErrno(static_cast<uint8_t>(icmp.type()), icmp.code());
  if (err == 0) return;  // source quench and friends (RFC 6633)
  const Ip4ErrorInfo e{static_cast<uint8_t>(icmp.type()),
                       icmp.code(),
                       info.src,
                       Ip4Address::FromBytes(orig.data() + 12),
                       Ip4Address::FromBytes(orig.data() + 16),
                       IpProto::kIcmp4,
                       l4,
                       icmp.type() == Icmp4Type::kDestinationUnreachable ? icmp.next_hop_mtu()
                                                                          : 0u,
                       err,
                       false};
  DeliverError(e, now);
}

void Icmp4Sockets::DeliverError(const Ip4ErrorInfo& e, Instant now) {
  endpoints_.DeliverError(IpAddress(e.orig_src), e.orig_l4,
                          static_cast<uint8_t>(Icmp4Type::kEchoRequest),
                          [&](Icmp4Endpoint* ep) { ep->OnIcmpError(e, now); });
}

}  // namespace pytcp
