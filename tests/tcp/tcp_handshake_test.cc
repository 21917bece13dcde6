// Opening connections, segment by segment: passive and active opens, their options, SYN
// retransmission, refusals, RSTs for closed ports, SYN cookies.
#include <cerrno>

#include "stack/wire/icmp4.h"
#include "tests/tcp/tcp_harness.h"

namespace pytcp::testing {
namespace {

TcpOptions LinuxSynOptions() {
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.timestamps = TcpTimestamps{100, 0};
  o.window_scale = 7;
  return o;
}

using TcpHandshakeTest = TcpHarness;

TEST_F(TcpHandshakeTest, ListenSynGetsSynAckWithLinuxOptions) {
  auto l = NewSocket();
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(kOurIp), kOurPort, 0}).ok());
  ASSERT_TRUE(l->Listen(8).ok());
  TcpHeader syn = Peer("S", kPeerIsn, 0, 64240);
  syn.options = LinuxSynOptions();
  Inject(syn);
  Sent s = TakeOne();
  EXPECT_EQ(s.flags(), "S.");
  EXPECT_EQ(s.ack(), kPeerIsn + 1);
  EXPECT_EQ(s.h.src_port, kOurPort);
  EXPECT_EQ(s.h.dst_port, kPeerPort);
  // The SYN-ACK window is unscaled: min(65535, the initial 64 KB buffer).
  EXPECT_EQ(s.h.window, 65535);
  EXPECT_EQ(s.h.options.mss, 1460);
  EXPECT_TRUE(s.h.options.sack_permitted);
  EXPECT_EQ(s.h.options.window_scale, 7);  // Linux's shift for a 6 MB tcp_rmem max
  ASSERT_TRUE(s.h.options.timestamps.has_value());
  EXPECT_EQ(s.h.options.timestamps->echo_reply, 100u);
  EXPECT_TRUE(s.df);
  EXPECT_EQ(s.ttl, 64);
  // Not accepted before the handshake completes.
  l->set_nonblocking(true);
  EXPECT_EQ(l->Accept().error(), EAGAIN);
  EXPECT_EQ(PollOf(*l), 0u);
  TcpHeader ack = Peer(".", kPeerIsn + 1, s.seq() + 1, 502);
  ack.options.timestamps = TcpTimestamps{101, s.h.options.timestamps->value};
  Inject(ack);
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(PollOf(*l), static_cast<ReadinessMask>(POLLIN | POLLRDNORM));
  SocketAddress peer;
  auto a = l->Accept(&peer);
  ASSERT_TRUE(a.ok());
  sockets_.push_back(*a);
  EXPECT_EQ(peer.ip, IpAddress(kPeerIp));
  EXPECT_EQ(peer.port, kPeerPort);
  EXPECT_EQ((*a)->state(), TcpState::kEstablished);
  EXPECT_EQ(PollOf(**a), static_cast<ReadinessMask>(POLLOUT | POLLWRNORM));
  // The peer's scaled window: 502 << 7.
  EXPECT_EQ((*a)->connection()->snd_wnd(), 502u << 7);
  EXPECT_EQ(Moved("tcp.passive_opens"), 1);
}

TEST_F(TcpHandshakeTest, ChecksumTheLinkVouchesForIsNotVerifiedAgain) {
  // A SYN as the local kernel hands it to a TAP with NEEDS_CSUM: the checksum field holds
  // only the folded pseudo-header sum (stack/link/virtio_net.cc).
  auto l = NewSocket();
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(kOurIp), kOurPort, 0}).ok());
  ASSERT_TRUE(l->Listen(8).ok());
  TcpHeader syn = Peer("S", kPeerIsn, 0, 64240);
  syn.options = LinuxSynOptions();
  auto frame = Frame(syn, {});
  const size_t tcp = kEthernetHeaderSize + 20;
  const uint32_t pseudo = PseudoHeaderSum4(kPeerIp, kOurIp, static_cast<uint8_t>(IpProto::kTcp),
                                           static_cast<uint32_t>(syn.header_size()));
  StoreBe16(frame.data() + tcp + 16, static_cast<uint16_t>(~ChecksumFold(pseudo)));
  auto deliver = [&](RxFrameInfo rx) {
    {
      std::lock_guard lock(stack_->mutex());
      stack_->iface().Receive(frame, clock_.Now(), rx);
    }
    Run();
  };
  auto before = stack_->CounterSnapshot();
  deliver(RxFrameInfo{});  // an ordinary frame: verified, and this one does not verify
  EXPECT_TRUE(log_.empty());
  EXPECT_EQ(CounterDelta(before, stack_->CounterSnapshot())["tcp.rx_drop_malformed"], 1);
  deliver(RxFrameInfo{.l4_checksum_valid = true});
  Sent s = TakeOne();
  EXPECT_EQ(s.flags(), "S.");
  EXPECT_EQ(s.ack(), kPeerIsn + 1);
}

