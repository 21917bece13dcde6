// The DHCPv4 client against a scripted server, on a virtual clock.
#include "stack/dhcp4/dhcp4_client.h"

#include <gtest/gtest.h>

#include <memory>

#include "tests/dhcp4/dhcp4_test_util.h"

namespace pytcp {
namespace {

using namespace pytcp::testing;  // NOLINT
using Type = Dhcp4MessageType;
using Code = Dhcp4OptionCode;
using Delta = std::map<std::string, int64_t>;

constexpr std::string_view kHostname = "pytcp-test";

std::vector<uint8_t> ClientIdOf(MacAddress mac) {
  const MacAddress::Bytes& b = mac.bytes();
  return {1, b[0], b[1], b[2], b[3], b[4], b[5]};
}
std::vector<uint8_t> AddressBytes(Ip4Address a) {
  auto b = a.bytes();
  return {b.begin(), b.end()};
}

class Dhcp4ClientTest : public ::testing::Test {
 protected:
  static Dhcp4ClientConfig Deterministic() {
    Dhcp4ClientConfig c;
    c.hostname = std::string(kHostname);
    c.randomize = false;
    return c;
  }
  void SetUp() override { Make(Deterministic()); }
  void Make(Dhcp4ClientConfig config) {
    client_ = std::make_unique<Dhcp4Client>(kMac, &random_, &rec_, std::move(config));
  }

  Instant Now() const { return clock_.Now(); }
  // Runs the client's timers up to `t`.
  void RunUntil(Instant t) {
    while (client_->NextDeadline() <= t) {
      clock_.AdvanceTo(client_->NextDeadline());
      client_->Poll(Now());
    }
    clock_.AdvanceTo(t);
    client_->Poll(Now());
  }
  void RunFor(Duration d) { RunUntil(Now() + d); }

  std::vector<Sent> Take() { return std::exchange(rec_.sent, {}); }
  Sent TakeOne() {
    auto s = Take();
    EXPECT_EQ(s.size(), 1u);
    return s.empty() ? Sent{} : s.back();
  }

  void Deliver(const Reply& r, Ip4Address src = kServer) {
    const std::vector<uint8_t> bytes = r.Bytes();
    client_->Receive(bytes, src, Now());
  }
  Reply OfferReply() const {
    Reply r;
    r.type = Type::kOffer;
    r.xid = client_->xid();
    return r;
  }
  Reply AckReply() const {
    Reply r = OfferReply();
    r.type = Type::kAck;
    return r;
  }
  Reply NakReply() const {
    Reply r = OfferReply();
    r.type = Type::kNak;
    r.lease_time.reset();
    r.mask.reset();
    r.routers.clear();
    r.dns.clear();
    r.domain.clear();
    r.mtu.reset();
    r.message = "wrong network";
    return r;
  }

  // Start, OFFER, ACK: bound to kOffered at Now() (the REQUEST went out at Now() too).
  void Bind() {
    client_->Start(Now());
    Take();
    Deliver(OfferReply());
    Take();
    Deliver(AckReply());
    ASSERT_EQ(client_->state(), Dhcp4State::kBound);
    rec_.acquired.clear();
  }

  std::map<std::string, uint64_t> Counters() const { return Snapshot(*client_); }

