// Neighbour Discovery and SLAAC on one stack, frame by frame under a virtual clock: DAD
// (success, conflict by NA and by a competing probe, optimistic use), NS/NA, address
// resolution and its failure, router solicitation with backoff, router advertisements
// (SLAAC, on-link prefixes, lifetimes, router lifetime, MTU, RDNSS), Redirect, RFC 7217.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/ip6/ip6_harness.h"

namespace pytcp::testing {
namespace {

// The address part of a next hop (the interface is the first in these tests).
std::optional<Ip6Address> HopAddress(const std::optional<Ip6NextHop>& hop) {
  if (!hop) return std::nullopt;
  return hop->address;
}

std::vector<Sent> OfType(const std::vector<Sent>& sent, Icmp6Type type) {
  std::vector<Sent> out;
  for (const auto& s : sent) {
    if (s.is_icmp6() && s.icmp_type() == type) out.push_back(s);
  }
  return out;
}

std::vector<uint8_t> NdFrame(const Ip6Address& src, const Ip6Address& dst,
                             const std::vector<uint8_t>& msg, uint8_t hop_limit = 255,
                             const MacAddress& eth_src = kPeerMac) {
  const MacAddress mac = dst.is_multicast() ? MacAddress::FromIp6Multicast(dst) : kOurMac;
  return Frame(mac, Hdr(src, dst, Ip6NextHeader::kIcmp6, hop_limit), {}, msg, eth_src);
}

class NdTest : public Ip6Harness {
 protected:
  std::vector<uint8_t> Ra(uint16_t router_lifetime, std::span<const NdPrefixInfo> prefixes,
                          std::optional<uint32_t> mtu = std::nullopt,
                          std::span<const Ip6Address> rdnss = {}, uint32_t rdnss_lifetime = 0) {
    NdRouterAdvertMessage m;
    m.router_lifetime = router_lifetime;
    m.source_lla = kRouterMac;
    m.mtu = mtu;
    m.prefixes = prefixes;
    m.rdnss = rdnss;
    m.rdnss_lifetime = rdnss_lifetime;
    return NdFrame(kRouterLinkLocal, Ip6Address::AllNodesMulticast(),
                   Message(m, kRouterLinkLocal, Ip6Address::AllNodesMulticast()), 255, kRouterMac);
  }
};

TEST_F(NdTest, DadProbeThenPreferred) {
  Start();
  // RFC 4429: the link-local address is optimistic, and usable, while DAD runs.
  ASSERT_NE(Address(kOurLinkLocal), nullptr);
  EXPECT_EQ(Address(kOurLinkLocal)->state, Ip6AddressState::kOptimistic);
  {
    std::lock_guard lock(stack_->mutex());
    EXPECT_EQ(stack_->ip6().SelectSource(kPeerLinkLocal), kOurLinkLocal);
  }
  auto sent = Run(3s);
  auto ns = OfType(sent, Icmp6Type::kNeighborSolicitation);
  ASSERT_EQ(ns.size(), 1u);
  // RFC 4862 §5.4.2: from ::, to the solicited-node group, no source link-layer option.
  EXPECT_TRUE(ns[0].src.is_unspecified());
  EXPECT_EQ(ns[0].dst, *Ip6Address::Parse("ff02::1:ff77:2"));
  EXPECT_EQ(ns[0].eth_dst, MacAddress::FromIp6Multicast(ns[0].dst));
  EXPECT_EQ(ns[0].hop_limit, 255);
  NdNeighborSolicitMessage expect{kOurLinkLocal, std::nullopt};
  EXPECT_EQ(ns[0].upper_payload, Message(expect, Ip6Address(), ns[0].dst));
  EXPECT_EQ(Address(kOurLinkLocal)->state, Ip6AddressState::kPreferred);
}

TEST_F(NdTest, StaticAddressTentativeUntilDad) {
  Start([](StackConfig& c) {
    c.ip6_mode = Ip6Mode::kStatic;
    c.ip6_addresses = {*Ip6Interface::Parse("fd77::2/64")};
  });
  // RFC 4429 §3.1: no optimistic DAD for a manually configured address.
  EXPECT_EQ(Address(kOurGlobal)->state, Ip6AddressState::kTentative);
  // RFC 4862 §5.4: a tentative address does not receive (an echo to it is not answered).
  KnowNeighbours();
  auto msg = Echo(kPeerGlobal, kOurGlobal, true, 1, 1, EchoData(8));
  EXPECT_TRUE(OfType(Exchange(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kIcmp6), {}, msg)),
                     Icmp6Type::kEchoReply)
                  .empty());
  Run(3s);
  EXPECT_EQ(Address(kOurGlobal)->state, Ip6AddressState::kPreferred);
}

