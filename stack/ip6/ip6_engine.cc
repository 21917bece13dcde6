#include "stack/ip6/ip6_engine.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/base/log.h"
#include "stack/frag/fragmenter.h"
#include "stack/ip6/ip6_address_policy.h"
#include "stack/nd/nd_engine.h"

namespace pytcp {
namespace {
LogChannel log_ip6("ip6");

// An on-link prefix of an address of ours, with the metric Linux gives it
// (IP6_RT_PRIO_ADDRCONF), below a static route's 1024 for the same prefix.
Ip6Route ConnectedRoute(const Ip6Network& net, uint8_t iface) {
  Ip6Route r{net, Ip6Address(), Ip6RouteOrigin::kConnected};
  r.metric = 256;
  r.iface = iface;
  return r;
}

const Ip6Network kLinkLocalNet = *Ip6Network::Parse("fe80::/64");
}  // namespace

Ip6Engine::Port::Port(Ip6Engine* owner, uint8_t position, Interface* on)
    : engine(owner),
      index(position),
      iface(on),
      link(on, EtherType::kIp6, &owner->counters_,
           {IpCounter::kTxPackets, IpCounter::kTxQueuedForNd, IpCounter::kTxDropNdQueueFull,
            IpCounter::kTxDropLinkError}) {
  if (position == 0) {
    groups = &owner->groups_;
  } else {
    own_groups = std::make_unique<IpGroups<Ip6Address>>(
        on, [](const Ip6Address& g) { return MacAddress::FromIp6Multicast(g); });
    groups = own_groups.get();
  }
}

void Ip6Engine::Port::ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo& rx) {
  engine->ReceivePacket(frame.payload(), now, /*from_loopback=*/false, rx, index);
}

Ip6Engine::Ip6Engine(Interface* iface, Ip6AddressTable* addresses, Ip6RoutingTable* routes,
                     Random* random, Ip6Config config)
    : IpEngineCommon(iface, [](const Ip6Address& g) { return MacAddress::FromIp6Multicast(g); },
                     config.pmtu_timeout),
      addresses_(addresses),
      routes_(routes),
      random_(random),
      config_(config),
      reassembler_(config.reassembly),
      hop_limit_(config.default_hop_limit) {
  addresses_->AddListener([this](const Ip6AddressEntry& e, Instant now) { OnAddressChange(e, now); });
  AddInterface(iface);
}

uint8_t Ip6Engine::AddInterface(Interface* iface, bool enabled) {
  const auto index = static_cast<uint8_t>(ports_.size());
  ports_.push_back(std::make_unique<Port>(this, index, iface));
  // RFC 4861 §5.1 / RFC 4291 §2.5.6: fe80::/64 is always on-link, on every interface.
  if (enabled) routes_->Add(ConnectedRoute(kLinkLocalNet, index));
  return index;
}

uint8_t Ip6Engine::InterfaceOfScope(uint32_t scope_id) const {
  if (scope_id == 0) return 0;
  for (const auto& p : ports_) {
    if (p->iface->scope_id() == scope_id) return p->index;
  }
  return 0;
}

uint32_t Ip6Engine::LinkMtuToward(const Ip6Address& dst) const {
  // TCP asks with every send: a stack on one interface answers without a route lookup.
  if (ports_.size() == 1) return link_mtu();
  const auto hop = NextHop(dst);
  return link_mtu(hop ? hop->iface : 0);
}

void Ip6Engine::JoinGroup(const Ip6Address& group, Instant now) {
  if (groups_.Join(group) && group_listener_) group_listener_(group, true, now);
}

void Ip6Engine::LeaveGroup(const Ip6Address& group, Instant now) {
  if (groups_.Leave(group) && group_listener_) group_listener_(group, false, now);
}

void Ip6Engine::JoinGroupOn(uint8_t iface, const Ip6Address& group, Instant now) {
  if (iface == 0) {
    JoinGroup(group, now);
  } else {
    ports_[iface]->groups->Join(group);
  }
}

void Ip6Engine::LeaveGroupOn(uint8_t iface, const Ip6Address& group, Instant now) {
  if (iface == 0) {
    LeaveGroup(group, now);
  } else {
    ports_[iface]->groups->Leave(group);
  }
}

