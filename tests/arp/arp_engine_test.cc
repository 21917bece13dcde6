#include "stack/arp/arp_engine.h"

#include <gtest/gtest.h>

#include <memory>

#include "stack/link/memory_link.h"
#include "tests/support/frame_peer.h"

namespace pytcp {
namespace {

constexpr MacAddress kOurMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x02});
constexpr MacAddress kPeerMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x01});
constexpr MacAddress kThirdMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x03});
constexpr Ip4Address kOurIp(10, 77, 0, 2);
constexpr Ip4Address kPeerIp(10, 77, 0, 1);

std::vector<uint8_t> ArpFrame(const MacAddress& dst, const ArpPacket& p) {
  std::vector<uint8_t> f(kEthernetMinFrameSize, 0);
  EthernetHeader{dst, p.sha, EtherType::kArp}.Emit(f);
  p.Emit(MutableByteSpan(f).subspan(kEthernetHeaderSize));
  return f;
}

struct Sent {
  MacAddress dst;
  ArpPacket arp;
};

class ArpEngineTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(AcdMode::kOff); }

  void Build(AcdMode mode) {
    config_.acd_mode = mode;
    pair_ = MemoryLink::CreatePair(MemoryLinkConfig{}, clock_);
    peer_ = std::make_unique<testing::FramePeer>(pair_.b.get());
    iface_ = std::make_unique<Interface>(pair_.a.get(), kOurMac, "test0");
    addresses_ = Ip4AddressTable();
    arp_ = std::make_unique<ArpEngine>(iface_.get(), &addresses_, &random_, config_);
    iface_->RegisterHandler(EtherType::kArp, arp_.get());
    arp_->set_failure_handler(
        [this](Ip4Address, std::vector<ArpEngine::Packet> dropped, Instant now) {
          failed_ += dropped.size();
          failed_at_ = now;
        });
    arp_->set_conflict_handler([this](Ip4Address, MacAddress) { ++conflicts_; });
  }

  void AddAddress(Ip4Address a) {
    addresses_.Add({*Ip4Interface::Create(a, 24), Ip4AddressState::kTentative});
    arp_->StartConflictDetection(a, clock_.Now());
  }

  // Delivers what the peer sent to the stack.
  void Pump() {
    while (pair_.a->Receive([&](ByteSpan f) { iface_->Receive(f, clock_.Now()); }, 64).frames) {
    }
  }
  void RunFor(Duration d) {
    const Instant until = clock_.Now() + d;
    while (true) {
      Pump();
      const Instant next = arp_->NextDeadline();
      if (next > until) break;
      clock_.AdvanceTo(next);
      arp_->Poll(clock_.Now());
    }
    clock_.AdvanceTo(until);
    Pump();
  }
  std::vector<Sent> SentByStack() {
    std::vector<Sent> out;
    for (auto& f : peer_->Drain()) {
      auto eth = EthernetView::Parse(f);
      EXPECT_TRUE(eth.ok());
      EXPECT_EQ(f.size(), kEthernetMinFrameSize);  // padded to the minimum
      auto arp = ArpView::Parse(eth->payload());
      EXPECT_TRUE(arp.ok());
      out.push_back({eth->dst(), arp->ToPacket()});
    }
    return out;
  }

  VirtualClock clock_;
  Random random_{5};
  ArpConfig config_;
  MemoryLink::Pair pair_;
  std::unique_ptr<testing::FramePeer> peer_;
  std::unique_ptr<Interface> iface_;
  Ip4AddressTable addresses_;
  std::unique_ptr<ArpEngine> arp_;
  size_t failed_ = 0;
  Instant failed_at_;  // the time the failure was reported with
  int conflicts_ = 0;
};

