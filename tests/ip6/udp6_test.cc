// UDP over IPv6 through a UdpSocket: AF_INET6 sockets send and receive with the IPv6
// pseudo-header checksum, dual-stack sockets see IPv4 peers as v4-mapped addresses,
// IPV6_V6ONLY keeps IPv4 out, IPV6_UNICAST_HOPS sets the hop limit, and a closed port
// answers with ICMPv6 port unreachable; IPv6 multicast sockets (IPV6_JOIN_GROUP and
// MCAST_JOIN_GROUP, MLD reports that follow them, IPV6_MULTICAST_HOPS/LOOP, loopback of
// a datagram sent to a joined group); the control messages IPV6_RECVPKTINFO,
// IPV6_RECVTCLASS and IPV6_RECVHOPLIMIT on receive (and IP_PKTINFO for an IPv4 datagram on
// a dual-stack socket), IPV6_PKTINFO's source and IPV6_TCLASS on send.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>

#include "stack/wire/ip4.h"
#include "stack/wire/udp.h"
#include "tests/ip6/ip6_harness.h"

namespace pytcp::testing {
namespace {

std::vector<uint8_t> Udp6(const Ip6Address& src, const Ip6Address& dst, uint16_t sport,
                          uint16_t dport, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(kUdpHeaderSize + data.size());
  std::copy(data.begin(), data.end(), out.begin() + kUdpHeaderSize);
  UdpHeader{sport, dport}.Emit(out, ByteSpan(out).subspan(kUdpHeaderSize),
                               PseudoHeaderSum6(src, dst, 17, static_cast<uint32_t>(out.size())));
  return out;
}

class Udp6Test : public Ip6Harness {
 protected:
  void SetUp() override {
    Start([](StackConfig& c) {
      c.ip4_mode = Ip4Mode::kStatic;
      c.ip4_addresses = {*Ip4Interface::Parse("10.77.0.2/24")};
      c.acd = AcdMode::kOff;
      c.ip6_mode = Ip6Mode::kStatic;
      c.ip6_addresses = {*Ip6Interface::Parse("fd77::2/64")};
    });
    KnowNeighbours();
    {
      std::lock_guard lock(stack_->mutex());
      stack_->arp().cache().AddPermanent(Ip4Address(10, 77, 0, 1), kPeerMac);
    }
    Settle();
    sock_ = stack_->CreateUdpSocket(AF_INET6);
    sock_->set_nonblocking(true);
  }
  std::shared_ptr<UdpSocket> sock_;
};

TEST_F(Udp6Test, ReceiveAndReplyOverIpv6) {
  ASSERT_TRUE(sock_->Bind(SocketAddress{IpAddress(), 7000}).ok());
  const std::vector<uint8_t> data = {'h', 'i', '6'};
  Exchange(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kUdp), {},
                 Udp6(kPeerGlobal, kOurGlobal, 5555, 7000, data)));
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  int flags = 0;
  auto n = sock_->RecvFrom(buf, &from, 0, &flags, nullptr);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(from.ip, IpAddress(kPeerGlobal));
  EXPECT_EQ(from.port, 5555);
  const int hops = 9;
  ASSERT_TRUE(sock_->SetOption(IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)).ok());
  ASSERT_TRUE(sock_->SendTo(data, &from, 0).ok());
  std::vector<Sent> sent;
  for (auto& f : peer_->Drain()) sent.push_back(ParseSent(f));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].src, kOurGlobal);
  EXPECT_EQ(sent[0].dst, kPeerGlobal);
  EXPECT_EQ(sent[0].hop_limit, 9);
  EXPECT_EQ(sent[0].upper_payload, Udp6(kOurGlobal, kPeerGlobal, 7000, 5555, data));
}

