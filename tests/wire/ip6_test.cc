#include <gtest/gtest.h>

#include <set>
#include <string>

#include "stack/wire/ip6.h"
#include "tests/wire/captures_ip6_dhcp_dns.h"
#include "tests/wire/wire_test_util.h"

namespace pytcp {
namespace {

using namespace wire_testing;  // NOLINT

TEST(Ip6ViewTest, ParsesDnsmasqRouterAdvertHeaderFieldByField) {
  auto ip = Ip6View::Parse(testdata::kRouterAdvert);
  ASSERT_TRUE(ip.ok()) << ToString(ip.error());
  EXPECT_EQ(ip->version(), 6);
  EXPECT_EQ(ip->traffic_class(), 0xc0);
  EXPECT_EQ(ip->dscp(), 48);  // CS6
  EXPECT_EQ(ip->ecn(), 0);
  EXPECT_EQ(ip->flow_label(), 0xc3f24u);
  EXPECT_EQ(ip->payload_length(), 88);
  EXPECT_EQ(ip->next_header(), Ip6NextHeader::kIcmp6);
  EXPECT_EQ(ip->hop_limit(), 255);
  EXPECT_EQ(ip->src(), A6("fd77::1"));
  EXPECT_EQ(ip->dst(), A6("fe80::2892:7dff:fe0a:a397"));
  EXPECT_EQ(ip->header().size(), 40u);
  EXPECT_EQ(ip->payload().size(), 88u);
  EXPECT_EQ(ip->payload().data(), testdata::kRouterAdvert + 40);
  EXPECT_EQ(ip->packet().size(), sizeof(testdata::kRouterAdvert));
}

TEST(Ip6ViewTest, UnspecifiedSourceIsAccepted) {
  // The DAD probe comes from :: (RFC 4862 §5.4.2).
  auto ip = Ip6View::Parse(testdata::kDadNeighborSolicit);
  ASSERT_TRUE(ip.ok());
  EXPECT_TRUE(ip->src().is_unspecified());
  EXPECT_EQ(ip->dst(), A6("ff02::1:ff0a:a397"));
}

TEST(Ip6ViewTest, LinkPaddingIsExcluded) {
  // A 72-byte packet in a minimum Ethernet frame would come with trailing zeros.
  Bytes padded = Concat({testdata::kDadNeighborSolicit, Bytes(10, 0)});
  auto ip = Ip6View::Parse(padded);
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->packet().size(), sizeof(testdata::kDadNeighborSolicit));
  EXPECT_EQ(ip->payload().size(), 32u);
}

TEST(Ip6ViewTest, EveryTruncationIsRejected) {
  const ByteSpan full(testdata::kRouterAdvert);
  for (size_t n = 0; n < full.size(); ++n) {
    auto ip = Ip6View::Parse(full.first(n));
    ASSERT_FALSE(ip.ok()) << n;
    EXPECT_EQ(ip.error(), n < 40 ? Ip6ParseError::kTooShort : Ip6ParseError::kBadPayloadLength)
        << n;
    EXPECT_TRUE(IsIntegrityError(ip.error()));
  }
}

TEST(Ip6ViewTest, ZeroPayloadLengthIsAnEmptyPayload) {
  Bytes b = ToBytes(testdata::kEchoRequest);
  b[4] = b[5] = 0;
  b[6] = static_cast<uint8_t>(Ip6NextHeader::kNoNextHeader);
  auto ip = Ip6View::Parse(b);
  ASSERT_TRUE(ip.ok());
  EXPECT_TRUE(ip->payload().empty());
}

TEST(Ip6ViewTest, BadVersionIsRejected) {
  Bytes b = ToBytes(testdata::kEchoRequest);
  b[0] = 0x45;
  auto ip = Ip6View::Parse(b);
  ASSERT_FALSE(ip.ok());
  EXPECT_EQ(ip.error(), Ip6ParseError::kBadVersion);
}

TEST(Ip6ViewTest, MulticastSourceIsASanityError) {
  Bytes b = ToBytes(testdata::kEchoRequest);
  b[8] = 0xff;
  auto ip = Ip6View::Parse(b);
  ASSERT_FALSE(ip.ok());
  EXPECT_EQ(ip.error(), Ip6ParseError::kMulticastSource);
  EXPECT_FALSE(IsIntegrityError(ip.error()));
}

TEST(Ip6HeaderTest, EmitMatchesDnsmasqHeaderByteForByte) {
  Ip6Header h;
  h.src = A6("fd77::1");
  h.dst = A6("fe80::2892:7dff:fe0a:a397");
  h.next_header = Ip6NextHeader::kIcmp6;
  h.hop_limit = 255;
  h.dscp = 48;
  h.ecn = 0;
  h.flow_label = 0xc3f24;
  uint8_t out[40];
  h.Emit(out, 88);
  EXPECT_EQ(Bytes(out, out + 40), Bytes(testdata::kRouterAdvert, testdata::kRouterAdvert + 40));
}

TEST(Ip6HeaderTest, RoundTripThroughToHeader) {
  for (ByteSpan packet : {ByteSpan(testdata::kRouterAdvert), ByteSpan(testdata::kMldV2Report),
                          ByteSpan(testdata::kFirstFragment), ByteSpan(testdata::kEchoRequest)}) {
    auto ip = Ip6View::Parse(packet);
    ASSERT_TRUE(ip.ok());
    uint8_t out[40];
    ip->ToHeader().Emit(out, ip->payload_length());
    EXPECT_EQ(Bytes(out, out + 40), Bytes(packet.begin(), packet.begin() + 40));
  }
  Ip6Header h;
  h.ecn = 3;
  h.dscp = 63;
  h.flow_label = 0xfffff;
  uint8_t out[40];
  h.Emit(out, 0);
  auto ip = Ip6View::Parse(out);
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->ToHeader(), h);
}

TEST(Ip6ViewTest, PseudoHeaderSumVerifiesTheEchoChecksum) {
  auto ip = Ip6View::Parse(testdata::kEchoRequest);
  ASSERT_TRUE(ip.ok());
  const uint32_t sum = ip->PseudoHeaderSum(Ip6NextHeader::kIcmp6, ip->payload().size());
  EXPECT_EQ(ChecksumFold(ChecksumSum(ip->payload(), sum)), 0);
}

TEST(Ip6ParseErrorTest, NamesAreDistinct) {
  std::set<std::string> names;
  for (auto e : {Ip6ParseError::kTooShort, Ip6ParseError::kBadVersion,
                 Ip6ParseError::kBadPayloadLength, Ip6ParseError::kMulticastSource}) {
    names.insert(std::string(ToString(e)));
  }
  EXPECT_EQ(names.size(), 4u);
  EXPECT_EQ(names.count("unknown"), 0u);
}

}  // namespace
}  // namespace pytcp
