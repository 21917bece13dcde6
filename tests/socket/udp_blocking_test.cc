// Blocking behaviour of sockets with the stack's own thread running, on real time: the
// waits the kernel's blocking calls make (timeouts, signals, a close from another thread).
// Durations here are lower bounds only; nothing asserts an upper bound on timing.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "stack/link/memory_link.h"
#include "stack/stack.h"
#include "tests/support/memory_stack.h"

namespace pytcp {
namespace {

StackConfig Config(std::string_view mac, std::string_view ifaddr) {
  return testing::MemoryStackConfig(MacAddress::Parse(mac), ifaddr, 0);
}

class UdpBlockingTest : public ::testing::Test {
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
  std::unique_ptr<Stack> a_, b_;
};

TEST_F(UdpBlockingTest, BlockingReceiveWakesOnArrival) {
  auto rx = b_->CreateUdpSocket();
  ASSERT_TRUE(rx->Bind(SocketAddress{IpAddress(Ip4Address()), 4000}).ok());
  std::thread sender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto tx = a_->CreateUdpSocket();
    const SocketAddress dst{IpAddress(Ip4Address(10, 77, 0, 3)), 4000};
    ASSERT_TRUE(tx->SendTo(std::vector<uint8_t>{1, 2, 3}, &dst, 0).ok());
  });
  std::vector<uint8_t> buf(10);
  auto r = rx->RecvFrom(buf, nullptr, 0);  // blocks until the datagram arrives
  sender.join();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, 3u);
}

TEST_F(UdpBlockingTest, ReceiveTimeoutGivesEagain) {
  auto rx = b_->CreateUdpSocket();
  ASSERT_TRUE(rx->Bind(SocketAddress{IpAddress(Ip4Address()), 4001}).ok());
  const timeval tv{0, 50000};
  ASSERT_TRUE(rx->SetOption(SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)).ok());
  timeval back{};
  socklen_t len = sizeof(back);
  ASSERT_TRUE(rx->GetOption(SOL_SOCKET, SO_RCVTIMEO, &back, &len).ok());
  EXPECT_EQ(back.tv_usec, 50000);
  const auto start = std::chrono::steady_clock::now();
  std::vector<uint8_t> buf(10);
  auto r = rx->RecvFrom(buf, nullptr, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), EAGAIN);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
}

TEST_F(UdpBlockingTest, SignalInterruptsWithEintr) {
  struct sigaction sa {};
  sa.sa_handler = [](int) {};
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART
  struct sigaction old {};
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  auto rx = b_->CreateUdpSocket();
  ASSERT_TRUE(rx->Bind(SocketAddress{IpAddress(Ip4Address()), 4002}).ok());
  std::atomic<bool> waiting{false};
  int error = 0;
  pthread_t tid{};
  std::thread waiter([&] {
    tid = pthread_self();
    waiting = true;
    std::vector<uint8_t> buf(10);
    auto r = rx->RecvFrom(buf, nullptr, 0);
    error = r.ok() ? 0 : r.error();
  });
  while (!waiting) std::this_thread::yield();
  // Keep signalling until the waiter returns (the first signal may land before it blocks).
  for (int i = 0; i < 200 && error == 0; ++i) {
    pthread_kill(tid, SIGUSR1);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  waiter.join();
  sigaction(SIGUSR1, &old, nullptr);
  EXPECT_EQ(error, EINTR);
}

TEST_F(UdpBlockingTest, CloseFromAnotherThreadWakesTheWaiter) {
  auto rx = b_->CreateUdpSocket();
  ASSERT_TRUE(rx->Bind(SocketAddress{IpAddress(Ip4Address()), 4003}).ok());
  std::atomic<int> error{0};
  std::thread waiter([&] {
    std::vector<uint8_t> buf(10);
    auto r = rx->RecvFrom(buf, nullptr, 0);
    error = r.ok() ? -1 : r.error();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  rx->Close();
  waiter.join();
  EXPECT_EQ(error.load(), EBADF);
}

TEST_F(UdpBlockingTest, StopClosesOpenSockets) {
  auto rx = b_->CreateUdpSocket();
  ASSERT_TRUE(rx->Bind(SocketAddress{IpAddress(Ip4Address()), 4004}).ok());
  std::atomic<int> error{0};
  std::thread waiter([&] {
    std::vector<uint8_t> buf(10);
    auto r = rx->RecvFrom(buf, nullptr, 0);
    error = r.ok() ? -1 : r.error();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  b_->Stop();
  waiter.join();
  EXPECT_EQ(error.load(), EBADF);
  std::vector<uint8_t> buf(10);
  EXPECT_EQ(rx->SendTo(buf, nullptr, 0).error(), EBADF);
}

TEST_F(UdpBlockingTest, NonBlockingNeverWaits) {
  auto rx = b_->CreateUdpSocket();
  rx->set_nonblocking(true);
  std::vector<uint8_t> buf(10);
  EXPECT_EQ(rx->RecvFrom(buf, nullptr, 0).error(), EAGAIN);
}

}  // namespace
}  // namespace pytcp