TEST_F(Udp6Test, PktinfoTclassHopLimitOnReceiveAndSend) {
  ASSERT_TRUE(sock_->Bind(SocketAddress{IpAddress(), 7002}).ok());
  const int one = 1;
  for (int opt : {IPV6_RECVPKTINFO, IPV6_RECVTCLASS, IPV6_RECVHOPLIMIT}) {
    ASSERT_TRUE(sock_->SetOption(IPPROTO_IPV6, opt, &one, sizeof(one)).ok());
  }
  int v = 0;
  socklen_t len = sizeof(v);
  ASSERT_TRUE(sock_->GetOption(IPPROTO_IPV6, IPV6_RECVPKTINFO, &v, &len).ok());
  EXPECT_EQ(v, 1);
  Ip6Header h = Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kUdp, 33);
  h.dscp = 0x28 >> 2;
  const std::vector<uint8_t> data = {'p'};
  Exchange(Frame(kOurMac, h, {}, Udp6(kPeerGlobal, kOurGlobal, 5555, 7002, data)));
  std::vector<uint8_t> buf(16);
  RecvAncillary anc;
  auto n = sock_->RecvFrom(buf, nullptr, 0, nullptr, &anc);
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(anc.has_pktinfo6);
  EXPECT_EQ(anc.pktinfo6_addr, kOurGlobal);
  ASSERT_TRUE(anc.has_tclass);
  EXPECT_EQ(anc.tclass, 0x28);
  ASSERT_TRUE(anc.has_hoplimit);
  EXPECT_EQ(anc.hoplimit, 33);
  EXPECT_FALSE(anc.has_pktinfo);  // IP_PKTINFO is off
  // Send: IPV6_PKTINFO's address is the source (ours; another is EINVAL), IPV6_TCLASS the
  // traffic class.
  SendAncillary out;
  out.src = IpAddress(kOurGlobal);
  out.tos = 0x10;
  const SocketAddress to{IpAddress(kPeerGlobal), 5555, 0};
  const ByteSpan part(data);
  ASSERT_TRUE(sock_->SendMsgWith(std::span<const ByteSpan>(&part, 1), &to, 0, out).ok());
  auto frames = peer_->Drain();
  ASSERT_EQ(frames.size(), 1u);
  auto eth = EthernetView::Parse(frames[0]);
  ASSERT_TRUE(eth.ok());
  auto ip = Ip6View::Parse(eth->payload());
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->src(), kOurGlobal);
  EXPECT_EQ(ip->traffic_class(), 0x10);
  out.src = IpAddress(*Ip6Address::Parse("fd77::99"));
  auto r = sock_->SendMsgWith(std::span<const ByteSpan>(&part, 1), &to, 0, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), EINVAL);
}

TEST_F(Udp6Test, DualStackSeesIpv4AsMappedUnlessV6Only) {
  ASSERT_TRUE(sock_->Bind(SocketAddress{IpAddress(), 7001}).ok());
  const Ip4Address peer4(10, 77, 0, 1), our4(10, 77, 0, 2);
  std::vector<uint8_t> udp(kUdpHeaderSize + 2, 'x');
  UdpHeader{4444, 7001}.Emit(udp, ByteSpan(udp).subspan(kUdpHeaderSize),
                             PseudoHeaderSum4(peer4, our4, 17, static_cast<uint32_t>(udp.size())));
  Ip4Header ip;
  ip.src = peer4;
  ip.dst = our4;
  ip.protocol = IpProto::kUdp;
  std::vector<uint8_t> frame(kEthernetHeaderSize + ip.header_size() + udp.size());
  EthernetHeader{kOurMac, kPeerMac, EtherType::kIp4}.Emit(frame);
  ip.Emit(MutableByteSpan(frame).subspan(kEthernetHeaderSize), udp.size());
  std::copy(udp.begin(), udp.end(), frame.begin() + static_cast<long>(kEthernetHeaderSize + ip.header_size()));
  frame.resize(std::max<size_t>(frame.size(), 60));
  peer_->Inject(frame);
  stack_->ProcessLink();
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  int flags = 0;
  auto n = sock_->RecvFrom(buf, &from, 0, &flags, nullptr);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(from.ip.is_v4());
  EXPECT_EQ(from.ip.v6(), Ip6Address::MapIp4(peer4));
  // IPV6_V6ONLY: a second socket on another port never sees IPv4.
  auto only6 = stack_->CreateUdpSocket(AF_INET6);
  only6->set_nonblocking(true);
  const int one = 1;
  ASSERT_TRUE(only6->SetOption(IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)).ok());
  ASSERT_TRUE(only6->Bind(SocketAddress{IpAddress(), 7002}).ok());
  StoreBe16(frame.data() + kEthernetHeaderSize + ip.header_size() + 2, 7002);
  StoreBe16(frame.data() + kEthernetHeaderSize + ip.header_size() + 6, 0);  // no checksum (IPv4)
  peer_->Inject(frame);
  stack_->ProcessLink();
  EXPECT_EQ(only6->RecvFrom(buf, &from, 0, &flags, nullptr).error(), EAGAIN);
  EXPECT_EQ(only6->SendTo(buf, &from, 0).error(), ENETUNREACH);
}

