#include <gtest/gtest.h>

#include <vector>

#include "stack/wire/icmp6_nd.h"
#include "tests/wire/captures_ip6_dhcp_dns.h"
#include "tests/wire/wire_test_util.h"

namespace pytcp {
namespace {

using namespace wire_testing;  // NOLINT

const Ip6Address kHostLl = A6("fe80::2892:7dff:fe0a:a397");
const Ip6Address kRouterLl = A6("fe80::b82c:a5ff:fe0a:d0f3");
const Ip6Address kPeer = A6("fd77::1");
const MacAddress kHostMac = Mac("2a:92:7d:0a:a3:97");
const MacAddress kRouterMac = Mac("ba:2c:a5:0a:d0:f3");

Bytes MessageOf(ByteSpan packet) {
  const ByteSpan m = IcmpOf(packet).message;
  return Bytes(m.begin(), m.end());
}

// Emits `msg` for the addresses of `packet` and expects the captured bytes.
template <typename Msg>
void ExpectEmitMatches(const Msg& msg, ByteSpan packet) {
  auto ip = Ip6View::Parse(packet);
  const Bytes expected = MessageOf(packet);
  ASSERT_EQ(msg.size(), expected.size());
  Bytes out(msg.size(), 0xee);
  msg.Emit(out, Icmp6PseudoHeaderSum(ip->src(), ip->dst(), out.size()));
  EXPECT_EQ(out, expected);
}

// Parses a hand-made message after fixing its checksum.
Result<Icmp6View, Icmp6ParseError> ParseFixed(Bytes& m) {
  FixIcmpChecksum(m, kHostLl, kPeer);
  return Icmp6View::Parse(m, Icmp6PseudoHeaderSum(kHostLl, kPeer, m.size()));
}

TEST(NdTest, LinuxDadNeighborSolicit) {
  auto icmp = ParseIcmp(testdata::kDadNeighborSolicit);
  ASSERT_TRUE(icmp.ok()) << ToString(icmp.error());
  auto ns = NdNeighborSolicitView::From(*icmp);
  ASSERT_TRUE(ns);
  EXPECT_FALSE(NdNeighborAdvertView::From(*icmp));
  EXPECT_EQ(ns->target(), kHostLl);
  // RFC 4862 §5.4.2: no source link-layer address from ::; Linux adds a Nonce (RFC 7527).
  EXPECT_FALSE(ns->source_link_layer_address());
  std::vector<NdOption> options(ns->options().begin(), ns->options().end());
  ASSERT_EQ(options.size(), 1u);
  EXPECT_EQ(options[0].type(), NdOptionType::kNonce);
  EXPECT_EQ(options[0].length_units(), 1);
  EXPECT_EQ(options[0].body().size(), 6u);
}

TEST(NdTest, LinuxNeighborSolicitWithSourceLinkLayerAddress) {
  auto icmp = ParseIcmp(testdata::kNeighborSolicit);
  ASSERT_TRUE(icmp.ok());
  auto ns = NdNeighborSolicitView::From(*icmp);
  ASSERT_TRUE(ns);
  EXPECT_EQ(ns->target(), kHostLl);
  EXPECT_EQ(ns->source_link_layer_address(), kRouterMac);
  ExpectEmitMatches(NdNeighborSolicitMessage{kHostLl, kRouterMac}, testdata::kNeighborSolicit);
}

TEST(NdTest, LinuxNeighborAdvertWithTargetLinkLayerAddress) {
  auto icmp = ParseIcmp(testdata::kNeighborAdvert);
  ASSERT_TRUE(icmp.ok());
  auto na = NdNeighborAdvertView::From(*icmp);
  ASSERT_TRUE(na);
  EXPECT_FALSE(na->router());
  EXPECT_TRUE(na->solicited());
  EXPECT_TRUE(na->override_flag());
  EXPECT_EQ(na->target(), kHostLl);
  EXPECT_EQ(na->target_link_layer_address(), kHostMac);
  NdNeighborAdvertMessage m;
  m.target = kHostLl;
  m.solicited = true;
  m.override_flag = true;
  m.target_lla = kHostMac;
  ExpectEmitMatches(m, testdata::kNeighborAdvert);
}

TEST(NdTest, LinuxNeighborAdvertWithoutOption) {
  auto icmp = ParseIcmp(testdata::kNeighborAdvertNoOption);
  ASSERT_TRUE(icmp.ok());
  auto na = NdNeighborAdvertView::From(*icmp);
  ASSERT_TRUE(na);
  EXPECT_TRUE(na->solicited());
  EXPECT_FALSE(na->override_flag());
  EXPECT_FALSE(na->router());
  EXPECT_EQ(na->target(), kPeer);
  EXPECT_FALSE(na->target_link_layer_address());
  EXPECT_EQ(na->options().begin(), na->options().end());
  NdNeighborAdvertMessage m;
  m.target = kPeer;
  m.solicited = true;
  ExpectEmitMatches(m, testdata::kNeighborAdvertNoOption);
}

TEST(NdTest, LinuxRouterSolicit) {
  auto icmp = ParseIcmp(testdata::kRouterSolicit);
  ASSERT_TRUE(icmp.ok());
  auto rs = NdRouterSolicitView::From(*icmp);
  ASSERT_TRUE(rs);
  EXPECT_EQ(rs->source_link_layer_address(), kHostMac);
  ExpectEmitMatches(NdRouterSolicitMessage{kHostMac}, testdata::kRouterSolicit);
}

TEST(NdTest, DnsmasqRouterAdvertFieldByField) {
  auto icmp = ParseIcmp(testdata::kRouterAdvert);
  ASSERT_TRUE(icmp.ok()) << ToString(icmp.error());
  auto ra = NdRouterAdvertView::From(*icmp);
  ASSERT_TRUE(ra);
  EXPECT_EQ(ra->cur_hop_limit(), 64);
  EXPECT_FALSE(ra->managed());
  EXPECT_TRUE(ra->other());
  EXPECT_EQ(ra->preference(), NdRouterPreference::kMedium);
  EXPECT_EQ(ra->router_lifetime(), 4200);
  EXPECT_EQ(ra->reachable_time(), 0u);
  EXPECT_EQ(ra->retrans_timer(), 0u);
  EXPECT_EQ(ra->source_link_layer_address(), kRouterMac);
  EXPECT_EQ(ra->mtu(), 1500u);

  std::vector<NdOption> o(ra->options().begin(), ra->options().end());
  ASSERT_EQ(o.size(), 4u);
  EXPECT_EQ(o[0].type(), NdOptionType::kPrefixInformation);
  const NdPrefixInfo p = o[0].prefix_info();
  EXPECT_EQ(p.prefix, A6("fd77::"));
  EXPECT_EQ(p.prefix_length, 64);
  EXPECT_TRUE(p.on_link);
  EXPECT_TRUE(p.autonomous);
  EXPECT_EQ(p.valid_lifetime, 4200u);
  EXPECT_EQ(p.preferred_lifetime, 4200u);
  EXPECT_EQ(o[1].type(), NdOptionType::kMtu);
  EXPECT_EQ(o[1].mtu(), 1500u);
  EXPECT_EQ(o[2].type(), NdOptionType::kSourceLinkLayerAddress);
  EXPECT_EQ(o[2].link_layer_address(), kRouterMac);
  EXPECT_EQ(o[3].type(), NdOptionType::kRdnss);
  EXPECT_EQ(o[3].rdnss_lifetime(), 4200u);
  ASSERT_EQ(o[3].rdnss_count(), 1u);
  EXPECT_EQ(o[3].rdnss_address(0), kRouterLl);
  EXPECT_TRUE(ra->options().Find(NdOptionType::kRdnss));
  EXPECT_FALSE(ra->options().Find(NdOptionType::kDnssl));
}

TEST(NdTest, RouterAdvertEmitMatchesDnsmasq) {
  const NdPrefixInfo prefixes[] = {{A6("fd77::"), 64, true, true, 4200, 4200}};
  const Ip6Address dns[] = {kRouterLl};
  NdRouterAdvertMessage m;
  m.cur_hop_limit = 64;
  m.other = true;
  m.router_lifetime = 4200;
  m.source_lla = kRouterMac;
  m.mtu = 1500;
  m.prefixes = prefixes;
  m.rdnss = dns;
  m.rdnss_lifetime = 4200;
  ExpectEmitMatches(m, testdata::kRouterAdvert);
}

TEST(NdTest, RouterAdvertTruncationsAreRejected) {
  const IcmpInPacket in = IcmpOf(testdata::kRouterAdvert);
  // Option boundaries: 16 (fixed part), 48, 56, 64, 88.
  const std::vector<size_t> boundaries = {16, 48, 56, 64};
  for (size_t n = 0; n < in.message.size(); ++n) {
    const ByteSpan cut = in.message.first(n);
    auto checked = Icmp6View::Parse(cut, Icmp6PseudoHeaderSum(kPeer, kHostLl, n));
    EXPECT_FALSE(checked.ok()) << n;
    // Without the checksum a cut at an option boundary is a valid shorter RA; anywhere
    // else it is refused for what it is.
    auto skipped = Icmp6View::Parse(cut, 0, ChecksumPolicy::kSkip);
    const bool boundary = std::find(boundaries.begin(), boundaries.end(), n) != boundaries.end();
    ASSERT_EQ(skipped.ok(), boundary) << n;
    if (!boundary) {
      const Icmp6ParseError want = n < 4    ? Icmp6ParseError::kTooShort
                                   : n < 16 ? Icmp6ParseError::kTooShortForType
                                            : Icmp6ParseError::kNdOptionTruncated;
      EXPECT_EQ(skipped.error(), want) << n;
    }
  }
}

TEST(NdTest, ZeroLengthOptionIsRejected) {
  // RFC 4861 §4.6.
  Bytes m = MessageOf(testdata::kNeighborSolicit);
  m[25] = 0;
  auto icmp = ParseFixed(m);
  ASSERT_FALSE(icmp.ok());
  EXPECT_EQ(icmp.error(), Icmp6ParseError::kNdOptionZeroLength);
  EXPECT_TRUE(IsIntegrityError(icmp.error()));
}

TEST(NdTest, OptionRunningPastTheMessageIsRejected) {
  Bytes m = MessageOf(testdata::kNeighborSolicit);
  m[25] = 2;  // 16 bytes, 8 present
  auto icmp = ParseFixed(m);
  ASSERT_FALSE(icmp.ok());
  EXPECT_EQ(icmp.error(), Icmp6ParseError::kNdOptionTruncated);
  // A lone trailing byte cannot hold an option header.
  Bytes t = MessageOf(testdata::kNeighborAdvertNoOption);
  t.push_back(1);
  auto icmp2 = ParseFixed(t);
  ASSERT_FALSE(icmp2.ok());
  EXPECT_EQ(icmp2.error(), Icmp6ParseError::kNdOptionTruncated);
}

TEST(NdTest, NonZeroCodeIsRejected) {
  for (ByteSpan packet :
       {ByteSpan(testdata::kRouterSolicit), ByteSpan(testdata::kRouterAdvert),
        ByteSpan(testdata::kNeighborSolicit), ByteSpan(testdata::kNeighborAdvert)}) {
    Bytes m = MessageOf(packet);
    m[1] = 1;
    auto icmp = ParseFixed(m);
    ASSERT_FALSE(icmp.ok());
    EXPECT_EQ(icmp.error(), Icmp6ParseError::kNdBadCode);
    EXPECT_FALSE(IsIntegrityError(icmp.error()));
  }
}

TEST(NdTest, MulticastTargetIsRejected) {
  for (ByteSpan packet :
       {ByteSpan(testdata::kNeighborSolicit), ByteSpan(testdata::kNeighborAdvert)}) {
    Bytes m = MessageOf(packet);
    A6("ff02::1").CopyTo(m.data() + 8);
    auto icmp = ParseFixed(m);
    ASSERT_FALSE(icmp.ok());
    EXPECT_EQ(icmp.error(), Icmp6ParseError::kNdMulticastTarget);
  }
}

TEST(NdTest, TooShortForTypeIsRejected) {
  const std::pair<ByteSpan, size_t> cases[] = {{testdata::kRouterSolicit, 8},
                                               {testdata::kRouterAdvert, 16},
                                               {testdata::kNeighborSolicit, 24},
                                               {testdata::kNeighborAdvert, 24}};
  for (const auto& [packet, fixed] : cases) {
    Bytes m = MessageOf(packet);
    m.resize(fixed - 4);
    auto icmp = ParseFixed(m);
    ASSERT_FALSE(icmp.ok());
    EXPECT_EQ(icmp.error(), Icmp6ParseError::kTooShortForType);
  }
}

// An RA carrying one extra option, built in `m` (which the view points into).
Result<Icmp6View, Icmp6ParseError> RaWithOption(Bytes& m, const Bytes& option) {
  m = Concat({ByteSpan(MessageOf(testdata::kRouterAdvert)).first(16), option});
  return ParseFixed(m);
}

TEST(NdTest, KnownOptionsWithForbiddenLengthsAreRejected) {
  Bytes lla(16, 0);
  lla[0] = 1;
  lla[1] = 2;  // 16-byte Ethernet link-layer address option
  Bytes prefix(24, 0);
  prefix[0] = 3;
  prefix[1] = 3;
  Bytes mtu(16, 0);
  mtu[0] = 5;
  mtu[1] = 2;
  Bytes rdnss_short(16, 0);
  rdnss_short[0] = 25;
  rdnss_short[1] = 2;  // room for no full address
  Bytes rdnss_even(32, 0);
  rdnss_even[0] = 25;
  rdnss_even[1] = 4;
  Bytes dnssl(8, 0);
  dnssl[0] = 31;
  dnssl[1] = 1;
  Bytes m;
  for (const Bytes& o : {lla, prefix, mtu, rdnss_short, rdnss_even, dnssl}) {
    auto icmp = RaWithOption(m, o);
    ASSERT_FALSE(icmp.ok()) << int{o[0]};
    EXPECT_EQ(icmp.error(), Icmp6ParseError::kNdBadOptionLength) << int{o[0]};
  }
  Bytes long_prefix(32, 0);
  long_prefix[0] = 3;
  long_prefix[1] = 4;
  long_prefix[2] = 129;
  auto icmp = RaWithOption(m, long_prefix);
  ASSERT_FALSE(icmp.ok());
  EXPECT_EQ(icmp.error(), Icmp6ParseError::kNdBadPrefixLength);
}

TEST(NdTest, UnknownAndDnsslOptionsAreKept) {
  Bytes m, m2;
  Bytes unknown = {200, 1, 1, 2, 3, 4, 5, 6};
  auto icmp = RaWithOption(m, unknown);
  ASSERT_TRUE(icmp.ok());
  auto ra = NdRouterAdvertView::From(*icmp);
  EXPECT_EQ(static_cast<uint8_t>((*ra->options().begin()).type()), 200);

  Bytes dnssl = {31, 3,   0,   0,   0,   0, 0x0e, 0x10, 3, 'l', 'a', 'b',
                 4,  't', 'e', 's', 't', 0, 0,    0,    0, 0,   0,   0};
  auto icmp2 = RaWithOption(m2, dnssl);
  ASSERT_TRUE(icmp2.ok());
  auto o = NdRouterAdvertView::From(*icmp2)->options().Find(NdOptionType::kDnssl);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->dnssl_lifetime(), 3600u);
  EXPECT_EQ(o->dnssl_domain_names().size(), 16u);
  EXPECT_EQ(o->dnssl_domain_names()[0], 3);
}

TEST(NdTest, RedirectRoundTrip) {
  const Ip6Address dest = A6("fd78::5");
  NdRedirectMessage m;
  m.target = kRouterLl;
  m.destination = dest;
  m.target_lla = kRouterMac;
  m.redirected_packet = testdata::kEchoRequest;  // 104 bytes
  Bytes out(m.size());
  ASSERT_EQ(out.size(), 40u + 8u + 8u + 104u);
  m.Emit(out, Icmp6PseudoHeaderSum(kRouterLl, kHostLl, out.size()));
  auto icmp = Icmp6View::Parse(out, Icmp6PseudoHeaderSum(kRouterLl, kHostLl, out.size()));
  ASSERT_TRUE(icmp.ok()) << ToString(icmp.error());
  auto r = NdRedirectView::From(*icmp);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->target(), kRouterLl);
  EXPECT_EQ(r->destination(), dest);
  EXPECT_EQ(r->target_link_layer_address(), kRouterMac);
  ASSERT_TRUE(r->redirected_packet());
  EXPECT_EQ(Bytes(r->redirected_packet()->begin(), r->redirected_packet()->end()),
            ToBytes(testdata::kEchoRequest));