TEST_F(NdTest, DadConflictByAdvertisement) {
  Start([](StackConfig& c) {
    c.ip6_mode = Ip6Mode::kStatic;
    c.ip6_addresses = {*Ip6Interface::Parse("fd77::2/64")};
  });
  NdNeighborAdvertMessage na{kOurGlobal, false, false, true, kPeerMac};
  Exchange(NdFrame(kPeerGlobal, Ip6Address::AllNodesMulticast(),
                   Message(na, kPeerGlobal, Ip6Address::AllNodesMulticast())));
  EXPECT_EQ(Address(kOurGlobal)->state, Ip6AddressState::kDuplicated);
  EXPECT_EQ(MovedBy("nd.dad_failed"), 1);
  Run(5s);
  EXPECT_EQ(Address(kOurGlobal)->state, Ip6AddressState::kDuplicated);  // stays unused
  std::lock_guard lock(stack_->mutex());
  EXPECT_NE(stack_->ip6().SelectSource(kFar), kOurGlobal);
  EXPECT_FALSE(stack_->ip6().disabled());  // only a hardware-derived link-local does that
}

TEST_F(NdTest, ReachableTimeRandomisedAndRedrawnEveryTwoHours) {
  Start();
  auto reachable = [&] {
    std::lock_guard lock(stack_->mutex());
    return stack_->nd().cache().config().reachable_time;
  };
  // RFC 4861 §6.3.2: BaseReachableTime 30 s times a random factor in [0.5, 1.5].
  std::vector<Duration> drawn = {reachable()};
  for (int i = 0; i < 4; ++i) {
    (void)Run(std::chrono::hours(2) + 1s);  // §6.3.4: drawn again at least every few hours
    drawn.push_back(reachable());
  }
  for (Duration d : drawn) {
    EXPECT_GE(d, 15s);
    EXPECT_LE(d, 45s);
  }
  std::sort(drawn.begin(), drawn.end());
  EXPECT_NE(drawn.front(), drawn.back());
}

TEST_F(NdTest, DuplicatedEui64LinkLocalDisablesIpv6) {
  Start();
  NdNeighborAdvertMessage na{kOurLinkLocal, false, false, true, kPeerMac};
  Exchange(NdFrame(kPeerLinkLocal, Ip6Address::AllNodesMulticast(),
                   Message(na, kPeerLinkLocal, Ip6Address::AllNodesMulticast())));
  EXPECT_EQ(MovedBy("nd.ip6_disabled"), 1);
  {
    std::lock_guard lock(stack_->mutex());
    EXPECT_TRUE(stack_->ip6().disabled());
  }
  // RFC 4862 §5.4.5: no more IPv6 from this interface: no RS, no MLD, no answers.
  EXPECT_TRUE(Run(10s).empty());
  // (A unicast NS: the solicited-node group went with the duplicated address.)
  NdNeighborSolicitMessage ns{kOurLinkLocal, kPeerMac};
  EXPECT_TRUE(Exchange(NdFrame(kPeerLinkLocal, kOurLinkLocal, Message(ns, kPeerLinkLocal, kOurLinkLocal))).empty());
  EXPECT_EQ(MovedBy("ip6.rx_drop_disabled"), 1);
  auto sock = stack_->CreateUdpSocket(AF_INET6);
  const std::vector<uint8_t> data = {1};
  const SocketAddress to{IpAddress(kPeerLinkLocal), 9, 0};
  EXPECT_EQ(sock->SendTo(data, &to, 0).error(), ENETDOWN);
}

