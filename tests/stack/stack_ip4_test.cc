// Two stacks on one memory link, driven by a virtual clock: IPv4, ARP, ICMPv4 and UDP
// sockets end to end, with the bytes and counters that prove each behaviour.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>

#include <memory>
#include <numeric>
#include <vector>

#include "stack/stack.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/ip4.h"
#include "stack/net/ephemeral_ports.h"
#include "tests/support/frame_peer.h"
#include "tests/support/simulator.h"

namespace pytcp {
namespace {

constexpr Ip4Address kIpA(10, 77, 0, 2);
constexpr Ip4Address kIpB(10, 77, 0, 3);

StackConfig Config(std::string_view mac, std::string_view ifaddr, AcdMode acd = AcdMode::kOff) {
  StackConfig c;
  c.interface = "mem0";
  c.mac = MacAddress::Parse(mac);
  c.ip4_mode = Ip4Mode::kStatic;
  c.ip4_addresses = {*Ip4Interface::Parse(ifaddr)};
  c.ip6_mode = Ip6Mode::kNone;
  c.acd = acd;
  c.seed = 7;
  return c;
}

std::vector<uint8_t> Pattern(size_t n, uint8_t salt = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 31 + salt);
  return v;
}

class TwoStacks : public ::testing::Test {
 protected:
  void Build(StackConfig a, StackConfig b, MemoryLinkConfig link = {}) {
    auto pair = MemoryLink::CreatePair(link, clock_);
    link_a_ = pair.a.get();
    link_b_ = pair.b.get();
    a_ = *Stack::CreateWithLink(a, std::move(pair.a), &clock_);
    b_ = *Stack::CreateWithLink(b, std::move(pair.b), &clock_);
    ASSERT_TRUE(a_->StartManual().ok());
    ASSERT_TRUE(b_->StartManual().ok());
    sim_.Add(a_.get());
    sim_.Add(b_.get());
  }
  void SetUp() override {
    Build(Config("02:00:00:77:00:02", "10.77.0.2/24"), Config("02:00:00:77:00:03", "10.77.0.3/24"));
  }

  // Starts a UDP echo service on `stack` port 7, serviced on every simulator step.
  void StartEcho(Stack* stack) {
    echo_ = stack->CreateUdpSocket();
    ASSERT_TRUE(echo_->Bind(SocketAddress{IpAddress(Ip4Address()), 7}).ok());
    echo_->set_nonblocking(true);
    sim_.AddHook([this] {
      std::vector<uint8_t> buf(65536);
      SocketAddress from;
      while (true) {
        auto n = echo_->RecvFrom(buf, &from, 0);
        if (!n.ok()) break;
        (void)echo_->SendTo(ByteSpan(buf).first(*n), &from, 0);
      }
    });
  }

  VirtualClock clock_;
  testing::Simulator sim_{&clock_};
  std::unique_ptr<Stack> a_, b_;
  MemoryLink* link_a_ = nullptr;
  MemoryLink* link_b_ = nullptr;
  std::shared_ptr<UdpSocket> echo_;
};

TEST_F(TwoStacks, UdpEchoResolvesArpAndRoundTrips) {
  StartEcho(b_.get());
  auto client = a_->CreateUdpSocket();
  client->set_nonblocking(true);
  const auto payload = Pattern(100);
  const SocketAddress server{IpAddress(kIpB), 7};
  ASSERT_TRUE(client->SendTo(payload, &server, 0).ok());
  std::vector<uint8_t> got(2000);
  SocketAddress from;
  size_t n = 0;
  ASSERT_TRUE(sim_.RunUntil(
      [&] {
        auto r = client->RecvFrom(got, &from, 0);
        if (r.ok()) n = *r;
        return r.ok();
      },
      1s));
  EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.begin() + static_cast<long>(n)), payload);
  EXPECT_EQ(from, server);
  // The first datagram waited for ARP instead of being lost.
  auto counters = a_->CounterSnapshot();
  EXPECT_EQ(counters["ip4.tx_queued_for_arp"], 1u);
  EXPECT_EQ(counters["arp.tx_requests"], 1u);
  EXPECT_EQ(counters["udp.rx_delivered"], 1u);
  // The ephemeral port is in Linux's range.
  auto local = client->LocalAddress();
  ASSERT_TRUE(local.ok());
  EXPECT_GE(local->port, kEphemeralPortFirst);
  EXPECT_LE(local->port, kEphemeralPortLast);
}

