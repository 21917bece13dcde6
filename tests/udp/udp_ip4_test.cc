// UDP over IPv4 (RFC 768, RFC 1122 §4.1) on one stack, driven frame by frame: checksums
// (zero means none over IPv4), the length field against the IP payload, demultiplexing
// (connected before bound-to-address before wildcard), port unreachable and when it is
// not sent, and what a send puts on the wire. IPv6's rules are in tests/ip6/udp6_test.cc.
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include "stack/socket/udp_socket.h"
#include "stack/wire/checksum.h"
#include "tests/ip4/ip4_harness.h"

namespace pytcp {
namespace {
using namespace ip4_testing;

constexpr uint16_t kPort = 5000;
constexpr uint16_t kPeerPort = 6000;

// A UDP datagram (header and payload) from the peer to us, with a correct checksum.
std::vector<uint8_t> Datagram(uint16_t src_port, uint16_t dst_port, const std::vector<uint8_t>& payload,
                              Ip4Address src = kPeerIp, Ip4Address dst = kOurIp) {
  std::vector<uint8_t> out(kUdpHeaderSize + payload.size());
  std::copy(payload.begin(), payload.end(), out.begin() + kUdpHeaderSize);
  const uint32_t pseudo = PseudoHeaderSum4(src, dst, static_cast<uint8_t>(IpProto::kUdp),
                                           static_cast<uint32_t>(out.size()));
  UdpHeader{src_port, dst_port}.Emit(out, ByteSpan(out).subspan(kUdpHeaderSize), pseudo);
  return out;
}

std::vector<uint8_t> Payload(size_t n) {
  std::vector<uint8_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 7 + 1);
  return p;
}

class UdpIp4Test : public Ip4EngineTest {
 protected:
  std::shared_ptr<UdpSocket> Bound(Ip4Address ip, uint16_t port) {
    auto s = stack_->CreateUdpSocket();
    EXPECT_TRUE(s->Bind(SocketAddress{IpAddress(ip), port, 0}).ok());
    return s;
  }
  // The next datagram waiting on `s` (empty if none), with its sender.
  std::vector<uint8_t> Take(UdpSocket& s, SocketAddress* from = nullptr) {
    std::vector<uint8_t> buf(2048);
    auto n = s.RecvFrom(buf, from, MSG_DONTWAIT);
    if (!n.ok()) return {};
    buf.resize(*n);
    return buf;
  }
};

TEST_F(UdpIp4Test, BoundSocketReceivesThePayloadAndTheSender) {
  auto s = Bound(Ip4Address(), kPort);
  EXPECT_TRUE(Exchange(Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kUdp),
                              Datagram(kPeerPort, kPort, Payload(100))}))
                  .empty());
  SocketAddress from;
  EXPECT_EQ(Take(*s, &from), Payload(100));
  EXPECT_EQ(from.ip, IpAddress(kPeerIp));
  EXPECT_EQ(from.port, kPeerPort);
  EXPECT_EQ(Moved()["udp.rx_delivered"], 1);
}

TEST_F(UdpIp4Test, ZeroChecksumMeansNoneOverIpv4) {
  // RFC 768: "An all zero transmitted checksum value means that the transmitter generated
  // no checksum" (over IPv6 it is refused: RFC 8200 §8.1, tests/ip6/udp6_test.cc).
  auto s = Bound(Ip4Address(), kPort);
  auto d = Datagram(kPeerPort, kPort, Payload(20));
  d[6] = d[7] = 0;
  Exchange(Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kUdp), d}));
  EXPECT_EQ(Take(*s), Payload(20));
}

TEST_F(UdpIp4Test, BadChecksumIsDroppedAndCountedWithoutAnError) {
  auto s = Bound(Ip4Address(), kPort);
  auto d = Datagram(kPeerPort, kPort, Payload(20));
  d[kUdpHeaderSize + 3] ^= 0x40;
  // RFC 1122 §4.1.3.4: silently discarded, no ICMP error.
  EXPECT_TRUE(Exchange(Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kUdp), d})).empty());
  EXPECT_TRUE(Take(*s).empty());
  EXPECT_EQ(Moved()["udp.rx_drop_malformed"], 1);
}

