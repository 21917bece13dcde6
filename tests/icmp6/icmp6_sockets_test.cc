// ICMPv6 ping and raw sockets (Icmp6Socket over Icmp6Sockets) on one stack over a memory
// link under a virtual clock, and IPV6_RECVERR on UDP: the bytes sent (identifier, checksum
// over the pseudo-header, hop limit), what is received (message, sender, IPV6_HOPLIMIT),
// ICMP6_FILTER, IPV6_CHECKSUM, errors through MSG_ERRQUEUE with SO_EE_ORIGIN_ICMP6, and the
// errno values Linux gives.
#include <gtest/gtest.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <poll.h>

#include <cerrno>

#include "stack/wire/checksum.h"
#include "stack/wire/udp.h"
#include "tests/ip6/ip6_harness.h"

namespace pytcp::testing {
namespace {

constexpr int kSolRaw = 255;

// An echo request as a program writes it (identifier and checksum garbage: the stack
// rewrites both for a ping socket).
std::vector<uint8_t> Request(uint16_t id, uint16_t seq, size_t n) {
  std::vector<uint8_t> m(kIcmp6HeaderSize + n);
  m[0] = 128;
  StoreBe16(m.data() + 2, 0xdead);
  StoreBe16(m.data() + 4, id);
  StoreBe16(m.data() + 6, seq);
  for (size_t i = 0; i < n; ++i) m[kIcmp6HeaderSize + i] = static_cast<uint8_t>(i + 1);
  return m;
}

// An ICMPv6 error from `from` quoting `packet` (an IPv6 packet the stack sent).
std::vector<uint8_t> ErrorAbout(const Icmp6Header& h, const Ip6Address& from,
                                const std::vector<uint8_t>& packet) {
  std::vector<uint8_t> msg(kIcmp6HeaderSize + packet.size());
  std::copy(packet.begin(), packet.end(), msg.begin() + kIcmp6HeaderSize);
  h.Emit(msg, packet, Icmp6PseudoHeaderSum(from, kOurGlobal, msg.size()));
  return Frame(kOurMac, Hdr(from, kOurGlobal, Ip6NextHeader::kIcmp6), {}, msg);
}

std::vector<uint8_t> IpPacket(const Sent& s) {
  return std::vector<uint8_t>(s.bytes.begin() + kEthernetHeaderSize, s.bytes.end());
}

class Icmp6SocketTest : public Ip6Harness {
 protected:
  void SetUp() override {
    Start([](StackConfig& c) {
      c.ip6_mode = Ip6Mode::kStatic;
      c.ip6_addresses = {*Ip6Interface::Parse("fd77::2/64")};
    });
    KnowNeighbours();
    Settle();
  }
  std::shared_ptr<Icmp6Socket> Open(int type) {
    auto s = stack_->CreateIcmp6Socket(type);
    s->set_nonblocking(true);
    return s;
  }
  static void SetInt(Socket& s, int level, int name, int v) {
    ASSERT_TRUE(s.SetOption(level, name, &v, sizeof(v)).ok());
  }
  std::vector<Sent> Drain() {
    std::vector<Sent> out;
    for (auto& f : peer_->Drain()) out.push_back(ParseSent(f));
    return out;
  }
  const SocketAddress kPeer{IpAddress(kPeerGlobal), 0, 0};
};

TEST_F(Icmp6SocketTest, PingSocketSendsEchoWithItsIdentifierAndChecksum) {
  auto ping = Open(SOCK_DGRAM);
  ASSERT_TRUE(ping->Bind(SocketAddress{IpAddress(Ip6Address()), 4242, 0}).ok());
  SetInt(*ping, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 5);
  const auto req = Request(0x1111, 7, 24);
  ASSERT_EQ(*ping->SendTo(req, &kPeer, 0), req.size());
  auto sent = Drain();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].src, kOurGlobal);
  EXPECT_EQ(sent[0].dst, kPeerGlobal);
  EXPECT_EQ(sent[0].hop_limit, 5);
  ASSERT_TRUE(sent[0].is_icmp6());
  const Icmp6View v = sent[0].icmp();  // parses: the checksum is right
  EXPECT_EQ(v.type(), Icmp6Type::kEchoRequest);
  EXPECT_EQ(v.echo_id(), 4242);
  EXPECT_EQ(v.echo_seq(), 7);
  EXPECT_TRUE(std::equal(req.begin() + 8, req.end(), v.echo_data().begin(), v.echo_data().end()));
  auto local = ping->LocalAddress();
  EXPECT_EQ(local->port, 4242);
}