TEST_F(NdTest, DadConflictByCompetingProbe) {
  Start([](StackConfig& c) {
    c.ip6_mode = Ip6Mode::kStatic;
    c.ip6_addresses = {*Ip6Interface::Parse("fd77::2/64")};
  });
  NdNeighborSolicitMessage ns{kOurGlobal, std::nullopt};
  const Ip6Address sn = kOurGlobal.SolicitedNodeMulticast();
  auto sent = Exchange(NdFrame(Ip6Address(), sn, Message(ns, Ip6Address(), sn)));
  EXPECT_TRUE(OfType(sent, Icmp6Type::kNeighborAdvertisement).empty());
  EXPECT_EQ(Address(kOurGlobal)->state, Ip6AddressState::kDuplicated);
}

TEST_F(NdTest, ProbeForPreferredAddressIsDefended) {
  Start();
  Settle();
  NdNeighborSolicitMessage ns{kOurLinkLocal, std::nullopt};
  const Ip6Address sn = kOurLinkLocal.SolicitedNodeMulticast();
  auto na = OfType(Exchange(NdFrame(Ip6Address(), sn, Message(ns, Ip6Address(), sn))),
                   Icmp6Type::kNeighborAdvertisement);
  ASSERT_EQ(na.size(), 1u);
  // RFC 4861 §7.2.4: to all-nodes, solicited flag clear.
  EXPECT_EQ(na[0].dst, Ip6Address::AllNodesMulticast());
  NdNeighborAdvertMessage expect{kOurLinkLocal, false, false, true, kOurMac};
  EXPECT_EQ(na[0].upper_payload, Message(expect, kOurLinkLocal, Ip6Address::AllNodesMulticast()));
  EXPECT_EQ(Address(kOurLinkLocal)->state, Ip6AddressState::kPreferred);
}

TEST_F(NdTest, SolicitationAnsweredWithExactAdvertisement) {
  Start();
  Settle();
  NdNeighborSolicitMessage ns{kOurLinkLocal, kPeerMac};
  const Ip6Address sn = kOurLinkLocal.SolicitedNodeMulticast();
  auto na = OfType(Exchange(NdFrame(kPeerLinkLocal, sn, Message(ns, kPeerLinkLocal, sn))),
                   Icmp6Type::kNeighborAdvertisement);
  ASSERT_EQ(na.size(), 1u);
  EXPECT_EQ(na[0].eth_dst, kPeerMac);  // learnt from the source link-layer option
  EXPECT_EQ(na[0].src, kOurLinkLocal);
  EXPECT_EQ(na[0].dst, kPeerLinkLocal);
  EXPECT_EQ(na[0].hop_limit, 255);
  NdNeighborAdvertMessage expect{kOurLinkLocal, false, true, true, kOurMac};
  EXPECT_EQ(na[0].upper_payload, Message(expect, kOurLinkLocal, kPeerLinkLocal));
  std::lock_guard lock(stack_->mutex());
  const auto* n = stack_->nd().cache().Find(kPeerLinkLocal);
  ASSERT_NE(n, nullptr);
  // RFC 4861 §7.2.3: STALE, then DELAY once our advertisement used the entry (§7.3.3).
  EXPECT_EQ(n->state, NeighbourState::kDelay);
}

