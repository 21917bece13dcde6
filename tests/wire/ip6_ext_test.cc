#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "stack/wire/ip6_ext.h"
#include "tests/wire/captures_ip6_dhcp_dns.h"
#include "tests/wire/wire_test_util.h"

namespace pytcp {
namespace {

using namespace wire_testing;  // NOLINT

constexpr uint8_t kHbh = 0, kRouting = 43, kFragment = 44, kDest = 60, kIcmp6 = 58, kUdp = 17;

// Walks `headers` (+ 8 bytes of upper-layer data) as an IPv6 payload starting with `first`.
Result<Ip6ExtChain, Ip6ExtError> Walk(const Bytes& payload, uint8_t first) {
  return Ip6ExtChain::Parse(payload, static_cast<Ip6NextHeader>(first));
}

TEST(Ip6ExtChainTest, LinuxMldReportHopByHopRouterAlert) {
  auto ip = Ip6View::Parse(testdata::kMldV2Report);
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->next_header(), Ip6NextHeader::kHopByHop);
  auto chain = Ip6ExtChain::Parse(*ip);
  ASSERT_TRUE(chain.ok()) << ToString(chain.error().reason);
  EXPECT_EQ(chain->header_count(), 1u);
  EXPECT_EQ(chain->upper_protocol(), Ip6NextHeader::kIcmp6);
  EXPECT_EQ(chain->upper_pointer(), 48u);
  EXPECT_EQ(chain->upper_next_header_pointer(), 40u);
  EXPECT_EQ(chain->upper_payload().size(), 28u);
  EXPECT_EQ(chain->headers().size(), 8u);
  EXPECT_FALSE(chain->routing());
  EXPECT_FALSE(chain->fragment());
  EXPECT_FALSE(chain->destination_options());

  auto hbh = chain->hop_by_hop();
  ASSERT_TRUE(hbh);
  EXPECT_EQ(hbh->next_header(), Ip6NextHeader::kIcmp6);
  EXPECT_EQ(hbh->header_ext_length(), 0);
  EXPECT_EQ(hbh->pointer(), 40u);
  EXPECT_EQ(hbh->router_alert(), kIp6RouterAlertMld);
  std::vector<Ip6Option> options(hbh->options().begin(), hbh->options().end());
  ASSERT_EQ(options.size(), 2u);
  EXPECT_EQ(options[0].option_type(), Ip6OptionType::kRouterAlert);
  EXPECT_EQ(options[0].pointer, 42u);
  EXPECT_EQ(Bytes(options[0].data.begin(), options[0].data.end()), (Bytes{0, 0}));
  EXPECT_EQ(options[0].action(), Ip6OptionAction::kSkip);
  EXPECT_FALSE(options[0].is_padding());
  EXPECT_EQ(options[1].option_type(), Ip6OptionType::kPadN);
  EXPECT_EQ(options[1].pointer, 46u);
  EXPECT_TRUE(options[1].data.empty());
  EXPECT_TRUE(options[1].is_padding());
}

TEST(Ip6ExtChainTest, NoExtensionHeaders) {
  auto ip = Ip6View::Parse(testdata::kEchoRequest);
  auto chain = Ip6ExtChain::Parse(*ip);
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->header_count(), 0u);
  EXPECT_EQ(chain->begin(), chain->end());
  EXPECT_EQ(chain->upper_protocol(), Ip6NextHeader::kIcmp6);
  EXPECT_EQ(chain->upper_pointer(), 40u);
  EXPECT_EQ(chain->upper_next_header_pointer(), 6u);
  EXPECT_EQ(chain->upper_payload().data(), ip->payload().data());
  EXPECT_EQ(chain->upper_payload().size(), ip->payload().size());
}

TEST(Ip6ExtChainTest, LinuxFirstAndLastFragment) {
  auto first = Ip6ExtChain::Parse(*Ip6View::Parse(testdata::kFirstFragment));
  ASSERT_TRUE(first.ok()) << ToString(first.error().reason);
  auto f = first->fragment();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->next_header(), Ip6NextHeader::kIcmp6);
  EXPECT_EQ(f->fragment_offset(), 0u);
  EXPECT_TRUE(f->more_fragments());
  EXPECT_EQ(f->identification(), 0x96b87c94u);
  EXPECT_FALSE(f->is_atomic());
  EXPECT_EQ(f->pointer(), 40u);
  // The walk stops at the Fragment header: what follows is fragment data.
  EXPECT_EQ(first->upper_protocol(), Ip6NextHeader::kIcmp6);
  EXPECT_EQ(first->upper_payload().size(), 64u);
  EXPECT_EQ(first->upper_payload()[0], 128);  // the echo request starts the data

  auto last = Ip6ExtChain::Parse(*Ip6View::Parse(testdata::kLastFragment));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->fragment()->fragment_offset(), 1448u);
  EXPECT_FALSE(last->fragment()->more_fragments());
  EXPECT_EQ(last->fragment()->identification(), 0x96b87c94u);
  EXPECT_EQ(last->upper_payload().size(), 560u);
}