TEST_F(Udp6Test, ClosedPortAnswersPortUnreachable) {
  auto sent = Exchange(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kUdp), {},
                             Udp6(kPeerGlobal, kOurGlobal, 5555, 7999, {1, 2})));
  ASSERT_EQ(sent.size(), 1u);
  const Icmp6View icmp = sent[0].icmp();
  EXPECT_EQ(icmp.type(), Icmp6Type::kDestinationUnreachable);
  EXPECT_EQ(icmp.code(), 4);
}

TEST_F(Udp6Test, ZeroChecksumRefused) {
  auto udp = Udp6(kPeerGlobal, kOurGlobal, 5555, 7000, {1, 2});
  udp[6] = udp[7] = 0;  // RFC 8200 §8.1: not allowed over IPv6
  ASSERT_TRUE(sock_->Bind(SocketAddress{IpAddress(), 7000}).ok());
  Exchange(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kUdp), {}, udp));
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  int flags = 0;
  EXPECT_EQ(sock_->RecvFrom(buf, &from, 0, &flags, nullptr).error(), EAGAIN);
}

const Ip6Address kGroup = *Ip6Address::Parse("ff15::7777");

ipv6_mreq Mreq(const Ip6Address& group) {
  ipv6_mreq m{};
  std::memcpy(m.ipv6mr_multiaddr.s6_addr, group.bytes().data(), 16);
  return m;
}

bool MldReportMentions(const std::vector<Sent>& sent, const Ip6Address& group, MldRecordType type) {
  for (const auto& s : sent) {
    if (!s.is_icmp6() || s.icmp_type() != Icmp6Type::kMldV2Report) continue;
    auto r = MldV2ReportView::From(s.icmp());
    if (!r) continue;
    for (const MldRecordView rec : r->records()) {
      if (rec.multicast_address() == group && rec.type() == type) return true;
    }
  }
  return false;
}

TEST_F(Udp6Test, JoinGroupReceivesItsDatagramsAndMldFollows) {
  ASSERT_TRUE(sock_->Bind(SocketAddress{IpAddress(), 7010}).ok());
  const ipv6_mreq m = Mreq(kGroup);
  ASSERT_TRUE(sock_->SetOption(IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m)).ok());
  {
    std::lock_guard lock(stack_->mutex());
    EXPECT_TRUE(stack_->ip6().IsMemberOf(kGroup));
    EXPECT_TRUE(stack_->iface().IsMemberOf(MacAddress::FromIp6Multicast(kGroup)));
  }
  EXPECT_TRUE(MldReportMentions(Run(1s), kGroup, MldRecordType::kChangeToExclude));
  const std::vector<uint8_t> data = {'m', 'c'};
  Exchange(Frame(MacAddress::FromIp6Multicast(kGroup), Hdr(kPeerGlobal, kGroup, Ip6NextHeader::kUdp), {},
                 Udp6(kPeerGlobal, kGroup, 5555, 7010, data)));
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  int flags = 0;
  auto n = sock_->RecvFrom(buf, &from, 0, &flags, nullptr);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(from.ip, IpAddress(kPeerGlobal));
  // Leaving (here by closing) ends the membership and is reported.
  sock_->Close();
  {
    std::lock_guard lock(stack_->mutex());
    EXPECT_FALSE(stack_->ip6().IsMemberOf(kGroup));
  }
  EXPECT_TRUE(MldReportMentions(Run(1s), kGroup, MldRecordType::kChangeToInclude));
}

