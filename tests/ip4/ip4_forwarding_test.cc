// IPv4 forwarding (PYTCP_FORWARDING=1, stack/ip4/ip4_forwarding.cc), frame by frame: what
// leaves the router for each datagram the peer hands it (RFC 1812 §5.2, §5.3).
#include <gtest/gtest.h>

#include <vector>

#include "stack/wire/checksum.h"
#include "stack/wire/ethernet.h"
#include "tests/ip4/ip4_harness.h"

namespace pytcp::ip4_testing {
namespace {

constexpr Ip4Address kFar(10, 78, 0, 9);

class Ip4ForwardingTest : public Ip4EngineTest {
 protected:
  void SetUp() override { Start(false, /*forwarding=*/true); }

  // A UDP datagram from the peer to `dst` through us (our MAC), `payload_len` bytes.
  static std::vector<uint8_t> Through(Ip4Address src, Ip4Address dst, uint8_t ttl,
                                      size_t payload_len, bool df = false) {
    Ip4Header h = Header(src, dst, IpProto::kUdp);
    h.ttl = ttl;
    h.dont_fragment = df;
    std::vector<uint8_t> l4(kUdpHeaderSize + payload_len);
    for (size_t i = 0; i < payload_len; ++i) l4[kUdpHeaderSize + i] = static_cast<uint8_t>(i * 7);
    UdpHeader{4000, 5000}.Emit(l4, ByteSpan(l4).subspan(kUdpHeaderSize),
                               PseudoHeaderSum4(src, dst, 17, static_cast<uint32_t>(l4.size())));
    return Build(Frame{kOurMac, h, l4});
  }

