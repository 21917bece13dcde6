// The TcpSocket API with the stacks' own threads running on real time: blocking
// connect/accept/send/recv, MSG_WAITALL, SO_RCVTIMEO, a close from another thread,
// SO_LINGER, connection refused, and a connection to the stack's own address (loopback).
// Durations are lower bounds only; nothing asserts an upper bound on timing.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "stack/link/memory_link.h"
#include "stack/stack.h"
#include "tests/support/memory_stack.h"

namespace pytcp {
namespace {

StackConfig Config(std::string_view mac, std::string_view ifaddr) {
  return testing::MemoryStackConfig(MacAddress::Parse(mac), ifaddr, 0);
}

constexpr Ip4Address kIpA(10, 77, 0, 2);
constexpr Ip4Address kIpB(10, 77, 0, 3);

ByteSpan Bytes(const std::string& s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

class TcpSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = MemoryLink::CreatePair(MemoryLinkConfig{}, RealClock::Instance());
    a_ = *Stack::CreateWithLink(Config("02:00:00:77:00:02", "10.77.0.2/24"), std::move(pair.a),
                                &RealClock::Instance());
    b_ = *Stack::CreateWithLink(Config("02:00:00:77:00:03", "10.77.0.3/24"), std::move(pair.b),
                                &RealClock::Instance());
    ASSERT_TRUE(a_->Start().ok());
    ASSERT_TRUE(b_->Start().ok());
  }
  void TearDown() override {
    a_->Stop();
    b_->Stop();
  }

  std::shared_ptr<TcpSocket> Listen(uint16_t port) {
    auto l = b_->CreateTcpSocket();
    EXPECT_TRUE(l->Bind(SocketAddress{IpAddress(), port, 0}).ok());
    EXPECT_TRUE(l->Listen(8).ok());
    return l;
  }

  std::unique_ptr<Stack> a_, b_;
};

TEST_F(TcpSocketTest, BlockingConnectAcceptAndEcho) {
  auto l = Listen(7);
  std::thread server([&] {
    auto c = l->Accept();
    ASSERT_TRUE(c.ok()) << c.error();
    std::vector<uint8_t> buf(100);
    auto n = (*c)->Recv(buf, 0);
    ASSERT_TRUE(n.ok());
    ASSERT_TRUE((*c)->Send(ByteSpan(buf.data(), *n), 0).ok());
    auto eof = (*c)->Recv(buf, 0);  // the client's FIN
    ASSERT_TRUE(eof.ok());
    EXPECT_EQ(*eof, 0u);
    (*c)->Close();
  });
  auto s = a_->CreateTcpSocket();
  ASSERT_TRUE(s->Connect(SocketAddress{IpAddress(kIpB), 7, 0}).ok());
  ASSERT_TRUE(s->Send(Bytes("ping"), 0).ok());
  std::vector<uint8_t> buf(4);
  auto n = s->Recv(buf, MSG_WAITALL);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.end()), "ping");
  ASSERT_TRUE(s->Shutdown(SHUT_WR).ok());
  server.join();
  auto eof = s->Recv(buf, 0);
  ASSERT_TRUE(eof.ok());
  EXPECT_EQ(*eof, 0u);
  s->Close();
  l->Close();
}

