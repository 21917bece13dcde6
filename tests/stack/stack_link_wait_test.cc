// Link lending (Stack::BeginLinkWait / ProcessLinkForWait / EndLinkWait / BusyPollForWait),
// what the shim's poll, select and epoll_wait use for run-to-completion (shim/wait.h
// LinkLoan): one stack with its loop thread on a memory link whose far end the test drives
// with hand-built UDP datagrams. While the link is lent, frames wait on it for the borrower
// (neither the loop nor a blocked socket call takes them); once it is given back, the loop
// reads the link again by itself. Real time only because the loop thread runs on it: every
// wait below is bounded by a generous timeout and none is what a test asserts.
#include <gtest/gtest.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "stack/link/memory_link.h"
#include "stack/stack.h"
#include "stack/stack_arp_ioctl.h"
#include "stack/wire/checksum.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ip4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"
#include "tests/support/memory_stack.h"

namespace pytcp {
namespace {

constexpr MacAddress kStackMac(MacAddress::Bytes{0x02, 0, 0, 0x7a, 0, 0x02});
constexpr MacAddress kPeerMac(MacAddress::Bytes{0x02, 0, 0, 0x7a, 0, 0x01});
constexpr Ip4Address kStackIp(10, 122, 0, 2);
constexpr Ip4Address kPeerIp(10, 122, 0, 1);
constexpr uint16_t kPort = 4321;
constexpr int kGenerousMs = 2000;

StackConfig Config(Duration busy_poll = Duration(0)) {
  StackConfig c = testing::MemoryStackConfig(kStackMac, "10.122.0.2/24", 7);
  c.busy_poll = busy_poll;
  return c;
}

// An Ethernet frame with a UDP datagram from the peer to the stack's kPort.
std::vector<uint8_t> UdpFrame(const std::vector<uint8_t>& payload) {
  const size_t ip_len = 20 + kUdpHeaderSize + payload.size();
  std::vector<uint8_t> f(std::max<size_t>(kEthernetHeaderSize + ip_len, 60));
  EthernetHeader{kStackMac, kPeerMac, EtherType::kIp4}.Emit(f);
  Ip4Header ip;
  ip.src = kPeerIp;
  ip.dst = kStackIp;
  ip.protocol = IpProto::kUdp;
  ip.Emit(MutableByteSpan(f).subspan(kEthernetHeaderSize), kUdpHeaderSize + payload.size());
  const size_t udp = kEthernetHeaderSize + 20;
  std::copy(payload.begin(), payload.end(), f.begin() + static_cast<long>(udp + kUdpHeaderSize));
  UdpHeader{5555, kPort}.Emit(
      MutableByteSpan(f).subspan(udp), ByteSpan(f).subspan(udp + kUdpHeaderSize, payload.size()),
      PseudoHeaderSum4(kPeerIp, kStackIp, 17, static_cast<uint32_t>(kUdpHeaderSize + payload.size())));
  return f;
}

constexpr uint16_t kTcpPort = 4322;

// An Ethernet frame with a TCP SYN from the peer to the stack's kTcpPort.
std::vector<uint8_t> SynFrame() {
  TcpHeader tcp;
  tcp.src_port = 5556;
  tcp.dst_port = kTcpPort;
  tcp.seq = SeqNum(1000);
  tcp.flags.syn = true;
  tcp.window = 65535;
  const size_t tcp_len = tcp.header_size();
  std::vector<uint8_t> f(std::max<size_t>(kEthernetHeaderSize + 20 + tcp_len, 60));
  EthernetHeader{kStackMac, kPeerMac, EtherType::kIp4}.Emit(f);
  Ip4Header ip;
  ip.src = kPeerIp;
  ip.dst = kStackIp;
  ip.protocol = IpProto::kTcp;
  ip.Emit(MutableByteSpan(f).subspan(kEthernetHeaderSize), tcp_len);
  tcp.Emit(MutableByteSpan(f).subspan(kEthernetHeaderSize + 20), ByteSpan(),
           PseudoHeaderSum4(kPeerIp, kStackIp, 6, static_cast<uint32_t>(tcp_len)));
  return f;
}

// True for an IPv4 TCP segment with exactly SYN and ACK set.
bool IsSynAck(ByteSpan f) {
  constexpr size_t kIp = kEthernetHeaderSize;
  if (f.size() < kIp + 20 + kTcpMinHeaderSize || f[12] != 0x08 || f[13] != 0x00) return false;
  const size_t tcp = kIp + (f[kIp] & 0x0f) * 4u;
  return f[kIp + 9] == 6 && f.size() > tcp + 13 && f[tcp + 13] == (TcpFlags::kSyn | TcpFlags::kAck);
}

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

// Rings an eventfd whenever a socket becomes readable (no polling loop, no sleep).
class ReadableSignal final : public ReadinessListener {
 public:
  ReadableSignal() : fd_(eventfd(0, EFD_NONBLOCK)) {}
  ~ReadableSignal() override { close(fd_); }
  void OnReadinessChange(ReadinessMask mask) override {
    if ((mask & POLLIN) != 0) {
      const uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof(one));
    }
  }
  int fd() const { return fd_; }
  // Forgets earlier rings.
  void Reset() {
    uint64_t v;
    [[maybe_unused]] ssize_t n = read(fd_, &v, sizeof(v));
  }

