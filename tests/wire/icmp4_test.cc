#include "stack/wire/icmp4.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "stack/wire/ip4.h"
#include "tests/wire/captures_ip4.h"

namespace pytcp {
namespace {

using namespace pytcp::testing;  // NOLINT: capture constants

std::vector<uint8_t> Copy(ByteSpan s) { return {s.begin(), s.end()}; }

// Emits header + payload into one buffer, as a sender would.
std::vector<uint8_t> EmitMessage(const Icmp4Header& h, ByteSpan payload) {
  std::vector<uint8_t> out(payload.size() + 8);
  std::copy(payload.begin(), payload.end(), out.begin() + 8);
  h.Emit(out, ByteSpan(out).subspan(8));
  return out;
}

TEST(Icmp4Test, ParsesEchoRequest) {
  const ByteSpan msg = L4(kPingRequestFrame);
  auto v = Icmp4View::Parse(msg);
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  EXPECT_EQ(v->type(), Icmp4Type::kEchoRequest);
  EXPECT_EQ(v->code(), 0);
  EXPECT_EQ(v->checksum(), 0xca99);
  EXPECT_TRUE(v->is_echo());
  EXPECT_FALSE(v->is_error());
  EXPECT_EQ(v->echo_id(), 0x2855);
  EXPECT_EQ(v->echo_seq(), 1);
  EXPECT_EQ(v->echo_data().size(), 56u);
  EXPECT_EQ(v->echo_data().data(), msg.data() + 8);
  EXPECT_EQ(v->echo_data()[16], 0x10);  // ping's pattern after its 16-byte timeval
  EXPECT_EQ(v->rest_of_header(), 0x28550001u);
  EXPECT_EQ(v->message().size(), 64u);
}

TEST(Icmp4Test, EchoEmitMatchesCaptures) {
  auto req = Icmp4View::Parse(L4(kPingRequestFrame));
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(EmitMessage(Icmp4Header::EchoRequest(0x2855, 1), req->echo_data()),
            Copy(L4(kPingRequestFrame)));
  // The reply echoes identifier, sequence number and data (RFC 792).
  EXPECT_EQ(EmitMessage(Icmp4Header::EchoReply(0x2855, 1), req->echo_data()), Copy(L4(kPingReplyFrame)));
  auto rep = Icmp4View::Parse(L4(kPingReplyFrame));
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->type(), Icmp4Type::kEchoReply);
  EXPECT_EQ(rep->echo_id(), 0x2855);
}

TEST(Icmp4Test, ParsesPortUnreachableWithQuotedDatagram) {
  auto v = Icmp4View::Parse(L4(kIcmpPortUnreachableFrame));
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  EXPECT_EQ(v->type(), Icmp4Type::kDestinationUnreachable);
  EXPECT_EQ(v->code(), static_cast<uint8_t>(Icmp4UnreachableCode::kPort));
  EXPECT_TRUE(v->is_error());
  EXPECT_EQ(v->next_hop_mtu(), 0);
  // Linux quotes the whole 34-byte UDP datagram it could not deliver.
  EXPECT_EQ(Copy(v->original_datagram()), Copy(L3(kUdpNobodyFrame)));
  auto inner = Ip4View::Parse(v->original_datagram());
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(inner->protocol(), IpProto::kUdp);

  EXPECT_EQ(EmitMessage(Icmp4Header::DestinationUnreachable(Icmp4UnreachableCode::kPort),
                        Icmp4Quote(L3(kUdpNobodyFrame))),
            Copy(L4(kIcmpPortUnreachableFrame)));
}

TEST(Icmp4Test, ParsesFragmentationNeededWithNextHopMtu) {
  const auto frame = IcmpFragNeededFrame();
  auto ip = Ip4View::Parse(L3(frame));
  ASSERT_TRUE(ip.ok()) << ToString(ip.error());
  EXPECT_EQ(ip->total_length(), 576);  // RFC 1812 §4.3.2.3 limit
  auto v = Icmp4View::Parse(ip->payload());
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  EXPECT_EQ(v->type(), Icmp4Type::kDestinationUnreachable);
  EXPECT_EQ(v->code(), static_cast<uint8_t>(Icmp4UnreachableCode::kFragmentationNeeded));
  EXPECT_EQ(v->next_hop_mtu(), 1400);  // RFC 1191 §4
  EXPECT_EQ(v->original_datagram().size(), kIcmp4MaxQuoteSize);
  EXPECT_EQ(v->original_datagram()[0], 0x45);
  EXPECT_EQ(LoadBe16(v->original_datagram().data() + 2), 1478);  // the original's length

  EXPECT_EQ(EmitMessage(Icmp4Header::DestinationUnreachable(Icmp4UnreachableCode::kFragmentationNeeded, 1400),
                        v->original_datagram()),
            Copy(ip->payload()));
}

TEST(Icmp4Test, ParsesTimeExceeded) {
  auto v = Icmp4View::Parse(L4(kIcmpTimeExceededFrame));
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  EXPECT_EQ(v->type(), Icmp4Type::kTimeExceeded);
  EXPECT_EQ(v->code(), static_cast<uint8_t>(Icmp4TimeExceededCode::kTtl));
  EXPECT_EQ(v->original_datagram().size(), 84u);
  auto inner = Ip4View::Parse(v->original_datagram());
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(inner->ttl(), 1);
  EXPECT_EQ(EmitMessage(Icmp4Header::TimeExceeded(Icmp4TimeExceededCode::kTtl), v->original_datagram()),
            Copy(L4(kIcmpTimeExceededFrame)));
}

TEST(Icmp4Test, ParameterProblemAndRedirect) {
  const ByteSpan quote = L3(kUdpNobodyFrame);
  const auto pp = EmitMessage(Icmp4Header::ParameterProblem(9), quote);
  auto v = Icmp4View::Parse(pp);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->type(), Icmp4Type::kParameterProblem);
  EXPECT_EQ(v->pointer(), 9);
  EXPECT_EQ(Copy(v->original_datagram()), Copy(quote));

