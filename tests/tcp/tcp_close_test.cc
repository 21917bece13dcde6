// Closing and resetting, segment by segment: FIN both ways, simultaneous close,
// TIME-WAIT and its re-ACK, RST handling with RFC 5961 challenge ACKs, PAWS, SO_LINGER,
// close with unread data, keep-alive, the orphaned FIN-WAIT-2 timeout.
#include <cerrno>
#include <csignal>

#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

using TcpCloseTest = TcpHarness;

constexpr ReadinessMask kResetMask =
    POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM | POLLERR | POLLHUP;

TEST_F(TcpCloseTest, PeerFinThenOurCloseIsPassiveClose) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  Inject(Peer("F.", kPeerIsn + 1, iss + 1));
  Sent a = TakeOne();
  EXPECT_EQ(a.flags(), ".");
  EXPECT_EQ(a.ack(), kPeerIsn + 2);
  EXPECT_EQ(c->state(), TcpState::kCloseWait);
  EXPECT_EQ(PollOf(*c), static_cast<ReadinessMask>(POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT |
                                                   POLLWRNORM));
  std::array<uint8_t, 8> buf{};
  auto n = c->Recv(buf, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  // Half-close: we may still send.
  ASSERT_TRUE(c->Send(AsBytes("bye"), 0).ok());
  Sent d = TakeOne();
  EXPECT_EQ(d.flags(), "P.");
  Inject(Peer(".", kPeerIsn + 2, iss + 4));
  c->Close();
  Sent f = TakeOne();
  EXPECT_EQ(f.flags(), "F.");
  EXPECT_EQ(f.seq(), iss + 4);
  EXPECT_EQ(f.ack(), kPeerIsn + 2);
  EXPECT_EQ(stack_->tcp().connection_count(), 1u);  // LAST-ACK, orphaned
  Inject(Peer(".", kPeerIsn + 2, iss + 5));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
}

TEST_F(TcpCloseTest, ActiveCloseGoesThroughTimeWaitWhichReAcksARetransmittedFin) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_TRUE(c->Shutdown(SHUT_WR).ok());
  Sent f = TakeOne();
  EXPECT_EQ(f.flags(), "F.");
  EXPECT_EQ(f.seq(), iss + 1);
  EXPECT_EQ(c->state(), TcpState::kFinWait1);
  EXPECT_EQ(PollOf(*c), static_cast<ReadinessMask>(POLLOUT | POLLWRNORM));
  Inject(Peer(".", kPeerIsn + 1, iss + 2));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(c->state(), TcpState::kFinWait2);
  // Data after our FIN is still received (half-close).
  Inject(Peer("P.", kPeerIsn + 1, iss + 2), std::string("late"));
  EXPECT_EQ(TakeOne().ack(), kPeerIsn + 5);
  std::array<uint8_t, 8> buf{};
  EXPECT_EQ(*c->Recv(buf, 0), 4u);
  Inject(Peer("F.", kPeerIsn + 5, iss + 2));
  Sent a = TakeOne();
  EXPECT_EQ(a.flags(), ".");
  EXPECT_EQ(a.seq(), iss + 2);
  EXPECT_EQ(a.ack(), kPeerIsn + 6);
  EXPECT_EQ(c->state(), TcpState::kTimeWait);
  EXPECT_EQ(PollOf(*c), static_cast<ReadinessMask>(POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT |
                                                   POLLWRNORM | POLLHUP));
  c->Close();
  Advance(std::chrono::seconds(10));
  // The peer did not get our ACK and sends its FIN again: ACKed again, 2*MSL restarts.
  Inject(Peer("F.", kPeerIsn + 5, iss + 2));
  a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 6);
  Advance(std::chrono::seconds(59));
  EXPECT_EQ(stack_->tcp().connection_count(), 1u);
  Advance(std::chrono::seconds(1));
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
  EXPECT_TRUE(Take().empty());
}

