// The IPv6 engine of one stack driven frame by frame: extension header chains (valid,
// unknown options by their action bits, routing headers, malformed), reassembly in every
// order with duplicates and overlaps, atomic fragments, fragmentation out, path MTU from
// Packet Too Big, routing and source address selection.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/ip6/ip6_harness.h"

namespace pytcp::testing {
namespace {

// The address part of a next hop (the interface is the first in these tests).
std::optional<Ip6Address> HopAddress(const std::optional<Ip6NextHop>& hop) {
  if (!hop) return std::nullopt;
  return hop->address;
}

class Ip6EngineTest : public Ip6Harness {
 protected:
  void SetUp() override {
    Start([](StackConfig& c) {
      c.ip6_mode = Ip6Mode::kStatic;
      c.ip6_addresses = {*Ip6Interface::Parse("fd77::2/64")};
    });
    KnowNeighbours();
    Settle();
  }
  // An echo request from the peer's global address with `ext` in front of it.
  std::vector<uint8_t> Request(ByteSpan ext, Ip6NextHeader first, const Ip6Address& dst,
                               size_t data = 16) {
    auto msg = Echo(kPeerGlobal, dst, true, 0x77, 1, EchoData(data));
    const MacAddress mac = dst.is_multicast() ? MacAddress::FromIp6Multicast(dst) : kOurMac;
    return Frame(mac, Hdr(kPeerGlobal, dst, first), ext, msg);
  }
  static void ExpectParamProblem(const std::vector<Sent>& sent, Icmp6ParamProblemCode code,
                                 uint32_t pointer) {
    ASSERT_EQ(sent.size(), 1u);
    ASSERT_TRUE(sent[0].is_icmp6());
    const Icmp6View icmp = sent[0].icmp();
    EXPECT_EQ(icmp.type(), Icmp6Type::kParameterProblem);
    EXPECT_EQ(icmp.code(), static_cast<uint8_t>(code));
    EXPECT_EQ(icmp.pointer(), pointer);
    EXPECT_EQ(sent[0].dst, kPeerGlobal);
    EXPECT_EQ(sent[0].src, kOurGlobal);
  }
};

// Destination Options header carrying one option of `type` with 4 bytes of data (8 bytes).
std::vector<uint8_t> DestOpts(uint8_t type, Ip6NextHeader next = Ip6NextHeader::kIcmp6) {
  return {static_cast<uint8_t>(next), 0, type, 4, 1, 2, 3, 4};
}

TEST_F(Ip6EngineTest, StaticAddressPreferredAfterDad) {
  const Ip6AddressEntry* e = Address(kOurGlobal);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->state, Ip6AddressState::kPreferred);
  EXPECT_EQ(Address(kOurLinkLocal)->state, Ip6AddressState::kPreferred);
}

TEST_F(Ip6EngineTest, EchoRequestGetsExactReply) {
  auto sent = Exchange(Request({}, Ip6NextHeader::kIcmp6, kOurGlobal, 56));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].eth_dst, kPeerMac);
  EXPECT_EQ(sent[0].src, kOurGlobal);
  EXPECT_EQ(sent[0].dst, kPeerGlobal);
  EXPECT_EQ(sent[0].hop_limit, 64);
  EXPECT_EQ(sent[0].upper_payload, Echo(kOurGlobal, kPeerGlobal, false, 0x77, 1, EchoData(56)));
  EXPECT_EQ(MovedBy("icmp6.tx_echo_replies"), 1);
}

TEST_F(Ip6EngineTest, EchoToLinkLocalAnsweredFromLinkLocal) {
  auto msg = Echo(kPeerLinkLocal, kOurLinkLocal, true, 1, 2, EchoData(8));
  auto sent = Exchange(Frame(kOurMac, Hdr(kPeerLinkLocal, kOurLinkLocal, Ip6NextHeader::kIcmp6), {}, msg));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].src, kOurLinkLocal);
  EXPECT_EQ(sent[0].upper_payload, Echo(kOurLinkLocal, kPeerLinkLocal, false, 1, 2, EchoData(8)));
}

TEST_F(Ip6EngineTest, NotOurAddressDropped) {
  auto sent = Exchange(Request({}, Ip6NextHeader::kIcmp6, *Ip6Address::Parse("fd77::99")));
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(MovedBy("ip6.rx_drop_not_for_us"), 1);
}