std::vector<Ip6Address> Ip6Engine::groups() const { return groups_.List(); }

std::vector<Ip6Address> Ip6Engine::groups_on(uint8_t iface) const {
  return ports_[iface]->groups->List();
}

void Ip6Engine::OnAddressChange(const Ip6AddressEntry& e, Instant now) {
  // RFC 4862 §5.4.2: the solicited-node group is joined before DAD's first probe and kept
  // while the address exists; a duplicated address gives it up.
  const bool want = !e.removed && e.state != Ip6AddressState::kDuplicated;
  auto it = std::find_if(solicited_joined_.begin(), solicited_joined_.end(),
                         [&](const auto& j) { return j.first == e.address(); });
  const bool have = it != solicited_joined_.end();
  if (want && !have) {
    solicited_joined_.emplace_back(e.address(), e.iface);
    JoinGroupOn(e.iface, e.address().SolicitedNodeMulticast(), now);
  } else if (!want && have) {
    const uint8_t on = it->second;
    solicited_joined_.erase(it);
    LeaveGroupOn(on, e.address().SolicitedNodeMulticast(), now);
  }
  // A statically configured prefix is on-link while its address is usable (RFC 5942 §4:
  // the configured prefix length is what makes it so). SLAAC prefixes come from the L flag.
  if (e.source == Ip6AddressSource::kStatic && e.ifaddr.prefix_length() < 128) {
    const bool on = !e.removed && e.usable();
    const Ip6Network net = e.ifaddr.network();
    bool other = false;  // another static address on the same prefix keeps the route
    for (const auto& o : addresses_->entries()) {
      other = other || (o.address() != e.address() && o.source == Ip6AddressSource::kStatic &&
                        o.usable() && o.ifaddr.network() == net && o.iface == e.iface);
    }
    if (on) {
      routes_->Add(ConnectedRoute(net, e.iface));
    } else if (!other && net != kLinkLocalNet) {
      routes_->Remove(net, Ip6RouteOrigin::kConnected, e.iface);
    }
  }
}

std::optional<Ip6NextHop> Ip6Engine::NextHop(const Ip6Address& dst, uint8_t zone) const {
  if (auto it = redirects_.find(dst); it != redirects_.end()) return it->second;
  if (dst.is_link_local() || dst.is_multicast()) return Ip6NextHop{dst, zone};
  return routes_->NextHop(dst, [&](const Ip6NextHop& router) {
    const NdEngine* nd = router.iface < ports_.size() ? ports_[router.iface]->nd : nullptr;
    if (nd == nullptr) return true;
    const auto* n = nd->cache().Find(router.address);
    return n == nullptr || n->state != NeighbourState::kIncomplete;
  });
}

Ip6Address Ip6Engine::SelectSource(const Ip6Address& dst, uint8_t out_iface) const {
  // RFC 6724 §5: compare candidates pairwise by the rules that matter here: 1 (same
  // address), 2 (appropriate scope), 3 (avoid deprecated), 3 bis (RFC 4429 §3.3: an
  // optimistic address only after the preferred ones), 5 (prefer the outgoing
  // interface's), 6 (matching label), 8 (longest matching prefix).
  const Ip6AddressEntry* best = nullptr;
  auto better = [&](const Ip6AddressEntry& a, const Ip6AddressEntry& b) {  // a better than b?
    if (a.address() == dst) return true;  // rule 1
    if (b.address() == dst) return false;
    const int sa = AddressScope(a.address()), sb = AddressScope(b.address());
    const int sd = AddressScope(dst);
    if (sa != sb) return sa < sb ? sa >= sd : sb < sd;  // rule 2
    const bool da = a.state == Ip6AddressState::kDeprecated;
    const bool db = b.state == Ip6AddressState::kDeprecated;
    if (da != db) return db;  // rule 3
    const bool oa = a.state == Ip6AddressState::kOptimistic;
    const bool ob = b.state == Ip6AddressState::kOptimistic;
    if (oa != ob) return ob;
    const bool ia = a.iface == out_iface, ib = b.iface == out_iface;
    if (ia != ib) return ia;  // rule 5
    const bool la = PolicyLabel(a.address()) == PolicyLabel(dst);
    const bool lb = PolicyLabel(b.address()) == PolicyLabel(dst);
    if (la != lb) return la;  // rule 6
    return CommonPrefixLength(a.address(), dst) > CommonPrefixLength(b.address(), dst);  // 8
  };
  for (const auto& e : addresses_->entries()) {
    if (!e.usable()) continue;
    // A link-local destination is only reachable from a link-local source (RFC 4291 §2.5.6).
    // And only from the link it is on (RFC 4007 §6: a zone's addresses stay in it).
    if ((dst.is_link_local() || (dst.is_multicast() && AddressScope(dst) <= 2)) &&
        (!e.address().is_link_local() || e.iface != out_iface)) {
      continue;
    }
    if (best == nullptr || better(e, *best)) best = &e;
  }
  return best != nullptr ? best->address() : Ip6Address();
}

