// The engine's deadline heap with real connections (stack/tcp/tcp_engine.cc): many
// connections in TIME-WAIT are filed and leave exactly 2*MSL after their close, while
// live connections keep their own timers; TcpConfig::verify_timers (on in the simulator)
// checks the heap against every connection's own deadline at each step.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <memory>
#include <vector>

#include "stack/link/memory_link.h"
#include "stack/stack.h"
#include "tests/support/simulator.h"
#include "tests/support/memory_stack.h"

namespace pytcp {
namespace {

constexpr MacAddress kMacA(MacAddress::Bytes{0x02, 0, 0, 0x79, 0, 0x01});
constexpr MacAddress kMacB(MacAddress::Bytes{0x02, 0, 0, 0x79, 0, 0x02});
constexpr Ip4Address kIpA(10, 79, 0, 1);
constexpr Ip4Address kIpB(10, 79, 0, 2);
constexpr uint16_t kPort = 5002;

StackConfig Config(const MacAddress& mac, const char* ifaddr, uint64_t seed) {
  return testing::MemoryStackConfig(mac, ifaddr, seed);
}

class TcpTimerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = MemoryLink::CreatePair(MemoryLinkConfig{}, clock_);
    a_ = *Stack::CreateWithLink(Config(kMacA, "10.79.0.1/24", 1), std::move(pair.a), &clock_);
    b_ = *Stack::CreateWithLink(Config(kMacB, "10.79.0.2/24", 2), std::move(pair.b), &clock_);
    ASSERT_TRUE(a_->StartManual().ok());
    ASSERT_TRUE(b_->StartManual().ok());
    {
      std::lock_guard l(a_->mutex());
      a_->arp().cache().AddPermanent(kIpB, kMacB);
    }
    {
      std::lock_guard l(b_->mutex());
      b_->arp().cache().AddPermanent(kIpA, kMacA);
    }
    sim_.Add(a_.get());
    sim_.Add(b_.get());
    listener_ = b_->CreateTcpSocket();
    listener_->set_nonblocking(true);
    ASSERT_TRUE(listener_->Bind(SocketAddress{IpAddress(kIpB), kPort, 0}).ok());
    ASSERT_TRUE(listener_->Listen(1024).ok());
  }

  // A connected client/server pair.
  std::pair<std::shared_ptr<TcpSocket>, std::shared_ptr<TcpSocket>> Connect() {
    auto client = a_->CreateTcpSocket();
    client->set_nonblocking(true);
    (void)client->Connect(SocketAddress{IpAddress(kIpB), kPort, 0});
    std::shared_ptr<TcpSocket> server;
    sim_.RunUntil(
        [&] {
          if (!server) {
            auto acc = listener_->Accept();
            if (acc.ok()) server = *acc;
          }
          return server != nullptr && client->state() == TcpState::kEstablished;
        },
        std::chrono::seconds(5));
    return {client, server};
  }

  size_t Connections(Stack& s) {
    std::lock_guard l(s.mutex());
    return s.tcp().connection_count();
  }
  // Deadlines filed: the connections' heap, and a TIME-WAIT record's one deadline each
  // (records of closed sockets keep their own heap, stack/tcp/tcp_time_wait.h).
  size_t Timers(Stack& s) {
    std::lock_guard l(s.mutex());
    return s.tcp().timer_count() + s.tcp().time_wait_count();
  }

  VirtualClock clock_;
  testing::Simulator sim_{&clock_};
  std::unique_ptr<Stack> a_, b_;
  std::shared_ptr<TcpSocket> listener_;
};

TEST_F(TcpTimerTest, ManyTimeWaitConnectionsLeaveAfterTwoMsl) {
  constexpr int kConnections = 300;
  const Duration time_wait = a_->tcp().config().time_wait;
  const Instant first_close = clock_.Now();
  for (int i = 0; i < kConnections; ++i) {
    auto [client, server] = Connect();
    ASSERT_NE(server, nullptr);
    client->Close();  // the active closer keeps TIME-WAIT (RFC 9293 §3.6)
    ASSERT_TRUE(sim_.RunUntil([&] { return server->state() == TcpState::kCloseWait; },
                              std::chrono::seconds(1)));
    server->Close();
    ASSERT_TRUE(sim_.RunUntil([&] { return server->state() == TcpState::kClosed; },
                              std::chrono::seconds(1)));
    sim_.RunFor(std::chrono::milliseconds(10));
  }
  const Instant last_close = clock_.Now();
  // Every client connection waits in TIME-WAIT with exactly one timer filed; the server
  // side (passive close) is gone.
  EXPECT_EQ(Connections(*a_), static_cast<size_t>(kConnections));
  EXPECT_EQ(Timers(*a_), static_cast<size_t>(kConnections));
  EXPECT_EQ(Connections(*b_), 0u);
  EXPECT_EQ(Timers(*b_), 0u);
  // The first ones leave 2*MSL after their close, the rest in close order.
  sim_.RunFor((first_close + time_wait) - clock_.Now() - std::chrono::milliseconds(1));
  EXPECT_EQ(Connections(*a_), static_cast<size_t>(kConnections));
  sim_.RunFor(std::chrono::milliseconds(100));
  const size_t left = Connections(*a_);
  EXPECT_LT(left, static_cast<size_t>(kConnections));
  EXPECT_GT(left, 0u);
  EXPECT_EQ(Timers(*a_), left);
  sim_.RunFor((last_close + time_wait) - clock_.Now() + std::chrono::milliseconds(1));
  EXPECT_EQ(Connections(*a_), 0u);
  EXPECT_EQ(Timers(*a_), 0u);
}

TEST_F(TcpTimerTest, IdleEstablishedConnectionsFileNoTimer) {
  // Nothing in flight, no keep-alive: no deadline (the heap holds only what can fire).
  auto [client, server] = Connect();
  ASSERT_NE(server, nullptr);
  sim_.RunFor(std::chrono::seconds(1));  // the last ACKs (and any delayed ACK) are done
  EXPECT_EQ(Timers(*a_), 0u);
  EXPECT_EQ(Timers(*b_), 0u);
  // Keep-alive on: a deadline 2 h away (tcp_keepalive_time) is filed, and it fires.
  const int on = 1;
  ASSERT_TRUE(client->SetOption(SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)).ok());
  EXPECT_EQ(Timers(*a_), 1u);
  {
    std::lock_guard l(a_->mutex());
    EXPECT_EQ(a_->tcp().NextDeadline(), client->connection()->NextDeadline());
    EXPECT_GE(a_->tcp().NextDeadline() - clock_.Now(), std::chrono::hours(2) - std::chrono::seconds(2));
  }
  const uint64_t probes_before = a_->CounterSnapshot()["tcp.keepalive_probes"];
  sim_.RunFor(std::chrono::hours(2) + std::chrono::seconds(1));
  EXPECT_GT(a_->CounterSnapshot()["tcp.keepalive_probes"], probes_before);
  EXPECT_EQ(client->state(), TcpState::kEstablished);  // the peer answered
  // Data re-arms the retransmission timer in place of the keep-alive one.
  const uint8_t byte = 'x';
  ASSERT_TRUE(client->Send(ByteSpan(&byte, 1), MSG_DONTWAIT).ok());
  EXPECT_EQ(Timers(*a_), 1u);
  {
    std::lock_guard l(a_->mutex());
    EXPECT_LT(a_->tcp().NextDeadline() - clock_.Now(), std::chrono::seconds(5));
  }
}

}  // namespace
}  // namespace pytcp