  // The redirected packet is cut to keep the redirect within 1280 bytes and padded.
  Bytes big(2000, 0x60);
  m.redirected_packet = big;
  EXPECT_EQ(m.size(), 1280u - 40u);
  m.redirected_packet = ByteSpan(big).first(13);
  EXPECT_EQ(m.size(), 40u + 8u + 8u + 16u);
}

TEST(NdTest, RedirectSanity) {
  NdRedirectMessage m;
  m.target = A6("fd78::5");  // the destination itself: on-link
  m.destination = A6("fd78::5");
  Bytes out(m.size());
  m.Emit(out, 0);
  EXPECT_TRUE(ParseFixed(out).ok());
  m.target = A6("fd78::6");  // neither link-local nor the destination
  m.Emit(out, 0);
  auto bad = ParseFixed(out);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), Icmp6ParseError::kNdBadRedirectTarget);
  m.target = kRouterLl;
  m.destination = A6("ff05::2");
  m.Emit(out, 0);
  auto mc = ParseFixed(out);
  ASSERT_FALSE(mc.ok());
  EXPECT_EQ(mc.error(), Icmp6ParseError::kNdMulticastDestination);
  out.resize(39);
  auto shrt = ParseFixed(out);
  ASSERT_FALSE(shrt.ok());
  EXPECT_EQ(shrt.error(), Icmp6ParseError::kTooShortForType);
}

