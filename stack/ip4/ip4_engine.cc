#include "stack/ip4/ip4_engine.h"

#include <cerrno>
#include <cstring>

#include "stack/base/log.h"
#include "stack/frag/fragmenter.h"
#include "stack/wire/icmp4.h"

namespace pytcp {
namespace {
LogChannel log_ip4("ip4");
constexpr Ip4Address kAllSystems(224, 0, 0, 1);
}  // namespace

Ip4Engine::Port::Port(Ip4Engine* owner, uint8_t position, Interface* on, ArpEngine* resolver)
    : engine(owner),
      index(position),
      iface(on),
      arp(resolver),
      link(on, EtherType::kIp4, &owner->counters_,
           {IpCounter::kTxPackets, IpCounter::kTxQueuedForArp, IpCounter::kTxDropArpQueueFull,
            IpCounter::kTxDropLinkError}) {}

void Ip4Engine::Port::ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo& rx) {
  engine->ReceiveDatagram(frame.payload(), now, /*from_loopback=*/false, rx, index);
}

Ip4Engine::Ip4Engine(Interface* iface, ArpEngine* arp, Ip4AddressTable* addresses,
                     Ip4RoutingTable* routes, Random* random, Ip4Config config)
    : IpEngineCommon(iface, [](const Ip4Address& g) { return MacAddress::FromIp4Multicast(g); },
                     config.pmtu_timeout),
      addresses_(addresses),
      routes_(routes),
      random_(random),
      config_(config),
      reassembler_(config.reassembly),
      id_counter_(static_cast<uint16_t>(random->Next())) {
  AddInterface(iface, arp);
  addresses_->AddListener([this](const Ip4AddressEntry& e) { OnAddressChange(e); });
  JoinGroup(kAllSystems);  // RFC 1112 §7.2: every host is a member of 224.0.0.1
}

uint8_t Ip4Engine::AddInterface(Interface* iface, ArpEngine* arp) {
  const auto index = static_cast<uint8_t>(ports_.size());
  ports_.push_back(std::make_unique<Port>(this, index, iface, arp));
  arp->set_failure_handler(
      [this](Ip4Address target, std::vector<ArpEngine::Packet> dropped, Instant now) {
        OnArpFailure(target, std::move(dropped), now);
      });
  return index;
}

uint32_t Ip4Engine::LinkMtuToward(Ip4Address dst) const {
  // TCP asks for the path MTU with every send: a stack on one interface (a host) answers
  // without a route lookup.
  if (ports_.size() == 1) return mtu();
  const auto route = routes_->Lookup(dst);
  return route && route->iface < ports_.size() ? ports_[route->iface]->iface->mtu() : mtu();
}

void Ip4Engine::JoinGroup(Ip4Address group) { groups_.Join(group); }

void Ip4Engine::LeaveGroup(Ip4Address group) { groups_.Leave(group); }


void Ip4Engine::OnAddressChange(const Ip4AddressEntry& e) {
  // The connected route of an address exists exactly while the address is usable.
  routes_->RemoveIf(RouteOrigin::kConnected, e.ifaddr.address());
  if (e.usable()) {
    routes_->Add(Ip4Route{e.ifaddr.network(), Ip4Address(), e.ifaddr.address(), 0,
                          RouteOrigin::kConnected, e.iface});
  }
}

uint16_t Ip4Engine::NextId(Ip4Address) { return id_counter_++; }