 private:
  int fd_;
};

class StackLinkWaitTest : public ::testing::Test {
 protected:
  void Build(StackConfig config, bool threaded) {
    auto pair = MemoryLink::CreatePair(MemoryLinkConfig{}, RealClock::Instance());
    link_ = pair.a.get();
    peer_ = std::move(pair.b);
    stack_ = *Stack::CreateWithLink(config, std::move(pair.a), &RealClock::Instance());
    ASSERT_TRUE((threaded ? stack_->Start() : stack_->StartManual()).ok());
    sock_ = stack_->CreateUdpSocket();
    ASSERT_TRUE(sock_->Bind(SocketAddress{IpAddress(kStackIp), kPort, 0}).ok());
    sock_->AddListener(&signal_);
  }
  void TearDown() override {
    if (sock_) sock_->RemoveListener(&signal_);
    if (stack_) stack_->Stop();
  }

  void SendFromPeer(uint8_t tag) {
    ASSERT_EQ(peer_->Send(UdpFrame({tag, 1, 2, 3})), LinkStatus::kOk);
  }
  // Gives the loop thread time to act on what just happened and go back to sleep (its
  // grace period is 1 ms), so the next frame finds it asleep, as a frame that comes later
  // would. Not asserted: a slow machine only makes the test weaker, never wrong.
  static void SettleLoop() { std::this_thread::sleep_for(std::chrono::milliseconds(20)); }
  bool SocketReadable() { return (sock_->Poll() & POLLIN) != 0; }
  // The datagram's first byte, or -1 when none is queued.
  int ReceiveNow() {
    std::vector<uint8_t> buf(16);
    auto r = sock_->RecvFrom(buf, nullptr, MSG_DONTWAIT);
    if (!r.ok() || *r != 4) return -1;
    return buf[0];
  }