Ip6Address Ip6Engine::SourceToward(const Ip6Address& dst) const {
  if (ports_.size() == 1) return SelectSource(dst);
  const auto hop = NextHop(dst);
  return SelectSource(dst, hop ? hop->iface : 0);
}

Result<Ip6RouteResult, IpSendError> Ip6Engine::Route(const Ip6Address& dst,
                                                      const Ip6Address& src_hint,
                                                      uint32_t scope_id, int out_iface) const {
  if (disabled_) return Err{IpSendError::kDisabled};
  Ip6RouteResult r;
  // ::1 (RFC 4291 §2.5.3) belongs to the loopback interface: a source for local
  // destinations only ("must never be sent outside a single node").
  const bool local_dst = addresses_->IsOurs(dst) || dst.is_loopback();
  if (!src_hint.is_unspecified() && !addresses_->IsOurs(src_hint) &&
      !(src_hint.is_loopback() && local_dst)) {
    return Err{IpSendError::kNoSource};
  }
  if (local_dst) {
    r.local = true;
    r.next_hop = dst;
    r.src = !src_hint.is_unspecified() ? src_hint : dst;
    return r;
  }
  const uint8_t zone = out_iface >= 0 && static_cast<size_t>(out_iface) < ports_.size()
                           ? static_cast<uint8_t>(out_iface)
                           : InterfaceOfScope(scope_id);
  if (dst.is_multicast()) {
    r.multicast = true;
    r.next_hop = dst;
    r.iface = zone;
  } else {
    auto hop = NextHop(dst, zone);
    if (!hop) return Err{IpSendError::kNoRoute};
    r.next_hop = hop->address;
    r.iface = hop->iface;
  }
  r.src = !src_hint.is_unspecified() ? src_hint : SelectSource(dst, r.iface);
  return r;
}

uint32_t Ip6Engine::PathMtu(const Ip6Address& dst) const {
  return pmtu_.Get(dst, LinkMtuToward(dst));
}

void Ip6Engine::UpdatePathMtu(const Ip6Address& dst, uint32_t mtu, Instant now) {
  // RFC 8201 §4: never below the IPv6 minimum link MTU (RFC 8021: no atomic fragments
  // instead), never raised by a Packet Too Big, aged out after pmtu_timeout.
  mtu = std::max<uint32_t>(mtu, kIp6MinMtu);
  if (!pmtu_.Lower(dst, mtu, LinkMtuToward(dst), now)) return;
  counters_.Inc(IpCounter::kPmtuUpdates);
  PYTCP_LOG(log_ip6, kDebug, "path MTU to {} is now {}", dst, mtu);
}