  const Icmp4Header redirect{Icmp4Type::kRedirect, 1, Ip4Address(10, 99, 4, 254).value()};
  const auto rd = EmitMessage(redirect, quote);
  auto r = Icmp4View::Parse(rd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->gateway(), Ip4Address(10, 99, 4, 254));
  EXPECT_TRUE(r->is_error());
}

TEST(Icmp4Test, UnknownTypesPassThroughWithRawBody) {
  const uint8_t body[] = {1, 2, 3, 4, 5};
  // Timestamp (13) is not interpreted; 42 (extended echo) and 200 are unknown.
  for (uint8_t type : {13, 42, 200}) {
    const auto msg = EmitMessage({static_cast<Icmp4Type>(type), 7, 0xdeadbeef}, body);
    auto v = Icmp4View::Parse(msg);
    ASSERT_TRUE(v.ok()) << int{type};
    EXPECT_EQ(static_cast<uint8_t>(v->type()), type);
    EXPECT_EQ(v->code(), 7);
    EXPECT_FALSE(v->is_error());
    EXPECT_EQ(v->rest_of_header(), 0xdeadbeefu);
    EXPECT_EQ(Copy(v->body()), Copy(body));
  }
}

TEST(Icmp4Test, RoundTripOfEveryCapture) {
  const auto frag = IcmpFragNeededFrame();
  for (ByteSpan frame : {ByteSpan(kPingRequestFrame), ByteSpan(kPingReplyFrame), ByteSpan(kIcmpPortUnreachableFrame),
                         ByteSpan(kIcmpTimeExceededFrame), ByteSpan(frag)}) {
    auto v = Icmp4View::Parse(L4(frame));
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(EmitMessage(v->ToHeader(), v->body()), Copy(v->message()));
  }
}