TEST(NdTest, EmittedMessagesParseBack) {
  NdNeighborSolicitMessage dad{kHostLl, std::nullopt};
  Bytes out(dad.size());
  ASSERT_EQ(out.size(), 24u);
  dad.Emit(out, 0);
  auto ns = ParseFixed(out);
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(NdNeighborSolicitView::From(*ns)->target(), kHostLl);
  EXPECT_FALSE(NdNeighborSolicitView::From(*ns)->source_link_layer_address());

  NdNeighborAdvertMessage na{kHostLl, true, false, true, kHostMac};
  out.assign(na.size(), 0);
  na.Emit(out, 0);
  auto nav = ParseFixed(out);
  ASSERT_TRUE(nav.ok());
  auto v = NdNeighborAdvertView::From(*nav);
  EXPECT_TRUE(v->router());
  EXPECT_FALSE(v->solicited());
  EXPECT_TRUE(v->override_flag());

  NdRouterAdvertMessage ra;
  ra.managed = true;
  ra.preference = NdRouterPreference::kLow;
  ra.reachable_time = 30000;
  ra.retrans_timer = 1000;
  out.assign(ra.size(), 0);
  ASSERT_EQ(out.size(), 16u);
  ra.Emit(out, 0);
  auto rav = ParseFixed(out);
  ASSERT_TRUE(rav.ok());
  auto r = NdRouterAdvertView::From(*rav);
  EXPECT_TRUE(r->managed());
  EXPECT_FALSE(r->other());
  EXPECT_EQ(r->preference(), NdRouterPreference::kLow);
  EXPECT_EQ(r->reachable_time(), 30000u);
  EXPECT_EQ(r->retrans_timer(), 1000u);
  EXPECT_EQ(r->router_lifetime(), 1800);
  EXPECT_FALSE(r->mtu());
}

}  // namespace
}  // namespace pytcp