TEST_F(Icmp6SocketTest, PingSocketRefusesWhatIsNotAnEchoRequest) {
  auto ping = Open(SOCK_DGRAM);
  auto reply = Request(1, 1, 4);
  reply[0] = 129;
  EXPECT_EQ(ping->SendTo(reply, &kPeer, 0).error(), EINVAL);
  auto code = Request(1, 1, 4);
  code[1] = 1;
  EXPECT_EQ(ping->SendTo(code, &kPeer, 0).error(), EINVAL);
  const std::vector<uint8_t> short_msg = {128, 0, 0, 0};
  EXPECT_EQ(ping->SendTo(short_msg, &kPeer, 0).error(), EINVAL);
  const SocketAddress mapped{IpAddress(Ip4Address(10, 77, 0, 1)), 0, 0};
  EXPECT_EQ(ping->SendTo(Request(1, 1, 4), &mapped, 0).error(), EINVAL);
  EXPECT_EQ(ping->SendTo(Request(1, 1, 4), nullptr, 0).error(), EDESTADDRREQ);
  // A ping socket has no ICMPv6-level or raw options.
  icmp6_filter f{};
  EXPECT_EQ(ping->SetOption(IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)).error(), ENOPROTOOPT);
  const int two = 2;
  EXPECT_EQ(ping->SetOption(kSolRaw, IPV6_CHECKSUM, &two, sizeof(two)).error(), ENOPROTOOPT);
  EXPECT_TRUE(Drain().empty());
}

TEST_F(Icmp6SocketTest, PingSocketGetsItsReplyWithTheHopLimit) {
  auto ping = Open(SOCK_DGRAM);
  ASSERT_TRUE(ping->Bind(SocketAddress{IpAddress(Ip6Address()), 4242, 0}).ok());
  SetInt(*ping, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1);
  const auto data = EchoData(16);
  const auto other = Echo(kPeerGlobal, kOurGlobal, false, 4243, 1, data);
  const auto mine = Echo(kPeerGlobal, kOurGlobal, false, 4242, 1, data);
  EXPECT_TRUE(Exchange(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kIcmp6, 61), {},
                             other)).empty());
  EXPECT_TRUE(Exchange(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kIcmp6, 61), {},
                             mine)).empty());
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  RecvAncillary anc;
  int flags = 0;
  auto n = ping->RecvFrom(buf, &from, 0, &flags, &anc);
  ASSERT_TRUE(n.ok());
  buf.resize(*n);
  EXPECT_EQ(buf, mine);  // the ICMPv6 message, without the IPv6 header
  EXPECT_EQ(from.ip, IpAddress(kPeerGlobal));
  EXPECT_TRUE(anc.has_hoplimit);
  EXPECT_EQ(anc.hoplimit, 61);
  EXPECT_FALSE(anc.has_ttl);
  EXPECT_EQ(ping->RecvFrom(buf, &from, 0, &flags, &anc).error(), EAGAIN);  // not 4243's
}

