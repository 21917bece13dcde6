#include "stack/wire/ip4.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "tests/wire/captures_ip4.h"

namespace pytcp {
namespace {

using namespace pytcp::testing;  // NOLINT: capture constants

constexpr Ip4Address kIpA(10, 99, 4, 1);
constexpr Ip4Address kIpB(10, 99, 4, 2);

std::vector<uint8_t> Copy(ByteSpan s) { return {s.begin(), s.end()}; }

// Rewrites the header checksum after a test changed a header field.
void FixChecksum(std::vector<uint8_t>& d) {
  const size_t hs = static_cast<size_t>(d[0] & 0x0f) * 4;
  StoreBe16(&d[10], 0);
  StoreBe16(&d[10], InternetChecksum(ByteSpan(d).first(std::min(hs, d.size()))));
}

// A datagram: the captured header bytes of a fragment followed by zero payload up to its
// total length (the IPv4 checksum covers only the header).
std::vector<uint8_t> FragmentDatagram(ByteSpan headers) {
  auto d = Copy(L3(headers));
  d.resize(LoadBe16(&d[2]), 0);
  return d;
}

TEST(Ip4Test, ParsesPingRequest) {
  auto v = Ip4View::Parse(L3(kPingRequestFrame));
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  EXPECT_EQ(v->header_size(), 20u);
  EXPECT_EQ(v->dscp(), 0);
  EXPECT_EQ(v->ecn(), 0);
  EXPECT_EQ(v->total_length(), 84);
  EXPECT_EQ(v->id(), 0xf240);
  EXPECT_TRUE(v->dont_fragment());
  EXPECT_FALSE(v->more_fragments());
  EXPECT_EQ(v->fragment_offset(), 0u);
  EXPECT_FALSE(v->is_fragment());
  EXPECT_EQ(v->ttl(), 64);
  EXPECT_EQ(v->protocol(), IpProto::kIcmp4);
  EXPECT_EQ(v->checksum(), 0x2ba0);
  EXPECT_EQ(v->src(), kIpA);
  EXPECT_EQ(v->dst(), kIpB);
  EXPECT_TRUE(v->options().empty());
  EXPECT_EQ(v->header().data(), &kPingRequestFrame[14]);
  EXPECT_EQ(v->payload().size(), 64u);
  EXPECT_EQ(v->payload().data(), &kPingRequestFrame[34]);
  EXPECT_EQ(v->datagram().size(), 84u);
  EXPECT_EQ(v->pseudo_header_sum(), PseudoHeaderSum4(kIpA, kIpB, 1, 64));
}

TEST(Ip4Test, ParsesDscpFromIcmpError) {
  // Linux sends ICMP errors with TOS 0xc0 (CS6, network control).
  auto v = Ip4View::Parse(L3(kIcmpPortUnreachableFrame));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->dscp(), 48);
  EXPECT_EQ(v->ecn(), 0);
  EXPECT_FALSE(v->dont_fragment());
}

TEST(Ip4Test, EmitMatchesCapture) {
  Ip4Header h;
  h.src = kIpA;
  h.dst = kIpB;
  h.protocol = IpProto::kIcmp4;
  h.ttl = 64;
  h.id = 0xf240;
  h.dont_fragment = true;
  ASSERT_EQ(h.header_size(), 20u);
  std::array<uint8_t, 20> out{};
  h.Emit(out, 64);
  EXPECT_EQ(Copy(out), Copy(L3(kPingRequestFrame).first(20)));

  Ip4Header e;
  e.src = kIpB;
  e.dst = kIpA;
  e.protocol = IpProto::kIcmp4;
  e.dscp = 48;
  e.id = 0xe7bc;
  e.Emit(out, 42);
  EXPECT_EQ(Copy(out), Copy(L3(kIcmpPortUnreachableFrame).first(20)));
}

TEST(Ip4Test, RoundTripOfEveryCapture) {
  for (ByteSpan frame :
       {ByteSpan(kPingRequestFrame), ByteSpan(kPingReplyFrame), ByteSpan(kPingRecordRouteFrame),
        ByteSpan(kPingRecordRouteReplyFrame), ByteSpan(kTcpSynFrame), ByteSpan(kTcpDataFrame),
        ByteSpan(kUdpFrame), ByteSpan(kIcmpPortUnreachableFrame), ByteSpan(kIcmpTimeExceededFrame)}) {
    auto v = Ip4View::Parse(L3(frame));
    ASSERT_TRUE(v.ok()) << ToString(v.error());
    const Ip4Header h = v->ToHeader();
    ASSERT_EQ(h.header_size(), v->header_size());
    std::vector<uint8_t> out(h.header_size());
    h.Emit(out, v->payload().size());
    EXPECT_EQ(out, Copy(v->header()));
  }
}

TEST(Ip4Test, RecordRouteOptionsFromPingR) {
  auto v = Ip4View::Parse(L3(kPingRecordRouteFrame));
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  EXPECT_EQ(v->header_size(), 60u);
  EXPECT_EQ(v->payload().size(), 64u);
  std::vector<Ip4Option> opts(v->options().begin(), v->options().end());
  ASSERT_EQ(opts.size(), 2u);
  EXPECT_EQ(opts[0].type, Ip4OptionType::kNop);
  EXPECT_TRUE(opts[0].value.empty());
  EXPECT_EQ(opts[1].type, Ip4OptionType::kRecordRoute);
  ASSERT_EQ(opts[1].value.size(), 37u);  // length 39
  EXPECT_EQ(opts[1].value[0], 8);        // pointer: one address recorded
  EXPECT_EQ(Ip4Address::FromBytes(opts[1].value.data() + 1), kIpA);
  EXPECT_FALSE(Ip4OptionIsCopied(Ip4OptionType::kRecordRoute));
  EXPECT_TRUE(Ip4OptionIsCopied(Ip4OptionType::kLooseSourceRoute));

  auto rr = v->options().Find(Ip4OptionType::kRecordRoute);
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->value.data(), opts[1].value.data());
  EXPECT_FALSE(v->options().Find(Ip4OptionType::kRouterAlert).has_value());
}

