// Nothing waits forever (issue 16 items 1-4): zero-window probing gives up like Linux's
// tcp_probe_timer (tcp_retries2, tcp_orphan_retries, TCP_USER_TIMEOUT); TCP_USER_TIMEOUT
// counts from the oldest unacknowledged transmission and clamps the timers, as Linux's
// retransmits_timed_out and tcp_clamp_rto_to_user_timeout; keep-alive is refreshed only
// by segments that pass validation; an orphan's FIN-WAIT-2 timeout resets the peer.
#include <cerrno>

#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

using TcpLivenessTest = TcpHarness;

int SoError(TcpSocket& s) {
  int err = 0;
  socklen_t len = sizeof(err);
  EXPECT_TRUE(s.GetOption(SOL_SOCKET, SO_ERROR, &err, &len).ok());
  return err;
}

void SetInt(TcpSocket& s, int level, int name, int v) {
  ASSERT_TRUE(s.SetOption(level, name, &v, sizeof(v)).ok());
}

size_t Count(const std::vector<Sent>& v, std::string_view flags) {
  size_t n = 0;
  for (const auto& s : v) n += s.flags() == flags ? 1 : 0;
  return n;
}

TEST_F(TcpLivenessTest, UnansweredZeroWindowProbesGiveUpAfterRetries2) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss, /*peer_window=*/0);
  ASSERT_TRUE(c->Send(AsBytes("hello"), 0).ok());
  EXPECT_TRUE(Take().empty());  // nothing fits the zero window
  Advance(std::chrono::hours(1));
  auto sent = Take();
  // tcp_retries2 = 15 probes <SEQ=SND.UNA-1><ACK>, then ETIMEDOUT without a RST
  // (tcp_probe_timer → tcp_write_err).
  EXPECT_EQ(sent.size(), 15u) << Describe(sent);
  for (const auto& s : sent) {
    EXPECT_EQ(s.flags(), ".");
    EXPECT_EQ(s.seq(), iss);
  }
  EXPECT_EQ(c->state(), TcpState::kClosed);
  EXPECT_EQ(SoError(*c), ETIMEDOUT);
  EXPECT_EQ(Moved("tcp.abort_on_timeout"), 1);
}

TEST_F(TcpLivenessTest, AnsweredZeroWindowProbesKeepTheConnection) {
  // A peer that answers is alive, however long its window stays shut.
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss, 0);
  ASSERT_TRUE(c->Send(AsBytes("hello"), 0).ok());
  for (int i = 0; i < 40; ++i) {
    Advance(std::chrono::seconds(130));
    auto sent = Take();
    ASSERT_GE(sent.size(), 1u) << i;
    Inject(Peer(".", kPeerIsn + 1, iss + 1, 0));
  }
  EXPECT_EQ(c->state(), TcpState::kEstablished);
  Inject(Peer(".", kPeerIsn + 1, iss + 1, 1000));
  EXPECT_EQ(TakeOne().payload.size(), 5u);
}

TEST_F(TcpLivenessTest, AnOrphanProbesAZeroWindowOnlyOrphanRetriesTimes) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss, 0);
  ASSERT_TRUE(c->Send(AsBytes("hello"), 0).ok());
  c->Close();  // FIN queued behind the data: an orphan that must still deliver
  Advance(std::chrono::hours(1));
  auto sent = Take();
  EXPECT_EQ(sent.size(), 8u) << Describe(sent);  // tcp_orphan_retries (0 means 8)
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
}

TEST_F(TcpLivenessTest, UserTimeoutEndsZeroWindowProbing) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss, 0);
  SetInt(*c, IPPROTO_TCP, TCP_USER_TIMEOUT, 10000);
  ASSERT_TRUE(c->Send(AsBytes("hello"), 0).ok());
  Advance(std::chrono::milliseconds(300));  // the first probe comes after one RTO (200 ms)
  auto first = Take();
  ASSERT_EQ(first.size(), 1u) << Describe(first);
  const Instant t_probe = first[0].at;
  // Linux's icsk_probes_tstamp: the user timeout runs from the first probe, and the
  // probe timer is clamped so that the abort comes on time.
  Advance((t_probe + std::chrono::milliseconds(9990)) - clock_.Now());
  EXPECT_EQ(c->state(), TcpState::kEstablished);
  Advance(std::chrono::milliseconds(20));
  EXPECT_EQ(c->state(), TcpState::kClosed);
  EXPECT_EQ(SoError(*c), ETIMEDOUT);
}

TEST_F(TcpLivenessTest, UserTimeoutCountsFromTheOldestUnacknowledgedTransmission) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  SetInt(*c, IPPROTO_TCP, TCP_USER_TIMEOUT, 2500);
  const Instant t0 = clock_.Now();
  ASSERT_TRUE(c->Send(AsBytes("hello"), 0).ok());
  ASSERT_EQ(TakeOne().payload.size(), 5u);
  Advance(std::chrono::seconds(10));
  auto sent = Take();
  // RTO 200 ms doubling: retransmissions at 0.2, 0.6 and 1.4 s; the next one (3.0 s)
  // would come after the user timeout, so the timer is clamped to 2.5 s and the
  // connection ends there (Linux: retransmits_timed_out from tp->retrans_stamp,
  // tcp_clamp_rto_to_user_timeout).
  ASSERT_EQ(Count(sent, "P."), 3u) << Describe(sent);
  EXPECT_EQ(sent.back().at - t0, std::chrono::milliseconds(1400));
  EXPECT_EQ(c->state(), TcpState::kClosed);
  EXPECT_EQ(SoError(*c), ETIMEDOUT);
  EXPECT_EQ(Moved("tcp.abort_on_timeout"), 1);
}

