#include "stack/wire/tcp.h"

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
constexpr uint32_t kClientIsn = 2095893490;
constexpr uint32_t kServerIsn = 2622326059;
constexpr uint32_t kClientTsval = 1425236245;
constexpr uint32_t kServerTsval = 2303173271;

std::vector<uint8_t> Copy(ByteSpan s) { return {s.begin(), s.end()}; }

uint32_t Pseudo(size_t len) { return PseudoHeaderSum4(kIpA, kIpB, 6, static_cast<uint32_t>(len)); }

struct Parsed {
  Ip4View ip;
  TcpView tcp;
};
Parsed ParseFrame(ByteSpan frame) {
  auto ip = Ip4View::Parse(L3(frame));
  EXPECT_TRUE(ip.ok());
  auto tcp = TcpView::Parse(ip->payload(), ip->pseudo_header_sum());
  EXPECT_TRUE(tcp.ok()) << ToString(tcp.error());
  return {*ip, *tcp};
}

std::vector<uint8_t> EmitSegment(const TcpHeader& h, ByteSpan payload, uint32_t pseudo_sum) {
  std::vector<uint8_t> out(h.header_size() + payload.size());
  std::copy(payload.begin(), payload.end(), out.begin() + static_cast<ptrdiff_t>(h.header_size()));
  h.Emit(out, ByteSpan(out).subspan(h.header_size()), pseudo_sum);
  return out;
}

// A segment A -> B with the given raw option bytes (the caller keeps them word aligned),
// flags, ports and a valid checksum.
std::vector<uint8_t> RawSegment(std::vector<uint8_t> options, uint8_t flags = TcpFlags::kAck,
                                uint16_t sport = 48352, uint16_t dport = 8080) {
  std::vector<uint8_t> d(options.size() + 20, 0);
  std::copy(options.begin(), options.end(), d.begin() + 20);
  StoreBe16(&d[0], sport);
  StoreBe16(&d[2], dport);
  StoreBe32(&d[4], 1);
  d[12] = static_cast<uint8_t>((d.size() / 4) << 4);
  d[13] = flags;
  StoreBe16(&d[14], 1000);
  StoreBe16(&d[16], InternetChecksum(d, Pseudo(d.size())));
  return d;
}

TEST(TcpTest, ParsesLinuxSyn) {
  const auto [ip, v] = ParseFrame(kTcpSynFrame);
  EXPECT_EQ(v.src_port(), 48352);
  EXPECT_EQ(v.dst_port(), 8080);
  EXPECT_EQ(v.seq(), SeqNum(kClientIsn));
  EXPECT_EQ(v.ack(), SeqNum(0));
  EXPECT_EQ(v.header_size(), 40u);
  EXPECT_EQ(v.flags(), (TcpFlags{.syn = true}));
  EXPECT_EQ(v.window(), 64240);
  EXPECT_EQ(v.checksum(), 0x54eb);
  EXPECT_EQ(v.urgent_pointer(), 0);
  EXPECT_TRUE(v.payload().empty());
  EXPECT_EQ(v.segment_length(), 1u);

  const TcpOptions o = v.options().Decode();
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_EQ(o.timestamps, (TcpTimestamps{kClientTsval, 0}));
  EXPECT_EQ(o.window_scale, 10);
  EXPECT_EQ(o.sack_block_count, 0);

  // The raw walk shows Linux's layout.
  std::vector<TcpOptionKind> kinds;
  for (const TcpOption& opt : v.options()) kinds.push_back(opt.kind);
  EXPECT_EQ(kinds, (std::vector<TcpOptionKind>{TcpOptionKind::kMss, TcpOptionKind::kSackPermitted,
                                               TcpOptionKind::kTimestamps, TcpOptionKind::kNop,
                                               TcpOptionKind::kWindowScale}));
}

TEST(TcpTest, SynEmitMatchesLinuxByteForByte) {
  TcpHeader h;
  h.src_port = 48352;
  h.dst_port = 8080;
  h.seq = SeqNum(kClientIsn);
  h.flags.syn = true;
  h.window = 64240;
  h.options.mss = 1460;
  h.options.sack_permitted = true;
  h.options.timestamps = TcpTimestamps{kClientTsval, 0};
  h.options.window_scale = 10;
  ASSERT_EQ(h.header_size(), 40u);
  EXPECT_EQ(EmitSegment(h, {}, Pseudo(40)), Copy(L4(kTcpSynFrame)));
}

