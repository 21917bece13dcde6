// Data transfer, segment by segment: ACKs (quick and delayed), segmentation, Nagle,
// TCP_CORK, retransmission with backoff, zero window and persist, out-of-order data and
// SACK, fast retransmit, window updates.
#include <cerrno>

#include "stack/wire/icmp4.h"
#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

std::string Bytes(size_t n, char c = 'x') { return std::string(n, c); }

std::string RecvAll(TcpSocket& s) {
  std::string out;
  std::array<uint8_t, 4096> buf{};
  while (true) {
    auto n = s.Recv(buf, MSG_DONTWAIT);
    if (!n.ok() || *n == 0) break;
    out.append(buf.begin(), buf.begin() + static_cast<long>(*n));
  }
  return out;
}

using TcpDataTest = TcpHarness;

TEST_F(TcpDataTest, DataIsAckedAtOnceInQuickAckMode) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  Inject(Peer("P.", kPeerIsn + 1, iss + 1), std::string("hello"));
  Sent a = TakeOne();
  EXPECT_EQ(a.flags(), ".");
  EXPECT_EQ(a.seq(), iss + 1);
  EXPECT_EQ(a.ack(), kPeerIsn + 6);
  // The right edge does not move for a 5-byte read (receiver SWS avoidance).
  EXPECT_EQ(a.h.window, 65535 - 5);
  EXPECT_EQ(PollOf(*c), static_cast<ReadinessMask>(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM));
  std::array<uint8_t, 3> buf{};
  auto n = c->Recv(buf, MSG_PEEK);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(c->ReadableBytes(), 5u);
  EXPECT_EQ(RecvAll(*c), "hello");
  EXPECT_EQ(c->Recv(buf, 0).error(), EAGAIN);
}

class TcpDelayedAckTest : public TcpHarness {
  void Tweak(TcpConfig& c) override { c.quickack_segments = 0; }
};

TEST_F(TcpDelayedAckTest, AckIsDelayedFortyMillisecondsOrSentForTwoFullSegments) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  const Instant t0 = clock_.Now();
  Inject(Peer("P.", kPeerIsn + 1, iss + 1), Bytes(100));
  EXPECT_TRUE(Take().empty());
  Advance(std::chrono::milliseconds(39));
  EXPECT_TRUE(Take().empty());
  Advance(std::chrono::milliseconds(1));
  Sent a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 101);
  EXPECT_EQ(a.at - t0, std::chrono::milliseconds(40));
  EXPECT_EQ(Moved("tcp.delayed_acks"), 1);
  // RFC 5681 §4.2: at least every second full-sized segment is ACKed at once.
  Inject(Peer(".", kPeerIsn + 101, iss + 1), Bytes(1460));
  EXPECT_TRUE(Take().empty());
  Inject(Peer(".", kPeerIsn + 1561, iss + 1), Bytes(1460));
  a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 3021);
  // Our data carries the pending ACK (no separate ACK at the timer).
  Inject(Peer(".", kPeerIsn + 3021, iss + 1), Bytes(10));
  EXPECT_TRUE(Take().empty());
  ASSERT_TRUE(c->Send(AsBytes("reply"), 0).ok());
  a = TakeOne();
  EXPECT_EQ(a.flags(), "P.");
  EXPECT_EQ(a.ack(), kPeerIsn + 3031);
  Advance(std::chrono::milliseconds(100));
  EXPECT_TRUE(Take().empty());
  // Out-of-order data is ACKed at once (a duplicate ACK).
  Inject(Peer(".", kPeerIsn + 5000, iss + 1), Bytes(10));
  a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 3031);
}

class TcpCoalescedAckTest : public TcpDelayedAckTest {
  void TweakLink(MemoryLinkConfig& c) override { c.coalesced_frames = true; }
};

