// Dual-stack sockets as on Linux, through the socket layer into the TCP and UDP engines:
// an AF_INET wildcard and an IPV6_V6ONLY AF_INET6 wildcard share a port (nginx's
// `listen 80; listen [::]:80;`), without IPV6_V6ONLY the second bind is EADDRINUSE, and
// IPV6_V6ONLY's get/set rules (do_ipv6_setsockopt, __inet6_bind). Every expectation was
// first checked against Linux 6.18 on loopback (stack/net/bind_overlap.h).
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "tests/ip6/ip6_harness.h"
#include "tests/support/simulator.h"

namespace pytcp::testing {
namespace {

const Ip4Address kOur4(10, 77, 0, 2);
const Ip4Address kPeer4(10, 77, 0, 1);

class DualStackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = MemoryLink::CreatePair(MemoryLinkConfig{}, clock_);
    a_ = Make(std::move(pair.a), kOurMac, "10.77.0.2/24", "fd77::2/64");
    b_ = Make(std::move(pair.b), kPeerMac, "10.77.0.1/24", "fd77::1/64");
    sim_.Add(a_.get());
    sim_.Add(b_.get());
    sim_.RunFor(5s);  // DAD
  }
  std::unique_ptr<Stack> Make(std::unique_ptr<Link> link, MacAddress mac, const char* addr4,
                              const char* addr6) {
    StackConfig c;
    c.interface = "mem";
    c.mac = mac;
    c.ip4_mode = Ip4Mode::kStatic;
    c.ip4_addresses = {*Ip4Interface::Parse(addr4)};
    c.acd = AcdMode::kOff;
    c.ip6_mode = Ip6Mode::kStatic;
    c.ip6_addresses = {*Ip6Interface::Parse(addr6)};
    c.seed = mac.bytes()[5];
    auto s = *Stack::CreateWithLink(c, std::move(link), &clock_);
    EXPECT_TRUE(s->StartManual().ok());
    return s;
  }
  template <typename S>
  static void SetV6only(S& sock, int v) {
    ASSERT_TRUE(sock.SetOption(IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v)).ok());
  }
  template <typename S>
  static int GetV6only(S& sock) {
    int v = -1;
    socklen_t len = sizeof(v);
    EXPECT_TRUE(sock.GetOption(IPPROTO_IPV6, IPV6_V6ONLY, &v, &len).ok());
    return v;
  }
  // Connects from `a_` to `to` and returns the socket `listener` accepts (null if none).
  std::shared_ptr<TcpSocket> ConnectAndAccept(int family, const SocketAddress& to,
                                              TcpSocket& listener) {
    auto client = a_->CreateTcpSocket(family);
    client->set_nonblocking(true);
    auto r = client->Connect(to);
    EXPECT_TRUE(r.ok() || r.error() == EINPROGRESS);
    std::shared_ptr<TcpSocket> server;
    sim_.RunUntil([&] {
      auto s = listener.Accept(nullptr, SOCK_NONBLOCK);
      if (s.ok()) server = *s;
      return server != nullptr;
    }, 5s);
    clients_.push_back(client);
    return server;
  }
  VirtualClock clock_;
  Simulator sim_{&clock_};
  std::unique_ptr<Stack> a_, b_;
  std::vector<std::shared_ptr<TcpSocket>> clients_;
};

TEST_F(DualStackTest, TcpWildcardsShareAPortWithV6only) {
  auto l4 = b_->CreateTcpSocket(AF_INET);
  auto l6 = b_->CreateTcpSocket(AF_INET6);
  l4->set_nonblocking(true);
  l6->set_nonblocking(true);
  ASSERT_TRUE(l4->Bind(SocketAddress{IpAddress(Ip4Address()), 8080}).ok());
  SetV6only(*l6, 1);
  ASSERT_TRUE(l6->Bind(SocketAddress{IpAddress(), 8080}).ok());
  ASSERT_TRUE(l4->Listen(8).ok());
  ASSERT_TRUE(l6->Listen(8).ok());
  // Each family reaches its own listener.
  auto s4 = ConnectAndAccept(AF_INET, SocketAddress{IpAddress(kPeer4), 8080}, *l4);
  ASSERT_NE(s4, nullptr);
  EXPECT_EQ(s4->family(), AF_INET);
  auto s6 = ConnectAndAccept(AF_INET6, SocketAddress{IpAddress(kPeerGlobal), 8080}, *l6);
  ASSERT_NE(s6, nullptr);
  EXPECT_EQ(s6->family(), AF_INET6);
  EXPECT_EQ(l4->Accept(nullptr, 0).error(), EAGAIN);
  EXPECT_EQ(l6->Accept(nullptr, 0).error(), EAGAIN);
}