Result<void, IpSendError> Ip6Engine::Send(const Ip6SendParams& params, PacketBuffer& packet,
                                           Instant now) {
  if (disabled_) return Err{IpSendError::kDisabled};
  auto route = Route(params.dst, params.src, params.scope_id, params.out_iface);
  if (!route.ok()) {
    counters_.Inc(route.error() == IpSendError::kNoRoute ? IpCounter::kTxDropNoRoute
                                                          : IpCounter::kTxDropNoSource);
    return Err{route.error()};
  }
  if (params.force_unspecified_source) route->src = Ip6Address();
  if (route->src.is_unspecified() && !params.allow_unspecified_source &&
      !params.force_unspecified_source) {
    counters_.Inc(IpCounter::kTxDropNoSource);
    return Err{IpSendError::kNoSource};
  }
  Ip6Header header;
  header.src = route->src;
  header.dst = params.dst;
  header.next_header = static_cast<Ip6NextHeader>(params.next_header);
  header.hop_limit = params.hop_limit != 0 ? params.hop_limit : hop_limit_;
  header.dscp = static_cast<uint8_t>(params.traffic_class >> 2);
  header.ecn = static_cast<uint8_t>(params.traffic_class & 3);
  if (params.router_alert) {
    Ip6RouterAlertHopByHop hbh;
    hbh.next_header = header.next_header;
    hbh.Emit(packet.Prepend(hbh.size()));
    header.next_header = Ip6NextHeader::kHopByHop;
  }
  if (packet.size() > kIp6MaxPayloadSize) return Err{IpSendError::kTooBig};
  if (route->local) {
    loopback_.Push(kIp6HeaderSize, packet.data(),
                   [&](MutableByteSpan whole) { header.Emit(whole, packet.size()); });
    counters_.Inc(IpCounter::kTxPackets);
    return Ok();
  }
  const uint32_t mtu = pmtu_.Get(params.dst, link_mtu(route->iface));  // the route's link
  // TCP segmentation offload (stack/link/virtio_net.h): a TCP segment larger than the path
  // MTU that the device will cut into path-MTU packets passes whole. TCP makes one only
  // when its MSS is the path's own (TcpConnection::TsoPayload), so each piece fits.
  const bool tso = header.next_header == Ip6NextHeader::kTcp && params.dont_fragment &&
                   packet.size() <= tso_max_size();
  if (kIp6HeaderSize + packet.size() > mtu && !tso) {
    if (params.dont_fragment || params.router_alert) {
      counters_.Inc(IpCounter::kTxDropTooBig);
      return Err{IpSendError::kTooBig};
    }
    return Fragment(*route, header, packet.data(), mtu, now);
  }
  header.Emit(packet.Prepend(kIp6HeaderSize), packet.size());
  return Transmit(*route, packet, now);
}

Result<void, IpSendError> Ip6Engine::Fragment(const Ip6RouteResult& route,
                                               const Ip6Header& header, ByteSpan payload,
                                               uint32_t mtu, Instant now) {
  // RFC 8200 §4.5: the fragmentable part (everything after the fixed header here) is cut
  // into pieces of a multiple of 8 bytes, each behind a copy of the fixed header and a
  // Fragment header with one identification (RFC 7739: unpredictable).
  const size_t per_fragment = ((mtu - kIp6HeaderSize - Ip6FragmentHeader::size()) / 8) * 8;
  Ip6FragmentHeader frag;
  frag.next_header = header.next_header;
  frag.identification = static_cast<uint32_t>(random_->Next());
  Ip6Header fh = header;
  fh.next_header = Ip6NextHeader::kFragment;
  PacketBuffer buf(mtu + 64, 128);
  auto emit = [&](PacketBuffer& piece, size_t offset, bool more) {
    frag.fragment_offset = static_cast<uint32_t>(offset);
    frag.more_fragments = more;
    frag.Emit(piece.Prepend(Ip6FragmentHeader::size()));
    const size_t fragmentable = piece.size();
    fh.Emit(piece.Prepend(kIp6HeaderSize), fragmentable);
    counters_.Inc(IpCounter::kTxFragments);
  };
  return SendFragments(payload, per_fragment, buf, 128, emit,
                       [&](PacketBuffer& piece) { return Transmit(route, piece, now); });
}

Result<void, IpSendError> Ip6Engine::Transmit(const Ip6RouteResult& route, PacketBuffer& packet,
                                               Instant now) {
  Port& port = *ports_[route.iface < ports_.size() ? route.iface : 0];
  // RFC 2464 §7: a group's MAC is known at once.
  if (route.multicast) return port.link.SendTo(MacAddress::FromIp6Multicast(route.next_hop), packet);
  if (port.nd == nullptr) return Err{IpSendError::kHostUnreachable};
  // RFC 4861 §7.2.2: the packet waits while the neighbour is resolved.
  return port.link.SendVia(port.nd->cache(), route.next_hop, packet, now);
}