TEST_F(Udp6Test, MembershipErrorsAsLinux) {
  const ipv6_mreq unicast = Mreq(kPeerGlobal);
  EXPECT_EQ(sock_->SetOption(IPPROTO_IPV6, IPV6_JOIN_GROUP, &unicast, sizeof(unicast)).error(), EINVAL);
  const ipv6_mreq m = Mreq(kGroup);
  EXPECT_EQ(sock_->SetOption(IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m) - 1).error(), EINVAL);
  EXPECT_EQ(sock_->SetOption(IPPROTO_IPV6, IPV6_LEAVE_GROUP, &m, sizeof(m)).error(), EADDRNOTAVAIL);
  ASSERT_TRUE(sock_->SetOption(IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m)).ok());
  EXPECT_EQ(sock_->SetOption(IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m)).error(), EADDRINUSE);
  // MCAST_LEAVE_GROUP (RFC 3678) leaves what IPV6_JOIN_GROUP joined.
  group_req req{};
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  std::memcpy(in6.sin6_addr.s6_addr, kGroup.bytes().data(), 16);
  std::memcpy(&req.gr_group, &in6, sizeof(in6));
  ASSERT_TRUE(sock_->SetOption(IPPROTO_IPV6, MCAST_LEAVE_GROUP, &req, sizeof(req)).ok());
  EXPECT_EQ(sock_->SetOption(IPPROTO_IPV6, MCAST_LEAVE_GROUP, &req, sizeof(req)).error(), EADDRNOTAVAIL);
  const int two = 2, big = 256;
  EXPECT_EQ(sock_->SetOption(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &two, sizeof(two)).error(), EINVAL);
  EXPECT_EQ(sock_->SetOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &big, sizeof(big)).error(), EINVAL);
  // An AF_INET socket has no IPv6 options.
  auto v4 = stack_->CreateUdpSocket(AF_INET);
  EXPECT_EQ(v4->SetOption(IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m)).error(), ENOPROTOOPT);
}

TEST_F(Udp6Test, SendToGroupUsesMulticastHopsAndLoopsBack) {
  // A listener on this host, bound to the group's port, joined to the group.
  auto listener = stack_->CreateUdpSocket(AF_INET6);
  listener->set_nonblocking(true);
  ASSERT_TRUE(listener->Bind(SocketAddress{IpAddress(), 7011}).ok());
  const ipv6_mreq m = Mreq(kGroup);
  ASSERT_TRUE(listener->SetOption(IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m)).ok());
  (void)Run(2s);
  const std::vector<uint8_t> data = {1, 2, 3};
  const SocketAddress group{IpAddress(kGroup), 7011, 0};
  ASSERT_TRUE(sock_->SendTo(data, &group, 0).ok());
  std::vector<Sent> sent;
  for (auto& f : peer_->Drain()) sent.push_back(ParseSent(f));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].eth_dst, MacAddress::FromIp6Multicast(kGroup));
  EXPECT_EQ(sent[0].hop_limit, 1);  // ipv6(7): IPV6_MULTICAST_HOPS defaults to 1
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  int flags = 0;
  auto looped = listener->RecvFrom(buf, &from, 0, &flags, nullptr);
  ASSERT_TRUE(looped.ok());
  EXPECT_EQ(*looped, 3u);
  EXPECT_EQ(from.ip, IpAddress(kOurGlobal));
  int v = 0;
  socklen_t len = sizeof(v);
  ASSERT_TRUE(sock_->GetOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &v, &len).ok());
  EXPECT_EQ(v, 1);
  const int hops = 7, off = 0;
  ASSERT_TRUE(sock_->SetOption(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)).ok());
  ASSERT_TRUE(sock_->SetOption(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &off, sizeof(off)).ok());
  ASSERT_TRUE(sock_->SendTo(data, &group, 0).ok());
  sent.clear();
  for (auto& f : peer_->Drain()) sent.push_back(ParseSent(f));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].hop_limit, 7);
  EXPECT_EQ(listener->RecvFrom(buf, &from, 0, &flags, nullptr).error(), EAGAIN);  // loop off
  // A unicast datagram still uses the unicast hop limit.
  const SocketAddress peer{IpAddress(kPeerGlobal), 9, 0};
  ASSERT_TRUE(sock_->SendTo(data, &peer, 0).ok());
  sent.clear();
  for (auto& f : peer_->Drain()) sent.push_back(ParseSent(f));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].hop_limit, 64);
}

TEST_F(Udp6Test, UnicastBoundSocketGetsNoMulticast) {
  ASSERT_TRUE(sock_->Bind(SocketAddress{IpAddress(kOurGlobal), 7012}).ok());
  const ipv6_mreq m = Mreq(kGroup);
  ASSERT_TRUE(sock_->SetOption(IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m)).ok());
  Exchange(Frame(MacAddress::FromIp6Multicast(kGroup), Hdr(kPeerGlobal, kGroup, Ip6NextHeader::kUdp), {},
                 Udp6(kPeerGlobal, kGroup, 5555, 7012, {9})));
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  int flags = 0;
  EXPECT_EQ(sock_->RecvFrom(buf, &from, 0, &flags, nullptr).error(), EAGAIN);
}

}  // namespace
}  // namespace pytcp::testing