  VirtualClock clock_;
  Random random_{7};
  Recorder rec_{&clock_};
  std::unique_ptr<Dhcp4Client> client_;
};

// Field-by-field checks of what every DISCOVER and REQUEST shares (RFC 2131 Table 5).
void ExpectClientCommon(const Dhcp4View& v, uint32_t xid) {
  EXPECT_EQ(v.op(), Dhcp4Op::kBootRequest);
  EXPECT_EQ(v.htype(), 1);
  EXPECT_EQ(v.hlen(), 6);
  EXPECT_EQ(v.hops(), 0);
  EXPECT_EQ(v.xid(), xid);
  EXPECT_EQ(v.yiaddr(), Ip4Address());
  EXPECT_EQ(v.siaddr(), Ip4Address());
  EXPECT_EQ(v.giaddr(), Ip4Address());
  EXPECT_EQ(v.client_mac(), kMac);
  EXPECT_GE(v.message_bytes().size(), kDhcp4MinMessageSize);
  EXPECT_EQ(OptionData(v, Code::kClientId), ClientIdOf(kMac));
  EXPECT_EQ(v.host_name(), kHostname);
  EXPECT_EQ(v.max_message_size(), 1500);
  const std::vector<uint8_t> prl{1, 3, 6, 15, 26, 28, 51, 58, 59};
  EXPECT_EQ(OptionData(v, Code::kParameterRequestList), prl);
}

TEST_F(Dhcp4ClientTest, StartSendsDiscoverAtOnce) {
  EXPECT_EQ(client_->state(), Dhcp4State::kStopped);
  client_->Start(Now());
  EXPECT_EQ(client_->state(), Dhcp4State::kSelecting);
  const Sent s = TakeOne();
  EXPECT_EQ(s.at, Now());
  EXPECT_EQ(s.src, Ip4Address::Any());
  EXPECT_EQ(s.dst, Ip4Address::Broadcast());
  const Dhcp4View v = s.view();
  ExpectClientCommon(v, client_->xid());
  EXPECT_EQ(v.message_type(), Type::kDiscover);
  EXPECT_EQ(v.secs(), 0);
  EXPECT_TRUE(v.broadcast());
  EXPECT_EQ(v.flags(), kDhcp4BroadcastFlag);  // the other flag bits MUST be zero
  EXPECT_EQ(v.ciaddr(), Ip4Address());
  EXPECT_FALSE(v.requested_ip());
  EXPECT_FALSE(v.server_id());
  EXPECT_FALSE(v.lease_time());
  EXPECT_EQ(client_->NextDeadline(), Now() + 1s);
  EXPECT_EQ(Counters(), (std::map<std::string, uint64_t>{{"tx_discovers", 1}}));
}

TEST_F(Dhcp4ClientTest, SelectingOfferSendsRequest) {
  client_->Start(Now());
  const uint32_t xid = TakeOne().view().xid();
  clock_.Advance(300ms);
  Deliver(OfferReply());
  EXPECT_EQ(client_->state(), Dhcp4State::kRequesting);
  const Sent s = TakeOne();
  EXPECT_EQ(s.src, Ip4Address::Any());
  EXPECT_EQ(s.dst, Ip4Address::Broadcast());
  const Dhcp4View v = s.view();
  // RFC 2131 §4.4.1: the REQUEST carries the xid of the OFFER; §4.3.2 SELECTING: ciaddr 0,
  // requested IP and server identifier filled in.
  ExpectClientCommon(v, xid);
  EXPECT_EQ(v.message_type(), Type::kRequest);
  EXPECT_TRUE(v.broadcast());
  EXPECT_EQ(v.ciaddr(), Ip4Address());
  EXPECT_EQ(v.requested_ip(), kOffered);
  EXPECT_EQ(v.server_id(), kServer);
  EXPECT_EQ(OptionData(v, Code::kRequestedIp), AddressBytes(kOffered));
  EXPECT_EQ(v.secs(), 0);  // 300 ms since the DISCOVER
}

TEST_F(Dhcp4ClientTest, FullExchangeBindsAndReportsLease) {
  const auto before = Counters();
  client_->Start(Now());
  Take();
  Deliver(OfferReply());
  const Instant request_sent = Now();
  Take();
  clock_.Advance(20ms);
  Reply ack = AckReply();
  ack.t1 = 1000;
  ack.t2 = 2000;
  Deliver(ack);
  EXPECT_EQ(client_->state(), Dhcp4State::kBound);
  EXPECT_TRUE(Take().empty());
  ASSERT_EQ(rec_.acquired.size(), 1u);
  const Dhcp4Lease& l = rec_.acquired[0];
  EXPECT_EQ(l.address, *Ip4Interface::Parse("10.77.0.50/24"));
  EXPECT_EQ(l.server_id, kServer);
  EXPECT_EQ(l.router, kRouter);
  EXPECT_EQ(l.dns, (std::vector<Ip4Address>{kDns1, kDns2}));
  EXPECT_EQ(l.mtu, 1400);
  EXPECT_EQ(l.domain, "lab.example");
  EXPECT_EQ(l.lease_time, 3600s);
  EXPECT_EQ(l.t1, 1000s);
  EXPECT_EQ(l.t2, 2000s);
  EXPECT_EQ(l.requested, request_sent);  // RFC 2131 §4.4.1
  EXPECT_EQ(l.acquired, Now());
  EXPECT_EQ(client_->lease(), l);
  EXPECT_EQ(client_->NextDeadline(), request_sent + 1000s);
  EXPECT_TRUE(rec_.renewed.empty());
  EXPECT_TRUE(rec_.lost.empty());
  EXPECT_EQ(CounterDelta(before, Counters()), (Delta{{"tx_discovers", 1},
                                                     {"tx_requests", 1},
                                                     {"rx_messages", 2},
                                                     {"rx_offers", 1},
                                                     {"rx_acks", 1},
                                                     {"leases_acquired", 1}}));
}

TEST_F(Dhcp4ClientTest, DefaultTimersAreHalfAndSevenEighths) {
  Bind();
  const Dhcp4Lease& l = *client_->lease();
  EXPECT_EQ(l.t1, 1800s);
  EXPECT_EQ(l.t2, 3150s);
  EXPECT_EQ(l.renew_at(), Now() + 1800s);
  EXPECT_EQ(l.rebind_at(), Now() + 3150s);
  EXPECT_EQ(l.expires_at(), Now() + 3600s);
}

TEST_F(Dhcp4ClientTest, LostDiscoverRetransmittedWithBackoff) {
  const Instant t0 = Now();
  client_->Start(Now());
  RunFor(400s);
  const auto sent = Take();
  // 1 s doubling to 64 s (see the client's file comment for why not 4 s).
  const std::vector<Duration> expected = {0s,  1s,   3s,   7s,   15s,  31s,
                                          63s, 127s, 191s, 255s, 319s, 383s};
  ASSERT_EQ(sent.size(), expected.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].at - t0, expected[i]) << i;
    const Dhcp4View v = sent[i].view();
    EXPECT_EQ(v.message_type(), Type::kDiscover);
    EXPECT_EQ(v.xid(), sent[0].view().xid());  // retransmissions keep the xid
    EXPECT_EQ(v.secs(), std::chrono::duration_cast<std::chrono::seconds>(expected[i]).count());
  }
  EXPECT_EQ(client_->counters().Get(Dhcp4Counter::kTxRetransmissions), expected.size() - 1);
  // A late OFFER to the retransmitted DISCOVER is taken.
  Deliver(OfferReply());
  EXPECT_EQ(client_->state(), Dhcp4State::kRequesting);
}

TEST_F(Dhcp4ClientTest, RandomizedBackoffStaysWithinRfcBounds) {
  Dhcp4ClientConfig c = Deterministic();
  c.randomize = true;
  Make(c);
  client_->Start(Now());
  RunFor(600s);
  const auto sent = Take();
  ASSERT_GE(sent.size(), 10u);
  Duration base = 1s;
  bool varied = false;
  for (size_t i = 1; i < sent.size(); ++i) {
    const Duration gap = sent[i].at - sent[i - 1].at;
    // RFC 2131 §4.1: ±1 s; ±25% while the timeout is below 4 s.
    const Duration jitter = std::min<Duration>(base / 4, 1s);
    EXPECT_GE(gap, base - jitter) << i;
    EXPECT_LE(gap, base + jitter) << i;
    varied = varied || gap != base;
    base = std::min<Duration>(base * 2, 64s);
  }
  EXPECT_TRUE(varied);
}

TEST_F(Dhcp4ClientTest, LostOfferThenOfferToRetransmission) {
  client_->Start(Now());
  RunFor(3s);  // DISCOVERs at 0, 1, 3: the OFFERs to the first two were lost
  EXPECT_EQ(Take().size(), 3u);
  Deliver(OfferReply());
  Take();
  Deliver(AckReply());
  EXPECT_EQ(client_->state(), Dhcp4State::kBound);
  EXPECT_EQ(rec_.acquired.size(), 1u);
}

