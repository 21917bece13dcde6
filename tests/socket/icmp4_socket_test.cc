// ICMP ping and raw sockets, IP_TTL and IP_RECVERR/MSG_ERRQUEUE (ICMP and UDP), on two
// stacks over a memory link under a virtual clock. Stack B plays the router when a test
// needs a Time Exceeded: its ICMP engine is asked to send one about the datagram A sent.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>

#include <cstring>
#include <memory>
#include <vector>

#include "stack/link/memory_link.h"
#include "stack/stack.h"
#include "stack/wire/checksum.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/ip4.h"
#include "stack/wire/udp.h"
#include "tests/support/simulator.h"
#include "tests/support/memory_stack.h"

namespace pytcp {
namespace {

constexpr Ip4Address kIpA(10, 77, 0, 2);
constexpr Ip4Address kIpB(10, 77, 0, 3);
constexpr int kSolRaw = 255;
constexpr int kIcmpFilter = 1;

StackConfig Config(std::string_view mac, std::string_view ifaddr) {
  return testing::MemoryStackConfig(MacAddress::Parse(mac), ifaddr, 11);
}

// An echo request (id and checksum as given: a ping socket rewrites both).
std::vector<uint8_t> EchoRequest(uint16_t id, uint16_t seq, size_t data_size) {
  std::vector<uint8_t> data(data_size);
  for (size_t i = 0; i < data_size; ++i) data[i] = static_cast<uint8_t>(i + 1);
  std::vector<uint8_t> msg(kIcmp4HeaderSize + data_size);
  Icmp4Header::EchoRequest(id, seq).Emit(msg, data);
  std::copy(data.begin(), data.end(), msg.begin() + kIcmp4HeaderSize);
  return msg;
}

class Icmp4SocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = MemoryLink::CreatePair({}, clock_);
    a_ = *Stack::CreateWithLink(Config("02:00:00:77:00:02", "10.77.0.2/24"), std::move(pair.a),
                                &clock_);
    b_ = *Stack::CreateWithLink(Config("02:00:00:77:00:03", "10.77.0.3/24"), std::move(pair.b),
                                &clock_);
    ASSERT_TRUE(a_->StartManual().ok());
    ASSERT_TRUE(b_->StartManual().ok());
    sim_.Add(a_.get());
    sim_.Add(b_.get());
    sim_.RunFor(std::chrono::milliseconds(10));
  }

  std::shared_ptr<Icmp4Socket> Open(Stack* s, int type) {
    auto sock = s->CreateIcmp4Socket(type);
    sock->set_nonblocking(true);
    return sock;
  }
  static void SetInt(Socket& s, int level, int name, int v) {
    ASSERT_TRUE(s.SetOption(level, name, &v, sizeof(v)).ok());
  }

  VirtualClock clock_;
  testing::Simulator sim_{&clock_};
  std::unique_ptr<Stack> a_, b_;
};

TEST_F(Icmp4SocketTest, PingSocketGetsReplyWithItsIdentifier) {
  auto ping = Open(a_.get(), SOCK_DGRAM);
  ASSERT_TRUE(ping->Bind(SocketAddress{IpAddress(Ip4Address()), 4242}).ok());
  const SocketAddress to{IpAddress(kIpB), 0};
  // The identifier given (7) is replaced by the bound one; the checksum is computed.
  auto msg = EchoRequest(7, 1, 56);
  ASSERT_EQ(*ping->SendTo(msg, &to, 0), msg.size());
  std::vector<uint8_t> buf(2000);
  SocketAddress from;
  ASSERT_TRUE(sim_.RunUntil([&] { return ping->NextMessageSize() > 0; },
                            std::chrono::seconds(1)));
  auto n = ping->RecvFrom(buf, &from, 0);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, msg.size());  // the ICMP message, no IPv4 header
  auto reply = Icmp4View::Parse(ByteSpan(buf).first(*n));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->type(), Icmp4Type::kEchoReply);
  EXPECT_EQ(reply->echo_id(), 4242);
  EXPECT_EQ(reply->echo_seq(), 1);
  EXPECT_TRUE(std::equal(msg.begin() + 8, msg.end(), buf.begin() + 8));
  EXPECT_EQ(from.ip, IpAddress(kIpB));
  EXPECT_EQ(from.port, 0);
  EXPECT_EQ(b_->CounterSnapshot()["icmp4.tx_echo_replies"], 1u);
  EXPECT_EQ(ping->RecvFrom(buf, &from, 0).error(), EAGAIN);
}

