// ICMPv6 on one stack: echo (unicast and multicast), the rules of RFC 4443 §2.4 for
// errors (rate limit, never about errors, never to an unspecified source), received errors
// delivered to the transport that sent the packet, and ND failure reported as EHOSTUNREACH.
#include <gtest/gtest.h>

#include <cerrno>

#include "tests/ip6/ip6_harness.h"

namespace pytcp::testing {
namespace {

struct FakeTransport : Ip6Transport {
  void Receive(const Ip6PacketInfo&, ByteSpan, Instant) override { ++packets; }
  void ReceiveError(const Ip6ErrorInfo& e, Instant) override {
    errors.push_back(e);
    l4.assign(e.orig_l4.begin(), e.orig_l4.end());
  }
  int packets = 0;
  std::vector<Ip6ErrorInfo> errors;
  std::vector<uint8_t> l4;
};

class Icmp6Test : public Ip6Harness {
 protected:
  void SetUp() override {
    Start([](StackConfig& c) {
      c.ip6_mode = Ip6Mode::kStatic;
      c.ip6_addresses = {*Ip6Interface::Parse("fd77::2/64")};
    });
    KnowNeighbours();
    Settle();
  }
  std::vector<uint8_t> Unknown(const Ip6Address& src) {
    std::vector<uint8_t> payload(8, 0);
    return Frame(kOurMac, Hdr(src, kOurGlobal, static_cast<Ip6NextHeader>(253)), {}, payload);
  }
};

TEST_F(Icmp6Test, ErrorsAreRateLimited) {
  size_t errors = 0;
  for (int i = 0; i < 80; ++i) errors += Exchange(Unknown(kPeerGlobal)).size();
  EXPECT_EQ(errors, 50u);  // the bucket's burst; time has not moved
  EXPECT_EQ(MovedBy("icmp6.tx_rate_limited"), 1);
  clock_.Advance(100ms);  // 100 per second: 10 more
  for (int i = 0; i < 20; ++i) errors += Exchange(Unknown(kPeerGlobal)).size();
  EXPECT_EQ(errors, 60u);
}

TEST_F(Icmp6Test, NoErrorToUnspecifiedSource) {
  EXPECT_TRUE(Exchange(Unknown(Ip6Address())).empty());
  EXPECT_EQ(MovedBy("icmp6.tx_suppressed"), 1);
  EXPECT_EQ(MovedBy("icmp6.no_reply_src_unspecified"), 1);
}

// RFC 4443 §2.4 (e.6): an echo request from the unspecified address is not answered.
TEST_F(Icmp6Test, EchoFromUnspecifiedSourceIsNotAnswered) {
  auto msg = Echo(Ip6Address(), kOurGlobal, true, 4, 4, EchoData(8));
  EXPECT_TRUE(Exchange(Frame(kOurMac, Hdr(Ip6Address(), kOurGlobal, Ip6NextHeader::kIcmp6), {}, msg))
                  .empty());
  EXPECT_EQ(MovedBy("icmp6.rx_echo_requests"), 1);
  EXPECT_EQ(MovedBy("icmp6.no_reply_src_unspecified"), 1);
  EXPECT_EQ(MovedBy("icmp6.tx_echo_replies"), 0);
}

// A multicast source never passes the IPv6 parser; handed to the engine directly it gets
// no reply either.
TEST_F(Icmp6Test, EchoFromMulticastSourceIsNotAnswered) {
  const Ip6Address group = Ip6Address::AllNodesMulticast();
  auto msg = Echo(group, kOurGlobal, true, 4, 4, EchoData(8));
  EXPECT_TRUE(Exchange(Frame(kOurMac, Hdr(group, kOurGlobal, Ip6NextHeader::kIcmp6), {}, msg)).empty());
  EXPECT_EQ(MovedBy("icmp6.rx_messages"), 0);
  Ip6PacketInfo info;
  info.src = group;
  info.dst = kOurGlobal;
  info.hop_limit = 64;
  {
    std::lock_guard lock(stack_->mutex());
    stack_->icmp6().Receive(info, msg, clock_.Now());
  }
  EXPECT_TRUE(peer_->Drain().empty());
  EXPECT_EQ(MovedBy("icmp6.no_reply_src_multicast"), 1);  // since the Exchange above
}

TEST_F(Icmp6Test, NoErrorAboutAnError) {
  // An ICMPv6 error behind a Destination Options header with an option whose action bits
  // ask for a Parameter Problem: RFC 4443 §2.4 (e.1) forbids it.
  std::vector<uint8_t> ext = {static_cast<uint8_t>(Ip6NextHeader::kIcmp6), 0, 0x9e, 4, 0, 0, 0, 0};
  std::vector<uint8_t> quoted(48, 0);
  std::vector<uint8_t> err(8 + quoted.size());
  Icmp6Header::DestinationUnreachable(Icmp6UnreachableCode::kPort)
      .Emit(err, ByteSpan(err).subspan(8), Icmp6PseudoHeaderSum(kPeerGlobal, kOurGlobal, err.size()));
  auto frame = Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kDestinationOptions), ext, err);
  EXPECT_TRUE(Exchange(frame).empty());
  EXPECT_EQ(MovedBy("icmp6.tx_suppressed"), 1);
}