TEST_F(TcpCloseTest, SimultaneousCloseGoesThroughClosing) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_TRUE(c->Shutdown(SHUT_WR).ok());
  EXPECT_EQ(TakeOne().flags(), "F.");
  // The peer's FIN crosses ours (it does not acknowledge it).
  Inject(Peer("F.", kPeerIsn + 1, iss + 1));
  Sent a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 2);
  EXPECT_EQ(c->state(), TcpState::kClosing);
  Inject(Peer(".", kPeerIsn + 2, iss + 2));
  EXPECT_EQ(c->state(), TcpState::kTimeWait);
}

TEST_F(TcpCloseTest, InWindowRstGetsAChallengeAckExactRstResets) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  // RFC 5961 §3.2: in the window but not RCV.NXT: challenge ACK.
  Inject(Peer("R", kPeerIsn + 1 + 100, 0));
  Sent a = TakeOne();
  EXPECT_EQ(a.flags(), ".");
  EXPECT_EQ(a.seq(), iss + 1);
  EXPECT_EQ(a.ack(), kPeerIsn + 1);
  EXPECT_EQ(c->state(), TcpState::kEstablished);
  // Outside the window: silently dropped.
  Inject(Peer("R", kPeerIsn + 1 + 100000, 0));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(c->state(), TcpState::kEstablished);
  // Exactly RCV.NXT: reset.
  Inject(Peer("R", kPeerIsn + 1, 0));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(c->state(), TcpState::kClosed);
  EXPECT_EQ(PollOf(*c), kResetMask);
  std::array<uint8_t, 8> buf{};
  EXPECT_EQ(c->Recv(buf, 0).error(), ECONNRESET);
  auto n = c->Recv(buf, 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(c->Send(AsBytes("x"), MSG_NOSIGNAL).error(), EPIPE);
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
}

TEST_F(TcpCloseTest, EpipeRaisesSigpipeWithoutMsgNosignal) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_TRUE(c->Shutdown(SHUT_WR).ok());
  static volatile sig_atomic_t got = 0;
  auto old = signal(SIGPIPE, [](int) { got = 1; });
  EXPECT_EQ(c->Send(AsBytes("x"), 0).error(), EPIPE);
  EXPECT_EQ(got, 1);
  signal(SIGPIPE, old);
}

TEST_F(TcpCloseTest, SynInEstablishedGetsARateLimitedChallengeAck) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  Inject(Peer("S", kPeerIsn + 5000, 0));
  Sent a = TakeOne();
  EXPECT_EQ(a.flags(), ".");
  EXPECT_EQ(a.ack(), kPeerIsn + 1);
  EXPECT_EQ(c->state(), TcpState::kEstablished);
}

class TcpChallengeLimitTest : public TcpHarness {
  void Tweak(TcpConfig& c) override { c.challenge_ack_limit = 0; }
};

TEST_F(TcpChallengeLimitTest, ChallengeAcksAreRateLimited) {
  // Per connection one per 500 ms (tcp_security_test.cc); here the host-wide budget is
  // empty, so none at all.
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  for (int i = 0; i < 5; ++i) Inject(Peer("S", kPeerIsn + 5000, 0));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(Moved("tcp.tx_challenge_ack"), 0);
  EXPECT_EQ(Moved("tcp.challenge_ack_limited"), 5);
  Advance(std::chrono::seconds(1));
  Inject(Peer("S", kPeerIsn + 5000, 0));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(c->state(), TcpState::kEstablished);
}