TEST_F(TcpCoalescedAckTest, CoalescedFramesCountAsSegmentsOfOurMss) {
  // A TAP with receive offloads hands TCP frames the kernel coalesced (GRO, up to 64 KB).
  // Linux's tcp_measure_rcv_mss takes the segment size, at most the MSS it announced: a
  // short coalesced frame (three segments at the end of a burst) is still two full
  // segments and ACKed at once, not after the delayed-ACK timer.
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  Inject(Peer(".", kPeerIsn + 1, iss + 1), Bytes(20 * 1460));
  Sent a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 1 + 20 * 1460);
  EXPECT_EQ(RecvAll(*c).size(), 20u * 1460);
  Inject(Peer(".", kPeerIsn + 1 + 20 * 1460, iss + 1), Bytes(3 * 1460));
  a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 1 + 23 * 1460);
  EXPECT_EQ(Moved("tcp.delayed_acks"), 0);
  // A lone short segment is still delayed.
  Inject(Peer("P.", kPeerIsn + 1 + 23 * 1460, iss + 1), Bytes(100));
  EXPECT_TRUE(Take().empty());
}

TEST_F(TcpDataTest, SendIsCutIntoMssSegmentsAndRetransmittedWithBackoff) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  const Instant t0 = clock_.Now();
  auto n = c->Send(AsBytes(Bytes(4000)), 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4000u);
  auto s = Take();
  ASSERT_EQ(s.size(), 3u) << Describe(s);
  EXPECT_EQ(s[0].flags(), ".");
  EXPECT_EQ(s[0].payload.size(), 1460u);
  EXPECT_EQ(s[1].seq(), iss + 1 + 1460);
  EXPECT_EQ(s[1].payload.size(), 1460u);
  EXPECT_EQ(s[2].flags(), "P.");
  EXPECT_EQ(s[2].payload.size(), 1080u);
  EXPECT_EQ(c->UnsentBytes(), 4000u);  // queued until acknowledged
  // No ACK: the first segment is retransmitted at the RTO (the handshake measured an
  // RTT of zero, so RTO is its 200 ms floor), then after 400 ms, 800 ms (RFC 6298 §5.5).
  Advance(std::chrono::milliseconds(1500));
  s = Take();
  ASSERT_EQ(s.size(), 3u) << Describe(s);
  const int64_t expect_ms[] = {200, 600, 1400};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(s[i].seq(), iss + 1);
    EXPECT_EQ(s[i].payload.size(), 1460u);
    EXPECT_EQ(s[i].at - t0, std::chrono::milliseconds(expect_ms[i]));
  }
  EXPECT_EQ(Moved("tcp.timeouts"), 3);
  // The first segment arrives: slow start from one segment sends the next two.
  Inject(Peer(".", kPeerIsn + 1, iss + 1 + 1460));
  s = Take();
  ASSERT_EQ(s.size(), 2u) << Describe(s);
  EXPECT_EQ(s[0].seq(), iss + 1 + 1460);
  EXPECT_EQ(s[1].seq(), iss + 1 + 2920);
  Inject(Peer(".", kPeerIsn + 1, iss + 1 + 4000));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(c->UnsentBytes(), 0u);
  struct tcp_info info;
  socklen_t len = sizeof(info);
  ASSERT_TRUE(c->GetOption(IPPROTO_TCP, TCP_INFO, &info, &len).ok());
  EXPECT_EQ(info.tcpi_state, 1);  // TCP_ESTABLISHED
  EXPECT_EQ(info.tcpi_total_retrans, 5u);
  EXPECT_EQ(info.tcpi_snd_mss, 1460u);
  EXPECT_EQ(info.tcpi_unacked, 0u);
}

TEST_F(TcpDataTest, DataIsNotRetransmittedForeverItTimesOut) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_TRUE(c->Send(AsBytes("lost"), 0).ok());
  Advance(std::chrono::seconds(2000));
  // tcp_retries2 = 15 retransmissions, then ETIMEDOUT.
  EXPECT_EQ(Take().size(), 16u);
  EXPECT_EQ(c->state(), TcpState::kClosed);
  std::array<uint8_t, 4> buf{};
  EXPECT_EQ(c->Recv(buf, 0).error(), ETIMEDOUT);
}