TEST_F(Icmp4SocketTest, PingSocketAutoBindsAnEphemeralIdentifier) {
  auto ping = Open(a_.get(), SOCK_DGRAM);
  const SocketAddress to{IpAddress(kIpB), 0};
  ASSERT_TRUE(ping->SendTo(EchoRequest(0, 9, 8), &to, 0).ok());
  const uint16_t ident = ping->LocalAddress()->port;
  EXPECT_GE(ident, 32768);
  ASSERT_TRUE(sim_.RunUntil([&] { return ping->NextMessageSize() > 0; },
                            std::chrono::seconds(1)));
  std::vector<uint8_t> buf(100);
  auto n = ping->RecvFrom(buf, nullptr, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(LoadBe16(buf.data() + 4), ident);
}

TEST_F(Icmp4SocketTest, PingSocketRefusesAnythingButEchoRequests) {
  auto ping = Open(a_.get(), SOCK_DGRAM);
  const SocketAddress to{IpAddress(kIpB), 0};
  auto msg = EchoRequest(1, 1, 8);
  msg[0] = 0;  // an echo reply
  EXPECT_EQ(ping->SendTo(msg, &to, 0).error(), EINVAL);
  EXPECT_EQ(ping->SendTo(ByteSpan(msg).first(4), &to, 0).error(), EINVAL);
  EXPECT_EQ(ping->SendTo(EchoRequest(1, 1, 8), nullptr, 0).error(), EDESTADDRREQ);
}

TEST_F(Icmp4SocketTest, TwoPingSocketsEachGetTheirOwnReplies) {
  auto p1 = Open(a_.get(), SOCK_DGRAM);
  auto p2 = Open(a_.get(), SOCK_DGRAM);
  ASSERT_TRUE(p1->Bind(SocketAddress{IpAddress(Ip4Address()), 1000}).ok());
  ASSERT_TRUE(p2->Bind(SocketAddress{IpAddress(Ip4Address()), 2000}).ok());
  auto p3 = Open(a_.get(), SOCK_DGRAM);
  EXPECT_EQ(p3->Bind(SocketAddress{IpAddress(Ip4Address()), 1000}).error(), EADDRINUSE);
  const SocketAddress to{IpAddress(kIpB), 0};
  ASSERT_TRUE(p1->SendTo(EchoRequest(0, 1, 8), &to, 0).ok());
  ASSERT_TRUE(p2->SendTo(EchoRequest(0, 2, 8), &to, 0).ok());
  ASSERT_TRUE(p2->SendTo(EchoRequest(0, 3, 8), &to, 0).ok());
  sim_.RunFor(std::chrono::milliseconds(100));
  EXPECT_EQ(p1->queued_messages(), 1u);
  EXPECT_EQ(p2->queued_messages(), 2u);
}

TEST_F(Icmp4SocketTest, RawSocketSeesHeaderAndHonoursIcmpFilter) {
  auto raw = Open(a_.get(), SOCK_RAW);
  const SocketAddress to{IpAddress(kIpB), 0};
  // A raw sender computes its own checksum (Emit did); it leaves as given.
  auto msg = EchoRequest(0x1234, 5, 16);
  ASSERT_TRUE(raw->SendTo(msg, &to, 0).ok());
  ASSERT_TRUE(sim_.RunUntil([&] { return raw->NextMessageSize() > 0; },
                            std::chrono::seconds(1)));
  std::vector<uint8_t> buf(2000);
  auto n = raw->RecvFrom(buf, nullptr, 0);
  ASSERT_TRUE(n.ok());
  auto ip = Ip4View::Parse(ByteSpan(buf).first(*n));
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->src(), kIpB);
  EXPECT_EQ(ip->protocol(), IpProto::kIcmp4);
  auto reply = Icmp4View::Parse(ip->payload());
  ASSERT_TRUE(reply.ok());  // B checked our checksum and answered
  EXPECT_EQ(reply->echo_id(), 0x1234);

  // ping's filter: only echo replies and errors pass; an echo request from B is dropped
  // by the filter (B's engine still... a raw socket on B sees A's requests).
  const uint32_t filter = ~((1u << 0) | (1u << 3) | (1u << 11));
  ASSERT_TRUE(raw->SetOption(kSolRaw, kIcmpFilter, &filter, sizeof(filter)).ok());
  uint32_t got = 0;
  socklen_t len = sizeof(got);
  ASSERT_TRUE(raw->GetOption(kSolRaw, kIcmpFilter, &got, &len).ok());
  EXPECT_EQ(got, filter);
  auto raw_b = Open(b_.get(), SOCK_RAW);
  ASSERT_TRUE(raw_b->SetOption(kSolRaw, kIcmpFilter, &filter, sizeof(filter)).ok());
  const SocketAddress to_a{IpAddress(kIpA), 0};
  ASSERT_TRUE(raw_b->SendTo(msg, &to_a, 0).ok());
  sim_.RunFor(std::chrono::milliseconds(100));
  // A's raw socket filtered B's request; B's raw socket got A's reply.
  EXPECT_EQ(raw->queued_messages(), 0u);
  EXPECT_EQ(raw_b->queued_messages(), 1u);
  // A ping socket has no ICMP_FILTER.
  auto ping = Open(a_.get(), SOCK_DGRAM);
  EXPECT_EQ(ping->SetOption(kSolRaw, kIcmpFilter, &filter, sizeof(filter)).error(), ENOPROTOOPT);
}

