#include "stack/wire/ethernet.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "tests/wire/captures_ip4.h"

namespace pytcp {
namespace {

using testing::kArpRequestFrame;
using testing::kPingRequestFrame;

constexpr MacAddress kMacA(MacAddress::Bytes{0x02, 0, 0, 0, 0, 0x0a});
constexpr MacAddress kMacB(MacAddress::Bytes{0x02, 0, 0, 0, 0, 0x0b});

TEST(EthernetTest, ParsesArpBroadcast) {
  auto v = EthernetView::Parse(kArpRequestFrame);
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  EXPECT_EQ(v->dst(), MacAddress::Broadcast());
  EXPECT_EQ(v->src(), kMacA);
  EXPECT_EQ(v->ethertype(), EtherType::kArp);
  EXPECT_EQ(v->header().size(), 14u);
  EXPECT_EQ(v->payload().size(), 28u);
  EXPECT_EQ(v->payload().data(), &kArpRequestFrame[14]);
  EXPECT_EQ(v->frame().size(), sizeof(kArpRequestFrame));
}

TEST(EthernetTest, ParsesIp4Unicast) {
  auto v = EthernetView::Parse(kPingRequestFrame);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->dst(), kMacB);
  EXPECT_EQ(v->src(), kMacA);
  EXPECT_EQ(v->ethertype(), EtherType::kIp4);
  EXPECT_EQ(v->payload().size(), 84u);
}

TEST(EthernetTest, EmitMatchesCapture) {
  std::array<uint8_t, 14> out{};
  EthernetHeader{MacAddress::Broadcast(), kMacA, EtherType::kArp}.Emit(out);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), kArpRequestFrame));
  EthernetHeader{kMacB, kMacA, EtherType::kIp4}.Emit(out);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), kPingRequestFrame));
}

TEST(EthernetTest, RoundTrip) {
  auto v = EthernetView::Parse(kPingRequestFrame);
  ASSERT_TRUE(v.ok());
  std::array<uint8_t, 14> out{};
  EthernetHeader{v->dst(), v->src(), v->ethertype()}.Emit(out);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), v->header().begin()));
}

TEST(EthernetTest, EveryTruncationBelowHeaderIsRejected) {
  for (size_t n = 0; n < 14; ++n) {
    auto v = EthernetView::Parse(ByteSpan(kArpRequestFrame).first(n));
    ASSERT_FALSE(v.ok()) << n;
    EXPECT_EQ(v.error(), EthernetParseError::kTooShort) << n;
    EXPECT_TRUE(IsIntegrityError(v.error()));
  }
  auto bare = EthernetView::Parse(ByteSpan(kArpRequestFrame).first(14));
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE(bare->payload().empty());
}

TEST(EthernetTest, UnknownEtherTypesAreAccepted) {
  std::vector<uint8_t> f(std::begin(kArpRequestFrame), std::end(kArpRequestFrame));
  for (uint16_t type : {0x0600, 0x88cc /* LLDP */, 0x86dd, 0x8100, 0xffff}) {
    StoreBe16(&f[12], type);
    auto v = EthernetView::Parse(f);
    ASSERT_TRUE(v.ok()) << type;
    EXPECT_EQ(static_cast<uint16_t>(v->ethertype()), type);
  }
}

TEST(EthernetTest, Ieee8023LengthFieldIsASanityError) {
  std::vector<uint8_t> f(std::begin(kArpRequestFrame), std::end(kArpRequestFrame));
  for (uint16_t type : {0x0000, 0x002e, 0x05dc /* 1500 */, 0x05ff}) {
    StoreBe16(&f[12], type);
    auto v = EthernetView::Parse(f);
    ASSERT_FALSE(v.ok()) << type;
    EXPECT_EQ(v.error(), EthernetParseError::kLengthField);
    EXPECT_FALSE(IsIntegrityError(v.error()));
  }
}

TEST(EthernetTest, PadFillsShortFramesWithZerosTo60) {
  std::array<uint8_t, 64> buf;
  buf.fill(0xaa);
  std::copy(std::begin(kArpRequestFrame), std::end(kArpRequestFrame), buf.begin());
  EXPECT_EQ(EthernetPad(buf, sizeof(kArpRequestFrame)), 60u);
  EXPECT_TRUE(std::equal(std::begin(kArpRequestFrame), std::end(kArpRequestFrame), buf.begin()));
  for (size_t i = 42; i < 60; ++i) EXPECT_EQ(buf[i], 0) << i;
  for (size_t i = 60; i < 64; ++i) EXPECT_EQ(buf[i], 0xaa) << i;  // nothing past the minimum
}

TEST(EthernetTest, PadLeavesFullSizeFramesAlone) {
  std::array<uint8_t, 100> buf;
  buf.fill(0xaa);
  EXPECT_EQ(EthernetPad(buf, 60), 60u);
  EXPECT_EQ(EthernetPad(buf, 100), 100u);
  for (uint8_t b : buf) EXPECT_EQ(b, 0xaa);
  EXPECT_EQ(EthernetPad(buf, 0), 60u);
}

TEST(EthernetTest, ErrorNames) {
  EXPECT_EQ(ToString(EthernetParseError::kTooShort), "too_short");
  EXPECT_EQ(ToString(EthernetParseError::kLengthField), "length_field");
}

}  // namespace
}  // namespace pytcp
