#include <gtest/gtest.h>

#include <set>
#include <string>

#include "stack/wire/icmp6.h"
#include "tests/wire/captures_ip6_dhcp_dns.h"
#include "tests/wire/wire_test_util.h"

namespace pytcp {
namespace {

using namespace wire_testing;  // NOLINT

const Ip6Address kHost = A6("fd77::2892:7dff:fe0a:a397");
const Ip6Address kPeer = A6("fd77::1");

TEST(Icmp6ViewTest, LinuxEchoRequestFieldByField) {
  auto icmp = ParseIcmp(testdata::kEchoRequest);
  ASSERT_TRUE(icmp.ok()) << ToString(icmp.error());
  EXPECT_EQ(icmp->type(), Icmp6Type::kEchoRequest);
  EXPECT_EQ(icmp->code(), 0);
  EXPECT_EQ(icmp->checksum(), 0x9c03);
  EXPECT_TRUE(icmp->is_echo());
  EXPECT_FALSE(icmp->is_error());
  EXPECT_EQ(icmp->echo_id(), 15032);
  EXPECT_EQ(icmp->echo_seq(), 1);
  ASSERT_EQ(icmp->echo_data().size(), 56u);
  EXPECT_EQ(icmp->echo_data()[16], 0x10);
  EXPECT_EQ(icmp->echo_data()[55], 0x37);
  EXPECT_EQ(icmp->message().size(), 64u);
  EXPECT_EQ(icmp->body().size(), 60u);
}

TEST(Icmp6HeaderTest, EchoRequestEmitMatchesLinux) {
  const IcmpInPacket in = IcmpOf(testdata::kEchoRequest);
  Bytes out(in.message.begin(), in.message.end());
  std::fill(out.begin(), out.begin() + 8, 0);  // the payload is already in place
  Icmp6Header::EchoRequest(15032, 1).Emit(out, ByteSpan(out).subspan(8), in.pseudo_sum);
  EXPECT_EQ(out, Bytes(in.message.begin(), in.message.end()));
}

TEST(Icmp6HeaderTest, EchoReplyMatchesLinuxReply) {
  // Linux's reply (captured in the same run) differs in type and checksum only.
  auto request = ParseIcmp(testdata::kEchoRequest);
  Bytes out(request->message().begin(), request->message().end());
  Icmp6Header::EchoReply(request->echo_id(), request->echo_seq())
      .Emit(out, request->echo_data(), Icmp6PseudoHeaderSum(kPeer, kHost, out.size()));
  auto reply = Icmp6View::Parse(out, Icmp6PseudoHeaderSum(kPeer, kHost, out.size()));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->type(), Icmp6Type::kEchoReply);
  EXPECT_EQ(reply->checksum(), 0x9b03);  // as in the capture of the kernel's reply
  EXPECT_EQ(reply->ToHeader(), Icmp6Header::EchoReply(15032, 1));
}

TEST(Icmp6ViewTest, BadChecksumIsRejectedUnlessSkipped) {
  const IcmpInPacket in = IcmpOf(testdata::kEchoRequest);
  Bytes b(in.message.begin(), in.message.end());
  b[20] ^= 0x01;
  auto bad = Icmp6View::Parse(b, in.pseudo_sum);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), Icmp6ParseError::kBadChecksum);
  EXPECT_TRUE(IsIntegrityError(bad.error()));
  EXPECT_TRUE(Icmp6View::Parse(b, in.pseudo_sum, ChecksumPolicy::kSkip).ok());
  // The pseudo-header counts: the right bytes to the wrong destination fail.
  auto wrong_dst = Icmp6View::Parse(in.message, Icmp6PseudoHeaderSum(kHost, kHost, 64));
  ASSERT_FALSE(wrong_dst.ok());
  EXPECT_EQ(wrong_dst.error(), Icmp6ParseError::kBadChecksum);
}

TEST(Icmp6ViewTest, EveryTruncationIsRejected) {
  const IcmpInPacket in = IcmpOf(testdata::kEchoRequest);
  for (size_t n = 0; n < in.message.size(); ++n) {
    const ByteSpan cut = in.message.first(n);
    // As an engine would see it: a consistent IPv6 length, so the pseudo-header says n.
    auto icmp = Icmp6View::Parse(cut, Icmp6PseudoHeaderSum(kHost, kPeer, n));
    ASSERT_FALSE(icmp.ok()) << n;
    EXPECT_EQ(icmp.error(), n < 4 ? Icmp6ParseError::kTooShort : Icmp6ParseError::kBadChecksum)
        << n;
    // Without the checksum, what cannot be read is still refused.
    auto skipped = Icmp6View::Parse(cut, 0, ChecksumPolicy::kSkip);
    if (n < 8) {
      ASSERT_FALSE(skipped.ok()) << n;
      EXPECT_EQ(skipped.error(),
                n < 4 ? Icmp6ParseError::kTooShort : Icmp6ParseError::kTooShortForType);
    }
  }
}

// An error message about the captured echo request, as this stack would send it.
Bytes MakeError(const Icmp6Header& h, ByteSpan invoking) {
  const ByteSpan quote = Icmp6Quote(invoking);
  Bytes out(8 + quote.size());
  std::copy(quote.begin(), quote.end(), out.begin() + 8);
  h.Emit(out, quote, Icmp6PseudoHeaderSum(kPeer, kHost, out.size()));
  return out;
}