TEST_F(TwoStacks, LargeDatagramsFragmentAndReassembleBothWays) {
  StartEcho(b_.get());
  auto client = a_->CreateUdpSocket();
  client->set_nonblocking(true);
  for (size_t size : {1473u, 3000u, 8000u, 65507u}) {
    const auto payload = Pattern(size, static_cast<uint8_t>(size));
    const SocketAddress server{IpAddress(kIpB), 7};
    ASSERT_TRUE(client->SendTo(payload, &server, 0).ok()) << size;
    std::vector<uint8_t> got(70000);
    size_t n = 0;
    ASSERT_TRUE(sim_.RunUntil(
        [&] {
          auto r = client->RecvFrom(got, nullptr, 0);
          if (r.ok()) n = *r;
          return r.ok();
        },
        1s))
        << size;
    ASSERT_EQ(n, size);
    EXPECT_TRUE(std::equal(payload.begin(), payload.end(), got.begin())) << size;
  }
  auto counters = b_->CounterSnapshot();
  EXPECT_EQ(counters["ip4.rx_reassembled"], 4u);  // 1473 + 28 > 1500: all four fragment
  EXPECT_GT(counters["ip4.tx_fragments"], 0u);
}

TEST_F(TwoStacks, PortUnreachableGivesConnectedSocketEconnrefused) {
  auto client = a_->CreateUdpSocket();
  client->set_nonblocking(true);
  const SocketAddress closed{IpAddress(kIpB), 9999};
  ASSERT_TRUE(client->Connect(&closed).ok());
  ASSERT_TRUE(client->SendTo(Pattern(10), nullptr, 0).ok());
  sim_.RunFor(100ms);
  EXPECT_EQ(b_->CounterSnapshot()["icmp4.tx_unreachable"], 1u);
  EXPECT_NE(client->Poll() & POLLERR, 0u);
  std::vector<uint8_t> buf(100);
  auto r = client->RecvFrom(buf, nullptr, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), ECONNREFUSED);
  // Reported once; then the socket is quiet again.
  r = client->RecvFrom(buf, nullptr, 0);
  EXPECT_EQ(r.error(), EAGAIN);
}

TEST_F(TwoStacks, UnconnectedSocketIgnoresIcmpErrors) {
  auto client = a_->CreateUdpSocket();
  client->set_nonblocking(true);
  const SocketAddress closed{IpAddress(kIpB), 9999};
  ASSERT_TRUE(client->SendTo(Pattern(10), &closed, 0).ok());
  sim_.RunFor(100ms);
  EXPECT_EQ(b_->CounterSnapshot()["icmp4.tx_unreachable"], 1u);
  EXPECT_EQ(client->Poll() & POLLERR, 0u);
}

TEST_F(TwoStacks, UnansweredArpGivesEhostunreach) {
  auto client = a_->CreateUdpSocket();
  client->set_nonblocking(true);
  const SocketAddress nobody{IpAddress(Ip4Address(10, 77, 0, 99)), 7};
  ASSERT_TRUE(client->Connect(&nobody).ok());
  ASSERT_TRUE(client->SendTo(Pattern(10), nullptr, 0).ok());
  sim_.RunFor(5s);
  auto r = client->SendTo(Pattern(10), nullptr, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), EHOSTUNREACH);
  EXPECT_EQ(a_->CounterSnapshot()["arp.resolution_failures"], 1u);
}

TEST_F(TwoStacks, DatagramSemanticsTruncPeekAndOrder) {
  auto rx = b_->CreateUdpSocket();
  rx->set_nonblocking(true);
  ASSERT_TRUE(rx->Bind(SocketAddress{IpAddress(kIpB), 5000}).ok());
  auto tx = a_->CreateUdpSocket();
  const SocketAddress dst{IpAddress(kIpB), 5000};
  ASSERT_TRUE(tx->SendTo(Pattern(100, 1), &dst, 0).ok());
  ASSERT_TRUE(tx->SendTo(Pattern(50, 2), &dst, 0).ok());
  sim_.RunFor(100ms);
  std::vector<uint8_t> small(10);
  // MSG_PEEK leaves the datagram; MSG_TRUNC reports its real length.
  auto r = rx->RecvFrom(small, nullptr, MSG_PEEK | MSG_TRUNC);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 100u);
  int out_flags = 0;
  r = rx->RecvFrom(small, nullptr, 0, &out_flags);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 10u);
  EXPECT_NE(out_flags & MSG_TRUNC, 0);
  // The rest of the first datagram is gone: one datagram per receive.
  std::vector<uint8_t> big(1000);
  r = rx->RecvFrom(big, nullptr, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 50u);
  EXPECT_EQ(big[0], Pattern(50, 2)[0]);
  EXPECT_EQ(rx->RecvFrom(big, nullptr, 0).error(), EAGAIN);
}

