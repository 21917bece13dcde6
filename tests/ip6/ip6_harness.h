// Test aid for the IPv6 host: one Stack on a MemoryLink under a VirtualClock, a FramePeer
// at the far end, builders for the frames a peer sends (Ethernet + IPv6 + extension headers
// + ICMPv6) and a reader for the frames the stack sends. Shared by tests/ip6, tests/icmp6,
// tests/nd and tests/mld.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "stack/stack.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/icmp6.h"
#include "stack/wire/icmp6_mld.h"
#include "stack/wire/icmp6_nd.h"
#include "stack/wire/ip6.h"
#include "stack/wire/ip6_ext.h"
#include "tests/support/frame_peer.h"

namespace pytcp::testing {

inline constexpr MacAddress kOurMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x02});
inline constexpr MacAddress kPeerMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x01});
inline constexpr MacAddress kRouterMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0xfe});
// fe80::ff:fe77:2 from kOurMac by EUI-64 (RFC 4291 Appendix A: the U/L bit flips).
inline const Ip6Address kOurLinkLocal = *Ip6Address::Parse("fe80::ff:fe77:2");
inline const Ip6Address kOurGlobal = *Ip6Address::Parse("fd77::2");
inline const Ip6Address kOurSlaac = *Ip6Address::Parse("fd77::ff:fe77:2");
inline const Ip6Address kPeerLinkLocal = *Ip6Address::Parse("fe80::1");
inline const Ip6Address kPeerGlobal = *Ip6Address::Parse("fd77::1");
inline const Ip6Address kRouterLinkLocal = *Ip6Address::Parse("fe80::fe");
inline const Ip6Address kFar = *Ip6Address::Parse("fd78::2");

// A frame as the stack sent it, parsed down to ICMPv6 when it is one.
struct Sent {
  std::vector<uint8_t> bytes;
  MacAddress eth_dst;
  Ip6Address src, dst;
  uint8_t hop_limit = 0;
  uint8_t upper = 0;           // upper-layer protocol after the chain
  bool router_alert = false;
  std::optional<Ip6FragmentHeader> fragment;
  std::vector<uint8_t> upper_payload;  // bytes after the chain (fragment data if fragmented)
  bool is_icmp6() const { return upper == 58 && !fragment; }
  Icmp6View icmp() const {
    auto v = Icmp6View::Parse(upper_payload, Icmp6PseudoHeaderSum(src, dst, upper_payload.size()));
    EXPECT_TRUE(v.ok());
    return *v;
  }
  Icmp6Type icmp_type() const { return static_cast<Icmp6Type>(upper_payload.at(0)); }
};

inline Sent ParseSent(const std::vector<uint8_t>& frame) {
  Sent s;
  s.bytes = frame;
  auto eth = EthernetView::Parse(frame);
  EXPECT_TRUE(eth.ok());
  s.eth_dst = eth->dst();
  EXPECT_EQ(eth->ethertype(), EtherType::kIp6);
  auto ip = Ip6View::Parse(eth->payload());
  EXPECT_TRUE(ip.ok());
  if (!ip.ok()) return s;
  s.src = ip->src();
  s.dst = ip->dst();
  s.hop_limit = ip->hop_limit();
  auto chain = Ip6ExtChain::Parse(*ip);
  EXPECT_TRUE(chain.ok());
  if (!chain.ok()) return s;
  if (auto h = chain->hop_by_hop()) s.router_alert = h->router_alert().has_value();
  s.upper = static_cast<uint8_t>(chain->upper_protocol());
  if (auto f = chain->fragment()) {
    s.fragment = Ip6FragmentHeader{f->next_header(), f->fragment_offset(), f->more_fragments(),
                                   f->identification()};
  }
  s.upper_payload.assign(chain->upper_payload().begin(), chain->upper_payload().end());
  return s;
}

// Frame builder: Ethernet + IPv6 header + `ext` (raw extension headers, the caller sets
// their Next Header fields) + `upper`.
inline std::vector<uint8_t> Frame(const MacAddress& eth_dst, const Ip6Header& ip, ByteSpan ext,
                                  ByteSpan upper, const MacAddress& eth_src = kPeerMac) {
  std::vector<uint8_t> out(kEthernetHeaderSize + kIp6HeaderSize + ext.size() + upper.size());
  EthernetHeader{eth_dst, eth_src, EtherType::kIp6}.Emit(out);
  ip.Emit(MutableByteSpan(out).subspan(kEthernetHeaderSize), ext.size() + upper.size());
  std::copy(ext.begin(), ext.end(), out.begin() + kEthernetHeaderSize + kIp6HeaderSize);
  std::copy(upper.begin(), upper.end(),
            out.begin() + static_cast<long>(kEthernetHeaderSize + kIp6HeaderSize + ext.size()));
  if (out.size() < kEthernetMinFrameSize) out.resize(kEthernetMinFrameSize, 0);
  return out;
}

