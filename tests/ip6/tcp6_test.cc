// TCP over IPv6 between two stacks on a memory link under a virtual clock: an AF_INET6
// listener accepts an IPv6 connection, data crosses with the IPv6 pseudo-header checksum,
// the MSS fits IPv6's larger header, an AF_INET listener does not take IPv6 connections,
// and a Packet Too Big lowers the connection's MSS (RFC 8201).
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "tests/ip6/ip6_harness.h"
#include "tests/support/simulator.h"

namespace pytcp::testing {
namespace {

class Tcp6Test : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = MemoryLink::CreatePair(MemoryLinkConfig{}, clock_);
    a_ = Make(std::move(pair.a), kOurMac, "fd77::2/64");
    b_ = Make(std::move(pair.b), kPeerMac, "fd77::1/64");
    sim_.Add(a_.get());
    sim_.Add(b_.get());
    sim_.RunFor(5s);  // DAD
  }
  std::unique_ptr<Stack> Make(std::unique_ptr<Link> link, MacAddress mac, const char* addr) {
    StackConfig c;
    c.interface = "mem";
    c.mac = mac;
    c.ip4_mode = Ip4Mode::kNone;
    c.ip6_mode = Ip6Mode::kStatic;
    c.ip6_addresses = {*Ip6Interface::Parse(addr)};
    c.seed = mac.bytes()[5];
    auto s = *Stack::CreateWithLink(c, std::move(link), &clock_);
    EXPECT_TRUE(s->StartManual().ok());
    return s;
  }
  VirtualClock clock_;
  Simulator sim_{&clock_};
  std::unique_ptr<Stack> a_, b_;
};

TEST_F(Tcp6Test, TransferOverIpv6) {
  auto listener = b_->CreateTcpSocket(AF_INET6);
  listener->set_nonblocking(true);
  ASSERT_TRUE(listener->Bind(SocketAddress{IpAddress(), 80}).ok());
  ASSERT_TRUE(listener->Listen(8).ok());
  auto client = a_->CreateTcpSocket(AF_INET6);
  client->set_nonblocking(true);
  auto r = client->Connect(SocketAddress{IpAddress(kPeerGlobal), 80});
  ASSERT_TRUE(r.ok() || r.error() == EINPROGRESS);
  std::shared_ptr<TcpSocket> server;
  SocketAddress peer;
  ASSERT_TRUE(sim_.RunUntil([&] {
    if (!server) {
      auto s = listener->Accept(&peer, SOCK_NONBLOCK);
      if (s.ok()) server = *s;
    }
    return server != nullptr;
  }, 5s));
  EXPECT_EQ(peer.ip, IpAddress(kOurGlobal));
  auto local = client->LocalAddress();
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->ip, IpAddress(kOurGlobal));
  std::vector<uint8_t> data(300000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 13 + i / 256);
  size_t sent = 0;
  std::vector<uint8_t> got;
  std::vector<uint8_t> buf(65536);
  ASSERT_TRUE(sim_.RunUntil([&] {
    if (sent < data.size()) {
      auto n = client->Send(ByteSpan(data).subspan(sent));
      if (n.ok()) sent += *n;
    }
    while (true) {
      auto n = server->Recv(buf);
      if (!n.ok() || *n == 0) break;
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(*n));
    }
    return got.size() == data.size();
  }, 60s));
  EXPECT_EQ(got, data);
  int mss = 0;
  socklen_t len = sizeof(mss);
  ASSERT_TRUE(client->GetOption(IPPROTO_TCP, TCP_MAXSEG, &mss, &len).ok());
  EXPECT_LE(mss, 1500 - 60);  // IPv6 (40) + TCP (20)
  EXPECT_GE(mss, 1500 - 60 - 40);
}

