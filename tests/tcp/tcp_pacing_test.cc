// Sending after idle and pacing (issue 16 item 14): cwnd restarts after an idle RTO as
// Linux's tcp_slow_start_after_idle does, CUBIC's epoch moves over the pause, and paced
// data leaves spread over the round trip rather than in one burst.
#include "stack/tcp/tcp_congestion.h"
#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

using std::chrono::milliseconds;

constexpr Duration kRtt = milliseconds(100);
constexpr uint32_t kMss = 1460;

class TcpPacingTest : public TcpHarness {
 protected:
  void SetPacing(bool on) {
    std::lock_guard lock(stack_->mutex());
    stack_->tcp().mutable_config().pacing = on;
  }
  // MSS 1460, window scaling (a large window), a handshake of kRtt; no timestamps or SACK.
  // The connection starts with a window of 40 segments (the initial window is 10 again
  // for what follows: the restart after idle goes back to it).
  std::shared_ptr<TcpSocket> Establish(uint32_t* iss) {
    {
      std::lock_guard lock(stack_->mutex());
      stack_->tcp().mutable_config().initial_cwnd_segments = 40;
    }
    listener_ = NewSocket();
    EXPECT_TRUE(listener_->Bind(SocketAddress{IpAddress(kOurIp), kOurPort, 0}).ok());
    EXPECT_TRUE(listener_->Listen(16).ok());
    TcpHeader syn = Peer("S", kPeerIsn, 0);
    syn.options.mss = 1460;
    syn.options.window_scale = 7;
    Inject(syn);
    *iss = TakeOne().seq();
    Advance(kRtt);
    Inject(Peer(".", kPeerIsn + 1, *iss + 1, 8192));  // 1 MB
    auto a = listener_->Accept();
    EXPECT_TRUE(a.ok());
    if (!a.ok()) return nullptr;
    sockets_.push_back(*a);
    (*a)->set_nonblocking(true);
    int buf = 4 << 20;  // room for every test's data at once
    EXPECT_TRUE((*a)->SetOption(SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf)).ok());
    next_ = *iss + 1;
    std::lock_guard lock(stack_->mutex());
    stack_->tcp().mutable_config().initial_cwnd_segments = 10;
    return *a;
  }
  // Sends n segments and acknowledges them all an RTT later (slow start: cwnd + 2).
  // Returns the segments sent.
  std::vector<Sent> Round(TcpSocket& c, uint32_t n) {
    EXPECT_TRUE(c.Send(AsBytes(std::string(n * kMss, 'x')), 0).ok());
    Advance(kRtt);
    auto sent = Take();
    next_ += n * kMss;
    Inject(Peer(".", kPeerIsn + 1, next_, 8192));
    (void)Take();
    return sent;
  }
  uint32_t Cwnd(TcpSocket& c) {
    struct tcp_info info;
    socklen_t len = sizeof(info);
    EXPECT_TRUE(c.GetOption(IPPROTO_TCP, TCP_INFO, &info, &len).ok());
    return info.tcpi_snd_cwnd;
  }
  uint32_t next_ = 0;
};

TEST_F(TcpPacingTest, IdleLongerThanAnRtoRestartsTheWindow) {
  SetPacing(false);
  uint32_t iss = 0;
  auto c = Establish(&iss);
  EXPECT_EQ(Round(*c, 40).size(), 40u);
  EXPECT_EQ(Cwnd(*c), 42u);
  // 1.1 s without sending, the RTO 300 ms: halved once per RTO beyond the first (42 ->
  // 21 -> 10.5), not below the initial window (Linux's tcp_cwnd_restart).
  Advance(milliseconds(1000));
  ASSERT_TRUE(c->Send(AsBytes(std::string(60 * kMss, 'y')), 0).ok());
  EXPECT_EQ(Take().size(), 10u);
  struct tcp_info info;
  socklen_t len = sizeof(info);
  ASSERT_TRUE(c->GetOption(IPPROTO_TCP, TCP_INFO, &info, &len).ok());
  EXPECT_EQ(info.tcpi_snd_cwnd, 10u);
  // ssthresh becomes at least three quarters of the window before (Linux's
  // tcp_current_ssthresh); never set yet, it stays infinite: slow start up to the loss.
  EXPECT_EQ(info.tcpi_snd_ssthresh, 0x7fffffffu);
}

