// Reconnecting on a four-tuple whose old connection the peer still holds in TIME-WAIT
// (issue 16 item 0). A Linux peer accepts the new SYN only when it is visibly newer than
// the old incarnation (RFC 6191: its timestamp, else its sequence number; Linux's
// tcp_timewait_state_process), so a new program on the same host must produce a TSval and
// an ISN that continue the old ones: keys that live for the boot, a timestamp offset per
// address pair (Linux's secure_tcp_ts_off). And when the peer's TIME-WAIT answers with an
// ACK anyway, the SYN-SENT socket resets it and tries again at once (Linux's
// tcp_rcv_synsent_state_process), not after a whole RTO.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

class TcpReuseTest : public TcpHarness {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/pytcp-reuse-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    key_file_ = dir_ + "/tcp-key";
    TcpHarness::SetUp();
  }
  void TearDown() override {
    TcpHarness::TearDown();
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)system(cmd.c_str());
  }
  void TweakStack(StackConfig& c) override {
    c.seed = seed_;
    c.tcp_key_file = key_file_;
  }
  // Another program on the same host: a new stack with its own random seed.
  void NewProgram(uint64_t seed) {
    listener_.reset();
    sockets_.clear();
    stack_.reset();
    log_.clear();
    seed_ = seed;
    Start();
  }
  // A SYN from local port `port` to the peer's port 80.
  Sent ConnectFrom(uint16_t port, uint16_t dport = 80) {
    auto c = NewSocket();
    c->set_nonblocking(true);
    int one = 1;
    EXPECT_TRUE(c->SetOption(SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)).ok());
    EXPECT_TRUE(c->Bind(SocketAddress{IpAddress(kOurIp), port, 0}).ok());
    EXPECT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), dport, 0}).error(), EINPROGRESS);
    Sent syn = TakeOne();
    EXPECT_EQ(syn.flags(), "S");
    EXPECT_TRUE(syn.h.options.timestamps.has_value());
    return syn;
  }
  static uint32_t TsVal(const Sent& s) { return s.h.options.timestamps->value; }

  uint64_t seed_ = 11;
  std::string dir_;
  std::string key_file_;
};

TEST_F(TcpReuseTest, ANewProgramContinuesTheTimestampsAndIsnsOfTheOld) {
  const Sent old_syn = ConnectFrom(40001);
  const Instant t_old = clock_.Now();
  NewProgram(12);
  clock_.Advance(std::chrono::milliseconds(5));
  const Sent new_syn = ConnectFrom(40001);
  // The same offset and the same hash: TSval moved by the 5 ms, the ISN by 5 ms of RFC
  // 6528's 4-microsecond clock — both newer than anything the old connection sent.
  EXPECT_EQ(TsVal(new_syn) - TsVal(old_syn), 5u);
  EXPECT_EQ(new_syn.seq() - old_syn.seq(),
            static_cast<uint32_t>((clock_.Now() - t_old) / std::chrono::microseconds(4)));
}

TEST_F(TcpReuseTest, TheTimestampOffsetDependsOnlyOnTheAddressPair) {
  // Linux's secure_tcp_ts_off hashes the addresses, not the ports: every connection to a
  // host shares one TSval clock, so a reused tuple is newer whichever port it had.
  const Sent a = ConnectFrom(40001, 80);
  const Sent b = ConnectFrom(40002, 81);
  EXPECT_EQ(TsVal(a), TsVal(b));
  // The ISNs (RFC 6528's F of the whole four-tuple) still differ.
  EXPECT_NE(a.seq(), b.seq());
}

TEST_F(TcpReuseTest, TheKeyFileIsPrivate) {
  ConnectFrom(40001);
  struct stat st{};
  ASSERT_EQ(stat(key_file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(TcpReuseTest, WithoutAKeyFileEachProgramHasItsOwnKey) {
  // The fallback when the file cannot be made: a per-process key (one log line says so).
  key_file_ = dir_ + "/not-a-dir/tcp-key";
  ASSERT_EQ(system(("touch '" + dir_ + "/not-a-dir'").c_str()), 0);
  NewProgram(21);
  const Sent a = ConnectFrom(40001);
  NewProgram(22);
  const Sent b = ConnectFrom(40001);
  EXPECT_NE(TsVal(a), TsVal(b));
}

TEST_F(TcpReuseTest, TimeWaitAckInSynSentDrawsRstAndAnEarlySynRetransmission) {
  const Sent syn = ConnectFrom(40001);
  const Instant t0 = clock_.Now();
  // The peer's TIME-WAIT answers our SYN with an ACK of its old connection.
  Inject(Peer(".", 777777, 123456, 65535, 80, 40001));
  Sent rst = TakeOne();
  EXPECT_EQ(rst.flags(), "R");  // RFC 9293 §3.10.7.3: <SEQ=SEG.ACK><CTL=RST>
  EXPECT_EQ(rst.seq(), 123456u);
  // The RST ends the peer's TIME-WAIT; the SYN goes again at once, not after 1 s.
  Advance(std::chrono::milliseconds(10));
  Sent again = TakeOne();
  EXPECT_EQ(again.flags(), "S");
  EXPECT_EQ(again.seq(), syn.seq());
  EXPECT_LE(again.at - t0, std::chrono::milliseconds(2));
  // Only once per connection attempt (Linux: while nothing was retransmitted): another
  // stray ACK is reset, and the SYN waits for its backed-off timer.
  Inject(Peer(".", 777777, 123456, 65535, 80, 40001));
  EXPECT_EQ(TakeOne().flags(), "R");
  Advance(std::chrono::milliseconds(1500));
  EXPECT_TRUE(Take().empty());
}

}  // namespace
}  // namespace pytcp::testing
