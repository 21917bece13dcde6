// IPv4 multicast and control messages on UDP sockets: IP_ADD_MEMBERSHIP and the source
// filters (ip(7), RFC 3678) as the socket sees them and as IGMPv3 reports them, delivery
// through the socket's filter (ip_mc_sf_allow), IP_MULTICAST_TTL/LOOP/IF on send, and
// IP_PKTINFO / IP_RECVTOS / IP_RECVTTL on receive and IP_PKTINFO / IP_TOS on send.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "tests/igmp/igmp_harness.h"

namespace pytcp::testing {
namespace {

in_addr In(Ip4Address a) {
  in_addr x{};
  x.s_addr = htonl(a.value());
  return x;
}

class UdpMulticastTest : public IgmpHarness {
 protected:
  std::shared_ptr<UdpSocket> Bound(uint16_t port) {
    auto s = stack_->CreateUdpSocket();
    s->set_nonblocking(true);
    EXPECT_TRUE(s->Bind(SocketAddress{IpAddress(Ip4Address()), port, 0}).ok());
    return s;
  }
  static int Join(UdpSocket& s, Ip4Address group) {
    ip_mreq m{In(group), In(Ip4Address())};
    auto r = s.SetOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m));
    return r.ok() ? 0 : r.error();
  }
  static int Source(UdpSocket& s, int name, Ip4Address group, Ip4Address source) {
    ip_mreq_source m{};
    m.imr_multiaddr = In(group);
    m.imr_sourceaddr = In(source);
    auto r = s.SetOption(IPPROTO_IP, name, &m, sizeof(m));
    return r.ok() ? 0 : r.error();
  }
  // One datagram (nonblocking): its payload's first byte, or -errno.
  static int Recv(UdpSocket& s, RecvAncillary* anc = nullptr, SocketAddress* from = nullptr) {
    uint8_t b[64];
    auto r = s.RecvFrom(MutableByteSpan(b, sizeof(b)), from, 0, nullptr, anc);
    if (!r.ok()) return -r.error();
    return *r > 0 ? b[0] : 0;
  }
  static int SetInt(UdpSocket& s, int level, int name, int v) {
    auto r = s.SetOption(level, name, &v, sizeof(v));
    return r.ok() ? 0 : r.error();
  }
};

TEST_F(UdpMulticastTest, MembershipErrorsAsLinux) {
  auto s = Bound(5353);
  EXPECT_EQ(Join(*s, Ip4Address(10, 0, 0, 1)), EINVAL);  // not a group
  EXPECT_EQ(Join(*s, kGroup), 0);
  EXPECT_EQ(Join(*s, kGroup), EADDRINUSE);
  ip_mreq m{In(kGroup2), In(Ip4Address())};
  EXPECT_EQ(s->SetOption(IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof(m)).error(), EADDRNOTAVAIL);
  EXPECT_EQ(s->SetOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, 4).error(), EINVAL);  // short
  ip_mreq other{In(kGroup2), In(Ip4Address(10, 77, 0, 99))};
  EXPECT_EQ(s->SetOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, &other, sizeof(other)).error(), ENODEV);
  // Sources: a mode that does not match a non-empty filter, a source not there.
  EXPECT_EQ(Source(*s, IP_ADD_SOURCE_MEMBERSHIP, kGroup2, kS1), 0);
  EXPECT_EQ(Source(*s, IP_BLOCK_SOURCE, kGroup2, kS2), EINVAL);
  EXPECT_EQ(Source(*s, IP_DROP_SOURCE_MEMBERSHIP, kGroup2, kS2), EADDRNOTAVAIL);
  EXPECT_EQ(Source(*s, IP_UNBLOCK_SOURCE, Ip4Address(239, 9, 9, 9), kS2), EINVAL);
  // The last source of an INCLUDE filter leaves the group.
  EXPECT_EQ(Source(*s, IP_DROP_SOURCE_MEMBERSHIP, kGroup2, kS1), 0);
  EXPECT_EQ(s->SetOption(IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof(m)).error(), EADDRNOTAVAIL);
  // An any-source membership may block sources (RFC 3678 §4.1.3).
  EXPECT_EQ(Source(*s, IP_BLOCK_SOURCE, kGroup, kS1), 0);
  EXPECT_EQ(Source(*s, IP_UNBLOCK_SOURCE, kGroup, kS1), 0);
}

TEST_F(UdpMulticastTest, JoinIsReportedAndCloseLeaves) {
  auto s = Bound(5353);
  ASSERT_EQ(Join(*s, kGroup), 0);
  auto msgs = Igmp(Run(0ms));
  ASSERT_EQ(msgs.size(), 1u);
  ASSERT_EQ(msgs[0].records.size(), 1u);
  EXPECT_EQ(msgs[0].records[0], (IgmpRecordSeen{IgmpRecordType::kChangeToExclude, kGroup, {}}));
  Run(5s);
  s->Close();
  msgs = Igmp(Run(0ms));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].records[0], (IgmpRecordSeen{IgmpRecordType::kChangeToInclude, kGroup, {}}));
}