TEST_F(TcpDataTest, NagleHoldsASecondSmallSegmentUntilTheFirstIsAcked) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_TRUE(c->Send(AsBytes("a"), 0).ok());
  EXPECT_EQ(TakeOne().payload.size(), 1u);
  ASSERT_TRUE(c->Send(AsBytes("b"), 0).ok());
  ASSERT_TRUE(c->Send(AsBytes("c"), 0).ok());
  EXPECT_TRUE(Take().empty());
  Inject(Peer(".", kPeerIsn + 1, iss + 2));
  Sent s = TakeOne();
  EXPECT_EQ(s.seq(), iss + 2);
  EXPECT_EQ(std::string(s.payload.begin(), s.payload.end()), "bc");
  // TCP_NODELAY sends each write at once.
  int one = 1;
  ASSERT_TRUE(c->SetOption(IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)).ok());
  ASSERT_TRUE(c->Send(AsBytes("d"), 0).ok());
  ASSERT_TRUE(c->Send(AsBytes("e"), 0).ok());
  EXPECT_EQ(Take().size(), 2u);
}

TEST_F(TcpDataTest, CorkHoldsPartialSegmentsAndFinRidesOnTheLastOne) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  int one = 1;
  ASSERT_TRUE(c->SetOption(IPPROTO_TCP, TCP_CORK, &one, sizeof(one)).ok());
  ASSERT_TRUE(c->Send(AsBytes(Bytes(100)), 0).ok());
  EXPECT_TRUE(Take().empty());
  ASSERT_TRUE(c->Shutdown(SHUT_WR).ok());
  Sent s = TakeOne();
  EXPECT_EQ(s.flags(), "FP.");
  EXPECT_EQ(s.seq(), iss + 1);
  EXPECT_EQ(s.payload.size(), 100u);
  EXPECT_EQ(c->state(), TcpState::kFinWait1);
  EXPECT_EQ(c->Send(AsBytes("x"), MSG_NOSIGNAL).error(), EPIPE);
}

TEST_F(TcpDataTest, CorkedDataLeavesAfterTheCeiling) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  int one = 1;
  ASSERT_TRUE(c->SetOption(IPPROTO_TCP, TCP_CORK, &one, sizeof(one)).ok());
  const Instant t0 = clock_.Now();
  ASSERT_TRUE(c->Send(AsBytes(Bytes(100)), 0).ok());
  Advance(std::chrono::milliseconds(300));
  Sent s = TakeOne();
  EXPECT_EQ(s.at - t0, std::chrono::milliseconds(200));
  // Full segments are never held.
  ASSERT_TRUE(c->Send(AsBytes(Bytes(1460)), 0).ok());
  EXPECT_EQ(Take().size(), 1u);
}

TEST_F(TcpDataTest, ZeroWindowIsProbedWithBackoffUntilItOpens) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss, /*peer_window=*/0);
  const Instant t0 = clock_.Now();
  ASSERT_TRUE(c->Send(AsBytes(Bytes(100)), 0).ok());
  EXPECT_TRUE(Take().empty());
  Advance(std::chrono::milliseconds(200));
  Sent p = TakeOne();
  // Linux's window probe: <SEQ=SND.UNA-1><ACK>, no data.
  EXPECT_EQ(p.flags(), ".");
  EXPECT_EQ(p.seq(), iss);
  EXPECT_TRUE(p.payload.empty());
  EXPECT_EQ(p.at - t0, std::chrono::milliseconds(200));
  Inject(Peer(".", kPeerIsn + 1, iss + 1, 0));
  EXPECT_TRUE(Take().empty());
  Advance(std::chrono::milliseconds(400));
  p = TakeOne();
  EXPECT_EQ(p.at - t0, std::chrono::milliseconds(600));
  Inject(Peer(".", kPeerIsn + 1, iss + 1, 0));
  Advance(std::chrono::milliseconds(800));
  p = TakeOne();
  EXPECT_EQ(p.at - t0, std::chrono::milliseconds(1400));
  EXPECT_EQ(Moved("tcp.persist_probes"), 3);
  // The window opens: the data leaves at once.
  Inject(Peer(".", kPeerIsn + 1, iss + 1, 1000));
  Sent d = TakeOne();
  EXPECT_EQ(d.flags(), "P.");
  EXPECT_EQ(d.seq(), iss + 1);
  EXPECT_EQ(d.payload.size(), 100u);
}