TEST_F(UdpIp4Test, LengthFieldShorterThanThePayloadTrimsLongerDrops) {
  auto s = Bound(Ip4Address(), kPort);
  // Bytes after the UDP length are padding (Linux trims them, pskb_trim_rcsum).
  auto d = Datagram(kPeerPort, kPort, Payload(20));
  d.insert(d.end(), {0xde, 0xad, 0xbe, 0xef});
  Exchange(Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kUdp), d}));
  EXPECT_EQ(Take(*s), Payload(20));
  // A length beyond the IP payload: the datagram is not all there.
  auto longer = Datagram(kPeerPort, kPort, Payload(20));
  longer[5] = static_cast<uint8_t>(longer[5] + 4);
  EXPECT_TRUE(Exchange(Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kUdp), longer})).empty());
  EXPECT_TRUE(Take(*s).empty());
  EXPECT_EQ(Moved()["udp.rx_drop_malformed"] + Moved()["udp.rx_drop_invalid"], 1);
}

TEST_F(UdpIp4Test, ClosedPortAnswersPortUnreachableQuotingTheDatagram) {
  const auto d = Datagram(kPeerPort, kPort, Payload(30));
  auto sent = Exchange(Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kUdp), d}));
  ASSERT_EQ(sent.size(), 1u);
  auto ip = Ip4View::Parse(EthernetView::Parse(sent[0])->payload());
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->dst(), kPeerIp);
  auto icmp = Icmp4View::Parse(ip->payload());
  ASSERT_TRUE(icmp.ok());
  EXPECT_EQ(icmp->type(), Icmp4Type::kDestinationUnreachable);
  EXPECT_EQ(icmp->code(), static_cast<uint8_t>(Icmp4UnreachableCode::kPort));
  // RFC 1812 §4.3.2.3 / Linux: the whole offending datagram while it fits in 576 bytes.
  ASSERT_EQ(icmp->original_datagram().size(), 20u + d.size());
  EXPECT_TRUE(std::equal(d.begin(), d.end(), icmp->original_datagram().begin() + 20));
  EXPECT_EQ(Moved()["udp.rx_drop_no_port"], 1);
}

TEST_F(UdpIp4Test, NoPortUnreachableForBroadcastOrMulticast) {
  // RFC 1122 §3.2.2: no ICMP error about a datagram sent to a broadcast or multicast address.
  for (Ip4Address dst : {Ip4Address(10, 77, 0, 255), Ip4Address(255, 255, 255, 255),
                         Ip4Address(224, 0, 0, 1)}) {
    MacAddress mac = dst.is_multicast() ? MacAddress::FromIp4Multicast(dst) : MacAddress::Broadcast();
    EXPECT_TRUE(Exchange(Build({mac, Header(kPeerIp, dst, IpProto::kUdp),
                                Datagram(kPeerPort, kPort, Payload(10), kPeerIp, dst)}))
                    .empty())
        << dst;
    EXPECT_EQ(Moved()["udp.rx_drop_no_port"], 1) << dst;
  }
}

