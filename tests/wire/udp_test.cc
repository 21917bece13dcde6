#include "stack/wire/udp.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "stack/wire/ip4.h"
#include "tests/wire/captures_ip4.h"

namespace pytcp {
namespace {

using namespace pytcp::testing;  // NOLINT: capture constants

constexpr Ip4Address kIpA(10, 99, 4, 1);
constexpr Ip4Address kIpB(10, 99, 4, 2);

std::vector<uint8_t> Copy(ByteSpan s) { return {s.begin(), s.end()}; }

uint32_t Pseudo(size_t len) { return PseudoHeaderSum4(kIpA, kIpB, 17, static_cast<uint32_t>(len)); }

std::vector<uint8_t> EmitDatagram(const UdpHeader& h, ByteSpan payload, uint32_t pseudo_sum) {
  std::vector<uint8_t> out(payload.size() + 8);
  std::copy(payload.begin(), payload.end(), out.begin() + 8);
  h.Emit(out, ByteSpan(out).subspan(8), pseudo_sum);
  return out;
}

TEST(UdpTest, ParsesCapture) {
  auto ip = Ip4View::Parse(L3(kUdpFrame));
  ASSERT_TRUE(ip.ok());
  auto v = UdpView::Parse(ip->payload(), ip->pseudo_header_sum());
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  EXPECT_EQ(v->src_port(), 40000);
  EXPECT_EQ(v->dst_port(), 5353);
  EXPECT_EQ(v->length(), 13);
  EXPECT_EQ(v->checksum(), 0x4911);
  EXPECT_EQ(std::string(v->payload().begin(), v->payload().end()), "ping\n");
  EXPECT_EQ(v->header().size(), 8u);
  EXPECT_EQ(v->datagram().size(), 13u);
}

TEST(UdpTest, EmitMatchesCaptures) {
  const std::string ping = "ping\n";
  const ByteSpan p(reinterpret_cast<const uint8_t*>(ping.data()), ping.size());
  EXPECT_EQ(EmitDatagram({40000, 5353}, p, Pseudo(13)), Copy(L4(kUdpFrame)));
  const std::string nobody = "nobody";
  const ByteSpan n(reinterpret_cast<const uint8_t*>(nobody.data()), nobody.size());
  EXPECT_EQ(EmitDatagram({40000, 9999}, n, Pseudo(14)), Copy(L4(kUdpNobodyFrame)));
}

TEST(UdpTest, RoundTrip) {
  for (ByteSpan frame : {ByteSpan(kUdpFrame), ByteSpan(kUdpNobodyFrame)}) {
    auto ip = Ip4View::Parse(L3(frame));
    ASSERT_TRUE(ip.ok());
    auto v = UdpView::Parse(ip->payload(), ip->pseudo_header_sum());
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(EmitDatagram(v->ToHeader(), v->payload(), ip->pseudo_header_sum()), Copy(v->datagram()));
  }
}

TEST(UdpTest, EveryTruncationIsRejected) {
  const ByteSpan d = L4(kUdpNobodyFrame);
  for (size_t n = 0; n < d.size(); ++n) {
    auto v = UdpView::Parse(d.first(n), Pseudo(n));
    ASSERT_FALSE(v.ok()) << n;
    EXPECT_EQ(v.error(), n < 8 ? UdpParseError::kTooShort : UdpParseError::kBadLength) << n;
  }
}

TEST(UdpTest, LengthFieldOutOfRange) {
  auto d = Copy(L4(kUdpFrame));
  for (uint16_t len : {0, 7, 14, 0xffff}) {
    StoreBe16(&d[4], len);
    auto v = UdpView::Parse(d, Pseudo(d.size()), {ChecksumPolicy::kSkip});
    ASSERT_FALSE(v.ok()) << len;
    EXPECT_EQ(v.error(), UdpParseError::kBadLength) << len;
  }
  // Length 8: an empty datagram (checksum aside).
  StoreBe16(&d[4], 8);
  auto v = UdpView::Parse(d, Pseudo(d.size()), {ChecksumPolicy::kSkip});
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->payload().empty());
}

TEST(UdpTest, ShorterLengthThanIpPayloadIgnoresTrailingBytesAndStillVerifies) {
  // The IP layer delivered 4 bytes more than the UDP length claims; the caller's pseudo
  // sum counts the IP payload length.
  auto d = Copy(L4(kUdpFrame));
  d.insert(d.end(), {0xde, 0xad, 0xbe, 0xef});
  auto v = UdpView::Parse(d, Pseudo(d.size()));
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  EXPECT_EQ(v->datagram().size(), 13u);
  EXPECT_EQ(v->payload().size(), 5u);
  d[10] ^= 1;  // corrupt the real payload: still caught
  EXPECT_EQ(UdpView::Parse(d, Pseudo(d.size())).error(), UdpParseError::kBadChecksum);
}

TEST(UdpTest, LengthCorrectionOnIpv6PseudoHeader) {
  const auto src = Ip6Address::FromGroups({0xfd77, 0, 0, 0, 0, 0, 0, 1});
  const auto dst = Ip6Address::FromGroups({0xfd77, 0, 0, 0, 0, 0, 0, 2});
  const uint8_t payload[] = {1, 2, 3, 4, 5, 6, 7};
  auto d = EmitDatagram({1234, 53}, payload, PseudoHeaderSum6(src, dst, 17, 15));
  d.resize(40, 0x55);
  auto v = UdpView::Parse(d, PseudoHeaderSum6(src, dst, 17, 40), {.zero_checksum_allowed = false});
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  EXPECT_EQ(v->length(), 15);
}

TEST(UdpTest, BadChecksumAndSkipPolicy) {
  auto d = Copy(L4(kUdpFrame));
  d[9] ^= 0x20;
  auto v = UdpView::Parse(d, Pseudo(d.size()));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error(), UdpParseError::kBadChecksum);
  EXPECT_TRUE(IsIntegrityError(v.error()));
  EXPECT_TRUE(UdpView::Parse(d, Pseudo(d.size()), {ChecksumPolicy::kSkip}).ok());
  // The pseudo-header matters: the same bytes to another destination do not verify.
  const auto good = Copy(L4(kUdpFrame));
  EXPECT_EQ(UdpView::Parse(good, PseudoHeaderSum4(kIpA, Ip4Address(10, 99, 4, 3), 17, 13)).error(),
            UdpParseError::kBadChecksum);
}

