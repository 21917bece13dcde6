#include "stack/arp/arp_engine.h"

#include "stack/base/log.h"

namespace pytcp {
namespace {
LogChannel log_arp("arp");
}  // namespace

std::string_view ToString(AcdMode m) {
  switch (m) {
    case AcdMode::kStrict: return "strict";
    case AcdMode::kOptimistic: return "optimistic";
    case AcdMode::kOff: return "off";
  }
  return "?";
}

bool ParseAcdMode(std::string_view text, AcdMode* mode) {
  for (AcdMode m : {AcdMode::kStrict, AcdMode::kOptimistic, AcdMode::kOff}) {
    if (text == ToString(m)) {
      *mode = m;
      return true;
    }
  }
  return false;
}

ArpEngine::ArpEngine(Interface* iface, Ip4AddressTable* addresses, Random* random,
                     ArpConfig config)
    : iface_(iface),
      addresses_(addresses),
      random_(random),
      config_(config),
      cache_(config.cache, this) {}

Duration ArpEngine::RandomBetween(Duration lo, Duration hi) {
  if (hi <= lo) return lo;
  return lo + Duration(static_cast<int64_t>(
                  random_->Below(static_cast<uint64_t>((hi - lo).count()) + 1)));
}

void ArpEngine::Send(const MacAddress& dst, const ArpPacket& packet) {
  PacketBuffer buf(kArpPacketSize + kEthernetMinFrameSize, 64);
  packet.Emit(buf.Append(kArpPacketSize));
  (void)iface_->Send(dst, EtherType::kArp, buf);
}

void ArpEngine::ReceiveFrame(const EthernetView& frame, Instant now, const RxFrameInfo&) {
  counters_.Inc(ArpCounter::kRxPackets);
  auto parsed = ArpView::Parse(frame.payload());
  if (!parsed.ok()) {
    counters_.Inc(ArpCounter::kRxDropMalformed);
    PYTCP_LOG(log_arp, kDebug, "drop malformed ARP: {}", ToString(parsed.error()));
    return;
  }
  const ArpView& arp = *parsed;
  if (arp.sha() == iface_->mac()) return;  // our own frame reflected back
  // RFC 826 says the sender hardware address must be a station; a multicast or zero
  // sha is a forgery that would poison the cache.
  if (arp.sha().is_multicast() || arp.sha().is_unspecified()) {
    counters_.Inc(ArpCounter::kRxDropMalformed);
    return;
  }
  CheckConflict(arp, now);

  const Ip4Address spa = arp.spa();
  const bool for_us = addresses_->IsOurs(arp.tpa());
  if (arp.op() == ArpOp::kRequest) {
    counters_.Inc(ArpCounter::kRxRequests);
  } else {
    counters_.Inc(ArpCounter::kRxReplies);
  }
  // Probes (spa 0.0.0.0) must not touch caches (RFC 5227 §2.1.1).
  if (spa.is_unspecified()) {
    if (for_us && arp.op() == ArpOp::kRequest) {
      // RFC 5227 §2.1.1: another host probing an address we hold: answer so it backs off.
      counters_.Inc(ArpCounter::kTxReplies);
      Send(arp.sha(), ArpPacket::Reply(iface_->mac(), arp.tpa(), arp.sha(), spa));
    }
    return;
  }
  if (addresses_->Find(spa) != nullptr) return;  // someone using our address: handled above

  // RFC 826 "merge": refresh an existing entry from any ARP packet that names it.
  cache_.MergeIfPresent(spa, arp.sha(), now);
  if (!for_us) {
    counters_.Inc(ArpCounter::kRxDropNotForUs);
    return;
  }
  if (arp.op() == ArpOp::kRequest) {
    // RFC 826: add the requester (it is about to talk to us), then reply.
    cache_.OnSolicitationFrom(spa, arp.sha(), now);
    counters_.Inc(ArpCounter::kTxReplies);
    Send(arp.sha(), ArpPacket::Reply(iface_->mac(), arp.tpa(), arp.sha(), spa));
  } else {
    cache_.OnAdvertisement(spa, arp.sha(), /*solicited=*/true, /*override=*/true,
                           /*is_router=*/false, now);
  }
}

void ArpEngine::CheckConflict(const ArpView& arp, Instant now) {
  const Ip4Address spa = arp.spa();
  if (!spa.is_unspecified()) {
    // RFC 5227 §2.1.1 (while probing) and §2.4 (after): any ARP from another host whose
    // sender address is one of ours is a conflict.
    // Only for an address on this interface: a host on another link cannot take an
    // address from this one.
    const Ip4AddressEntry* entry = addresses_->Find(spa);
    if (entry != nullptr && entry->iface == config_.iface_index) Conflict(spa, arp.sha(), now);
    return;
  }
  // RFC 5227 §2.1.1: another host probing the address we are probing: both back off.
  auto it = acd_.find(arp.tpa());
  if (arp.op() == ArpOp::kRequest && it != acd_.end() &&
      (it->second.phase == AcdPhase::kWaiting || it->second.phase == AcdPhase::kProbing)) {
    Conflict(arp.tpa(), arp.sha(), now);
  }
}

void ArpEngine::Conflict(Ip4Address address, MacAddress mac, Instant now) {
  const Ip4AddressEntry* entry = addresses_->Find(address);
  if (entry == nullptr || entry->state == Ip4AddressState::kDuplicate) return;
  counters_.Inc(ArpCounter::kConflicts);
  auto it = acd_.find(address);
  if (entry->state == Ip4AddressState::kPreferred && config_.acd_mode != AcdMode::kOff) {
    AcdState& st = acd_[address];
    // RFC 5227 §2.4(b): defend once per DEFEND_INTERVAL; a second conflict within it
    // means the other host insists, and we must stop using the address.
    if (st.last_defence.is_infinite() || now - st.last_defence >= config_.defend_interval) {
      st.last_defence = now;
      PYTCP_LOG(log_arp, kWarn, "address {} claimed by {}: defending", address, mac);
      counters_.Inc(ArpCounter::kTxAnnouncements);
      Send(MacAddress::Broadcast(), ArpPacket::Announcement(iface_->mac(), address));
      return;
    }
  } else if (entry->state == Ip4AddressState::kPreferred && it == acd_.end()) {
    // kOff: Linux behaviour, no ACD at all; just note it.
    PYTCP_LOG(log_arp, kWarn, "address {} is also used by {}", address, mac);
    return;
  }
  PYTCP_LOG(log_arp, kWarn, "address {} is in use by {}: not using it", address, mac);
  acd_.erase(address);
  addresses_->SetState(address, Ip4AddressState::kDuplicate);
  if (on_conflict_) on_conflict_(address, mac);
}

void ArpEngine::StartConflictDetection(Ip4Address address, Instant now) {
  switch (config_.acd_mode) {
    case AcdMode::kOff:
      addresses_->SetState(address, Ip4AddressState::kPreferred);
      return;
    case AcdMode::kStrict:
      addresses_->SetState(address, Ip4AddressState::kTentative);
      break;
    case AcdMode::kOptimistic:
      addresses_->SetState(address, Ip4AddressState::kOptimistic);
      break;
  }
  AcdState st;
  st.phase = AcdPhase::kWaiting;
  // RFC 5227 §2.1.1: wait a random time in [0, PROBE_WAIT] before the first probe.
  st.next = now + RandomBetween(Duration(0), config_.probe_wait);
  acd_[address] = st;
}

void ArpEngine::Poll(Instant now) {
  cache_.Poll(now);
  std::vector<Ip4Address> addresses;
  for (const auto& [addr, st] : acd_) {
    if (st.next <= now) addresses.push_back(addr);
  }
  for (Ip4Address addr : addresses) {
    auto it = acd_.find(addr);
    if (it == acd_.end()) continue;
    AcdState& st = it->second;
    switch (st.phase) {
      case AcdPhase::kWaiting:
        st.phase = AcdPhase::kProbing;
        st.sent = 0;
        [[fallthrough]];
      case AcdPhase::kProbing:
        if (st.sent < config_.probe_num) {
          ++st.sent;
          counters_.Inc(ArpCounter::kTxProbes);
          Send(MacAddress::Broadcast(), ArpPacket::Probe(iface_->mac(), addr));
          // §2.1.1: probes PROBE_MIN..PROBE_MAX apart; ANNOUNCE_WAIT after the last.
          st.next = now + (st.sent < config_.probe_num
                               ? RandomBetween(config_.probe_min, config_.probe_max)
                               : config_.announce_wait);
          break;
        }
        // §2.3: no conflict: the address is ours; announce it.
        addresses_->SetState(addr, Ip4AddressState::kPreferred);
        PYTCP_LOG(log_arp, kInfo, "address {} passed conflict detection", addr);
        st.phase = AcdPhase::kAnnouncing;
        st.sent = 0;
        [[fallthrough]];
      case AcdPhase::kAnnouncing:
        if (st.sent < config_.announce_num) {
          ++st.sent;
          counters_.Inc(ArpCounter::kTxAnnouncements);
          Send(MacAddress::Broadcast(), ArpPacket::Announcement(iface_->mac(), addr));
          st.next = st.sent < config_.announce_num ? now + config_.announce_interval
                                                   : Instant::Infinite();
          if (st.sent == config_.announce_num) st.phase = AcdPhase::kDefending;
        }
        break;
      case AcdPhase::kDefending:
        st.next = Instant::Infinite();
        break;
    }
  }
}

Instant ArpEngine::NextDeadline() const {
  Instant next = cache_.NextDeadline();
  for (const auto& [addr, st] : acd_) next = EarliestOf(next, st.next);
  return next;
}

void ArpEngine::SendSolicitation(const Ip4Address& target, std::optional<MacAddress> unicast,
                                 Instant) {
  // RFC 826: the sender protocol address is ours, preferably on the target's network,
  // else one of this interface's, else any (Linux's arp_announce 0).
  Ip4Address source;
  Ip4Address any;
  for (const auto& e : addresses_->entries()) {
    if (!e.usable()) continue;
    if (any.is_unspecified()) any = e.ifaddr.address();
    if (e.iface != config_.iface_index) continue;
    if (source.is_unspecified()) source = e.ifaddr.address();
    if (e.ifaddr.Contains(target)) {
      source = e.ifaddr.address();
      break;
    }
  }
  if (source.is_unspecified()) source = any;
  if (source.is_unspecified()) return;  // nothing to speak from yet
  counters_.Inc(ArpCounter::kTxRequests);
  ArpPacket request = ArpPacket::Request(iface_->mac(), source, target);
  if (unicast) request.tha = *unicast;
  Send(unicast.value_or(MacAddress::Broadcast()), request);
}

void ArpEngine::TransmitQueued(const Ip4Address&, const MacAddress& mac, Packet packet) {
  (void)iface_->Send(mac, EtherType::kIp4, ByteSpan(packet));
}

void ArpEngine::ResolutionFailed(const Ip4Address& target, std::vector<Packet> dropped,
                                 Instant now) {
  counters_.Inc(ArpCounter::kResolutionFailures);
  PYTCP_LOG(log_arp, kInfo, "no ARP reply from {}; {} packet(s) dropped", target, dropped.size());
  if (on_failure_) on_failure_(target, std::move(dropped), now);
}

}  // namespace pytcp