TEST(TcpTest, SynAck) {
  const auto [ip, v] = ParseFrame(kTcpSynAckFrame);
  EXPECT_EQ(v.seq(), SeqNum(kServerIsn));
  EXPECT_EQ(v.ack(), SeqNum(kClientIsn + 1));
  EXPECT_EQ(v.flags(), (TcpFlags{.syn = true, .ack = true}));
  EXPECT_EQ(v.window(), 65160);
  const TcpOptions o = v.options().Decode();
  EXPECT_EQ(o.timestamps, (TcpTimestamps{kServerTsval, kClientTsval}));

  TcpHeader h{8080, 48352, SeqNum(kServerIsn), SeqNum(kClientIsn + 1), {.syn = true, .ack = true}, 65160};
  h.options.mss = 1460;
  h.options.sack_permitted = true;
  h.options.timestamps = TcpTimestamps{kServerTsval, kClientTsval};
  h.options.window_scale = 10;
  EXPECT_EQ(EmitSegment(h, {}, PseudoHeaderSum4(kIpB, kIpA, 6, 40)), Copy(L4(kTcpSynAckFrame)));
}

TEST(TcpTest, DataSegmentWithTimestamps) {
  const auto [ip, v] = ParseFrame(kTcpDataFrame);
  EXPECT_EQ(v.seq(), SeqNum(kClientIsn + 1));
  EXPECT_EQ(v.ack(), SeqNum(kServerIsn + 1));
  EXPECT_EQ(v.flags(), (TcpFlags{.psh = true, .ack = true}));
  EXPECT_EQ(v.window(), 63);
  EXPECT_EQ(v.header_size(), 32u);
  EXPECT_EQ(std::string(v.payload().begin(), v.payload().end()), "hello\n");
  EXPECT_EQ(v.segment_length(), 6u);
  const TcpOptions o = v.options().Decode();
  EXPECT_FALSE(o.mss.has_value());
  EXPECT_FALSE(o.sack_permitted);
  EXPECT_EQ(o.timestamps, (TcpTimestamps{kClientTsval, kServerTsval}));

  TcpHeader h{48352, 8080, SeqNum(kClientIsn + 1), SeqNum(kServerIsn + 1), {.psh = true, .ack = true}, 63};
  h.options.timestamps = TcpTimestamps{kClientTsval, kServerTsval};
  const std::string hello = "hello\n";
  EXPECT_EQ(EmitSegment(h, ByteSpan(reinterpret_cast<const uint8_t*>(hello.data()), hello.size()), Pseudo(38)),
            Copy(L4(kTcpDataFrame)));
}

TEST(TcpTest, FinOccupiesOneSequenceNumber) {
  const auto [ip, v] = ParseFrame(kTcpFinFrame);
  EXPECT_EQ(v.flags(), (TcpFlags{.fin = true, .ack = true}));
  EXPECT_EQ(v.seq(), SeqNum(kServerIsn + 7));
  EXPECT_EQ(v.ack(), SeqNum(kClientIsn + 7));
  EXPECT_EQ(v.segment_length(), 1u);
}

TEST(TcpTest, SackBlocksFromALossyTransfer) {
  const auto [ip, v] = ParseFrame(kTcpSackFrame);
  EXPECT_EQ(v.src_port(), 8081);
  EXPECT_EQ(v.dst_port(), 55834);
  EXPECT_EQ(v.ack(), SeqNum(0x09413e01));
  EXPECT_EQ(v.header_size(), 52u);
  const TcpOptions o = v.options().Decode();
  ASSERT_TRUE(o.timestamps.has_value());
  ASSERT_EQ(o.sack().size(), 2u);
  // Linux reports the most recently changed block first (RFC 2018 §4).
  EXPECT_EQ(o.sack()[0], (TcpSackBlock{SeqNum(0x0941d6b5), SeqNum(0x0941dbf9)}));
  EXPECT_EQ(o.sack()[1], (TcpSackBlock{SeqNum(0x09416821), SeqNum(0x09419cc9)}));

  // Re-emitted from values it is identical: NOP NOP TS, NOP NOP SACK.
  EXPECT_EQ(EmitSegment(v.ToHeader(), {}, ip.pseudo_header_sum()), Copy(v.segment()));
}