TEST(Ip4Test, RecordRouteReplyStopsAtEol) {
  auto v = Ip4View::Parse(L3(kPingRecordRouteReplyFrame));
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  std::vector<Ip4Option> opts(v->options().begin(), v->options().end());
  ASSERT_EQ(opts.size(), 1u);
  EXPECT_EQ(opts[0].type, Ip4OptionType::kRecordRoute);
  EXPECT_EQ(opts[0].value[0], 16);  // pointer after two addresses
  EXPECT_EQ(Ip4Address::FromBytes(opts[0].value.data() + 5), kIpB);
}

TEST(Ip4Test, EmitWithOptionsPadsWithEol) {
  auto reply = Ip4View::Parse(L3(kPingRecordRouteReplyFrame));
  ASSERT_TRUE(reply.ok());
  const auto rr = reply->options().Find(Ip4OptionType::kRecordRoute);
  ASSERT_TRUE(rr.has_value());
  Ip4OptionsBuilder b;
  ASSERT_TRUE(b.Add(Ip4OptionType::kRecordRoute, rr->value));
  EXPECT_EQ(b.bytes().size(), 39u);
  Ip4Header h;
  h.src = kIpB;
  h.dst = kIpA;
  h.protocol = IpProto::kIcmp4;
  h.id = 0xe7b2;
  h.options = b.bytes();
  ASSERT_EQ(h.header_size(), 60u);  // 39 option bytes padded with one EOL
  std::vector<uint8_t> out(60, 0xaa);
  h.Emit(out, 64);
  EXPECT_EQ(out, Copy(reply->header()));

  // The request: NOP + Record Route, exactly 40 bytes.
  auto req = Ip4View::Parse(L3(kPingRecordRouteFrame));
  ASSERT_TRUE(req.ok());
  Ip4OptionsBuilder b2;
  ASSERT_TRUE(b2.AddNop());
  ASSERT_TRUE(b2.Add(Ip4OptionType::kRecordRoute, req->options().Find(Ip4OptionType::kRecordRoute)->value));
  EXPECT_FALSE(b2.AddNop());  // full
  Ip4Header h2 = req->ToHeader();
  h2.options = b2.bytes();
  h2.Emit(out, 64);
  EXPECT_EQ(out, Copy(req->header()));
}

