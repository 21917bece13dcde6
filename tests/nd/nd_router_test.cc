// A router's Router Advertisements (PYTCP_RA, stack/nd/nd_router.cc), frame by frame under
// a virtual clock: what they carry, when they go (RFC 4861 §6.2.4), and the answer to a
// Router Solicitation (§6.2.6).
#include <gtest/gtest.h>

#include "stack/wire/icmp6_nd.h"
#include "tests/ip6/ip6_harness.h"

namespace pytcp::testing {
namespace {

class NdRouterTest : public Ip6Harness {
 protected:
  void SetUp() override {
    Start([](StackConfig& c) {
      c.ip6_mode = Ip6Mode::kStatic;
      c.ip6_addresses = {*Ip6Interface::Parse("fd78::1/64")};
      c.forwarding = true;
      c.router_advertisements = true;
      c.dns6 = {*Ip6Address::Parse("fd78::53")};
    });
  }
  static std::vector<Sent> Ras(const std::vector<Sent>& sent) {
    std::vector<Sent> out;
    for (const auto& s : sent) {
      if (s.is_icmp6() && s.icmp_type() == Icmp6Type::kRouterAdvertisement) out.push_back(s);
    }
    return out;
  }
};

TEST_F(NdRouterTest, AdvertisesItselfThePrefixTheMtuAndDns) {
  const auto ras = Ras(Run(2s));
  ASSERT_EQ(ras.size(), 1u);  // the first within a second of starting
  const Sent& s = ras[0];
  // §6.2.3: from our link-local address to all-nodes, hop limit 255.
  EXPECT_EQ(s.src, kOurLinkLocal);
  EXPECT_EQ(s.dst, Ip6Address::AllNodesMulticast());
  EXPECT_EQ(s.eth_dst, MacAddress::FromIp6Multicast(Ip6Address::AllNodesMulticast()));
  EXPECT_EQ(s.hop_limit, 255);
  auto ra = NdRouterAdvertView::From(s.icmp());
  ASSERT_TRUE(ra.has_value());
  EXPECT_EQ(ra->router_lifetime(), 1800);
  EXPECT_EQ(ra->cur_hop_limit(), 64);
  EXPECT_EQ(ra->source_link_layer_address(), kOurMac);
  EXPECT_EQ(ra->mtu(), 1500u);
  int prefixes = 0, rdnss = 0;
  for (const NdOption& o : ra->options()) {
    if (o.type() == NdOptionType::kPrefixInformation) {
      ++prefixes;
      const NdPrefixInfo pi = o.prefix_info();
      EXPECT_EQ(pi.prefix, *Ip6Address::Parse("fd78::"));
      EXPECT_EQ(pi.prefix_length, 64);
      EXPECT_TRUE(pi.on_link);
      EXPECT_TRUE(pi.autonomous);
      EXPECT_EQ(pi.valid_lifetime, 2592000u);
      EXPECT_EQ(pi.preferred_lifetime, 604800u);
    }
    if (o.type() == NdOptionType::kRdnss) {
      ++rdnss;
      ASSERT_EQ(o.rdnss_count(), 1u);
      EXPECT_EQ(o.rdnss_address(0), *Ip6Address::Parse("fd78::53"));
      EXPECT_EQ(o.rdnss_lifetime(), 1800u);
    }
  }
  EXPECT_EQ(prefixes, 1);
  EXPECT_EQ(rdnss, 1);
}

// §6.2.4: the first three at most 16 s apart, then every 198..600 s.
TEST_F(NdRouterTest, UnsolicitedAdvertisementsFollowTheInitialThenTheSlowPace) {
  EXPECT_EQ(Ras(Run(50s)).size(), 4u);  // t < 1 s, then +16 s three times
  const size_t later = Ras(Run(600s)).size();
  EXPECT_GE(later, 1u);
  EXPECT_LE(later, 4u);  // 600 s / 198 s
}

// §6.2.6: a solicitation is answered (multicast) within MAX_RA_DELAY_TIME (0.5 s) when the
// last multicast advertisement is 3 s old or more; its source link-layer address is learned.
TEST_F(NdRouterTest, ASolicitationIsAnsweredWithinHalfASecond) {
  (void)Run(20s);  // the first two unsolicited ones: the last at most 16 s ago
  (void)Run(3s);   // and now at least 3 s after it
  NdRouterSolicitMessage rs{kPeerMac};
  const auto frame = Frame(MacAddress::FromIp6Multicast(Ip6Address::AllRoutersMulticast()),
                           Hdr(kPeerLinkLocal, Ip6Address::AllRoutersMulticast(), Ip6NextHeader::kIcmp6, 255),
                           {}, Message(rs, kPeerLinkLocal, Ip6Address::AllRoutersMulticast()));
  auto sent = Exchange(frame);
  EXPECT_EQ(MovedBy("nd.rx_rs"), 1);
  auto answered = Ras(sent);
  for (const auto& s : Run(600ms)) answered.push_back(s);
  EXPECT_EQ(Ras(answered).size(), 1u);
  std::lock_guard lock(stack_->mutex());
  const auto* n = stack_->nd().cache().Find(kPeerLinkLocal);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->mac, kPeerMac);
}

}  // namespace
}  // namespace pytcp::testing