TEST_F(Tcp6Test, PacketTooBigLowersMss) {
  auto listener = b_->CreateTcpSocket(AF_INET6);
  listener->set_nonblocking(true);
  ASSERT_TRUE(listener->Bind(SocketAddress{IpAddress(), 80}).ok());
  ASSERT_TRUE(listener->Listen(8).ok());
  auto client = a_->CreateTcpSocket(AF_INET6);
  client->set_nonblocking(true);
  (void)client->Connect(SocketAddress{IpAddress(kPeerGlobal), 80});
  std::shared_ptr<TcpSocket> server;
  ASSERT_TRUE(sim_.RunUntil([&] {
    if (!server) {
      auto s = listener->Accept(nullptr, SOCK_NONBLOCK);
      if (s.ok()) server = *s;
    }
    return server != nullptr;
  }, 5s));
  std::vector<uint8_t> data(100000, 0x5a);
  auto first = client->Send(data);
  ASSERT_TRUE(first.ok());
  size_t sent = *first;
  // A router on the path reports a 1280-byte link, quoting our first unacknowledged segment.
  std::vector<uint8_t> msg;
  {
    std::lock_guard lock(a_->mutex());
    uint32_t una = 0;
    uint16_t lport = 0;
    a_->tcp().ForEachConnection([&](const TcpConnection& c) {
      una = c.snd_una().value();
      lport = c.tuple().local_port;
    });
    std::vector<uint8_t> quoted(kIp6HeaderSize + 20);
    Hdr(kOurGlobal, kPeerGlobal, Ip6NextHeader::kTcp).Emit(quoted, 1440);
    StoreBe16(quoted.data() + 40, lport);
    StoreBe16(quoted.data() + 42, 80);
    StoreBe32(quoted.data() + 44, una);
    msg.resize(kIcmp6HeaderSize + quoted.size());
    std::copy(quoted.begin(), quoted.end(), msg.begin() + kIcmp6HeaderSize);
    const Ip6Address router = *Ip6Address::Parse("fd77::fe");
    Icmp6Header::PacketTooBig(1280).Emit(msg, quoted, Icmp6PseudoHeaderSum(router, kOurGlobal, msg.size()));
    Ip6PacketInfo info;
    info.src = router;
    info.dst = kOurGlobal;
    info.hop_limit = 64;
    a_->icmp6().Receive(info, msg, clock_.Now());
    EXPECT_EQ(a_->ip6().PathMtu(kPeerGlobal), 1280u);
  }
  int mss = 0;
  socklen_t len = sizeof(mss);
  ASSERT_TRUE(client->GetOption(IPPROTO_TCP, TCP_MAXSEG, &mss, &len).ok());
  EXPECT_LE(mss, 1280 - 60);
  size_t got = 0;
  std::vector<uint8_t> buf(65536);
  ASSERT_TRUE(sim_.RunUntil([&] {
    if (sent < data.size()) {
      auto n = client->Send(ByteSpan(data).subspan(sent));
      if (n.ok()) sent += *n;
    }
    while (true) {
      auto n = server->Recv(buf);
      if (!n.ok() || *n == 0) break;
      got += *n;
    }
    return got == data.size();
  }, 30s));
}

TEST_F(Tcp6Test, Ipv4ListenerDoesNotTakeIpv6) {
  auto listener = b_->CreateTcpSocket(AF_INET);
  ASSERT_TRUE(listener->Bind(SocketAddress{IpAddress(Ip4Address()), 81}).ok());
  ASSERT_TRUE(listener->Listen(8).ok());
  auto client = a_->CreateTcpSocket(AF_INET6);
  client->set_nonblocking(true);
  (void)client->Connect(SocketAddress{IpAddress(kPeerGlobal), 81});
  sim_.RunFor(2s);
  int err = 0;
  socklen_t len = sizeof(err);
  ASSERT_TRUE(client->GetOption(SOL_SOCKET, SO_ERROR, &err, &len).ok());
  EXPECT_EQ(err, ECONNREFUSED);  // the SYN met a closed port: RST
}

TEST_F(Tcp6Test, AfInetSocketCannotConnectToIpv6) {
  auto client = a_->CreateTcpSocket(AF_INET);
  EXPECT_EQ(client->Connect(SocketAddress{IpAddress(kPeerGlobal), 80}).error(), ENETUNREACH);
}

}  // namespace
}  // namespace pytcp::testing
