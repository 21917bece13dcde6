// Test aid for IGMP and IPv4 multicast: one stack on a memory link and a virtual clock,
// frames injected from a peer, and what the stack sent parsed back into IGMP messages and
// UDP datagrams.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "stack/stack.h"
#include "stack/wire/igmp.h"
#include "stack/wire/ip4.h"
#include "stack/wire/udp.h"
#include "tests/support/frame_peer.h"
#include "tests/support/memory_stack.h"

namespace pytcp::testing {

inline constexpr MacAddress kOurMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x02});
inline constexpr MacAddress kPeerMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x01});
inline constexpr Ip4Address kOurIp(10, 77, 0, 2);
inline constexpr Ip4Address kPeerIp(10, 77, 0, 1);
inline constexpr Ip4Address kOtherIp(10, 77, 0, 9);
inline constexpr Ip4Address kGroup(239, 1, 2, 3);
inline constexpr Ip4Address kGroup2(239, 1, 2, 4);
inline constexpr Ip4Address kS1(10, 78, 0, 1);
inline constexpr Ip4Address kS2(10, 78, 0, 2);
inline constexpr Ip4Address kS3(10, 78, 0, 3);

struct IgmpRecordSeen {
  IgmpRecordType type;
  Ip4Address group;
  std::vector<Ip4Address> sources;
  bool operator==(const IgmpRecordSeen&) const = default;
};

// One IGMP message the stack sent, with how it was sent.
struct IgmpSeen {
  Ip4Address src, dst;
  uint8_t ttl = 0;
  uint8_t tos = 0;
  bool router_alert = false;
  bool dont_fragment = false;
  IgmpType type{};
  Ip4Address group;                    // IGMPv1/v2
  std::vector<IgmpRecordSeen> records;  // IGMPv3
};

class IgmpHarness : public ::testing::Test {
 protected:
  void SetUp() override {
    StackConfig c = MemoryStackConfig(kOurMac, "10.77.0.2/24", 7);
    auto pair = MemoryLink::CreatePair(MemoryLinkConfig{}, clock_);
    peer_link_ = std::move(pair.b);
    peer_ = std::make_unique<FramePeer>(peer_link_.get());
    stack_ = *Stack::CreateWithLink(c, std::move(pair.a), &clock_);
    ASSERT_TRUE(stack_->StartManual().ok());
    std::lock_guard lock(stack_->mutex());
    stack_->arp().cache().AddPermanent(kPeerIp, kPeerMac);
  }

  void Listen(const void* socket, Ip4Address group, McFilterMode mode,
              std::vector<Ip4Address> sources = {}) {
    std::lock_guard lock(stack_->mutex());
    stack_->igmp().Listen(socket, group, mode, sources, clock_.Now());
  }

  // Runs the stack's timers for `d` in 10 ms steps; the frames it sent meanwhile.
  std::vector<std::vector<uint8_t>> Run(Duration d) {
    std::vector<std::vector<uint8_t>> out;
    const Instant end = clock_.Now() + d;
    for (;;) {
      stack_->ProcessLink();
      stack_->RunTimers();
      for (auto& f : peer_->Drain()) out.push_back(std::move(f));
      if (clock_.Now() >= end) break;
      clock_.Advance(std::min<Duration>(10ms, end - clock_.Now()));
    }
    return out;
  }
  std::vector<std::vector<uint8_t>> Inject(const std::vector<uint8_t>& frame) {
    peer_->Inject(frame);
    return Run(0ms);
  }

