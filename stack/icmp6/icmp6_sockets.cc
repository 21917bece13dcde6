#include "stack/icmp6/icmp6_sockets.h"

#include <algorithm>
#include <cerrno>

#include "stack/wire/checksum.h"
#include "stack/wire/ip6.h"

namespace pytcp {
namespace {
constexpr size_t kMaxPayload = 65535;  // without a jumbogram (RFC 2675)
}  // namespace

Icmp6Sockets::Icmp6Sockets(Icmp6Engine* engine, Ip6Engine* ip6, Random* random)
    : icmp_(engine), ip6_(ip6), random_(random) {
  icmp_->set_listener([this](const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now) {
    return OnMessage(info, icmp, now);
  });
  icmp_->set_error_listener([this](const Ip6ErrorInfo& e, Instant now) {
    if (e.orig_l4.size() < kIcmp6HeaderSize) return;
    if (!e.local) {
      OnError(e, now);
      return;
    }
    // An ND failure about a queued echo request: Linux answers it with an "address
    // unreachable" from our own address (icmpv6_send from ip6_link_failure), which ping
    // prints as "From <us> ... Destination unreachable: Address unreachable".
    Ip6ErrorInfo local = e;
    local.reporter = e.orig_src;
    OnError(local, now);
  });
}

Icmp6Sockets::~Icmp6Sockets() {
  icmp_->set_listener(nullptr);
  icmp_->set_error_listener(nullptr);
}

bool Icmp6Sockets::IsOurs(const Ip6Address& a) const {
  return a.is_loopback() || ip6_->addresses().IsOurs(a);
}

Result<bool, int> Icmp6Sockets::BindPing(Icmp6Endpoint* ep, SocketAddress local) {
  if (!local.ip.is_unspecified()) {
    if (local.ip.is_v4() || !IsOurs(local.ip.v6())) return Err{EADDRNOTAVAIL};
  }
  return endpoints_.BindPing(ep, local, *random_);
}

Result<Ip6Address, int> Icmp6Sockets::SourceFor(const Ip6Address& dst,
                                                const Ip6Address& hint) const {
  auto route = ip6_->Route(dst, hint);
  if (!route.ok()) return Err{ToErrno(route.error())};
  if (route->src.is_unspecified()) return Err{EADDRNOTAVAIL};
  return route->src;
}

Result<bool, int> Icmp6Sockets::SendPing(Icmp6Endpoint* ep, const Ip6Address& dst,
                                         ByteSpan message, const Icmp6SendOptions& options,
                                         Instant now) {
  // ping_common_sendmsg: only echo requests, code 0, at least a header.
  if (message.size() > 0xffff) return Err{EMSGSIZE};
  if (message.size() < kIcmp6HeaderSize) return Err{EINVAL};
  if (message[0] != static_cast<uint8_t>(Icmp6Type::kEchoRequest) || message[1] != 0) {
    return Err{EINVAL};
  }
  if (!ep->bound) {
    auto r = BindPing(ep, SocketAddress{ep->local.ip, 0, 0});
    if (!r.ok()) return r;
  }
  tx_.Reset();
  tx_.Append(message);
  // RFC 4443 §4.1: the identifier is the socket's.
  StoreBe16(tx_.data().data() + 4, ep->local.port);
  return Transmit(ep, dst, 2, options, now);
}

Result<bool, int> Icmp6Sockets::SendRaw(Icmp6Endpoint* ep, const Ip6Address& dst,
                                        ByteSpan message, const Icmp6SendOptions& options,
                                        Instant now) {
  if (message.size() > kMaxPayload) return Err{EMSGSIZE};
  // rawv6_push_pending_frames: the checksum must lie inside the message.
  if (options.checksum_offset >= 0 &&
      static_cast<size_t>(options.checksum_offset) + 2 > message.size()) {
    return Err{EINVAL};
  }
  tx_.Reset();
  tx_.Append(message);
  return Transmit(ep, dst, options.checksum_offset, options, now);
}

Result<bool, int> Icmp6Sockets::Transmit(Icmp6Endpoint* ep, const Ip6Address& dst,
                                         int checksum_offset, const Icmp6SendOptions& options,
                                         Instant now) {
  // The checksum covers the pseudo-header (RFC 4443 §2.3), so the source is chosen first.
  const Ip6Address hint =
      ep->local.ip.is_unspecified() || ep->local.ip.is_v4() ? Ip6Address() : ep->local.ip.v6();
  auto route = ip6_->Route(dst, hint);
  if (!route.ok()) return Err{ToErrno(route.error())};
  if (route->src.is_unspecified()) return Err{EADDRNOTAVAIL};
  auto bytes = tx_.data();
  if (checksum_offset >= 0) {
    // raw(7)/RFC 3542 §3.1: whatever the sender left in the field is replaced.
    StoreBe16(bytes.data() + checksum_offset, 0);
    StoreBe16(bytes.data() + checksum_offset,
              InternetChecksum(bytes, Icmp6PseudoHeaderSum(route->src, dst, bytes.size())));
  }
  if (dst.is_multicast() &&
      (dst == Ip6Address::AllNodesMulticast() || ip6_->IsMemberOf(dst))) {
    LoopBackMulticast(route->src, dst, options, now);
  }
  Ip6SendParams params;
  params.src = route->src;
  params.dst = dst;
  params.next_header = static_cast<uint8_t>(Ip6NextHeader::kIcmp6);
  // ipv6(7): IPV6_MULTICAST_HOPS defaults to 1 for multicast destinations.
  params.hop_limit = dst.is_multicast() && options.hop_limit == 0 ? 1 : options.hop_limit;
  params.traffic_class = options.traffic_class;
  params.dont_fragment = options.dont_fragment;
  params.scope_id = options.scope_id;
  auto sent = ip6_->Send(params, tx_, now);
  if (!sent.ok()) return Err{ToErrno(sent.error())};
  return true;
}

void Icmp6Sockets::LoopBackMulticast(const Ip6Address& src, const Ip6Address& group,
                                     const Icmp6SendOptions& options, Instant now) {
  // ipv6(7) IPV6_MULTICAST_LOOP (on by default): a message to a group this host is in is
  // also received here, so a ping to ff02::1 is answered by this host too, as the kernel
  // answers its own (and raw sockets see it). The copy is taken before tx_ is sent.
  const ByteSpan message = tx_.data();
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
  icmp_->Receive(info, ByteSpan(packet).subspan(kIp6HeaderSize), now);
  // Our own answer (to our own address) is delivered at once, before the request leaves,
  // so it comes first as it does on Linux (the loopback device beats the wire).
  if (ip6_->HasLoopbackPending()) ip6_->DeliverLoopback(now);
}

bool Icmp6Sockets::OnMessage(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now) {
  // RFC 3542 §3: every raw ICMPv6 socket gets a copy of every message (ICMP6_FILTER is
  // applied by the socket).
  const bool reply =
      icmp.type() == Icmp6Type::kEchoReply && icmp.message().size() >= kIcmp6HeaderSize;
  return endpoints_.DeliverMessage(
      IpAddress(info.dst), reply ? std::optional(icmp.echo_id()) : std::nullopt,
      [&](Icmp6Endpoint* ep) { ep->OnIcmp6Message(info, icmp, now); });
}

void Icmp6Sockets::OnError(const Ip6ErrorInfo& e, Instant now) {
  endpoints_.DeliverError(IpAddress(e.orig_src), e.orig_l4,
                          static_cast<uint8_t>(Icmp6Type::kEchoRequest),
                          [&](Icmp6Endpoint* ep) { ep->OnIcmp6Error(e, now); });
}

}  // namespace pytcp