TEST_F(Ip6EngineTest, UnknownOptionSkipBitsDelivered) {
  auto ext = DestOpts(0x1e);  // 00: skip
  auto sent = Exchange(Request(ext, Ip6NextHeader::kDestinationOptions, kOurGlobal));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].icmp_type(), Icmp6Type::kEchoReply);
}

TEST_F(Ip6EngineTest, UnknownOptionDiscardBitsSilent) {
  auto ext = DestOpts(0x5e);  // 01: discard
  auto sent = Exchange(Request(ext, Ip6NextHeader::kDestinationOptions, kOurGlobal));
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(MovedBy("ip6.rx_drop_option"), 1);
}

TEST_F(Ip6EngineTest, UnknownOptionIcmpBitsParameterProblemCode2) {
  auto ext = DestOpts(0x9e);  // 10: discard and send code 2 pointing at the option type
  ExpectParamProblem(Exchange(Request(ext, Ip6NextHeader::kDestinationOptions, kOurGlobal)),
                     Icmp6ParamProblemCode::kOption, 42);
}

TEST_F(Ip6EngineTest, UnknownOptionIcmpUnlessMulticastBits) {
  auto ext = DestOpts(0xde);  // 11
  ExpectParamProblem(Exchange(Request(ext, Ip6NextHeader::kDestinationOptions, kOurGlobal)),
                     Icmp6ParamProblemCode::kOption, 42);
  // To a multicast address: no error (RFC 8200 §4.2), while 10 still answers (RFC 4443 §2.4 e.3).
  EXPECT_TRUE(Exchange(Request(ext, Ip6NextHeader::kDestinationOptions,
                               Ip6Address::AllNodesMulticast()))
                  .empty());
  auto ext10 = DestOpts(0x9e);
  auto sent = Exchange(Request(ext10, Ip6NextHeader::kDestinationOptions,
                               Ip6Address::AllNodesMulticast()));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].icmp().type(), Icmp6Type::kParameterProblem);
}

TEST_F(Ip6EngineTest, HopByHopThenDestinationOptionsChainDelivered) {
  std::vector<uint8_t> ext = {static_cast<uint8_t>(Ip6NextHeader::kDestinationOptions), 0, 1, 4, 0, 0, 0, 0};
  auto d = DestOpts(0x1e);
  ext.insert(ext.end(), d.begin(), d.end());
  auto sent = Exchange(Request(ext, Ip6NextHeader::kHopByHop, kOurGlobal));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].icmp_type(), Icmp6Type::kEchoReply);
}

TEST_F(Ip6EngineTest, HopByHopNotFirstIsParameterProblemCode1) {
  // Destination Options, then Hop-by-Hop: code 1 at the Next Header field naming it (40).
  std::vector<uint8_t> ext = {static_cast<uint8_t>(Ip6NextHeader::kHopByHop), 0, 1, 4, 0, 0, 0, 0,
                              static_cast<uint8_t>(Ip6NextHeader::kIcmp6), 0, 1, 4, 0, 0, 0, 0};
  ExpectParamProblem(Exchange(Request(ext, Ip6NextHeader::kDestinationOptions, kOurGlobal)),
                     Icmp6ParamProblemCode::kNextHeader, 40);
}

TEST_F(Ip6EngineTest, RoutingType0WithSegmentsLeftRejected) {
  // RFC 5095: type 0, one address, segments left 1: code 0 at the Routing Type field.
  std::vector<uint8_t> ext(24, 0);
  ext[0] = static_cast<uint8_t>(Ip6NextHeader::kIcmp6);
  ext[1] = 2;
  ext[2] = 0;
  ext[3] = 1;
  ExpectParamProblem(Exchange(Request(ext, Ip6NextHeader::kRouting, kOurGlobal)),
                     Icmp6ParamProblemCode::kHeaderField, 42);
  EXPECT_EQ(MovedBy("ip6.rx_drop_routing_header"), 1);
}

TEST_F(Ip6EngineTest, RoutingHeaderWithNoSegmentsLeftIgnored) {
  std::vector<uint8_t> ext(24, 0);
  ext[0] = static_cast<uint8_t>(Ip6NextHeader::kIcmp6);
  ext[1] = 2;
  ext[2] = 0;
  ext[3] = 0;
  auto sent = Exchange(Request(ext, Ip6NextHeader::kRouting, kOurGlobal));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].icmp_type(), Icmp6Type::kEchoReply);
}

