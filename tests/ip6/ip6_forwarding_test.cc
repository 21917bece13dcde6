// IPv6 forwarding (PYTCP_FORWARDING=1, stack/ip6/ip6_forwarding.cc), frame by frame: what
// leaves the router for each packet the peer hands it (RFC 8200, RFC 4443), and the R flag
// its Neighbor Advertisements carry (RFC 4861 §7.2.4).
#include <gtest/gtest.h>

#include <vector>

#include "stack/wire/icmp6_nd.h"
#include "tests/ip6/ip6_harness.h"

namespace pytcp::testing {
namespace {

class Ip6ForwardingTest : public Ip6Harness {
 protected:
  void SetUp() override { Begin(true); }
  void Begin(bool with_gateway) {
    Start([&](StackConfig& c) {
      c.ip6_mode = Ip6Mode::kStatic;
      c.ip6_addresses = {*Ip6Interface::Parse("fd77::2/64")};
      if (with_gateway) c.ip6_gateway = kRouterLinkLocal;
      c.forwarding = true;
    });
    KnowNeighbours();
    Settle();
  }
  std::vector<uint8_t> ToFar(uint8_t hop_limit, size_t data = 16,
                             const Ip6Address& src = kPeerGlobal) {
    auto msg = Echo(src, kFar, true, 0x77, 1, EchoData(data));
    return Frame(kOurMac, Hdr(src, kFar, Ip6NextHeader::kIcmp6, hop_limit), {}, msg);
  }
};

// The peer is a neighbour on the link the packet leaves by again: it is told of the better
// first hop (RFC 4861 §8.2), and the packet goes on all the same.
TEST_F(Ip6ForwardingTest, ForwardsToTheRouterWithTheHopLimitLoweredAndRedirectsTheSource) {
  const auto in = ToFar(64, 56);
  auto sent = Exchange(in);
  ASSERT_EQ(sent.size(), 2u);
  // The Redirect: from our link-local address, hop limit 255, to the source; the target is
  // the router's link-local address with its MAC, the destination the far host, and the
  // packet as it came in the Redirected Header option.
  ASSERT_TRUE(sent[0].is_icmp6());
  EXPECT_EQ(sent[0].icmp().type(), Icmp6Type::kRedirect);
  EXPECT_TRUE(sent[0].src.is_link_local());
  EXPECT_EQ(sent[0].dst, kPeerGlobal);
  EXPECT_EQ(sent[0].hop_limit, 255);
  auto rd = NdRedirectView::From(sent[0].icmp());
  ASSERT_TRUE(rd.has_value());
  EXPECT_EQ(rd->target(), kRouterLinkLocal);
  EXPECT_EQ(rd->destination(), kFar);
  EXPECT_EQ(rd->target_link_layer_address(), kRouterMac);
  const auto quoted = rd->redirected_packet();
  ASSERT_TRUE(quoted.has_value());
  const ByteSpan original = ByteSpan(in).subspan(kEthernetHeaderSize);
  ASSERT_GE(quoted->size(), original.size());
  EXPECT_TRUE(std::equal(original.begin(), original.end(), quoted->begin()));
  // The packet itself, to the router.
  EXPECT_EQ(sent[1].eth_dst, kRouterMac);
  EXPECT_EQ(sent[1].src, kPeerGlobal);
  EXPECT_EQ(sent[1].dst, kFar);
  EXPECT_EQ(sent[1].hop_limit, 63);
  EXPECT_EQ(sent[1].upper_payload, Echo(kPeerGlobal, kFar, true, 0x77, 1, EchoData(56)));
  EXPECT_EQ(MovedBy("ip6.fwd_forwarded"), 1);
  EXPECT_EQ(MovedBy("ip6.fwd_redirects"), 1);
  EXPECT_EQ(MovedBy("nd.tx_redirect"), 1);
  EXPECT_EQ(MovedBy("ip6.rx_drop_not_for_us"), 0);
  // A second packet at once is forwarded without another Redirect (the limiter's gap).
  sent = Exchange(ToFar(64, 8));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].dst, kFar);
}

// A source that is not a neighbour (its route goes through a router) gets no Redirect.
TEST_F(Ip6ForwardingTest, NoRedirectToASourceOffTheLink) {
  const Ip6Address off_link = *Ip6Address::Parse("fd79::5");
  auto sent = Exchange(ToFar(64, 8, off_link));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].dst, kFar);
  EXPECT_EQ(MovedBy("ip6.fwd_redirects"), 0);
}

TEST_F(Ip6ForwardingTest, HopLimitOneGetsTimeExceeded) {
  auto sent = Exchange(ToFar(1));
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].is_icmp6());
  EXPECT_EQ(sent[0].dst, kPeerGlobal);
  EXPECT_EQ(sent[0].icmp().type(), Icmp6Type::kTimeExceeded);
  EXPECT_EQ(sent[0].icmp().code(), 0);  // hop limit exceeded in transit
  EXPECT_EQ(MovedBy("ip6.fwd_drop_hop_limit"), 1);
}

TEST_F(Ip6ForwardingTest, TooBigGetsPacketTooBigWithTheMtu) {
  auto sent = Exchange(ToFar(64, 1600));
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].is_icmp6());
  EXPECT_EQ(sent[0].icmp().type(), Icmp6Type::kPacketTooBig);
  EXPECT_EQ(sent[0].icmp().mtu(), 1500u);
  EXPECT_EQ(MovedBy("ip6.fwd_drop_too_big"), 1);
}

// RFC 4291 §2.5.6: a link-local source never leaves its link; RFC 4443 §3.1: its sender
// hears "beyond scope of source address" (code 2).
TEST_F(Ip6ForwardingTest, LinkLocalIsNeverForwarded) {
  auto sent = Exchange(ToFar(64, 16, kPeerLinkLocal));
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].is_icmp6());
  EXPECT_EQ(sent[0].dst, kPeerLinkLocal);
  EXPECT_EQ(sent[0].icmp().type(), Icmp6Type::kDestinationUnreachable);
  EXPECT_EQ(sent[0].icmp().code(), 2);
  EXPECT_EQ(MovedBy("ip6.fwd_drop_martian"), 1);
  EXPECT_EQ(MovedBy("ip6.fwd_forwarded"), 0);
}

TEST_F(Ip6ForwardingTest, NoRouteGetsDestinationUnreachable) {
  Begin(false);
  auto sent = Exchange(ToFar(64));
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].is_icmp6());
  EXPECT_EQ(sent[0].icmp().type(), Icmp6Type::kDestinationUnreachable);
  EXPECT_EQ(sent[0].icmp().code(), 0);  // no route to destination
  EXPECT_EQ(MovedBy("ip6.fwd_drop_no_route"), 1);
}

TEST_F(Ip6ForwardingTest, NeighborAdvertisementsSayRouter) {
  NdNeighborSolicitMessage ns{kOurGlobal, kPeerMac};
  auto sent = Exchange(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kIcmp6, 255), {},
                             Message(ns, kPeerGlobal, kOurGlobal)));
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].is_icmp6());
  auto na = NdNeighborAdvertView::From(sent[0].icmp());
  ASSERT_TRUE(na.has_value());
  EXPECT_TRUE(na->router());
}

}  // namespace
}  // namespace pytcp::testing
