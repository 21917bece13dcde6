#include "stack/wire/arp.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "tests/wire/captures_ip4.h"

namespace pytcp {
namespace {

using testing::kArpReplyFrame;
using testing::kArpRequestFrame;
using testing::L3;

constexpr MacAddress kMacA(MacAddress::Bytes{0x02, 0, 0, 0, 0, 0x0a});
constexpr MacAddress kMacB(MacAddress::Bytes{0x02, 0, 0, 0, 0, 0x0b});
constexpr Ip4Address kIpA(10, 99, 4, 1);
constexpr Ip4Address kIpB(10, 99, 4, 2);

std::vector<uint8_t> Copy(ByteSpan s) { return {s.begin(), s.end()}; }

TEST(ArpTest, ParsesLinuxRequest) {
  auto v = ArpView::Parse(L3(kArpRequestFrame));
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  EXPECT_EQ(v->op(), ArpOp::kRequest);
  EXPECT_EQ(v->sha(), kMacA);
  EXPECT_EQ(v->spa(), kIpA);
  EXPECT_EQ(v->tha(), MacAddress());
  EXPECT_EQ(v->tpa(), kIpB);
  EXPECT_FALSE(v->is_probe());
  EXPECT_FALSE(v->is_announcement());
  EXPECT_EQ(v->packet().size(), 28u);
}

TEST(ArpTest, ParsesLinuxReply) {
  auto v = ArpView::Parse(L3(kArpReplyFrame));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->op(), ArpOp::kReply);
  EXPECT_EQ(v->sha(), kMacB);
  EXPECT_EQ(v->spa(), kIpB);
  EXPECT_EQ(v->tha(), kMacA);
  EXPECT_EQ(v->tpa(), kIpA);
}

TEST(ArpTest, EmitMatchesCaptures) {
  std::array<uint8_t, 28> out{};
  ArpPacket::Request(kMacA, kIpA, kIpB).Emit(out);
  EXPECT_EQ(Copy(out), Copy(L3(kArpRequestFrame)));
  ArpPacket::Reply(kMacB, kIpB, kMacA, kIpA).Emit(out);
  EXPECT_EQ(Copy(out), Copy(L3(kArpReplyFrame)));
}

TEST(ArpTest, RoundTrip) {
  for (ByteSpan frame : {ByteSpan(kArpRequestFrame), ByteSpan(kArpReplyFrame)}) {
    auto v = ArpView::Parse(L3(frame));
    ASSERT_TRUE(v.ok());
    std::array<uint8_t, 28> out{};
    v->ToPacket().Emit(out);
    EXPECT_EQ(Copy(out), Copy(L3(frame)));
  }
}

TEST(ArpTest, EthernetPaddingIsIgnored) {
  auto padded = Copy(L3(kArpRequestFrame));
  padded.resize(46, 0);  // a 60-byte frame on a real wire
  auto v = ArpView::Parse(padded);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->packet().size(), 28u);
  EXPECT_EQ(v->tpa(), kIpB);
}

TEST(ArpTest, EveryTruncationIsRejected) {
  const ByteSpan p = L3(kArpRequestFrame);
  for (size_t n = 0; n < p.size(); ++n) {
    auto v = ArpView::Parse(p.first(n));
    ASSERT_FALSE(v.ok()) << n;
    EXPECT_EQ(v.error(), ArpParseError::kTooShort) << n;
  }
}

struct Malformed {
  size_t offset;
  std::vector<uint8_t> bytes;
  ArpParseError error;
};

TEST(ArpTest, MalformedFieldsAreRejectedWithTheirReason) {
  const std::vector<Malformed> cases = {
      {0, {0x00, 0x06}, ArpParseError::kBadHardwareType},  // IEEE 802
      {0, {0x00, 0x00}, ArpParseError::kBadHardwareType},
      {2, {0x86, 0xdd}, ArpParseError::kBadProtocolType},
      {4, {0x08}, ArpParseError::kBadHardwareLength},
      {4, {0x00}, ArpParseError::kBadHardwareLength},
      {5, {0x10}, ArpParseError::kBadProtocolLength},
      {6, {0x00, 0x00}, ArpParseError::kBadOperation},
      {6, {0x00, 0x03}, ArpParseError::kBadOperation},  // RARP request
      {6, {0x00, 0x08}, ArpParseError::kBadOperation},  // InARP request
      {6, {0x01, 0x01}, ArpParseError::kBadOperation},
  };
  for (const auto& c : cases) {
    auto p = Copy(L3(kArpRequestFrame));
    std::copy(c.bytes.begin(), c.bytes.end(), p.begin() + static_cast<ptrdiff_t>(c.offset));
    auto v = ArpView::Parse(p);
    ASSERT_FALSE(v.ok()) << c.offset;
    EXPECT_EQ(v.error(), c.error) << c.offset << " " << ToString(v.error());
    EXPECT_FALSE(IsIntegrityError(v.error()));
  }
}

TEST(ArpTest, HardwareTypeIsReportedBeforeLaterFields) {
  auto p = Copy(L3(kArpRequestFrame));
  p[1] = 6;
  p[4] = 0;
  p[7] = 9;
  EXPECT_EQ(ArpView::Parse(p).error(), ArpParseError::kBadHardwareType);
}

TEST(ArpTest, ProbeAndAnnouncementRfc5227) {
  std::array<uint8_t, 28> out{};
  ArpPacket::Probe(kMacA, kIpB).Emit(out);
  auto probe = ArpView::Parse(out);
  ASSERT_TRUE(probe.ok());
  EXPECT_TRUE(probe->is_probe());
  EXPECT_FALSE(probe->is_announcement());
  EXPECT_EQ(probe->spa(), Ip4Address());
  EXPECT_EQ(probe->tha(), MacAddress());
  EXPECT_EQ(probe->tpa(), kIpB);

  ArpPacket::Announcement(kMacA, kIpA).Emit(out);
  auto ann = ArpView::Parse(out);
  ASSERT_TRUE(ann.ok());
  EXPECT_TRUE(ann->is_announcement());
  EXPECT_FALSE(ann->is_probe());
  EXPECT_EQ(ann->op(), ArpOp::kRequest);
  EXPECT_EQ(ann->spa(), kIpA);
  EXPECT_EQ(ann->tpa(), kIpA);

  // A gratuitous reply has the announcement's shape.
  ArpPacket::Reply(kMacA, kIpA, MacAddress::Broadcast(), kIpA).Emit(out);
  auto garp = ArpView::Parse(out);
  ASSERT_TRUE(garp.ok());
  EXPECT_TRUE(garp->is_announcement());
  EXPECT_FALSE(garp->is_probe());
}

TEST(ArpTest, ErrorNames) {
  EXPECT_EQ(ToString(ArpParseError::kTooShort), "too_short");
  EXPECT_EQ(ToString(ArpParseError::kBadOperation), "bad_operation");
  EXPECT_EQ(ToString(ArpParseError::kBadProtocolLength), "bad_protocol_length");
  EXPECT_TRUE(IsIntegrityError(ArpParseError::kTooShort));
}

}  // namespace
}  // namespace pytcp