TEST_F(NdTest, SolicitationForOptimisticAddressAnsweredWithoutOverride) {
  Start();  // the link-local address is optimistic while DAD runs (RFC 4429)
  ASSERT_EQ(Address(kOurLinkLocal)->state, Ip6AddressState::kOptimistic);
  NdNeighborSolicitMessage ns{kOurLinkLocal, kPeerMac};
  const Ip6Address sn = kOurLinkLocal.SolicitedNodeMulticast();
  auto na = OfType(Exchange(NdFrame(kPeerLinkLocal, sn, Message(ns, kPeerLinkLocal, sn))),
                   Icmp6Type::kNeighborAdvertisement);
  ASSERT_EQ(na.size(), 1u);
  EXPECT_EQ(na[0].dst, kPeerLinkLocal);
  // RFC 4429 §3.3: solicited, Override clear.
  NdNeighborAdvertMessage expect{kOurLinkLocal, false, true, false, kOurMac};
  EXPECT_EQ(na[0].upper_payload, Message(expect, kOurLinkLocal, kPeerLinkLocal));
  EXPECT_EQ(Address(kOurLinkLocal)->state, Ip6AddressState::kOptimistic);
}

TEST_F(NdTest, SolicitationForTentativeAddressIgnored) {
  Start([](StackConfig& c) {
    c.ip6_mode = Ip6Mode::kStatic;
    c.ip6_addresses = {*Ip6Interface::Parse("fd77::2/64")};
  });
  ASSERT_EQ(Address(kOurGlobal)->state, Ip6AddressState::kTentative);
  NdNeighborSolicitMessage ns{kOurGlobal, kPeerMac};
  const Ip6Address sn = kOurGlobal.SolicitedNodeMulticast();
  EXPECT_TRUE(OfType(Exchange(NdFrame(kPeerLinkLocal, sn, Message(ns, kPeerLinkLocal, sn))),
                     Icmp6Type::kNeighborAdvertisement)
                  .empty());
}

TEST_F(NdTest, HopLimitBelow255Ignored) {
  Start();
  Settle();
  NdNeighborSolicitMessage ns{kOurLinkLocal, kPeerMac};
  const Ip6Address sn = kOurLinkLocal.SolicitedNodeMulticast();
  EXPECT_TRUE(Exchange(NdFrame(kPeerLinkLocal, sn, Message(ns, kPeerLinkLocal, sn), 254)).empty());
  EXPECT_EQ(MovedBy("nd.rx_drop_invalid"), 1);
}

TEST_F(NdTest, AddressResolutionQueuesUntilAdvertisement) {
  Start();
  Settle();
  // An echo request from an unknown neighbour: the reply waits for its link-layer address.
  auto msg = Echo(kPeerLinkLocal, kOurLinkLocal, true, 5, 6, EchoData(8));
  auto sent = Exchange(Frame(kOurMac, Hdr(kPeerLinkLocal, kOurLinkLocal, Ip6NextHeader::kIcmp6), {}, msg));
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].icmp_type(), Icmp6Type::kNeighborSolicitation);
  EXPECT_EQ(sent[0].dst, kPeerLinkLocal.SolicitedNodeMulticast());
  EXPECT_EQ(sent[0].src, kOurLinkLocal);
  NdNeighborSolicitMessage expect{kPeerLinkLocal, kOurMac};
  EXPECT_EQ(sent[0].upper_payload, Message(expect, kOurLinkLocal, sent[0].dst));
  NdNeighborAdvertMessage na{kPeerLinkLocal, false, true, true, kPeerMac};
  sent = Exchange(NdFrame(kPeerLinkLocal, kOurLinkLocal, Message(na, kPeerLinkLocal, kOurLinkLocal)));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].eth_dst, kPeerMac);
  EXPECT_EQ(sent[0].upper_payload, Echo(kOurLinkLocal, kPeerLinkLocal, false, 5, 6, EchoData(8)));
  std::lock_guard lock(stack_->mutex());
  EXPECT_EQ(stack_->nd().cache().Find(kPeerLinkLocal)->state, NeighbourState::kReachable);
}