// An SO_REUSEPORT group (several listeners on one address and port, in one process or,
// under pytcpd, several) shares the new connections as reuseport_select_sock does: by a
// hash of the source, so both members get some of 32 connections from different ports.
TEST_F(DualStackTest, TcpReuseportGroupSpreadsConnections) {
  std::shared_ptr<TcpSocket> members[2];
  for (auto& l : members) {
    l = b_->CreateTcpSocket(AF_INET);
    l->set_nonblocking(true);
    const int on = 1;
    ASSERT_TRUE(l->SetOption(SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)).ok());
    ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(Ip4Address()), 8088}).ok());
    ASSERT_TRUE(l->Listen(64).ok());
  }
  for (int i = 0; i < 32; ++i) {
    auto client = a_->CreateTcpSocket(AF_INET);
    client->set_nonblocking(true);
    auto r = client->Connect(SocketAddress{IpAddress(kPeer4), 8088});
    ASSERT_TRUE(r.ok() || r.error() == EINPROGRESS);
    clients_.push_back(client);
  }
  int accepted[2] = {0, 0};
  sim_.RunUntil([&] {
    for (int m = 0; m < 2; ++m) {
      while (members[m]->Accept(nullptr, SOCK_NONBLOCK).ok()) ++accepted[m];
    }
    return accepted[0] + accepted[1] == 32;
  }, 5s);
  EXPECT_EQ(accepted[0] + accepted[1], 32);
  EXPECT_GT(accepted[0], 0);
  EXPECT_GT(accepted[1], 0);
}

TEST_F(DualStackTest, TcpDualStackWildcardCollidesWithIpv4Wildcard) {
  auto l4 = b_->CreateTcpSocket(AF_INET);
  auto l6 = b_->CreateTcpSocket(AF_INET6);
  ASSERT_TRUE(l4->Bind(SocketAddress{IpAddress(Ip4Address()), 8080}).ok());
  EXPECT_EQ(l6->Bind(SocketAddress{IpAddress(), 8080}).error(), EADDRINUSE);
  // The other order too, and with a listener.
  auto m6 = b_->CreateTcpSocket(AF_INET6);
  auto m4 = b_->CreateTcpSocket(AF_INET);
  ASSERT_TRUE(m6->Bind(SocketAddress{IpAddress(), 8081}).ok());
  ASSERT_TRUE(m6->Listen(8).ok());
  EXPECT_EQ(m4->Bind(SocketAddress{IpAddress(kPeer4), 8081}).error(),
            EADDRINUSE);
  // A v4-mapped bind is IPv4: it collides with the AF_INET wildcard, an IPv6 address does not.
  auto n6 = b_->CreateTcpSocket(AF_INET6);
  EXPECT_EQ(n6->Bind(SocketAddress{IpAddress(kPeer4), 8080}).error(), EADDRINUSE);
  ASSERT_TRUE(n6->Bind(SocketAddress{IpAddress(kPeerGlobal), 8080}).ok());
  EXPECT_EQ(GetV6only(*n6), 1);  // __inet6_bind: a specific IPv6 address is IPv6 only
}

TEST_F(DualStackTest, TcpV6onlyOptionRules) {
  auto s = b_->CreateTcpSocket(AF_INET6);
  EXPECT_EQ(GetV6only(*s), 0);
  SetV6only(*s, 7);
  EXPECT_EQ(GetV6only(*s), 1);
  SetV6only(*s, 0);
  EXPECT_EQ(GetV6only(*s), 0);
  const short small = 1;
  EXPECT_EQ(s->SetOption(IPPROTO_IPV6, IPV6_V6ONLY, &small, sizeof(small)).error(), EINVAL);
  SetV6only(*s, 1);
  // Binding a v4-mapped address on an IPV6_V6ONLY socket: EINVAL (__inet6_bind).
  EXPECT_EQ(s->Bind(SocketAddress{IpAddress(kPeer4), 9000}).error(), EINVAL);
  EXPECT_EQ(s->Bind(SocketAddress{IpAddress(Ip4Address()), 9000}).error(), EINVAL);
  ASSERT_TRUE(s->Bind(SocketAddress{IpAddress(), 9000}).ok());
  const int zero = 0;
  EXPECT_EQ(s->SetOption(IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)).error(), EINVAL);
  EXPECT_EQ(GetV6only(*s), 1);
  // listen() without bind() takes a port: the option is fixed from then on.
  auto l = b_->CreateTcpSocket(AF_INET6);
  ASSERT_TRUE(l->Listen(4).ok());
  EXPECT_EQ(l->SetOption(IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)).error(), EINVAL);
  // A failed bind to a specific IPv6 address leaves IPV6_V6ONLY as it was.
  auto first = b_->CreateTcpSocket(AF_INET6);
  auto second = b_->CreateTcpSocket(AF_INET6);
  ASSERT_TRUE(first->Bind(SocketAddress{IpAddress(kPeerGlobal), 9001}).ok());
  EXPECT_EQ(second->Bind(SocketAddress{IpAddress(kPeerGlobal), 9001}).error(), EADDRINUSE);
  EXPECT_EQ(GetV6only(*second), 0);
  // AF_INET sockets: setsockopt ENOPROTOOPT, getsockopt EOPNOTSUPP (ip_getsockopt).
  auto v4 = b_->CreateTcpSocket(AF_INET);
  const int one = 1;
  EXPECT_EQ(v4->SetOption(IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)).error(), ENOPROTOOPT);
  int v = 0;
  socklen_t len = sizeof(v);
  EXPECT_EQ(v4->GetOption(IPPROTO_IPV6, IPV6_V6ONLY, &v, &len).error(), EOPNOTSUPP);
}