void Ip6Engine::ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo& rx) {
  ports_[0]->ReceiveFrame(frame, now, rx);
}

void Ip6Engine::SendError(const Icmp6Header& h, const Ip6View& ip, bool to_multicast,
                          bool allow_multicast, Instant now) {
  if (errors_ != nullptr) errors_->SendError(h, ip.packet(), to_multicast, allow_multicast, now);
}

void Ip6Engine::ReceivePacket(ByteSpan data, Instant now, bool from_loopback,
                              const RxFrameInfo& rx, uint8_t iface) {
  counters_.Inc(IpCounter::kRxPackets);
  if (disabled_) {
    counters_.Inc(IpCounter::kRxDropDisabled);
    return;
  }
  const std::optional<Ip6View> parsed = ParseReceived<Ip6View>(data, log_ip6, "packet");
  if (!parsed) return;
  const Ip6View& ip = *parsed;
  Ip6PacketInfo info;
  info.src = ip.src();
  info.dst = ip.dst();
  info.hop_limit = ip.hop_limit();
  info.traffic_class = ip.traffic_class();
  info.packet = ip.packet();
  // Fragments are reassembled into a new buffer and come back through here without it.
  info.l4_checksum_valid = rx.l4_checksum_valid;
  info.iface = iface < ports_.size() ? iface : 0;
  // Our own address as the source arrived only through a loop or a spoofer. (DAD probes
  // come from ::, RFC 4862 §5.4.2.)
  if (!from_loopback && addresses_->IsOurs(info.src)) {
    counters_.Inc(IpCounter::kRxDropBadSource);
    return;
  }
  if (info.dst.is_multicast()) {
    if (!ports_[info.iface]->groups->Contains(info.dst) &&
        info.dst != Ip6Address::AllNodesMulticast()) {
      counters_.Inc(IpCounter::kRxDropNotForUs);
      return;
    }
    info.to_multicast = true;
  } else if (!from_loopback) {
    const Ip6AddressEntry* e = addresses_->Find(info.dst);
    if (e == nullptr || e->state == Ip6AddressState::kDuplicated) {
      // A host does not forward (RFC 8200 §1, RFC 4294 / RFC 8504); a router does.
      if (config_.forwarding && e == nullptr) {
        Forward(ip, rx, info.iface, now);
        return;
      }
      counters_.Inc(IpCounter::kRxDropNotForUs);
      return;
    }
    info.dst_tentative = e->state == Ip6AddressState::kTentative;
  }
  auto chain = Ip6ExtChain::Parse(ip);
  if (!chain.ok()) {
    const Ip6ExtError err = chain.error();
    CountUnparsed(err.reason);
    // RFC 8200 §4 and §4.5: Parameter Problem pointing at the offending field.
    SendError(Icmp6Header::ParameterProblem(static_cast<Icmp6ParamProblemCode>(err.icmp_code()),
                                            err.pointer),
              ip, info.to_multicast, false, now);
    return;
  }
  if (!ProcessChain(*chain, ip, info, now)) return;
  if (auto frag = chain->fragment()) {
    if (!frag->is_atomic()) {
      Reassemble(ip, *chain, from_loopback, info.iface, now);
      return;
    }
    // RFC 6946 §4: an atomic fragment is processed on its own, outside any reassembly.
    counters_.Inc(IpCounter::kRxAtomicFragments);
    auto rest = chain->ParseAfterFragment();
    if (!rest.ok()) {
      counters_.Inc(IpCounter::kRxDropInvalid);
      SendError(Icmp6Header::ParameterProblem(
                    static_cast<Icmp6ParamProblemCode>(rest.error().icmp_code()), rest.error().pointer),
                ip, info.to_multicast, false, now);
      return;
    }
    if (!ProcessChain(*rest, ip, info, now)) return;
    Deliver(info, *rest, now);
    return;
  }
  Deliver(info, *chain, now);
}

