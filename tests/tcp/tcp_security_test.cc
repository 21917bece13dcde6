// Off-path attacks (issue 16 items 5-8): challenge ACKs limited per connection and by a
// host-wide budget randomised every second (RFC 5961 §7, CVE-2016-5696, Linux's
// tcp_send_challenge_ack); ACKs to invalid segments limited to one per 500 ms per
// connection (Linux's tcp_oow_rate_limited); TS.Recent taken only from segments whose ACK
// was validated (RFC 7323 §4.3, Linux's tcp_replace_ts_recent in tcp_ack), and stored again
// after 24 days of idleness (§5.5); SYN cookies honoured only shortly after the SYN queue
// overflowed (Linux's tcp_synq_no_recent_overflow).
#include <set>

#include "stack/tcp/tcp_challenge_limit.h"
#include "stack/tcp/tcp_isn.h"
#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

using TcpSecurityTest = TcpHarness;

TcpOptions WithTimestamps(uint32_t tsval) {
  TcpOptions o;
  o.mss = 1460;
  o.timestamps = TcpTimestamps{tsval, 0};
  return o;
}

TEST_F(TcpSecurityTest, ChallengeAcksAreLimitedPerConnection) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  // In-window RSTs and SYNs, many at once: one challenge ACK per 500 ms for this
  // connection, so no attacker can make it spend the host's budget.
  for (int i = 0; i < 5; ++i) {
    Inject(Peer("R", kPeerIsn + 1 + 100, 0));
    Inject(Peer("S", kPeerIsn + 5000, 0));
  }
  EXPECT_EQ(Take().size(), 1u);
  EXPECT_EQ(Moved("tcp.tx_challenge_ack"), 1);
  Advance(std::chrono::milliseconds(499));
  Inject(Peer("S", kPeerIsn + 5000, 0));
  EXPECT_TRUE(Take().empty());
  Advance(std::chrono::milliseconds(1));
  Inject(Peer("S", kPeerIsn + 5000, 0));
  EXPECT_EQ(TakeOne().ack(), kPeerIsn + 1);
  EXPECT_EQ(c->state(), TcpState::kEstablished);
}

