// The protocol-independent socket API (stack/socket/socket.h) as its callers (the shim,
// pytcpd) use it: sockets made by Stack::CreateSocket and driven only through Socket&,
// with scatter/gather over lists of spans, the accept and message queues, and socket()'s
// errno values. Two stacks on a memory link, their threads on real time.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "stack/stack.h"
#include "tests/support/memory_stack.h"

namespace pytcp {
namespace {

constexpr Ip4Address kIpB(10, 77, 0, 3);

class SocketApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stacks_.Start();
    a_ = stacks_.a.get();
    b_ = stacks_.b.get();
  }
  void TearDown() override { stacks_.Stop(); }

  std::shared_ptr<Socket> Make(Stack& s, int type) {
    auto r = s.CreateSocket(AF_INET, type, 0);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : nullptr;
  }

  testing::RunningStackPair stacks_;
  Stack* a_ = nullptr;
  Stack* b_ = nullptr;
};

TEST_F(SocketApiTest, CreateSocketRefusesWhatTheStackDoesNotDo) {
  EXPECT_EQ(a_->CreateSocket(AF_UNIX, SOCK_STREAM, 0).error(), EAFNOSUPPORT);
  EXPECT_EQ(a_->CreateSocket(AF_INET, SOCK_STREAM, IPPROTO_UDP).error(), EPROTONOSUPPORT);
  EXPECT_EQ(a_->CreateSocket(AF_INET, SOCK_RAW, IPPROTO_UDP).error(), EPROTONOSUPPORT);
  EXPECT_EQ(a_->CreateSocket(AF_INET, SOCK_SEQPACKET, 0).error(), ESOCKTNOSUPPORT);
  EXPECT_EQ(a_->CreateSocket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMP).error(), EPROTONOSUPPORT);
  auto ping6 = a_->CreateSocket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
  ASSERT_TRUE(ping6.ok());
  EXPECT_EQ((*ping6)->family(), AF_INET6);
  auto tcp6 = a_->CreateSocket(AF_INET6, SOCK_STREAM, 0);
  ASSERT_TRUE(tcp6.ok());
  EXPECT_EQ((*tcp6)->family(), AF_INET6);
  EXPECT_EQ((*tcp6)->type(), SOCK_STREAM);
  // A message socket that is not connected has nothing to shut down; neither has ICMP.
  EXPECT_EQ((*ping6)->Shutdown(SHUT_RDWR).error(), ENOTCONN);
  EXPECT_EQ((*ping6)->Listen(1).error(), EOPNOTSUPP);
}

TEST_F(SocketApiTest, TcpThroughTheCommonInterface) {
  auto l = Make(*b_, SOCK_STREAM);
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(), 7, 0}).ok());
  ASSERT_TRUE(l->Listen(4).ok());
  EXPECT_EQ(l->QueueLength(), 0u);
  auto c = Make(*a_, SOCK_STREAM);
  const SocketAddress to{IpAddress(kIpB), 7, 0};
  ASSERT_TRUE(c->Connect(&to).ok());
  // The connection waits in the accept queue until taken.
  for (int i = 0; i < 200 && l->QueueLength() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(l->QueueLength(), 1u);
  SocketAddress peer;
  auto s = l->AcceptSocket(&peer);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(peer.ip, IpAddress(Ip4Address(10, 77, 0, 2)));
  EXPECT_EQ(l->QueueLength(), 0u);

  // Three parts gathered into one stream; received scattered over two other parts.
  const std::string x = "abc", y = "defgh", z = "ij";
  const ByteSpan out[] = {ByteSpan(reinterpret_cast<const uint8_t*>(x.data()), x.size()),
                          ByteSpan(reinterpret_cast<const uint8_t*>(y.data()), y.size()),
                          ByteSpan(reinterpret_cast<const uint8_t*>(z.data()), z.size())};
  auto sent = c->SendMsg(out, nullptr, 0);
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(*sent, 10u);
  uint8_t p1[4] = {}, p2[6] = {};
  const MutableByteSpan in[] = {MutableByteSpan(p1), MutableByteSpan(p2)};
  int out_flags = -1;
  auto got = (*s)->RecvMsg(in, nullptr, MSG_WAITALL, &out_flags, nullptr);
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(*got, 10u);
  EXPECT_EQ(out_flags, 0);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(p1), 4), "abcd");
  EXPECT_EQ(std::string(reinterpret_cast<char*>(p2), 6), "efghij");
  EXPECT_EQ((*s)->ReadableBytes(), 0u);
  c->Close();
  (*s)->Close();
  l->Close();
}

TEST_F(SocketApiTest, UdpMessagesAreGatheredAndScatteredWhole) {
  auto r = Make(*b_, SOCK_DGRAM);
  ASSERT_TRUE(r->Bind(SocketAddress{IpAddress(), 9000, 0}).ok());
  auto s = Make(*a_, SOCK_DGRAM);
  const SocketAddress to{IpAddress(kIpB), 9000, 0};
  const std::string x = "hello ", y = "world";
  const ByteSpan out[] = {ByteSpan(reinterpret_cast<const uint8_t*>(x.data()), x.size()),
                          ByteSpan(reinterpret_cast<const uint8_t*>(y.data()), y.size())};
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(s->SendMsg(out, &to, 0).ok());
  for (int i = 0; i < 200 && r->QueueLength() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(r->QueueLength(), 2u);  // two messages, not one stream of bytes
  EXPECT_EQ(r->ReadableBytes(), 11u);
  // The first message over two parts; the second cut short (MSG_TRUNC: its full size).
  uint8_t p1[3] = {}, p2[20] = {};
  const MutableByteSpan in[] = {MutableByteSpan(p1), MutableByteSpan(p2)};
  SocketAddress from;
  int out_flags = 0;
  auto got = r->RecvMsg(in, &from, 0, &out_flags, nullptr);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 11u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(p1), 3) + std::string(reinterpret_cast<char*>(p2), 8),
            "hello world");
  EXPECT_EQ(from.ip, IpAddress(Ip4Address(10, 77, 0, 2)));
  uint8_t q1[2] = {}, q2[2] = {};
  const MutableByteSpan small[] = {MutableByteSpan(q1), MutableByteSpan(q2)};
  got = r->RecvMsg(small, nullptr, MSG_TRUNC, &out_flags, nullptr);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 11u);
  EXPECT_NE(out_flags & MSG_TRUNC, 0);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(q1), 2) + std::string(reinterpret_cast<char*>(q2), 2),
            "hell");
  EXPECT_EQ(r->QueueLength(), 0u);
  s->Close();
  r->Close();
}

}  // namespace
}  // namespace pytcp