TEST_F(NdTest, ResolutionGivesUpAfterThreeSolicitations) {
  Start();
  Settle();
  auto msg = Echo(kPeerLinkLocal, kOurLinkLocal, true, 5, 6, EchoData(8));
  auto sent = Exchange(Frame(kOurMac, Hdr(kPeerLinkLocal, kOurLinkLocal, Ip6NextHeader::kIcmp6), {}, msg));
  auto later = Run(5s);
  sent.insert(sent.end(), later.begin(), later.end());
  size_t ns = 0;
  for (const auto& s : OfType(sent, Icmp6Type::kNeighborSolicitation)) ns += s.dst == kPeerLinkLocal.SolicitedNodeMulticast();
  EXPECT_EQ(ns, 3u);  // RFC 4861 §7.2.2 MAX_MULTICAST_SOLICIT
  EXPECT_TRUE(OfType(sent, Icmp6Type::kEchoReply).empty());
  std::lock_guard lock(stack_->mutex());
  EXPECT_EQ(stack_->nd().cache().Find(kPeerLinkLocal), nullptr);
}

TEST_F(NdTest, RouterSolicitationsBackOff) {
  Start();
  auto sent = Run(60s);
  auto rs = OfType(sent, Icmp6Type::kRouterSolicitation);
  ASSERT_GE(rs.size(), 4u);
  EXPECT_EQ(rs[0].dst, Ip6Address::AllRoutersMulticast());
  EXPECT_EQ(rs[0].hop_limit, 255);
  // RFC 7559: after the initial solicitations they go on, ever less often. 60 s hold
  // 3 at 4 s intervals, then ones 8, 16, 32 s apart: at most 6.
  EXPECT_LE(rs.size(), 6u);
}

TEST_F(NdTest, RouterAdvertisementConfiguresSlaac) {
  Start();
  Settle();
  const NdPrefixInfo pi{*Ip6Address::Parse("fd77::"), 64, true, true, 3600, 1800};
  const Ip6Address dns = kPeerGlobal;
  Exchange(Ra(1800, std::span(&pi, 1), 1400, std::span(&dns, 1), 600));
  const Ip6AddressEntry* e = Address(kOurSlaac);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->source, Ip6AddressSource::kSlaac);
  EXPECT_EQ(e->state, Ip6AddressState::kOptimistic);
  {
    std::lock_guard lock(stack_->mutex());
    EXPECT_EQ(HopAddress(stack_->ip6().NextHop(kFar)), kRouterLinkLocal);
    EXPECT_EQ(HopAddress(stack_->ip6().NextHop(kPeerGlobal)), kPeerGlobal);
    EXPECT_EQ(stack_->ip6().link_mtu(), 1400u);
    EXPECT_EQ(stack_->ip6().SelectSource(kFar), kOurSlaac);
  }
  EXPECT_EQ(stack_->Dns6Servers(), std::vector<Ip6Address>{dns});
  Run(3s);
  EXPECT_EQ(Address(kOurSlaac)->state, Ip6AddressState::kPreferred);
  // RDNSS lifetime over: the server goes (RFC 8106 §5.1).
  Run(600s);
  EXPECT_TRUE(stack_->Dns6Servers().empty());
}

TEST_F(NdTest, PrefixLifetimesDeprecateThenRemove) {
  Start();
  Settle();
  const NdPrefixInfo pi{*Ip6Address::Parse("fd77::"), 64, true, true, 20, 10};
  Exchange(Ra(1800, std::span(&pi, 1)));
  Run(11s);
  ASSERT_NE(Address(kOurSlaac), nullptr);
  EXPECT_EQ(Address(kOurSlaac)->state, Ip6AddressState::kDeprecated);
  Run(10s);
  EXPECT_EQ(Address(kOurSlaac), nullptr);
  std::lock_guard lock(stack_->mutex());
  EXPECT_NE(HopAddress(stack_->ip6().NextHop(kPeerGlobal)), kPeerGlobal);  // prefix no longer on-link
}

TEST_F(NdTest, TwoHourRuleLimitsShortenedValidLifetime) {
  Start();
  Settle();
  NdPrefixInfo pi{*Ip6Address::Parse("fd77::"), 64, true, true, 86400, 3600};
  Exchange(Ra(1800, std::span(&pi, 1)));
  pi.valid_lifetime = 60;  // RFC 4862 §5.5.3 (e): not believed below two hours
  pi.preferred_lifetime = 30;
  Exchange(Ra(1800, std::span(&pi, 1)));
  EXPECT_EQ(Address(kOurSlaac)->valid_until, clock_.Now() + 7200s);
}