TEST_F(Ip6EngineTest, TruncatedExtensionHeaderIsParameterProblem) {
  // Hdr Ext Len says 16 bytes, 8 are there: code 0 at the length field.
  std::vector<uint8_t> ext = {static_cast<uint8_t>(Ip6NextHeader::kIcmp6), 1, 1, 4, 0, 0, 0, 0};
  auto frame = Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kDestinationOptions), ext, {});
  auto sent = Exchange(frame);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].icmp().type(), Icmp6Type::kParameterProblem);
  EXPECT_EQ(MovedBy("ip6.rx_drop_malformed"), 1);
}

TEST_F(Ip6EngineTest, UnknownNextHeaderIsParameterProblemCode1) {
  std::vector<uint8_t> payload(8, 0);
  auto frame = Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, static_cast<Ip6NextHeader>(253)), {}, payload);
  ExpectParamProblem(Exchange(frame), Icmp6ParamProblemCode::kNextHeader, 6);
  EXPECT_EQ(MovedBy("ip6.rx_drop_unknown_protocol"), 1);
}

TEST_F(Ip6EngineTest, NoNextHeaderDroppedSilently) {
  auto frame = Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kNoNextHeader), {}, {});
  EXPECT_TRUE(Exchange(frame).empty());
}

// The fragments of `message` (an ICMPv6 message) cut at the given offsets.
std::vector<std::vector<uint8_t>> Fragments(const std::vector<uint8_t>& message, uint32_t id,
                                            const std::vector<size_t>& cuts) {
  std::vector<std::vector<uint8_t>> out;
  std::vector<size_t> bounds(cuts.size() + 2, 0);
  std::copy(cuts.begin(), cuts.end(), bounds.begin() + 1);
  bounds.back() = message.size();
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    Ip6FragmentHeader fh{Ip6NextHeader::kIcmp6, static_cast<uint32_t>(bounds[i]),
                         i + 2 < bounds.size(), id};
    std::vector<uint8_t> ext(8);
    fh.Emit(ext);
    std::vector<uint8_t> piece(message.begin() + static_cast<long>(bounds[i]),
                               message.begin() + static_cast<long>(bounds[i + 1]));
    out.push_back(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kFragment), ext, piece));
  }
  return out;
}

TEST_F(Ip6EngineTest, FragmentsReassembledInEveryOrder) {
  const auto msg = Echo(kPeerGlobal, kOurGlobal, true, 9, 9, EchoData(1000));
  const auto expected = Echo(kOurGlobal, kPeerGlobal, false, 9, 9, EchoData(1000));
  std::vector<int> order = {0, 1, 2};
  uint32_t id = 100;
  do {
    auto frags = Fragments(msg, ++id, {400, 800});
    std::vector<Sent> sent;
    for (int i : order) {
      auto s = Exchange(frags[static_cast<size_t>(i)]);
      sent.insert(sent.end(), s.begin(), s.end());
    }
    ASSERT_EQ(sent.size(), 1u) << "order " << order[0] << order[1] << order[2];
    EXPECT_EQ(sent[0].upper_payload, expected);
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST_F(Ip6EngineTest, DuplicateFragmentIgnored) {
  const auto msg = Echo(kPeerGlobal, kOurGlobal, true, 9, 9, EchoData(600));
  auto frags = Fragments(msg, 5, {304});
  EXPECT_TRUE(Exchange(frags[0]).empty());
  EXPECT_TRUE(Exchange(frags[0]).empty());
  auto sent = Exchange(frags[1]);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].icmp_type(), Icmp6Type::kEchoReply);
}

TEST_F(Ip6EngineTest, OverlappingFragmentsDiscardDatagram) {
  // RFC 5722: the second fragment overlaps the first: the datagram is dropped silently,
  // and later fragments of it do not revive it.
  const auto msg = Echo(kPeerGlobal, kOurGlobal, true, 9, 9, EchoData(600));
  auto a = Fragments(msg, 6, {304});
  auto b = Fragments(msg, 6, {296});
  EXPECT_TRUE(Exchange(a[0]).empty());
  EXPECT_TRUE(Exchange(b[1]).empty());
  EXPECT_EQ(MovedBy("ip6.rx_reassembly_failed"), 1);
  EXPECT_TRUE(Exchange(a[1]).empty());
}