bool Ip6Engine::ProcessChain(const Ip6ExtChain& chain, const Ip6View& ip, Ip6PacketInfo& info,
                             Instant now) {
  for (const Ip6ExtHeader h : chain) {
    if (h.is_options()) {
      const bool hbh = h.type() == Ip6NextHeader::kHopByHop;
      for (const Ip6Option opt : h.as_options().options()) {
        if (opt.is_padding()) continue;
        if (hbh && opt.option_type() == Ip6OptionType::kRouterAlert) {
          info.router_alert = true;
          continue;
        }
        // RFC 8200 §4.2: an unrecognized option is handled by its two high-order bits.
        switch (opt.action()) {
          case Ip6OptionAction::kSkip:
            continue;
          case Ip6OptionAction::kDiscard:
            break;
          case Ip6OptionAction::kDiscardSendIcmp:
            SendError(Icmp6Header::ParameterProblem(Icmp6ParamProblemCode::kOption, opt.pointer),
                      ip, info.to_multicast, /*allow_multicast=*/true, now);
            break;
          case Ip6OptionAction::kDiscardSendIcmpUnlessMulticast:
            SendError(Icmp6Header::ParameterProblem(Icmp6ParamProblemCode::kOption, opt.pointer),
                      ip, info.to_multicast, false, now);
            break;
        }
        counters_.Inc(IpCounter::kRxDropOption);
        return false;
      }
    } else if (h.type() == Ip6NextHeader::kRouting) {
      const Ip6RoutingView rh = h.as_routing();
      // RFC 8200 §4.4: with no segments left the header is ignored. Otherwise a host is
      // not a waypoint of any type we know (RFC 5095 §3 forbids processing type 0):
      // Parameter Problem code 0 at the Routing Type field.
      if (rh.segments_left() == 0) continue;
      counters_.Inc(IpCounter::kRxDropRoutingHeader);
      SendError(Icmp6Header::ParameterProblem(Icmp6ParamProblemCode::kHeaderField,
                                              rh.routing_type_pointer()),
                ip, info.to_multicast, false, now);
      return false;
    }
  }
  return true;
}

void Ip6Engine::Reassemble(const Ip6View& ip, const Ip6ExtChain& chain, bool from_loopback,
                           uint8_t iface, Instant now) {
  counters_.Inc(IpCounter::kRxFragments);
  const Ip6FragmentView frag = *chain.fragment();
  // The unfragmentable part (fixed header and the headers before the Fragment header) is
  // kept from the first fragment with its last Next Header field pointing past the
  // Fragment header, so that the reassembled packet reads as if never fragmented.
  const size_t unfrag = frag.pointer();
  uint32_t nh_field = 6;
  for (const Ip6ExtHeader h : chain) {
    if (h.type() == Ip6NextHeader::kFragment) break;
    nh_field = h.pointer();
  }
  std::vector<uint8_t> header(ip.packet().begin(), ip.packet().begin() + static_cast<long>(unfrag));
  header[nh_field] = static_cast<uint8_t>(frag.next_header());
  auto result = reassembler_.Add(FragKey{ip.src(), ip.dst(), frag.identification()},
                                 frag.fragment_offset(), frag.more_fragments(),
                                 chain.upper_payload(), header, now);
  if (result.outcome != ReassemblyOutcome::kComplete) {
    // RFC 5722 §4: an overlap discards the whole datagram, silently.
    if (IsReassemblyFailure(result.outcome)) counters_.Inc(IpCounter::kRxReassemblyFailed);
    return;
  }
  counters_.Inc(IpCounter::kRxReassembled);
  std::vector<uint8_t> whole = result.Datagram();
  if (whole.size() - kIp6HeaderSize > kIp6MaxPayloadSize || result.first_header.size() < kIp6HeaderSize) {
    counters_.Inc(IpCounter::kRxReassemblyFailed);
    return;
  }
  StoreBe16(whole.data() + 4, static_cast<uint16_t>(whole.size() - kIp6HeaderSize));
  ReceivePacket(whole, now, from_loopback, {}, iface);
}