TEST(TcpTest, RoundTripOfEveryCapture) {
  for (ByteSpan frame : {ByteSpan(kTcpSynFrame), ByteSpan(kTcpSynAckFrame), ByteSpan(kTcpDataFrame),
                         ByteSpan(kTcpFinFrame), ByteSpan(kTcpSackFrame)}) {
    const auto [ip, v] = ParseFrame(frame);
    const TcpHeader h = v.ToHeader();
    EXPECT_EQ(EmitSegment(h, v.payload(), ip.pseudo_header_sum()), Copy(v.segment()));
  }
}

TEST(TcpTest, EveryTruncationIsRejected) {
  for (ByteSpan frame : {ByteSpan(kTcpSynFrame), ByteSpan(kTcpDataFrame), ByteSpan(kTcpSackFrame)}) {
    const auto [ip, full] = ParseFrame(frame);
    const ByteSpan seg = full.segment();
    for (size_t n = 0; n < seg.size(); ++n) {
      auto v = TcpView::Parse(seg.first(n), PseudoHeaderSum4(ip.src(), ip.dst(), 6, static_cast<uint32_t>(n)));
      ASSERT_FALSE(v.ok()) << n;
      const TcpParseError want = n < 20                   ? TcpParseError::kTooShort
                                 : n < full.header_size() ? TcpParseError::kBadDataOffset
                                                          : TcpParseError::kBadChecksum;
      EXPECT_EQ(v.error(), want) << n << " " << ToString(v.error());
    }
  }
}

TEST(TcpTest, BadDataOffset) {
  auto d = Copy(L4(kTcpSynFrame));
  for (uint8_t off : {0, 1, 4, 11, 15}) {
    d[12] = static_cast<uint8_t>(off << 4);
    auto v = TcpView::Parse(d, Pseudo(d.size()), ChecksumPolicy::kSkip);
    ASSERT_FALSE(v.ok()) << int{off};
    EXPECT_EQ(v.error(), TcpParseError::kBadDataOffset) << int{off};
  }
}

TEST(TcpTest, BadChecksumAndSkipPolicy) {
  auto d = Copy(L4(kTcpDataFrame));
  d[37] = 'X';  // payload
  auto v = TcpView::Parse(d, Pseudo(d.size()));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error(), TcpParseError::kBadChecksum);
  EXPECT_TRUE(IsIntegrityError(v.error()));
  EXPECT_TRUE(TcpView::Parse(d, Pseudo(d.size()), ChecksumPolicy::kSkip).ok());
  // Correct bytes with a pseudo-header for another length do not verify either.
  const auto good = Copy(L4(kTcpDataFrame));
  EXPECT_EQ(TcpView::Parse(good, Pseudo(good.size() + 2)).error(), TcpParseError::kBadChecksum);
}

