// The Ethernet interface on its own (RFC 894, RFC 2464 §7, IEEE 802.3): which frames it
// takes, where it hands them, what it counts, and what it puts on the wire.
#include "stack/iface/interface.h"

#include <gtest/gtest.h>

#include <vector>

#include "stack/base/clock.h"
#include "stack/link/memory_link.h"

namespace pytcp {
namespace {

MacAddress Mac(const char* s) { return *MacAddress::Parse(s); }

class Recorder : public L3Handler {
 public:
  void ReceiveFrame(const EthernetView& frame, Instant, const RxFrameInfo&) override {
    payloads.emplace_back(frame.payload().begin(), frame.payload().end());
  }
  std::vector<std::vector<uint8_t>> payloads;
};

std::vector<uint8_t> Frame(const MacAddress& dst, const MacAddress& src, uint16_t type,
                           size_t payload = 46) {
  std::vector<uint8_t> f(14 + payload, 0xab);
  EthernetHeader{dst, src, static_cast<EtherType>(type)}.Emit(MutableByteSpan(f.data(), 14));
  return f;
}

class InterfaceTest : public ::testing::Test {
 protected:
  InterfaceTest() {
    auto pair = MemoryLink::CreatePair(MemoryLinkConfig{}, clock_);
    ours_ = std::move(pair.a);
    wire_ = std::move(pair.b);
    iface_ = std::make_unique<Interface>(ours_.get(), kOurMac, "tap7");
    iface_->RegisterHandler(EtherType::kIp4, &ip4_);
  }
  uint64_t Count(EthernetCounter c) const { return iface_->counters().Get(c); }
  void Deliver(const std::vector<uint8_t>& frame) { iface_->Receive(frame, clock_.Now()); }
  std::vector<std::vector<uint8_t>> Sent() {
    std::vector<std::vector<uint8_t>> out;
    (void)wire_->Receive([&](ByteSpan f, const RxFrameInfo&) { out.emplace_back(f.begin(), f.end()); },
                         64);
    return out;
  }

  const MacAddress kOurMac = Mac("02:00:00:77:00:02");
  const MacAddress kPeer = Mac("02:00:00:77:00:01");
  VirtualClock clock_;
  std::unique_ptr<MemoryLink> ours_;
  std::unique_ptr<MemoryLink> wire_;
  std::unique_ptr<Interface> iface_;
  Recorder ip4_;
};

TEST_F(InterfaceTest, TakesOurUnicastAndBroadcastDropsOthersUnicast) {
  Deliver(Frame(kOurMac, kPeer, 0x0800));
  Deliver(Frame(Mac("ff:ff:ff:ff:ff:ff"), kPeer, 0x0800));
  // The TAP's bridge floods unknown unicast to us.
  Deliver(Frame(Mac("02:00:00:77:00:99"), kPeer, 0x0800));
  EXPECT_EQ(ip4_.payloads.size(), 2u);
  EXPECT_EQ(Count(EthernetCounter::kRxFrames), 3u);
  EXPECT_EQ(Count(EthernetCounter::kRxDropNotForUs), 1u);
}

TEST_F(InterfaceTest, MulticastOnlyForGroupsJoinedAndReferenceCounted) {
  const MacAddress group = Mac("01:00:5e:00:00:fb");  // 224.0.0.251 (RFC 1112 §6.4)
  Deliver(Frame(group, kPeer, 0x0800));
  EXPECT_TRUE(ip4_.payloads.empty());
  iface_->JoinMulticast(group);
  iface_->JoinMulticast(group);  // two users of one group
  Deliver(Frame(group, kPeer, 0x0800));
  iface_->LeaveMulticast(group);
  EXPECT_TRUE(iface_->IsMemberOf(group));
  Deliver(Frame(group, kPeer, 0x0800));
  iface_->LeaveMulticast(group);
  EXPECT_FALSE(iface_->IsMemberOf(group));
  Deliver(Frame(group, kPeer, 0x0800));
  EXPECT_EQ(ip4_.payloads.size(), 2u);
  EXPECT_EQ(Count(EthernetCounter::kRxDropNotForUs), 2u);
}

TEST_F(InterfaceTest, UnknownEthertypeAndRuntFramesAreCountedDrops) {
  Deliver(Frame(kOurMac, kPeer, 0x88cc));  // LLDP: no handler
  Deliver(std::vector<uint8_t>(10, 0));   // shorter than a header
  EXPECT_TRUE(ip4_.payloads.empty());
  EXPECT_EQ(Count(EthernetCounter::kRxDropUnknownEthertype), 1u);
  EXPECT_EQ(Count(EthernetCounter::kRxDropMalformed), 1u);
}

TEST_F(InterfaceTest, SendWritesTheHeaderAndPadsShortFrames) {
  const std::vector<uint8_t> l3(20, 0x45);
  ASSERT_EQ(iface_->Send(kPeer, EtherType::kIp4, ByteSpan(l3)), LinkStatus::kOk);
  const auto sent = Sent();
  ASSERT_EQ(sent.size(), 1u);
  // RFC 894: padded to the 60-byte minimum (without the FCS), with zeros.
  ASSERT_EQ(sent[0].size(), 60u);
  auto view = EthernetView::Parse(sent[0]);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->dst(), kPeer);
  EXPECT_EQ(view->src(), kOurMac);
  EXPECT_EQ(view->ethertype(), EtherType::kIp4);
  EXPECT_EQ(sent[0][14], 0x45);
  EXPECT_EQ(sent[0][33], 0x45);
  EXPECT_EQ(sent[0][34], 0x00);
  EXPECT_EQ(Count(EthernetCounter::kTxFrames), 1u);
}

TEST_F(InterfaceTest, ALinkErrorIsCounted) {
  const std::vector<uint8_t> jumbo(9000, 0);  // beyond the link's MTU
  EXPECT_NE(iface_->Send(kPeer, EtherType::kIp4, ByteSpan(jumbo)), LinkStatus::kOk);
  EXPECT_EQ(Count(EthernetCounter::kTxDropLinkError), 1u);
  EXPECT_TRUE(Sent().empty());
}

}  // namespace
}  // namespace pytcp
