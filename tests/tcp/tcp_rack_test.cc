// TcpRack on its own (RFC 8985 §6): transmit times in, loss verdicts and timers out.
#include "stack/tcp/tcp_rack.h"

#include <gtest/gtest.h>

namespace pytcp {
namespace {

using std::chrono::milliseconds;

constexpr uint32_t kSeg = 1000;
const SeqNum kStart(5000);

SeqNum At(int i) { return kStart + static_cast<uint32_t>(i) * kSeg; }

TEST(TcpRackTest, SegmentsSentBeforeADeliveredOneAreLostOnceOverdue) {
  TcpRack rack;
  Instant t;
  for (int i = 0; i < 4; ++i) rack.OnSend(At(i), At(i + 1), t + milliseconds(i));
  // Segment 3 (sent at 3 ms) is SACKed at 103 ms: RACK.rtt = 100 ms.
  rack.OnDelivered(At(3), At(4), milliseconds(100), t + milliseconds(103));
  EXPECT_EQ(rack.rtt(), milliseconds(100));
  // With a 25 ms reordering window, segment 0 (sent at 0) is lost at 125 ms, 1 at 126...
  TcpRack::Verdict v = rack.DetectLoss(kStart, milliseconds(25), t + milliseconds(103));
  EXPECT_EQ(v.lost_until, kStart);
  EXPECT_EQ(v.timeout, t + milliseconds(125));
  v = rack.DetectLoss(kStart, milliseconds(25), t + milliseconds(126));
  EXPECT_EQ(v.lost_until, At(2));
  EXPECT_EQ(v.timeout, t + milliseconds(127));
  // Without a window they are lost at once; the delivered segment itself never is.
  v = rack.DetectLoss(kStart, Duration{0}, t + milliseconds(103));
  EXPECT_EQ(v.lost_until, At(3));
  EXPECT_TRUE(v.timeout.is_infinite());
}

TEST(TcpRackTest, AnAmbiguousRetransmissionIsNoReference) {
  TcpRack rack;
  Instant t;
  for (int i = 0; i < 4; ++i) rack.OnSend(At(i), At(i + 1), t);
  rack.OnRetransmit(At(1), At(2), t + milliseconds(50));
  // Delivered 10 ms after the retransmission, under min_RTT: it may be the original.
  rack.OnDelivered(At(1), At(2), milliseconds(100), t + milliseconds(60));
  EXPECT_FALSE(rack.has_delivery());
  // After min_RTT it is the retransmission's.
  rack.OnDelivered(At(1), At(2), milliseconds(100), t + milliseconds(150));
  EXPECT_TRUE(rack.has_delivery());
  EXPECT_EQ(rack.rtt(), milliseconds(100));
  EXPECT_EQ(rack.records(), 4u);
  // Part of a record sent again is split off it, so the rest keeps its original time.
  rack.OnRetransmit(At(2) + 200, At(2) + 400, t + milliseconds(200));
  EXPECT_EQ(rack.records(), 6u);
}

TEST(TcpRackTest, ReorderingWindowIsZeroUntilReorderingIsSeen) {
  TcpRack rack;
  const Duration min_rtt = milliseconds(40);
  const Duration srtt = milliseconds(50);
  EXPECT_EQ(rack.ReoWnd(false, 0, 3, min_rtt, srtt), milliseconds(10));
  EXPECT_EQ(rack.ReoWnd(true, 0, 3, min_rtt, srtt), Duration{0});
  EXPECT_EQ(rack.ReoWnd(false, 3, 3, min_rtt, srtt), Duration{0});
  Instant t;
  rack.OnSend(At(0), At(1), t);
  rack.OnSend(At(1), At(2), t + milliseconds(1));
  rack.OnDelivered(At(1), At(2), min_rtt, t + milliseconds(50));
  rack.OnDelivered(At(0), At(1), min_rtt, t + milliseconds(51));  // the earlier one, later
  EXPECT_TRUE(rack.reordering_seen());
  EXPECT_EQ(rack.ReoWnd(true, 0, 3, min_rtt, srtt), milliseconds(10));
}

TEST(TcpRackTest, DsacksWidenTheWindowOncePerRoundForSixteenRecoveries) {
  // RFC 8985 §6.2 step 4: reo_wnd_mult grows by one per round trip with a D-SACK, is kept
  // for 16 recoveries without one and then falls back to one.
  TcpRack rack;
  const Duration min_rtt = milliseconds(40);
  const Duration srtt = milliseconds(500);
  rack.OnDsack(At(0), At(10));
  rack.OnDsack(At(0), At(10));  // the same round
  EXPECT_EQ(rack.reo_wnd_mult(), 2);
  EXPECT_EQ(rack.ReoWnd(false, 0, 3, min_rtt, srtt), milliseconds(20));
  rack.AdvanceUna(At(10));      // the round is over
  rack.OnDsack(At(10), At(20));
  EXPECT_EQ(rack.reo_wnd_mult(), 3);
  EXPECT_EQ(rack.ReoWnd(false, 0, 3, min_rtt, srtt), milliseconds(30));
  // Capped by SRTT.
  EXPECT_EQ(rack.ReoWnd(false, 0, 3, min_rtt, milliseconds(25)), milliseconds(25));
  for (int i = 0; i < 15; ++i) rack.OnRecoveryEnd();
  EXPECT_EQ(rack.reo_wnd_mult(), 3);
  rack.OnRecoveryEnd();
  EXPECT_EQ(rack.reo_wnd_mult(), 1);
}

}  // namespace
}  // namespace pytcp