// PYTCP_BUSY_POLL: blocked calls read the link in a loop before sleeping; data, timeouts
// and the peer's FIN still arrive as without it.
TEST(TcpSocketBusyPollTest, EchoTimeoutAndEof) {
  auto pair = MemoryLink::CreatePair(MemoryLinkConfig{}, RealClock::Instance());
  StackConfig ca = Config("02:00:00:77:00:02", "10.77.0.2/24");
  ca.busy_poll = std::chrono::microseconds(200);
  auto a = *Stack::CreateWithLink(ca, std::move(pair.a), &RealClock::Instance());
  auto b = *Stack::CreateWithLink(Config("02:00:00:77:00:03", "10.77.0.3/24"), std::move(pair.b),
                                  &RealClock::Instance());
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(b->Start().ok());
  auto l = b->CreateTcpSocket();
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(), 7, 0}).ok());
  ASSERT_TRUE(l->Listen(8).ok());
  std::promise<void> timed_out;
  std::thread server([&] {
    auto c = l->Accept();
    ASSERT_TRUE(c.ok());
    std::vector<uint8_t> buf(100);
    for (int i = 0; i < 100; ++i) {
      auto n = (*c)->Recv(buf, 0);
      ASSERT_TRUE(n.ok());
      ASSERT_GT(*n, 0u);
      ASSERT_TRUE((*c)->Send(ByteSpan(buf.data(), *n), 0).ok());
    }
    timed_out.get_future().wait();  // the client's SO_RCVTIMEO ran out first
    (*c)->Close();
  });
  auto s = a->CreateTcpSocket();
  ASSERT_TRUE(s->Connect(SocketAddress{IpAddress(kIpB), 7, 0}).ok());
  std::vector<uint8_t> buf(1);
  for (int i = 0; i < 100; ++i) {
    const uint8_t byte = static_cast<uint8_t>(i);
    ASSERT_TRUE(s->Send(ByteSpan(&byte, 1), 0).ok());
    auto n = s->Recv(buf, 0);
    ASSERT_TRUE(n.ok());
    ASSERT_EQ(*n, 1u);
    EXPECT_EQ(buf[0], byte);
  }
  timeval tv{0, 20000};
  ASSERT_TRUE(s->SetOption(SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)).ok());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(s->Recv(buf, 0).error(), EAGAIN);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(20));
  timed_out.set_value();
  timeval none{0, 0};
  ASSERT_TRUE(s->SetOption(SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none)).ok());
  auto eof = s->Recv(buf, 0);  // blocks (busy, then asleep on the link) until the FIN
  ASSERT_TRUE(eof.ok());
  EXPECT_EQ(*eof, 0u);
  server.join();
  s->Close();
  l->Close();
  a->Stop();
  b->Stop();
}

TEST_F(TcpSocketTest, ConnectToAClosedPortIsRefused) {
  auto s = a_->CreateTcpSocket();
  EXPECT_EQ(s->Connect(SocketAddress{IpAddress(kIpB), 9, 0}).error(), ECONNREFUSED);
  // The socket can try again.
  auto l = Listen(9);
  EXPECT_TRUE(s->Connect(SocketAddress{IpAddress(kIpB), 9, 0}).ok());
  s->Close();
  l->Close();
}

TEST_F(TcpSocketTest, RecvTimeoutAndWaitAll) {
  auto l = Listen(8);
  auto s = a_->CreateTcpSocket();
  ASSERT_TRUE(s->Connect(SocketAddress{IpAddress(kIpB), 8, 0}).ok());
  auto c = l->Accept();
  ASSERT_TRUE(c.ok());
  timeval tv{0, 50000};
  ASSERT_TRUE((*c)->SetOption(SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)).ok());
  std::vector<uint8_t> buf(3000);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ((*c)->Recv(buf, 0).error(), EAGAIN);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(50));
  timeval none{0, 0};
  ASSERT_TRUE((*c)->SetOption(SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none)).ok());
  std::thread writer([&] {
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      ASSERT_TRUE(s->Send(Bytes(std::string(1000, static_cast<char>('a' + i))), 0).ok());
    }
  });
  auto n = (*c)->Recv(buf, MSG_WAITALL);
  writer.join();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3000u);
  EXPECT_EQ(buf[0], 'a');
  EXPECT_EQ(buf[2999], 'c');
  s->Close();
  (*c)->Close();
  l->Close();
}

TEST_F(TcpSocketTest, BlockingSendWaitsForRoomAndEverythingArrives) {
  auto l = Listen(9000);
  auto s = a_->CreateTcpSocket();
  int small = 8192;
  ASSERT_TRUE(s->SetOption(SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)).ok());
  ASSERT_TRUE(s->Connect(SocketAddress{IpAddress(kIpB), 9000, 0}).ok());
  auto c = l->Accept();
  ASSERT_TRUE(c.ok());
  constexpr size_t kTotal = 4 * 1024 * 1024;
  std::thread writer([&] {
    std::vector<uint8_t> data(kTotal);
    for (size_t i = 0; i < kTotal; ++i) data[i] = static_cast<uint8_t>(i * 7 + (i >> 12));
    auto n = s->Send(data, 0);  // blocks until all is queued
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, kTotal);
    s->Close();
  });
  std::vector<uint8_t> buf(65536);
  size_t got = 0;
  bool ok = true;
  while (true) {
    auto n = (*c)->Recv(buf, 0);
    ASSERT_TRUE(n.ok()) << n.error();
    if (*n == 0) break;
    for (size_t i = 0; i < *n; ++i) {
      const size_t k = got + i;
      ok = ok && buf[i] == static_cast<uint8_t>(k * 7 + (k >> 12));
    }
    got += *n;
  }
  writer.join();
  EXPECT_EQ(got, kTotal);
  EXPECT_TRUE(ok);
  (*c)->Close();
  l->Close();
}