TEST(Ip6ExtChainTest, AtomicFragmentContinuesAfterTheFragmentHeader) {
  // RFC 6946: offset 0, M clear.
  Bytes p = {kDest, 0, 0, 0, 0, 0, 0, 0,  // fragment header naming a Destination Options header
             kUdp,  0, 1, 4, 0, 0, 0, 0,  // destination options: PadN(4)
             1,     2, 3, 4, 5, 6, 7, 8};
  auto chain = Walk(p, kFragment);
  ASSERT_TRUE(chain.ok());
  ASSERT_TRUE(chain->fragment());
  EXPECT_TRUE(chain->fragment()->is_atomic());
  EXPECT_EQ(chain->upper_protocol(), Ip6NextHeader::kDestinationOptions);
  auto rest = chain->ParseAfterFragment();
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->upper_protocol(), Ip6NextHeader::kUdp);
  EXPECT_EQ(rest->upper_pointer(), 40u + 16u);
  EXPECT_EQ(rest->upper_next_header_pointer(), 48u);
  EXPECT_EQ(rest->upper_payload().size(), 8u);
  ASSERT_TRUE(rest->destination_options());
  EXPECT_EQ(rest->destination_options()->pointer(), 48u);

  // Hop-by-Hop after a Fragment header is not first.
  p[0] = kHbh;
  auto bad = Walk(p, kFragment)->ParseAfterFragment();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), (Ip6ExtError{Ip6ExtParseError::kHopByHopNotFirst, 40}));
}

TEST(Ip6ExtChainTest, WalksAFullChainInOrder) {
  Bytes p = {kDest,     0, 1,    4,    0, 0, 0, 0,  // HBH: PadN(4)
             kRouting,  0, 0x1e, 4,    1, 2, 3, 4,  // Dest (before routing): skip-type option
             kDest,     0, 2,    1,    0, 0, 0, 0,  // Routing type 2, segments left 1
             kFragment, 1, 1,    12,   0, 0, 0, 0,  // Dest (final): PadN(12), 16 bytes
             0,         0, 0,    0,    0, 0, 0, 0,
             kUdp,      0, 0x00, 0x11, 0, 0, 0, 7,  // Fragment: offset 16, M, id 7
             9,         9, 9,    9,    9, 9, 9, 9};
  auto chain = Walk(p, kHbh);
  ASSERT_TRUE(chain.ok()) << ToString(chain.error().reason) << " " << chain.error().pointer;
  std::vector<Ip6NextHeader> types;
  std::vector<uint32_t> pointers;
  for (const Ip6ExtHeader h : *chain) {
    types.push_back(h.type());
    pointers.push_back(h.pointer());
  }
  EXPECT_EQ(types, (std::vector<Ip6NextHeader>{
                       Ip6NextHeader::kHopByHop, Ip6NextHeader::kDestinationOptions,
                       Ip6NextHeader::kRouting, Ip6NextHeader::kDestinationOptions,
                       Ip6NextHeader::kFragment}));
  EXPECT_EQ(pointers, (std::vector<uint32_t>{40, 48, 56, 64, 80}));
  EXPECT_EQ(chain->header_count(), 5u);
  auto r = chain->routing();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->routing_type(), 2);
  EXPECT_EQ(r->segments_left(), 1);
  EXPECT_EQ(r->routing_type_pointer(), 58u);
  EXPECT_EQ(r->type_specific_data().size(), 4u);
  // The last Destination Options header is the final destination's.
  EXPECT_EQ(chain->destination_options()->pointer(), 64u);
  EXPECT_EQ(chain->destination_options()->header_ext_length(), 1);
  EXPECT_EQ(chain->fragment()->fragment_offset(), 16u);
  EXPECT_TRUE(chain->fragment()->more_fragments());
  EXPECT_EQ(chain->fragment()->identification(), 7u);
  EXPECT_EQ(chain->upper_protocol(), Ip6NextHeader::kUdp);
  EXPECT_EQ(chain->upper_payload().size(), 8u);
  EXPECT_FALSE(chain->destination_options()->router_alert());
}