TEST_F(TcpDataTest, SmallWindowIsNotFilledWithTinySegments) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss, /*peer_window=*/4000);
  ASSERT_TRUE(c->Send(AsBytes(Bytes(8000)), 0).ok());
  // Two full segments fit; the 1080 bytes left of the window are less than half the
  // largest window the peer offered (RFC 9293 §3.8.6.2.1), so they wait.
  auto s = Take();
  ASSERT_EQ(s.size(), 2u) << Describe(s);
  // The peer ACKs both with a window of 100: still too small while nothing is in flight,
  // until the override timeout (the persist timer) sends what fits.
  Inject(Peer(".", kPeerIsn + 1, iss + 2921, 100));
  EXPECT_TRUE(Take().empty());
  Advance(std::chrono::milliseconds(200));
  Sent p = TakeOne();
  EXPECT_EQ(p.seq(), iss + 2921);
  EXPECT_EQ(p.payload.size(), 100u);
  // Half the largest window may be used.
  Inject(Peer(".", kPeerIsn + 1, iss + 3021, 2000));
  p = TakeOne();
  EXPECT_EQ(p.payload.size(), 1460u);
}

TEST_F(TcpDataTest, OutOfOrderDataIsSackedAndDeliveredWhenTheHoleFills) {
  uint32_t iss = 0;
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  auto c = EstablishPassive(o, &iss);
  Inject(Peer(".", kPeerIsn + 1001, iss + 1), Bytes(500, 'b'));
  Sent a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 1);
  ASSERT_EQ(a.h.options.sack_block_count, 1);
  EXPECT_EQ(a.h.options.sack_blocks[0].left.value(), kPeerIsn + 1001);
  EXPECT_EQ(a.h.options.sack_blocks[0].right.value(), kPeerIsn + 1501);
  EXPECT_EQ(c->ReadableBytes(), 0u);
  Inject(Peer(".", kPeerIsn + 2001, iss + 1), Bytes(100, 'c'));
  a = TakeOne();
  ASSERT_EQ(a.h.options.sack_block_count, 2);
  // RFC 2018 §4: the block with the latest segment first.
  EXPECT_EQ(a.h.options.sack_blocks[0].left.value(), kPeerIsn + 2001);
  EXPECT_EQ(a.h.options.sack_blocks[1].left.value(), kPeerIsn + 1001);
  Inject(Peer(".", kPeerIsn + 1, iss + 1), Bytes(1000, 'a'));
  a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 1501);
  ASSERT_EQ(a.h.options.sack_block_count, 1);
  EXPECT_EQ(RecvAll(*c), Bytes(1000, 'a') + Bytes(500, 'b'));
  // An old duplicate is ACKed at once.
  Inject(Peer(".", kPeerIsn + 1, iss + 1), Bytes(1000, 'a'));
  a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 1501);
}

TEST_F(TcpDataTest, DataReceivedTwiceIsReportedAsADsackBlockOnce) {
  uint32_t iss = 0;
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  auto c = EstablishPassive(o, &iss);
  Inject(Peer(".", kPeerIsn + 1, iss + 1), Bytes(1000, 'a'));
  (void)Take();
  // RFC 2883 §4.1.1: wholly old data; the D-SACK block is the duplicate itself.
  Inject(Peer(".", kPeerIsn + 1, iss + 1), Bytes(1000, 'a'));
  Sent a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 1001);
  ASSERT_EQ(a.h.options.sack_block_count, 1);
  EXPECT_EQ(a.h.options.sack_blocks[0].left.value(), kPeerIsn + 1);
  EXPECT_EQ(a.h.options.sack_blocks[0].right.value(), kPeerIsn + 1001);
  // §4.1.2: partly old; only the old part is reported, the new part is taken.
  Inject(Peer(".", kPeerIsn + 501, iss + 1), Bytes(1000, 'b'));
  a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 1501);
  ASSERT_EQ(a.h.options.sack_block_count, 1);
  EXPECT_EQ(a.h.options.sack_blocks[0].left.value(), kPeerIsn + 501);
  EXPECT_EQ(a.h.options.sack_blocks[0].right.value(), kPeerIsn + 1001);
  // §4.1.3: out-of-order data held already: the D-SACK block, then the SACK block.
  Inject(Peer(".", kPeerIsn + 3001, iss + 1), Bytes(500, 'd'));
  a = TakeOne();
  ASSERT_EQ(a.h.options.sack_block_count, 1);
  Inject(Peer(".", kPeerIsn + 3001, iss + 1), Bytes(500, 'd'));
  a = TakeOne();
  ASSERT_EQ(a.h.options.sack_block_count, 2);
  EXPECT_EQ(a.h.options.sack_blocks[0].left.value(), kPeerIsn + 3001);
  EXPECT_EQ(a.h.options.sack_blocks[0].right.value(), kPeerIsn + 3501);
  EXPECT_EQ(a.h.options.sack_blocks[1].left.value(), kPeerIsn + 3001);
  // Reported once: the next ACK carries only the SACK block.
  Inject(Peer(".", kPeerIsn + 4001, iss + 1), Bytes(10, 'e'));
  a = TakeOne();
  ASSERT_EQ(a.h.options.sack_block_count, 2);
  EXPECT_EQ(a.h.options.sack_blocks[0].left.value(), kPeerIsn + 4001);
  EXPECT_EQ(a.h.options.sack_blocks[1].left.value(), kPeerIsn + 3001);
  EXPECT_EQ(RecvAll(*c), Bytes(1000, 'a') + Bytes(500, 'b'));
}