TEST_F(UdpIp4Test, ConnectedBeatsBoundAddressBeatsWildcard) {
  auto wildcard = Bound(Ip4Address(), kPort);
  const int one = 1;
  auto reuse = [&](UdpSocket& s) { return s.SetOption(SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)).ok(); };
  auto ours = stack_->CreateUdpSocket();
  ASSERT_TRUE(reuse(*ours));
  ASSERT_TRUE(reuse(*wildcard));
  ASSERT_TRUE(ours->Bind(SocketAddress{IpAddress(kOurIp), kPort, 0}).ok());
  auto connected = stack_->CreateUdpSocket();
  ASSERT_TRUE(reuse(*connected));
  ASSERT_TRUE(connected->Bind(SocketAddress{IpAddress(kOurIp), kPort, 0}).ok());
  const SocketAddress peer{IpAddress(kPeerIp), kPeerPort, 0};
  ASSERT_TRUE(connected->Connect(&peer).ok());
  // From the connected peer: the connected socket.
  Exchange(Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kUdp),
                  Datagram(kPeerPort, kPort, Payload(1))}));
  EXPECT_EQ(Take(*connected), Payload(1));
  EXPECT_TRUE(Take(*ours).empty());
  EXPECT_TRUE(Take(*wildcard).empty());
  // From another port of the peer: the socket bound to our address, not the connected one.
  Exchange(Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kUdp),
                  Datagram(kPeerPort + 1, kPort, Payload(2))}));
  EXPECT_EQ(Take(*ours), Payload(2));
  EXPECT_TRUE(Take(*connected).empty());
  // To the subnet's broadcast: only the wildcard socket's address matches it.
  const Ip4Address bcast(10, 77, 0, 255);
  Exchange(Build({MacAddress::Broadcast(), Header(kPeerIp, bcast, IpProto::kUdp),
                  Datagram(kPeerPort, kPort, Payload(3), kPeerIp, bcast)}));
  EXPECT_EQ(Take(*wildcard), Payload(3));
  EXPECT_TRUE(Take(*ours).empty());
}

TEST_F(UdpIp4Test, ConnectedSocketAloneDoesNotTakeOtherSenders) {
  auto connected = stack_->CreateUdpSocket();
  ASSERT_TRUE(connected->Bind(SocketAddress{IpAddress(Ip4Address()), kPort, 0}).ok());
  const SocketAddress peer{IpAddress(kPeerIp), kPeerPort, 0};
  ASSERT_TRUE(connected->Connect(&peer).ok());
  // Linux: no socket matches a datagram from elsewhere, so the sender learns the port is
  // closed to it.
  auto sent = Exchange(Build({kOurMac, Header(kPeerIp, kOurIp, IpProto::kUdp),
                              Datagram(kPeerPort + 1, kPort, Payload(5))}));
  EXPECT_TRUE(Take(*connected).empty());
  ASSERT_EQ(sent.size(), 1u);
  auto ip = Ip4View::Parse(EthernetView::Parse(sent[0])->payload());
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->protocol(), IpProto::kIcmp4);
}

TEST_F(UdpIp4Test, SendPutsAChecksummedDatagramFromAnEphemeralPortOnTheWire) {
  auto s = stack_->CreateUdpSocket();
  const SocketAddress dst{IpAddress(kPeerIp), kPeerPort, 0};
  before_ = stack_->CounterSnapshot();
  ASSERT_TRUE(s->SendTo(Payload(64), &dst, 0).ok());
  stack_->RunTimers();
  auto sent = peer_->Drain();
  ASSERT_EQ(sent.size(), 1u);
  auto ip = Ip4View::Parse(EthernetView::Parse(sent[0])->payload());
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->src(), kOurIp);
  EXPECT_EQ(ip->dst(), kPeerIp);
  EXPECT_EQ(ip->ttl(), 64);
  auto udp = UdpView::Parse(ip->payload(), ip->pseudo_header_sum());
  ASSERT_TRUE(udp.ok());  // the checksum verifies
  EXPECT_NE(udp->checksum(), 0);
  EXPECT_EQ(udp->dst_port(), kPeerPort);
  // RFC 6056 / Linux's ip_local_port_range default.
  EXPECT_GE(udp->src_port(), 32768);
  EXPECT_LE(udp->src_port(), 60999);
  EXPECT_EQ(std::vector<uint8_t>(udp->payload().begin(), udp->payload().end()), Payload(64));
  EXPECT_EQ(Moved()["udp.tx_datagrams"], 1);
  auto local = s->LocalAddress();
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->port, udp->src_port());
}

}  // namespace
}  // namespace pytcp