TEST_F(Ip6EngineTest, AtomicFragmentProcessedAlone) {
  const auto msg = Echo(kPeerGlobal, kOurGlobal, true, 3, 4, EchoData(32));
  auto frags = Fragments(msg, 77, {});  // one fragment: offset 0, M clear
  auto sent = Exchange(frags[0]);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].upper_payload, Echo(kOurGlobal, kPeerGlobal, false, 3, 4, EchoData(32)));
  EXPECT_EQ(MovedBy("ip6.rx_atomic_fragments"), 1);
}

TEST_F(Ip6EngineTest, FragmentNotMultipleOf8IsParameterProblem) {
  const auto msg = Echo(kPeerGlobal, kOurGlobal, true, 9, 9, EchoData(600));
  // A first fragment of 301 bytes with M set.
  std::vector<uint8_t> ext(8);
  Ip6FragmentHeader{Ip6NextHeader::kIcmp6, 0, true, 8}.Emit(ext);
  std::vector<uint8_t> piece(msg.begin(), msg.begin() + 301);
  auto frame = Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kFragment), ext, piece);
  // RFC 8200 §4.5: code 0 pointing at the Payload Length field.
  ExpectParamProblem(Exchange(frame), Icmp6ParamProblemCode::kHeaderField, 4);
}

TEST_F(Ip6EngineTest, ReassemblyTimeoutSendsTimeExceeded) {
  const auto msg = Echo(kPeerGlobal, kOurGlobal, true, 9, 9, EchoData(600));
  auto frags = Fragments(msg, 9, {304});
  EXPECT_TRUE(Exchange(frags[0]).empty());
  auto sent = Run(61s);
  std::vector<Sent> errors;
  for (auto& s : sent) {
    if (s.is_icmp6() && s.icmp_type() == Icmp6Type::kTimeExceeded) errors.push_back(s);
  }
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].icmp().code(), 1);
  EXPECT_EQ(errors[0].dst, kPeerGlobal);
}

// Reassembles the fragments the stack sent into one upper-layer message.
std::vector<uint8_t> Join(const std::vector<Sent>& frags) {
  std::vector<uint8_t> out;
  for (const auto& f : frags) {
    EXPECT_TRUE(f.fragment.has_value());
    if (!f.fragment) continue;
    if (out.size() < f.fragment->fragment_offset + f.upper_payload.size()) {
      out.resize(f.fragment->fragment_offset + f.upper_payload.size());
    }
    std::copy(f.upper_payload.begin(), f.upper_payload.end(),
              out.begin() + f.fragment->fragment_offset);
  }
  return out;
}

TEST_F(Ip6EngineTest, LargeReplyFragmentedToLinkMtu) {
  const auto msg = Echo(kPeerGlobal, kOurGlobal, true, 1, 1, EchoData(3000));
  auto frags = Fragments(msg, 11, {1448, 2896});
  Exchange(frags[0]);
  Exchange(frags[1]);
  auto sent = Exchange(frags[2]);
  ASSERT_EQ(sent.size(), 3u);
  for (const auto& s : sent) {
    EXPECT_LE(s.bytes.size(), 1514u);
    EXPECT_EQ(s.fragment->next_header, Ip6NextHeader::kIcmp6);
    EXPECT_EQ(s.fragment->identification, sent[0].fragment->identification);
  }
  EXPECT_TRUE(sent[0].fragment->more_fragments);
  EXPECT_FALSE(sent[2].fragment->more_fragments);
  EXPECT_EQ(Join(sent), Echo(kOurGlobal, kPeerGlobal, false, 1, 1, EchoData(3000)));
}

TEST_F(Ip6EngineTest, PacketTooBigLowersPathMtu) {
  // The peer says our 1400-byte reply was too big for a 1280-byte link on its path.
  std::vector<uint8_t> invoking(1400 - 48, 0xab);
  Ip6Header orig = Hdr(kOurGlobal, kPeerGlobal, Ip6NextHeader::kIcmp6);
  std::vector<uint8_t> quoted(kIp6HeaderSize + 64);
  orig.Emit(quoted, 1400);
  std::vector<uint8_t> ptb(kIcmp6HeaderSize + quoted.size());
  std::copy(quoted.begin(), quoted.end(), ptb.begin() + kIcmp6HeaderSize);
  Icmp6Header::PacketTooBig(1000).Emit(ptb, quoted, Icmp6PseudoHeaderSum(kPeerGlobal, kOurGlobal, ptb.size()));
  EXPECT_TRUE(Exchange(Frame(kOurMac, Hdr(kPeerGlobal, kOurGlobal, Ip6NextHeader::kIcmp6), {}, ptb)).empty());
  {
    std::lock_guard lock(stack_->mutex());
    // RFC 8201 §4: never below 1280.
    EXPECT_EQ(stack_->ip6().PathMtu(kPeerGlobal), 1280u);
    EXPECT_EQ(stack_->ip6().PathMtu(kFar), 1500u);
  }
  const auto msg = Echo(kPeerGlobal, kOurGlobal, true, 1, 1, EchoData(1300));
  auto frags = Fragments(msg, 12, {1000});
  Exchange(frags[0]);
  auto sent = Exchange(frags[1]);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_LE(sent[0].bytes.size(), 14u + 1280u);
  EXPECT_EQ(Join(sent), Echo(kOurGlobal, kPeerGlobal, false, 1, 1, EchoData(1300)));
  // The entry ages out (RFC 8201 §4: 10 minutes).
  Run(601s);
  std::lock_guard lock(stack_->mutex());
  EXPECT_EQ(stack_->ip6().PathMtu(kPeerGlobal), 1500u);
}