inline Ip6Header Hdr(const Ip6Address& src, const Ip6Address& dst, Ip6NextHeader nh,
                     uint8_t hop_limit = 64) {
  Ip6Header h;
  h.src = src;
  h.dst = dst;
  h.next_header = nh;
  h.hop_limit = hop_limit;
  return h;
}

inline std::vector<uint8_t> EchoData(size_t n) {
  std::vector<uint8_t> d(n);
  for (size_t i = 0; i < n; ++i) d[i] = static_cast<uint8_t>(i * 7);
  return d;
}

// An echo request/reply message between src and dst.
inline std::vector<uint8_t> Echo(const Ip6Address& src, const Ip6Address& dst, bool request,
                                 uint16_t id, uint16_t seq, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> msg(kIcmp6HeaderSize + data.size());
  std::copy(data.begin(), data.end(), msg.begin() + kIcmp6HeaderSize);
  (request ? Icmp6Header::EchoRequest(id, seq) : Icmp6Header::EchoReply(id, seq))
      .Emit(msg, data, Icmp6PseudoHeaderSum(src, dst, msg.size()));
  return msg;
}

// Serialises an ND/MLD message struct (anything with size() and Emit(out, sum)).
template <typename Msg>
std::vector<uint8_t> Message(const Msg& m, const Ip6Address& src, const Ip6Address& dst) {
  std::vector<uint8_t> out(m.size());
  m.Emit(out, Icmp6PseudoHeaderSum(src, dst, out.size()));
  return out;
}

class Ip6Harness : public ::testing::Test {
 protected:
  // Starts a stack with IPv6 only. `tweak` adjusts the configuration.
  void Start(const std::function<void(StackConfig&)>& tweak = {}) {
    StackConfig c;
    c.interface = "mem0";
    c.mac = kOurMac;
    c.ip4_mode = Ip4Mode::kNone;
    c.ip6_mode = Ip6Mode::kAuto;
    c.seed = 7;
    if (tweak) tweak(c);
    // A router's tests hand it packets above the MTU (as coalesced frames would come).
    MemoryLinkConfig link;
    link.coalesced_frames = c.forwarding;
    auto pair = MemoryLink::CreatePair(link, clock_);
    peer_link_ = std::move(pair.b);
    peer_ = std::make_unique<FramePeer>(peer_link_.get());
    stack_ = *Stack::CreateWithLink(c, std::move(pair.a), &clock_);
    ASSERT_TRUE(stack_->StartManual().ok());
  }

  // Runs the stack's timers until `d` has passed, collecting what it sends.
  std::vector<Sent> Run(Duration d) {
    const Instant end = clock_.Now() + d;
    std::vector<Sent> out;
    while (true) {
      stack_->ProcessLink();
      stack_->RunTimers();
      for (auto& f : peer_->Drain()) out.push_back(ParseSent(f));
      const Instant next = stack_->NextDeadline();
      if (next > end) break;
      clock_.AdvanceTo(next > clock_.Now() ? next : clock_.Now() + 1ms);
    }
    clock_.AdvanceTo(end);
    stack_->ProcessLink();
    stack_->RunTimers();
    for (auto& f : peer_->Drain()) out.push_back(ParseSent(f));
    return out;
  }
  // Brings the stack up past DAD of the addresses it has, forgetting what it sent.
  void Settle() {
    (void)Run(5s);
    before_ = stack_->CounterSnapshot();
  }
  // Injects a frame, runs the stack without moving the clock, returns what it sent.
  std::vector<Sent> Exchange(const std::vector<uint8_t>& frame) {
    before_ = stack_->CounterSnapshot();
    peer_->Inject(frame);
    stack_->ProcessLink();
    stack_->RunTimers();
    std::vector<Sent> out;
    for (auto& f : peer_->Drain()) out.push_back(ParseSent(f));
    return out;
  }
  std::map<std::string, int64_t> Moved() { return CounterDelta(before_, stack_->CounterSnapshot()); }
  int64_t MovedBy(const std::string& name) {
    auto m = Moved();
    auto it = m.find(name);
    return it == m.end() ? 0 : it->second;
  }
  // Neighbours known in advance (no NS/NA in tests that are not about ND).
  void KnowNeighbours() {
    std::lock_guard lock(stack_->mutex());
    stack_->nd().cache().AddPermanent(kPeerLinkLocal, kPeerMac);
    stack_->nd().cache().AddPermanent(kPeerGlobal, kPeerMac);
    stack_->nd().cache().AddPermanent(kRouterLinkLocal, kRouterMac);
  }
  const Ip6AddressEntry* Address(const Ip6Address& a) {
    std::lock_guard lock(stack_->mutex());
    return stack_->ip6_addresses().Find(a);
  }

  VirtualClock clock_;
  std::unique_ptr<MemoryLink> peer_link_;
  std::unique_ptr<FramePeer> peer_;
  std::unique_ptr<Stack> stack_;
  std::map<std::string, uint64_t> before_;
};

}  // namespace pytcp::testing
