// Issue 16 item 19: TCP_INFO reports Linux's whole struct tcp_info (not glibc's older 104
// bytes), cut to the caller's length as do_tcp_getsockopt cuts it; and ICMP errors about a
// synchronized connection are kept as Linux's soft error (tcp_v4_err's sk_err_soft):
// SO_ERROR shows it, and a connection that finally times out reports it instead of
// ETIMEDOUT (tcp_write_err).
#include <cerrno>
#include <cstring>

#include "stack/tcp/tcp_info.h"
#include "stack/wire/icmp4.h"
#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

class TcpInfoTest : public TcpHarness {
 protected:
  TcpInfo Info(TcpSocket& s, socklen_t want = sizeof(TcpInfo), socklen_t* got = nullptr) {
    TcpInfo info;
    std::memset(&info, 0xee, sizeof(info));
    socklen_t len = want;
    EXPECT_TRUE(s.GetOption(IPPROTO_TCP, TCP_INFO, &info, &len).ok());
    if (got != nullptr) *got = len;
    return info;
  }
  int SoError(TcpSocket& s) {
    int err = 0;
    socklen_t len = sizeof(err);
    EXPECT_TRUE(s.GetOption(SOL_SOCKET, SO_ERROR, &err, &len).ok());
    return err;
  }
  // An ICMP destination unreachable with `code` from the peer, quoting `about`.
  void Unreachable(uint8_t code, const Sent& about) {
    const ByteSpan quote = ByteSpan(about.datagram).first(20 + 8);
    std::vector<uint8_t> msg(kIcmp4HeaderSize + quote.size());
    std::copy(quote.begin(), quote.end(), msg.begin() + kIcmp4HeaderSize);
    Icmp4Header{Icmp4Type::kDestinationUnreachable, code, 0}.Emit(msg, quote);
    InjectIp(IpProto::kIcmp4, msg);
  }
};

TEST_F(TcpInfoTest, LengthIsCutToWhatTheCallerAsksAsLinuxDoes) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  socklen_t got = 0;
  // glibc's struct: 104 bytes, and nothing written beyond.
  std::array<uint8_t, 300> buf;
  buf.fill(0xee);
  socklen_t len = kTcpInfoGlibcSize;
  ASSERT_TRUE(c->GetOption(IPPROTO_TCP, TCP_INFO, buf.data(), &len).ok());
  EXPECT_EQ(len, kTcpInfoGlibcSize);
  EXPECT_EQ(buf[kTcpInfoGlibcSize], 0xee);
  EXPECT_EQ(buf[0], 1);  // TCP_ESTABLISHED
  // Debian 12's <linux/tcp.h>: 232 bytes.
  Info(*c, kTcpInfoDebian12Size, &got);
  EXPECT_EQ(got, kTcpInfoDebian12Size);
  // More than we have: all of it, and the length says how much.
  len = sizeof(buf);
  ASSERT_TRUE(c->GetOption(IPPROTO_TCP, TCP_INFO, buf.data(), &len).ok());
  EXPECT_EQ(len, sizeof(TcpInfo));
  // Fewer bytes than one field.
  len = 3;
  ASSERT_TRUE(c->GetOption(IPPROTO_TCP, TCP_INFO, buf.data(), &len).ok());
  EXPECT_EQ(len, 3u);
}