TEST_F(UdpMulticastTest, McastJoinSourceGroupSendsAllow) {
  auto s = Bound(5000);
  group_source_req r{};
  sockaddr_in g{}, src{};
  g.sin_family = AF_INET;
  g.sin_addr = In(kGroup);
  src.sin_family = AF_INET;
  src.sin_addr = In(kS1);
  std::memcpy(&r.gsr_group, &g, sizeof(g));
  std::memcpy(&r.gsr_source, &src, sizeof(src));
  ASSERT_TRUE(s->SetOption(IPPROTO_IP, MCAST_JOIN_SOURCE_GROUP, &r, sizeof(r)).ok());
  auto msgs = Igmp(Run(0ms));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].records[0], (IgmpRecordSeen{IgmpRecordType::kAllowNewSources, kGroup, {kS1}}));
  // Delivery follows the filter: S1 yes, S2 no (interface and socket filter alike).
  Inject(Udp(kS1, kGroup, 1000, 5000, {1}));
  Inject(Udp(kS2, kGroup, 1000, 5000, {2}));
  EXPECT_EQ(Recv(*s), 1);
  EXPECT_EQ(Recv(*s), -EAGAIN);
}

TEST_F(UdpMulticastTest, SocketFilterAppliesToItsOwnGroupOnly) {
  int one = 1;
  auto a = stack_->CreateUdpSocket();
  auto c = stack_->CreateUdpSocket();
  for (auto* s : {a.get(), c.get()}) {
    s->set_nonblocking(true);
    ASSERT_TRUE(s->SetOption(SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)).ok());
    ASSERT_TRUE(s->Bind(SocketAddress{IpAddress(Ip4Address()), 5000, 0}).ok());
  }
  // a: S1 only; c: any source. The interface is EXCLUDE({}) (RFC 3376 §3.2), so S2's
  // datagram arrives, and a's own filter keeps it out (ip_mc_sf_allow).
  ASSERT_EQ(Source(*a, IP_ADD_SOURCE_MEMBERSHIP, kGroup, kS1), 0);
  ASSERT_EQ(Join(*c, kGroup), 0);
  Inject(Udp(kS2, kGroup, 1000, 5000, {7}));
  EXPECT_EQ(Recv(*a), -EAGAIN);
  EXPECT_EQ(Recv(*c), 7);
  Inject(Udp(kS1, kGroup, 1000, 5000, {8}));
  EXPECT_EQ(Recv(*a), 8);
  EXPECT_EQ(Recv(*c), 8);
  // When c leaves, the interface is INCLUDE({S1}): S2 no longer arrives for anyone.
  ip_mreq m{In(kGroup), In(Ip4Address())};
  ASSERT_TRUE(c->SetOption(IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof(m)).ok());
  Inject(Udp(kS2, kGroup, 1000, 5000, {9}));
  EXPECT_EQ(Recv(*c), -EAGAIN);
}

TEST_F(UdpMulticastTest, PktinfoTosTtlOnReceive) {
  auto s = Bound(53);
  ASSERT_EQ(SetInt(*s, IPPROTO_IP, IP_PKTINFO, 1), 0);
  ASSERT_EQ(SetInt(*s, IPPROTO_IP, IP_RECVTOS, 1), 0);
  ASSERT_EQ(SetInt(*s, IPPROTO_IP, IP_RECVTTL, 1), 0);
  Inject(Udp(kPeerIp, kOurIp, 1000, 53, {1}, 61, 0x28));
  RecvAncillary anc;
  SocketAddress from;
  ASSERT_EQ(Recv(*s, &anc, &from), 1);
  EXPECT_EQ(from.ip, IpAddress(kPeerIp));
  ASSERT_TRUE(anc.has_pktinfo);
  EXPECT_EQ(anc.pktinfo_addr, kOurIp);
  EXPECT_EQ(anc.pktinfo_spec_dst, kOurIp);
  ASSERT_TRUE(anc.has_tos);
  EXPECT_EQ(anc.tos, 0x28);
  ASSERT_TRUE(anc.has_ttl);
  EXPECT_EQ(anc.ttl, 61);
  // A broadcast: ipi_addr is the broadcast, ipi_spec_dst our address (a reply's source).
  Inject(Udp(kPeerIp, Ip4Address(10, 77, 0, 255), 1000, 53, {2}));
  anc = {};
  ASSERT_EQ(Recv(*s, &anc), 2);
  EXPECT_EQ(anc.pktinfo_addr, Ip4Address(10, 77, 0, 255));
  EXPECT_EQ(anc.pktinfo_spec_dst, kOurIp);
  // A group: the same.
  ASSERT_EQ(Join(*s, kGroup), 0);
  Inject(Udp(kPeerIp, kGroup, 1000, 53, {3}));
  anc = {};
  ASSERT_EQ(Recv(*s, &anc), 3);
  EXPECT_EQ(anc.pktinfo_addr, kGroup);
  EXPECT_EQ(anc.pktinfo_spec_dst, kOurIp);
  // Off again: nothing.
  ASSERT_EQ(SetInt(*s, IPPROTO_IP, IP_PKTINFO, 0), 0);
  int v = -1;
  socklen_t len = sizeof(v);
  ASSERT_TRUE(s->GetOption(IPPROTO_IP, IP_PKTINFO, &v, &len).ok());
  EXPECT_EQ(v, 0);
  Inject(Udp(kPeerIp, kOurIp, 1000, 53, {4}));
  anc = {};
  ASSERT_EQ(Recv(*s, &anc), 4);
  EXPECT_FALSE(anc.has_pktinfo);
}