TEST_F(TcpDataTest, NoDsackWithoutSackPermitted) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  Inject(Peer(".", kPeerIsn + 1, iss + 1), Bytes(100, 'a'));
  (void)Take();
  Inject(Peer(".", kPeerIsn + 1, iss + 1), Bytes(100, 'a'));
  Sent a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 101);
  EXPECT_EQ(a.h.options.sack_block_count, 0);
}

TEST_F(TcpDataTest, SackedSegmentsTriggerFastRetransmitOfTheHole) {
  // RFC 6675 IsLost() alone: RACK (on by default, beside it) would find the hole lost at
  // the first SACK here, the handshake having measured an RTT of zero.
  {
    std::lock_guard lock(stack_->mutex());
    stack_->tcp().mutable_config().rack = false;
  }
  uint32_t iss = 0;
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  auto c = EstablishPassive(o, &iss);
  ASSERT_TRUE(c->Send(AsBytes(Bytes(10 * 1460)), 0).ok());
  EXPECT_EQ(Take().size(), 10u);  // IW10
  const uint32_t s1 = iss + 1;
  auto sack_ack = [&](uint32_t right) {
    TcpHeader h = Peer(".", kPeerIsn + 1, s1);
    h.options.AddSackBlock({SeqNum(s1 + 1460), SeqNum(right)});
    Inject(h);
  };
  sack_ack(s1 + 2 * 1460);
  EXPECT_TRUE(Take().empty());
  sack_ack(s1 + 3 * 1460);
  EXPECT_TRUE(Take().empty());
  // Three segments SACKed above the first: RFC 6675 IsLost(), fast retransmit.
  sack_ack(s1 + 4 * 1460);
  Sent r = TakeOne();
  EXPECT_EQ(r.seq(), s1);
  EXPECT_EQ(r.payload.size(), 1460u);
  EXPECT_EQ(Moved("tcp.fast_retransmits"), 1);
  // The ACK of everything ends the recovery.
  Inject(Peer(".", kPeerIsn + 1, s1 + 10 * 1460));
  EXPECT_TRUE(Take().empty());
  struct tcp_info info;
  socklen_t len = sizeof(info);
  ASSERT_TRUE(c->GetOption(IPPROTO_TCP, TCP_INFO, &info, &len).ok());
  EXPECT_EQ(info.tcpi_ca_state, 0);
  EXPECT_EQ(info.tcpi_options & TCPI_OPT_SACK, TCPI_OPT_SACK);
  EXPECT_EQ(info.tcpi_snd_cwnd, 7u);  // CUBIC: ssthresh = 0.7 * 10 segments
}

