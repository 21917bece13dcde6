// The IPv4 engine of one stack, driven frame by frame from a FramePeer: the exact replies
// (bytes on the wire) and the counters each case moves. ICMPv4 is in tests/icmp4.
#include "tests/ip4/ip4_harness.h"

namespace pytcp {
namespace {
using namespace ip4_testing;
TEST_F(Ip4EngineTest, BadHeaderChecksumIsDroppedAndCounted) {
  auto frame = Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kIcmp4),
                      Echo(Icmp4Type::kEchoRequest, 1, 1, 8)});
  frame[kEthernetHeaderSize + 10] ^= 0xff;
  EXPECT_TRUE(Exchange(frame).empty());
  EXPECT_EQ(Moved()["ip4.rx_drop_malformed"], 1);
}

TEST_F(Ip4EngineTest, TruncatedAndWrongVersionAreMalformed) {
  auto frame = Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kIcmp4),
                      Echo(Icmp4Type::kEchoRequest, 1, 1, 100)});
  auto truncated = frame;
  truncated.resize(kEthernetHeaderSize + 60);  // total length says 128
  EXPECT_TRUE(Exchange(truncated).empty());
  EXPECT_EQ(Moved()["ip4.rx_drop_malformed"], 1);
  auto v6 = frame;
  v6[kEthernetHeaderSize] = 0x65;
  EXPECT_TRUE(Exchange(v6).empty());
  EXPECT_EQ(Moved()["ip4.rx_drop_malformed"], 1);
}

TEST_F(Ip4EngineTest, NotForUsAndSpoofedSourceAreDropped) {
  EXPECT_TRUE(Exchange(Build({kOurMac, Header(kPeerIp, Ip4Address(10, 77, 0, 9), IpProto::kIcmp4),
                              Echo(Icmp4Type::kEchoRequest, 1, 1, 8)}))
                  .empty());
  EXPECT_EQ(Moved()["ip4.rx_drop_not_for_us"], 1);
  EXPECT_TRUE(Exchange(Build({kOurMac, Header(kOurIp, kOurIp, IpProto::kIcmp4),
                              Echo(Icmp4Type::kEchoRequest, 1, 1, 8)}))
                  .empty());
  EXPECT_EQ(Moved()["ip4.rx_drop_bad_source"], 1);
}

TEST_F(Ip4EngineTest, OptionsAreAcceptedOrDroppedBySetting) {
  Ip4OptionsBuilder options;
  ASSERT_TRUE(options.AddNop());
  ASSERT_TRUE(options.AddNop());
  ASSERT_TRUE(options.AddNop());
  ASSERT_TRUE(options.AddNop());
  Ip4Header h = Header(kPeerIp, kOurIp, IpProto::kIcmp4);
  h.options = options.bytes();
  const auto frame = Build({kOurMac, h, Echo(Icmp4Type::kEchoRequest, 1, 1, 8)});
  EXPECT_EQ(Exchange(frame).size(), 1u);
  Start(/*drop_options=*/true);
  EXPECT_TRUE(Exchange(frame).empty());
  EXPECT_EQ(Moved()["ip4.rx_drop_options"], 1);
}

// RFC 1122 §3.2.1.3, §3.2.2.6: an echo request from a source that names no single host
// is not answered, and each reason has its counter.
// The engine's own check, for a multicast source handed to it directly (a path that
// bypassed the parser would still not answer).
// RFC 1122 §3.2.2: no error goes to an invalid source either.
TEST_F(Ip4EngineTest, LinkVouchedChecksumSkipsUdpVerificationOfWholeDatagramsOnly) {
  // The UDP checksum field as NEEDS_CSUM leaves it: not the checksum of these bytes.
  std::vector<uint8_t> udp(8 + 16, 0x5a);
  UdpHeader{1000, 2000}.Emit(udp, ByteSpan(udp).subspan(8), PseudoHeaderSum4(kPeerIp, kOurIp, 17, 24));
  udp[6] ^= 0xff;
  auto deliver = [&](const std::vector<uint8_t>& frame, bool valid) {
    before_ = stack_->CounterSnapshot();
    {
      std::lock_guard lock(stack_->mutex());
      stack_->iface().Receive(frame, clock_.Now(), RxFrameInfo{.l4_checksum_valid = valid});
    }
    stack_->ProcessLink();
    stack_->RunTimers();
    return peer_->Drain();
  };
  const auto whole = Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kUdp), udp});
  EXPECT_TRUE(deliver(whole, false).empty());
  EXPECT_EQ(Moved()["udp.rx_drop_malformed"], 1);
  // Vouched for: taken as intact, so the closed port answers with port unreachable.
  EXPECT_EQ(deliver(whole, true).size(), 1u);
  EXPECT_EQ(Moved()["udp.rx_drop_no_port"], 1);
  // Fragments: the reassembled datagram is verified whatever the frames said.
  Ip4Header first = Header(kPeerIp, kOurIp, IpProto::kUdp);
  first.id = 0x7777;
  first.more_fragments = true;
  Ip4Header second = first;
  second.more_fragments = false;
  second.fragment_offset = 16;
  EXPECT_TRUE(deliver(Build({kOurMac, first, {udp.begin(), udp.begin() + 16}}), true).empty());
  EXPECT_TRUE(deliver(Build({kOurMac, second, {udp.begin() + 16, udp.end()}}), true).empty());
  EXPECT_EQ(Moved()["ip4.rx_reassembled"], 1);
  EXPECT_EQ(Moved()["udp.rx_drop_malformed"], 1);
}