// raw(7) ICMP_FILTER's lengths as Linux's raw_seticmpfilter/raw_geticmpfilter take them: a
// short value overwrites the filter's first bytes only, a long one is cut to 4 bytes, a
// negative length is EINVAL; getsockopt cuts to the buffer and to 4 bytes.
TEST_F(Icmp4SocketTest, IcmpFilterTakesShortAndLongLengthsAsLinux) {
  auto raw = Open(a_.get(), SOCK_RAW);
  uint32_t got = 0;
  socklen_t len = sizeof(got);
  const uint32_t all = 0xFFFFFFFFu;
  ASSERT_TRUE(raw->SetOption(kSolRaw, kIcmpFilter, &all, sizeof(all)).ok());
  // One byte: only the first byte of the filter changes (no EINVAL).
  const uint8_t one = 0x00;
  ASSERT_TRUE(raw->SetOption(kSolRaw, kIcmpFilter, &one, 1).ok());
  uint32_t want = all;
  std::memset(&want, 0, 1);
  ASSERT_TRUE(raw->GetOption(kSolRaw, kIcmpFilter, &got, &len).ok());
  EXPECT_EQ(len, sizeof(got));
  EXPECT_EQ(got, want);
  // Nothing: nothing read, the filter unchanged, no buffer needed.
  ASSERT_TRUE(raw->SetOption(kSolRaw, kIcmpFilter, nullptr, 0).ok());
  ASSERT_TRUE(raw->GetOption(kSolRaw, kIcmpFilter, &got, &len).ok());
  EXPECT_EQ(got, want);
  // Longer than struct icmp_filter: its first 4 bytes are taken.
  const uint32_t two[2] = {0x00000008u, 0xFFFFFFFFu};
  ASSERT_TRUE(raw->SetOption(kSolRaw, kIcmpFilter, two, sizeof(two)).ok());
  ASSERT_TRUE(raw->GetOption(kSolRaw, kIcmpFilter, &got, &len).ok());
  EXPECT_EQ(got, 0x00000008u);
  // A negative optlen (the kernel's is an int) is EINVAL and changes nothing.
  EXPECT_EQ(raw->SetOption(kSolRaw, kIcmpFilter, &all, static_cast<socklen_t>(-1)).error(),
            EINVAL);
  // getsockopt: a longer buffer gets 4 bytes, a shorter one the first bytes, a negative
  // length EINVAL.
  uint32_t wide[2] = {0, 0};
  len = sizeof(wide);
  ASSERT_TRUE(raw->GetOption(kSolRaw, kIcmpFilter, wide, &len).ok());
  EXPECT_EQ(len, sizeof(uint32_t));
  EXPECT_EQ(wide[0], 0x00000008u);
  uint8_t first = 0xAA;
  len = 1;
  ASSERT_TRUE(raw->GetOption(kSolRaw, kIcmpFilter, &first, &len).ok());
  EXPECT_EQ(len, 1u);
  uint8_t want_first = 0;
  const uint32_t filter = 0x00000008u;
  std::memcpy(&want_first, &filter, 1);
  EXPECT_EQ(first, want_first);
  len = 0;
  ASSERT_TRUE(raw->GetOption(kSolRaw, kIcmpFilter, nullptr, &len).ok());
  EXPECT_EQ(len, 0u);
  len = static_cast<socklen_t>(-1);
  EXPECT_EQ(raw->GetOption(kSolRaw, kIcmpFilter, &got, &len).error(), EINVAL);
}