TEST_F(DualStackTest, TcpTclassAndHopsOnIpv6Socket) {
  auto s = b_->CreateTcpSocket(AF_INET6);
  int v = -1;
  socklen_t len = sizeof(v);
  ASSERT_TRUE(s->GetOption(IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, &len).ok());
  EXPECT_EQ(v, 64);
  const int tclass = 0x28;
  ASSERT_TRUE(s->SetOption(IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof(tclass)).ok());
  ASSERT_TRUE(s->GetOption(IPPROTO_IPV6, IPV6_TCLASS, &v, &len).ok());
  EXPECT_EQ(v, 0x28);
  const int hops = 300;
  EXPECT_EQ(s->SetOption(IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)).error(), EINVAL);
}

TEST_F(DualStackTest, UdpWildcardsShareAPortWithV6only) {
  auto u4 = b_->CreateUdpSocket(AF_INET);
  auto u6 = b_->CreateUdpSocket(AF_INET6);
  ASSERT_TRUE(u6->Bind(SocketAddress{IpAddress(), 9000}).ok());
  EXPECT_EQ(u4->Bind(SocketAddress{IpAddress(Ip4Address()), 9000}).error(), EADDRINUSE);
  auto w4 = b_->CreateUdpSocket(AF_INET);
  auto w6 = b_->CreateUdpSocket(AF_INET6);
  ASSERT_TRUE(w4->Bind(SocketAddress{IpAddress(Ip4Address()), 9001}).ok());
  EXPECT_EQ(w6->Bind(SocketAddress{IpAddress(), 9001}).error(), EADDRINUSE);
  SetV6only(*w6, 1);
  ASSERT_TRUE(w6->Bind(SocketAddress{IpAddress(), 9001}).ok());
  EXPECT_EQ(GetV6only(*w6), 1);
  // An IPv4 datagram reaches the AF_INET socket.
  auto c = a_->CreateUdpSocket(AF_INET);
  const std::vector<uint8_t> data = {'v', '4'};
  const SocketAddress to{IpAddress(kPeer4), 9001, 0};
  ASSERT_TRUE(c->SendTo(data, &to, 0).ok());
  w4->set_nonblocking(true);
  w6->set_nonblocking(true);
  std::vector<uint8_t> buf(16);
  SocketAddress from;
  int flags = 0;
  bool got = false;
  sim_.RunUntil([&] {
    got = w4->RecvFrom(buf, &from, 0, &flags, nullptr).ok();
    return got;
  }, 2s);
  EXPECT_TRUE(got);
  EXPECT_EQ(from.ip, IpAddress(kOur4));
  EXPECT_EQ(w6->RecvFrom(buf, &from, 0, &flags, nullptr).error(), EAGAIN);
}

TEST_F(DualStackTest, UdpV6onlyOptionRules) {
  auto s = b_->CreateUdpSocket(AF_INET6);
  SetV6only(*s, 1);
  EXPECT_EQ(s->Bind(SocketAddress{IpAddress(kPeer4), 9002}).error(), EINVAL);
  // connect() autobinds an IPV6_V6ONLY socket to `::`, then the option is fixed.
  const SocketAddress dst{IpAddress(kOurGlobal), 9, 0};
  ASSERT_TRUE(s->Connect(&dst).ok());
  const int zero = 0;
  EXPECT_EQ(s->SetOption(IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)).error(), EINVAL);
  // sendto()'s autobind too.
  auto t = b_->CreateUdpSocket(AF_INET6);
  const std::vector<uint8_t> data = {1};
  const SocketAddress to{IpAddress(kOurGlobal), 9, 0};
  ASSERT_TRUE(t->SendTo(data, &to, 0).ok());
  EXPECT_EQ(t->SetOption(IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)).error(), EINVAL);
  // A specific IPv6 bind makes the socket IPv6-only.
  auto u = b_->CreateUdpSocket(AF_INET6);
  ASSERT_TRUE(u->Bind(SocketAddress{IpAddress(kPeerGlobal), 9003}).ok());
  EXPECT_EQ(GetV6only(*u), 1);
  auto v4 = b_->CreateUdpSocket(AF_INET);
  ASSERT_TRUE(v4->Bind(SocketAddress{IpAddress(kPeer4), 9003}).ok());
  int v = 0;
  socklen_t len = sizeof(v);
  EXPECT_EQ(v4->GetOption(IPPROTO_IPV6, IPV6_V6ONLY, &v, &len).error(), EOPNOTSUPP);
}

}  // namespace
}  // namespace pytcp::testing