  static std::vector<IgmpSeen> Igmp(const std::vector<std::vector<uint8_t>>& frames) {
    std::vector<IgmpSeen> out;
    for (const auto& f : frames) {
      auto eth = EthernetView::Parse(f);
      if (!eth.ok() || eth->ethertype() != EtherType::kIp4) continue;
      auto ip = Ip4View::Parse(eth->payload());
      if (!ip.ok() || ip->protocol() != IpProto::kIgmp) continue;
      IgmpSeen s;
      s.src = ip->src();
      s.dst = ip->dst();
      s.ttl = ip->ttl();
      s.tos = static_cast<uint8_t>(ip->dscp() << 2 | ip->ecn());
      s.dont_fragment = ip->dont_fragment();
      for (const Ip4Option o : ip->options()) {
        s.router_alert = s.router_alert || o.type == Ip4OptionType::kRouterAlert;
      }
      EXPECT_EQ(eth->dst(), MacAddress::FromIp4Multicast(s.dst));
      auto m = IgmpView::Parse(ip->payload());
      EXPECT_TRUE(m.ok());
      if (!m.ok()) continue;
      s.type = m->type();
      s.group = m->group();
      size_t off = kIgmpV3ReportMinSize;
      for (size_t i = 0; i < m->record_count(); ++i) {
        const auto r = m->RecordAt(&off);
        IgmpRecordSeen x{r.type, r.group, {}};
        for (size_t k = 0; k < r.source_count(); ++k) x.sources.push_back(r.source(k));
        s.records.push_back(std::move(x));
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  // A frame from `src` to `dst` carrying `l4` as protocol `proto`.
  static std::vector<uint8_t> Frame(Ip4Address src, Ip4Address dst, IpProto proto,
                                    const std::vector<uint8_t>& l4, bool router_alert = false,
                                    uint8_t ttl = 1, uint8_t tos = 0) {
    static constexpr uint8_t kRa[4] = {148, 4, 0, 0};
    Ip4Header h;
    h.src = src;
    h.dst = dst;
    h.protocol = proto;
    h.ttl = ttl;
    h.dscp = static_cast<uint8_t>(tos >> 2);
    h.ecn = static_cast<uint8_t>(tos & 3);
    if (router_alert) h.options = ByteSpan(kRa, 4);
    const MacAddress mac = dst.is_multicast()          ? MacAddress::FromIp4Multicast(dst)
                           : dst == Ip4Address(10, 77, 0, 255) ? MacAddress::Broadcast()
                                                       : kOurMac;
    std::vector<uint8_t> out(kEthernetHeaderSize + h.header_size() + l4.size());
    EthernetHeader{mac, kPeerMac, EtherType::kIp4}.Emit(out);
    h.Emit(MutableByteSpan(out).subspan(kEthernetHeaderSize), l4.size());
    std::copy(l4.begin(), l4.end(), out.begin() + static_cast<long>(kEthernetHeaderSize + h.header_size()));
    if (out.size() < kEthernetMinFrameSize) out.resize(kEthernetMinFrameSize, 0);
    return out;
  }

  // An IGMPv3 query (general when `group` is 0.0.0.0), to 224.0.0.1 or the group.
  static std::vector<uint8_t> V3Query(Ip4Address group, uint8_t max_resp_tenths = 10,
                                      std::vector<Ip4Address> sources = {}) {
    IgmpV3QueryMessage q;
    q.group = group;
    q.max_resp_code = max_resp_tenths;
    q.sources = sources;
    std::vector<uint8_t> m(q.size());
    q.Emit(m);
    return Frame(kPeerIp, group.is_unspecified() ? Ip4Address(224, 0, 0, 1) : group,
                 IpProto::kIgmp, m, true);
  }
  // An 8-byte query: IGMPv2's, or IGMPv1's when max_resp is 0.
  static std::vector<uint8_t> OldQuery(Ip4Address group, uint8_t max_resp) {
    IgmpV2Message q{IgmpType::kQuery, max_resp, group};
    std::vector<uint8_t> m(q.size());
    q.Emit(m);
    return Frame(kPeerIp, group.is_unspecified() ? Ip4Address(224, 0, 0, 1) : group,
                 IpProto::kIgmp, m, max_resp != 0);
  }
  static std::vector<uint8_t> OtherV2Report(Ip4Address group) {
    IgmpV2Message r{IgmpType::kV2Report, 0, group};
    std::vector<uint8_t> m(r.size());
    r.Emit(m);
    return Frame(kOtherIp, group, IpProto::kIgmp, m, true);
  }
  static std::vector<uint8_t> Udp(Ip4Address src, Ip4Address dst, uint16_t sport, uint16_t dport,
                                  std::vector<uint8_t> payload, uint8_t ttl = 64, uint8_t tos = 0) {
    std::vector<uint8_t> l4(kUdpHeaderSize + payload.size());
    std::copy(payload.begin(), payload.end(), l4.begin() + kUdpHeaderSize);
    UdpHeader{sport, dport}.Emit(l4, ByteSpan(l4).subspan(kUdpHeaderSize),
                                 PseudoHeaderSum4(src, dst, 17, static_cast<uint32_t>(l4.size())));
    return Frame(src, dst, IpProto::kUdp, l4, false, ttl, tos);
  }
  // The UDP datagrams the stack sent: (IPv4 view fields, payload).
  struct UdpSeen {
    Ip4Address src, dst;
    uint8_t ttl, tos;
    uint16_t sport, dport;
    std::vector<uint8_t> payload;
  };
  static std::vector<UdpSeen> Udps(const std::vector<std::vector<uint8_t>>& frames) {
    std::vector<UdpSeen> out;
    for (const auto& f : frames) {
      auto eth = EthernetView::Parse(f);
      if (!eth.ok() || eth->ethertype() != EtherType::kIp4) continue;
      auto ip = Ip4View::Parse(eth->payload());
      if (!ip.ok() || ip->protocol() != IpProto::kUdp) continue;
      auto u = UdpView::Parse(ip->payload(), ip->pseudo_header_sum());
      EXPECT_TRUE(u.ok());
      if (!u.ok()) continue;
      out.push_back(UdpSeen{ip->src(), ip->dst(), ip->ttl(),
                            static_cast<uint8_t>(ip->dscp() << 2 | ip->ecn()), u->src_port(),
                            u->dst_port(), std::vector<uint8_t>(u->payload().begin(), u->payload().end())});
    }
    return out;
  }

  VirtualClock clock_;
  std::unique_ptr<MemoryLink> peer_link_;
  std::unique_ptr<FramePeer> peer_;
  std::unique_ptr<Stack> stack_;
};

}  // namespace pytcp::testing