TEST_F(UdpMulticastTest, PktinfoAndTosOnSend) {
  auto s = Bound(53);
  SendAncillary anc;
  anc.src = IpAddress(kOurIp);
  anc.tos = 0x10;
  const uint8_t data[] = {9};
  const SocketAddress to{IpAddress(kPeerIp), 1000, 0};
  const ByteSpan part(data, 1);
  ASSERT_TRUE(s->SendMsgWith(std::span<const ByteSpan>(&part, 1), &to, 0, anc).ok());
  auto sent = Udps(Run(0ms));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].src, kOurIp);
  EXPECT_EQ(sent[0].tos, 0x10);
  EXPECT_EQ(sent[0].sport, 53);
  // A source that is not ours: ENETUNREACH (the route lookup's, as Linux).
  anc.src = IpAddress(Ip4Address(10, 77, 0, 99));
  auto r = s->SendMsgWith(std::span<const ByteSpan>(&part, 1), &to, 0, anc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), ENETUNREACH);
}

TEST_F(UdpMulticastTest, MulticastTtlLoopAndIf) {
  auto s = Bound(5353);
  ASSERT_EQ(Join(*s, kGroup), 0);
  Run(5s);
  const uint8_t data[] = {5};
  const SocketAddress to{IpAddress(kGroup), 5353, 0};
  // ip(7): TTL 1 by default, and a copy for ourselves (IP_MULTICAST_LOOP on).
  ASSERT_TRUE(s->SendTo(ByteSpan(data, 1), &to, 0).ok());
  auto sent = Udps(Run(0ms));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ttl, 1);
  EXPECT_EQ(sent[0].dst, kGroup);
  EXPECT_EQ(Recv(*s), 5);
  ASSERT_EQ(SetInt(*s, IPPROTO_IP, IP_MULTICAST_TTL, 255), 0);
  ASSERT_EQ(SetInt(*s, IPPROTO_IP, IP_MULTICAST_LOOP, 0), 0);
  ASSERT_TRUE(s->SendTo(ByteSpan(data, 1), &to, 0).ok());
  sent = Udps(Run(0ms));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ttl, 255);
  EXPECT_EQ(Recv(*s), -EAGAIN);
  // IP_MULTICAST_IF: our address is taken, another is not; read back as an in_addr.
  in_addr ifa = In(kOurIp);
  EXPECT_TRUE(s->SetOption(IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof(ifa)).ok());
  in_addr back{};
  socklen_t len = sizeof(back);
  ASSERT_TRUE(s->GetOption(IPPROTO_IP, IP_MULTICAST_IF, &back, &len).ok());
  EXPECT_EQ(back.s_addr, ifa.s_addr);
  in_addr bad = In(Ip4Address(10, 77, 0, 99));
  EXPECT_EQ(s->SetOption(IPPROTO_IP, IP_MULTICAST_IF, &bad, sizeof(bad)).error(), EADDRNOTAVAIL);
  // TTL 0: looped back only (ip_mc_output), never on the wire.
  ASSERT_EQ(SetInt(*s, IPPROTO_IP, IP_MULTICAST_TTL, 0), 0);
  ASSERT_EQ(SetInt(*s, IPPROTO_IP, IP_MULTICAST_LOOP, 1), 0);
  ASSERT_TRUE(s->SendTo(ByteSpan(data, 1), &to, 0).ok());
  EXPECT_TRUE(Udps(Run(0ms)).empty());
  EXPECT_EQ(Recv(*s), 5);
}

}  // namespace
}  // namespace pytcp::testing