TEST(Ip6ExtChainTest, RoutingTypeZeroIsExposedNotRejected) {
  // RFC 5095 deprecates type 0; the engine decides (with segments left it sends a
  // Parameter Problem pointing at the type).
  Bytes p = {kIcmp6, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  auto chain = Walk(p, kRouting);
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->routing()->routing_type(), 0);
  EXPECT_EQ(chain->routing()->segments_left(), 1);
  EXPECT_EQ(chain->routing()->routing_type_pointer(), 42u);
  EXPECT_EQ(chain->upper_protocol(), Ip6NextHeader::kIcmp6);
  EXPECT_TRUE(chain->upper_payload().empty());
}

TEST(Ip6ExtChainTest, UnrecognizedOptionsExposeTheirAction) {
  Bytes p = {kUdp, 1, 0x3e, 0,        // 00: skip
             0x7f, 1, 0xaa,           // 01: discard
             0x80, 0,                 // 10: discard + ICMP
             0xc2, 4, 0,    0, 0, 0,  // 11: discard + ICMP unless multicast (Jumbo, unsupported)
             0x00};                   // Pad1
  auto chain = Walk(p, kDest);
  ASSERT_TRUE(chain.ok());
  std::vector<Ip6Option> o(chain->destination_options()->options().begin(),
                           chain->destination_options()->options().end());
  ASSERT_EQ(o.size(), 5u);
  EXPECT_EQ(o[0].action(), Ip6OptionAction::kSkip);
  EXPECT_TRUE(o[0].may_change());
  EXPECT_EQ(o[0].pointer, 42u);
  EXPECT_EQ(o[1].action(), Ip6OptionAction::kDiscard);
  EXPECT_TRUE(o[1].may_change());
  EXPECT_EQ(o[1].data.size(), 1u);
  EXPECT_EQ(o[1].pointer, 44u);
  EXPECT_EQ(o[2].action(), Ip6OptionAction::kDiscardSendIcmp);
  EXPECT_FALSE(o[2].may_change());
  EXPECT_EQ(o[3].action(), Ip6OptionAction::kDiscardSendIcmpUnlessMulticast);
  EXPECT_EQ(o[3].option_type(), Ip6OptionType::kJumboPayload);
  EXPECT_EQ(o[3].pointer, 49u);
  EXPECT_EQ(o[4].option_type(), Ip6OptionType::kPad1);
  EXPECT_EQ(o[4].pointer, 55u);
}

TEST(Ip6ExtChainTest, HopByHopNotFirstPointsAtTheNextHeaderFieldNamingIt) {
  Bytes p = {kHbh, 0, 1, 4, 0, 0, 0, 0,  // Destination Options naming Hop-by-Hop
             kUdp, 0, 1, 4, 0, 0, 0, 0};
  auto chain = Walk(p, kDest);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.error().reason, Ip6ExtParseError::kHopByHopNotFirst);
  EXPECT_EQ(chain.error().pointer, 40u);
  EXPECT_EQ(chain.error().icmp_code(), 1);  // unrecognized Next Header
  EXPECT_FALSE(IsIntegrityError(chain.error().reason));

  // Two Hop-by-Hop headers: the second is not first; the pointer is the first's Next Header.
  Bytes twice = {kHbh, 0, 1, 4, 0, 0, 0, 0, kUdp, 0, 1, 4, 0, 0, 0, 0};
  auto chain2 = Walk(twice, kHbh);
  ASSERT_FALSE(chain2.ok());
  EXPECT_EQ(chain2.error(), (Ip6ExtError{Ip6ExtParseError::kHopByHopNotFirst, 40}));

  // Walking from elsewhere with Hop-by-Hop first but not allowed: the pointer is the
  // field given.
  Ip6ExtWalkStart start;
  start.offset = 48;
  start.next_header_pointer = 40;
  start.hop_by_hop_allowed = false;
  auto chain3 = Ip6ExtChain::Parse(ByteSpan(twice).subspan(8), Ip6NextHeader::kHopByHop, start);
  ASSERT_FALSE(chain3.ok());
  EXPECT_EQ(chain3.error(), (Ip6ExtError{Ip6ExtParseError::kHopByHopNotFirst, 40}));
}