TEST_F(TcpSocketTest, CloseFromAnotherThreadWakesABlockedRecv) {
  auto l = Listen(10);
  auto s = a_->CreateTcpSocket();
  ASSERT_TRUE(s->Connect(SocketAddress{IpAddress(kIpB), 10, 0}).ok());
  std::atomic<int> result{0};
  std::thread reader([&] {
    std::vector<uint8_t> buf(10);
    auto n = s->Recv(buf, 0);
    result = n.ok() ? 1 : n.error();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  s->Close();
  reader.join();
  EXPECT_EQ(result, EBADF);
  l->Close();
}

TEST_F(TcpSocketTest, PollReportsConnectingThenWritableThenPeerFin) {
  auto l = Listen(11);
  auto s = a_->CreateTcpSocket();
  s->set_nonblocking(true);
  EXPECT_EQ(s->Poll(), static_cast<ReadinessMask>(POLLOUT | POLLWRNORM | POLLHUP));  // fresh
  ASSERT_EQ(s->Connect(SocketAddress{IpAddress(kIpB), 11, 0}).error(), EINPROGRESS);
  for (int i = 0; i < 200 && s->state() != TcpState::kEstablished; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(s->Poll(), static_cast<ReadinessMask>(POLLOUT | POLLWRNORM));
  int err = -1;
  socklen_t len = sizeof(err);
  ASSERT_TRUE(s->GetOption(SOL_SOCKET, SO_ERROR, &err, &len).ok());
  EXPECT_EQ(err, 0);
  auto c = l->Accept();
  ASSERT_TRUE(c.ok());
  (*c)->Close();
  for (int i = 0; i < 200 && (s->Poll() & POLLRDHUP) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(s->Poll(), static_cast<ReadinessMask>(POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM));
  s->Close();
  l->Close();
}

TEST_F(TcpSocketTest, LingeringCloseReturnsOnceTheFinIsAcked) {
  auto l = Listen(12);
  auto s = a_->CreateTcpSocket();
  ASSERT_TRUE(s->Connect(SocketAddress{IpAddress(kIpB), 12, 0}).ok());
  auto c = l->Accept();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(s->Send(Bytes(std::string(100000, 'x')), 0).ok());
  linger lg{1, 5};
  ASSERT_TRUE(s->SetOption(SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)).ok());
  std::thread reader([&] {
    std::vector<uint8_t> buf(65536);
    while (true) {
      auto n = (*c)->Recv(buf, 0);
      if (!n.ok() || *n == 0) break;
    }
  });
  s->Close();  // waits for the data and the FIN to be acknowledged
  {
    std::lock_guard lock(a_->mutex());
    EXPECT_EQ(a_->tcp().connection_count(), 1u);  // FIN-WAIT-2 (or TIME-WAIT)
  }
  reader.join();
  (*c)->Close();
  l->Close();
}

TEST_F(TcpSocketTest, ConnectionToOurOwnAddressGoesThroughLoopback) {
  auto l = a_->CreateTcpSocket();
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(kIpA), 13, 0}).ok());
  ASSERT_TRUE(l->Listen(1).ok());
  auto s = a_->CreateTcpSocket();
  ASSERT_TRUE(s->Connect(SocketAddress{IpAddress(kIpA), 13, 0}).ok());
  auto c = l->Accept();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(s->Send(Bytes("self"), 0).ok());
  std::vector<uint8_t> buf(4);
  auto n = (*c)->Recv(buf, MSG_WAITALL);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.end()), "self");
  auto local = s->LocalAddress();
  auto peer = (*c)->PeerAddress();
  ASSERT_TRUE(local.ok());
  ASSERT_TRUE(peer.ok());
  EXPECT_EQ(local->port, peer->port);
  s->Close();
  (*c)->Close();
  l->Close();
}