TEST(TcpChallengeAckLimitTest, TheHostWideBudgetIsRandomisedEachSecond) {
  // Linux's fix for CVE-2016-5696: the count allowed in a second is uniform in
  // [limit/2, limit*3/2), so an off-path attacker who exhausts it learns nothing from
  // how many challenge ACKs some other connection drew.
  Random random(5);
  TcpChallengeAckLimit limit(&random);
  std::set<int> budgets;
  for (int second = 1; second <= 50; ++second) {
    const Instant t = Instant::FromNanos(int64_t{second} * 1'000'000'000);
    int allowed = 0;
    while (allowed < 10000 && limit.Allow(100, t)) ++allowed;
    EXPECT_GE(allowed, 50);
    EXPECT_LE(allowed, 149);
    budgets.insert(allowed);
  }
  EXPECT_GT(budgets.size(), 20u);
  EXPECT_FALSE(limit.Allow(0, Instant::FromNanos(int64_t{99} * 1'000'000'000)));
}

TEST_F(TcpSecurityTest, AcksToOutOfWindowAndPawsSegmentsAreRateLimited) {
  uint32_t iss = 0;
  auto c = EstablishPassive(WithTimestamps(100), &iss);
  // Two endpoints out of sync must not ping-pong ACKs: one per 500 ms per connection for
  // pure ACKs out of the window, PAWS-old, or acknowledging what was never sent.
  for (int i = 0; i < 3; ++i) {
    TcpHeader outside = Peer(".", kPeerIsn + 1 + 10'000'000, iss + 1);
    outside.options.timestamps = TcpTimestamps{200, 0};
    Inject(outside);
    TcpHeader old = Peer(".", kPeerIsn + 1, iss + 1);
    old.options.timestamps = TcpTimestamps{50, 0};
    Inject(old);
    TcpHeader unsent = Peer(".", kPeerIsn + 1, iss + 1000);
    unsent.options.timestamps = TcpTimestamps{200, 0};
    Inject(unsent);
  }
  EXPECT_EQ(Take().size(), 1u);
  EXPECT_EQ(Moved("tcp.ack_skipped_oow"), 8);
  // Data is not part of an ACK loop: an old duplicate is always answered (its D-SACK
  // tells the sender it retransmitted needlessly).
  TcpHeader dup = Peer("P.", kPeerIsn + 1 - 10, iss + 1);
  dup.options.timestamps = TcpTimestamps{200, 0};
  Inject(dup, std::string("abc"));
  EXPECT_EQ(Take().size(), 1u);
  Advance(std::chrono::milliseconds(500));
  TcpHeader outside = Peer(".", kPeerIsn + 1 + 10'000'000, iss + 1);
  outside.options.timestamps = TcpTimestamps{200, 0};
  Inject(outside);
  EXPECT_EQ(Take().size(), 1u);
  EXPECT_EQ(c->state(), TcpState::kEstablished);
}

TEST_F(TcpSecurityTest, ABlindSegmentCannotRaiseTsRecent) {
  uint32_t iss = 0;
  auto c = EstablishPassive(WithTimestamps(100), &iss);  // TS.Recent = 101
  // In-window, at RCV.NXT, with a TSval far in the future, but no ACK bit (or an ACK of
  // nothing we sent): such a segment is dropped, and must not move TS.Recent, or PAWS
  // would drop every real segment after it.
  TcpHeader blind = Peer("P", kPeerIsn + 1, 0);
  blind.options.timestamps = TcpTimestamps{101 + 0x7ffffff0u, 0};
  Inject(blind, std::string("x"));
  TcpHeader bad_ack = Peer("P.", kPeerIsn + 1, iss + 5000);
  bad_ack.options.timestamps = TcpTimestamps{101 + 0x7ffffff0u, 0};
  Inject(bad_ack, std::string("x"));
  Take();
  TcpHeader real = Peer("P.", kPeerIsn + 1, iss + 1);
  real.options.timestamps = TcpTimestamps{102, 0};
  Inject(real, std::string("hello"));
  Sent a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 6);
  EXPECT_EQ(a.h.options.timestamps->echo_reply, 102u);
  EXPECT_EQ(c->ReadableBytes(), 5u);
  EXPECT_EQ(Moved("tcp.rx_drop_paws"), 0);
}

TEST_F(TcpSecurityTest, AfterTwentyFourIdleDaysTheNewTsValIsStored) {
  uint32_t iss = 0;
  auto c = EstablishPassive(WithTimestamps(100), &iss);
  Advance(std::chrono::hours(25 * 24));
  // The peer's clock may have wrapped meanwhile: RFC 7323 §5.5 accepts the segment, and
  // (Linux's tcp_paws_check in tcp_replace_ts_recent) its TSval becomes TS.Recent.
  TcpHeader d = Peer("P.", kPeerIsn + 1, iss + 1);
  d.options.timestamps = TcpTimestamps{7, 0};
  Inject(d, std::string("late"));
  Sent a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 5);
  EXPECT_EQ(a.h.options.timestamps->echo_reply, 7u);
  // From then on PAWS holds against the new clock.
  TcpHeader old = Peer("P.", kPeerIsn + 5, iss + 1);
  old.options.timestamps = TcpTimestamps{6, 0};
  Inject(old, std::string("old"));
  EXPECT_EQ(TakeOne().ack(), kPeerIsn + 5);
  EXPECT_EQ(Moved("tcp.rx_drop_paws"), 1);
  EXPECT_EQ(c->ReadableBytes(), 4u);
}

class TcpCookieTest : public TcpHarness {
 protected:
  // A cookie as our listener would have made it for a SYN from `port`.
  uint32_t CookieFor(uint16_t port, uint32_t peer_isn) {
    std::lock_guard lock(stack_->mutex());
    TcpSynCookies cookies(&stack_->tcp().secrets());
    const TcpFourTuple t{IpAddress(kOurIp), IpAddress(kPeerIp), kOurPort, port};
    return cookies.Make(t, SeqNum(peer_isn), 1460, clock_.Now()).value();
  }
};

TEST_F(TcpCookieTest, ACookieIsRefusedWhenTheSynQueueHasNotOverflowed) {
  auto l = NewSocket();
  l->set_nonblocking(true);
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(), kOurPort, 0}).ok());
  ASSERT_TRUE(l->Listen(16).ok());
  // An ACK that guesses a valid cookie while the listener never needed cookies: Linux's
  // cookie_v4_check ignores it (tcp_synq_no_recent_overflow), the ACK draws a RST.
  const uint32_t cookie = CookieFor(5001, kPeerIsn);
  Inject(Peer(".", kPeerIsn + 1, cookie + 1, 1000, 5001));
  Sent rst = TakeOne();
  EXPECT_EQ(rst.flags(), "R");
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
  EXPECT_EQ(Moved("tcp.syncookies_recv"), 0);
  EXPECT_FALSE(l->Accept().ok());
}

TEST_F(TcpCookieTest, CookiesAreHonouredOnlyForAWhileAfterTheOverflow) {
  auto l = NewSocket();
  l->set_nonblocking(true);
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(), kOurPort, 0}).ok());
  ASSERT_TRUE(l->Listen(0).ok());
  Inject(Peer("S", kPeerIsn, 0, 1000, 5001));
  EXPECT_EQ(TakeOne().flags(), "S.");
  Inject(Peer("S", kPeerIsn + 50, 0, 1000, 5002));  // the SYN queue overflows
  Sent cookie_synack = TakeOne();
  EXPECT_EQ(Moved("tcp.syncookies_sent"), 1);
  // Within TCP_SYNCOOKIE_VALID (2 minutes) of the overflow a cookie is honoured...
  Advance(std::chrono::seconds(30));
  Inject(Peer(".", kPeerIsn + 51, cookie_synack.seq() + 1, 1000, 5002));
  EXPECT_EQ(Moved("tcp.syncookies_recv"), 1);
  Take();
  // ...long after it, not even a freshly valid one.
  Advance(std::chrono::minutes(3));
  Take();  // the first SYN's SYN-ACK retransmissions
  const uint32_t cookie = CookieFor(5003, kPeerIsn + 90);
  Inject(Peer(".", kPeerIsn + 91, cookie + 1, 1000, 5003));
  EXPECT_EQ(TakeOne().flags(), "R");
  EXPECT_EQ(Moved("tcp.syncookies_recv"), 1);
}

}  // namespace
}  // namespace pytcp::testing