TEST_F(TcpCloseTest, PawsDropsASegmentWithAnOldTimestamp) {
  uint32_t iss = 0;
  TcpOptions o;
  o.mss = 1460;
  o.timestamps = TcpTimestamps{100, 0};
  auto c = EstablishPassive(o, &iss);
  TcpHeader d1 = Peer("P.", kPeerIsn + 1, iss + 1);
  d1.options.timestamps = TcpTimestamps{200, 0};
  Inject(d1, std::string("new"));
  Sent a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 4);
  EXPECT_EQ(a.h.options.timestamps->echo_reply, 200u);
  // RFC 7323 §5.3: TSval 150 < TS.Recent 200: an old duplicate, ACKed and dropped.
  TcpHeader d2 = Peer("P.", kPeerIsn + 4, iss + 1);
  d2.options.timestamps = TcpTimestamps{150, 0};
  Inject(d2, std::string("old"));
  a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 4);
  EXPECT_EQ(c->ReadableBytes(), 3u);
  EXPECT_EQ(Moved("tcp.rx_drop_paws"), 1);
}

TEST_F(TcpCloseTest, LingerZeroCloseSendsRst) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  linger l{1, 0};
  ASSERT_TRUE(c->SetOption(SOL_SOCKET, SO_LINGER, &l, sizeof(l)).ok());
  c->Close();
  Sent r = TakeOne();
  EXPECT_EQ(r.flags(), "R.");
  EXPECT_EQ(r.seq(), iss + 1);
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
}

TEST_F(TcpCloseTest, CloseWithUnreadDataSendsRst) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  Inject(Peer("P.", kPeerIsn + 1, iss + 1), std::string("unread"));
  Take();
  c->Close();
  Sent r = TakeOne();
  EXPECT_EQ(r.flags(), "R.");
  EXPECT_EQ(r.ack(), kPeerIsn + 7);
  EXPECT_EQ(Moved("tcp.abort_on_close"), 1);
}

TEST_F(TcpCloseTest, KeepaliveProbesThenTimesOut) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  const Instant t0 = clock_.Now();
  int one = 1, idle = 10, intvl = 5, cnt = 2;
  ASSERT_TRUE(c->SetOption(IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)).ok());
  ASSERT_TRUE(c->SetOption(IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)).ok());
  ASSERT_TRUE(c->SetOption(IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)).ok());
  ASSERT_TRUE(c->SetOption(SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)).ok());
  int bad = 0;
  EXPECT_EQ(c->SetOption(IPPROTO_TCP, TCP_KEEPIDLE, &bad, sizeof(bad)).error(), EINVAL);
  Advance(std::chrono::seconds(10));
  Sent p = TakeOne();
  EXPECT_EQ(p.flags(), ".");
  EXPECT_EQ(p.seq(), iss);  // SND.UNA - 1
  EXPECT_TRUE(p.payload.empty());
  EXPECT_EQ(p.at - t0, std::chrono::seconds(10));
  // The peer answers: idle again.
  Inject(Peer(".", kPeerIsn + 1, iss + 1));
  Advance(std::chrono::seconds(16));
  auto s = Take();
  ASSERT_EQ(s.size(), 2u) << Describe(s);
  EXPECT_EQ(s[0].at - t0, std::chrono::seconds(20));
  EXPECT_EQ(s[1].at - t0, std::chrono::seconds(25));
  Advance(std::chrono::seconds(5));
  Sent r = TakeOne();
  EXPECT_EQ(r.flags(), "R.");
  EXPECT_EQ(r.at - t0, std::chrono::seconds(30));
  int err = 0;
  socklen_t len = sizeof(err);
  ASSERT_TRUE(c->GetOption(SOL_SOCKET, SO_ERROR, &err, &len).ok());
  EXPECT_EQ(err, ETIMEDOUT);
  EXPECT_EQ(Moved("tcp.keepalive_probes"), 3);
}

TEST_F(TcpCloseTest, OrphanInFinWait2TimesOut) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  c->Close();
  EXPECT_EQ(TakeOne().flags(), "F.");
  Inject(Peer(".", kPeerIsn + 1, iss + 2));
  EXPECT_EQ(stack_->tcp().connection_count(), 1u);
  Advance(std::chrono::seconds(59));
  EXPECT_EQ(stack_->tcp().connection_count(), 1u);
  Advance(std::chrono::seconds(1));
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
}