  MemoryLink* link_ = nullptr;  // the stack's end
  std::unique_ptr<MemoryLink> peer_;
  std::unique_ptr<Stack> stack_;
  std::shared_ptr<UdpSocket> sock_;
  ReadableSignal signal_;
};

TEST_F(StackLinkWaitTest, LendsTheLinkFdToOneCallerAtATime) {
  Build(Config(), true);
  const int fd = stack_->BeginLinkWait();
  EXPECT_GE(fd, 0);
  EXPECT_EQ(fd, stack_->link_fd());
  EXPECT_EQ(fd, link_->wait_fd());
  EXPECT_EQ(stack_->BeginLinkWait(), -1) << "lent twice";
  stack_->EndLinkWait();
  // Given back, it can be lent again.
  EXPECT_EQ(stack_->BeginLinkWait(), fd);
  stack_->EndLinkWait();
}

TEST_F(StackLinkWaitTest, WithoutTheLoopThreadTheLinkIsNotLent) {
  Build(Config(), false);
  EXPECT_EQ(stack_->BeginLinkWait(), -1);
  // The manual driver still reads it.
  SendFromPeer(9);
  stack_->ProcessLink();
  EXPECT_EQ(ReceiveNow(), 9);
}

TEST_F(StackLinkWaitTest, TheBorrowerProcessesFramesInItsOwnThread) {
  Build(Config(), true);
  const int fd = stack_->BeginLinkWait();
  ASSERT_GE(fd, 0);
  SendFromPeer(1);
  ASSERT_TRUE(Readable(fd, kGenerousMs));
  // Neither the loop thread nor anyone else read it: it waits for the borrower.
  EXPECT_EQ(link_->pending(), 1u);
  EXPECT_FALSE(SocketReadable());
  // A blocked socket call does not take a lent link either (its WaitDriving only waits to
  // be told): it times out and the frame is still there.
  const timeval tv{0, 50'000};
  ASSERT_TRUE(sock_->SetOption(SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)).ok());
  std::vector<uint8_t> buf(16);
  auto blocked = sock_->RecvFrom(buf, nullptr, 0);
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error(), EAGAIN);
  EXPECT_EQ(link_->pending(), 1u);

  // The borrower processes it: the datagram is queued when the call returns.
  EXPECT_GE(stack_->ProcessLinkForWait(), 1u);
  EXPECT_TRUE(SocketReadable());
  EXPECT_EQ(link_->pending(), 0u);
  EXPECT_FALSE(Readable(fd, 0));
  EXPECT_EQ(ReceiveNow(), 1);
  stack_->EndLinkWait();
}

TEST_F(StackLinkWaitTest, AfterTheLinkIsGivenBackTheLoopReadsIt) {
  Build(Config(), true);
  // Held across a wake-up of the loop (an idle server in accept): frame 1 woke the loop,
  // which found the link lent and went back to sleep without it. The give-back must wake it.
  const int fd = stack_->BeginLinkWait();
  ASSERT_GE(fd, 0);
  SendFromPeer(1);
  ASSERT_TRUE(Readable(fd, kGenerousMs));
  SettleLoop();
  EXPECT_GE(stack_->ProcessLinkForWait(), 1u);
  EXPECT_EQ(ReceiveNow(), 1);
  signal_.Reset();
  stack_->EndLinkWait();
  SettleLoop();
  // A frame nobody waits for: the loop thread delivers it on its own.
  SendFromPeer(2);
  ASSERT_TRUE(Readable(signal_.fd(), kGenerousMs)) << "the loop did not take the link back";
  EXPECT_EQ(ReceiveNow(), 2);

  // Quick lends and give-backs (a program in a poll loop) right after a give-back that woke
  // the loop: it then looks at the link again within kLinkGrace instead of being woken at
  // every give-back, and must end up reading it again.
  ASSERT_EQ(stack_->BeginLinkWait(), fd);
  SendFromPeer(3);
  ASSERT_TRUE(Readable(fd, kGenerousMs));
  SettleLoop();
  EXPECT_GE(stack_->ProcessLinkForWait(), 1u);
  EXPECT_EQ(ReceiveNow(), 3);
  stack_->EndLinkWait();
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(stack_->BeginLinkWait(), fd);
    stack_->EndLinkWait();
  }
  signal_.Reset();
  SettleLoop();
  SendFromPeer(4);
  ASSERT_TRUE(Readable(signal_.fd(), kGenerousMs)) << "the loop did not take the link back";
  EXPECT_EQ(ReceiveNow(), 4);
}