TEST_F(Icmp4SocketTest, TtlTimeExceededReachesThePingSocketErrorQueue) {
  auto ping = Open(a_.get(), SOCK_DGRAM);
  SetInt(*ping, IPPROTO_IP, IP_TTL, 1);
  SetInt(*ping, IPPROTO_IP, IP_RECVERR, 1);
  SetInt(*ping, SOL_SOCKET, SO_TIMESTAMP, 1);
  // B "routes": it sees the request on a raw socket and answers Time Exceeded about it.
  auto raw_b = Open(b_.get(), SOCK_RAW);
  const SocketAddress to{IpAddress(kIpB), 0};
  const auto msg = EchoRequest(0, 3, 24);
  ASSERT_TRUE(ping->SendTo(msg, &to, 0).ok());
  ASSERT_TRUE(sim_.RunUntil([&] { return raw_b->NextMessageSize() > 0; },
                            std::chrono::seconds(1)));
  std::vector<uint8_t> datagram(2000);
  auto n = raw_b->RecvFrom(datagram, nullptr, 0);
  ASSERT_TRUE(n.ok());
  datagram.resize(*n);
  EXPECT_EQ(datagram[8], 1);  // IP_TTL took effect
  {
    std::lock_guard lock(b_->mutex());
    b_->icmp4().SendTimeExceeded(datagram, 0, clock_.Now());
  }
  sim_.RunFor(std::chrono::milliseconds(100));
  EXPECT_NE(ping->Poll() & POLLERR, 0u);
  std::vector<uint8_t> buf(2000);
  // The error is reported once by a normal receive (sk_err), then read from the queue.
  EXPECT_EQ(ping->RecvFrom(buf, nullptr, 0).error(), EHOSTUNREACH);
  SocketAddress from;
  RecvAncillary anc;
  int flags = 0;
  auto e = ping->RecvFrom(buf, &from, MSG_ERRQUEUE, &flags, &anc);
  ASSERT_TRUE(e.ok());
  EXPECT_NE(flags & MSG_ERRQUEUE, 0);
  ASSERT_TRUE(anc.has_error);
  EXPECT_EQ(anc.error.error, EHOSTUNREACH);
  EXPECT_EQ(anc.error.origin, 2);
  EXPECT_EQ(anc.error.type, 11);
  EXPECT_EQ(anc.error.code, 0);
  EXPECT_EQ(anc.error.offender, kIpB);
  EXPECT_EQ(from.ip, IpAddress(kIpB));
  // The payload is our echo request as sent (identifier and checksum filled in).
  ASSERT_EQ(*e, msg.size());
  EXPECT_EQ(buf[0], 8);
  EXPECT_EQ(LoadBe16(buf.data() + 4), ping->LocalAddress()->port);
  EXPECT_EQ(LoadBe16(buf.data() + 6), 3);
  EXPECT_EQ(ping->RecvFrom(buf, &from, MSG_ERRQUEUE, &flags, &anc).error(), EAGAIN);
  EXPECT_EQ(ping->Poll() & POLLERR, 0u);
}

TEST_F(Icmp4SocketTest, WithoutRecverrAnUnconnectedPingSocketIgnoresErrors) {
  auto ping = Open(a_.get(), SOCK_DGRAM);
  auto raw_b = Open(b_.get(), SOCK_RAW);
  const SocketAddress to{IpAddress(kIpB), 0};
  ASSERT_TRUE(ping->SendTo(EchoRequest(0, 1, 8), &to, 0).ok());
  ASSERT_TRUE(sim_.RunUntil([&] { return raw_b->NextMessageSize() > 0; },
                            std::chrono::seconds(1)));
  std::vector<uint8_t> d(2000);
  d.resize(*raw_b->RecvFrom(d, nullptr, 0));
  {
    std::lock_guard lock(b_->mutex());
    b_->icmp4().SendTimeExceeded(d, 0, clock_.Now());
  }
  sim_.RunFor(std::chrono::milliseconds(100));
  EXPECT_EQ(ping->Poll() & POLLERR, 0u);
  EXPECT_EQ(ping->error_queue_size(), 0u);
}