TEST_F(TcpHandshakeTest, SynWithoutOptionsGetsOnlyMssAnd536IsAssumed) {
  auto l = NewSocket();
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(), kOurPort, 0}).ok());
  ASSERT_TRUE(l->Listen(8).ok());
  Inject(Peer("S", kPeerIsn, 0, 8192));
  Sent s = TakeOne();
  EXPECT_EQ(s.flags(), "S.");
  EXPECT_EQ(s.h.options.mss, 1460);
  EXPECT_FALSE(s.h.options.sack_permitted);
  EXPECT_FALSE(s.h.options.window_scale.has_value());
  EXPECT_FALSE(s.h.options.timestamps.has_value());
  Inject(Peer(".", kPeerIsn + 1, s.seq() + 1, 8192));
  auto a = l->Accept();
  ASSERT_TRUE(a.ok());
  sockets_.push_back(*a);
  // RFC 9293 §3.7.1: no MSS option means 536.
  EXPECT_EQ((*a)->connection()->mss(), 536);
}

TEST_F(TcpHandshakeTest, ActiveOpenSendsSynAndCompletesOnSynAck) {
  auto c = NewSocket();
  c->set_nonblocking(true);
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).error(), EINPROGRESS);
  Sent syn = TakeOne();
  EXPECT_EQ(syn.flags(), "S");
  EXPECT_EQ(syn.h.dst_port, 80);
  EXPECT_GE(syn.h.src_port, 32768);
  EXPECT_LE(syn.h.src_port, 60999);
  EXPECT_EQ(syn.h.window, 65535);
  EXPECT_EQ(syn.h.options.mss, 1460);
  EXPECT_TRUE(syn.h.options.sack_permitted);
  EXPECT_EQ(syn.h.options.window_scale, 7);
  ASSERT_TRUE(syn.h.options.timestamps.has_value());
  EXPECT_EQ(syn.h.options.timestamps->echo_reply, 0u);
  // Connecting: neither readable nor writable; a second connect says EALREADY.
  EXPECT_EQ(PollOf(*c), 0u);
  EXPECT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).error(), EALREADY);
  EXPECT_EQ(c->Send(AsBytes("x"), MSG_NOSIGNAL).error(), EAGAIN);

  TcpHeader synack = Peer("S.", kPeerIsn, syn.seq() + 1, 28960, 80, syn.h.src_port);
  synack.options = LinuxSynOptions();
  synack.options.timestamps = TcpTimestamps{500, syn.h.options.timestamps->value};
  Inject(synack);
  Sent ack = TakeOne();
  EXPECT_EQ(ack.flags(), ".");
  EXPECT_EQ(ack.seq(), syn.seq() + 1);
  EXPECT_EQ(ack.ack(), kPeerIsn + 1);
  EXPECT_EQ(ack.h.window, 512);  // 65536 >> 7
  EXPECT_EQ(ack.h.options.timestamps->echo_reply, 500u);
  EXPECT_EQ(PollOf(*c), static_cast<ReadinessMask>(POLLOUT | POLLWRNORM));
  // Linux: the first connect() after completion succeeds, then EISCONN.
  EXPECT_TRUE(c->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).ok());
  EXPECT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).error(), EISCONN);
  int err = -1;
  socklen_t len = sizeof(err);
  ASSERT_TRUE(c->GetOption(SOL_SOCKET, SO_ERROR, &err, &len).ok());
  EXPECT_EQ(err, 0);
  auto peer = c->PeerAddress();
  ASSERT_TRUE(peer.ok());
  EXPECT_EQ(peer->port, 80);
}

