// Issue 16 item 20: TIME-WAIT of a closed socket is a compact record, not a connection,
// answering segments as Linux's tcp_timewait_state_process (RFC 9293 §3.10.7.4, RFC 6191,
// RFC 1337); TIME-WAIT records and orphans are bounded as Linux's tcp_max_tw_buckets and
// tcp_max_orphans; 10^6 records fit in a stated memory bound.
#include <malloc.h>

#include <cerrno>
#include <cstdio>

#include "stack/tcp/tcp_connection.h"
#include "stack/tcp/tcp_time_wait.h"
#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

// The bound this project states for a TIME-WAIT record, everything it costs included
// (record, index, deadline heap): 10^6 of them in 128 MB.
constexpr size_t kTimeWaitBytesPerRecord = 128;

TEST(TcpTimeWaitTableTest, AMillionRecordsFitTheBound) {
  constexpr uint32_t kN = 1'000'000;
  // malloc's count: arena chunks in use plus mmapped ones (the large arrays are mmapped).
  const auto in_use = [] {
    const struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
  };
  const size_t heap_before = in_use();
  TcpTimeWaitTable table;
  const Instant t0 = Instant() + std::chrono::seconds(100);
  for (uint32_t i = 0; i < kN; ++i) {
    TcpTimeWaitRecord r;
    r.tuple = TcpFourTuple{IpAddress(Ip4Address(10, 77, 0, 2)),
                           IpAddress(Ip4Address(10, 78, static_cast<uint8_t>(i >> 16),
                                                static_cast<uint8_t>(i >> 8))),
                           static_cast<uint16_t>(1024 + (i & 0xff)), 80};
    r.snd_nxt = SeqNum(i);
    r.rcv_nxt = SeqNum(i * 7);
    table.Insert(r, t0 + std::chrono::microseconds(i));
  }
  ASSERT_EQ(table.size(), kN);
  const size_t accounted = table.MemoryBytes();
  const size_t heap_used = in_use() - heap_before;
  std::printf("TIME-WAIT: sizeof(record) %zu bytes, %zu bytes per record accounted, %zu per "
              "record by malloc; a TcpConnection is %zu bytes before its buffers\n",
              sizeof(TcpTimeWaitRecord), accounted / kN, heap_used / kN, sizeof(TcpConnection));
  EXPECT_LE(accounted, kN * kTimeWaitBytesPerRecord);
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LE(heap_used, kN * kTimeWaitBytesPerRecord);
#endif
  // Found by four-tuple; they leave in expiry order.
  TcpFourTuple probe{IpAddress(Ip4Address(10, 77, 0, 2)), IpAddress(Ip4Address(10, 78, 0, 3)),
                     static_cast<uint16_t>(1024 + 0x39), 80};
  const TcpTimeWaitRecord* found = table.Find(probe);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->snd_nxt, SeqNum(0x339));
  EXPECT_EQ(table.Expire(t0 + std::chrono::microseconds(kN / 2 - 1)), kN / 2);
  EXPECT_EQ(table.Find(probe), nullptr);  // 0x339 < kN / 2: gone
  EXPECT_EQ(table.Expire(t0 + std::chrono::seconds(10)), kN / 2);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.NextDeadline(), Instant::Infinite());
}

class TcpTimeWaitTest : public TcpHarness {
 protected:
  // A second connection on the harness's listener, from the peer's `port`.
  std::shared_ptr<TcpSocket> Another(uint16_t port, uint32_t* iss) {
    Inject(Peer("S", kPeerIsn, 0, 65535, port));
    Sent sa = TakeOne();
    *iss = sa.seq();
    Inject(Peer(".", kPeerIsn + 1, *iss + 1, 65535, port));
    auto a = listener_->Accept();
    EXPECT_TRUE(a.ok());
    if (!a.ok()) return nullptr;
    sockets_.push_back(*a);
    return *a;
  }
  // Closes `c` first and lets the peer finish: the connection ends in TIME-WAIT.
  void ActiveClose(TcpSocket& c, uint32_t iss, uint16_t port = kPeerPort,
                   std::optional<TcpTimestamps> ts = std::nullopt) {
    c.Close();
    Sent f = TakeOne();
    EXPECT_EQ(f.flags(), "F.");
    TcpHeader fin = Peer("F.", kPeerIsn + 1, iss + 2, 65535, port);
    fin.options.timestamps = ts;
    Inject(fin);
    Sent a = TakeOne();
    EXPECT_EQ(a.flags(), ".");
    EXPECT_EQ(a.ack(), kPeerIsn + 2);
  }
};