TEST_F(Icmp4SocketTest, ArpFailureIsHostUnreachableFromOurOwnAddress) {
  // Linux: a neighbour that never answers ARP makes ping print "Destination Host
  // Unreachable" from the local address.
  auto ping = Open(a_.get(), SOCK_DGRAM);
  SetInt(*ping, IPPROTO_IP, IP_RECVERR, 1);
  const SocketAddress to{IpAddress(Ip4Address(10, 77, 0, 50)), 0};
  ASSERT_TRUE(ping->SendTo(EchoRequest(0, 7, 8), &to, 0).ok());
  ASSERT_TRUE(sim_.RunUntil([&] { return ping->error_queue_size() > 0; }, std::chrono::seconds(10)));
  std::vector<uint8_t> buf(100);
  RecvAncillary anc;
  int flags = 0;
  ASSERT_TRUE(ping->RecvFrom(buf, nullptr, MSG_ERRQUEUE, &flags, &anc).ok());
  EXPECT_EQ(anc.error.type, 3);
  EXPECT_EQ(anc.error.code, 1);
  EXPECT_EQ(anc.error.error, EHOSTUNREACH);
  EXPECT_EQ(anc.error.offender, kIpA);
  EXPECT_EQ(LoadBe16(buf.data() + 6), 7);
}

TEST_F(Icmp4SocketTest, RecvTtlAndTimestampControlMessages) {
  auto ping = Open(a_.get(), SOCK_DGRAM);
  SetInt(*ping, IPPROTO_IP, IP_RECVTTL, 1);
  SetInt(*ping, SOL_SOCKET, SO_TIMESTAMP, 1);
  const SocketAddress to{IpAddress(kIpB), 0};
  ASSERT_TRUE(ping->SendTo(EchoRequest(0, 1, 8), &to, 0).ok());
  ASSERT_TRUE(sim_.RunUntil([&] { return ping->NextMessageSize() > 0; },
                            std::chrono::seconds(1)));
  std::vector<uint8_t> buf(100);
  RecvAncillary anc;
  ASSERT_TRUE(ping->RecvFrom(buf, nullptr, 0, nullptr, &anc).ok());
  EXPECT_TRUE(anc.has_ttl);
  EXPECT_EQ(anc.ttl, 64);
  EXPECT_TRUE(anc.has_timestamp);
  EXPECT_GT(anc.timestamp_ns, 0);
  EXPECT_FALSE(anc.has_error);
}

TEST_F(Icmp4SocketTest, PingOurOwnAddressThroughLoopback) {
  auto ping = Open(a_.get(), SOCK_DGRAM);
  const SocketAddress to{IpAddress(kIpA), 0};
  ASSERT_TRUE(ping->SendTo(EchoRequest(0, 1, 8), &to, 0).ok());
  ASSERT_TRUE(sim_.RunUntil([&] { return ping->NextMessageSize() > 0; },
                            std::chrono::seconds(1)));
}

// Builds the datagram A would have sent: IPv4 + UDP, from A:sport to dst:dport, TTL 1.
std::vector<uint8_t> UdpDatagram(Ip4Address src, Ip4Address dst, uint16_t sport, uint16_t dport,
                                 ByteSpan payload) {
  std::vector<uint8_t> d(kIp4MinHeaderSize + kUdpHeaderSize + payload.size());
  std::copy(payload.begin(), payload.end(), d.begin() + kIp4MinHeaderSize + kUdpHeaderSize);
  UdpHeader{sport, dport}.Emit(
      MutableByteSpan(d).subspan(kIp4MinHeaderSize, kUdpHeaderSize), payload,
      PseudoHeaderSum4(src, dst, 17, static_cast<uint32_t>(kUdpHeaderSize + payload.size())));
  Ip4Header ip;
  ip.src = src;
  ip.dst = dst;
  ip.ttl = 1;
  ip.protocol = IpProto::kUdp;
  ip.Emit(MutableByteSpan(d).first(kIp4MinHeaderSize), kUdpHeaderSize + payload.size());
  return d;
}