TEST(UdpTest, ZeroChecksumMeansNoneOverIp4ButIsAnErrorOverIp6) {
  auto d = Copy(L4(kUdpFrame));
  StoreBe16(&d[6], 0);
  d[9] ^= 0x20;  // not verified: the sender computed no checksum (RFC 768)
  EXPECT_TRUE(UdpView::Parse(d, Pseudo(d.size())).ok());
  auto v6 = UdpView::Parse(d, Pseudo(d.size()), {.zero_checksum_allowed = false});
  ASSERT_FALSE(v6.ok());
  EXPECT_EQ(v6.error(), UdpParseError::kZeroChecksum);
  EXPECT_EQ(UdpView::Parse(d, Pseudo(d.size()), {ChecksumPolicy::kSkip, false}).error(),
            UdpParseError::kZeroChecksum);
}

TEST(UdpTest, ComputedZeroChecksumIsSentAsAllOnes) {
  // Choose the last two payload bytes so that the one's-complement sum comes out 0xffff:
  // with them zero the checksum is c, and adding c to the sum completes it (RFC 1071).
  std::array<uint8_t, 4> payload = {0x12, 0x34, 0, 0};
  const auto first = EmitDatagram({1000, 2000}, payload, Pseudo(12));
  const uint16_t c = LoadBe16(&first[6]);
  StoreBe16(&payload[2], c);
  const auto d = EmitDatagram({1000, 2000}, payload, Pseudo(12));
  EXPECT_EQ(LoadBe16(&d[6]), 0xffff);
  EXPECT_TRUE(UdpView::Parse(d, Pseudo(12)).ok());
  EXPECT_TRUE(UdpView::Parse(d, Pseudo(12), {.zero_checksum_allowed = false}).ok());
}

TEST(UdpTest, ZeroDestinationPortIsASanityError) {
  const uint8_t payload[] = {'x'};
  auto d = EmitDatagram({1000, 0}, payload, Pseudo(9));
  auto v = UdpView::Parse(d, Pseudo(9));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error(), UdpParseError::kZeroDstPort);
  EXPECT_FALSE(IsIntegrityError(v.error()));
  // Source port 0 means "no reply expected" (RFC 768) and is accepted.
  d = EmitDatagram({0, 1000}, payload, Pseudo(9));
  EXPECT_TRUE(UdpView::Parse(d, Pseudo(9)).ok());
}

TEST(UdpTest, OffloadEmitLeavesThePseudoSumForTheDevice) {
  const std::string ping = "ping\n";
  std::vector<uint8_t> d(13);
  std::copy(ping.begin(), ping.end(), d.begin() + 8);
  UdpHeader{40000, 5353}.EmitForOffload(d, 5, Pseudo(13));
  // What the device does (csum_start at the UDP header): complement the sum of the bytes
  // from there on, the seeded field included.
  StoreBe16(&d[6], InternetChecksum(d));
  EXPECT_EQ(d, Copy(L4(kUdpFrame)));
}

TEST(UdpTest, ErrorNames) {
  EXPECT_EQ(ToString(UdpParseError::kTooShort), "too_short");
  EXPECT_EQ(ToString(UdpParseError::kBadLength), "bad_length");
  EXPECT_EQ(ToString(UdpParseError::kBadChecksum), "bad_checksum");
  EXPECT_EQ(ToString(UdpParseError::kZeroChecksum), "zero_checksum");
  EXPECT_EQ(ToString(UdpParseError::kZeroDstPort), "zero_dst_port");
}

}  // namespace
}  // namespace pytcp