TEST(Ip4Test, FragmentFields) {
  auto first_d = FragmentDatagram(kFragmentFirstHeaders);
  auto first = Ip4View::Parse(first_d);
  ASSERT_TRUE(first.ok()) << ToString(first.error());
  EXPECT_EQ(first->id(), 0xf243);
  EXPECT_TRUE(first->more_fragments());
  EXPECT_FALSE(first->dont_fragment());
  EXPECT_EQ(first->fragment_offset(), 0u);
  EXPECT_TRUE(first->is_fragment());
  EXPECT_EQ(first->payload().size(), 1480u);

  auto last_d = FragmentDatagram(kFragmentLastHeaders);
  auto last = Ip4View::Parse(last_d);
  ASSERT_TRUE(last.ok()) << ToString(last.error());
  EXPECT_EQ(last->id(), 0xf243);
  EXPECT_FALSE(last->more_fragments());
  EXPECT_EQ(last->fragment_offset(), 1480u);
  EXPECT_TRUE(last->is_fragment());
  EXPECT_EQ(last->payload().size(), 528u);

  // And the emitter writes the same fragment headers.
  Ip4Header h;
  h.src = Ip4Address(10, 99, 4, 1);
  h.dst = Ip4Address(10, 99, 4, 2);
  h.protocol = IpProto::kIcmp4;
  h.id = 0xf243;
  h.more_fragments = true;
  std::array<uint8_t, 20> out{};
  h.Emit(out, 1480);
  EXPECT_EQ(Copy(out), Copy(ByteSpan(first_d).first(20)));
  h.more_fragments = false;
  h.fragment_offset = 1480;
  h.Emit(out, 528);
  EXPECT_EQ(Copy(out), Copy(ByteSpan(last_d).first(20)));
}

TEST(Ip4Test, EthernetPaddingIsExcludedFromPayload) {
  auto padded = Copy(L3(kUdpFrame));
  ASSERT_EQ(padded.size(), 33u);
  padded.resize(46, 0);
  auto v = Ip4View::Parse(padded);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->datagram().size(), 33u);
  EXPECT_EQ(v->payload().size(), 13u);
}

TEST(Ip4Test, EveryTruncationIsRejected) {
  const ByteSpan d = L3(kPingRequestFrame);
  for (size_t n = 0; n < d.size(); ++n) {
    auto v = Ip4View::Parse(d.first(n));
    ASSERT_FALSE(v.ok()) << n;
    EXPECT_EQ(v.error(), n < 20 ? Ip4ParseError::kTooShort : Ip4ParseError::kBadTotalLength) << n;
  }
  const ByteSpan o = L3(kPingRecordRouteFrame);
  for (size_t n = 0; n < o.size(); ++n) {
    auto v = Ip4View::Parse(o.first(n));
    ASSERT_FALSE(v.ok()) << n;
    EXPECT_EQ(v.error(), n < 20   ? Ip4ParseError::kTooShort
                         : n < 60 ? Ip4ParseError::kBadHeaderLength
                                  : Ip4ParseError::kBadTotalLength)
        << n;
  }
}

TEST(Ip4Test, BadVersion) {
  auto d = Copy(L3(kPingRequestFrame));
  for (uint8_t version : {0, 6, 15}) {
    d[0] = static_cast<uint8_t>((version << 4) | 5);
    auto v = Ip4View::Parse(d);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error(), Ip4ParseError::kBadVersion);
  }
}

TEST(Ip4Test, BadHeaderLength) {
  auto d = Copy(L3(kPingRequestFrame));
  for (uint8_t ihl : {0, 1, 4}) {
    d[0] = static_cast<uint8_t>(0x40 | ihl);
    EXPECT_EQ(Ip4View::Parse(d).error(), Ip4ParseError::kBadHeaderLength) << int{ihl};
  }
  // IHL 15 (60 bytes) in a 40-byte buffer.
  d[0] = 0x4f;
  EXPECT_EQ(Ip4View::Parse(ByteSpan(d).first(40)).error(), Ip4ParseError::kBadHeaderLength);
}