TEST_F(TcpHandshakeTest, RstToSynIsConnectionRefused) {
  auto c = NewSocket();
  c->set_nonblocking(true);
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 81, 0}).error(), EINPROGRESS);
  Sent syn = TakeOne();
  Inject(Peer("R.", 0, syn.seq() + 1, 0, 81, syn.h.src_port));
  EXPECT_TRUE(Take().empty());  // never a RST for a RST
  EXPECT_EQ(PollOf(*c), static_cast<ReadinessMask>(POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT |
                                                   POLLWRNORM | POLLERR | POLLHUP));
  int err = 0;
  socklen_t len = sizeof(err);
  ASSERT_TRUE(c->GetOption(SOL_SOCKET, SO_ERROR, &err, &len).ok());
  EXPECT_EQ(err, ECONNREFUSED);
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
}

TEST_F(TcpHandshakeTest, RstWithWrongAckInSynSentIsIgnored) {
  auto c = NewSocket();
  c->set_nonblocking(true);
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 81, 0}).error(), EINPROGRESS);
  Sent syn = TakeOne();
  Inject(Peer("R.", 0, syn.seq() + 7, 0, 81, syn.h.src_port));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(c->state(), TcpState::kSynSent);
  // A SYN-ACK acknowledging something we never sent draws <SEQ=SEG.ACK><RST>.
  Inject(Peer("S.", kPeerIsn, syn.seq() + 9, 1000, 81, syn.h.src_port));
  Sent rst = TakeOne();
  EXPECT_EQ(rst.flags(), "R");
  EXPECT_EQ(rst.seq(), syn.seq() + 9);
  EXPECT_EQ(c->state(), TcpState::kSynSent);
}

TEST_F(TcpHandshakeTest, SynIsRetransmittedWithBackoffThenTimesOut) {
  auto c = NewSocket();
  c->set_nonblocking(true);
  const Instant t0 = clock_.Now();
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).error(), EINPROGRESS);
  Advance(std::chrono::seconds(200));
  auto sent = Take();
  // The SYN and tcp_syn_retries = 6 retransmissions, 1 s apart doubling (RFC 6298 §5.5).
  ASSERT_EQ(sent.size(), 7u) << Describe(sent);
  const int64_t expect_s[] = {0, 1, 3, 7, 15, 31, 63};
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].flags(), "S");
    EXPECT_EQ(sent[i].seq(), sent[0].seq());
    EXPECT_EQ((sent[i].at - t0), std::chrono::seconds(expect_s[i])) << i;
  }
  int err = 0;
  socklen_t len = sizeof(err);
  ASSERT_TRUE(c->GetOption(SOL_SOCKET, SO_ERROR, &err, &len).ok());
  EXPECT_EQ(err, ETIMEDOUT);
  EXPECT_EQ(c->state(), TcpState::kClosed);
}

TEST_F(TcpHandshakeTest, SegmentToClosedPortGetsRst) {
  // RFC 9293 §3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> for a SYN ...
  Inject(Peer("S", kPeerIsn, 0, 1000, kPeerPort, 9999));
  Sent r = TakeOne();
  EXPECT_EQ(r.flags(), "R.");
  EXPECT_EQ(r.seq(), 0u);
  EXPECT_EQ(r.ack(), kPeerIsn + 1);
  // ... <SEQ=SEG.ACK><CTL=RST> for an ACK ...
  Inject(Peer(".", kPeerIsn, 777, 1000, kPeerPort, 9999));
  r = TakeOne();
  EXPECT_EQ(r.flags(), "R");
  EXPECT_EQ(r.seq(), 777u);
  // ... and nothing for a RST.
  Inject(Peer("R", kPeerIsn, 0, 0, kPeerPort, 9999));
  EXPECT_TRUE(Take().empty());
  // Data with FIN counts its length.
  Inject(Peer("FP", kPeerIsn, 0, 1000, kPeerPort, 9999), std::string("abc"));
  r = TakeOne();
  EXPECT_EQ(r.ack(), kPeerIsn + 4);
}