TEST_F(TcpLivenessTest, UserTimeoutAbortsRetransmissionOnTime) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  SetInt(*c, IPPROTO_TCP, TCP_USER_TIMEOUT, 2500);
  const Instant t0 = clock_.Now();
  ASSERT_TRUE(c->Send(AsBytes("hello"), 0).ok());
  Take();
  Advance((t0 + std::chrono::milliseconds(2499)) - clock_.Now());
  EXPECT_EQ(c->state(), TcpState::kEstablished);
  Advance(std::chrono::milliseconds(2));
  EXPECT_EQ(c->state(), TcpState::kClosed);
}

TEST_F(TcpLivenessTest, UserTimeoutReplacesKeepaliveCount) {
  // Linux's tcp_keepalive_timer: with TCP_USER_TIMEOUT the connection ends once it has
  // been idle that long and at least one probe went unanswered, whatever TCP_KEEPCNT says.
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  const Instant t0 = clock_.Now();
  SetInt(*c, IPPROTO_TCP, TCP_KEEPIDLE, 10);
  SetInt(*c, IPPROTO_TCP, TCP_KEEPINTVL, 1);
  SetInt(*c, IPPROTO_TCP, TCP_KEEPCNT, 9);
  SetInt(*c, IPPROTO_TCP, TCP_USER_TIMEOUT, 12000);
  SetInt(*c, SOL_SOCKET, SO_KEEPALIVE, 1);
  Advance(std::chrono::seconds(30));
  auto sent = Take();
  ASSERT_EQ(sent.size(), 3u) << Describe(sent);
  EXPECT_EQ(sent[0].at - t0, std::chrono::seconds(10));
  EXPECT_EQ(sent[1].at - t0, std::chrono::seconds(11));
  EXPECT_EQ(sent[2].flags(), "R.");
  EXPECT_EQ(sent[2].at - t0, std::chrono::seconds(12));
  EXPECT_EQ(SoError(*c), ETIMEDOUT);
}

TEST_F(TcpLivenessTest, KeepaliveIsNotRefreshedBySegmentsThatFailValidation) {
  // Spoofed or stale segments (out of window, PAWS-old) are answered with an ACK but say
  // nothing about the peer being alive: the keep-alive still ends the connection.
  TcpOptions o;
  o.mss = 1460;
  o.timestamps = TcpTimestamps{100, 0};
  uint32_t iss = 0;
  auto c = EstablishPassive(o, &iss);
  const Instant t0 = clock_.Now();
  SetInt(*c, IPPROTO_TCP, TCP_KEEPIDLE, 10);
  SetInt(*c, IPPROTO_TCP, TCP_KEEPINTVL, 1);
  SetInt(*c, IPPROTO_TCP, TCP_KEEPCNT, 3);
  SetInt(*c, SOL_SOCKET, SO_KEEPALIVE, 1);
  for (int i = 0; i < 8; ++i) {
    Advance(std::chrono::seconds(2));
    TcpHeader outside = Peer(".", kPeerIsn + 1 + 10'000'000, iss + 1);
    outside.options.timestamps = TcpTimestamps{200, 0};
    Inject(outside);
    TcpHeader old = Peer(".", kPeerIsn + 1, iss + 1);
    old.options.timestamps = TcpTimestamps{50, 0};  // older than TS.Recent (101)
    Inject(old);
  }
  auto sent = Take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(c->state(), TcpState::kClosed);
  EXPECT_EQ(SoError(*c), ETIMEDOUT);
  size_t resets = 0;
  for (const auto& s : sent) {
    if (s.flags() == "R.") {
      ++resets;
      EXPECT_EQ(s.at - t0, std::chrono::seconds(13));  // idle 10 s + 3 probes 1 s apart
    }
  }
  EXPECT_EQ(resets, 1u);
}

TEST_F(TcpLivenessTest, OrphanFinWait2TimeoutResetsThePeer) {
  // Linux's tcp_keepalive_timer for a dead socket in FIN-WAIT-2: tcp_send_active_reset,
  // so a peer that still thinks the connection open learns that it is not.
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  c->Close();
  EXPECT_EQ(TakeOne().flags(), "F.");
  Inject(Peer(".", kPeerIsn + 1, iss + 2));
  EXPECT_TRUE(Take().empty());
  Advance(std::chrono::seconds(61));
  Sent r = TakeOne();
  EXPECT_EQ(r.flags(), "R.");
  EXPECT_EQ(r.seq(), iss + 2);
  EXPECT_EQ(r.ack(), kPeerIsn + 1);
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
}

}  // namespace
}  // namespace pytcp::testing
