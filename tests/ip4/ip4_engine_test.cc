// The IPv4 and ICMPv4 engines of one stack, driven frame by frame from a FramePeer: the
// exact replies (bytes on the wire) and the counters each case moves.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <memory>
#include <vector>

#include "stack/stack.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/ip4.h"
#include "stack/wire/udp.h"
#include "tests/support/frame_peer.h"
#include "tests/support/simulator.h"
#include "tests/support/memory_stack.h"

namespace pytcp {
namespace {

constexpr MacAddress kOurMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x02});
constexpr MacAddress kPeerMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x01});
constexpr MacAddress kGwMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0xfe});
constexpr Ip4Address kOurIp(10, 77, 0, 2);
constexpr Ip4Address kPeerIp(10, 77, 0, 1);
constexpr Ip4Address kGwIp(10, 77, 0, 254);

struct Frame {
  MacAddress dst;
  Ip4Header ip;
  std::vector<uint8_t> l4;  // transport header + payload
};

std::vector<uint8_t> Build(const Frame& f) {
  const size_t hlen = f.ip.header_size();
  std::vector<uint8_t> out(kEthernetHeaderSize + hlen + f.l4.size());
  EthernetHeader{f.dst, kPeerMac, EtherType::kIp4}.Emit(out);
  f.ip.Emit(MutableByteSpan(out).subspan(kEthernetHeaderSize), f.l4.size());
  std::copy(f.l4.begin(), f.l4.end(), out.begin() + static_cast<long>(kEthernetHeaderSize + hlen));
  if (out.size() < kEthernetMinFrameSize) out.resize(kEthernetMinFrameSize, 0);
  return out;
}

std::vector<uint8_t> Echo(Icmp4Type type, uint16_t id, uint16_t seq, size_t data_len) {
  std::vector<uint8_t> data(data_len);
  for (size_t i = 0; i < data_len; ++i) data[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> msg(kIcmp4HeaderSize + data_len);
  std::copy(data.begin(), data.end(), msg.begin() + kIcmp4HeaderSize);
  Icmp4Header{type, 0, (uint32_t{id} << 16) | seq}.Emit(msg, data);
  return msg;
}

Ip4Header Header(Ip4Address src, Ip4Address dst, IpProto proto) {
  Ip4Header h;
  h.src = src;
  h.dst = dst;
  h.protocol = proto;
  h.id = 0x1234;
  return h;
}

class Ip4EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(false); }

  void Start(bool drop_options) {
    StackConfig c = testing::MemoryStackConfig(kOurMac, "10.77.0.2/24", 3);
    c.ip4_gateway = kGwIp;
    c.ip4_drop_options = drop_options;
    auto pair = MemoryLink::CreatePair(MemoryLinkConfig{}, clock_);
    peer_link_ = std::move(pair.b);
    peer_ = std::make_unique<testing::FramePeer>(peer_link_.get());
    stack_ = *Stack::CreateWithLink(c, std::move(pair.a), &clock_);
    ASSERT_TRUE(stack_->StartManual().ok());
    std::lock_guard lock(stack_->mutex());
    stack_->arp().cache().AddPermanent(kPeerIp, kPeerMac);
    stack_->arp().cache().AddPermanent(kGwIp, kGwMac);
  }

  // Injects a frame, runs the stack, and returns what it sent back.
  std::vector<std::vector<uint8_t>> Exchange(const std::vector<uint8_t>& frame) {
    before_ = stack_->CounterSnapshot();
    peer_->Inject(frame);
    stack_->ProcessLink();
    stack_->RunTimers();
    return peer_->Drain();
  }
  std::map<std::string, int64_t> Moved() {
    return CounterDelta(before_, stack_->CounterSnapshot());
  }

  VirtualClock clock_;
  std::unique_ptr<MemoryLink> peer_link_;
  std::unique_ptr<testing::FramePeer> peer_;
  std::unique_ptr<Stack> stack_;
  std::map<std::string, uint64_t> before_;
};

TEST_F(Ip4EngineTest, EchoRequestGetsExactReply) {
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

TEST_F(Ip4EngineTest, BadHeaderChecksumIsDroppedAndCounted) {
  auto frame = Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kIcmp4),
                      Echo(Icmp4Type::kEchoRequest, 1, 1, 8)});
  frame[kEthernetHeaderSize + 10] ^= 0xff;
  EXPECT_TRUE(Exchange(frame).empty());
  EXPECT_EQ(Moved()["ip4.rx_drop_malformed"], 1);
}

TEST_F(Ip4EngineTest, BadIcmpChecksumIsDroppedAndCounted) {
  auto frame = Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kIcmp4),
                      Echo(Icmp4Type::kEchoRequest, 1, 1, 8)});
  frame[kEthernetHeaderSize + 20 + 9] ^= 0x01;  // data byte
  EXPECT_TRUE(Exchange(frame).empty());
  EXPECT_EQ(Moved()["icmp4.rx_drop_malformed"], 1);
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

TEST_F(Ip4EngineTest, UnknownProtocolGetsProtocolUnreachableQuotingTheDatagram) {
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

TEST_F(Ip4EngineTest, BroadcastEchoAndBroadcastToClosedPortStayQuiet) {
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

// RFC 1122 §3.2.1.3, §3.2.2.6: an echo request from a source that names no single host
// is not answered, and each reason has its counter.
TEST_F(Ip4EngineTest, EchoFromInvalidSourceIsNotAnswered) {
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

// The engine's own check, for a multicast source handed to it directly (a path that
// bypassed the parser would still not answer).
TEST_F(Ip4EngineTest, IcmpEngineRefusesMulticastSourceItself) {
  const auto msg = Echo(Icmp4Type::kEchoRequest, 1, 1, 8);
  Ip4PacketInfo info{Ip4Address(239, 1, 2, 3), kOurIp, IpProto::kIcmp4, 64, 0, false, false, {}, {}};
  before_ = stack_->CounterSnapshot();
  {
    std::lock_guard lock(stack_->mutex());
    stack_->icmp4().ReceiveIp4(info, msg, clock_.Now());
  }
  stack_->RunTimers();
  EXPECT_TRUE(peer_->Drain().empty());
  EXPECT_EQ(Moved()["icmp4.no_reply_src_multicast"], 1);
}

// RFC 1122 §3.2.2: no error goes to an invalid source either.
TEST_F(Ip4EngineTest, NoUnreachableToInvalidSource) {
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

TEST_F(Ip4EngineTest, IcmpErrorsAreRateLimited) {
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

TEST_F(Ip4EngineTest, ReassemblyTimeoutSendsTimeExceeded) {
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
  EXPECT_EQ(r.error(), Ip4SendError::kNoSource);
  // Our own address to itself keeps that address as the source.
  r = ip4.Route(kOurIp, Ip4Address());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->src, kOurIp);
}

}  // namespace pytcp