TEST(Ip4Test, TotalLengthDisagreeingWithHeaderOrBuffer) {
  auto d = Copy(L3(kPingRequestFrame));
  for (uint16_t len : {0, 19, 85, 0xffff}) {
    StoreBe16(&d[2], len);
    FixChecksum(d);
    EXPECT_EQ(Ip4View::Parse(d).error(), Ip4ParseError::kBadTotalLength) << len;
  }
  auto o = Copy(L3(kPingRecordRouteFrame));
  StoreBe16(&o[2], 40);  // shorter than its 60-byte header
  FixChecksum(o);
  EXPECT_EQ(Ip4View::Parse(o).error(), Ip4ParseError::kBadTotalLength);
  // Equal to the header: a datagram with no payload is fine.
  StoreBe16(&o[2], 60);
  FixChecksum(o);
  auto v = Ip4View::Parse(o);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->payload().empty());
}

TEST(Ip4Test, BadChecksumAndSkipPolicy) {
  auto d = Copy(L3(kPingRequestFrame));
  d[8] = 63;  // TTL changed without updating the checksum
  auto v = Ip4View::Parse(d);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error(), Ip4ParseError::kBadChecksum);
  EXPECT_TRUE(IsIntegrityError(v.error()));
  auto skipped = Ip4View::Parse(d, ChecksumPolicy::kSkip);
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(skipped->ttl(), 63);
  // A change in the payload is not the IPv4 header's concern.
  auto p = Copy(L3(kPingRequestFrame));
  p[40] ^= 0xff;
  EXPECT_TRUE(Ip4View::Parse(p).ok());
  // RFC 1624 update of the TTL keeps the header valid.
  StoreBe16(&d[10], ChecksumUpdate16(LoadBe16(&d[10]), 0x4001, 0x3f01));
  EXPECT_TRUE(Ip4View::Parse(d).ok());
}

TEST(Ip4Test, ReservedFlagIsASanityError) {
  auto d = Copy(L3(kPingRequestFrame));
  d[6] |= 0x80;
  FixChecksum(d);
  auto v = Ip4View::Parse(d);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error(), Ip4ParseError::kReservedFlag);
  EXPECT_FALSE(IsIntegrityError(v.error()));
}

TEST(Ip4Test, MulticastOrBroadcastSourceIsRejected) {
  for (Ip4Address src : {Ip4Address(224, 0, 0, 1), Ip4Address(239, 1, 2, 3), Ip4Address::Broadcast()}) {
    auto d = Copy(L3(kPingRequestFrame));
    src.CopyTo(&d[12]);
    FixChecksum(d);
    EXPECT_EQ(Ip4View::Parse(d).error(), Ip4ParseError::kBadSource);
  }
  // 0.0.0.0 is a legitimate source (DHCP, RFC 1122 §3.2.1.3 (a)).
  auto d = Copy(L3(kPingRequestFrame));
  Ip4Address().CopyTo(&d[12]);
  FixChecksum(d);
  EXPECT_TRUE(Ip4View::Parse(d).ok());
}

TEST(Ip4Test, FragmentBeyond65535IsRejected) {
  auto d = FragmentDatagram(kFragmentLastHeaders);  // 548 bytes
  // Offset 8124 * 8 = 64992: header and data end at 65540, beyond 65535.
  StoreBe16(&d[6], 8124);
  FixChecksum(d);
  EXPECT_EQ(Ip4View::Parse(d).error(), Ip4ParseError::kFragmentTooLong);
  // Offset 8123 * 8 = 64984: ends at 65532.
  StoreBe16(&d[6], 8123);
  FixChecksum(d);
  EXPECT_TRUE(Ip4View::Parse(d).ok());
}

// A 24- or 28-byte header carrying the given option bytes (padded with EOL).
std::vector<uint8_t> WithOptions(std::vector<uint8_t> options) {
  while (options.size() % 4 != 0) options.push_back(0);
  std::vector<uint8_t> d(28, 0);
  d.insert(d.begin() + 20, options.begin(), options.end());
  d[0] = static_cast<uint8_t>(0x40 | (5 + options.size() / 4));
  StoreBe16(&d[2], static_cast<uint16_t>(d.size()));
  d[8] = 64;
  d[9] = 17;
  kIpA.CopyTo(&d[12]);
  kIpB.CopyTo(&d[16]);
  FixChecksum(d);
  return d;
}

