#include "stack/ip4/ip4_engine.h"

#include <cerrno>
#include <cstring>

#include "stack/base/log.h"
#include "stack/wire/icmp4.h"

namespace pytcp {
namespace {
LogChannel log_ip4("ip4");
constexpr Ip4Address kAllSystems(224, 0, 0, 1);
}  // namespace

int ToErrno(Ip4SendError e) {
  switch (e) {
    case Ip4SendError::kNoRoute: return ENETUNREACH;
    case Ip4SendError::kNoSource: return EADDRNOTAVAIL;
    case Ip4SendError::kTooBig: return EMSGSIZE;
    case Ip4SendError::kBroadcastDenied: return EACCES;
    case Ip4SendError::kLinkError: return ENOBUFS;
    case Ip4SendError::kHostUnreachable: return EHOSTUNREACH;
  }
  return EIO;
}

Ip4Engine::Ip4Engine(Interface* iface, ArpEngine* arp, Ip4AddressTable* addresses,
                     Ip4RoutingTable* routes, Random* random, Ip4Config config)
    : iface_(iface),
      arp_(arp),
      addresses_(addresses),
      routes_(routes),
      random_(random),
      config_(config),
      reassembler_(config.reassembly),
      pmtu_(config.pmtu_timeout),
      id_counter_(static_cast<uint16_t>(random->Next())) {
  arp_->set_failure_handler(
      [this](Ip4Address target, std::vector<ArpEngine::Packet> dropped, Instant now) {
        OnArpFailure(target, std::move(dropped), now);
      });
  addresses_->AddListener([this](const Ip4AddressEntry& e) { OnAddressChange(e); });
  JoinGroup(kAllSystems);  // RFC 1112 §7.2: every host is a member of 224.0.0.1
}

void Ip4Engine::JoinGroup(Ip4Address group) {
  for (auto& [g, refs] : groups_) {
    if (g == group) {
      ++refs;
      return;
    }
  }
  groups_.emplace_back(group, 1);
  iface_->JoinMulticast(MacAddress::FromIp4Multicast(group));
}

void Ip4Engine::LeaveGroup(Ip4Address group) {
  for (auto it = groups_.begin(); it != groups_.end(); ++it) {
    if (it->first == group) {
      if (--it->second == 0) {
        iface_->LeaveMulticast(MacAddress::FromIp4Multicast(group));
        groups_.erase(it);
      }
      return;
    }
  }
}

bool Ip4Engine::IsMemberOf(Ip4Address group) const {
  for (const auto& [g, refs] : groups_) {
    if (g == group) return true;
  }
  return false;
}

void Ip4Engine::OnAddressChange(const Ip4AddressEntry& e) {
  // The connected route of an address exists exactly while the address is usable.
  routes_->RemoveIf(RouteOrigin::kConnected, e.ifaddr.address());
  if (e.usable()) {
    routes_->Add(Ip4Route{e.ifaddr.network(), Ip4Address(), e.ifaddr.address(), 0,
                          RouteOrigin::kConnected});
  }
}

uint16_t Ip4Engine::NextId(Ip4Address) { return id_counter_++; }

Result<Ip4RouteResult, Ip4SendError> Ip4Engine::Route(Ip4Address dst, Ip4Address src_hint) const {
  Ip4RouteResult r;
  // The loopback network (RFC 1122 §3.2.1.3 (g), RFC 5735 §3: 127.0.0.0/8) is the
  // loopback interface's: a source there is ours for local destinations only (Linux: a
  // datagram from 127/8 never leaves the host), as is every destination in it.
  const bool local_dst = addresses_->IsOurs(dst) || dst.is_loopback();
  if (!src_hint.is_unspecified() && !addresses_->IsOurs(src_hint) &&
      !(src_hint.is_loopback() && local_dst)) {
    return Err{Ip4SendError::kNoSource};
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
    r.src = !src_hint.is_unspecified() ? src_hint : first_usable();
    return r;
  }
  auto route = routes_->Lookup(dst);
  if (!route) return Err{Ip4SendError::kNoRoute};
  r.next_hop = route->on_link() ? dst : route->gateway;
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
  r.src = first_usable();
  if (r.src.is_unspecified()) return Err{Ip4SendError::kNoSource};
  return r;
}

Result<bool, Ip4SendError> Ip4Engine::Send(const Ip4SendParams& params, PacketBuffer& packet,
                                           Instant now) {
  auto route = Route(params.dst, params.src);
  if (!route.ok()) {
    counters_.Inc(route.error() == Ip4SendError::kNoRoute ? Ip4Counter::kTxDropNoRoute
                                                          : Ip4Counter::kTxDropNoSource);
    return Err{route.error()};
  }
  if (route->broadcast && !params.allow_broadcast) return Err{Ip4SendError::kBroadcastDenied};

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
  if (total > kIp4MaxDatagramSize) return Err{Ip4SendError::kTooBig};
  if (route->local) {
    std::vector<uint8_t> datagram(total);
    header.Emit(datagram, packet.size());
    std::memcpy(datagram.data() + header.header_size(), packet.data().data(), packet.size());
    loopback_queue_.push_back(std::move(datagram));
    if (loopback_listener_) loopback_listener_();
    counters_.Inc(Ip4Counter::kTxPackets);
    return true;
  }
  const bool tso = params.protocol == IpProto::kTcp && params.dont_fragment &&
                   total <= tso_max_size();
  if (total > iface_->mtu() && !tso) {
    if (params.dont_fragment) {
      counters_.Inc(Ip4Counter::kTxDropTooBig);
      return Err{Ip4SendError::kTooBig};
    }
    return Fragment(*route, header, packet.data(), now);
  }
  header.Emit(packet.Prepend(header.header_size()), packet.size());
  return Transmit(*route, packet, now);
}

Result<bool, Ip4SendError> Ip4Engine::Fragment(const Ip4RouteResult& route,
                                               const Ip4Header& header, ByteSpan payload,
                                               Instant now) {
  // RFC 791 §3.2 "Fragmentation": every fragment but the last carries a multiple of 8
  // bytes; options are copied only when their copied flag is set — we send none.
  const size_t hlen = header.header_size();
  const size_t per_fragment = ((iface_->mtu() - hlen) / 8) * 8;
  PacketBuffer buf(iface_->mtu() + 64, 64);
  for (size_t off = 0; off < payload.size(); off += per_fragment) {
    const size_t len = std::min(per_fragment, payload.size() - off);
    Ip4Header frag = header;
    frag.fragment_offset = static_cast<uint32_t>(off);
    frag.more_fragments = off + len < payload.size();
    buf.Reset(64);
    buf.Append(payload.subspan(off, len));
    frag.Emit(buf.Prepend(hlen), len);
    counters_.Inc(Ip4Counter::kTxFragments);
    auto r = Transmit(route, buf, now);
    if (!r.ok()) return r;
  }
  return true;
}

Result<bool, Ip4SendError> Ip4Engine::Transmit(const Ip4RouteResult& route, PacketBuffer& packet,
                                               Instant now) {
  MacAddress mac;
  if (route.broadcast) {
    mac = MacAddress::Broadcast();
  } else if (route.multicast) {
    mac = MacAddress::FromIp4Multicast(route.next_hop);
  } else {
    switch (arp_->Resolve(route.next_hop, now, &mac, nullptr)) {
      case ArpEngine::ResolveResult::kResolved:
        break;
      case ArpEngine::ResolveResult::kQueued: {
        // RFC 1122 §2.3.2.2: keep the packet while the neighbour is resolved.
        ArpEngine::Packet copy(packet.data().begin(), packet.data().end());
        (void)arp_->Resolve(route.next_hop, now, &mac, &copy);
        counters_.Inc(Ip4Counter::kTxQueuedForArp);
        counters_.Inc(Ip4Counter::kTxPackets);
        return true;
      }
      case ArpEngine::ResolveResult::kDropped:
        counters_.Inc(Ip4Counter::kTxDropArpQueueFull);
        return Err{Ip4SendError::kLinkError};
    }
  }
  if (iface_->Send(mac, EtherType::kIp4, packet) != LinkStatus::kOk) {
    counters_.Inc(Ip4Counter::kTxDropLinkError);
    return Err{Ip4SendError::kLinkError};
  }
  counters_.Inc(Ip4Counter::kTxPackets);
  return true;
}

void Ip4Engine::ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo& rx) {
  ReceiveDatagram(frame.payload(), now, /*from_loopback=*/false, rx.l4_checksum_valid);
}