TEST_F(TcpInfoTest, CountersBeyondGlibcsStructFollowTheTraffic) {
  uint32_t iss = 0;
  TcpOptions o;
  o.mss = 1460;
  o.timestamps = TcpTimestamps{100, 0};
  auto c = EstablishPassive(o, &iss);
  ASSERT_TRUE(c->Send(AsBytes(std::string(3000, 'x')), 0).ok());
  auto sent = Take();
  ASSERT_EQ(sent.size(), 3u) << Describe(sent);
  Advance(std::chrono::milliseconds(5));
  TcpHeader ack = Peer(".", kPeerIsn + 1, iss + 1 + 3000, 1000);
  ack.options.timestamps = TcpTimestamps{150, sent.back().h.options.timestamps->value};
  Inject(ack, std::string(700, 'y'));
  TcpInfo i = Info(*c);
  EXPECT_EQ(i.tcpi_bytes_acked, 3000u);
  EXPECT_EQ(i.tcpi_bytes_received, 700u);
  EXPECT_EQ(i.tcpi_bytes_sent, 3000u);
  EXPECT_EQ(i.tcpi_bytes_retrans, 0u);
  EXPECT_EQ(i.tcpi_data_segs_out, 3u);
  EXPECT_EQ(i.tcpi_data_segs_in, 1u);
  EXPECT_GE(i.tcpi_segs_out, 4u);  // SYN-ACK and three data segments
  EXPECT_GE(i.tcpi_segs_in, 2u);   // the handshake's ACK and this one at least
  EXPECT_EQ(i.tcpi_snd_wnd, 1000u);
  EXPECT_GT(i.tcpi_rcv_wnd, 0u);
  EXPECT_EQ(i.tcpi_notsent_bytes, 0u);
  EXPECT_EQ(i.tcpi_min_rtt, 5000u);  // µs, from the timestamp echo
  EXPECT_EQ(i.tcpi_delivered, 4u);   // three segments and the SYN, as Linux counts
  EXPECT_EQ(i.tcpi_max_pacing_rate, ~uint64_t{0});
  EXPECT_GT(i.tcpi_pacing_rate, 0u);
  EXPECT_GT(i.tcpi_busy_time, 0u);   // 5 ms with data in flight
  EXPECT_EQ(i.tcpi_total_rto, 0u);
  // Data that waits for the window (1000 bytes, less than a segment: sender SWS avoidance,
  // RFC 9293 §3.8.6.2.1) is not-sent bytes and receive-window-limited time.
  ASSERT_TRUE(c->Send(AsBytes(std::string(3000, 'z')), 0).ok());
  Take();
  Advance(std::chrono::milliseconds(100));
  i = Info(*c);
  EXPECT_EQ(i.tcpi_notsent_bytes, 3000u);
  EXPECT_GE(i.tcpi_rwnd_limited, 90'000u);  // µs
  // The override timer sends what fits; unanswered, it is sent again (probe, then RTOs).
  Advance(std::chrono::seconds(2));
  Take();
  i = Info(*c);
  EXPECT_EQ(i.tcpi_notsent_bytes, 2000u);
  EXPECT_GE(i.tcpi_total_rto, 2u);
  EXPECT_EQ(i.tcpi_total_rto_recoveries, 1u);
  EXPECT_GT(i.tcpi_total_rto_time, 0u);
  EXPECT_GE(i.tcpi_bytes_retrans, 2000u);
  EXPECT_EQ(i.tcpi_bytes_sent, 4000u + i.tcpi_bytes_retrans);
  EXPECT_EQ(i.tcpi_total_retrans * 1000u, i.tcpi_bytes_retrans);
}

TEST_F(TcpInfoTest, IcmpUnreachableForAnEstablishedConnectionIsASoftError) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_TRUE(c->Send(AsBytes("hello"), 0).ok());
  Sent d = TakeOne();
  Unreachable(1, d);  // host unreachable
  // RFC 1122 §4.2.3.9: the connection goes on (the route may come back)...
  EXPECT_EQ(c->state(), TcpState::kEstablished);
  EXPECT_EQ(PollOf(*c) & static_cast<ReadinessMask>(POLLERR), 0u);
  // ...and SO_ERROR shows the soft error once (sock_getsockopt's sk_err_soft).
  EXPECT_EQ(SoError(*c), EHOSTUNREACH);
  EXPECT_EQ(SoError(*c), 0);
}

TEST_F(TcpInfoTest, ConnectionThatTimesOutAfterAnIcmpErrorReportsIt) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  int ms = 2000;
  ASSERT_TRUE(c->SetOption(IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms)).ok());
  ASSERT_TRUE(c->Send(AsBytes("hello"), 0).ok());
  Sent d = TakeOne();
  Advance(std::chrono::milliseconds(250));
  Unreachable(0, d);  // network unreachable, about the segment still in flight
  EXPECT_EQ(c->state(), TcpState::kEstablished);
  Advance(std::chrono::seconds(5));
  ASSERT_EQ(c->state(), TcpState::kClosed);
  // Linux's tcp_write_err: sk_err = sk_err_soft ? : ETIMEDOUT.
  std::array<uint8_t, 8> buf{};
  EXPECT_EQ(c->Recv(buf, 0).error(), ENETUNREACH);
}

TEST_F(TcpInfoTest, IcmpErrorQuotingDataNotInFlightIsIgnored) {
  uint32_t iss = 0;
  auto c = EstablishPlain(&iss);
  ASSERT_TRUE(c->Send(AsBytes("hello"), 0).ok());
  Sent d = TakeOne();
  Inject(Peer(".", kPeerIsn + 1, iss + 6));
  Unreachable(1, d);  // RFC 5927 §4.1: the quoted sequence number is acknowledged already
  EXPECT_EQ(SoError(*c), 0);
}

}  // namespace
}  // namespace pytcp::testing