TEST_F(Icmp4SocketTest, UdpRecverrQueuesTimeExceededAndPortUnreachable) {
  // traceroute's probes: unconnected or connected UDP with IP_RECVERR and IP_TTL.
  auto udp = a_->CreateUdpSocket();
  udp->set_nonblocking(true);
  SetInt(*udp, IPPROTO_IP, IP_RECVERR, 1);
  SetInt(*udp, IPPROTO_IP, IP_TTL, 2);
  const std::vector<uint8_t> probe = {'p', 'r', 'o', 'b', 'e'};
  const SocketAddress to{IpAddress(kIpB), 33434};
  ASSERT_TRUE(udp->SendTo(probe, &to, 0).ok());
  sim_.RunFor(std::chrono::milliseconds(100));
  // B has no socket on 33434: port unreachable, queued although not connected.
  EXPECT_NE(udp->Poll() & POLLERR, 0u);
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  RecvAncillary anc;
  int flags = 0;
  auto n = udp->RecvFrom(buf, &from, MSG_ERRQUEUE, &flags, &anc);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, probe.size());
  EXPECT_TRUE(std::equal(probe.begin(), probe.end(), buf.begin()));
  EXPECT_EQ(from, to);
  ASSERT_TRUE(anc.has_error);
  EXPECT_EQ(anc.error.error, ECONNREFUSED);
  EXPECT_EQ(anc.error.type, 3);
  EXPECT_EQ(anc.error.code, 3);
  EXPECT_EQ(anc.error.offender, kIpB);
  EXPECT_EQ(udp->Poll() & POLLERR, 0u);

  // A Time Exceeded from a "router" about a probe of this socket.
  const uint16_t sport = udp->LocalAddress()->port;
  const auto d = UdpDatagram(kIpA, Ip4Address(10, 78, 0, 2), sport, 33435, probe);
  {
    std::lock_guard lock(b_->mutex());
    b_->icmp4().SendTimeExceeded(d, 0, clock_.Now());
  }
  sim_.RunFor(std::chrono::milliseconds(100));
  anc = RecvAncillary{};
  n = udp->RecvFrom(buf, &from, MSG_ERRQUEUE, &flags, &anc);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(anc.error.type, 11);
  EXPECT_EQ(anc.error.error, EHOSTUNREACH);
  EXPECT_EQ(anc.error.offender, kIpB);
  EXPECT_EQ(from, (SocketAddress{IpAddress(Ip4Address(10, 78, 0, 2)), 33435}));

  // Turning IP_RECVERR off purges the queue; errors then go to connected sockets only.
  SetInt(*udp, IPPROTO_IP, IP_RECVERR, 0);
  {
    std::lock_guard lock(b_->mutex());
    b_->icmp4().SendTimeExceeded(d, 0, clock_.Now());
  }
  sim_.RunFor(std::chrono::milliseconds(100));
  EXPECT_EQ(udp->error_queue_size(), 0u);
  EXPECT_EQ(udp->Poll() & POLLERR, 0u);
}

TEST_F(Icmp4SocketTest, TooLongWithDontFragmentIsALocalErrorWithTheMtu) {
  auto ping = Open(a_.get(), SOCK_DGRAM);
  SetInt(*ping, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO);
  SetInt(*ping, IPPROTO_IP, IP_RECVERR, 1);
  const SocketAddress to{IpAddress(kIpB), 0};
  EXPECT_EQ(ping->SendTo(EchoRequest(0, 1, 1600), &to, 0).error(), EMSGSIZE);
  std::vector<uint8_t> buf(100);
  SocketAddress from;
  RecvAncillary anc;
  int flags = 0;
  auto n = ping->RecvFrom(buf, &from, MSG_ERRQUEUE, &flags, &anc);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  ASSERT_TRUE(anc.has_error);
  EXPECT_EQ(anc.error.error, EMSGSIZE);
  EXPECT_EQ(anc.error.origin, 1);  // SO_EE_ORIGIN_LOCAL (ip_local_error)
  EXPECT_EQ(anc.error.info, 1500u);
  EXPECT_EQ(from.ip, IpAddress(kIpB));
  // Without IP_RECVERR only the send fails.
  SetInt(*ping, IPPROTO_IP, IP_RECVERR, 0);
  EXPECT_EQ(ping->SendTo(EchoRequest(0, 2, 1600), &to, 0).error(), EMSGSIZE);
  EXPECT_EQ(ping->RecvFrom(buf, &from, MSG_ERRQUEUE, &flags, &anc).error(), EAGAIN);
}

}  // namespace
}  // namespace pytcp