Result<Ip4RouteResult, IpSendError> Ip4Engine::Route(Ip4Address dst, Ip4Address src_hint,
                                                     int out_iface) const {
  Ip4RouteResult r;
  // The loopback network (RFC 1122 §3.2.1.3 (g), RFC 5735 §3: 127.0.0.0/8) is the
  // loopback interface's: a source there is ours for local destinations only (Linux: a
  // datagram from 127/8 never leaves the host), as is every destination in it.
  const bool local_dst = addresses_->IsOurs(dst) || dst.is_loopback();
  if (!src_hint.is_unspecified() && !addresses_->IsOurs(src_hint) &&
      !(src_hint.is_loopback() && local_dst)) {
    return Err{IpSendError::kNoSource};
  }
  auto first_usable = [&]() {
    for (const auto& e : addresses_->entries()) {
      if (e.usable()) return e.ifaddr.address();
    }
    return Ip4Address();
  };
  if (local_dst) {
    r.local = true;
    r.next_hop = dst;
    // Linux's local routes: to one of our addresses from that address; to any of
    // 127.0.0.0/8 from 127.0.0.1, the address its lo carries ("src 127.0.0.1").
    r.src = !src_hint.is_unspecified() ? src_hint
            : dst.is_loopback()        ? Ip4Address::Loopback()
                                       : dst;
    return r;
  }
  if (dst.is_limited_broadcast() || dst.is_multicast()) {
    // RFC 1122 §3.3.6 / RFC 1112: sent on the interface; a DHCP client without an
    // address sends from 0.0.0.0 (RFC 2131 §4.1).
    r.broadcast = dst.is_limited_broadcast();
    r.multicast = dst.is_multicast();
    r.next_hop = dst;
    if (out_iface > 0 && static_cast<size_t>(out_iface) < ports_.size()) {
      r.iface = static_cast<uint8_t>(out_iface);
      for (const auto& e : addresses_->entries()) {
        if (e.usable() && e.iface == r.iface && src_hint.is_unspecified()) {
          src_hint = e.ifaddr.address();
          break;
        }
      }
    }
    r.src = !src_hint.is_unspecified() ? src_hint : first_usable();
    return r;
  }
  auto route = routes_->Lookup(dst);
  if (!route || route->iface >= ports_.size()) return Err{IpSendError::kNoRoute};
  r.next_hop = route->on_link() ? dst : route->gateway;
  r.iface = route->iface;
  r.broadcast = addresses_->IsDirectedBroadcast(dst);
  if (!src_hint.is_unspecified()) {
    r.src = src_hint;
    return r;
  }
  // A connected route's own address is not a preference: as Linux uses the primary (first
  // configured) address of a subnet, the loop below picks the first matching address.
  if (route->origin != RouteOrigin::kConnected && !route->preferred_source.is_unspecified() &&
      addresses_->IsOurs(route->preferred_source)) {
    r.src = route->preferred_source;
    return r;
  }
  // RFC 1122 §3.3.4.3: prefer an address on the next hop's network.
  for (const auto& e : addresses_->entries()) {
    if (e.usable() && e.ifaddr.Contains(r.next_hop)) {
      r.src = e.ifaddr.address();
      return r;
    }
  }
  // Then, as Linux's inet_select_addr, an address of the interface it leaves by, then any.
  for (const auto& e : addresses_->entries()) {
    if (e.usable() && e.iface == r.iface) {
      r.src = e.ifaddr.address();
      return r;
    }
  }
  r.src = first_usable();
  if (r.src.is_unspecified()) return Err{IpSendError::kNoSource};
  return r;
}

Result<void, IpSendError> Ip4Engine::Send(const Ip4SendParams& params, PacketBuffer& packet,
                                           Instant now) {
  auto route = Route(params.dst, params.src, params.out_iface);
  if (!route.ok()) {
    counters_.Inc(route.error() == IpSendError::kNoRoute ? IpCounter::kTxDropNoRoute
                                                          : IpCounter::kTxDropNoSource);
    return Err{route.error()};
  }
  if (route->broadcast && !params.allow_broadcast) return Err{IpSendError::kBroadcastDenied};

  Ip4Header header;
  header.src = params.src.is_unspecified() ? route->src : params.src;
  header.dst = params.dst;
  header.protocol = params.protocol;
  header.ttl = params.ttl;
  header.dscp = static_cast<uint8_t>(params.tos >> 2);
  header.ecn = static_cast<uint8_t>(params.tos & 3);
  header.dont_fragment = params.dont_fragment;
  header.id = params.zero_id && params.dont_fragment ? uint16_t{0} : NextId(params.dst);
  // RFC 2113 §2.1: type 148, length 4, value 0 ("every router examines the packet").
  static constexpr uint8_t kRouterAlert[4] = {148, 4, 0, 0};
  if (params.router_alert) header.options = ByteSpan(kRouterAlert, sizeof(kRouterAlert));

  const size_t total = header.header_size() + packet.size();
  if (total > kIp4MaxDatagramSize) return Err{IpSendError::kTooBig};
  if (route->local) {
    loopback_.Push(header.header_size(), packet.data(),
                   [&](MutableByteSpan whole) { header.Emit(whole, packet.size()); });
    counters_.Inc(IpCounter::kTxPackets);
    return Ok();
  }
  const bool tso = params.protocol == IpProto::kTcp && params.dont_fragment &&
                   total <= tso_max_size();
  if (total > PortOf(*route).iface->mtu() && !tso) {
    if (params.dont_fragment) {
      counters_.Inc(IpCounter::kTxDropTooBig);
      return Err{IpSendError::kTooBig};
    }
    return Fragment(*route, header, packet.data(), now);
  }
  header.Emit(packet.Prepend(header.header_size()), packet.size());
  return Transmit(*route, packet, now);
}