TEST_F(Icmp6Test, EchoToMulticastAnsweredFromUnicast) {
  auto msg = Echo(kPeerLinkLocal, Ip6Address::AllNodesMulticast(), true, 4, 4, EchoData(8));
  auto sent = Exchange(Frame(MacAddress::FromIp6Multicast(Ip6Address::AllNodesMulticast()),
                             Hdr(kPeerLinkLocal, Ip6Address::AllNodesMulticast(), Ip6NextHeader::kIcmp6),
                             {}, msg));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].src, kOurLinkLocal);  // RFC 4443 §4.2
  EXPECT_EQ(sent[0].upper_payload, Echo(kOurLinkLocal, kPeerLinkLocal, false, 4, 4, EchoData(8)));
}

TEST_F(Icmp6Test, BadChecksumDropped) {
  auto msg = Echo(kPeerGlobal, kOurGlobal, true, 4, 4, EchoData(8));
  msg[2] ^= 1;
  EXPECT_TRUE(Exchange(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kIcmp6), {}, msg)).empty());
  EXPECT_EQ(MovedBy("icmp6.rx_drop_malformed"), 1);
}

TEST_F(Icmp6Test, ReceivedErrorReachesTransport) {
  FakeTransport udp;
  {
    std::lock_guard lock(stack_->mutex());
    stack_->ip6().RegisterTransport(17, &udp);
  }
  // Port unreachable quoting a UDP datagram we sent (header + 8 bytes of UDP).
  std::vector<uint8_t> quoted(kIp6HeaderSize + 8);
  Hdr(kOurGlobal, kFar, Ip6NextHeader::kUdp).Emit(quoted, 8);
  const std::vector<uint8_t> udp_header = {0x9c, 0x40, 0x00, 0x07, 0, 8, 0, 0};
  std::copy(udp_header.begin(), udp_header.end(), quoted.begin() + kIp6HeaderSize);
  std::vector<uint8_t> err(8 + quoted.size());
  std::copy(quoted.begin(), quoted.end(), err.begin() + 8);
  Icmp6Header::DestinationUnreachable(Icmp6UnreachableCode::kPort)
      .Emit(err, quoted, Icmp6PseudoHeaderSum(kFar, kOurGlobal, err.size()));
  EXPECT_TRUE(Exchange(Frame(kOurMac, Hdr(kFar, kOurGlobal, Ip6NextHeader::kIcmp6), {}, err)).empty());
  ASSERT_EQ(udp.errors.size(), 1u);
  EXPECT_EQ(udp.errors[0].error, ECONNREFUSED);
  EXPECT_EQ(udp.errors[0].orig_dst, kFar);
  EXPECT_EQ(udp.errors[0].reporter, kFar);
  EXPECT_FALSE(udp.errors[0].local);
  EXPECT_EQ(udp.l4, udp_header);
  std::lock_guard lock(stack_->mutex());
  stack_->ip6().RegisterTransport(17, nullptr);
}

TEST_F(Icmp6Test, NeighbourFailureReportedAsHostUnreachable) {
  FakeTransport udp;
  {
    std::lock_guard lock(stack_->mutex());
    stack_->ip6().RegisterTransport(17, &udp);
    PacketBuffer buf(64);
    const std::vector<uint8_t> udp_header = {0x9c, 0x40, 0x00, 0x07, 0, 8, 0, 0};
    buf.Append(udp_header);
    Ip6SendParams p;
    p.dst = *Ip6Address::Parse("fd77::99");
    p.next_header = 17;
    EXPECT_TRUE(stack_->ip6().Send(p, buf, clock_.Now()).ok());  // queued for ND
  }
  Run(5s);
  ASSERT_EQ(udp.errors.size(), 1u);
  EXPECT_EQ(udp.errors[0].error, EHOSTUNREACH);
  EXPECT_TRUE(udp.errors[0].local);
  std::lock_guard lock(stack_->mutex());
  stack_->ip6().RegisterTransport(17, nullptr);
}

}  // namespace
}  // namespace pytcp::testing