TEST_F(TwoStacks, BindRules) {
  auto s1 = a_->CreateUdpSocket();
  auto s2 = a_->CreateUdpSocket();
  ASSERT_TRUE(s1->Bind(SocketAddress{IpAddress(Ip4Address()), 6000}).ok());
  EXPECT_EQ(s2->Bind(SocketAddress{IpAddress(kIpA), 6000}).error(), EADDRINUSE);
  EXPECT_EQ(s2->Bind(SocketAddress{IpAddress(kIpB), 6001}).error(), EADDRNOTAVAIL);
  EXPECT_EQ(s1->Bind(SocketAddress{IpAddress(Ip4Address()), 6002}).error(), EINVAL);
  // Both with SO_REUSEADDR may share.
  auto s3 = a_->CreateUdpSocket();
  auto s4 = a_->CreateUdpSocket();
  const int one = 1;
  ASSERT_TRUE(s3->SetOption(SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)).ok());
  ASSERT_TRUE(s4->SetOption(SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)).ok());
  EXPECT_TRUE(s3->Bind(SocketAddress{IpAddress(Ip4Address()), 6003}).ok());
  EXPECT_TRUE(s4->Bind(SocketAddress{IpAddress(Ip4Address()), 6003}).ok());
  // Closing frees the port.
  s1->Close();
  EXPECT_TRUE(s2->Bind(SocketAddress{IpAddress(kIpA), 6000}).ok());
}

TEST_F(TwoStacks, ReuseAddrSetAfterBindCountsForLaterBinds) {
  // Linux reads SO_REUSEADDR of the bound socket when a later bind looks
  // (udp_lib_lport_inuse, inet_csk_bind_conflict): set after bind, it still counts.
  const int one = 1;
  auto udp1 = a_->CreateUdpSocket();
  ASSERT_TRUE(udp1->Bind(SocketAddress{IpAddress(Ip4Address()), 6010}).ok());
  auto udp2 = a_->CreateUdpSocket();
  ASSERT_TRUE(udp2->SetOption(SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)).ok());
  EXPECT_EQ(udp2->Bind(SocketAddress{IpAddress(kIpA), 6010}).error(), EADDRINUSE);
  ASSERT_TRUE(udp1->SetOption(SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)).ok());
  EXPECT_TRUE(udp2->Bind(SocketAddress{IpAddress(kIpA), 6010}).ok());
  auto tcp1 = a_->CreateTcpSocket();
  ASSERT_TRUE(tcp1->Bind(SocketAddress{IpAddress(Ip4Address()), 6011}).ok());
  auto tcp2 = a_->CreateTcpSocket();
  ASSERT_TRUE(tcp2->SetOption(SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)).ok());
  EXPECT_EQ(tcp2->Bind(SocketAddress{IpAddress(kIpA), 6011}).error(), EADDRINUSE);
  ASSERT_TRUE(tcp1->SetOption(SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)).ok());
  EXPECT_TRUE(tcp2->Bind(SocketAddress{IpAddress(kIpA), 6011}).ok());
}

TEST_F(TwoStacks, SendErrors) {
  auto s = a_->CreateUdpSocket();
  std::vector<uint8_t> data(10);
  EXPECT_EQ(s->SendTo(data, nullptr, 0).error(), EDESTADDRREQ);
  const SocketAddress bcast{IpAddress(Ip4Address::Broadcast()), 7};
  EXPECT_EQ(s->SendTo(data, &bcast, 0).error(), EACCES);
  const SocketAddress far{IpAddress(Ip4Address(10, 78, 0, 2)), 7};
  EXPECT_EQ(s->SendTo(data, &far, 0).error(), ENETUNREACH);  // no gateway configured
  std::vector<uint8_t> huge(70000);
  const SocketAddress peer{IpAddress(kIpB), 7};
  EXPECT_EQ(s->SendTo(huge, &peer, 0).error(), EMSGSIZE);
  EXPECT_EQ(s->RecvFrom(data, nullptr, MSG_DONTWAIT).error(), EAGAIN);
  EXPECT_EQ(s->PeerAddress().error(), ENOTCONN);
}