TEST_F(ArpEngineTest, RepliesToRequestForOurAddressAndLearnsRequester) {
  AddAddress(kOurIp);
  peer_->Inject(ArpFrame(MacAddress::Broadcast(), ArpPacket::Request(kPeerMac, kPeerIp, kOurIp)));
  Pump();
  auto sent = SentByStack();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].dst, kPeerMac);
  EXPECT_EQ(sent[0].arp, ArpPacket::Reply(kOurMac, kOurIp, kPeerMac, kPeerIp));
  const auto* entry = arp_->cache().Find(kPeerIp);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->state, NeighbourState::kStale);
  EXPECT_EQ(entry->mac, kPeerMac);
  EXPECT_EQ(arp_->counters().Get(ArpCounter::kTxReplies), 1u);
}

TEST_F(ArpEngineTest, IgnoresRequestForOtherAddressWithoutCaching) {
  AddAddress(kOurIp);
  peer_->Inject(ArpFrame(MacAddress::Broadcast(),
                         ArpPacket::Request(kPeerMac, kPeerIp, Ip4Address(10, 77, 0, 9))));
  Pump();
  EXPECT_TRUE(SentByStack().empty());
  EXPECT_EQ(arp_->cache().Find(kPeerIp), nullptr);
  EXPECT_EQ(arp_->counters().Get(ArpCounter::kRxDropNotForUs), 1u);
}

TEST_F(ArpEngineTest, ResolvesQueuesAndFlushesFirstPacket) {
  AddAddress(kOurIp);
  MacAddress mac;
  ArpEngine::Packet packet{0x45, 0, 0, 20};
  EXPECT_EQ(arp_->Resolve(kPeerIp, clock_.Now(), &mac, &packet),
            ArpEngine::ResolveResult::kQueued);
  auto sent = SentByStack();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].dst, MacAddress::Broadcast());
  EXPECT_EQ(sent[0].arp, ArpPacket::Request(kOurMac, kOurIp, kPeerIp));
  peer_->Inject(ArpFrame(kOurMac, ArpPacket::Reply(kPeerMac, kPeerIp, kOurMac, kOurIp)));
  Pump();
  // The queued IPv4 packet left as soon as the reply came.
  auto frames = peer_->Drain();
  ASSERT_EQ(frames.size(), 1u);
  auto eth = EthernetView::Parse(frames[0]);
  ASSERT_TRUE(eth.ok());
  EXPECT_EQ(eth->dst(), kPeerMac);
  EXPECT_EQ(eth->ethertype(), EtherType::kIp4);
  EXPECT_EQ(arp_->Resolve(kPeerIp, clock_.Now(), &mac, nullptr),
            ArpEngine::ResolveResult::kResolved);
  EXPECT_EQ(mac, kPeerMac);
}

TEST_F(ArpEngineTest, UnansweredResolutionRetriesThenReportsFailure) {
  AddAddress(kOurIp);
  MacAddress mac;
  ArpEngine::Packet packet{0x45};
  const Instant start = clock_.Now();
  (void)arp_->Resolve(kPeerIp, clock_.Now(), &mac, &packet);
  RunFor(10s);
  EXPECT_EQ(SentByStack().size(), 3u);
  EXPECT_EQ(failed_, 1u);
  EXPECT_EQ(failed_at_, start + 3s);  // after three requests 1 s apart, not time zero
  EXPECT_EQ(arp_->counters().Get(ArpCounter::kResolutionFailures), 1u);
}

TEST_F(ArpEngineTest, StrictProbesThenAnnouncesThenPrefers) {
  Build(AcdMode::kStrict);
  AddAddress(kOurIp);
  EXPECT_EQ(addresses_.Find(kOurIp)->state, Ip4AddressState::kTentative);
  EXPECT_FALSE(addresses_.IsOurs(kOurIp));
  RunFor(3s);
  EXPECT_EQ(addresses_.Find(kOurIp)->state, Ip4AddressState::kTentative);
  RunFor(10s);
  EXPECT_EQ(addresses_.Find(kOurIp)->state, Ip4AddressState::kPreferred);
  auto sent = SentByStack();
  ASSERT_EQ(sent.size(), 5u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sent[i].arp, ArpPacket::Probe(kOurMac, kOurIp));
  for (int i = 3; i < 5; ++i) EXPECT_EQ(sent[i].arp, ArpPacket::Announcement(kOurMac, kOurIp));
}