void Ip4Engine::ReceiveDatagram(ByteSpan data, Instant now, bool from_loopback,
                                bool l4_checksum_valid) {
  counters_.Inc(Ip4Counter::kRxPackets);
  auto parsed = Ip4View::Parse(data);
  if (!parsed.ok()) {
    counters_.Inc(IsIntegrityError(parsed.error()) ? Ip4Counter::kRxDropMalformed
                                                   : Ip4Counter::kRxDropInvalid);
    PYTCP_LOG(log_ip4, kDebug, "drop datagram: {}", ToString(parsed.error()));
    return;
  }
  const Ip4View& ip = *parsed;
  const Ip4Address src = ip.src();
  const Ip4Address dst = ip.dst();
  // RFC 1122 §3.2.1.3: a source that is one of our own addresses arrived from the wire
  // only through a loop or a spoofer; broadcast sources are refused by the parser.
  if (!from_loopback && addresses_->Find(src) != nullptr) {
    counters_.Inc(Ip4Counter::kRxDropBadSource);
    return;
  }
  Ip4PacketInfo info{src,   dst,   ip.protocol(), ip.ttl(), static_cast<uint8_t>(ip.dscp() << 2 | ip.ecn()),
                     false, false, ip.header(), ip.datagram()};
  if (dst.is_limited_broadcast() || addresses_->IsDirectedBroadcast(dst)) {
    info.to_broadcast = true;
  } else if (dst.is_multicast()) {
    bool joined = false;
    for (const auto& [g, refs] : groups_) joined = joined || g == dst;
    if (!joined) {
      counters_.Inc(Ip4Counter::kRxDropNotForUs);
      return;
    }
    info.to_multicast = true;
  } else if (!addresses_->IsOurs(dst) && !accept_any_unicast_ && !from_loopback) {
    // A host does not forward (RFC 1122 §3.3.1.7 "silently discard").
    counters_.Inc(Ip4Counter::kRxDropNotForUs);
    return;
  }
  if (config_.drop_options && ip.header_size() > kIp4MinHeaderSize) {
    counters_.Inc(Ip4Counter::kRxDropOptions);
    return;
  }
  if (!ip.is_fragment()) {
    // A fragment's checksum covers the whole datagram (and no device leaves one partial):
    // only an unfragmented datagram can carry the link's word for it.
    info.l4_checksum_valid = l4_checksum_valid;
    Deliver(info, ip.datagram(), ip.payload(), now);
    return;
  }
  counters_.Inc(Ip4Counter::kRxFragments);
  auto result = reassembler_.Add(FragKey{src, dst, ip.id(), static_cast<uint8_t>(ip.protocol())},
                                 ip.fragment_offset(), ip.more_fragments(), ip.payload(),
                                 ip.header(), now);
  switch (result.outcome) {
    case ReassemblyOutcome::kHeld:
    case ReassemblyOutcome::kDuplicate:
      return;
    case ReassemblyOutcome::kComplete:
      break;
    default:
      counters_.Inc(Ip4Counter::kRxReassemblyFailed);
      return;
  }
  counters_.Inc(Ip4Counter::kRxReassembled);
  // Rebuild a whole datagram (first fragment's header, fragment fields cleared) so that
  // ICMP errors about it and raw consumers see what the sender meant.
  std::vector<uint8_t> whole(result.first_header.size() + result.payload.size());
  std::memcpy(whole.data(), result.first_header.data(), result.first_header.size());
  std::memcpy(whole.data() + result.first_header.size(), result.payload.data(),
              result.payload.size());
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
    counters_.Inc(Ip4Counter::kRxDropUnknownProtocol);
    // RFC 1122 §3.2.2.1: protocol unreachable, but never about broadcasts/multicasts.
    if (errors_ != nullptr && !info.to_broadcast && !info.to_multicast) {
      errors_->SendUnreachable(info, datagram,
                               static_cast<uint8_t>(Icmp4UnreachableCode::kProtocol), now);
    }
    return;
  }
  counters_.Inc(Ip4Counter::kRxDelivered);
  t->ReceiveIp4(info, payload, now);
}