TEST(TcpTest, MalformedOptionsAreRejectedWithTheirReason) {
  struct Case {
    std::vector<uint8_t> options;
    TcpParseError error;
  };
  const std::vector<Case> cases = {
      {{0x1e, 0x00, 0x01, 0x01}, TcpParseError::kOptionZeroLength},
      {{0x01, 0xfd, 0x00, 0x00}, TcpParseError::kOptionZeroLength},
      {{0x1e, 0x01, 0x01, 0x01}, TcpParseError::kOptionOneLength},
      {{0x02, 0x01, 0x05, 0xb4}, TcpParseError::kOptionOneLength},  // MSS with length 1
      {{0x1e, 0x05, 0x01, 0x01}, TcpParseError::kOptionOverrun},
      {{0x01, 0x01, 0x01, 0x08}, TcpParseError::kOptionOverrun},    // no room for the length
      {{0x08, 0x0a, 0, 0, 0, 0, 0, 0}, TcpParseError::kOptionOverrun},
      {{0x02, 0x03, 0x05, 0x00}, TcpParseError::kBadMssLength},
      {{0x02, 0x06, 0x05, 0xb4, 0x00, 0x00, 0x01, 0x01}, TcpParseError::kBadMssLength},
      {{0x03, 0x04, 0x07, 0x00}, TcpParseError::kBadWindowScaleLength},
      {{0x03, 0x02, 0x01, 0x01}, TcpParseError::kBadWindowScaleLength},
      {{0x04, 0x03, 0x00, 0x01}, TcpParseError::kBadSackPermittedLength},
      {{0x05, 0x02, 0x01, 0x01}, TcpParseError::kBadSackLength},  // no blocks
      {{0x05, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, TcpParseError::kBadSackLength},
      {{0x05, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, TcpParseError::kBadSackLength},
      {{0x08, 0x08, 0, 0, 0, 0, 0, 0}, TcpParseError::kBadTimestampsLength},
      {{0x08, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, TcpParseError::kBadTimestampsLength},
  };
  for (const auto& c : cases) {
    const auto d = RawSegment(c.options);
    auto v = TcpView::Parse(d, Pseudo(d.size()));
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error(), c.error) << ToString(v.error()) << " want " << ToString(c.error);
    EXPECT_TRUE(IsIntegrityError(v.error()));
  }
}

TEST(TcpTest, UnknownOptionsAreSkippedAndEolEndsTheList) {
  // Unknown kind 0xfd of length 6, then MSS, then EOL followed by junk that is not read.
  const auto d = RawSegment({0xfd, 0x06, 0xaa, 0xbb, 0xcc, 0xdd, 0x02, 0x04, 0x02, 0x18, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00});
  auto v = TcpView::Parse(d, Pseudo(d.size()));
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  std::vector<TcpOption> opts(v->options().begin(), v->options().end());
  ASSERT_EQ(opts.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(opts[0].kind), 0xfd);
  EXPECT_EQ(opts[0].value.size(), 4u);
  EXPECT_EQ(opts[1].kind, TcpOptionKind::kMss);
  EXPECT_EQ(v->options().Decode().mss, 536);
}

TEST(TcpTest, FourSackBlocksAndRepeatedOptions) {
  std::vector<uint8_t> o(36, 0);
  o[0] = 0x01;
  o[1] = 0x01;
  o[2] = 0x05;
  o[3] = 0x22;
  for (uint32_t i = 0; i < 8; ++i) StoreBe32(&o[4 + 4 * i], 1000 * (i + 1));
  const auto d = RawSegment(o);
  auto v = TcpView::Parse(d, Pseudo(d.size()));
  ASSERT_TRUE(v.ok()) << ToString(v.error());
  const auto decoded = v->options().Decode();  // sack() is a view into it
  const auto sack = decoded.sack();
  ASSERT_EQ(sack.size(), 4u);
  EXPECT_EQ(sack[3], (TcpSackBlock{SeqNum(7000), SeqNum(8000)}));

  // A kind given twice takes its last value, as in Linux.
  const auto twice = RawSegment({0x02, 0x04, 0x05, 0xb4, 0x02, 0x04, 0x02, 0x18});
  auto t = TcpView::Parse(twice, Pseudo(twice.size()));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->options().Decode().mss, 536);
}

TEST(TcpTest, ZeroPortsAndSynFinAreSanityErrors) {
  for (auto [sport, dport] : {std::pair<uint16_t, uint16_t>{0, 80}, {1234, 0}}) {
    const auto d = RawSegment({}, TcpFlags::kSyn, sport, dport);
    auto v = TcpView::Parse(d, Pseudo(d.size()));
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error(), TcpParseError::kZeroPort);
    EXPECT_FALSE(IsIntegrityError(v.error()));
  }
  const auto sf = RawSegment({}, TcpFlags::kSyn | TcpFlags::kFin);
  EXPECT_EQ(TcpView::Parse(sf, Pseudo(sf.size())).error(), TcpParseError::kSynFin);
  // Integrity before sanity: a bad checksum wins over a zero port.
  auto bad = RawSegment({}, TcpFlags::kSyn, 0, 80);
  bad[16] ^= 1;
  EXPECT_EQ(TcpView::Parse(bad, Pseudo(bad.size())).error(), TcpParseError::kBadChecksum);
  // Other flag combinations are the state machine's business (RFC 9293 §3.10.7).
  for (uint8_t f : {uint8_t{0}, uint8_t{0xff & ~TcpFlags::kFin}, uint8_t{TcpFlags::kRst | TcpFlags::kSyn}}) {
    const auto d = RawSegment({}, f);
    EXPECT_TRUE(TcpView::Parse(d, Pseudo(d.size())).ok()) << int{f};
  }
}