TEST_F(TwoStacks, BroadcastWithSoBroadcastReachesEveryListener) {
  auto rx = b_->CreateUdpSocket();
  rx->set_nonblocking(true);
  ASSERT_TRUE(rx->Bind(SocketAddress{IpAddress(Ip4Address()), 5353}).ok());
  auto tx = a_->CreateUdpSocket();
  const int one = 1;
  ASSERT_TRUE(tx->SetOption(SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)).ok());
  for (Ip4Address bcast : {Ip4Address::Broadcast(), Ip4Address(10, 77, 0, 255)}) {
    const SocketAddress dst{IpAddress(bcast), 5353};
    ASSERT_TRUE(tx->SendTo(Pattern(20), &dst, 0).ok());
    sim_.RunFor(10ms);
    std::vector<uint8_t> buf(100);
    SocketAddress from;
    auto r = rx->RecvFrom(buf, &from, 0);
    ASSERT_TRUE(r.ok()) << bcast;
    EXPECT_EQ(from.ip, IpAddress(kIpA));
  }
  // A broadcast to a closed port draws no ICMP error (RFC 1122 §3.2.2).
  const SocketAddress closed{IpAddress(Ip4Address::Broadcast()), 5354};
  ASSERT_TRUE(tx->SendTo(Pattern(20), &closed, 0).ok());
  sim_.RunFor(10ms);
  EXPECT_EQ(b_->CounterSnapshot()["icmp4.tx_unreachable"], 0u);
}

TEST_F(TwoStacks, ReceiveQueueIsBounded) {
  auto rx = b_->CreateUdpSocket();
  rx->set_nonblocking(true);
  const int size = 4096;  // Linux doubles it: 8192 bytes
  ASSERT_TRUE(rx->SetOption(SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)).ok());
  ASSERT_TRUE(rx->Bind(SocketAddress{IpAddress(Ip4Address()), 5000}).ok());
  auto tx = a_->CreateUdpSocket();
  const SocketAddress dst{IpAddress(kIpB), 5000};
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(tx->SendTo(Pattern(1000), &dst, 0).ok());
  sim_.RunFor(100ms);
  EXPECT_LE(rx->queued_bytes(), 8192u);
  EXPECT_GT(rx->queued_datagrams(), 0u);
  EXPECT_LT(rx->queued_datagrams(), 50u);
}

TEST_F(TwoStacks, ConflictingStaticAddressIsNotUsed) {
  // B already holds 10.77.0.3; A is configured with it too and probes strictly.
  a_.reset();
  b_.reset();
  sim_ = testing::Simulator(&clock_);
  Build(Config("02:00:00:77:00:02", "10.77.0.3/24", AcdMode::kStrict),
        Config("02:00:00:77:00:03", "10.77.0.3/24", AcdMode::kOff));
  sim_.RunFor(15s);
  std::lock_guard lock(a_->mutex());
  EXPECT_EQ(a_->ip4_addresses().Find(kIpB)->state, Ip4AddressState::kDuplicate);
  EXPECT_EQ(b_->ip4_addresses().Find(kIpB)->state, Ip4AddressState::kPreferred);
}

TEST_F(TwoStacks, WorksUnderLossDuplicationAndReordering) {
  a_.reset();
  b_.reset();
  sim_ = testing::Simulator(&clock_);
  MemoryLinkConfig link;
  link.seed = 99;
  link.a_to_b.loss = 0.1;
  link.a_to_b.duplicate = 0.1;
  link.a_to_b.reorder = 0.2;
  link.b_to_a = link.a_to_b;
  Build(Config("02:00:00:77:00:02", "10.77.0.2/24"), Config("02:00:00:77:00:03", "10.77.0.3/24"),
        link);
  StartEcho(b_.get());
  auto client = a_->CreateUdpSocket();
  client->set_nonblocking(true);
  const SocketAddress server{IpAddress(kIpB), 7};
  int replies = 0;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(client->SendTo(Pattern(3000, static_cast<uint8_t>(i)), &server, 0).ok());
    sim_.RunFor(20ms);
    std::vector<uint8_t> buf(4000);
    while (true) {
      auto r = client->RecvFrom(buf, nullptr, 0);
      if (!r.ok()) break;
      ASSERT_EQ(*r, 3000u);  // never a damaged datagram: fragments intact or dropped
      ++replies;
    }
  }
  // Some fragmented datagrams are lost (any lost fragment loses the datagram); most return.
  EXPECT_GT(replies, 60);
  EXPECT_LT(replies, 200 + 50);
}

}  // namespace
}  // namespace pytcp