TEST_F(Ip6EngineTest, RoutingLongestPrefixAndDefaultRouter) {
  std::lock_guard lock(stack_->mutex());
  Ip6Engine& ip6 = stack_->ip6();
  EXPECT_EQ(HopAddress(ip6.NextHop(kPeerGlobal)), kPeerGlobal);  // on-link by the configured prefix
  EXPECT_FALSE(ip6.NextHop(kFar).has_value());       // no router yet
  stack_->ip6_routes().AddRouter(Ip6DefaultRouter{kRouterLinkLocal});
  EXPECT_EQ(HopAddress(ip6.NextHop(kFar)), kRouterLinkLocal);
  stack_->ip6_routes().Add(Ip6Route{*Ip6Network::Parse("fd78::/64"), kPeerLinkLocal});
  EXPECT_EQ(HopAddress(ip6.NextHop(kFar)), kPeerLinkLocal);
  EXPECT_EQ(HopAddress(ip6.NextHop(*Ip6Address::Parse("2001:db8::1"))), kRouterLinkLocal);
}

TEST_F(Ip6EngineTest, SourceSelectionRfc6724) {
  std::lock_guard lock(stack_->mutex());
  Ip6Engine& ip6 = stack_->ip6();
  EXPECT_EQ(ip6.SelectSource(kPeerLinkLocal), kOurLinkLocal);  // rule 2: scope
  EXPECT_EQ(ip6.SelectSource(kFar), kOurGlobal);
  EXPECT_EQ(ip6.SelectSource(kOurGlobal), kOurGlobal);  // rule 1
  // Rule 3: a deprecated address loses to a preferred one, even with a longer match.
  const Ip6Address other = *Ip6Address::Parse("fd78::5");
  stack_->ip6_addresses().Add(Ip6AddressEntry{*Ip6Interface::Parse("fd78::5/64"),
                                              Ip6AddressState::kDeprecated},
                              clock_.Now());
  EXPECT_EQ(ip6.SelectSource(kFar), kOurGlobal);
  stack_->ip6_addresses().SetState(other, Ip6AddressState::kPreferred, clock_.Now());
  EXPECT_EQ(ip6.SelectSource(kFar), other);  // rule 8: longest match
}

TEST_F(Ip6EngineTest, OwnSourceFromWireDropped) {
  auto msg = Echo(kOurGlobal, kOurGlobal, true, 1, 1, EchoData(8));
  EXPECT_TRUE(Exchange(Frame(kOurMac, Hdr(kOurGlobal, kOurGlobal, Ip6NextHeader::kIcmp6), {}, msg)).empty());
  EXPECT_EQ(MovedBy("ip6.rx_drop_bad_source"), 1);
}

// Issue 19 item 6: ::1 is the loopback interface's (RFC 4291 §2.5.3).
TEST_F(Ip6EngineTest, LoopbackAddressIsLocalAndNeverASourceOffTheHost) {
  std::lock_guard lock(stack_->mutex());
  const Ip6Engine& ip6 = stack_->ip6();
  auto r = ip6.Route(Ip6Address::Loopback(), Ip6Address::Loopback());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->local);
  EXPECT_EQ(r->src, Ip6Address::Loopback());
  r = ip6.Route(Ip6Address::Loopback(), Ip6Address());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->src, Ip6Address::Loopback());
  r = ip6.Route(kPeerGlobal, Ip6Address::Loopback());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), IpSendError::kNoSource);
}

}  // namespace
}  // namespace pytcp::testing