TEST_F(TcpCloseTest, DataForAClosedSocketIsAnsweredWithRst) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  c->Close();
  EXPECT_EQ(TakeOne().flags(), "F.");
  Inject(Peer("P.", kPeerIsn + 1, iss + 2), std::string("more"));
  Sent r = TakeOne();
  EXPECT_EQ(r.flags(), "R");
  EXPECT_EQ(Moved("tcp.abort_on_data"), 1);
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
}

TEST_F(TcpCloseTest, FinIsRetransmitted) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_TRUE(c->Shutdown(SHUT_WR).ok());
  Sent f = TakeOne();
  Advance(std::chrono::milliseconds(200));
  Sent r = TakeOne();
  EXPECT_EQ(r.flags(), "F.");
  EXPECT_EQ(r.seq(), f.seq());
}

TEST_F(TcpCloseTest, ListenerCloseResetsUnacceptedConnections) {
  auto l = NewSocket();
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(), kOurPort, 0}).ok());
  ASSERT_TRUE(l->Listen(4).ok());
  Inject(Peer("S", kPeerIsn, 0));
  Sent sa = TakeOne();
  Inject(Peer(".", kPeerIsn + 1, sa.seq() + 1));
  l->Close();
  Sent r = TakeOne();
  EXPECT_EQ(r.flags(), "R.");
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
  // The port is free again.
  auto l2 = NewSocket();
  EXPECT_TRUE(l2->Bind(SocketAddress{IpAddress(), kOurPort, 0}).ok());
}

TEST_F(TcpCloseTest, BindConflictsFollowLinux) {
  auto a = NewSocket();
  ASSERT_TRUE(a->Bind(SocketAddress{IpAddress(), 5000, 0}).ok());
  auto b = NewSocket();
  EXPECT_EQ(b->Bind(SocketAddress{IpAddress(kOurIp), 5000, 0}).error(), EADDRINUSE);
  EXPECT_EQ(b->Bind(SocketAddress{IpAddress(Ip4Address(10, 9, 9, 9)), 5001, 0}).error(),
            EADDRNOTAVAIL);
  // A port held by a TIME-WAIT connection can be rebound with SO_REUSEADDR only.
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);  // the listener has SO_REUSEADDR
  ASSERT_TRUE(c->Shutdown(SHUT_WR).ok());
  Take();
  Inject(Peer("F.", kPeerIsn + 1, iss + 2));
  EXPECT_EQ(c->state(), TcpState::kTimeWait);
  c->Close();
  listener_->Close();
  auto d = NewSocket();
  EXPECT_EQ(d->Bind(SocketAddress{IpAddress(), kOurPort, 0}).error(), EADDRINUSE);
  auto e = NewSocket();
  int one = 1;
  ASSERT_TRUE(e->SetOption(SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)).ok());
  EXPECT_TRUE(e->Bind(SocketAddress{IpAddress(), kOurPort, 0}).ok());
  EXPECT_TRUE(e->Listen(1).ok());
}

TEST_F(TcpCloseTest, TimeWaitIsEndedByANewSyn) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_TRUE(c->Shutdown(SHUT_WR).ok());
  Take();
  Inject(Peer("F.", kPeerIsn + 1, iss + 2));
  Take();
  EXPECT_EQ(c->state(), TcpState::kTimeWait);
  // RFC 6191: a SYN beyond the old sequence space starts a new connection at once.
  Inject(Peer("S", kPeerIsn + 100000, 0));
  Sent sa = TakeOne();
  EXPECT_EQ(sa.flags(), "S.");
  EXPECT_EQ(sa.ack(), kPeerIsn + 100001);
  EXPECT_EQ(Moved("tcp.time_wait_recycled"), 1);
}

}  // namespace
}  // namespace pytcp::testing