TEST(Ip4Test, MalformedOptionLengths) {
  struct Case {
    std::vector<uint8_t> options;
    Ip4ParseError error;
  };
  const std::vector<Case> cases = {
      {{0x94, 0x00, 0x00, 0x00}, Ip4ParseError::kOptionBadLength},  // length 0
      {{0x94, 0x01, 0x00, 0x00}, Ip4ParseError::kOptionBadLength},  // length 1
      {{0x01, 0x94, 0x01, 0x00}, Ip4ParseError::kOptionBadLength},
      {{0x94, 0x05, 0x00, 0x00}, Ip4ParseError::kOptionOverrun},    // runs past the header
      {{0x07, 0xff, 0x04, 0x00}, Ip4ParseError::kOptionOverrun},
      {{0x01, 0x01, 0x01, 0x94}, Ip4ParseError::kOptionOverrun},    // no room for the length
      {{0x94, 0x04, 0x00, 0x00, 0x07, 0x07, 0x04}, Ip4ParseError::kOptionOverrun},
  };
  for (const auto& c : cases) {
    const auto d = WithOptions(c.options);
    auto v = Ip4View::Parse(d);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error(), c.error) << ToString(v.error());
    EXPECT_TRUE(IsIntegrityError(v.error()));
  }
}

TEST(Ip4Test, WellFormedOptionsAreWalked) {
  // Router Alert (RFC 2113), NOP, an unknown option 0x9e of length 2, then EOL and junk.
  const auto d = WithOptions({0x94, 0x04, 0x00, 0x00, 0x01, 0x9e, 0x02, 0x00, 0xff, 0xff});
  auto v = Ip4View::Parse(d);
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  std::vector<Ip4Option> opts(v->options().begin(), v->options().end());
  ASSERT_EQ(opts.size(), 3u);
  EXPECT_EQ(opts[0].type, Ip4OptionType::kRouterAlert);
  EXPECT_EQ(opts[0].value.size(), 2u);
  EXPECT_EQ(opts[1].type, Ip4OptionType::kNop);
  EXPECT_EQ(static_cast<uint8_t>(opts[2].type), 0x9e);
  EXPECT_TRUE(opts[2].value.empty());
}

TEST(Ip4Test, OptionsViewDirectly) {
  const uint8_t only_eol[] = {0x00, 0x94, 0x00, 0x00};  // after EOL nothing is read
  auto e = Ip4OptionsView::Parse(only_eol);
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->empty());
  const uint8_t nops[] = {0x01, 0x01, 0x01, 0x01};
  auto n = Ip4OptionsView::Parse(nops);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::distance(n->begin(), n->end()), 4);
  EXPECT_EQ(Ip4OptionsView::Parse(ByteSpan()).ok(), true);
  const uint8_t bad[] = {0x44, 0x01};
  EXPECT_EQ(Ip4OptionsView::Parse(bad).error(), Ip4OptionError::kOptionBadLength);
}

TEST(Ip4Test, OptionsBuilderRefusesWhatDoesNotFit) {
  Ip4OptionsBuilder b;
  std::array<uint8_t, 38> big{};
  EXPECT_TRUE(b.Add(Ip4OptionType::kRecordRoute, big));
  EXPECT_EQ(b.bytes().size(), 40u);
  EXPECT_FALSE(b.Add(Ip4OptionType::kRouterAlert, ByteSpan()));
  Ip4OptionsBuilder c;
  std::array<uint8_t, 39> too_big{};
  EXPECT_FALSE(c.Add(Ip4OptionType::kRecordRoute, too_big));
  EXPECT_FALSE(c.Add(Ip4OptionType::kEol, ByteSpan()));
  EXPECT_TRUE(c.bytes().empty());
}

TEST(Ip4Test, ErrorNamesAndClasses) {
  EXPECT_EQ(ToString(Ip4ParseError::kBadChecksum), "bad_checksum");
  EXPECT_EQ(ToString(Ip4ParseError::kOptionOverrun), "option_overrun");
  EXPECT_EQ(ToString(Ip4ParseError::kFragmentTooLong), "fragment_too_long");
  EXPECT_TRUE(IsIntegrityError(Ip4ParseError::kOptionBadLength));
  EXPECT_FALSE(IsIntegrityError(Ip4ParseError::kBadSource));
}

}  // namespace
}  // namespace pytcp