void Ip4Engine::DeliverLoopback(Instant now) {
  // Swap out first: delivery may queue more loopback packets (an echo reply to ourselves).
  std::vector<std::vector<uint8_t>> queue;
  queue.swap(loopback_queue_);
  for (auto& d : queue) ReceiveDatagram(d, now, /*from_loopback=*/true);
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
    t->ReceiveIp4Error(err, now);
  }
}

void Ip4Engine::Poll(Instant now) {
  pmtu_.Expire(now);
  reassembler_.Poll(now, [&](const FragKey&, std::span<const uint8_t> first_header,
                             std::span<const uint8_t> first_data) {
    counters_.Inc(Ip4Counter::kRxReassemblyTimeout);
    // RFC 792 / RFC 1122 §3.2.1.4: Time Exceeded (reassembly) when fragment zero came,
    // quoting its header and the first 64 bits of its data.
    if (errors_ != nullptr && !first_header.empty()) {
      std::vector<uint8_t> quote(first_header.begin(), first_header.end());
      quote.insert(quote.end(), first_data.begin(), first_data.end());
      errors_->SendTimeExceeded(quote, 1, now);
    }
  });
}

Instant Ip4Engine::NextDeadline() const {
  return EarliestOf(reassembler_.NextDeadline(), pmtu_.NextDeadline());
}

}  // namespace pytcp