Result<void, IpSendError> Ip4Engine::Fragment(const Ip4RouteResult& route,
                                               const Ip4Header& header, ByteSpan payload,
                                               Instant now) {
  // RFC 791 §3.2 "Fragmentation": every fragment but the last carries a multiple of 8
  // bytes; options are copied only when their copied flag is set — we send none.
  const size_t hlen = header.header_size();
  const uint32_t mtu = PortOf(route).iface->mtu();
  PacketBuffer buf(mtu + 64, 64);
  // A router may cut up a fragment again (a smaller MTU on the way out): its pieces keep
  // its place in the whole datagram, and all but a last fragment's last one say more follow.
  Ip4Header frag = header;
  const uint32_t base_offset = header.fragment_offset;
  const bool base_more = header.more_fragments;
  auto emit = [&](PacketBuffer& piece, size_t offset, bool more) {
    frag.fragment_offset = base_offset + static_cast<uint32_t>(offset);
    frag.more_fragments = more || base_more;
    const size_t len = piece.size();
    frag.Emit(piece.Prepend(hlen), len);
    counters_.Inc(IpCounter::kTxFragments);
  };
  return SendFragments(payload, ((mtu - hlen) / 8) * 8, buf, 64, emit,
                       [&](PacketBuffer& piece) { return Transmit(route, piece, now); });
}

Result<void, IpSendError> Ip4Engine::Transmit(const Ip4RouteResult& route, PacketBuffer& packet,
                                               Instant now) {
  Port& port = PortOf(route);
  if (route.broadcast) return port.link.SendTo(MacAddress::Broadcast(), packet);
  if (route.multicast) {
    return port.link.SendTo(MacAddress::FromIp4Multicast(route.next_hop), packet);
  }
  // RFC 1122 §2.3.2.2: the packet waits while the neighbour is resolved.
  return port.link.SendVia(port.arp->cache(), route.next_hop, packet, now);
}

void Ip4Engine::ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo& rx) {
  ports_[0]->ReceiveFrame(frame, now, rx);
}

void Ip4Engine::ReceiveDatagram(ByteSpan data, Instant now, bool from_loopback,
                                const RxFrameInfo& rx, uint8_t iface) {
  counters_.Inc(IpCounter::kRxPackets);
  const std::optional<Ip4View> parsed = ParseReceived<Ip4View>(data, log_ip4, "datagram");
  if (!parsed) return;
  const Ip4View& ip = *parsed;
  const Ip4Address src = ip.src();
  const Ip4Address dst = ip.dst();
  // RFC 1122 §3.2.1.3: a source that is one of our own addresses arrived from the wire
  // only through a loop or a spoofer; broadcast sources are refused by the parser.
  if (!from_loopback && addresses_->Find(src) != nullptr) {
    counters_.Inc(IpCounter::kRxDropBadSource);
    return;
  }
  Ip4PacketInfo info{src,   dst,   ip.protocol(), ip.ttl(), static_cast<uint8_t>(ip.dscp() << 2 | ip.ecn()),
                     false, false, ip.header(), ip.datagram()};
  info.iface = iface;
  if (dst.is_limited_broadcast() || addresses_->IsDirectedBroadcast(dst)) {
    info.to_broadcast = true;
  } else if (dst.is_multicast()) {
    if (!groups_.Contains(dst)) {
      counters_.Inc(IpCounter::kRxDropNotForUs);
      return;
    }
    info.to_multicast = true;
  } else if (!addresses_->IsOurs(dst) && !ports_[iface < ports_.size() ? iface : 0]->accept_any_unicast &&
             !from_loopback) {
    // A host does not forward (RFC 1122 §3.3.1.7 "silently discard"); a router does.
    if (config_.forwarding) {
      Forward(ip, rx, iface, now);
      return;
    }
    counters_.Inc(IpCounter::kRxDropNotForUs);
    return;
  }
  if (config_.drop_options && ip.header_size() > kIp4MinHeaderSize) {
    counters_.Inc(IpCounter::kRxDropOptions);
    return;
  }
  if (!ip.is_fragment()) {
    // A fragment's checksum covers the whole datagram (and no device leaves one partial):
    // only an unfragmented datagram can carry the link's word for it.
    info.l4_checksum_valid = rx.l4_checksum_valid;
    Deliver(info, ip.datagram(), ip.payload(), now);
    return;
  }
  counters_.Inc(IpCounter::kRxFragments);
  auto result = reassembler_.Add(FragKey{src, dst, ip.id(), static_cast<uint8_t>(ip.protocol())},
                                 ip.fragment_offset(), ip.more_fragments(), ip.payload(),
                                 ip.header(), now);
  if (result.outcome != ReassemblyOutcome::kComplete) {
    if (IsReassemblyFailure(result.outcome)) counters_.Inc(IpCounter::kRxReassemblyFailed);
    return;
  }
  counters_.Inc(IpCounter::kRxReassembled);
  // Rebuild a whole datagram (first fragment's header, fragment fields cleared) so that
  // ICMP errors about it and raw consumers see what the sender meant.
  std::vector<uint8_t> whole = result.Datagram();
  StoreBe16(whole.data() + 2, static_cast<uint16_t>(std::min<size_t>(whole.size(), 0xffff)));
  StoreBe16(whole.data() + 6, 0);  // no MF, offset 0
  info.header = ByteSpan(whole).first(result.first_header.size());
  info.datagram = ByteSpan(whole);
  Deliver(info, whole, ByteSpan(whole).subspan(result.first_header.size()), now);
}