TEST_F(Icmp6SocketTest, ErrorAboutAnEchoRequestGoesToTheErrorQueue) {
  auto ping = Open(SOCK_DGRAM);
  SetInt(*ping, IPPROTO_IPV6, IPV6_RECVERR, 1);
  ASSERT_TRUE(ping->SendTo(Request(0, 3, 8), &kPeer, 0).ok());
  auto sent = Drain();
  ASSERT_EQ(sent.size(), 1u);
  const uint16_t id = ping->LocalAddress()->port;
  EXPECT_TRUE(Exchange(ErrorAbout(Icmp6Header::TimeExceeded(Icmp6TimeExceededCode::kHopLimit),
                                  kRouterLinkLocal, IpPacket(sent[0])))
                  .empty());
  EXPECT_NE(ping->Poll() & POLLERR, 0u);
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  int flags = 0;
  // The error is reported once by the next call, then read from the queue (ping_err).
  EXPECT_EQ(ping->RecvFrom(buf, &from, 0, &flags, nullptr).error(), EHOSTUNREACH);
  RecvAncillary anc;
  auto n = ping->RecvFrom(buf, &from, MSG_ERRQUEUE, &flags, &anc);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 16u);  // the echo request we sent, as payload
  EXPECT_EQ(LoadBe16(buf.data() + 4), id);
  EXPECT_EQ(buf[0], 128);
  EXPECT_NE(flags & MSG_ERRQUEUE, 0);
  ASSERT_TRUE(anc.has_error);
  EXPECT_EQ(anc.error.error, EHOSTUNREACH);
  EXPECT_EQ(anc.error.origin, 3);  // SO_EE_ORIGIN_ICMP6
  EXPECT_EQ(anc.error.type, 3);
  EXPECT_EQ(anc.error.code, 0);
  EXPECT_EQ(anc.error.offender6, kRouterLinkLocal);
  EXPECT_EQ(from.ip, IpAddress(kPeerGlobal));
  EXPECT_EQ(ping->RecvFrom(buf, &from, MSG_ERRQUEUE, &flags, &anc).error(), EAGAIN);
  EXPECT_EQ(ping->Poll() & POLLERR, 0u);
}

TEST_F(Icmp6SocketTest, ErrorWithoutRecvErrOnlyForConnectedSockets) {
  auto ping = Open(SOCK_DGRAM);
  ASSERT_TRUE(ping->SendTo(Request(0, 1, 8), &kPeer, 0).ok());
  auto sent = Drain();
  ASSERT_EQ(sent.size(), 1u);
  Exchange(ErrorAbout(Icmp6Header::DestinationUnreachable(Icmp6UnreachableCode::kAdminProhibited),
                      kPeerGlobal, IpPacket(sent[0])));
  std::vector<uint8_t> buf(100);
  int flags = 0;
  EXPECT_EQ(ping->RecvFrom(buf, nullptr, 0, &flags, nullptr).error(), EAGAIN);
  ASSERT_TRUE(ping->Connect(&kPeer).ok());
  ASSERT_TRUE(ping->SendTo(Request(0, 2, 8), nullptr, 0).ok());
  sent = Drain();
  ASSERT_EQ(sent.size(), 1u);
  Exchange(ErrorAbout(Icmp6Header::DestinationUnreachable(Icmp6UnreachableCode::kAdminProhibited),
                      kPeerGlobal, IpPacket(sent[0])));
  EXPECT_EQ(ping->RecvFrom(buf, nullptr, 0, &flags, nullptr).error(), EACCES);
}

TEST_F(Icmp6SocketTest, NeighbourFailureIsAddressUnreachableFromOurselves) {
  auto ping = Open(SOCK_DGRAM);
  SetInt(*ping, IPPROTO_IPV6, IPV6_RECVERR, 1);
  const SocketAddress silent{IpAddress(*Ip6Address::Parse("fd77::50")), 0, 0};
  ASSERT_TRUE(ping->SendTo(Request(0, 1, 8), &silent, 0).ok());  // queued for ND
  Run(5s);
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  RecvAncillary anc;
  int flags = 0;
  ASSERT_TRUE(ping->RecvFrom(buf, &from, MSG_ERRQUEUE, &flags, &anc).ok());
  EXPECT_EQ(anc.error.error, EHOSTUNREACH);
  EXPECT_EQ(anc.error.type, 1);  // destination unreachable
  EXPECT_EQ(anc.error.code, 3);  // address unreachable
  EXPECT_EQ(anc.error.offender6, kOurGlobal);
  EXPECT_EQ(from.ip, silent.ip);
}