TEST_F(TcpTimeWaitTest, ClosedSocketsTimeWaitIsARecordThatReAcksTheFin) {
  uint32_t iss = 0;
  TcpOptions o;
  o.mss = 1460;
  o.timestamps = TcpTimestamps{100, 0};
  auto c = EstablishPassive(o, &iss);
  ActiveClose(*c, iss, kPeerPort, TcpTimestamps{200, 0});
  EXPECT_EQ(stack_->tcp().time_wait_count(), 1u);  // not a connection any more
  EXPECT_EQ(stack_->tcp().connection_count(), 1u);
  Advance(std::chrono::seconds(10));
  // The peer lost our ACK and sends its FIN again: ACKed from the record, with the
  // connection's timestamps, and 2 MSL starts again.
  TcpHeader fin = Peer("F.", kPeerIsn + 1, iss + 2);
  fin.options.timestamps = TcpTimestamps{300, 0};
  Inject(fin);
  Sent a = TakeOne();
  EXPECT_EQ(a.flags(), ".");
  EXPECT_EQ(a.seq(), iss + 2);
  EXPECT_EQ(a.ack(), kPeerIsn + 2);
  ASSERT_TRUE(a.h.options.timestamps.has_value());
  EXPECT_EQ(a.h.options.timestamps->echo_reply, 200u);
  // A second copy at once is answered too (a FIN is never rate-limited).
  Inject(fin);
  EXPECT_EQ(TakeOne().ack(), kPeerIsn + 2);
  Advance(std::chrono::seconds(59));
  EXPECT_EQ(stack_->tcp().time_wait_count(), 1u);
  Advance(std::chrono::seconds(1));
  EXPECT_EQ(stack_->tcp().time_wait_count(), 0u);
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
  EXPECT_TRUE(Take().empty());
}

TEST_F(TcpTimeWaitTest, SocketClosedDuringTimeWaitKeepsWhatIsLeftOfIt) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_TRUE(c->Shutdown(SHUT_WR).ok());
  Take();
  Inject(Peer("F.", kPeerIsn + 1, iss + 2));
  Take();
  EXPECT_EQ(c->state(), TcpState::kTimeWait);  // the open socket still sees its connection
  EXPECT_EQ(stack_->tcp().time_wait_count(), 0u);
  Advance(std::chrono::seconds(20));
  c->Close();
  EXPECT_EQ(stack_->tcp().time_wait_count(), 1u);
  Advance(std::chrono::seconds(39));
  EXPECT_EQ(stack_->tcp().time_wait_count(), 1u);
  Advance(std::chrono::seconds(1));
  EXPECT_EQ(stack_->tcp().time_wait_count(), 0u);
}

TEST_F(TcpTimeWaitTest, NewerSynReopensWithAnIsnAboveTheOldOne) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ActiveClose(*c, iss);
  ASSERT_EQ(stack_->tcp().time_wait_count(), 1u);
  // RFC 6191: a SYN beyond RCV.NXT starts the new incarnation at once; its ISN is above
  // everything the old one sent (Linux's tcp_tw_isn: SND.NXT + 65537).
  Inject(Peer("S", kPeerIsn + 100000, 0));
  Sent sa = TakeOne();
  EXPECT_EQ(sa.flags(), "S.");
  EXPECT_EQ(sa.ack(), kPeerIsn + 100001);
  EXPECT_EQ(sa.seq(), iss + 2 + 65537);
  EXPECT_EQ(Moved("tcp.time_wait_recycled"), 1);
  EXPECT_EQ(stack_->tcp().time_wait_count(), 0u);
}