void Ip6Engine::Deliver(const Ip6PacketInfo& in, const Ip6ExtChain& chain, Instant now) {
  Ip6PacketInfo info = in;
  info.next_header = static_cast<uint8_t>(chain.upper_protocol());
  if (chain.upper_protocol() == Ip6NextHeader::kNoNextHeader) return;  // RFC 8200 §4.7
  // RFC 4862 §5.4: only Neighbour Discovery may use a tentative address.
  if (info.dst_tentative && chain.upper_protocol() != Ip6NextHeader::kIcmp6) {
    counters_.Inc(IpCounter::kRxDropTentative);
    return;
  }
  Ip6Transport* t = transports_[info.next_header];
  if (t == nullptr) {
    counters_.Inc(IpCounter::kRxDropUnknownProtocol);
    // RFC 8200 §4: an unrecognized Next Header: Parameter Problem code 1 at its field.
    auto ip = Ip6View::Parse(info.packet);
    if (ip.ok()) {
      SendError(Icmp6Header::ParameterProblem(Icmp6ParamProblemCode::kNextHeader,
                                              chain.upper_next_header_pointer()),
                *ip, info.to_multicast, false, now);
    }
    return;
  }
  counters_.Inc(IpCounter::kRxDelivered);
  t->Receive(info, chain.upper_payload(), now);
}

void Ip6Engine::DeliverLoopback(Instant now) {
  loopback_.Drain([&](ByteSpan p) { ReceivePacket(p, now, /*from_loopback=*/true); });
}

void Ip6Engine::OnResolutionFailed(const Ip6Address& target,
                                   const std::vector<std::vector<uint8_t>>& dropped, Instant now) {
  // As Linux does, each waiting packet is reported to its transport as a local "address
  // unreachable" (RFC 4861 §7.3.3): sockets see EHOSTUNREACH.
  for (const auto& packet : dropped) {
    auto ip = Ip6View::Parse(packet);
    if (!ip.ok()) continue;
    auto chain = Ip6ExtChain::Parse(*ip);
    if (!chain.ok()) continue;
    Ip6NextHeader proto = chain->upper_protocol();
    ByteSpan l4 = chain->upper_payload();
    if (auto f = chain->fragment()) {
      if (f->fragment_offset() != 0) continue;
      proto = f->next_header();
    }
    Ip6Transport* t = transports_[static_cast<uint8_t>(proto)];
    if (t == nullptr) continue;
    Ip6ErrorInfo err;
    err.icmp_type = static_cast<uint8_t>(Icmp6Type::kDestinationUnreachable);
    err.icmp_code = static_cast<uint8_t>(Icmp6UnreachableCode::kAddress);
    err.reporter = target;
    err.orig_src = ip->src();
    err.orig_dst = ip->dst();
    err.protocol = static_cast<IpProto>(proto);
    err.orig_l4 = l4;
    err.error = EHOSTUNREACH;
    err.local = true;
    t->ReceiveError(err, now);
  }
}

void Ip6Engine::Poll(Instant now) {
  reassembler_.Poll(now, [&](const FragKey&, std::span<const uint8_t> first_header,
                             std::span<const uint8_t> first_data) {
    counters_.Inc(IpCounter::kRxReassemblyTimeout);
    // RFC 8200 §4.5: Time Exceeded code 1 when the first fragment had come.
    if (errors_ != nullptr && first_header.size() >= kIp6HeaderSize) {
      const std::vector<uint8_t> quote = ReassemblyTimeoutQuote(first_header, first_data);
      const bool mcast = Ip6Address::FromBytes(quote.data() + 24).is_multicast();
      errors_->SendError(Icmp6Header::TimeExceeded(Icmp6TimeExceededCode::kReassembly), quote,
                         mcast, false, now);
    }
  });
  pmtu_.Expire(now);
  routes_->Poll(now);
  addresses_->Poll(now);
}

Instant Ip6Engine::NextDeadline() const {
  Instant next = EarliestOf(reassembler_.NextDeadline(), routes_->NextDeadline());
  next = EarliestOf(next, addresses_->NextDeadline());
  next = EarliestOf(next, pmtu_.NextDeadline());
  return next;
}

}  // namespace pytcp