TEST_F(Icmp6SocketTest, TooLongWithDontFragmentIsALocalErrorWithTheMtu) {
  auto ping = Open(SOCK_DGRAM);
  SetInt(*ping, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO);
  SetInt(*ping, IPPROTO_IPV6, IPV6_RECVERR, 1);
  EXPECT_EQ(ping->SendTo(Request(0, 1, 1600), &kPeer, 0).error(), EMSGSIZE);
  EXPECT_TRUE(Drain().empty());
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  RecvAncillary anc;
  int flags = 0;
  auto n = ping->RecvFrom(buf, &from, MSG_ERRQUEUE, &flags, &anc);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(anc.error.error, EMSGSIZE);
  EXPECT_EQ(anc.error.origin, 1);  // SO_EE_ORIGIN_LOCAL
  EXPECT_EQ(anc.error.info, 1500u);
  EXPECT_EQ(from.ip, IpAddress(kPeerGlobal));
  EXPECT_EQ(from.port, 0x8000);  // the flow's ICMPv6 type and code, as Linux reports it
  // Fragmentation allowed: the same message leaves in two fragments.
  SetInt(*ping, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DONT);
  ASSERT_TRUE(ping->SendTo(Request(0, 2, 1600), &kPeer, 0).ok());
  EXPECT_EQ(Drain().size(), 2u);
}

TEST_F(Icmp6SocketTest, PingToAllNodesIsAnsweredByThisHostToo) {
  auto ping = Open(SOCK_DGRAM);
  const SocketAddress all{IpAddress(Ip6Address::AllNodesMulticast()), 0, 0};
  ASSERT_TRUE(ping->SendTo(Request(0, 1, 8), &all, 0).ok());
  // ipv6(7) IPV6_MULTICAST_LOOP: our own reply is already queued, from our link-local
  // address (RFC 4443 §4.2: the source of a reply to a multicast request is unicast).
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  int flags = 0;
  auto n = ping->RecvFrom(buf, &from, 0, &flags, nullptr);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(buf[0], 129);
  EXPECT_EQ(from.ip, IpAddress(kOurLinkLocal));
  // The request went out too, with hop limit 1 (IPV6_MULTICAST_HOPS' default).
  auto sent = Drain();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].dst, Ip6Address::AllNodesMulticast());
  EXPECT_EQ(sent[0].hop_limit, 1);
  EXPECT_EQ(sent[0].icmp_type(), Icmp6Type::kEchoRequest);
}

TEST_F(Icmp6SocketTest, RawSocketComputesTheChecksumAtItsOffset) {
  auto raw = Open(SOCK_RAW);
  auto msg = Request(0x7777, 9, 8);  // checksum field 0xdead, identifier kept
  ASSERT_TRUE(raw->SendTo(msg, &kPeer, 0).ok());
  auto sent = Drain();
  ASSERT_EQ(sent.size(), 1u);
  const Icmp6View v = sent[0].icmp();
  EXPECT_EQ(v.echo_id(), 0x7777);
  EXPECT_EQ(InternetChecksum(sent[0].upper_payload,
                             Icmp6PseudoHeaderSum(kOurGlobal, kPeerGlobal, msg.size())),
            0);
  // RFC 3542 §3.1: IPV6_CHECKSUM at IPPROTO_IPV6 is not for ICMPv6; SOL_RAW moves it
  // (even offsets only) or turns it off (-1: the bytes leave as given).
  const int two = 2, odd = 3, off = -1;
  EXPECT_EQ(raw->SetOption(IPPROTO_IPV6, IPV6_CHECKSUM, &two, sizeof(two)).error(), EINVAL);
  EXPECT_EQ(raw->SetOption(kSolRaw, IPV6_CHECKSUM, &odd, sizeof(odd)).error(), EINVAL);
  int got = 0;
  socklen_t len = sizeof(got);
  ASSERT_TRUE(raw->GetOption(kSolRaw, IPV6_CHECKSUM, &got, &len).ok());
  EXPECT_EQ(got, 2);
  ASSERT_TRUE(raw->SetOption(kSolRaw, IPV6_CHECKSUM, &off, sizeof(off)).ok());
  ASSERT_TRUE(raw->SendTo(msg, &kPeer, 0).ok());
  sent = Drain();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].upper_payload, msg);
  // With the checksum on, a message too short to hold it is refused.
  ASSERT_TRUE(raw->SetOption(kSolRaw, IPV6_CHECKSUM, &two, sizeof(two)).ok());
  const std::vector<uint8_t> tiny = {1, 0, 0};
  EXPECT_EQ(raw->SendTo(tiny, &kPeer, 0).error(), EINVAL);
}