TEST_F(TcpPacingTest, IdleShorterThanAnRtoKeepsTheWindow) {
  SetPacing(false);
  uint32_t iss = 0;
  auto c = Establish(&iss);
  Round(*c, 40);
  Advance(milliseconds(150));
  ASSERT_TRUE(c->Send(AsBytes(std::string(60 * kMss, 'y')), 0).ok());
  EXPECT_EQ(Take().size(), 42u);
}

TEST_F(TcpPacingTest, TheRestartCanBeTurnedOff) {
  SetPacing(false);
  {
    std::lock_guard lock(stack_->mutex());
    stack_->tcp().mutable_config().slow_start_after_idle = false;
  }
  uint32_t iss = 0;
  auto c = Establish(&iss);
  Round(*c, 40);
  Advance(milliseconds(1000));
  ASSERT_TRUE(c->Send(AsBytes(std::string(60 * kMss, 'y')), 0).ok());
  EXPECT_EQ(Take().size(), 42u);
}

TEST_F(TcpPacingTest, PacedWindowLeavesSpreadOverTheRoundTrip) {
  uint32_t iss = 0;
  auto c = Establish(&iss);
  Round(*c, 40);  // (its first ten segments leave unpaced, as Linux's)
  ASSERT_EQ(Cwnd(*c), 42u);
  // 40 segments in slow start: twice cwnd per SRTT, so the window leaves over about half
  // the round trip, at most a 1 ms quantum of the rate (one segment) ahead of time.
  ASSERT_TRUE(c->Send(AsBytes(std::string(40 * kMss, 'z')), 0).ok());
  Advance(kRtt - milliseconds(1));
  auto sent = Take();
  ASSERT_EQ(sent.size(), 40u);
  const Duration span = sent.back().at - sent.front().at;
  EXPECT_GE(span, milliseconds(40));
  EXPECT_LE(span, milliseconds(60));
  for (size_t i = 2; i < sent.size(); ++i) {
    EXPECT_GE(sent[i].at - sent[i - 2].at, milliseconds(1)) << i;
  }
}

TEST_F(TcpPacingTest, UnpacedWindowLeavesAsOneBurst) {
  SetPacing(false);
  uint32_t iss = 0;
  auto c = Establish(&iss);
  Round(*c, 40);
  ASSERT_TRUE(c->Send(AsBytes(std::string(40 * kMss, 'z')), 0).ok());
  auto sent = Take();
  ASSERT_EQ(sent.size(), 40u);
  EXPECT_EQ(sent.back().at, sent.front().at);
}

TEST(TcpCubicIdleTest, EpochMovesOverIdleTime) {
  // RFC 9438 / Linux's CA_EVENT_TX_START: ten idle seconds do not count as time on the
  // cubic curve; without the shift the first ACK after the pause grows cwnd by half a
  // segment (the curve has run far ahead, clamped to 1.5 cwnd), with it a small fraction.
  TcpCubic moved, stayed;
  const Instant t0 = Instant() + std::chrono::seconds(1);
  for (TcpCubic* cc : {&moved, &stayed}) {
    cc->Init(1000, 10);
    cc->OnCongestionEvent(20000, t0);
    TcpAckSample s;
    s.acked_bytes = 1000;
    s.srtt = milliseconds(100);
    s.now = t0;
    cc->OnAck(s);  // the epoch begins
  }
  const uint32_t before = stayed.cwnd();
  moved.OnTxStart(std::chrono::seconds(10), t0 + std::chrono::seconds(10));
  for (TcpCubic* cc : {&moved, &stayed}) {
    TcpAckSample s;
    s.acked_bytes = 1000;
    s.srtt = milliseconds(100);
    s.now = t0 + std::chrono::seconds(10);
    cc->OnAck(s);
  }
  EXPECT_GE(stayed.cwnd(), before + 400);
  EXPECT_LE(moved.cwnd(), before + 100);  // the Reno-friendly estimate's small step
}

}  // namespace
}  // namespace pytcp::testing