TEST_F(Dhcp4ClientTest, LostRequestOrAckRetransmittedThenBackToInit) {
  client_->Start(Now());
  const uint32_t xid = TakeOne().view().xid();
  Deliver(OfferReply());
  const Instant t0 = Now();
  RunFor(14s);
  auto sent = Take();
  ASSERT_EQ(sent.size(), 4u);  // Config::request_attempts
  const std::vector<Duration> expected = {0s, 1s, 3s, 7s};
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].at - t0, expected[i]);
    EXPECT_EQ(sent[i].view().message_type(), Type::kRequest);
    EXPECT_EQ(sent[i].view().xid(), xid);
    EXPECT_EQ(sent[i].view().requested_ip(), kOffered);
  }
  EXPECT_EQ(client_->state(), Dhcp4State::kRequesting);
  // RFC 2131 §3.1.5: no ACK or NAK after the retransmissions: INIT, a new DISCOVER.
  RunFor(1s);
  const Sent d = TakeOne();
  EXPECT_EQ(d.at - t0, 15s);
  EXPECT_EQ(d.view().message_type(), Type::kDiscover);
  EXPECT_NE(d.view().xid(), xid);
  EXPECT_EQ(client_->state(), Dhcp4State::kSelecting);
  EXPECT_EQ(client_->counters().Get(Dhcp4Counter::kRequestTimeouts), 1u);
  EXPECT_TRUE(rec_.acquired.empty());
}

TEST_F(Dhcp4ClientTest, AckToRetransmittedRequestTimesLeaseFromFirstRequest) {
  client_->Start(Now());
  Take();
  Deliver(OfferReply());
  const Instant first_request = Now();
  RunFor(3s);  // REQUESTs at 0, 1, 3: the ACKs to the first two were lost
  EXPECT_EQ(Take().size(), 3u);
  clock_.Advance(10ms);
  Deliver(AckReply());
  ASSERT_EQ(client_->state(), Dhcp4State::kBound);
  EXPECT_EQ(client_->lease()->requested, first_request);
  EXPECT_EQ(client_->lease()->expires_at(), first_request + 3600s);
}

TEST_F(Dhcp4ClientTest, RequestingNakRestartsDiscoverAndBacksOffRepeatedNaks) {
  client_->Start(Now());
  const uint32_t xid = TakeOne().view().xid();
  Deliver(OfferReply());
  Take();
  Deliver(NakReply());
  // RFC 2131 §3.1 step 5: back to INIT; nothing was leased, so nothing is lost.
  EXPECT_EQ(client_->state(), Dhcp4State::kSelecting);
  EXPECT_TRUE(rec_.lost.empty());
  Sent d = TakeOne();
  EXPECT_EQ(d.at, Now());
  EXPECT_EQ(d.view().message_type(), Type::kDiscover);
  EXPECT_NE(d.view().xid(), xid);
  EXPECT_FALSE(d.view().requested_ip());
  EXPECT_EQ(client_->counters().Get(Dhcp4Counter::kRxNaks), 1u);

  // A second NAK in a row waits 1 s, a third 2 s.
  Deliver(OfferReply());
  Take();
  Deliver(NakReply());
  EXPECT_EQ(client_->state(), Dhcp4State::kInit);
  EXPECT_TRUE(Take().empty());
  const Instant nak2 = Now();
  RunFor(1s);
  EXPECT_EQ(TakeOne().at - nak2, 1s);
  Deliver(OfferReply());
  Take();
  Deliver(NakReply());
  const Instant nak3 = Now();
  RunFor(2s);
  EXPECT_EQ(TakeOne().at - nak3, 2s);
  // A lease resets the count.
  Deliver(OfferReply());
  Take();
  Deliver(AckReply());
  EXPECT_EQ(client_->state(), Dhcp4State::kBound);
}

TEST_F(Dhcp4ClientTest, TwoOffersFirstWinsSecondIgnored) {
  client_->Start(Now());
  Take();
  Deliver(OfferReply());
  Reply second = OfferReply();
  second.yiaddr = kOffered2;
  second.server_id = kServer2;
  Deliver(second, kServer2);
  const auto sent = Take();
  ASSERT_EQ(sent.size(), 1u);  // one REQUEST, for the first OFFER
  EXPECT_EQ(sent[0].view().server_id(), kServer);
  EXPECT_EQ(sent[0].view().requested_ip(), kOffered);
  EXPECT_EQ(client_->counters().Get(Dhcp4Counter::kRxOffersIgnored), 1u);
  // The second server does not get to ACK a REQUEST that named the first.
  Reply ack2 = AckReply();
  ack2.yiaddr = kOffered2;
  ack2.server_id = kServer2;
  Deliver(ack2, kServer2);
  EXPECT_EQ(client_->state(), Dhcp4State::kRequesting);
  EXPECT_EQ(client_->counters().Get(Dhcp4Counter::kRxDropWrongServer), 1u);
  Deliver(AckReply());
  EXPECT_EQ(client_->lease()->address.address(), kOffered);
}

// INIT-REBOOT that gets no answer, so DISCOVER asks for the cached address.
class Dhcp4PreferredTest : public Dhcp4ClientTest {
 protected:
  void StartFromCacheAndTimeOut() {
    Dhcp4Lease cached;
    cached.address = *Ip4Interface::Parse("10.77.0.50/24");
    cached.server_id = kServer;
    client_->Start(Now(), cached);
    RunFor(900ms);
    auto sent = Take();
    ASSERT_EQ(sent.size(), 3u);  // two INIT-REBOOT REQUESTs, then a DISCOVER
    ASSERT_EQ(sent[2].view().message_type(), Type::kDiscover);
    EXPECT_EQ(sent[2].view().requested_ip(), kOffered);  // RFC 2131 §4.4.1 MAY
  }
};

