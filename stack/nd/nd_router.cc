// A router's side of Neighbour Discovery (PYTCP_RA): Router Advertisements on the
// interface, unsolicited and in answer to Router Solicitations (RFC 4861 §6.2).
#include <algorithm>

#include "stack/ip6/ip6_message_send.h"
#include "stack/nd/nd_engine.h"

namespace pytcp {
namespace {

// RFC 4861 §10 router constants.
constexpr int kMaxInitialRtrAdvertisements = 3;
constexpr Duration kMaxInitialRtrAdvertInterval = std::chrono::seconds(16);
constexpr Duration kMinDelayBetweenRas = std::chrono::seconds(3);
constexpr Duration kMaxRaDelayTime = std::chrono::milliseconds(500);
// RFC 4861 §6.2.1 AdvValidLifetime and AdvPreferredLifetime defaults (30 and 7 days).
constexpr uint32_t kAdvValidLifetime = 2592000;
constexpr uint32_t kAdvPreferredLifetime = 604800;

uint32_t Seconds(Duration d) {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

}  // namespace

void NdEngine::ReceiveRs(const Ip6PacketInfo& info, const NdRouterSolicitView& rs, Instant now) {
  counters_.Inc(NdCounter::kRxRs);
  const auto slla = rs.source_link_layer_address();
  // §6.1.1: from :: never with a source link-layer option.
  if (info.src.is_unspecified() && slla) {
    counters_.Inc(NdCounter::kRxDropInvalid);
    return;
  }
  // §6.2.6: the solicitation's link-layer address goes into the cache (STALE).
  if (slla && !info.src.is_unspecified()) cache_.OnSolicitationFrom(info.src, *slla, now);
  // §6.2.6: answer within a random 0..MAX_RA_DELAY_TIME, multicast, and never sooner than
  // MIN_DELAY_BETWEEN_RAS after the last multicast advertisement.
  Instant at = now + Duration(random_->Below(static_cast<uint64_t>(kMaxRaDelayTime.count()) + 1));
  if (!ra_last_sent_.is_infinite()) at = std::max(at, ra_last_sent_ + kMinDelayBetweenRas);
  ra_next_ = EarliestOf(ra_next_, at);
}

void NdEngine::SendRa(Instant now) {
  // §6.2.3: from our link-local address (hosts name their routers by it), to all-nodes.
  const Ip6Address src = ip6_->addresses().LinkLocal(index_);
  if (src.is_unspecified()) return;  // §6.2.2: not before the link-local address is usable
  std::vector<NdPrefixInfo> prefixes;
  for (const auto& e : ip6_->addresses().entries()) {
    // The on-link /64s of the static addresses, for SLAAC (RFC 4862 §5.5.3).
    if (e.iface != index_ || e.source != Ip6AddressSource::kStatic || e.address().is_link_local() ||
        e.ifaddr.prefix_length() != 64) {
      continue;
    }
    const Ip6Address prefix = e.ifaddr.network().address();
    if (std::any_of(prefixes.begin(), prefixes.end(), [&](const NdPrefixInfo& p) { return p.prefix == prefix; })) {
      continue;
    }
    prefixes.push_back(NdPrefixInfo{prefix, 64, true, true, kAdvValidLifetime, kAdvPreferredLifetime});
  }
  NdRouterAdvertMessage m;
  m.cur_hop_limit = 64;
  // §6.2.1 AdvDefaultLifetime: 3 * MaxRtrAdvInterval.
  m.router_lifetime = static_cast<uint16_t>(std::min<uint32_t>(3 * Seconds(config_.max_rtr_adv_interval), 9000));
  m.source_lla = iface_->mac();
  m.mtu = ip6_->link_mtu(index_);
  m.prefixes = prefixes;
  m.rdnss = config_.rdnss;
  // RFC 8106 §5.1: a lifetime of at least MaxRtrAdvInterval; 3 times it, as the router's.
  m.rdnss_lifetime = 3 * Seconds(config_.max_rtr_adv_interval);
  Ip6SendParams p;
  p.src = src;
  p.dst = Ip6Address::AllNodesMulticast();
  p.hop_limit = kNdHopLimit;
  p.out_iface = index_;
  if (SendIcmp6Message(*ip6_, m, p, now)) counters_.Inc(NdCounter::kTxRa);
  ra_last_sent_ = now;
}

void NdEngine::PollAdvertising(Instant now) {
  if (!config_.advertise || ra_next_ > now) return;
  SendRa(now);
  // §6.2.4: the next unsolicited one after a random interval between Min and Max, the
  // first MAX_INITIAL_RTR_ADVERTISEMENTS at most MAX_INITIAL_RTR_ADVERT_INTERVAL apart.
  const auto lo = static_cast<uint64_t>(config_.min_rtr_adv_interval.count());
  const auto hi = static_cast<uint64_t>(config_.max_rtr_adv_interval.count());
  Duration gap(static_cast<int64_t>(lo + random_->Below(hi - lo + 1)));
  if (ra_initial_sent_ < kMaxInitialRtrAdvertisements) {
    ++ra_initial_sent_;
    gap = std::min(gap, kMaxInitialRtrAdvertInterval);
  }
  ra_next_ = now + gap;
}

}  // namespace pytcp