TEST_F(TcpSocketTest, ConnectionOver127001) {
  auto l = a_->CreateTcpSocket();
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(Ip4Address(127, 0, 0, 1)), 13, 0}).ok());
  ASSERT_TRUE(l->Listen(1).ok());
  auto s = a_->CreateTcpSocket();
  ASSERT_TRUE(s->Connect(SocketAddress{IpAddress(Ip4Address(127, 0, 0, 1)), 13, 0}).ok());
  auto c = l->Accept();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(s->Send(Bytes("self"), 0).ok());
  std::vector<uint8_t> buf(4);
  auto n = (*c)->Recv(buf, MSG_WAITALL);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.end()), "self");
  s->Close();
  (*c)->Close();
  l->Close();
}

TEST_F(TcpSocketTest, OptionsReadBackAsLinux) {
  auto s = a_->CreateTcpSocket();
  int v = 0;
  socklen_t len = sizeof(v);
  ASSERT_TRUE(s->GetOption(SOL_SOCKET, SO_SNDBUF, &v, &len).ok());
  EXPECT_EQ(v, 16384);
  ASSERT_TRUE(s->GetOption(SOL_SOCKET, SO_RCVBUF, &v, &len).ok());
  EXPECT_EQ(v, 131072);
  ASSERT_TRUE(s->GetOption(IPPROTO_TCP, TCP_MAXSEG, &v, &len).ok());
  EXPECT_EQ(v, 536);
  ASSERT_TRUE(s->GetOption(IPPROTO_TCP, TCP_KEEPIDLE, &v, &len).ok());
  EXPECT_EQ(v, 7200);
  ASSERT_TRUE(s->GetOption(IPPROTO_TCP, TCP_KEEPINTVL, &v, &len).ok());
  EXPECT_EQ(v, 75);
  ASSERT_TRUE(s->GetOption(IPPROTO_TCP, TCP_KEEPCNT, &v, &len).ok());
  EXPECT_EQ(v, 9);
  char cc[16] = {};
  socklen_t cclen = sizeof(cc);
  ASSERT_TRUE(s->GetOption(IPPROTO_TCP, TCP_CONGESTION, cc, &cclen).ok());
  EXPECT_STREQ(cc, "cubic");
  EXPECT_EQ(s->SetOption(IPPROTO_TCP, TCP_CONGESTION, "bbr", 3).error(), ENOENT);
  int mss = 1000;
  ASSERT_TRUE(s->SetOption(IPPROTO_TCP, TCP_MAXSEG, &mss, sizeof(mss)).ok());
  int tiny = 10;
  EXPECT_EQ(s->SetOption(IPPROTO_TCP, TCP_MAXSEG, &tiny, sizeof(tiny)).error(), EINVAL);
  // TCP_MAXSEG clamps the MSS announced and used.
  auto l = Listen(14);
  ASSERT_TRUE(s->Connect(SocketAddress{IpAddress(kIpB), 14, 0}).ok());
  ASSERT_TRUE(s->GetOption(IPPROTO_TCP, TCP_MAXSEG, &v, &len).ok());
  EXPECT_EQ(v, 1000 - 12);  // less the timestamp option, as Linux reports it
  auto c = l->Accept();
  ASSERT_TRUE(c.ok());
  struct tcp_info info;
  socklen_t ilen = sizeof(info);
  ASSERT_TRUE((*c)->GetOption(IPPROTO_TCP, TCP_INFO, &info, &ilen).ok());
  EXPECT_EQ(info.tcpi_snd_mss, 1000u - 12);
  EXPECT_EQ(info.tcpi_state, 1);
  EXPECT_EQ(info.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE),
            TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
  EXPECT_EQ(info.tcpi_snd_wscale, 7);
  EXPECT_EQ(info.tcpi_rcv_wscale, 7);
  int acc = 0;
  ASSERT_TRUE(l->GetOption(SOL_SOCKET, SO_ACCEPTCONN, &acc, &len).ok());
  EXPECT_EQ(acc, 1);
  s->Close();
  (*c)->Close();
  l->Close();
}

}  // namespace
}  // namespace pytcp