TEST_F(Dhcp4PreferredTest, OfferOfCachedAddressWinsOverEarlierOffer) {
  StartFromCacheAndTimeOut();
  Reply other = OfferReply();
  other.yiaddr = kOffered2;
  other.server_id = kServer2;
  Deliver(other, kServer2);
  EXPECT_TRUE(Take().empty());  // held for offer_wait
  clock_.Advance(100ms);
  Deliver(OfferReply());
  const Sent r = TakeOne();
  EXPECT_EQ(r.view().requested_ip(), kOffered);
  EXPECT_EQ(r.view().server_id(), kServer);
  EXPECT_EQ(client_->state(), Dhcp4State::kRequesting);
}

TEST_F(Dhcp4PreferredTest, OtherOfferTakenAfterOfferWait) {
  StartFromCacheAndTimeOut();
  Reply other = OfferReply();
  other.yiaddr = kOffered2;
  other.server_id = kServer2;
  Deliver(other, kServer2);
  const Instant got = Now();
  RunFor(499ms);
  EXPECT_TRUE(Take().empty());
  RunFor(1ms);
  const Sent r = TakeOne();
  EXPECT_EQ(r.at - got, 500ms);
  EXPECT_EQ(r.view().requested_ip(), kOffered2);
  EXPECT_EQ(r.view().server_id(), kServer2);
}

// Each bad reply is dropped with its own counter, nothing is sent and the state stays.
struct BadCase {
  const char* name;
  Dhcp4State in;  // kSelecting (an OFFER is awaited) or kRequesting (an ACK)
  std::function<void(Reply&)> mutate;
  const char* counter;
};