TEST_F(Ip4EngineTest, OffLinkDestinationGoesToTheGatewayAndLongestPrefixWins) {
  auto sock = stack_->CreateUdpSocket();
  const SocketAddress far{IpAddress(Ip4Address(10, 78, 0, 2)), 7};
  ASSERT_TRUE(sock->SendTo(std::vector<uint8_t>(4), &far, 0).ok());
  auto sent = peer_->Drain();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(EthernetView::Parse(sent[0])->dst(), kGwMac);
  // A more specific static route through the peer takes precedence.
  stack_->AddIp4Route(Ip4Route{*Ip4Network::Parse("10.78.0.0/24"), kPeerIp, Ip4Address(), 0,
                               RouteOrigin::kStatic});
  ASSERT_TRUE(sock->SendTo(std::vector<uint8_t>(4), &far, 0).ok());
  sent = peer_->Drain();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(EthernetView::Parse(sent[0])->dst(), kPeerMac);
  auto ip = Ip4View::Parse(EthernetView::Parse(sent[0])->payload());
  EXPECT_EQ(ip->dst(), Ip4Address(10, 78, 0, 2));
  EXPECT_EQ(ip->src(), kOurIp);
}

TEST_F(Ip4EngineTest, DontFragmentTooBigIsEmsgsize) {
  auto sock = stack_->CreateUdpSocket();
  const int pmtu_do = IP_PMTUDISC_DO;
  ASSERT_TRUE(sock->SetOption(IPPROTO_IP, IP_MTU_DISCOVER, &pmtu_do, sizeof(pmtu_do)).ok());
  const SocketAddress peer{IpAddress(kPeerIp), 7};
  EXPECT_EQ(sock->SendTo(std::vector<uint8_t>(1473), &peer, 0).error(), EMSGSIZE);
  EXPECT_TRUE(sock->SendTo(std::vector<uint8_t>(1472), &peer, 0).ok());
  auto sent = peer_->Drain();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(Ip4View::Parse(EthernetView::Parse(sent[0])->payload())->dont_fragment());
}

}  // namespace
// A datagram to one of our own addresses goes through the loopback queue, which the event
// loop delivers: queuing it must wake the loop (the Stack's listener kicks its eventfd),
// or a sender on an application thread would wait for the loop's next timer.
TEST_F(Ip4EngineTest, LoopbackQueueWakesTheEventLoop) {
  int wakeups = 0;
  {
    std::lock_guard lock(stack_->mutex());
    stack_->ip4().set_loopback_listener([&] { ++wakeups; });
  }
  auto rx = stack_->CreateUdpSocket();
  rx->set_nonblocking(true);
  ASSERT_TRUE(rx->Bind(SocketAddress{IpAddress(kOurIp), 7100, 0}).ok());
  auto tx = stack_->CreateUdpSocket();
  const std::vector<uint8_t> data = {'l', 'o'};
  const SocketAddress to{IpAddress(kOurIp), 7100, 0};
  ASSERT_TRUE(tx->SendTo(data, &to, 0).ok());
  EXPECT_EQ(wakeups, 1);
  EXPECT_TRUE(peer_->Drain().empty());  // nothing on the wire
  stack_->ProcessLink();
  std::vector<uint8_t> buf(16);
  SocketAddress from;
  int flags = 0;
  auto n = rx->RecvFrom(buf, &from, 0, &flags, nullptr);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
}

// Issue 19 item 6: 127.0.0.0/8 is the loopback interface's, as on Linux.
TEST_F(Ip4EngineTest, LoopbackNetworkIsLocalWithSource127001) {
  std::lock_guard lock(stack_->mutex());
  const Ip4Engine& ip4 = stack_->ip4();
  // Any of 127/8 is delivered locally, from 127.0.0.1 (Linux's "src 127.0.0.1" on lo).
  auto r = ip4.Route(Ip4Address(127, 1, 2, 3), Ip4Address());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->local);
  EXPECT_EQ(r->src, Ip4Address(127, 0, 0, 1));
  // A socket bound to a loopback address sends from it to local destinations...
  r = ip4.Route(Ip4Address(127, 0, 0, 1), Ip4Address(127, 0, 0, 9));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->src, Ip4Address(127, 0, 0, 9));
  r = ip4.Route(kOurIp, Ip4Address(127, 0, 0, 1));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->local);
  // ...and never off the host.
  r = ip4.Route(kPeerIp, Ip4Address(127, 0, 0, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), IpSendError::kNoSource);
  // Our own address to itself keeps that address as the source.
  r = ip4.Route(kOurIp, Ip4Address());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->src, kOurIp);
}

}  // namespace pytcp