TEST_F(TcpDataTest, ThreeDuplicateAcksTriggerNewRenoFastRetransmit) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  const char reno[] = "reno";
  ASSERT_TRUE(c->SetOption(IPPROTO_TCP, TCP_CONGESTION, reno, sizeof(reno)).ok());
  ASSERT_TRUE(c->Send(AsBytes(Bytes(6 * 1460)), 0).ok());
  EXPECT_EQ(Take().size(), 6u);
  const uint32_t s1 = iss + 1;
  Inject(Peer(".", kPeerIsn + 1, s1 + 1460));  // the first arrives
  EXPECT_TRUE(Take().empty());
  for (int i = 0; i < 2; ++i) {
    Inject(Peer(".", kPeerIsn + 1, s1 + 1460));
    EXPECT_TRUE(Take().empty());
  }
  Inject(Peer(".", kPeerIsn + 1, s1 + 1460));
  Sent r = TakeOne();
  EXPECT_EQ(r.seq(), s1 + 1460);
  // RFC 6582: a partial ACK retransmits the next hole at once.
  Inject(Peer(".", kPeerIsn + 1, s1 + 3 * 1460));
  r = TakeOne();
  EXPECT_EQ(r.seq(), s1 + 3 * 1460);
  char name[16] = {};
  socklen_t len = sizeof(name);
  ASSERT_TRUE(c->GetOption(IPPROTO_TCP, TCP_CONGESTION, name, &len).ok());
  EXPECT_STREQ(name, "reno");
}

TEST_F(TcpDataTest, ZeroReceiveWindowReopensWithAWindowUpdateAfterRead) {
  auto l = NewSocket();
  int v = 2048;
  ASSERT_TRUE(l->SetOption(SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)).ok());
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(), kOurPort, 0}).ok());
  ASSERT_TRUE(l->Listen(4).ok());
  TcpHeader syn = Peer("S", kPeerIsn, 0);
  syn.options.mss = 1460;
  Inject(syn);
  Sent sa = TakeOne();
  EXPECT_EQ(sa.h.window, 2048);  // half of the doubled SO_RCVBUF, as Linux
  const uint32_t iss = sa.seq();
  Inject(Peer(".", kPeerIsn + 1, iss + 1));
  auto a = l->Accept();
  ASSERT_TRUE(a.ok());
  sockets_.push_back(*a);
  int got = 0;
  socklen_t len = sizeof(got);
  ASSERT_TRUE((*a)->GetOption(SOL_SOCKET, SO_RCVBUF, &got, &len).ok());
  EXPECT_EQ(got, 4096);
  Inject(Peer(".", kPeerIsn + 1, iss + 1), Bytes(1460));
  EXPECT_EQ(TakeOne().h.window, 588);
  Inject(Peer(".", kPeerIsn + 1461, iss + 1), Bytes(588));
  Sent z = TakeOne();
  EXPECT_EQ(z.ack(), kPeerIsn + 2049);
  EXPECT_EQ(z.h.window, 0);
  // Beyond the window: dropped and ACKed.
  Inject(Peer(".", kPeerIsn + 2049, iss + 1), Bytes(10));
  EXPECT_EQ(TakeOne().ack(), kPeerIsn + 2049);
  EXPECT_EQ(RecvAll(**a).size(), 2048u);
  Sent u = TakeOne();
  EXPECT_EQ(u.ack(), kPeerIsn + 2049);
  EXPECT_EQ(u.h.window, 2048);
}

TEST_F(TcpDataTest, BlindDataWithAnOldAckIsChallenged) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  // RFC 5961 §5.2: SEG.ACK below SND.UNA - MAX.SND.WND.
  Inject(Peer(".", kPeerIsn + 1, iss - 200000), std::string("evil"));
  Sent a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 1);
  EXPECT_EQ(c->ReadableBytes(), 0u);
  EXPECT_EQ(Moved("tcp.tx_challenge_ack"), 1);
  // An ACK for data never sent: ACK and drop.
  Inject(Peer(".", kPeerIsn + 1, iss + 1000), std::string("evil"));
  a = TakeOne();
  EXPECT_EQ(a.ack(), kPeerIsn + 1);
  EXPECT_EQ(c->ReadableBytes(), 0u);
}