TEST(Icmp6ViewTest, ErrorMessagesCarryTheInvokingPacket) {
  const ByteSpan invoking(testdata::kEchoRequest);
  struct Case {
    Icmp6Header header;
    Icmp6Type type;
    uint8_t code;
  };
  const Case cases[] = {
      {Icmp6Header::DestinationUnreachable(Icmp6UnreachableCode::kPort),
       Icmp6Type::kDestinationUnreachable, 4},
      {Icmp6Header::PacketTooBig(1280), Icmp6Type::kPacketTooBig, 0},
      {Icmp6Header::TimeExceeded(Icmp6TimeExceededCode::kReassembly), Icmp6Type::kTimeExceeded, 1},
      {Icmp6Header::ParameterProblem(Icmp6ParamProblemCode::kNextHeader, 6),
       Icmp6Type::kParameterProblem, 1},
  };
  for (const Case& c : cases) {
    const Bytes m = MakeError(c.header, invoking);
    auto icmp = Icmp6View::Parse(m, Icmp6PseudoHeaderSum(kPeer, kHost, m.size()));
    ASSERT_TRUE(icmp.ok()) << ToString(icmp.error());
    EXPECT_EQ(icmp->type(), c.type);
    EXPECT_EQ(icmp->code(), c.code);
    EXPECT_TRUE(icmp->is_error());
    EXPECT_EQ(Bytes(icmp->invoking_packet().begin(), icmp->invoking_packet().end()),
              Bytes(invoking.begin(), invoking.end()));
    EXPECT_EQ(icmp->ToHeader(), c.header);
    if (c.type == Icmp6Type::kPacketTooBig) {
      EXPECT_EQ(icmp->mtu(), 1280u);
    }
    if (c.type == Icmp6Type::kParameterProblem) {
      EXPECT_EQ(icmp->pointer(), 6u);
    }
    // The invoking packet itself parses as IPv6 (it is complete here).
    EXPECT_TRUE(Ip6View::Parse(icmp->invoking_packet()).ok());
  }
}

TEST(Icmp6ViewTest, ErrorWithoutAnInvokingIpv6HeaderIsRejected) {
  const ByteSpan invoking(testdata::kEchoRequest);
  const Bytes m = MakeError(Icmp6Header::DestinationUnreachable(Icmp6UnreachableCode::kPort),
                            invoking.first(39));
  auto icmp = Icmp6View::Parse(m, Icmp6PseudoHeaderSum(kPeer, kHost, m.size()));
  ASSERT_FALSE(icmp.ok());
  EXPECT_EQ(icmp.error(), Icmp6ParseError::kTooShortForType);

  Bytes v4 = ToBytes(testdata::kEchoRequest);
  v4[0] = 0x45;
  const Bytes m4 = MakeError(Icmp6Header::PacketTooBig(1400), v4);
  auto icmp4 = Icmp6View::Parse(m4, Icmp6PseudoHeaderSum(kPeer, kHost, m4.size()));
  ASSERT_FALSE(icmp4.ok());
  EXPECT_EQ(icmp4.error(), Icmp6ParseError::kBadInvokingPacket);
  EXPECT_FALSE(IsIntegrityError(icmp4.error()));
}

TEST(Icmp6QuoteTest, ErrorsFitTheMinimumMtu) {
  Bytes big(3000, 0x60);
  EXPECT_EQ(Icmp6Quote(big).size(), 1232u);
  EXPECT_EQ(40 + 8 + Icmp6Quote(big).size(), 1280u);
  EXPECT_EQ(Icmp6Quote(ByteSpan(big).first(100)).size(), 100u);
}

TEST(Icmp6ViewTest, UnknownTypesAreAcceptedRaw) {
  Bytes m = {200, 7, 0, 0, 1, 2};
  FixIcmpChecksum(m, kHost, kPeer);
  auto icmp = Icmp6View::Parse(m, Icmp6PseudoHeaderSum(kHost, kPeer, m.size()));
  ASSERT_TRUE(icmp.ok());
  EXPECT_EQ(static_cast<uint8_t>(icmp->type()), 200);
  EXPECT_EQ(icmp->code(), 7);
  EXPECT_EQ(icmp->body().size(), 2u);
  // Unknown error types (below 128) are errors for RFC 4443 §2.4 purposes.
  Bytes e = {100, 0, 0, 0, 0, 0, 0, 0};
  FixIcmpChecksum(e, kHost, kPeer);
  auto err = Icmp6View::Parse(e, Icmp6PseudoHeaderSum(kHost, kPeer, e.size()));
  ASSERT_TRUE(err.ok());
  EXPECT_TRUE(err->is_error());
}

TEST(Icmp6ViewTest, EchoWithNonZeroCodeIsAccepted) {
  // RFC 4443 §4 sets the code to 0 but does not tell receivers to check it (nor does Linux).
  const IcmpInPacket in = IcmpOf(testdata::kEchoRequest);
  Bytes m(in.message.begin(), in.message.end());
  m[1] = 3;
  FixIcmpChecksum(m, kHost, kPeer);
  EXPECT_TRUE(Icmp6View::Parse(m, in.pseudo_sum).ok());
}

TEST(Icmp6ParseErrorTest, NamesAreDistinctAndCategorized) {
  std::set<std::string> names;
  int integrity = 0;
  for (int i = 0; i <= static_cast<int>(Icmp6ParseError::kMldSourcesInGeneralQuery); ++i) {
    const auto e = static_cast<Icmp6ParseError>(i);
    names.insert(std::string(ToString(e)));
    integrity += IsIntegrityError(e);
  }
  EXPECT_EQ(names.size(), 16u);
  EXPECT_EQ(names.count("unknown"), 0u);
  EXPECT_EQ(integrity, 7);
}

}  // namespace
}  // namespace pytcp