TEST(TcpTest, FlagsByteRoundTrip) {
  for (int b = 0; b < 256; ++b) {
    EXPECT_EQ(TcpFlags::FromByte(static_cast<uint8_t>(b)).ToByte(), b);
  }
  const auto d = RawSegment({}, TcpFlags::kEce | TcpFlags::kCwr | TcpFlags::kUrg | TcpFlags::kAck);
  auto v = TcpView::Parse(d, Pseudo(d.size()));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->flags(), (TcpFlags{.ack = true, .urg = true, .ece = true, .cwr = true}));
}

TEST(TcpTest, OptionLayoutsLikeLinux) {
  std::array<uint8_t, 40> out{};
  auto bytes = [&](size_t n) { return std::vector<uint8_t>(out.begin(), out.begin() + static_cast<ptrdiff_t>(n)); };

  TcpOptions sack_perm_only;
  sack_perm_only.mss = 1460;
  sack_perm_only.sack_permitted = true;
  sack_perm_only.window_scale = 7;
  ASSERT_EQ(sack_perm_only.Emit(out), 12u);
  EXPECT_EQ(bytes(12), (std::vector<uint8_t>{0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02, 0x01, 0x03, 0x03, 0x07}));

  TcpOptions ts_only;
  ts_only.timestamps = TcpTimestamps{0x01020304, 0x05060708};
  ASSERT_EQ(ts_only.Emit(out), 12u);
  EXPECT_EQ(bytes(12), (std::vector<uint8_t>{0x01, 0x01, 0x08, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8}));

  TcpOptions none;
  EXPECT_EQ(none.size(), 0u);
  EXPECT_EQ(none.Emit(out), 0u);

  // Four blocks fit without timestamps (36 bytes), three with them (40 bytes).
  TcpOptions sack;
  for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(sack.AddSackBlock({SeqNum(i * 100), SeqNum(i * 100 + 50)}));
  EXPECT_FALSE(sack.AddSackBlock({SeqNum(1), SeqNum(2)}));
  EXPECT_EQ(sack.emitted_sack_blocks(), 4u);
  ASSERT_EQ(sack.Emit(out), 36u);
  EXPECT_EQ(bytes(4), (std::vector<uint8_t>{0x01, 0x01, 0x05, 0x22}));
  sack.timestamps = TcpTimestamps{1, 2};
  EXPECT_EQ(sack.emitted_sack_blocks(), 3u);
  ASSERT_EQ(sack.Emit(out), 40u);
  EXPECT_EQ(out[12 + 3], 0x1a);  // 2 + 3 * 8
  // Every layout parses back to the values it was made from (minus what did not fit).
  for (const TcpOptions& o : {sack_perm_only, ts_only, sack}) {
    const size_t n = o.Emit(out);
    auto v = TcpOptionsView::Parse(ByteSpan(out).first(n));
    ASSERT_TRUE(v.ok());
    TcpOptions expect = o;
    expect.sack_block_count = static_cast<uint8_t>(o.emitted_sack_blocks());
    EXPECT_EQ(v->Decode(), expect);
  }
  // Beside a SYN's 20 bytes of MSS, SACK-permitted, timestamps and window scale two fit.
  TcpOptions full = sack;
  full.mss = 1460;
  full.sack_permitted = true;
  full.window_scale = 7;
  EXPECT_EQ(full.emitted_sack_blocks(), 2u);
  EXPECT_EQ(full.size(), 40u);
}

TEST(TcpTest, OffloadEmitLeavesThePseudoSumForTheDevice) {
  const auto [ip, v] = ParseFrame(kTcpDataFrame);
  const TcpHeader h = v.ToHeader();
  std::vector<uint8_t> d = Copy(v.segment());
  h.EmitForOffload(d, ip.pseudo_header_sum());
  StoreBe16(&d[16], InternetChecksum(d));  // what the device computes from csum_start
  EXPECT_EQ(d, Copy(v.segment()));
}

TEST(TcpTest, ErrorNames) {
  EXPECT_EQ(ToString(TcpParseError::kOptionZeroLength), "option_zero_length");
  EXPECT_EQ(ToString(TcpParseError::kOptionOneLength), "option_one_length");
  EXPECT_EQ(ToString(TcpParseError::kOptionOverrun), "option_overrun");
  EXPECT_EQ(ToString(TcpParseError::kBadSackLength), "bad_sack_length");
  EXPECT_EQ(ToString(TcpParseError::kSynFin), "syn_fin");
  EXPECT_EQ(ToString(TcpOptionError::kBadTimestampsLength), "bad_timestamps_length");
}

}  // namespace
}  // namespace pytcp