TEST_F(TcpHandshakeTest, SimultaneousOpen) {
  auto c = NewSocket();
  c->set_nonblocking(true);
  ASSERT_TRUE(c->Bind(SocketAddress{IpAddress(kOurIp), kOurPort, 0}).ok());
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), kPeerPort, 0}).error(), EINPROGRESS);
  Sent syn = TakeOne();
  // The peer's SYN crosses ours: SYN-RECEIVED, and our SYN goes again as a SYN-ACK.
  TcpOptions o;
  o.mss = 1460;
  TcpHeader peer_syn = Peer("S", kPeerIsn, 0, 20000);
  peer_syn.options = o;
  Inject(peer_syn);
  Sent synack = TakeOne();
  EXPECT_EQ(synack.flags(), "S.");
  EXPECT_EQ(synack.seq(), syn.seq());
  EXPECT_EQ(synack.ack(), kPeerIsn + 1);
  EXPECT_EQ(c->state(), TcpState::kSynReceived);
  // The peer's SYN-ACK acknowledges ours.
  TcpHeader peer_synack = Peer("S.", kPeerIsn, syn.seq() + 1, 20000);
  peer_synack.options = o;
  Inject(peer_synack);
  // It is in SYN-RECEIVED a SYN with a sequence number we have: an ACK, and the ACK
  // part establishes.
  auto sent = Take();
  EXPECT_EQ(c->state(), TcpState::kEstablished) << Describe(sent);
  EXPECT_TRUE(c->Connect(SocketAddress{IpAddress(kPeerIp), kPeerPort, 0}).ok());
}

TEST_F(TcpHandshakeTest, SynCookiesWhenTheSynQueueIsFull) {
  auto l = NewSocket();
  l->set_nonblocking(true);
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(), kOurPort, 0}).ok());
  ASSERT_TRUE(l->Listen(0).ok());
  TcpHeader syn1 = Peer("S", kPeerIsn, 0, 1000, 5001);
  syn1.options = LinuxSynOptions();
  Inject(syn1);
  Sent a1 = TakeOne();
  EXPECT_EQ(Moved("tcp.syncookies_sent"), 0);
  // The SYN queue holds one embryonic connection now (backlog 0): the next SYN is
  // answered statelessly.
  TcpHeader syn2 = Peer("S", kPeerIsn + 50, 0, 1000, 5002);
  syn2.options = LinuxSynOptions();
  Inject(syn2);
  Sent a2 = TakeOne();
  EXPECT_EQ(a2.flags(), "S.");
  EXPECT_EQ(a2.ack(), kPeerIsn + 51);
  EXPECT_EQ(a2.h.options.mss, 1460);
  EXPECT_EQ(a2.h.options.window_scale, 7);
  EXPECT_TRUE(a2.h.options.sack_permitted);
  EXPECT_EQ(Moved("tcp.syncookies_sent"), 1);
  EXPECT_EQ(stack_->tcp().connection_count(), 1u);  // no state for the second
  // The peer's ACK carries the cookie back; the connection is created from it, with the
  // options the cookie and the timestamp echo preserved.
  TcpHeader ack2 = Peer(".", kPeerIsn + 51, a2.seq() + 1, 1000, 5002);
  ack2.options.timestamps = TcpTimestamps{150, a2.h.options.timestamps->value};
  Inject(ack2, std::string("hello"));
  Sent ackd = TakeOne();
  EXPECT_EQ(ackd.ack(), kPeerIsn + 56);
  EXPECT_EQ(Moved("tcp.syncookies_recv"), 1);
  auto a = l->Accept();
  ASSERT_TRUE(a.ok());
  sockets_.push_back(*a);
  EXPECT_EQ((*a)->connection()->tuple().remote_port, 5002);
  EXPECT_EQ((*a)->connection()->snd_wnd(), 1000u << 7);
  std::array<uint8_t, 16> buf{};
  auto n = (*a)->Recv(buf, MSG_DONTWAIT);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + static_cast<long>(*n)), "hello");
  // A forged cookie is refused with a RST.
  Inject(Peer(".", kPeerIsn + 1000, 12345, 1000, 5003));
  Sent rst = TakeOne();
  EXPECT_EQ(rst.flags(), "R");
  EXPECT_EQ(Moved("tcp.syncookies_failed"), 1);
}

TEST_F(TcpHandshakeTest, RetransmittedSynGetsTheSynAckAgain) {
  auto l = NewSocket();
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(), kOurPort, 0}).ok());
  ASSERT_TRUE(l->Listen(8).ok());
  Inject(Peer("S", kPeerIsn, 0, 1000));
  Sent a = TakeOne();
  Inject(Peer("S", kPeerIsn, 0, 1000));
  Sent b = TakeOne();
  EXPECT_EQ(b.flags(), "S.");
  EXPECT_EQ(b.seq(), a.seq());
  // Unanswered, the SYN-ACK is retransmitted tcp_synack_retries (5) times, then dropped.
  Advance(std::chrono::seconds(100));
  auto sent = Take();
  EXPECT_EQ(sent.size(), 5u) << Describe(sent);
  EXPECT_EQ(stack_->tcp().connection_count(), 0u);
}