TEST(Ip6ExtChainTest, HeaderRunningPastThePayloadIsRejectedAtItsLengthField) {
  Bytes p = {kUdp, 1, 1, 4, 0, 0, 0, 0};  // says 16 bytes, has 8
  auto chain = Walk(p, kHbh);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.error(), (Ip6ExtError{Ip6ExtParseError::kTooShort, 41}));
  EXPECT_EQ(chain.error().icmp_code(), 0);
  EXPECT_TRUE(IsIntegrityError(chain.error().reason));
}

TEST(Ip6ExtChainTest, EveryTruncationOfTheChainIsRejected) {
  const Bytes p = {kDest,     0, 1, 4,  0, 0, 0, 0,                          // HBH
                   kRouting,  1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // Dest, 16
                   kFragment, 0, 2, 0,  0, 0, 0, 0,                          // Routing
                   kUdp,      0, 0, 0,  0, 0, 0, 1};                         // Fragment (atomic)
  ASSERT_TRUE(Walk(p, kHbh).ok());
  for (size_t n = 0; n < p.size(); ++n) {
    auto chain = Walk(Bytes(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(n)), kHbh);
    ASSERT_FALSE(chain.ok()) << n;
    EXPECT_EQ(chain.error().reason, Ip6ExtParseError::kTooShort) << n;
    // The pointer is inside the header that was cut.
    EXPECT_GE(chain.error().pointer, 40u) << n;
    EXPECT_LT(chain.error().pointer, 40u + p.size()) << n;
  }
}

TEST(Ip6ExtChainTest, OptionOverrunIsRejectedAtTheOptionLength) {
  // PadN of 5 where 4 bytes are left.
  Bytes p = {kUdp, 0, 0, 0, 1, 5, 0, 0};
  auto chain = Walk(p, kDest);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.error(), (Ip6ExtError{Ip6ExtParseError::kOptionOverrun, 45}));
  // An option type in the last byte with no room for its length.
  Bytes q = {kUdp, 0, 0, 0, 0, 0, 0, 0x3e};
  auto chain2 = Walk(q, kDest);
  ASSERT_FALSE(chain2.ok());
  EXPECT_EQ(chain2.error(), (Ip6ExtError{Ip6ExtParseError::kOptionOverrun, 47}));
}

TEST(Ip6ExtChainTest, RouterAlertWithBadLengthIsRejected) {
  Bytes p = {kIcmp6, 0, 5, 3, 0, 0, 0, 0};
  auto chain = Walk(p, kHbh);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.error(), (Ip6ExtError{Ip6ExtParseError::kBadRouterAlertLength, 43}));
  EXPECT_FALSE(IsIntegrityError(chain.error().reason));
}

TEST(Ip6ExtChainTest, IntegrityErrorWinsOverAnEarlierSanityError) {
  Bytes p = {kDest, 0, 5, 3, 0, 0, 0, 0,   // bad Router Alert (sanity)
             kUdp,  3, 0, 0, 0, 0, 0, 0};  // Dest claims 32 bytes (integrity)
  auto chain = Walk(p, kHbh);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.error().reason, Ip6ExtParseError::kTooShort);
}

TEST(Ip6ExtChainTest, FragmentWithMSetAndLengthNotMultipleOf8) {
  Bytes p = {kUdp, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7};  // M, 7 bytes of data
  auto chain = Walk(p, kFragment);
  ASSERT_FALSE(chain.ok());
  // RFC 8200 §4.5: pointing at the Payload Length field.
  EXPECT_EQ(chain.error(), (Ip6ExtError{Ip6ExtParseError::kFragmentBadLength, 4}));
  // Without M the last fragment may have any length.
  p[3] = 0x08;  // offset 8, no M
  EXPECT_TRUE(Walk(p, kFragment).ok());
}

TEST(Ip6ExtChainTest, FragmentBeyond65535IsRejectedAtTheOffsetField) {
  Bytes p(8 + 16, 0);
  p[0] = kUdp;
  StoreBe16(p.data() + 2, 65528);  // offset 65528, no M; + 16 bytes > 65535
  auto chain = Walk(p, kFragment);
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.error(), (Ip6ExtError{Ip6ExtParseError::kFragmentTooLong, 42}));
  p.resize(8 + 7);  // 65528 + 7 = 65535 fits
  EXPECT_TRUE(Walk(p, kFragment).ok());
}