TEST_F(Dhcp4ClientTest, BadRepliesIgnoredAndCounted) {
  const std::vector<BadCase> cases = {
      {"wrong xid", Dhcp4State::kSelecting, [](Reply& r) { r.xid ^= 1; }, "rx_drop_bad_xid"},
      {"wrong chaddr", Dhcp4State::kSelecting, [](Reply& r) { r.chaddr = kOtherMac; },
       "rx_drop_bad_chaddr"},
      {"BOOTREQUEST op", Dhcp4State::kSelecting, [](Reply& r) { r.op = Dhcp4Op::kBootRequest; },
       "rx_drop_not_reply"},
      {"offer without server id", Dhcp4State::kSelecting, [](Reply& r) { r.server_id.reset(); },
       "rx_drop_no_server_id"},
      {"server id broadcast", Dhcp4State::kSelecting,
       [](Reply& r) { r.server_id = Ip4Address::Broadcast(); }, "rx_drop_bad_server_id"},
      {"yiaddr zero", Dhcp4State::kSelecting, [](Reply& r) { r.yiaddr = Ip4Address(); },
       "rx_drop_bad_address"},
      {"yiaddr broadcast", Dhcp4State::kSelecting,
       [](Reply& r) { r.yiaddr = Ip4Address::Broadcast(); }, "rx_drop_bad_address"},
      {"yiaddr multicast", Dhcp4State::kSelecting,
       [](Reply& r) { r.yiaddr = Ip4Address(224, 0, 0, 1); }, "rx_drop_bad_address"},
      {"yiaddr loopback", Dhcp4State::kSelecting,
       [](Reply& r) { r.yiaddr = Ip4Address(127, 0, 0, 1); }, "rx_drop_bad_address"},
      {"yiaddr subnet broadcast", Dhcp4State::kSelecting,
       [](Reply& r) { r.yiaddr = Ip4Address(10, 77, 0, 255); }, "rx_drop_bad_address"},
      {"yiaddr network", Dhcp4State::kSelecting,
       [](Reply& r) { r.yiaddr = Ip4Address(10, 77, 0, 0); }, "rx_drop_bad_address"},
      {"non-contiguous mask", Dhcp4State::kSelecting,
       [](Reply& r) { r.mask = Ip4Address(255, 0, 255, 0); }, "rx_drop_bad_mask"},
      {"ACK while selecting", Dhcp4State::kSelecting, [](Reply& r) { r.type = Type::kAck; },
       "rx_drop_unexpected"},
      {"unknown message type", Dhcp4State::kSelecting,
       [](Reply& r) { r.type = static_cast<Type>(42); }, "rx_drop_unexpected"},
      {"ack without lease time", Dhcp4State::kRequesting, [](Reply& r) { r.lease_time.reset(); },
       "rx_drop_no_lease_time"},
      {"ack with zero lease time", Dhcp4State::kRequesting, [](Reply& r) { r.lease_time = 0; },
       "rx_drop_bad_lease_time"},
      {"ack without server id", Dhcp4State::kRequesting, [](Reply& r) { r.server_id.reset(); },
       "rx_drop_no_server_id"},
      {"ack for another address", Dhcp4State::kRequesting, [](Reply& r) { r.yiaddr = kOffered2; },
       "rx_drop_bad_address"},
      {"ack from another server", Dhcp4State::kRequesting, [](Reply& r) { r.server_id = kServer2; },
       "rx_drop_wrong_server"},
      {"ack with wrong xid", Dhcp4State::kRequesting, [](Reply& r) { r.xid += 1; },
       "rx_drop_bad_xid"},
      {"offer while requesting", Dhcp4State::kRequesting, [](Reply& r) { r.type = Type::kOffer; },
       "rx_offers_ignored"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    Make(Deterministic());
    client_->Start(Now());
    Take();
    if (c.in == Dhcp4State::kRequesting) {
      Deliver(OfferReply());
      Take();
    }
    ASSERT_EQ(client_->state(), c.in);
    Reply r = c.in == Dhcp4State::kSelecting ? OfferReply() : AckReply();
    c.mutate(r);
    const auto before = Counters();
    Deliver(r);
    EXPECT_EQ(CounterDelta(before, Counters()), (Delta{{"rx_messages", 1}, {c.counter, 1}}));
    EXPECT_TRUE(Take().empty());
    EXPECT_EQ(client_->state(), c.in);
    EXPECT_TRUE(rec_.acquired.empty());
  }
}

TEST_F(Dhcp4ClientTest, MalformedMessagesIgnoredAndCounted) {
  client_->Start(Now());
  Take();
  const std::vector<uint8_t> good = OfferReply().Bytes();
  std::vector<std::vector<uint8_t>> bad = {
      {},
      std::vector<uint8_t>(good.begin(), good.begin() + 239),  // inside the fixed part
      std::vector<uint8_t>(good.begin(), good.begin() + 250),  // options cut, no End
      std::vector<uint8_t>(300, 0xff),                         // garbage
  };
  std::vector<uint8_t> cookie = good;
  cookie[236] ^= 1;
  bad.push_back(cookie);
  for (const auto& b : bad) {
    const auto before = Counters();
    client_->Receive(b, kServer, Now());
    EXPECT_EQ(CounterDelta(before, Counters()),
              (Delta{{"rx_messages", 1}, {"rx_drop_malformed", 1}}));
  }
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(client_->state(), Dhcp4State::kSelecting);
  client_->Receive(good, kServer, Now());  // the intact one still works
  EXPECT_EQ(client_->state(), Dhcp4State::kRequesting);
}

TEST_F(Dhcp4ClientTest, BoundIgnoresStrayReplies) {
  Bind();
  const auto before = Counters();
  Deliver(AckReply());  // a duplicate of the ACK
  Deliver(OfferReply());
  EXPECT_EQ(CounterDelta(before, Counters()),
            (Delta{{"rx_messages", 2}, {"rx_drop_unexpected", 2}}));
  EXPECT_TRUE(rec_.acquired.empty());
  EXPECT_EQ(client_->state(), Dhcp4State::kBound);
}

TEST_F(Dhcp4ClientTest, RenewsAtT1WithUnicastRequest) {
  Bind();
  const Instant t0 = Now();
  const uint32_t old_xid = client_->xid();
  RunUntil(t0 + 1800s - 1ns);
  EXPECT_TRUE(Take().empty());
  RunFor(1ns);
  EXPECT_EQ(client_->state(), Dhcp4State::kRenewing);
  const Sent s = TakeOne();
  EXPECT_EQ(s.at, t0 + 1800s);
  // RFC 2131 §4.4.5: unicast to the server, from the leased address.
  EXPECT_EQ(s.src, kOffered);
  EXPECT_EQ(s.dst, kServer);
  const Dhcp4View v = s.view();
  ExpectClientCommon(v, client_->xid());
  EXPECT_NE(v.xid(), old_xid);
  EXPECT_EQ(v.message_type(), Type::kRequest);
  // §4.3.2 RENEWING: ciaddr set, no requested IP, no server identifier.
  EXPECT_EQ(v.ciaddr(), kOffered);
  EXPECT_FALSE(v.requested_ip());
  EXPECT_FALSE(v.server_id());
  EXPECT_FALSE(v.broadcast());
  EXPECT_EQ(v.secs(), 0);

  clock_.Advance(5ms);
  Deliver(AckReply());
  EXPECT_EQ(client_->state(), Dhcp4State::kBound);
  ASSERT_EQ(rec_.renewed.size(), 1u);
  EXPECT_TRUE(rec_.acquired.empty());
  EXPECT_TRUE(rec_.lost.empty());
  EXPECT_EQ(rec_.renewed[0].requested, t0 + 1800s);
  EXPECT_EQ(client_->NextDeadline(), t0 + 3600s);  // the next T1
  EXPECT_EQ(client_->counters().Get(Dhcp4Counter::kLeasesRenewed), 1u);
}

TEST_F(Dhcp4ClientTest, RenewingRetransmitsThenRebindsThenExpires) {
  Bind();
  const Instant t0 = Now();
  RunUntil(t0 + 3600s - 1ns);
  const auto sent = Take();
  // RFC 2131 §4.4.5: half the time left to T2 (RENEWING) or to expiry (REBINDING), at
  // least 60 s; nothing is armed past the next state change.
  struct Want {
    Duration at;
    Ip4Address dst;
  };
  const std::vector<Want> want = {
      {1800s, kServer},
      {2475s, kServer},
      {2812500ms, kServer},
      {2981250ms, kServer},
      {3065625ms, kServer},
      {3125625ms, kServer},
      {3150s, Ip4Address::Broadcast()},
      {3375s, Ip4Address::Broadcast()},
      {3487500ms, Ip4Address::Broadcast()},
      {3547500ms, Ip4Address::Broadcast()},
  };
  ASSERT_EQ(sent.size(), want.size());
  const uint32_t renew_xid = sent[0].view().xid();
  const uint32_t rebind_xid = sent[6].view().xid();
  EXPECT_NE(renew_xid, rebind_xid);
  for (size_t i = 0; i < sent.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(sent[i].at - t0, want[i].at);
    EXPECT_EQ(sent[i].src, kOffered);
    EXPECT_EQ(sent[i].dst, want[i].dst);
    const Dhcp4View v = sent[i].view();
    EXPECT_EQ(v.message_type(), Type::kRequest);
    EXPECT_EQ(v.ciaddr(), kOffered);
    EXPECT_FALSE(v.requested_ip());
    EXPECT_FALSE(v.server_id());
    EXPECT_FALSE(v.broadcast());
    EXPECT_EQ(v.xid(), i < 6 ? renew_xid : rebind_xid);
  }
  EXPECT_EQ(client_->state(), Dhcp4State::kRebinding);
  EXPECT_TRUE(rec_.lost.empty());

  // Expiry: the address goes, and DISCOVER asks for it again.
  RunFor(1ns);
  EXPECT_EQ(client_->state(), Dhcp4State::kSelecting);
  ASSERT_EQ(rec_.lost.size(), 1u);
  EXPECT_EQ(rec_.lost[0].address.address(), kOffered);
  EXPECT_FALSE(client_->lease());
  const Sent d = TakeOne();
  EXPECT_EQ(d.at - t0, 3600s);
  EXPECT_EQ(d.src, Ip4Address::Any());
  EXPECT_EQ(d.view().message_type(), Type::kDiscover);
  EXPECT_EQ(d.view().requested_ip(), kOffered);
}

TEST_F(Dhcp4ClientTest, RebindingAckFromAnotherServerRenews) {
  Bind();
  const Instant t0 = Now();
  RunUntil(t0 + 3150s);
  EXPECT_EQ(client_->state(), Dhcp4State::kRebinding);
  const Sent s = Take().back();
  EXPECT_EQ(s.dst, Ip4Address::Broadcast());
  Reply ack = AckReply();
  ack.server_id = kServer2;
  Deliver(ack, kServer2);
  EXPECT_EQ(client_->state(), Dhcp4State::kBound);
  ASSERT_EQ(rec_.renewed.size(), 1u);
  EXPECT_EQ(client_->lease()->server_id, kServer2);
  EXPECT_EQ(client_->lease()->requested, t0 + 3150s);
  // The next renewal goes to the new server.
  RunUntil(t0 + 3150s + 1800s);
  EXPECT_EQ(TakeOne().dst, kServer2);
}

TEST_F(Dhcp4ClientTest, RenewingNakLosesLease) {
  Bind();
  RunFor(1800s);
  Take();
  Deliver(NakReply());
  ASSERT_EQ(rec_.lost.size(), 1u);
  EXPECT_EQ(rec_.lost[0].address.address(), kOffered);
  EXPECT_FALSE(client_->lease());
  EXPECT_EQ(client_->state(), Dhcp4State::kSelecting);
  const Sent d = TakeOne();
  EXPECT_EQ(d.view().message_type(), Type::kDiscover);
  EXPECT_FALSE(d.view().requested_ip());  // the NAK'd address is not asked for again
}

TEST_F(Dhcp4ClientTest, RenewalWithChangedOptionsReportsAcquired) {
  Bind();
  RunFor(1800s);
  Take();
  Reply ack = AckReply();
  ack.dns = {kDns2};
  Deliver(ack);
  EXPECT_TRUE(rec_.renewed.empty());
  ASSERT_EQ(rec_.acquired.size(), 1u);
  EXPECT_EQ(rec_.acquired[0].dns, std::vector<Ip4Address>{kDns2});
  EXPECT_TRUE(rec_.lost.empty());
}

TEST_F(Dhcp4ClientTest, InfiniteLeaseHasNoTimers) {
  client_->Start(Now());
  Take();
  Deliver(OfferReply());
  Take();
  Reply ack = AckReply();
  ack.lease_time = kDhcp4InfiniteLease;
  Deliver(ack);
  ASSERT_EQ(client_->state(), Dhcp4State::kBound);
  EXPECT_TRUE(client_->lease()->infinite());
  EXPECT_TRUE(client_->NextDeadline().is_infinite());
}

TEST_F(Dhcp4ClientTest, ServerTimersOutOfOrderFallBackToDefaults) {
  client_->Start(Now());
  Take();
  Deliver(OfferReply());
  Take();
  Reply ack = AckReply();
  ack.t1 = 3000;  // after T2
  ack.t2 = 2000;
  Deliver(ack);
  EXPECT_EQ(client_->lease()->t2, 2000s);
  EXPECT_EQ(client_->lease()->t1, 1800s);
  Make(Deterministic());
  client_->Start(Now());
  Take();
  Deliver(OfferReply());
  Take();
  ack = AckReply();
  ack.t2 = 4000;  // after expiry
  Deliver(ack);
  EXPECT_EQ(client_->lease()->t2, 3150s);
  EXPECT_EQ(client_->lease()->t1, 1800s);
}

TEST_F(Dhcp4ClientTest, MissingMaskUsesClassDefault) {
  client_->Start(Now());
  Take();
  Reply offer = OfferReply();
  offer.mask.reset();
  Deliver(offer);
  Take();
  Reply ack = AckReply();
  ack.mask.reset();
  Deliver(ack);
  // 10.77.0.50 is class A: no subnetting assumed (RFC 1122 §3.2.2.9), so /8, not /24.
  EXPECT_EQ(client_->lease()->address, *Ip4Interface::Parse("10.77.0.50/8"));
}

Dhcp4Lease CachedLease() {
  Dhcp4Lease cached;
  cached.address = *Ip4Interface::Parse("10.77.0.50/24");
  cached.server_id = kServer;
  cached.lease_time = 3600s;
  return cached;
}

TEST_F(Dhcp4ClientTest, InitRebootAckBinds) {
  client_->Start(Now(), CachedLease());
  EXPECT_EQ(client_->state(), Dhcp4State::kRebooting);
  const Sent s = TakeOne();
  EXPECT_EQ(s.at, Now());
  EXPECT_EQ(s.src, Ip4Address::Any());
  EXPECT_EQ(s.dst, Ip4Address::Broadcast());
  const Dhcp4View v = s.view();
  ExpectClientCommon(v, client_->xid());
  // RFC 2131 §4.3.2 INIT-REBOOT: requested IP filled in, no server id, ciaddr 0.
  EXPECT_EQ(v.message_type(), Type::kRequest);
  EXPECT_EQ(v.requested_ip(), kOffered);
  EXPECT_FALSE(v.server_id());
  EXPECT_EQ(v.ciaddr(), Ip4Address());
  EXPECT_TRUE(v.broadcast());
  clock_.Advance(2ms);
  Deliver(AckReply());
  EXPECT_EQ(client_->state(), Dhcp4State::kBound);
  ASSERT_EQ(rec_.acquired.size(), 1u);
  EXPECT_EQ(rec_.acquired[0].address.address(), kOffered);
  EXPECT_EQ(rec_.acquired[0].requested, s.at);
  EXPECT_TRUE(rec_.lost.empty());
}

TEST_F(Dhcp4ClientTest, InitRebootNakDiscovers) {
  client_->Start(Now(), CachedLease());
  Take();
  Deliver(NakReply());
  EXPECT_TRUE(rec_.lost.empty());  // nothing was configured
  EXPECT_EQ(client_->state(), Dhcp4State::kSelecting);
  const Sent d = TakeOne();
  EXPECT_EQ(d.view().message_type(), Type::kDiscover);
  EXPECT_FALSE(d.view().requested_ip());
}

TEST_F(Dhcp4ClientTest, InitRebootNoAnswerFallsBackToDiscover) {
  const Instant t0 = Now();
  client_->Start(Now(), CachedLease());
  RunFor(900ms);
  const auto sent = Take();
  ASSERT_EQ(sent.size(), 3u);
  const std::vector<Duration> at = {0ms, 300ms, 900ms};
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(sent[i].at - t0, at[i]);
    EXPECT_EQ(sent[i].view().message_type(), Type::kRequest);
    EXPECT_EQ(sent[i].view().xid(), sent[0].view().xid());
  }
  EXPECT_EQ(sent[2].at - t0, at[2]);
  EXPECT_EQ(sent[2].view().message_type(), Type::kDiscover);
  EXPECT_NE(sent[2].view().xid(), sent[0].view().xid());
  EXPECT_EQ(client_->counters().Get(Dhcp4Counter::kRequestTimeouts), 1u);
  EXPECT_TRUE(rec_.acquired.empty());
  EXPECT_EQ(rec_.stale, 0);  // silence alone does not prove the cache wrong (§3.2)
}