TEST_F(TcpTimeWaitTest, OldSynAndAcksAreAnsweredAtMostTwicePerSecond) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ActiveClose(*c, iss);
  // An old SYN (below RCV.NXT, no timestamps) may be an old duplicate: ACKed, not taken.
  Inject(Peer("S", kPeerIsn - 5000, 0));
  Sent a = TakeOne();
  EXPECT_EQ(a.flags(), ".");
  EXPECT_EQ(a.ack(), kPeerIsn + 2);
  // Linux's tcp_timewait_check_oow_rate_limit: the next one within 500 ms is not.
  Inject(Peer("S", kPeerIsn - 5000, 0));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(stack_->tcp().time_wait_count(), 1u);
  // A bare ACK at RCV.NXT needs no answer.
  Advance(std::chrono::seconds(1));
  Inject(Peer(".", kPeerIsn + 2, iss + 2));
  EXPECT_TRUE(Take().empty());
}

TEST_F(TcpTimeWaitTest, RstAtRcvNxtEndsItUnlessRfc1337) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ActiveClose(*c, iss);
  Inject(Peer("R", kPeerIsn + 50, 0));  // not RCV.NXT: ignored, no answer
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(stack_->tcp().time_wait_count(), 1u);
  Inject(Peer("R", kPeerIsn + 2, 0));  // Linux's default (tcp_rfc1337 = 0): it ends
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(stack_->tcp().time_wait_count(), 0u);
  EXPECT_EQ(Moved("tcp.time_wait_killed"), 1);
}

class TcpTimeWaitRfc1337Test : public TcpTimeWaitTest {
  void Tweak(TcpConfig& c) override { c.rfc1337 = true; }
};

TEST_F(TcpTimeWaitRfc1337Test, RstIsIgnored) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ActiveClose(*c, iss);
  Inject(Peer("R", kPeerIsn + 2, 0));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(stack_->tcp().time_wait_count(), 1u);
}

class TcpTimeWaitLimitTest : public TcpTimeWaitTest {
  void Tweak(TcpConfig& c) override {
    c.max_tw_buckets = 1;
    c.max_orphans = 1;
  }
};

TEST_F(TcpTimeWaitLimitTest, BeyondMaxTwBucketsAConnectionClosesWithoutTimeWait) {
  uint32_t iss1 = 0, iss2 = 0;
  auto c1 = EstablishPlain(&iss1);
  auto c2 = Another(kPeerPort + 1, &iss2);
  ActiveClose(*c1, iss1);
  EXPECT_EQ(stack_->tcp().time_wait_count(), 1u);
  ActiveClose(*c2, iss2, kPeerPort + 1);  // Linux: "time wait bucket table overflow"
  EXPECT_EQ(stack_->tcp().time_wait_count(), 1u);
  EXPECT_EQ(stack_->tcp().connection_count(), 1u);
  EXPECT_EQ(Moved("tcp.time_wait_overflow"), 1);
  // Its four-tuple is free: a retransmitted FIN finds nothing and draws a RST.
  Inject(Peer("F.", kPeerIsn + 1, iss2 + 2, 65535, kPeerPort + 1));
  EXPECT_EQ(TakeOne().flags(), "R");
}

TEST_F(TcpTimeWaitLimitTest, BeyondMaxOrphansAClosingConnectionIsReset) {
  uint32_t iss1 = 0, iss2 = 0;
  auto c1 = EstablishPlain(&iss1);
  auto c2 = Another(kPeerPort + 1, &iss2);
  c1->Close();  // FIN-WAIT-1, orphaned: the one orphan allowed
  EXPECT_EQ(TakeOne().flags(), "F.");
  EXPECT_EQ(stack_->tcp().orphan_count(), 1u);
  c2->Close();  // one too many: tcp_check_oom resets it
  auto sent = Take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().flags(), "R.");
  EXPECT_EQ(Moved("tcp.abort_on_memory"), 1);
  EXPECT_EQ(stack_->tcp().orphan_count(), 1u);
  // The first ends normally and is no orphan any more.
  Inject(Peer("F.", kPeerIsn + 1, iss1 + 2));
  EXPECT_EQ(stack_->tcp().orphan_count(), 0u);
  EXPECT_EQ(stack_->tcp().time_wait_count(), 1u);
}

}  // namespace
}  // namespace pytcp::testing