  struct Sent {
    MacAddress to;
    std::vector<uint8_t> ip;  // the IPv4 datagram
  };
  static std::vector<Sent> Parse(const std::vector<std::vector<uint8_t>>& frames) {
    std::vector<Sent> out;
    for (const auto& f : frames) {
      auto eth = EthernetView::Parse(f);
      if (!eth.ok() || eth->ethertype() != EtherType::kIp4) continue;
      auto ip = Ip4View::Parse(eth->payload());  // verifies the header checksum
      EXPECT_TRUE(ip.ok()) << "a sent datagram failed to parse";
      if (!ip.ok()) continue;
      out.push_back({eth->dst(), std::vector<uint8_t>(ip->datagram().begin(), ip->datagram().end())});
    }
    return out;
  }
  static Ip4View View(const Sent& s) { return *Ip4View::Parse(s.ip); }
};

TEST_F(Ip4ForwardingTest, ForwardsWithTheTtlLoweredAndRedirectsTheSource) {
  const auto in = Through(kPeerIp, kFar, 64, 100);
  const auto sent = Parse(Exchange(in));
  ASSERT_EQ(sent.size(), 2u);
  // §5.2.7.2: the source is on our network and so is the next hop (the default gateway):
  // a host Redirect to the gateway, quoting the datagram as it came.
  const Ip4View redirect = View(sent[0]);
  EXPECT_EQ(sent[0].to, kPeerMac);
  EXPECT_EQ(redirect.src(), kOurIp);
  EXPECT_EQ(redirect.dst(), kPeerIp);
  ASSERT_EQ(redirect.protocol(), IpProto::kIcmp4);
  auto icmp = Icmp4View::Parse(redirect.payload());
  ASSERT_TRUE(icmp.ok());
  EXPECT_EQ(icmp->type(), Icmp4Type::kRedirect);
  EXPECT_EQ(icmp->code(), 1);
  EXPECT_EQ(icmp->gateway(), kGwIp);
  const ByteSpan quoted = icmp->original_datagram();
  EXPECT_TRUE(std::equal(quoted.begin(), quoted.end(), in.begin() + kEthernetHeaderSize));
  // The datagram itself goes on to the gateway, TTL 63, the rest unchanged.
  const Ip4View fwd = View(sent[1]);
  EXPECT_EQ(sent[1].to, kGwMac);
  EXPECT_EQ(fwd.ttl(), 63);
  EXPECT_EQ(fwd.src(), kPeerIp);
  EXPECT_EQ(fwd.dst(), kFar);
  EXPECT_EQ(fwd.id(), 0x1234);
  const ByteSpan original = ByteSpan(in).subspan(kEthernetHeaderSize + 20, kUdpHeaderSize + 100);
  EXPECT_TRUE(std::equal(fwd.payload().begin(), fwd.payload().end(), original.begin(), original.end()));
  const auto moved = Moved();
  EXPECT_EQ(moved.at("ip4.fwd_forwarded"), 1);
  EXPECT_EQ(moved.at("ip4.fwd_redirects"), 1);
  EXPECT_EQ(moved.count("ip4.rx_drop_not_for_us"), 0u);
}

// Linux's ip_rt_send_redirect: redirects to one source are spaced 20 ms, doubling, at most
// 9; the datagrams are forwarded all the same.
TEST_F(Ip4ForwardingTest, RedirectsToOneSourceBackOff) {
  int redirects = 0;
  for (int i = 0; i < 200; ++i) {
    for (const auto& f : Parse(Exchange(Through(kPeerIp, kFar, 64, 10)))) {
      if (View(f).protocol() == IpProto::kIcmp4) ++redirects;
    }
    clock_.Advance(std::chrono::milliseconds(50));
  }
  // Gaps of 20, 40, 80 ... ms: the 9th by 5.1 s, then none for the rest of the 10 s.
  EXPECT_EQ(redirects, 9);
  EXPECT_EQ(stack_->CounterSnapshot().at("ip4.fwd_forwarded"), 200u);
  // After 20 s in which the source needed none, it is told again.
  clock_.Advance(std::chrono::seconds(21));
  const auto sent = Parse(Exchange(Through(kPeerIp, kFar, 64, 10)));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(View(sent[0]).protocol(), IpProto::kIcmp4);
}

TEST_F(Ip4ForwardingTest, TtlOneGetsTimeExceededAndGoesNoFurther) {
  const auto sent = Parse(Exchange(Through(kPeerIp, kFar, 1, 20)));
  ASSERT_EQ(sent.size(), 1u);
  auto icmp = Icmp4View::Parse(View(sent[0]).payload());
  ASSERT_TRUE(icmp.ok());
  EXPECT_EQ(View(sent[0]).dst(), kPeerIp);
  EXPECT_EQ(icmp->type(), Icmp4Type::kTimeExceeded);
  EXPECT_EQ(icmp->code(), 0);  // in transit
  EXPECT_EQ(Moved().at("ip4.fwd_drop_hop_limit"), 1);
}

TEST_F(Ip4ForwardingTest, NoRouteGetsNetUnreachable) {
  StaticRoute def;
  def.gateway = IpAddress(kGwIp);
  ASSERT_TRUE(stack_->RemoveStaticRoute(def).ok());
  const auto sent = Parse(Exchange(Through(kPeerIp, kFar, 64, 20)));
  ASSERT_EQ(sent.size(), 1u);
  auto icmp = Icmp4View::Parse(View(sent[0]).payload());
  ASSERT_TRUE(icmp.ok());
  EXPECT_EQ(icmp->type(), Icmp4Type::kDestinationUnreachable);
  EXPECT_EQ(icmp->code(), 0);
  EXPECT_EQ(Moved().at("ip4.fwd_drop_no_route"), 1);
}

TEST_F(Ip4ForwardingTest, TooBigWithDfGetsFragmentationNeededWithTheMtu) {
  const auto sent = Parse(Exchange(Through(kPeerIp, kFar, 64, 1600, /*df=*/true)));
  ASSERT_EQ(sent.size(), 1u);
  auto icmp = Icmp4View::Parse(View(sent[0]).payload());
  ASSERT_TRUE(icmp.ok());
  EXPECT_EQ(icmp->type(), Icmp4Type::kDestinationUnreachable);
  EXPECT_EQ(icmp->code(), 4);
  EXPECT_EQ(icmp->next_hop_mtu(), 1500);
  EXPECT_EQ(Moved().at("ip4.fwd_drop_too_big"), 1);
}

TEST_F(Ip4ForwardingTest, TooBigWithoutDfIsFragmentedWithTheLoweredTtl) {
  const auto in = Through(kPeerIp, kFar, 9, 1600);
  const auto sent = Parse(Exchange(in));
  ASSERT_EQ(sent.size(), 3u);  // the redirect, then two fragments
  std::vector<uint8_t> joined;
  for (size_t i = 1; i < sent.size(); ++i) {
    const Ip4View f = View(sent[i]);
    EXPECT_EQ(sent[i].to, kGwMac);
    EXPECT_EQ(f.ttl(), 8);
    EXPECT_EQ(f.id(), 0x1234);
    EXPECT_LE(f.total_length(), 1500);
    EXPECT_EQ(f.fragment_offset(), joined.size());
    EXPECT_EQ(f.more_fragments(), i + 1 < sent.size());
    joined.insert(joined.end(), f.payload().begin(), f.payload().end());
  }
  const ByteSpan original = ByteSpan(in).subspan(kEthernetHeaderSize + 20, kUdpHeaderSize + 1600);
  EXPECT_TRUE(std::equal(joined.begin(), joined.end(), original.begin(), original.end()));
}

TEST_F(Ip4ForwardingTest, MartiansAreNotForwarded) {
  // RFC 1812 §5.3.7 and RFC 3927 §7: loopback, this-network, class E and link-local
  // sources and destinations.
  const Ip4Address bad[] = {Ip4Address(127, 0, 0, 1), Ip4Address(0, 1, 2, 3), Ip4Address(240, 0, 0, 1),
                            Ip4Address(169, 254, 1, 1)};
  for (Ip4Address a : bad) {
    EXPECT_TRUE(Exchange(Through(kPeerIp, a, 64, 20)).empty()) << a;
    EXPECT_EQ(Moved().at("ip4.fwd_drop_martian"), 1) << a;
  }
  EXPECT_TRUE(Exchange(Through(Ip4Address(169, 254, 0, 7), kFar, 64, 20)).empty());
  EXPECT_EQ(Moved().at("ip4.fwd_drop_martian"), 1);
}

// A host (the default) drops what is not for it (RFC 1122 §3.3.1.7).
TEST_F(Ip4EngineTest, AHostDoesNotForward) {
  Ip4Header h = Header(kPeerIp, kFar, IpProto::kUdp);
  std::vector<uint8_t> l4(kUdpHeaderSize + 4);
  UdpHeader{4000, 5000}.Emit(l4, ByteSpan(l4).subspan(kUdpHeaderSize),
                             PseudoHeaderSum4(kPeerIp, kFar, 17, static_cast<uint32_t>(l4.size())));
  EXPECT_TRUE(Exchange(Build(Frame{kOurMac, h, l4})).empty());
  EXPECT_EQ(Moved().at("ip4.rx_drop_not_for_us"), 1);
  EXPECT_EQ(Moved().count("ip4.fwd_forwarded"), 0u);
}

}  // namespace
}  // namespace pytcp::ip4_testing
