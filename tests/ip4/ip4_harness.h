// A stack on a memory link driven frame by frame from a FramePeer, for the IPv4 and
// ICMPv4 engine tests: the lab's addresses, frame builders, and Exchange() (inject a
// frame, run the stack, return what it sent) with the counters each exchange moved.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stack/stack.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/ip4.h"
#include "stack/wire/udp.h"
#include "tests/support/frame_peer.h"
#include "tests/support/memory_stack.h"
#include "tests/support/simulator.h"

namespace pytcp::ip4_testing {


constexpr MacAddress kOurMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x02});
constexpr MacAddress kPeerMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x01});
constexpr MacAddress kGwMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0xfe});
constexpr Ip4Address kOurIp(10, 77, 0, 2);
constexpr Ip4Address kPeerIp(10, 77, 0, 1);
constexpr Ip4Address kGwIp(10, 77, 0, 254);

struct Frame {
  MacAddress dst;
  Ip4Header ip;
  std::vector<uint8_t> l4;  // transport header + payload
};

inline std::vector<uint8_t> Build(const Frame& f) {
  const size_t hlen = f.ip.header_size();
  std::vector<uint8_t> out(kEthernetHeaderSize + hlen + f.l4.size());
  EthernetHeader{f.dst, kPeerMac, EtherType::kIp4}.Emit(out);
  f.ip.Emit(MutableByteSpan(out).subspan(kEthernetHeaderSize), f.l4.size());
  std::copy(f.l4.begin(), f.l4.end(), out.begin() + static_cast<long>(kEthernetHeaderSize + hlen));
  if (out.size() < kEthernetMinFrameSize) out.resize(kEthernetMinFrameSize, 0);
  return out;
}

inline std::vector<uint8_t> Echo(Icmp4Type type, uint16_t id, uint16_t seq, size_t data_len) {
  std::vector<uint8_t> data(data_len);
  for (size_t i = 0; i < data_len; ++i) data[i] = static_cast<uint8_t>(i);
  std::vector<uint8_t> msg(kIcmp4HeaderSize + data_len);
  std::copy(data.begin(), data.end(), msg.begin() + kIcmp4HeaderSize);
  Icmp4Header{type, 0, (uint32_t{id} << 16) | seq}.Emit(msg, data);
  return msg;
}

inline Ip4Header Header(Ip4Address src, Ip4Address dst, IpProto proto) {
  Ip4Header h;
  h.src = src;
  h.dst = dst;
  h.protocol = proto;
  h.id = 0x1234;
  return h;
}

class Ip4EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(false); }

  void Start(bool drop_options, bool forwarding = false) {
    StackConfig c = testing::MemoryStackConfig(kOurMac, "10.77.0.2/24", 3);
    c.ip4_gateway = kGwIp;
    c.ip4_drop_options = drop_options;
    c.forwarding = forwarding;
    // A router's tests hand it datagrams above the MTU (as coalesced frames would come).
    MemoryLinkConfig link;
    link.coalesced_frames = forwarding;
    auto pair = MemoryLink::CreatePair(link, clock_);
    peer_link_ = std::move(pair.b);
    peer_ = std::make_unique<testing::FramePeer>(peer_link_.get());
    stack_ = *Stack::CreateWithLink(c, std::move(pair.a), &clock_);
    ASSERT_TRUE(stack_->StartManual().ok());
    std::lock_guard lock(stack_->mutex());
    stack_->arp().cache().AddPermanent(kPeerIp, kPeerMac);
    stack_->arp().cache().AddPermanent(kGwIp, kGwMac);
  }

  // Injects a frame, runs the stack, and returns what it sent back.
  std::vector<std::vector<uint8_t>> Exchange(const std::vector<uint8_t>& frame) {
    before_ = stack_->CounterSnapshot();
    peer_->Inject(frame);
    stack_->ProcessLink();
    stack_->RunTimers();
    return peer_->Drain();
  }
  std::map<std::string, int64_t> Moved() {
    return CounterDelta(before_, stack_->CounterSnapshot());
  }

  VirtualClock clock_;
  std::unique_ptr<MemoryLink> peer_link_;
  std::unique_ptr<testing::FramePeer> peer_;
  std::unique_ptr<Stack> stack_;
  std::map<std::string, uint64_t> before_;
};

}  // namespace pytcp::ip4_testing