// Issue 19: a cache from another network, whose servers stay silent to INIT-REBOOT (RFC
// 2131 §4.3.2), costs a preloaded program at most 1.125 s before DISCOVER, with the §4.1
// randomisation, whatever the draw.
TEST_F(Dhcp4ClientTest, InitRebootSilentServerDiscoversWithinBound) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Random random(seed);
    Recorder rec(&clock_);
    Dhcp4ClientConfig config;  // randomised, as in the stack
    Dhcp4Client client(kMac, &random, &rec, config);
    const Instant t0 = Now();
    client.Start(t0, CachedLease());
    while (client.state() == Dhcp4State::kRebooting) {
      ASSERT_LE(client.NextDeadline() - t0, 1125ms) << "seed " << seed;
      clock_.AdvanceTo(client.NextDeadline());
      client.Poll(Now());
    }
    EXPECT_EQ(client.state(), Dhcp4State::kSelecting);
    ASSERT_EQ(rec.sent.size(), 3u);
    EXPECT_EQ(rec.sent[0].view().message_type(), Type::kRequest);
    EXPECT_EQ(rec.sent[1].view().message_type(), Type::kRequest);
    EXPECT_EQ(rec.sent[2].view().message_type(), Type::kDiscover);
    EXPECT_GE(rec.sent[2].at - t0, 675ms);  // 225 ms + 450 ms: 300 ms and 600 ms, -25%
    EXPECT_LE(rec.sent[2].at - t0, 1125ms);
  }
}