TEST(Icmp4Test, EveryTruncationIsRejected) {
  const ByteSpan echo = L4(kPingRequestFrame);
  for (size_t n = 0; n < echo.size(); ++n) {
    auto v = Icmp4View::Parse(echo.first(n));
    ASSERT_FALSE(v.ok()) << n;
    EXPECT_EQ(v.error(), n < 8 ? Icmp4ParseError::kTooShort : Icmp4ParseError::kBadChecksum) << n;
  }
  // An error message cut inside the quoted header is too short for its type even when
  // checksums are offloaded.
  const ByteSpan err = L4(kIcmpPortUnreachableFrame);
  for (size_t n = 0; n < 28; ++n) {
    auto v = Icmp4View::Parse(err.first(n), ChecksumPolicy::kSkip);
    ASSERT_FALSE(v.ok()) << n;
    EXPECT_EQ(v.error(), n < 8 ? Icmp4ParseError::kTooShort : Icmp4ParseError::kTooShortForType) << n;
  }
  for (size_t n = 28; n < err.size(); ++n) {
    EXPECT_FALSE(Icmp4View::Parse(err.first(n)).ok()) << n;
    EXPECT_TRUE(Icmp4View::Parse(err.first(n), ChecksumPolicy::kSkip).ok()) << n;
  }
}

TEST(Icmp4Test, ErrorWithoutRoomForTheQuotedHeader) {
  // A correctly checksummed unreachable quoting only 19 bytes.
  const auto msg = EmitMessage(Icmp4Header::DestinationUnreachable(Icmp4UnreachableCode::kHost),
                               L3(kUdpNobodyFrame).first(19));
  auto v = Icmp4View::Parse(msg);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error(), Icmp4ParseError::kTooShortForType);
  EXPECT_TRUE(IsIntegrityError(v.error()));
  // Exactly the header, no data: enough (the original may have had no payload).
  const auto ok = EmitMessage(Icmp4Header::DestinationUnreachable(Icmp4UnreachableCode::kHost),
                              L3(kUdpNobodyFrame).first(20));
  EXPECT_TRUE(Icmp4View::Parse(ok).ok());
}

TEST(Icmp4Test, QuoteThatIsNotIp4IsASanityError) {
  auto quote = Copy(L3(kUdpNobodyFrame));
  quote[0] = 0x60;
  const auto msg = EmitMessage(Icmp4Header::TimeExceeded(Icmp4TimeExceededCode::kReassembly), quote);
  auto v = Icmp4View::Parse(msg);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error(), Icmp4ParseError::kBadOriginalDatagram);
  EXPECT_FALSE(IsIntegrityError(v.error()));
}

TEST(Icmp4Test, BadChecksumAndSkipPolicy) {
  auto msg = Copy(L4(kPingRequestFrame));
  msg[63] ^= 0x01;  // last data byte
  auto v = Icmp4View::Parse(msg);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error(), Icmp4ParseError::kBadChecksum);
  EXPECT_TRUE(Icmp4View::Parse(msg, ChecksumPolicy::kSkip).ok());
  // Odd-length messages are summed with the last byte padded (RFC 1071).
  const uint8_t odd[] = {0xab, 0xcd, 0xef};
  const auto o = EmitMessage(Icmp4Header::EchoRequest(1, 2), odd);
  EXPECT_TRUE(Icmp4View::Parse(o).ok());
}

TEST(Icmp4Test, QuoteIsLimitedTo576ByteDatagrams) {
  std::vector<uint8_t> big(1500, 0x45);
  EXPECT_EQ(Icmp4Quote(big).size(), 548u);
  EXPECT_EQ(Icmp4Quote(ByteSpan(big).first(100)).size(), 100u);
}

TEST(Icmp4Test, ErrorNames) {
  EXPECT_EQ(ToString(Icmp4ParseError::kTooShort), "too_short");
  EXPECT_EQ(ToString(Icmp4ParseError::kBadChecksum), "bad_checksum");
  EXPECT_EQ(ToString(Icmp4ParseError::kTooShortForType), "too_short_for_type");
  EXPECT_EQ(ToString(Icmp4ParseError::kBadOriginalDatagram), "bad_original_datagram");
}

}  // namespace
}  // namespace pytcp