TEST(Ip6ExtEmitTest, RouterAlertHopByHopMatchesLinux) {
  uint8_t out[8];
  Ip6RouterAlertHopByHop{}.Emit(out);
  EXPECT_EQ(Bytes(out, out + 8), Bytes(testdata::kMldV2Report + 40, testdata::kMldV2Report + 48));
  // The generic options emitter produces the same bytes.
  const uint8_t value[2] = {0, 0};
  const Ip6OptionSpec ra[] = {{static_cast<uint8_t>(Ip6OptionType::kRouterAlert), value}};
  Ip6OptionsHeader h{Ip6NextHeader::kIcmp6, ra};
  ASSERT_EQ(h.size(), 8u);
  uint8_t out2[8];
  h.Emit(out2);
  EXPECT_EQ(Bytes(out2, out2 + 8), Bytes(out, out + 8));
}

TEST(Ip6ExtEmitTest, FragmentHeaderMatchesLinux) {
  uint8_t out[8];
  Ip6FragmentHeader{Ip6NextHeader::kIcmp6, 0, true, 0x96b87c94}.Emit(out);
  EXPECT_EQ(Bytes(out, out + 8),
            Bytes(testdata::kFirstFragment + 40, testdata::kFirstFragment + 48));
  Ip6FragmentHeader{Ip6NextHeader::kIcmp6, 1448, false, 0x96b87c94}.Emit(out);
  EXPECT_EQ(Bytes(out, out + 8), Bytes(testdata::kLastFragment + 40, testdata::kLastFragment + 48));
}

TEST(Ip6ExtEmitTest, DestinationOptionsArePaddedToEightBytes) {
  const uint8_t three[3] = {1, 2, 3};
  const uint8_t one[1] = {9};
  const Ip6OptionSpec a[] = {{0x1e, three}};  // 2 + 2 + 3 = 7: one Pad1
  const Ip6OptionSpec b[] = {{0x1e, one}};    // 2 + 2 + 1 = 5: PadN with 1 zero byte
  const Ip6OptionSpec c[] = {{0x1e, ByteSpan(three).first(2)}};               // 6: PadN(0)
  const Ip6OptionSpec d[] = {{0x1e, ByteSpan()}, {0x1f, three}, {0x00, {}}};  // 2+2+5+1 = 10
  struct Case {
    std::span<const Ip6OptionSpec> options;
    Bytes expected;
  };
  const Case cases[] = {
      {a, {kUdp, 0, 0x1e, 3, 1, 2, 3, 0x00}},
      {b, {kUdp, 0, 0x1e, 1, 9, 0x01, 1, 0}},
      {c, {kUdp, 0, 0x1e, 2, 1, 2, 0x01, 0}},
      {d, {kUdp, 1, 0x1e, 0, 0x1f, 3, 1, 2, 3, 0x00, 0x01, 4, 0, 0, 0, 0}},
      {{}, {kUdp, 0, 0x01, 4, 0, 0, 0, 0}},
  };
  for (const Case& c2 : cases) {
    Ip6OptionsHeader h{Ip6NextHeader::kUdp, c2.options};
    ASSERT_EQ(h.size(), c2.expected.size());
    Bytes out(h.size(), 0xee);
    h.Emit(out);
    EXPECT_EQ(out, c2.expected);
    // Round trip: the emitted header walks, with the options given.
    Bytes payload = Concat({out, Bytes(8, 0)});
    auto chain = Walk(payload, kDest);
    ASSERT_TRUE(chain.ok());
    size_t non_padding = 0;
    for (const Ip6Option o : chain->destination_options()->options()) {
      if (o.type == 0x1e || o.type == 0x1f) ++non_padding;
    }
    size_t expected_non_padding = 0;
    for (const Ip6OptionSpec& s : c2.options) expected_non_padding += s.type != 0;
    EXPECT_EQ(non_padding, expected_non_padding);
  }
}

TEST(Ip6ExtParseErrorTest, NamesAreDistinct) {
  std::set<std::string> names;
  for (auto e : {Ip6ExtParseError::kTooShort, Ip6ExtParseError::kOptionOverrun,
                 Ip6ExtParseError::kHopByHopNotFirst, Ip6ExtParseError::kBadRouterAlertLength,
                 Ip6ExtParseError::kFragmentBadLength, Ip6ExtParseError::kFragmentTooLong}) {
    names.insert(std::string(ToString(e)));
  }
  EXPECT_EQ(names.size(), 6u);
  EXPECT_EQ(names.count("unknown"), 0u);
}

}  // namespace
}  // namespace pytcp