TEST_F(Dhcp4ClientTest, InitRebootNakForgetsCacheAndNewLeaseFollows) {
  client_->Start(Now(), CachedLease());
  Take();
  Deliver(NakReply());
  EXPECT_EQ(rec_.stale, 1);  // the stack deletes the cache file
  const Sent d = TakeOne();
  ASSERT_EQ(d.view().message_type(), Type::kDiscover);
  EXPECT_FALSE(d.view().requested_ip());  // the NAK'd address is not asked for again
  Reply offer = OfferReply();
  offer.yiaddr = kOffered2;
  Deliver(offer);
  TakeOne();
  Reply ack = AckReply();
  ack.yiaddr = kOffered2;
  Deliver(ack);
  ASSERT_EQ(rec_.acquired.size(), 1u);  // the stack writes this lease to the cache
  EXPECT_EQ(rec_.acquired[0].address.address(), kOffered2);
  EXPECT_EQ(rec_.stale, 1);
}

// The case: the cache names 192.168.99.50 from 192.168.99.1; this network's server
// stays silent to INIT-REBOOT and then OFFERs one of its own addresses, which is taken at
// once (no offer_wait for the cached address), and the cache is forgotten.
TEST_F(Dhcp4ClientTest, OfferFromAnotherNetworkForgetsCacheAndIsTakenAtOnce) {
  Dhcp4Lease stale;
  stale.address = *Ip4Interface::Parse("192.168.99.50/24");
  stale.server_id = Ip4Address(192, 168, 99, 1);
  stale.router = Ip4Address(192, 168, 99, 1);
  stale.lease_time = 3600s;
  const Instant t0 = Now();
  client_->Start(Now(), stale);
  RunFor(900ms);
  auto sent = Take();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[2].view().requested_ip(), Ip4Address(192, 168, 99, 50));
  EXPECT_EQ(rec_.stale, 0);
  clock_.Advance(3ms);
  Deliver(OfferReply());
  EXPECT_EQ(rec_.stale, 1);
  const Sent r = TakeOne();
  EXPECT_EQ(r.at, Now());
  EXPECT_EQ(r.view().message_type(), Type::kRequest);
  EXPECT_EQ(r.view().requested_ip(), kOffered);
  Deliver(AckReply());
  EXPECT_EQ(client_->state(), Dhcp4State::kBound);
  ASSERT_EQ(rec_.acquired.size(), 1u);
  EXPECT_EQ(rec_.acquired[0].address.address(), kOffered);
  EXPECT_LT(Now() - t0, 1s);
}

// A second server on the cached subnet is not another network: the cached address keeps
// its offer_wait (Dhcp4PreferredTest), and the cache is kept.
TEST_F(Dhcp4ClientTest, OfferFromSecondServerOnSameSubnetKeepsCache) {
  client_->Start(Now(), CachedLease());
  RunFor(900ms);
  Take();
  Reply other = OfferReply();
  other.yiaddr = kOffered2;
  other.server_id = kServer2;
  Deliver(other, kServer2);
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(rec_.stale, 0);
}

TEST_F(Dhcp4ClientTest, OfferWithAnotherRouterIsAnotherNetwork) {
  Dhcp4Lease cached = CachedLease();
  cached.router = Ip4Address(10, 77, 0, 254);
  client_->Start(Now(), cached);
  RunFor(900ms);
  Take();
  Reply other = OfferReply();  // router kRouter, 10.77.0.1
  other.yiaddr = kOffered2;
  Deliver(other);
  EXPECT_EQ(rec_.stale, 1);
  EXPECT_EQ(TakeOne().view().requested_ip(), kOffered2);
}

