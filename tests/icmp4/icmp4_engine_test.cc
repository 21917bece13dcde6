// ICMPv4 (RFC 792, RFC 1122 §3.2.2) on one stack, driven frame by frame: echo, the errors
// it sends (protocol unreachable, time exceeded) and the ones it must never send or answer
// (RFC 1122 §3.2.2 and §3.2.1.3: invalid sources, broadcasts, rate limits).
#include "tests/ip4/ip4_harness.h"

namespace pytcp {
namespace {
using namespace ip4_testing;

class Icmp4EngineTest : public Ip4EngineTest {};

TEST_F(Icmp4EngineTest, EchoRequestGetsExactReply) {
  auto sent = Exchange(Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kIcmp4),
                              Echo(Icmp4Type::kEchoRequest, 0x4242, 7, 56)}));
  ASSERT_EQ(sent.size(), 1u);
  auto eth = EthernetView::Parse(sent[0]);
  ASSERT_TRUE(eth.ok());
  EXPECT_EQ(eth->dst(), kPeerMac);
  EXPECT_EQ(eth->src(), kOurMac);
  auto ip = Ip4View::Parse(eth->payload());
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->src(), kOurIp);
  EXPECT_EQ(ip->dst(), kPeerIp);
  EXPECT_EQ(ip->ttl(), 64);
  EXPECT_EQ(ip->protocol(), IpProto::kIcmp4);
  // The reply is byte for byte the request with the type changed and checksum redone.
  EXPECT_EQ(std::vector<uint8_t>(ip->payload().begin(), ip->payload().end()),
            Echo(Icmp4Type::kEchoReply, 0x4242, 7, 56));
  EXPECT_EQ(Moved(), (std::map<std::string, int64_t>{{"ether.rx_frames", 1},
                                                     {"ether.tx_frames", 1},
                                                     {"icmp4.rx_echo_requests", 1},
                                                     {"icmp4.rx_messages", 1},
                                                     {"icmp4.tx_echo_replies", 1},
                                                     {"ip4.rx_delivered", 1},
                                                     {"ip4.rx_packets", 1},
                                                     {"ip4.tx_packets", 1}}));
}

TEST_F(Icmp4EngineTest, BadIcmpChecksumIsDroppedAndCounted) {
  auto frame = Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kIcmp4),
                      Echo(Icmp4Type::kEchoRequest, 1, 1, 8)});
  frame[kEthernetHeaderSize + 20 + 9] ^= 0x01;  // data byte
  EXPECT_TRUE(Exchange(frame).empty());
  EXPECT_EQ(Moved()["icmp4.rx_drop_malformed"], 1);
}

TEST_F(Icmp4EngineTest, UnknownProtocolGetsProtocolUnreachableQuotingTheDatagram) {
  Frame f{kOurMac, Header(kPeerIp, kOurIp, static_cast<IpProto>(253)), std::vector<uint8_t>(30, 7)};
  auto sent = Exchange(Build(f));
  ASSERT_EQ(sent.size(), 1u);
  auto ip = Ip4View::Parse(EthernetView::Parse(sent[0])->payload());
  ASSERT_TRUE(ip.ok());
  auto icmp = Icmp4View::Parse(ip->payload());
  ASSERT_TRUE(icmp.ok());
  EXPECT_EQ(icmp->type(), Icmp4Type::kDestinationUnreachable);
  EXPECT_EQ(icmp->code(), static_cast<uint8_t>(Icmp4UnreachableCode::kProtocol));
  ASSERT_EQ(icmp->original_datagram().size(), 50u);  // the whole 50-byte datagram fits
  EXPECT_EQ(Ip4Address::FromBytes(icmp->original_datagram().data() + 12), kPeerIp);
  EXPECT_EQ(Moved()["ip4.rx_drop_unknown_protocol"], 1);
}

TEST_F(Icmp4EngineTest, BroadcastEchoAndBroadcastToClosedPortStayQuiet) {
  EXPECT_TRUE(Exchange(Build({MacAddress::Broadcast(),
                              Header(kPeerIp, Ip4Address::Broadcast(), IpProto::kIcmp4),
                              Echo(Icmp4Type::kEchoRequest, 1, 1, 8)}))
                  .empty());
  EXPECT_EQ(Moved()["icmp4.rx_drop_broadcast_echo"], 1);
  std::vector<uint8_t> udp(8 + 4, 0);
  UdpHeader{1000, 2000}.Emit(udp, ByteSpan(udp).subspan(8),
                             PseudoHeaderSum4(kPeerIp, Ip4Address(10, 77, 0, 255), 17, 12));
  EXPECT_TRUE(Exchange(Build({MacAddress::Broadcast(),
                              Header(kPeerIp, Ip4Address(10, 77, 0, 255), IpProto::kUdp), udp}))
                  .empty());
  EXPECT_EQ(Moved()["udp.rx_drop_no_port"], 1);
}