TEST_F(TcpHandshakeTest, AcceptQueueOverflowDropsTheSyn) {
  auto l = NewSocket();
  ASSERT_TRUE(l->Bind(SocketAddress{IpAddress(), kOurPort, 0}).ok());
  ASSERT_TRUE(l->Listen(0).ok());
  // Backlog 0 still lets one connection wait for accept() (Linux: full when > backlog).
  Inject(Peer("S", kPeerIsn, 0, 1000, 6001));
  Sent a = TakeOne();
  Inject(Peer(".", kPeerIsn + 1, a.seq() + 1, 1000, 6001));
  EXPECT_TRUE(Take().empty());
  Inject(Peer("S", kPeerIsn, 0, 1000, 6002));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(Moved("tcp.listen_overflows"), 1);
}

TEST_F(TcpHandshakeTest, IcmpPortUnreachableRefusesAConnect) {
  auto c = NewSocket();
  c->set_nonblocking(true);
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).error(), EINPROGRESS);
  Sent syn = TakeOne();
  // RFC 792 destination unreachable, code 3 (port), quoting the SYN's header + 8 bytes.
  const ByteSpan quote = ByteSpan(syn.datagram).first(20 + 8);
  std::vector<uint8_t> msg(kIcmp4HeaderSize + quote.size());
  std::copy(quote.begin(), quote.end(), msg.begin() + kIcmp4HeaderSize);
  Icmp4Header{Icmp4Type::kDestinationUnreachable, 3, 0}.Emit(msg, quote);
  InjectIp(IpProto::kIcmp4, msg);
  EXPECT_EQ(c->state(), TcpState::kClosed);
  int err = 0;
  socklen_t len = sizeof(err);
  ASSERT_TRUE(c->GetOption(SOL_SOCKET, SO_ERROR, &err, &len).ok());
  EXPECT_EQ(err, ECONNREFUSED);
}

TEST_F(TcpHandshakeTest, UnresolvableNeighbourFailsTheConnectWithEhostunreach) {
  auto c = NewSocket();
  c->set_nonblocking(true);
  ASSERT_EQ(c->Connect(SocketAddress{IpAddress(Ip4Address(10, 77, 0, 99)), 80, 0}).error(),
            EINPROGRESS);
  Advance(std::chrono::seconds(10));  // ARP gives up (nobody answers)
  EXPECT_EQ(c->state(), TcpState::kClosed);
  int err = 0;
  socklen_t len = sizeof(err);
  ASSERT_TRUE(c->GetOption(SOL_SOCKET, SO_ERROR, &err, &len).ok());
  EXPECT_EQ(err, EHOSTUNREACH);
}

TEST_F(TcpHandshakeTest, ConnectErrorsForBadDestinations) {
  auto c = NewSocket();
  EXPECT_EQ(c->Connect(SocketAddress{IpAddress(kPeerIp), 0, 0}).error(), ECONNREFUSED);
  EXPECT_EQ(c->Connect(SocketAddress{IpAddress(Ip4Address(224, 0, 0, 1)), 80, 0}).error(),
            ENETUNREACH);
  EXPECT_EQ(c->Connect(SocketAddress{IpAddress(Ip4Address(192, 0, 2, 1)), 80, 0}).error(),
            ENETUNREACH);  // no route: no default gateway configured
  auto l = NewSocket();
  ASSERT_TRUE(l->Listen(1).ok());  // an ephemeral port
  EXPECT_EQ(l->Connect(SocketAddress{IpAddress(kPeerIp), 80, 0}).error(), EISCONN);
  auto s = NewSocket();
  std::array<uint8_t, 4> buf{};
  EXPECT_EQ(s->Recv(buf, 0).error(), ENOTCONN);
  EXPECT_EQ(s->Send(AsBytes("x"), MSG_NOSIGNAL).error(), EPIPE);
  EXPECT_EQ(s->Shutdown(SHUT_WR).error(), ENOTCONN);
  EXPECT_EQ(s->PeerAddress().error(), ENOTCONN);
  EXPECT_EQ(s->Accept().error(), EINVAL);
}

}  // namespace
}  // namespace pytcp::testing