TEST_F(NdTest, NonSlash64PrefixOnLinkButNotAutoconfigured) {
  Start();
  Settle();
  const NdPrefixInfo pi{*Ip6Address::Parse("fd77::"), 56, true, true, 3600, 1800};
  Exchange(Ra(0, std::span(&pi, 1)));
  for (const auto& e : stack_->ip6_addresses().entries()) EXPECT_NE(e.source, Ip6AddressSource::kSlaac);
  std::lock_guard lock(stack_->mutex());
  EXPECT_EQ(HopAddress(stack_->ip6().NextHop(kPeerGlobal)), kPeerGlobal);
}

TEST_F(NdTest, AutonomousWithoutOnLinkFlag) {
  Start();
  Settle();
  const NdPrefixInfo pi{*Ip6Address::Parse("fd77::"), 64, false, true, 3600, 1800};
  Exchange(Ra(1800, std::span(&pi, 1)));
  EXPECT_NE(Address(kOurSlaac), nullptr);
  std::lock_guard lock(stack_->mutex());
  // Not on-link: the peer is reached through the router (RFC 5942).
  EXPECT_EQ(HopAddress(stack_->ip6().NextHop(kPeerGlobal)), kRouterLinkLocal);
}

TEST_F(NdTest, RouterLifetimeZeroRemovesRouter) {
  Start();
  Settle();
  Exchange(Ra(1800, {}));
  EXPECT_EQ(stack_->ip6_routes().routers().size(), 1u);
  Exchange(Ra(0, {}));
  EXPECT_TRUE(stack_->ip6_routes().routers().empty());
}

TEST_F(NdTest, RouterExpiresWithItsLifetime) {
  Start();
  Settle();
  Exchange(Ra(30, {}));
  Run(31s);
  EXPECT_TRUE(stack_->ip6_routes().routers().empty());
}

TEST_F(NdTest, RedirectFromCurrentRouterChangesNextHop) {
  Start();
  Settle();
  KnowNeighbours();
  Exchange(Ra(1800, {}));
  NdRedirectMessage rd{kPeerLinkLocal, kFar, kPeerMac, {}};
  // From another node than the current first hop: ignored (RFC 4861 §8.1).
  Exchange(NdFrame(kPeerLinkLocal, kOurLinkLocal, Message(rd, kPeerLinkLocal, kOurLinkLocal)));
  {
    std::lock_guard lock(stack_->mutex());
    EXPECT_EQ(HopAddress(stack_->ip6().NextHop(kFar)), kRouterLinkLocal);
  }
  Exchange(NdFrame(kRouterLinkLocal, kOurLinkLocal, Message(rd, kRouterLinkLocal, kOurLinkLocal), 255, kRouterMac));
  std::lock_guard lock(stack_->mutex());
  EXPECT_EQ(HopAddress(stack_->ip6().NextHop(kFar)), kPeerLinkLocal);
}

TEST_F(NdTest, StablePrivacyInterfaceIds) {
  std::array<uint8_t, 16> secret{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  Start([&](StackConfig& c) { c.ip6_stable_secret = secret; });
  EXPECT_EQ(Address(kOurLinkLocal), nullptr);  // not EUI-64
  std::lock_guard lock(stack_->mutex());
  const auto a = stack_->nd().InterfaceIdFor(*Ip6Address::Parse("fd77::"), 0);
  EXPECT_EQ(a, stack_->nd().InterfaceIdFor(*Ip6Address::Parse("fd77::"), 0));  // stable
  EXPECT_NE(a, stack_->nd().InterfaceIdFor(*Ip6Address::Parse("fd78::"), 0));  // per prefix
  EXPECT_NE(a, stack_->nd().InterfaceIdFor(*Ip6Address::Parse("fd77::"), 1));  // per DAD try
  EXPECT_NE(a, kOurMac.Eui64InterfaceId());
}

}  // namespace
}  // namespace pytcp::testing