TEST_F(TcpDataTest, TailLossIsProbedBeforeTheRto) {
  uint32_t iss = 0;
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.timestamps = TcpTimestamps{100, 0};
  auto c = EstablishPassive(o, &iss);
  const Instant t0 = clock_.Now();
  ASSERT_TRUE(c->Send(AsBytes(Bytes(2000)), 0).ok());
  auto s = Take();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].payload.size(), 1448u);  // the MSS less the timestamp option
  // RFC 8985 §7: no ACK within the probe timeout (two SRTTs, at least 10 ms here): the
  // last segment goes again, long before the 200 ms RTO.
  Advance(std::chrono::milliseconds(50));
  Sent p = TakeOne();
  EXPECT_EQ(p.at - t0, std::chrono::milliseconds(10));
  EXPECT_EQ(p.seq(), iss + 1 + 1448);
  EXPECT_EQ(p.payload.size(), 552u);
  EXPECT_EQ(Moved("tcp.tlp_probes"), 1);
  // The probe repaired the loss of the first segment's companion: its timestamp comes back.
  TcpHeader ack = Peer(".", kPeerIsn + 1, iss + 2001);
  ack.options.timestamps = TcpTimestamps{200, p.h.options.timestamps->value};
  Inject(ack);
  EXPECT_EQ(Moved("tcp.tlp_recoveries"), 1);
  EXPECT_EQ(Moved("tcp.timeouts"), 0);
}

// Issue 16 item 9 (part): ICMP "fragmentation needed" as Linux takes it.
class TcpPmtuTest : public TcpHarness {
 protected:
  // Sends 4 segments of data and answers the first with "fragmentation needed" carrying
  // `next_hop_mtu`; returns what was sent again.
  std::vector<Sent> FragNeeded(uint32_t next_hop_mtu, std::shared_ptr<TcpSocket>* out) {
    uint32_t iss = 0;
    auto c = EstablishPlain(&iss);
    *out = c;
    EXPECT_TRUE(c->Send(AsBytes(Bytes(4 * 1460)), 0).ok());
    auto sent = Take();
    EXPECT_EQ(sent.size(), 4u);
    const ByteSpan quote = ByteSpan(sent[0].datagram).first(20 + 8);
    std::vector<uint8_t> msg(kIcmp4HeaderSize + quote.size());
    std::copy(quote.begin(), quote.end(), msg.begin() + kIcmp4HeaderSize);
    Icmp4Header{Icmp4Type::kDestinationUnreachable, 4, next_hop_mtu & 0xffff}.Emit(msg, quote);
    InjectIp(IpProto::kIcmp4, msg);
    return Take();
  }
  uint32_t SndMss(TcpSocket& c, uint32_t* cwnd) {
    struct tcp_info info;
    socklen_t len = sizeof(info);
    EXPECT_TRUE(c.GetOption(IPPROTO_TCP, TCP_INFO, &info, &len).ok());
    *cwnd = info.tcpi_snd_cwnd;
    return info.tcpi_snd_mss;
  }
};

TEST_F(TcpPmtuTest, ReportedMtuShrinksTheSegmentsAndCwndKeepsItsSegmentCount) {
  std::shared_ptr<TcpSocket> c;
  auto again = FragNeeded(1400, &c);
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again[0].payload.size(), 1360u);  // RFC 1191 §6.5: resent at the new size
  uint32_t cwnd = 0;
  EXPECT_EQ(SndMss(*c, &cwnd), 1360u);
  EXPECT_EQ(cwnd, 10u);  // the initial window, still ten segments
}

TEST_F(TcpPmtuTest, MtuOfZeroTakesTheNextPlateau) {
  // RFC 1191 §5/§7: a router that does not say the next-hop MTU: 1492 is the plateau
  // below our 1500-byte datagrams.
  std::shared_ptr<TcpSocket> c;
  auto again = FragNeeded(0, &c);
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again[0].payload.size(), 1452u);
}

TEST_F(TcpPmtuTest, TinyMtuIsClampedToMinPmtu) {
  // Linux's min_pmtu (552): a forged "MTU 100" cannot make the connection send tiny segments.
  std::shared_ptr<TcpSocket> c;
  auto again = FragNeeded(100, &c);
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again[0].payload.size(), 512u);
}

}  // namespace
}  // namespace pytcp::testing