TEST_F(Icmp4EngineTest, EchoFromInvalidSourceIsNotAnswered) {
  const struct {
    Ip4Address src;
    const char* counter;
  } kCases[] = {
      {Ip4Address(0, 0, 0, 0), "icmp4.no_reply_src_this_network"},
      {Ip4Address(0, 1, 2, 3), "icmp4.no_reply_src_this_network"},
      {Ip4Address(10, 77, 0, 255), "icmp4.no_reply_src_broadcast"},  // our directed broadcast
      {Ip4Address(240, 0, 0, 1), "icmp4.no_reply_src_reserved"},
      {Ip4Address(254, 255, 255, 255), "icmp4.no_reply_src_reserved"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.src.ToString());
    EXPECT_TRUE(Exchange(Build({kOurMac, Header(c.src, kOurIp, IpProto::kIcmp4),
                                Echo(Icmp4Type::kEchoRequest, 0x4242, 7, 56)}))
                    .empty());
    EXPECT_EQ(Moved(), (std::map<std::string, int64_t>{{"ether.rx_frames", 1},
                                                       {c.counter, 1},
                                                       {"icmp4.rx_echo_requests", 1},
                                                       {"icmp4.rx_messages", 1},
                                                       {"ip4.rx_delivered", 1},
                                                       {"ip4.rx_packets", 1}}));
  }
  // Multicast and limited broadcast sources never pass the IPv4 parser.
  for (const Ip4Address src : {Ip4Address(224, 0, 0, 1), Ip4Address(255, 255, 255, 255)}) {
    SCOPED_TRACE(src.ToString());
    EXPECT_TRUE(Exchange(Build({kOurMac, Header(src, kOurIp, IpProto::kIcmp4),
                                Echo(Icmp4Type::kEchoRequest, 1, 1, 8)}))
                    .empty());
    EXPECT_EQ(Moved()["ip4.rx_drop_invalid"], 1);
  }
  // A valid source still gets its reply.
  EXPECT_EQ(Exchange(Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kIcmp4),
                            Echo(Icmp4Type::kEchoRequest, 1, 1, 8)}))
                .size(),
            1u);
}

TEST_F(Icmp4EngineTest, IcmpEngineRefusesMulticastSourceItself) {
  const auto msg = Echo(Icmp4Type::kEchoRequest, 1, 1, 8);
  Ip4PacketInfo info{Ip4Address(239, 1, 2, 3), kOurIp, IpProto::kIcmp4, 64, 0, false, false, {}, {}};
  before_ = stack_->CounterSnapshot();
  {
    std::lock_guard lock(stack_->mutex());
    stack_->icmp4().Receive(info, msg, clock_.Now());
  }
  stack_->RunTimers();
  EXPECT_TRUE(peer_->Drain().empty());
  EXPECT_EQ(Moved()["icmp4.no_reply_src_multicast"], 1);
}

TEST_F(Icmp4EngineTest, NoUnreachableToInvalidSource) {
  for (const Ip4Address src : {Ip4Address(0, 0, 0, 0), Ip4Address(240, 0, 0, 9),
                               Ip4Address(10, 77, 0, 255)}) {
    SCOPED_TRACE(src.ToString());
    std::vector<uint8_t> udp(8 + 4, 0);
    UdpHeader{1000, 2000}.Emit(udp, ByteSpan(udp).subspan(8), PseudoHeaderSum4(src, kOurIp, 17, 12));
    EXPECT_TRUE(Exchange(Build({kOurMac, Header(src, kOurIp, IpProto::kUdp), udp})).empty());
    auto moved = Moved();
    EXPECT_EQ(moved["udp.rx_drop_no_port"], 1);
    EXPECT_EQ(moved["icmp4.tx_unreachable"], 0);
    EXPECT_EQ(moved["icmp4.no_reply_src_this_network"] + moved["icmp4.no_reply_src_reserved"] +
                  moved["icmp4.no_reply_src_broadcast"],
              1);
  }
  Frame f{kOurMac, Header(Ip4Address(240, 0, 0, 9), kOurIp, static_cast<IpProto>(253)),
          std::vector<uint8_t>(30, 7)};
  EXPECT_TRUE(Exchange(Build(f)).empty());
  EXPECT_EQ(Moved()["icmp4.no_reply_src_reserved"], 1);
}

TEST_F(Icmp4EngineTest, IcmpErrorsAreRateLimited) {
  std::vector<uint8_t> udp(8 + 4, 0);
  UdpHeader{1000, 2000}.Emit(udp, ByteSpan(udp).subspan(8), PseudoHeaderSum4(kPeerIp, kOurIp, 17, 12));
  const auto frame = Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kUdp), udp});
  size_t replies = 0;
  for (int i = 0; i < 200; ++i) replies += Exchange(frame).size();
  EXPECT_EQ(replies, 50u);  // the burst, then nothing in the same instant
  clock_.Advance(100ms);    // 100 per second: ten more
  for (int i = 0; i < 200; ++i) replies += Exchange(frame).size();
  EXPECT_EQ(replies, 60u);
}

TEST_F(Icmp4EngineTest, ReassemblyTimeoutSendsTimeExceeded) {
  Ip4Header h = Header(kPeerIp, kOurIp, IpProto::kUdp);
  h.more_fragments = true;
  EXPECT_TRUE(Exchange(Build({kOurMac, h, std::vector<uint8_t>(64, 1)})).empty());
  clock_.Advance(31s);
  stack_->RunTimers();
  auto sent = peer_->Drain();
  ASSERT_EQ(sent.size(), 1u);
  auto icmp = Icmp4View::Parse(Ip4View::Parse(EthernetView::Parse(sent[0])->payload())->payload());
  ASSERT_TRUE(icmp.ok());
  EXPECT_EQ(icmp->type(), Icmp4Type::kTimeExceeded);
  EXPECT_EQ(icmp->code(), 1);
  EXPECT_EQ(icmp->original_datagram().size(), 20u + 8u);  // header + 64 bits of data
  EXPECT_EQ(stack_->CounterSnapshot()["ip4.rx_reassembly_timeout"], 1u);
}

}  // namespace
}  // namespace pytcp