void Ip4Engine::Deliver(const Ip4PacketInfo& info, ByteSpan datagram, ByteSpan payload,
                        Instant now) {
  Ip4Transport* t = transports_[static_cast<uint8_t>(info.protocol)];
  if (t == nullptr) {
    counters_.Inc(IpCounter::kRxDropUnknownProtocol);
    // RFC 1122 §3.2.2.1: protocol unreachable, but never about broadcasts/multicasts.
    if (errors_ != nullptr && !info.to_broadcast && !info.to_multicast) {
      errors_->SendUnreachable(info, datagram,
                               static_cast<uint8_t>(Icmp4UnreachableCode::kProtocol), now);
    }
    return;
  }
  counters_.Inc(IpCounter::kRxDelivered);
  t->Receive(info, payload, now);
}

void Ip4Engine::DeliverLoopback(Instant now) {
  loopback_.Drain([&](ByteSpan d) { ReceiveDatagram(d, now, /*from_loopback=*/true); });
}

void Ip4Engine::OnArpFailure(Ip4Address target, std::vector<ArpEngine::Packet> dropped,
                             Instant now) {
  // Report each packet that waited in vain to its transport as a local "host
  // unreachable", as Linux does (sockets then see EHOSTUNREACH).
  for (const auto& packet : dropped) {
    auto ip = Ip4View::Parse(packet, ChecksumPolicy::kSkip);
    if (!ip.ok()) continue;
    Ip4Transport* t = transports_[static_cast<uint8_t>(ip->protocol())];
    if (t == nullptr) continue;
    Ip4ErrorInfo err{static_cast<uint8_t>(Icmp4Type::kDestinationUnreachable),
                     static_cast<uint8_t>(Icmp4UnreachableCode::kHost),
                     target,
                     ip->src(),
                     ip->dst(),
                     ip->protocol(),
                     ip->payload(),
                     0,
                     EHOSTUNREACH,
                     true};
    t->ReceiveError(err, now);
  }
}

void Ip4Engine::Poll(Instant now) {
  pmtu_.Expire(now);
  reassembler_.Poll(now, [&](const FragKey&, std::span<const uint8_t> first_header,
                             std::span<const uint8_t> first_data) {
    counters_.Inc(IpCounter::kRxReassemblyTimeout);
    // RFC 792 / RFC 1122 §3.2.1.4: Time Exceeded (reassembly) when fragment zero came,
    // quoting its header and the first 64 bits of its data.
    if (errors_ != nullptr && !first_header.empty()) {
      errors_->SendTimeExceeded(ReassemblyTimeoutQuote(first_header, first_data), 1, now);
    }
  });
}

Instant Ip4Engine::NextDeadline() const {
  return EarliestOf(reassembler_.NextDeadline(), pmtu_.NextDeadline());
}

}  // namespace pytcp