TEST_F(Icmp6SocketTest, RawSocketSeesWhatItsFilterPasses) {
  auto raw = Open(SOCK_RAW);
  auto all = Open(SOCK_RAW);
  icmp6_filter f;
  ICMP6_FILTER_SETBLOCKALL(&f);
  ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
  ASSERT_TRUE(raw->SetOption(IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)).ok());
  icmp6_filter back{};
  socklen_t len = sizeof(back);
  ASSERT_TRUE(raw->GetOption(IPPROTO_ICMPV6, ICMP6_FILTER, &back, &len).ok());
  EXPECT_EQ(len, sizeof(back));
  EXPECT_EQ(std::memcmp(&back, &f, sizeof(f)), 0);
  const auto data = EchoData(8);
  // An echo request (answered by the stack as well) and a reply of any identifier.
  auto replies = Exchange(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kIcmp6), {},
                                Echo(kPeerGlobal, kOurGlobal, true, 9, 1, data)));
  EXPECT_EQ(replies.size(), 1u);
  const auto reply = Echo(kPeerGlobal, kOurGlobal, false, 12345, 1, data);
  Exchange(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kIcmp6), {}, reply));
  std::vector<uint8_t> buf(200);
  SocketAddress from;
  int flags = 0;
  auto n = raw->RecvFrom(buf, &from, 0, &flags, nullptr);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<long>(*n)), reply);
  EXPECT_EQ(raw->RecvFrom(buf, &from, 0, &flags, nullptr).error(), EAGAIN);
  // The unfiltered socket saw both, in order.
  ASSERT_TRUE(all->RecvFrom(buf, &from, 0, &flags, nullptr).ok());
  EXPECT_EQ(buf[0], 128);
  ASSERT_TRUE(all->RecvFrom(buf, &from, 0, &flags, nullptr).ok());
  EXPECT_EQ(buf[0], 129);
}

TEST_F(Icmp6SocketTest, UdpOverIpv6GetsIcmp6ErrorsWithRecvErr) {
  auto udp = stack_->CreateUdpSocket(AF_INET6);
  udp->set_nonblocking(true);
  SetInt(*udp, IPPROTO_IPV6, IPV6_RECVERR, 1);
  SetInt(*udp, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 1);
  const std::vector<uint8_t> probe(12, 'p');
  const SocketAddress to{IpAddress(kPeerGlobal), 33434, 0};
  ASSERT_TRUE(udp->SendTo(probe, &to, 0).ok());
  auto sent = Drain();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].hop_limit, 1);
  Exchange(ErrorAbout(Icmp6Header::TimeExceeded(Icmp6TimeExceededCode::kHopLimit),
                      kRouterLinkLocal, IpPacket(sent[0])));
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  RecvAncillary anc;
  int flags = 0;
  auto n = udp->RecvFrom(buf, &from, MSG_ERRQUEUE, &flags, &anc);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + static_cast<long>(*n)), probe);
  EXPECT_EQ(anc.error.origin, 3);
  EXPECT_EQ(anc.error.type, 3);
  EXPECT_EQ(anc.error.offender6, kRouterLinkLocal);
  EXPECT_EQ(from.ip, IpAddress(kPeerGlobal));
  EXPECT_EQ(from.port, 33434);
}

}  // namespace
}  // namespace pytcp::testing