// Frames that the borrower processes can arm a timer due before the loop's deadline (here
// the SYN-ACK's retransmission; in a transfer a delayed ACK or RACK's reordering window).
// The loop sleeps without the link and with no deadline, so it must be told at once, not
// when the link is given back: pytcpd's loop holds the link for good, and before the fix
// (issue 16) a lost segment there waited for the 200 ms RTO instead of RACK's few ms.
TEST_F(StackLinkWaitTest, TimersArmedByTheBorrowerRunWhileItHoldsTheLink) {
  Build(Config(), true);
  arpreq neighbour{};
  auto* pa = reinterpret_cast<sockaddr_in*>(&neighbour.arp_pa);
  pa->sin_family = AF_INET;
  pa->sin_addr.s_addr = htonl(kPeerIp.value());
  neighbour.arp_ha.sa_family = ARPHRD_ETHER;
  std::copy(kPeerMac.bytes().begin(), kPeerMac.bytes().end(), neighbour.arp_ha.sa_data);
  neighbour.arp_flags = ATF_PERM | ATF_COM;
  ASSERT_EQ(StackArpIoctl(*stack_, SIOCSARP, &neighbour), 0);
  auto listener = stack_->CreateTcpSocket();
  ASSERT_TRUE(listener->Bind(SocketAddress{IpAddress(kStackIp), kTcpPort, 0}).ok());
  ASSERT_TRUE(listener->Listen(4).ok());

  const int fd = stack_->BeginLinkWait();
  ASSERT_GE(fd, 0);
  SettleLoop();  // the loop is asleep without the link, nothing due
  ASSERT_EQ(peer_->Send(SynFrame()), LinkStatus::kOk);
  ASSERT_TRUE(Readable(fd, kGenerousMs));
  ASSERT_GE(stack_->ProcessLinkForWait(), 1u);
  // The SYN-ACK leaves at once, its retransmission one initial RTO (1 s) later, sent by
  // the loop's timers while this thread still holds the link.
  int syn_acks = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  while (syn_acks < 2 && std::chrono::steady_clock::now() < give_up) {
    if (!Readable(peer_->wait_fd(), 100)) continue;
    peer_->Receive([&](ByteSpan f) { syn_acks += IsSynAck(f) ? 1 : 0; }, 16);
  }
  EXPECT_EQ(syn_acks, 2) << "the SYN-ACK was not retransmitted while the link was lent";
  stack_->EndLinkWait();
}

TEST_F(StackLinkWaitTest, BusyPollIsOffByDefault) {
  Build(Config(), true);
  ASSERT_GE(stack_->BeginLinkWait(), 0);
  SendFromPeer(1);
  ASSERT_TRUE(Readable(link_->wait_fd(), kGenerousMs));
  EXPECT_EQ(stack_->BusyPollForWait(), 0u);
  EXPECT_EQ(link_->pending(), 1u) << "busy polling read the link while off";
  EXPECT_GE(stack_->ProcessLinkForWait(), 1u);
  stack_->EndLinkWait();
  EXPECT_EQ(ReceiveNow(), 1);
}

TEST_F(StackLinkWaitTest, BusyPollReturnsTheFramesThatCame) {
  Build(Config(std::chrono::milliseconds(20)), true);
  ASSERT_GE(stack_->BeginLinkWait(), 0);
  // Nothing comes: it gives up after busy_poll with nothing read.
  EXPECT_EQ(stack_->BusyPollForWait(), 0u);
  SendFromPeer(1);
  ASSERT_TRUE(Readable(link_->wait_fd(), kGenerousMs));
  EXPECT_GE(stack_->BusyPollForWait(), 1u);
  EXPECT_TRUE(SocketReadable());
  EXPECT_EQ(link_->pending(), 0u);
  stack_->EndLinkWait();
  EXPECT_EQ(ReceiveNow(), 1);
}

}  // namespace
}  // namespace pytcp
