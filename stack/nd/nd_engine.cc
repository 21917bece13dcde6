#include "stack/nd/nd_engine.h"

#include <algorithm>
#include <cstring>

#include "stack/base/log.h"
#include "stack/base/siphash.h"
#include "stack/ip6/ip6_message_send.h"

namespace pytcp {
namespace {
LogChannel log_nd("nd");


Instant LifetimeEnd(Instant now, uint32_t seconds) {
  if (seconds == kNdInfiniteLifetime) return Instant::Infinite();
  return now + std::chrono::seconds(seconds);
}
}  // namespace

NdEngine::NdEngine(Ip6Engine* ip6, Random* random, NdConfig config, uint8_t iface)
    : ip6_(ip6),
      index_(iface),
      iface_(&ip6->interface(iface)),
      random_(random),
      config_(config),
      cache_(config.cache, this) {
  ip6_->set_nd(this, index_);
}

Ip6Address::InterfaceId NdEngine::InterfaceIdFor(const Ip6Address& prefix, int dad_counter) const {
  if (!config_.stable_secret) return iface_->mac().Eui64InterfaceId();
  // RFC 7217 §5: RID = F(Prefix, Net_Iface, Network_ID, DAD_Counter, secret_key), F a
  // keyed PRF (SipHash-2-4 here); Network_ID is not used.
  uint8_t buf[8 + 64 + 1];
  size_t n = 0;
  std::memcpy(buf, prefix.bytes().data(), 8);
  n = 8;
  const std::string_view name = iface_->name();
  const size_t name_len = std::min<size_t>(name.size(), 64);
  std::memcpy(buf + n, name.data(), name_len);
  n += name_len;
  buf[n++] = static_cast<uint8_t>(dad_counter);
  const auto& s = *config_.stable_secret;
  const uint64_t rid = SipHash24(LoadBe64(s.data()), LoadBe64(s.data() + 8), ByteSpan(buf, n));
  Ip6Address::InterfaceId iid;
  StoreBe64(iid.data(), rid);
  return iid;
}

void NdEngine::RandomizeReachableTime(Instant now) {
  // RFC 4861 §6.3.2: ReachableTime is BaseReachableTime times a random factor between
  // MIN_RANDOM_FACTOR (0.5) and MAX_RANDOM_FACTOR (1.5), so that neighbours' probes do not
  // synchronise; §6.3.4: drawn again at least every few hours.
  const double factor = 0.5 + static_cast<double>(random_->Below(1001)) / 1000.0;
  cache_.set_reachable_time(std::chrono::duration_cast<Duration>(base_reachable_time_ * factor));
  reachable_redraw_at_ = now + kReachableTimeRedrawInterval;
}

void NdEngine::Start(Instant now) {
  RandomizeReachableTime(now);
  // RFC 4862 §5.3: the link-local address, fe80::/64 and the interface id.
  const Ip6Address ll_prefix = *Ip6Address::Parse("fe80::");
  const Ip6Address ll = Ip6Address::FromPrefixAndInterfaceId(ll_prefix, InterfaceIdFor(ll_prefix, 0));
  AddAddress(*Ip6Interface::Create(ll, 64), Ip6AddressSource::kLinkLocal, now);
  if (config_.advertise) {
    // RFC 4861 §6.2.2: an advertising interface joins all-routers (solicitations come
    // there); the first advertisement goes out soon, as the initial ones of §6.2.4.
    ip6_->JoinGroupOn(index_, Ip6Address::AllRoutersMulticast(), now);
    ra_next_ = now + Duration(random_->Below(static_cast<uint64_t>(Duration(std::chrono::seconds(1)).count()) + 1));
  }
  if (config_.send_rs && !config_.advertise) {
    // RFC 4861 §6.3.7: the first solicitation after a random delay of up to
    // MAX_RTR_SOLICITATION_DELAY.
    rs_next_ = now + Duration(random_->Below(
                         static_cast<uint64_t>(config_.max_rtr_solicitation_delay.count()) + 1));
    rs_interval_ = config_.rtr_solicitation_interval;
  }
}

void NdEngine::AddAddress(const Ip6Interface& ifaddr, Ip6AddressSource source, Instant now,
                          Instant preferred_until, Instant valid_until) {
  Ip6AddressEntry e;
  e.ifaddr = ifaddr;
  e.source = source;
  e.preferred_until = preferred_until;
  e.valid_until = valid_until;
  e.iface = index_;
  if (config_.dad_transmits <= 0) {
    e.state = Ip6AddressState::kPreferred;
    ip6_->addresses().Add(e, now);
    return;
  }
  // RFC 4429 §3.1: optimistic DAD for autoconfigured addresses, not for manual ones.
  e.state = (config_.optimistic_dad && source != Ip6AddressSource::kStatic)
                ? Ip6AddressState::kOptimistic
                : Ip6AddressState::kTentative;
  ip6_->addresses().Add(e, now);
  StartDad(ifaddr.address(), 0, Ip6Network::Mask(ifaddr.address(), 64), now);
}

void NdEngine::StartDad(const Ip6Address& address, int dad_counter, const Ip6Address& prefix,
                        Instant now) {
  std::erase_if(dad_, [&](const Dad& d) { return d.address == address; });
  // RFC 4862 §5.4.2: the first probe after a random delay of up to
  // MAX_RTR_SOLICITATION_DELAY, so that nodes powered on together do not collide.
  const Duration delay(random_->Below(
      static_cast<uint64_t>(config_.max_rtr_solicitation_delay.count()) + 1));
  dad_.push_back(Dad{address, config_.dad_transmits, now + delay, dad_counter, prefix});
}

void NdEngine::DadFailed(const Ip6Address& address, Instant now) {
  auto it = std::find_if(dad_.begin(), dad_.end(), [&](const Dad& d) { return d.address == address; });
  if (it == dad_.end()) return;
  const Dad dad = *it;
  dad_.erase(it);
  counters_.Inc(NdCounter::kDadFailed);
  PYTCP_LOG(log_nd, kWarn, "duplicate address detected: {}", address);
  const Ip6AddressEntry* e = ip6_->addresses().Find(address);
  if (e == nullptr) return;
  const Ip6AddressEntry entry = *e;
  // RFC 4862 §5.4.5: the address is not used.
  ip6_->addresses().SetState(address, Ip6AddressState::kDuplicated, now);
  if (on_conflict_) on_conflict_(address);
  if (entry.source == Ip6AddressSource::kLinkLocal && !config_.stable_secret && index_ == 0) {
    // §5.4.5: a duplicated link-local address made from the hardware address (EUI-64)
    // means another node has our MAC: IPv6 on the interface SHOULD be disabled.
    counters_.Inc(NdCounter::kIp6Disabled);
    PYTCP_LOG(log_nd, kError, "link-local address {} from our MAC is duplicated: IPv6 disabled on the "
              "interface (RFC 4862 5.4.5); another node has MAC {}?", address, iface_->mac());
    ip6_->Disable();
    dad_.clear();
    rs_next_ = Instant::Infinite();
    rs_done_ = true;
    return;
  }
  // RFC 7217 §6: a stable-privacy address is regenerated with the next DAD counter, up to
  // IDGEN_RETRIES (3) times.
  if (config_.stable_secret && entry.source == Ip6AddressSource::kSlaac && dad.dad_counter < 3) {
    ip6_->addresses().Remove(address, now);
    const Ip6Address next = Ip6Address::FromPrefixAndInterfaceId(
        dad.prefix, InterfaceIdFor(dad.prefix, dad.dad_counter + 1));
    Ip6AddressEntry n = entry;
    n.ifaddr = *Ip6Interface::Create(next, entry.ifaddr.prefix_length());
    n.state = config_.optimistic_dad ? Ip6AddressState::kOptimistic : Ip6AddressState::kTentative;
    ip6_->addresses().Add(n, now);
    StartDad(next, dad.dad_counter + 1, dad.prefix, now);
  }
}

template <typename Message>
bool NdEngine::SendNd(const Message& m, const Ip6Address& src, const Ip6Address& dst, Instant now) {
  Ip6SendParams p;
  p.src = src;
  p.dst = dst;
  p.hop_limit = kNdHopLimit;
  p.force_unspecified_source = src.is_unspecified();
  p.out_iface = index_;  // on this link, whatever a route would say
  return SendIcmp6Message(*ip6_, m, p, now);
}

void NdEngine::SendNs(const Ip6Address& src, const Ip6Address& dst, const Ip6Address& target,
                      bool with_slla, Instant now) {
  NdNeighborSolicitMessage m;
  m.target = target;
  // RFC 4861 §4.3: never a source link-layer option from the unspecified address.
  if (with_slla && !src.is_unspecified()) m.source_lla = iface_->mac();
  if (SendNd(m, src, dst, now)) counters_.Inc(NdCounter::kTxNs);
}

void NdEngine::SendNa(const Ip6Address& dst, const Ip6Address& target, bool solicited,
                      bool override_flag, Instant now) {
  NdNeighborAdvertMessage m;
  m.target = target;
  m.solicited = solicited;
  m.override_flag = override_flag;
  m.router = config_.router;
  m.target_lla = iface_->mac();
  // RFC 4861 §7.2.4: from the target, an address assigned to the interface.
  if (SendNd(m, target, dst, now)) counters_.Inc(NdCounter::kTxNa);
}

void NdEngine::SendRedirect(const Ip6Address& to, const Ip6Address& target,
                            const Ip6Address& destination, ByteSpan packet, Instant now) {
  // §8.2: from our link-local address (the one hosts know their router by), hop limit 255,
  // the target's link-layer address when we know it, and as much of the packet as fits.
  const Ip6Address src = ip6_->addresses().LinkLocal(index_);
  if (src.is_unspecified()) return;
  NdRedirectMessage m;
  m.target = target;
  m.destination = destination;
  if (const auto* n = cache_.Find(target); n != nullptr && n->state != NeighbourState::kIncomplete) {
    m.target_lla = n->mac;
  }
  m.redirected_packet = packet;
  if (SendNd(m, src, to, now)) counters_.Inc(NdCounter::kTxRedirect);
}

void NdEngine::SendRs(Instant now) {
  // RFC 4861 §6.3.7: from a link-local address if we have one (RFC 4429 §3.2: from an
  // optimistic one only without the source link-layer option), else from ::.
  Ip6Address src;
  bool optimistic = false;
  for (const auto& e : ip6_->addresses().entries()) {
    if (e.iface == index_ && e.address().is_link_local() && e.usable()) {
      src = e.address();
      optimistic = e.state == Ip6AddressState::kOptimistic;
      break;
    }
  }
  NdRouterSolicitMessage m;
  if (!src.is_unspecified() && !optimistic) m.source_lla = iface_->mac();
  if (SendNd(m, src, Ip6Address::AllRoutersMulticast(), now)) counters_.Inc(NdCounter::kTxRs);
}

void NdEngine::SendSolicitation(const Ip6Address& target, std::optional<MacAddress> unicast_mac,
                                Instant now) {
  // RFC 4861 §7.2.2: multicast to the solicited-node group while INCOMPLETE, unicast to the
  // cached address when probing (§7.3.3).
  const Ip6Address dst = unicast_mac ? target : target.SolicitedNodeMulticast();
  const Ip6Address src = ip6_->SelectSource(target, index_);
  if (src.is_unspecified()) return;
  SendNs(src, dst, target, /*with_slla=*/true, now);
}

void NdEngine::TransmitQueued(const Ip6Address&, const MacAddress& mac, Packet packet) {
  (void)iface_->Send(mac, EtherType::kIp6, ByteSpan(packet));
}

void NdEngine::ResolutionFailed(const Ip6Address& target, std::vector<Packet> dropped,
                                Instant now) {
  PYTCP_LOG(log_nd, kDebug, "neighbour {} unreachable", target);
  ip6_->OnResolutionFailed(target, dropped, now);
}

void NdEngine::Receive(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now) {
  counters_.Inc(NdCounter::kRxMessages);
  // RFC 4861 §6.1, §7.1, §8.1: a hop limit below 255 means the message crossed a router.
  if (info.hop_limit != kNdHopLimit) {
    counters_.Inc(NdCounter::kRxDropInvalid);
    return;
  }
  switch (icmp.type()) {
    case Icmp6Type::kNeighborSolicitation:
      if (auto ns = NdNeighborSolicitView::From(icmp)) ReceiveNs(info, *ns, now);
      break;
    case Icmp6Type::kNeighborAdvertisement:
      if (auto na = NdNeighborAdvertView::From(icmp)) ReceiveNa(info, *na, now);
      break;
    case Icmp6Type::kRouterAdvertisement:
      if (auto ra = NdRouterAdvertView::From(icmp)) ReceiveRa(info, *ra, now);
      break;
    case Icmp6Type::kRedirect:
      if (auto rd = NdRedirectView::From(icmp)) ReceiveRedirect(info, *rd, now);
      break;
    case Icmp6Type::kRouterSolicitation:
      // RFC 4861 §6.2.6: a host silently discards Router Solicitations.
      if (auto rs = NdRouterSolicitView::From(icmp); rs && config_.advertise) ReceiveRs(info, *rs, now);
      break;
    default:
      break;
  }
}

void NdEngine::ReceiveNs(const Ip6PacketInfo& info, const NdNeighborSolicitView& ns, Instant now) {
  counters_.Inc(NdCounter::kRxNs);
  const auto slla = ns.source_link_layer_address();
  const bool from_dad = info.src.is_unspecified();
  // RFC 4861 §7.1.1: from :: only to a solicited-node group and without the option.
  if (from_dad && (!info.dst.is_solicited_node_multicast() || slla)) {
    counters_.Inc(NdCounter::kRxDropInvalid);
    return;
  }
  // RFC 4861 §7.2.3: a target assigned to the interface that received it.
  const Ip6AddressEntry* e = ip6_->addresses().Find(ns.target());
  if (e == nullptr || e->iface != index_ || e->state == Ip6AddressState::kDuplicated) return;
  const bool in_dad = std::any_of(dad_.begin(), dad_.end(),
                                  [&](const Dad& d) { return d.address == ns.target(); });
  if (in_dad) {
    // RFC 4862 §5.4.3: another node's probe for our tentative address means it is
    // duplicate; any other NS for a tentative address is ignored.
    if (from_dad) {
      DadFailed(ns.target(), now);
      return;
    }
    if (e->state != Ip6AddressState::kOptimistic) return;
    // RFC 4429 §2.2/§3.3 (and Linux's ndisc_recv_ns): an optimistic address is answered,
    // with the Override flag clear, so that it never replaces the entry of a node that
    // owns the address if DAD then fails. Staying quiet would leave the address
    // unreachable for the whole of DAD (a router's ICMP errors to a just-started host
    // arrive a second late: traceroute -6 shows its first hops as '*').
    if (slla) cache_.OnSolicitationFrom(info.src, *slla, now);
    SendNa(info.src, ns.target(), /*solicited=*/true, /*override=*/false, now);
    return;
  }
  if (from_dad) {
    // RFC 4861 §7.2.4: answer a DAD probe for an address we use to all-nodes, unsolicited.
    SendNa(Ip6Address::AllNodesMulticast(), ns.target(), false, true, now);
    return;
  }
  // RFC 4861 §7.2.3: the solicitation teaches us the sender's link-layer address.
  if (slla) cache_.OnSolicitationFrom(info.src, *slla, now);
  SendNa(info.src, ns.target(), /*solicited=*/true, /*override=*/true, now);
}

void NdEngine::ReceiveNa(const Ip6PacketInfo& info, const NdNeighborAdvertView& na, Instant now) {
  counters_.Inc(NdCounter::kRxNa);
  // RFC 4861 §7.1.2: a solicited advertisement is never multicast.
  if (info.to_multicast && na.solicited()) {
    counters_.Inc(NdCounter::kRxDropInvalid);
    return;
  }
  if (const Ip6AddressEntry* e = ip6_->addresses().Find(na.target())) {
    // RFC 4862 §5.4.4: an advertisement for our tentative address: it is a duplicate.
    if (std::any_of(dad_.begin(), dad_.end(), [&](const Dad& d) { return d.address == na.target(); })) {
      DadFailed(na.target(), now);
    } else if (e->usable()) {
      PYTCP_LOG(log_nd, kWarn, "{} is also used by another node", na.target());
    }
    return;
  }
  auto tlla = na.target_link_layer_address();
  if (!tlla) {
    // RFC 4861 §7.2.5: without the option only a known entry can be confirmed.
    const auto* n = cache_.Find(na.target());
    if (n == nullptr || n->state == NeighbourState::kIncomplete) return;
    tlla = n->mac;
  }
  cache_.OnAdvertisement(na.target(), *tlla, na.solicited(), na.override_flag(), na.router(), now);
  // RFC 4861 §7.2.5: a neighbour that stops being a router leaves the Default Router List.
  if (!na.router() && ip6_->routes().IsRouter(na.target())) ip6_->routes().RemoveRouter(na.target());
}

void NdEngine::ReceiveRa(const Ip6PacketInfo& info, const NdRouterAdvertView& ra, Instant now) {
  counters_.Inc(NdCounter::kRxRa);
  // RFC 4861 §6.1.2: from a link-local source.
  if (!info.src.is_link_local()) {
    counters_.Inc(NdCounter::kRxDropInvalid);
    return;
  }
  rs_done_ = true;  // RFC 4861 §6.3.7: an RA ends the solicitations
  rs_next_ = Instant::Infinite();
  if (ra.cur_hop_limit() != 0) ip6_->set_default_hop_limit(ra.cur_hop_limit());
  // RFC 4861 §6.3.4: router lifetime zero removes the router; else (re)start its timer.
  if (ra.router_lifetime() == 0) {
    ip6_->routes().RemoveRouter(info.src);
  } else {
    int pref = 0;
    if (ra.preference() == NdRouterPreference::kHigh) pref = 1;
    if (ra.preference() == NdRouterPreference::kLow) pref = -1;  // reserved: medium (RFC 4191)
    ip6_->routes().AddRouter(Ip6DefaultRouter{info.src, now + std::chrono::seconds(ra.router_lifetime()),
                                              pref, Ip6RouteOrigin::kRouterAdvert, index_});
  }
  if (ra.reachable_time() != 0) {
    // RFC 4861 §6.3.4: a new BaseReachableTime gives a new random ReachableTime (the same
    // one again need not, but re-drawing is harmless).
    base_reachable_time_ = std::chrono::milliseconds(ra.reachable_time());
    RandomizeReachableTime(now);
  }
  if (ra.retrans_timer() != 0) cache_.set_retrans_timer(std::chrono::milliseconds(ra.retrans_timer()));
  if (auto slla = ra.source_link_layer_address()) cache_.OnSolicitationFrom(info.src, *slla, now);
  if (auto mtu = ra.mtu()) {
    // RFC 4861 §6.3.4: an MTU outside [1280, link MTU] is ignored.
    if (*mtu >= kIp6MinMtu && *mtu <= iface_->mtu()) ip6_->set_link_mtu(*mtu, index_);
  }
  for (const NdOption opt : ra.options()) {
    if (opt.type() == NdOptionType::kPrefixInformation) {
      ProcessPrefix(opt.prefix_info(), now);
    } else if (opt.type() == NdOptionType::kRdnss) {
      // RFC 8106 §5.1: lifetime 0 removes the servers; otherwise they are valid that long.
      for (size_t i = 0; i < opt.rdnss_count(); ++i) {
        const Ip6Address a = opt.rdnss_address(i);
        std::erase_if(rdnss_, [&](const Rdnss& r) { return r.address == a; });
        if (opt.rdnss_lifetime() != 0) {
          rdnss_.push_back(Rdnss{a, LifetimeEnd(now, opt.rdnss_lifetime())});
        }
      }
    }
  }
}

void NdEngine::ProcessPrefix(const NdPrefixInfo& pi, Instant now) {
  // RFC 4861 §6.3.4 and RFC 4862 §5.5.3 (a): the link-local prefix is ignored.
  if (pi.prefix.is_link_local()) return;
  auto net = Ip6Network::Create(Ip6Network::Mask(pi.prefix, pi.prefix_length), pi.prefix_length);
  if (!net) return;
  // The L flag: the prefix is on-link for its valid lifetime (0 removes it).
  if (pi.on_link) {
    if (pi.valid_lifetime == 0) {
      ip6_->routes().Remove(*net, Ip6RouteOrigin::kRouterAdvert, index_);
    } else {
      // Linux's metric for an address's prefix (IP6_RT_PRIO_ADDRCONF), as for a static one.
      Ip6Route route{*net, Ip6Address(), Ip6RouteOrigin::kRouterAdvert, LifetimeEnd(now, pi.valid_lifetime)};
      route.metric = 256;
      route.iface = index_;
      ip6_->routes().Add(route);
    }
  }
  // The A flag, independently (RFC 4862 §5.5.3).
  if (!pi.autonomous || !config_.slaac) return;
  if (pi.preferred_lifetime > pi.valid_lifetime) return;  // (c)
  // (d): the prefix and a 64-bit interface id must make 128 bits (RFC 4291 §2.5.1).
  if (pi.prefix_length != 64) {
    PYTCP_LOG(log_nd, kInfo, "prefix {} is not /64: not autoconfigured", *net);
    return;
  }
  const Ip6AddressEntry* existing = nullptr;
  for (const auto& e : ip6_->addresses().entries()) {
    if (e.iface == index_ && e.source == Ip6AddressSource::kSlaac && net->Contains(e.address()) &&
        e.state != Ip6AddressState::kDuplicated) {
      existing = &e;
      break;
    }
  }
  const Instant preferred = LifetimeEnd(now, pi.preferred_lifetime);
  if (existing == nullptr) {
    if (pi.valid_lifetime == 0) return;
    const Ip6Address addr =
        Ip6Address::FromPrefixAndInterfaceId(net->address(), InterfaceIdFor(net->address(), 0));
    if (ip6_->addresses().Find(addr) != nullptr) return;
    counters_.Inc(NdCounter::kSlaacAddresses);
    AddAddress(*Ip6Interface::Create(addr, 64), Ip6AddressSource::kSlaac, now, preferred,
               LifetimeEnd(now, pi.valid_lifetime));
    return;
  }
  // (e): the two-hour rule protects against a spoofed RA shortening the valid lifetime.
  constexpr Duration kTwoHours = 7200s;
  const Instant received_valid = LifetimeEnd(now, pi.valid_lifetime);
  Instant valid = existing->valid_until;
  if (received_valid > now + kTwoHours || received_valid > existing->valid_until) {
    valid = received_valid;
  } else if (existing->valid_until - now <= kTwoHours) {
    // leave it
  } else {
    valid = now + kTwoHours;
  }
  ip6_->addresses().SetLifetimes(existing->address(), preferred, valid, now);
}

void NdEngine::ReceiveRedirect(const Ip6PacketInfo& info, const NdRedirectView& rd, Instant now) {
  counters_.Inc(NdCounter::kRxRedirect);
  // RFC 4861 §8.1: from a link-local source that is our current first hop for the
  // destination.
  auto hop = ip6_->NextHop(rd.destination());
  if (!info.src.is_link_local() || !hop || *hop != Ip6NextHop{info.src, index_}) {
    counters_.Inc(NdCounter::kRxDropInvalid);
    return;
  }
  // RFC 4861 §8.3: the target is the better first hop (the destination itself when
  // target == destination: it is on-link).
  ip6_->SetRedirect(rd.destination(), Ip6NextHop{rd.target(), index_});
  if (auto tlla = rd.target_link_layer_address()) {
    const bool router = rd.target() != rd.destination();
    cache_.OnAdvertisement(rd.target(), *tlla, false, true, router, now);
  }
}

std::vector<Ip6Address> NdEngine::dns_servers() const {
  std::vector<Ip6Address> out;
  for (const auto& r : rdnss_) out.push_back(r.address);
  return out;
}

void NdEngine::Poll(Instant now) {
  if (reachable_redraw_at_ <= now) RandomizeReachableTime(now);
  PollAdvertising(now);
  cache_.Poll(now);
  // DAD probes and their completion (RFC 4862 §5.4.2, §5.4.3).
  for (size_t i = 0; i < dad_.size();) {
    Dad& d = dad_[i];
    if (d.next > now) {
      ++i;
      continue;
    }
    if (d.probes_left > 0) {
      --d.probes_left;
      d.next = now + config_.retrans_timer;
      counters_.Inc(NdCounter::kDadProbes);
      SendNs(Ip6Address(), d.address.SolicitedNodeMulticast(), d.address, false, now);
      ++i;
      continue;
    }
    const Ip6Address addr = d.address;
    dad_.erase(dad_.begin() + static_cast<long>(i));
    counters_.Inc(NdCounter::kDadSucceeded);
    const Ip6AddressEntry* e = ip6_->addresses().Find(addr);
    if (e != nullptr) {
      ip6_->addresses().SetState(addr,
                                 e->preferred_until <= now ? Ip6AddressState::kDeprecated
                                                           : Ip6AddressState::kPreferred,
                                 now);
      PYTCP_LOG(log_nd, kInfo, "address {} is preferred", addr);
    }
  }
  // Router solicitation (RFC 4861 §6.3.7), then RFC 7559 backoff: the interval doubles
  // (with up to 10 % random) to MAX_RTR_SOLICITATION_INTERVAL and solicitations go on.
  if (!rs_done_ && rs_next_ <= now) {
    SendRs(now);
    ++rs_sent_;
    if (rs_sent_ >= config_.max_rtr_solicitations) {
      rs_interval_ = std::min<Duration>(rs_interval_ * 2, config_.max_rtr_solicitation_interval);
    }
    const Duration jitter(random_->Below(static_cast<uint64_t>(rs_interval_.count() / 10) + 1));
    rs_next_ = now + rs_interval_ + (rs_sent_ >= config_.max_rtr_solicitations ? jitter : Duration(0));
  }
  std::erase_if(rdnss_, [&](const Rdnss& r) { return r.expires <= now; });
}

Instant NdEngine::NextDeadline() const {
  Instant next = EarliestOf(cache_.NextDeadline(), rs_done_ ? Instant::Infinite() : rs_next_);
  for (const auto& d : dad_) next = EarliestOf(next, d.next);
  for (const auto& r : rdnss_) next = EarliestOf(next, r.expires);
  next = EarliestOf(next, ra_next_);
  return EarliestOf(next, reachable_redraw_at_);
}

}  // namespace pytcp