TEST_F(Dhcp4ClientTest, ConflictDeclinesAndRestartsAfterTenSeconds) {
  Bind();
  const Instant t0 = Now();
  client_->OnAddressConflict(Now());
  const Sent s = TakeOne();
  // RFC 2131 §4.4.4: broadcast; Table 5: ciaddr 0, requested IP and server id MUST,
  // parameter request list, max message size and hostname MUST NOT.
  EXPECT_EQ(s.src, Ip4Address::Any());
  EXPECT_EQ(s.dst, Ip4Address::Broadcast());
  const Dhcp4View v = s.view();
  EXPECT_EQ(v.op(), Dhcp4Op::kBootRequest);
  EXPECT_EQ(v.message_type(), Type::kDecline);
  EXPECT_EQ(v.client_mac(), kMac);
  EXPECT_EQ(v.ciaddr(), Ip4Address());
  EXPECT_EQ(v.requested_ip(), kOffered);
  EXPECT_EQ(v.server_id(), kServer);
  EXPECT_EQ(OptionData(v, Code::kClientId), ClientIdOf(kMac));
  EXPECT_FALSE(v.parameter_request_list());
  EXPECT_FALSE(v.max_message_size());
  EXPECT_FALSE(v.host_name());
  ASSERT_EQ(rec_.lost.size(), 1u);
  EXPECT_EQ(rec_.lost[0].address.address(), kOffered);
  EXPECT_FALSE(client_->lease());
  EXPECT_EQ(client_->state(), Dhcp4State::kInit);
  EXPECT_EQ(client_->NextDeadline(), t0 + 10s);
  // RFC 2131 §3.1.5: at least ten seconds before restarting.
  RunUntil(t0 + 10s - 1ns);
  EXPECT_TRUE(Take().empty());
  RunFor(1ns);
  const Sent d = TakeOne();
  EXPECT_EQ(d.at - t0, 10s);
  EXPECT_EQ(d.view().message_type(), Type::kDiscover);
  EXPECT_FALSE(d.view().requested_ip());  // not the declined address
  EXPECT_EQ(client_->counters().Get(Dhcp4Counter::kTxDeclines), 1u);
}

TEST_F(Dhcp4ClientTest, ConflictWithoutLeaseIgnored) {
  client_->Start(Now());
  Take();
  client_->OnAddressConflict(Now());
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(client_->state(), Dhcp4State::kSelecting);
}

TEST_F(Dhcp4ClientTest, ReleaseUnicastsAndStops) {
  Bind();
  client_->Release(Now());
  const Sent s = TakeOne();
  // RFC 2131 §4.4.6: unicast to the server; Table 5: ciaddr set, server id MUST, requested
  // IP MUST NOT.
  EXPECT_EQ(s.src, kOffered);
  EXPECT_EQ(s.dst, kServer);
  const Dhcp4View v = s.view();
  EXPECT_EQ(v.message_type(), Type::kRelease);
  EXPECT_EQ(v.ciaddr(), kOffered);
  EXPECT_EQ(v.server_id(), kServer);
  EXPECT_FALSE(v.requested_ip());
  EXPECT_FALSE(v.broadcast());
  EXPECT_EQ(OptionData(v, Code::kClientId), ClientIdOf(kMac));
  EXPECT_FALSE(v.parameter_request_list());
  ASSERT_EQ(rec_.lost.size(), 1u);
  EXPECT_EQ(client_->state(), Dhcp4State::kStopped);
  EXPECT_FALSE(client_->lease());
  EXPECT_TRUE(client_->NextDeadline().is_infinite());
  // Stopped: replies are dropped and time does nothing.
  Deliver(AckReply());
  RunFor(10000s);
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(client_->counters().Get(Dhcp4Counter::kRxDropUnexpected), 1u);
  // Start() brings it back.
  client_->Start(Now());
  EXPECT_EQ(TakeOne().view().message_type(), Type::kDiscover);
}

TEST_F(Dhcp4ClientTest, ReleaseWithoutLeaseJustStops) {
  client_->Start(Now());
  Take();
  Deliver(OfferReply());
  Take();
  client_->Release(Now());
  EXPECT_TRUE(Take().empty());
  EXPECT_TRUE(rec_.lost.empty());
  EXPECT_EQ(client_->state(), Dhcp4State::kStopped);
  Deliver(AckReply());  // the ACK to the abandoned REQUEST
  EXPECT_FALSE(client_->lease());
}

TEST_F(Dhcp4ClientTest, ConfiguredClientIdIsTypeZero) {
  Dhcp4ClientConfig c = Deterministic();
  c.client_id = "host-7";
  c.hostname.clear();
  Make(c);
  client_->Start(Now());
  const auto sent = TakeOne();  // the view reads into it: keep it alive
  const Dhcp4View v = sent.view();
  EXPECT_EQ(OptionData(v, Code::kClientId),
            (std::vector<uint8_t>{0, 'h', 'o', 's', 't', '-', '7'}));
  EXPECT_FALSE(v.host_name());
}

TEST_F(Dhcp4ClientTest, RestartWhileBoundLosesLease) {
  Bind();
  client_->Start(Now());
  EXPECT_EQ(rec_.lost.size(), 1u);
  EXPECT_EQ(TakeOne().view().message_type(), Type::kDiscover);
}

TEST(Dhcp4ClientNames, StatesAndCountersHaveDistinctNames) {
  std::set<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(Dhcp4State::kStopped); ++i) {
    names.insert(ToString(static_cast<Dhcp4State>(i)));
  }
  EXPECT_EQ(names.size(), 9u);
  EXPECT_EQ(ToString(Dhcp4State::kRebinding), "rebinding");
  names.clear();
  for (size_t i = 0; i < static_cast<size_t>(Dhcp4Counter::kCount); ++i) {
    const std::string_view n = CounterName(static_cast<Dhcp4Counter>(i));
    EXPECT_NE(n, "?");
    names.insert(n);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(Dhcp4Counter::kCount));
}

}  // namespace
}  // namespace pytcp