TEST_F(ArpEngineTest, OptimisticIsUsableAtOnce) {
  Build(AcdMode::kOptimistic);
  AddAddress(kOurIp);
  EXPECT_TRUE(addresses_.IsOurs(kOurIp));
  RunFor(15s);
  EXPECT_EQ(addresses_.Find(kOurIp)->state, Ip4AddressState::kPreferred);
}

TEST_F(ArpEngineTest, ProbeAnsweredMeansAddressNotUsed) {
  Build(AcdMode::kOptimistic);
  AddAddress(kOurIp);
  RunFor(1500ms);  // at least one probe out
  ASSERT_FALSE(SentByStack().empty());
  // The holder of the address answers the probe.
  peer_->Inject(ArpFrame(kOurMac, ArpPacket::Reply(kPeerMac, kOurIp, kOurMac, Ip4Address())));
  RunFor(15s);
  EXPECT_EQ(addresses_.Find(kOurIp)->state, Ip4AddressState::kDuplicate);
  EXPECT_FALSE(addresses_.IsOurs(kOurIp));
  EXPECT_EQ(conflicts_, 1);
  for (const auto& s : SentByStack()) EXPECT_NE(s.arp, ArpPacket::Announcement(kOurMac, kOurIp));
}

TEST_F(ArpEngineTest, SimultaneousProbeIsAConflict) {
  Build(AcdMode::kStrict);
  AddAddress(kOurIp);
  peer_->Inject(ArpFrame(MacAddress::Broadcast(), ArpPacket::Probe(kThirdMac, kOurIp)));
  RunFor(15s);
  EXPECT_EQ(addresses_.Find(kOurIp)->state, Ip4AddressState::kDuplicate);
}

TEST_F(ArpEngineTest, LaterConflictIsDefendedOnceThenGivenUp) {
  Build(AcdMode::kStrict);
  AddAddress(kOurIp);
  RunFor(15s);
  ASSERT_EQ(addresses_.Find(kOurIp)->state, Ip4AddressState::kPreferred);
  (void)SentByStack();
  const auto claim = ArpFrame(MacAddress::Broadcast(), ArpPacket::Announcement(kThirdMac, kOurIp));
  peer_->Inject(claim);
  Pump();
  auto sent = SentByStack();
  ASSERT_EQ(sent.size(), 1u);  // one defending announcement
  EXPECT_EQ(sent[0].arp, ArpPacket::Announcement(kOurMac, kOurIp));
  EXPECT_EQ(addresses_.Find(kOurIp)->state, Ip4AddressState::kPreferred);
  clock_.Advance(3s);
  peer_->Inject(claim);  // again within DEFEND_INTERVAL: give up
  Pump();
  EXPECT_EQ(addresses_.Find(kOurIp)->state, Ip4AddressState::kDuplicate);
  EXPECT_EQ(conflicts_, 1);
}

TEST_F(ArpEngineTest, MalformedAndForgedPacketsAreDroppedAndCounted) {
  AddAddress(kOurIp);
  auto frame = ArpFrame(MacAddress::Broadcast(), ArpPacket::Request(kPeerMac, kPeerIp, kOurIp));
  frame[kEthernetHeaderSize + 4] = 8;  // hlen 8
  peer_->Inject(frame);
  peer_->Inject(ArpFrame(MacAddress::Broadcast(),
                         ArpPacket::Request(MacAddress::Broadcast(), kPeerIp, kOurIp)));
  Pump();
  EXPECT_TRUE(SentByStack().empty());
  EXPECT_EQ(arp_->counters().Get(ArpCounter::kRxDropMalformed), 2u);
}

TEST_F(ArpEngineTest, FramesForOtherMacsAreFilteredByTheInterface) {
  AddAddress(kOurIp);
  peer_->Inject(ArpFrame(kThirdMac, ArpPacket::Request(kPeerMac, kPeerIp, kOurIp)));
  Pump();
  EXPECT_TRUE(SentByStack().empty());
  EXPECT_EQ(iface_->counters().Get(EthernetCounter::kRxDropNotForUs), 1u);
}

}  // namespace
}  // namespace pytcp
