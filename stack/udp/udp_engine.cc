#include "stack/udp/udp_engine.h"

#include <algorithm>
#include <cerrno>

#include "stack/base/log.h"
#include "stack/net/bind_overlap.h"
#include "stack/wire/checksum.h"
#include "stack/wire/icmp4.h"
#include "stack/net/ephemeral_ports.h"

namespace pytcp {
namespace {
LogChannel log_udp("udp");

// inet_rcv_saddr_equal(new, existing, match_wildcard=true): stack/net/bind_overlap.h.
bool Overlap(const UdpEndpoint& ep, const UdpEndpoint& other) {
  return BindAddressesOverlap(BindKey{ep.local.ip, ep.ipv6, ep.v6only},
                              BindKey{other.local.ip, other.ipv6, other.v6only});
}

// The sum of the pseudo-header a UDP checksum covers (RFC 768, RFC 8200 §8.1).
uint32_t PseudoSum(Ip4Address src, Ip4Address dst, size_t udp_length) {
  return PseudoHeaderSum4(src, dst, static_cast<uint8_t>(IpProto::kUdp),
                          static_cast<uint32_t>(udp_length));
}
uint32_t PseudoSum(const Ip6Address& src, const Ip6Address& dst, size_t udp_length) {
  return PseudoHeaderSum6(src, dst, static_cast<uint8_t>(IpProto::kUdp),
                          static_cast<uint32_t>(udp_length));
}

Result<UdpView, UdpParseError> ParseDatagram(ByteSpan payload, uint32_t pseudo,
                                             bool l4_checksum_valid) {
  // The link may vouch for the checksum (stack/link/virtio_net.cc): not summed again.
  UdpParseOptions options;
  if (l4_checksum_valid) options.checksum = ChecksumPolicy::kSkip;
  return UdpView::Parse(payload, pseudo, options);
}
}  // namespace

void UdpEngine::FillTx(uint16_t src_port, uint16_t dst_port, ByteSpan payload, uint32_t pseudo) {
  tx_.Reset();
  tx_.Append(payload);
  UdpHeader header{src_port, dst_port};
  header.Emit(tx_.Prepend(kUdpHeaderSize), payload, pseudo);
}

Result<void, int> UdpEngine::Sent(Result<void, IpSendError> sent) {
  if (!sent.ok()) {
    counters_.Inc(UdpCounter::kTxDropError);
    return Err{ToErrno(sent.error())};
  }
  counters_.Inc(UdpCounter::kTxDatagrams);
  return Ok();
}

template <typename Takes, typename Fn>
void UdpEngine::ForEachMatch(uint16_t port, Takes&& takes, const IpAddress& local,
                             const SocketAddress& remote, Fn&& fn) {
  auto it = ports_.find(port);
  if (it == ports_.end()) return;
  for (UdpEndpoint* ep : it->second) {
    if (!takes(*ep)) continue;
    if (!ep->local.ip.is_unspecified() && ep->local.ip != local) continue;
    if (ep->remote && (ep->remote->ip != remote.ip || ep->remote->port != remote.port)) continue;
    fn(ep);
  }
}

template <typename Takes>
bool UdpEngine::Deliver(uint16_t port, Takes&& takes, const SocketAddress& from,
                        const IpAddress& to, ByteSpan payload, const UdpRxMeta& meta,
                        bool fan_out, Instant now) {
  // RFC 1122 §4.1.3.5 leaves fan-out open; Linux delivers a copy to every match. Otherwise
  // the most specific match wins (connected beats bound-to-address beats wildcard); among
  // equals the last one bound, as Linux does for SO_REUSEADDR sockets.
  UdpEndpoint* best = nullptr;
  int best_score = -1;
  ForEachMatch(port, takes, to, from, [&](UdpEndpoint* ep) {
    if (ep->bound_device >= 0 && ep->bound_device != meta.iface) return;
    if (fan_out) {
      ep->OnDatagram(from, to, payload, meta, now);
      best = ep;
      return;
    }
    const int score = (ep->remote ? 4 : 0) + (ep->local.ip.is_unspecified() ? 0 : 2) +
                      (ep->bound_device >= 0 ? 1 : 0);
    if (score >= best_score) {
      best = ep;
      best_score = score;
    }
  });
  if (best == nullptr) return false;
  counters_.Inc(UdpCounter::kRxDelivered);
  if (!fan_out) best->OnDatagram(from, to, payload, meta, now);
  return true;
}

template <typename Addr, typename Takes, typename Report>
void UdpEngine::DeliverError(const IpErrorInfo<Addr>& error, Takes&& takes, Report&& report) {
  // RFC 1122 §4.1.3.3: to the endpoint that sent the datagram the error quotes.
  if (error.orig_l4.size() < kUdpHeaderSize) return;
  const uint16_t src_port = LoadBe16(error.orig_l4.data());
  const uint16_t dst_port = LoadBe16(error.orig_l4.data() + 2);
  if (!ports_.contains(src_port)) return;
  counters_.Inc(UdpCounter::kRxIcmpErrors);
  ForEachMatch(src_port, takes, IpAddress(error.orig_src),
               SocketAddress{IpAddress(error.orig_dst), dst_port, 0}, report);
}

template <typename Takes, typename MetaFor>
void UdpEngine::LoopBack(uint16_t dst_port, Takes&& takes, const SocketAddress& from,
                         const IpAddress& to, ByteSpan payload, MetaFor&& meta_for, Instant now) {
  if (!ports_.contains(dst_port)) return;
  // A copy of the payload: the endpoints may queue it while tx_ is reused.
  const std::vector<uint8_t> copy(payload.begin(), payload.end());
  ForEachMatch(dst_port, takes, to, from, [&](UdpEndpoint* ep) {
    counters_.Inc(UdpCounter::kRxDelivered);
    ep->OnDatagram(from, to, copy, meta_for(*ep), now);
  });
}

UdpEngine::UdpEngine(Ip4Engine* ip4, Random* random) : ip4_(ip4), random_(random) {
  ip4_->RegisterTransport(IpProto::kUdp, this);
}

void UdpEngine::set_ip6(Ip6Engine* ip6) {
  ip6_ = ip6;
  ip6_->RegisterTransport(static_cast<uint8_t>(IpProto::kUdp), this);
}

bool UdpEngine::Conflicts(const UdpEndpoint& a, const UdpEndpoint& b) const {
  // Linux (inet_csk_bind_conflict for UDP): overlapping addresses on one port conflict
  // unless both sockets set SO_REUSEADDR or both set SO_REUSEPORT.
  if (!Overlap(a, b)) return false;
  if (a.reuse_addr && b.reuse_addr) return false;
  if (a.reuse_port && b.reuse_port) return false;
  return true;
}

Result<uint16_t, int> UdpEngine::PickEphemeral(UdpEndpoint* ep) {
  // RFC 6056 §3.3.1 (Algorithm 1): a random starting point, then a linear search.
  const auto port = SearchEphemeralPort(
      static_cast<uint32_t>(random_->Below(kEphemeralPortCount)), [&](uint16_t p) {
        auto it = ports_.find(p);
        if (it == ports_.end()) return true;
        for (const UdpEndpoint* other : it->second) {
          // An ephemeral port is never shared, whatever the reuse options.
          if (Overlap(*ep, *other)) return false;
        }
        return true;
      });
  if (!port) return Err{EAGAIN};  // Linux reports EAGAIN when the ephemeral range is exhausted
  return *port;
}

Result<void, int> UdpEngine::Bind(UdpEndpoint* ep, SocketAddress local) {
  if (ep->bound) return Err{EINVAL};
  // __inet6_bind: "Binding to v4-mapped address on a v6-only socket makes no sense".
  if (ep->ipv6 && ep->v6only && local.ip.is_v4()) return Err{EINVAL};
  if (!local.ip.is_unspecified() && !local.ip.is_multicast() && !local.ip.is_v4()) {
    // ::1 is the loopback interface's (RFC 4291 §2.5.3), ours as 127.0.0.0/8 is below.
    if (ip6_ == nullptr || !ep->ipv6 ||
        (!ip6_->addresses().IsOurs(local.ip.v6()) && !local.ip.v6().is_loopback())) {
      return Err{EADDRNOTAVAIL};
    }
  }
  if (!local.ip.is_unspecified() && !local.ip.is_multicast() && local.ip.is_v4()) {
    const Ip4Address a = local.ip.v4();
    if (!ip4_->addresses().IsOurs(a) && !a.is_limited_broadcast() && !a.is_loopback() &&
        !ip4_->addresses().IsDirectedBroadcast(a)) {
      return Err{EADDRNOTAVAIL};
    }
  }
  ep->local.ip = local.ip;
  // __inet6_bind makes a socket bound to a specific IPv6 address IPV6_V6ONLY before it
  // checks the port, and restores the old value when the port is taken.
  const bool saved_v6only = ep->v6only;
  ep->v6only = EffectiveV6only(BindKey{local.ip, ep->ipv6, ep->v6only});
  if (local.port == 0) {
    auto port = PickEphemeral(ep);
    if (!port.ok()) {
      ep->v6only = saved_v6only;
      return Err{port.error()};
    }
    local.port = *port;
  } else {
    auto it = ports_.find(local.port);
    if (it != ports_.end()) {
      ep->local = local;
      for (const UdpEndpoint* other : it->second) {
        if (Conflicts(*ep, *other)) {
          ep->local = SocketAddress{};
          ep->v6only = saved_v6only;
          return Err{EADDRINUSE};
        }
      }
    }
  }
  ep->local = local;
  ep->bound = true;
  ports_[local.port].push_back(ep);
  return Ok();
}

void UdpEngine::Unbind(UdpEndpoint* ep) {
  if (!ep->bound) return;
  RemovePortUser(ports_, ep->local.port, ep);
  ep->bound = false;
}

Result<IpAddress, int> UdpEngine::SourceFor(const IpAddress& dst, const IpAddress& hint) const {
  if (!dst.is_v4()) {
    if (ip6_ == nullptr) return Err{ENETUNREACH};
    auto route = ip6_->Route(dst.v6(), hint.is_unspecified() || hint.is_v4() ? Ip6Address() : hint.v6());
    if (!route.ok()) return Err{ToErrno(route.error())};
    if (route->src.is_unspecified()) return Err{EADDRNOTAVAIL};
    return IpAddress(route->src);
  }
  auto route = ip4_->Route(dst.v4(), hint.is_unspecified() || hint.is_multicast()
                                         ? Ip4Address()
                                         : hint.v4());
  if (!route.ok()) return Err{ToErrno(route.error())};
  return IpAddress(route->src);
}

Result<void, int> UdpEngine::Send(UdpEndpoint* ep, const SocketAddress& dst, ByteSpan payload,
                                  const UdpSendOptions& options, Instant now) {
  if (!dst.ip.is_v4()) return Send6(ep, dst, payload, options, now);
  if (ep->ipv6 && ep->v6only) return Err{ENETUNREACH};
  // Port 0 goes out as any other (a socket connected to it sends there, as Linux's does);
  // the socket layer refuses it in an explicit sendto() (udp_sendmsg).
  if (payload.size() > 65535 - kUdpHeaderSize - kIp4MinHeaderSize) return Err{EMSGSIZE};
  if (!ep->bound) {
    auto r = Bind(ep, SocketAddress{ep->local.ip, 0, 0});
    if (!r.ok()) return r;
  }
  Ip4Address hint = (ep->local.ip.is_unspecified() || ep->local.ip.is_multicast() ||
                     ep->local.ip.v4().is_limited_broadcast() ||
                     ip4_->addresses().IsDirectedBroadcast(ep->local.ip.v4()))
                        ? Ip4Address()
                        : ep->local.ip.v4();
  const bool multicast = dst.ip.v4().is_multicast();
  // ip(7) IP_MULTICAST_IF: the interface (here: its address) multicasts leave from.
  if (multicast && hint.is_unspecified() && !options.multicast_if.is_unspecified()) {
    hint = options.multicast_if;
  }
  if (!options.src.is_unspecified()) {
    // IP_PKTINFO's ipi_spec_dst is the source (ip_cmsg_send); one that is not ours fails
    // the route lookup (ip_route_output_key_hash_rcu: no device has it) with ENETUNREACH.
    if (!options.src.is_v4() || !ip4_->addresses().IsOurs(options.src.v4())) return Err{ENETUNREACH};
    hint = options.src.v4();
  }
  auto route = ip4_->Route(dst.ip.v4(), hint, options.out_iface);
  if (!route.ok()) {
    counters_.Inc(UdpCounter::kTxDropError);
    return Err{ToErrno(route.error())};
  }
  const Ip4Address src = route->src;
  FillTx(ep->local.port, dst.port, payload, PseudoSum(src, dst.ip.v4(), kUdpHeaderSize + payload.size()));
  Ip4SendParams params;
  params.src = src;
  params.dst = dst.ip.v4();
  params.protocol = IpProto::kUdp;
  params.ttl = multicast ? options.multicast_ttl : options.ttl;
  params.tos = options.tos;
  params.allow_broadcast = options.allow_broadcast;
  params.dont_fragment = options.dont_fragment;
  params.out_iface = options.out_iface;
  if (multicast && options.multicast_loop && ip4_->IsMemberOf(dst.ip.v4())) {
    LoopBackMulticast4(src, ep->local.port, dst.ip.v4(), dst.port, payload,
                       UdpRxMeta{params.ttl, params.tos, IpAddress(src)}, now);
  }
  // Linux ip_mc_output: TTL 0 is looped back only, never sent.
  if (multicast && params.ttl == 0) return Sent(Ok());
  return Sent(ip4_->Send(params, tx_, now));
}

void UdpEngine::Receive(const Ip4PacketInfo& info, ByteSpan payload, Instant now) {
  counters_.Inc(UdpCounter::kRxDatagrams);
  auto parsed = ParseDatagram(payload, PseudoSum(info.src, info.dst, payload.size()),
                              info.l4_checksum_valid);
  if (!parsed.ok()) {
    counters_.IncUnparsed(parsed.error());
    PYTCP_LOG(log_udp, kDebug, "drop datagram from {}: {}", info.src, ToString(parsed.error()));
    return;
  }
  const UdpView& udp = *parsed;
  const SocketAddress from{IpAddress(info.src), udp.src_port(), 0};
  const IpAddress to(info.dst);
  // RFC 3376 §3.2: the interface's source filter applies before any socket's (Linux
  // ip_check_mc_rcv); groups IGMP does not manage (224.0.0.1) take every source.
  if (info.to_multicast && igmp_ != nullptr && igmp_->State(info.dst) != nullptr &&
      !igmp_->Allows(info.dst, info.src)) {
    counters_.Inc(UdpCounter::kRxDropNoPort);
    return;
  }
  UdpRxMeta meta{info.ttl, info.tos, to};
  meta.iface = info.iface;
  if (info.to_broadcast || info.to_multicast) {
    auto route = ip4_->Route(info.src, Ip4Address());
    meta.spec_dst = route.ok() ? IpAddress(route->src) : IpAddress(Ip4Address());
  }
  // IPV6_V6ONLY: an AF_INET6 socket takes IPv4 (v4-mapped) unless it is set.
  auto takes_ip4 = [](const UdpEndpoint& ep) { return !(ep.ipv6 && ep.v6only); };
  if (Deliver(udp.dst_port(), takes_ip4, from, to, udp.payload(), meta,
              info.to_broadcast || info.to_multicast, now)) {
    return;
  }
  counters_.Inc(UdpCounter::kRxDropNoPort);
  // RFC 1122 §4.1.3.1: port unreachable (the ICMP engine refuses broadcasts/multicasts).
  if (Ip4ErrorSender* errors = ip4_->error_sender()) {
    errors->SendUnreachable(info, info.datagram,
                            static_cast<uint8_t>(Icmp4UnreachableCode::kPort), now);
  }
}

void UdpEngine::ReceiveError(const Ip4ErrorInfo& error, Instant now) {
  DeliverError(error, [](const UdpEndpoint&) { return true; },
               [&](UdpEndpoint* ep) { ep->OnIcmpError(error, now); });
}

Result<void, int> UdpEngine::Send6(UdpEndpoint* ep, const SocketAddress& dst, ByteSpan payload,
                                   const UdpSendOptions& options, Instant now) {
  if (ip6_ == nullptr || !ep->ipv6) return Err{ENETUNREACH};
  if (payload.size() > 65535 - kUdpHeaderSize) return Err{EMSGSIZE};
  if (!ep->bound) {
    auto r = Bind(ep, SocketAddress{ep->local.ip, 0, 0});
    if (!r.ok()) return r;
  }
  Ip6Address hint = (ep->local.ip.is_unspecified() || ep->local.ip.is_v4() ||
                     ep->local.ip.is_multicast())
                        ? Ip6Address()
                        : ep->local.ip.v6();
  if (!options.src.is_unspecified()) {
    // RFC 3542 §6.1 IPV6_PKTINFO ipi6_addr: the source, which must be ours (Linux
    // ip6_datagram_send_ctl: EINVAL otherwise).
    if (options.src.is_v4() || !ip6_->addresses().IsOurs(options.src.v6())) return Err{EINVAL};
    hint = options.src.v6();
  }
  // A link-local or multicast destination's zone: the address's scope id, or the
  // interface the socket is bound to (SO_BINDTODEVICE).
  auto route = ip6_->Route(dst.ip.v6(), hint, dst.scope_id, options.out_iface);
  if (!route.ok() || route->src.is_unspecified()) {
    counters_.Inc(UdpCounter::kTxDropError);
    return Err{route.ok() ? EADDRNOTAVAIL : ToErrno(route.error())};
  }
  const Ip6Address src = route->src;
  // RFC 8200 §8.1: the checksum is mandatory and covers the IPv6 pseudo-header.
  FillTx(ep->local.port, dst.port, payload, PseudoSum(src, dst.ip.v6(), kUdpHeaderSize + payload.size()));
  const bool multicast = dst.ip.v6().is_multicast();
  if (multicast && ep->multicast_loop && ip6_->IsMemberOf(dst.ip.v6())) {
    LoopBackMulticast6(src, ep->local.port, dst.ip.v6(), dst.port, payload, options.tos, now);
  }
  if (multicast && ep->multicast_hops == 0) return Sent(Ok());  // ipv6(7): stays on the host
  Ip6SendParams params;
  params.src = src;
  params.dst = dst.ip.v6();
  params.next_header = static_cast<uint8_t>(IpProto::kUdp);
  params.hop_limit = multicast ? ep->multicast_hops : ep->hop_limit;
  if (options.hop_limit >= 0) params.hop_limit = static_cast<uint8_t>(options.hop_limit);
  params.traffic_class = options.tos;
  params.dont_fragment = options.dont_fragment;
  params.scope_id = dst.scope_id;
  params.out_iface = options.out_iface;
  return Sent(ip6_->Send(params, tx_, now));
}

void UdpEngine::JoinGroup6(const Ip6Address& group, Instant now) {
  if (ip6_ != nullptr) ip6_->JoinGroup(group, now);
}

void UdpEngine::LeaveGroup6(const Ip6Address& group, Instant now) {
  if (ip6_ != nullptr) ip6_->LeaveGroup(group, now);
}

void UdpEngine::LoopBackMulticast6(const Ip6Address& src, uint16_t src_port, const Ip6Address& group,
                                   uint16_t dst_port, ByteSpan payload, uint8_t tclass, Instant now) {
  LoopBack(dst_port, [](const UdpEndpoint& ep) { return ep.ipv6; },
           SocketAddress{IpAddress(src), src_port, 0}, IpAddress(group), payload,
           [&](const UdpEndpoint& ep) { return UdpRxMeta{ep.multicast_hops, tclass, IpAddress(src)}; },
           now);
}

void UdpEngine::Listen4(const void* owner, Ip4Address group, McFilterMode mode,
                        std::span<const Ip4Address> sources, Instant now) {
  if (igmp_ != nullptr) igmp_->Listen(owner, group, mode, sources, now);
}

void UdpEngine::LoopBackMulticast4(Ip4Address src, uint16_t src_port, Ip4Address group,
                                   uint16_t dst_port, ByteSpan payload, const UdpRxMeta& meta,
                                   Instant now) {
  // The interface's source filter (RFC 3376 §3.2) sees the copy as it would a received one.
  if (igmp_ != nullptr && igmp_->State(group) != nullptr && !igmp_->Allows(group, src)) return;
  LoopBack(dst_port, [](const UdpEndpoint& ep) { return !(ep.ipv6 && ep.v6only); },
           SocketAddress{IpAddress(src), src_port, 0}, IpAddress(group), payload,
           [&](const UdpEndpoint&) { return meta; }, now);
}

void UdpEngine::Receive(const Ip6PacketInfo& info, ByteSpan payload, Instant now) {
  counters_.Inc(UdpCounter::kRxDatagrams);
  auto parsed = ParseDatagram(payload, PseudoSum(info.src, info.dst, payload.size()),
                              info.l4_checksum_valid);
  // RFC 8200 §8.1: a zero checksum is invalid over IPv6.
  if (!parsed.ok() || LoadBe16(payload.data() + 6) == 0) {
    counters_.Inc(UdpCounter::kRxDropInvalid);
    return;
  }
  const UdpView& udp = *parsed;
  const SocketAddress from{IpAddress(info.src), udp.src_port(), 0};
  const IpAddress to(info.dst);
  UdpRxMeta meta{info.hop_limit, info.traffic_class, to};
  meta.iface = info.iface;
  if (info.to_multicast) {
    auto route = ip6_->Route(info.src, Ip6Address(), 0, info.iface);
    meta.spec_dst = route.ok() ? IpAddress(route->src) : IpAddress();
  }
  // A v4-mapped bind (also ::ffff:0.0.0.0) takes IPv4 only. A socket bound to an address
  // receives only what is sent to it: a unicast-bound socket gets no multicast (Linux
  // __udp_v6_is_mcast_sock), a group-bound one only its group.
  auto takes_ip6 = [](const UdpEndpoint& ep) { return ep.ipv6 && !ep.local.ip.is_v4(); };
  if (Deliver(udp.dst_port(), takes_ip6, from, to, udp.payload(), meta, info.to_multicast, now)) {
    return;
  }
  counters_.Inc(UdpCounter::kRxDropNoPort);
  // RFC 4443 §3.1: port unreachable (never about multicast, §2.4 e.3).
  if (Ip6ErrorSender* errors = ip6_->error_sender()) {
    errors->SendError(Icmp6Header::DestinationUnreachable(Icmp6UnreachableCode::kPort), info.packet,
                      info.to_multicast, false, now);
  }
}

void UdpEngine::ReceiveError(const Ip6ErrorInfo& error, Instant now) {
  DeliverError(error, [](const UdpEndpoint& ep) { return ep.ipv6; },
               [&](UdpEndpoint* ep) { ep->OnIcmp6Error(error, now); });
}

}  // namespace pytcp
