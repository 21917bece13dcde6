#include <gtest/gtest.h>

#include <vector>

#include "stack/wire/icmp6_mld.h"
#include "tests/wire/captures_ip6_dhcp_dns.h"
#include "tests/wire/wire_test_util.h"

namespace pytcp {
namespace {

using namespace wire_testing;  // NOLINT

const Ip6Address kHostLl = A6("fe80::2892:7dff:fe0a:a397");
const Ip6Address kMldRouters = A6("ff02::16");

Bytes MessageOf(ByteSpan packet) {
  const ByteSpan m = IcmpOf(packet).message;
  return Bytes(m.begin(), m.end());
}

Result<Icmp6View, Icmp6ParseError> ParseFixed(Bytes& m) {
  FixIcmpChecksum(m, kHostLl, kMldRouters);
  return Icmp6View::Parse(m, Icmp6PseudoHeaderSum(kHostLl, kMldRouters, m.size()));
}

TEST(MldTest, LinuxBridgeGeneralQuery) {
  auto icmp = ParseIcmp(testdata::kMldV2Query);
  ASSERT_TRUE(icmp.ok()) << ToString(icmp.error());
  auto q = MldQueryView::From(*icmp);
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->is_v2());
  EXPECT_TRUE(q->is_general());
  EXPECT_EQ(q->max_resp_code(), 10000);
  EXPECT_EQ(q->max_response_delay_ms(), 10000u);
  EXPECT_EQ(q->multicast_address(), Ip6Address());
  EXPECT_FALSE(q->suppress_router_processing());
  EXPECT_EQ(q->qrv(), 2);
  EXPECT_EQ(q->qqic(), 5);
  EXPECT_EQ(q->qqi_seconds(), 5u);
  EXPECT_EQ(q->source_count(), 0);
  EXPECT_FALSE(MldV2ReportView::From(*icmp));
}

TEST(MldTest, QueryEmitMatchesLinux) {
  MldQueryMessage m;
  m.max_resp_code = 10000;
  m.qrv = 2;
  m.qqic = 5;
  auto ip = Ip6View::Parse(testdata::kMldV2Query);
  const Bytes expected = MessageOf(testdata::kMldV2Query);
  Bytes out(m.size());
  ASSERT_EQ(out.size(), expected.size());
  m.Emit(out, Icmp6PseudoHeaderSum(ip->src(), ip->dst(), out.size()));
  EXPECT_EQ(out, expected);
}

TEST(MldTest, LinuxReportOneRecord) {
  auto icmp = ParseIcmp(testdata::kMldV2Report);
  ASSERT_TRUE(icmp.ok());
  auto r = MldV2ReportView::From(*icmp);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->record_count(), 1);
  std::vector<MldRecordView> records(r->records().begin(), r->records().end());
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].type(), MldRecordType::kChangeToExclude);
  EXPECT_EQ(records[0].aux_data_length(), 0);
  EXPECT_EQ(records[0].source_count(), 0);
  EXPECT_EQ(records[0].multicast_address(), A6("ff02::1:ff0a:a397"));
  EXPECT_TRUE(records[0].aux_data().empty());
}

TEST(MldTest, LinuxReportSixRecordsAndEmit) {
  auto icmp = ParseIcmp(testdata::kMldV2Report6);
  ASSERT_TRUE(icmp.ok());
  auto r = MldV2ReportView::From(*icmp);
  ASSERT_TRUE(r);
  std::vector<Ip6Address> groups;
  for (const MldRecordView rec : r->records()) {
    EXPECT_EQ(rec.type(), MldRecordType::kChangeToExclude);
    groups.push_back(rec.multicast_address());
  }
  const std::vector<Ip6Address> expected = {A6("ff02::1:ff0a:d0f3"), A6("ff02::2"),
                                            A6("ff05::1:3"),         A6("ff02::1:2"),
                                            A6("ff02::6a"),          A6("ff02::1:ff00:1")};
  EXPECT_EQ(groups, expected);

  std::vector<MldRecord> records;
  for (const Ip6Address& g : expected) records.push_back({MldRecordType::kChangeToExclude, g, {}});
  MldV2ReportMessage m{records};
  auto ip = Ip6View::Parse(testdata::kMldV2Report6);
  Bytes out(m.size());
  ASSERT_EQ(out.size(), 128u);
  m.Emit(out, Icmp6PseudoHeaderSum(ip->src(), ip->dst(), out.size()));
  EXPECT_EQ(out, MessageOf(testdata::kMldV2Report6));
}

TEST(MldTest, ReportWith777RecordsAndOnePresentIsRejected) {
  // The original project crashed on this one.
  Bytes m = MessageOf(testdata::kMldV2Report);
  StoreBe16(m.data() + 6, 777);
  auto icmp = ParseFixed(m);
  ASSERT_FALSE(icmp.ok());
  EXPECT_EQ(icmp.error(), Icmp6ParseError::kMldRecordsOverrun);
  EXPECT_TRUE(IsIntegrityError(icmp.error()));
  StoreBe16(m.data() + 6, 2);
  auto two = ParseFixed(m);
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error(), Icmp6ParseError::kMldRecordsOverrun);
  StoreBe16(m.data() + 6, 0);  // fewer records than present: the rest is ignored
  EXPECT_TRUE(ParseFixed(m).ok());
}

TEST(MldTest, RecordSourcesAndAuxDataMustFit) {
  Bytes m = MessageOf(testdata::kMldV2Report);
  StoreBe16(m.data() + 8 + 2, 1);  // one source, none present
  auto icmp = ParseFixed(m);
  ASSERT_FALSE(icmp.ok());
  EXPECT_EQ(icmp.error(), Icmp6ParseError::kMldRecordsOverrun);
  m = MessageOf(testdata::kMldV2Report);
  m[8 + 1] = 1;  // one word of aux data, none present
  auto aux = ParseFixed(m);
  ASSERT_FALSE(aux.ok());
  EXPECT_EQ(aux.error(), Icmp6ParseError::kMldRecordsOverrun);
  // With the bytes there, sources and aux data are read.
  m.insert(m.end(), {0xde, 0xad, 0xbe, 0xef});
  auto ok = ParseFixed(m);
  ASSERT_TRUE(ok.ok());
  auto rec = *MldV2ReportView::From(*ok)->records().begin();
  EXPECT_EQ(Bytes(rec.aux_data().begin(), rec.aux_data().end()), (Bytes{0xde, 0xad, 0xbe, 0xef}));
}

TEST(MldTest, EveryTruncationOfAReportIsRejected) {
  const Bytes full = MessageOf(testdata::kMldV2Report6);
  for (size_t n = 0; n < full.size(); ++n) {
    const ByteSpan cut = ByteSpan(full).first(n);
    auto checked = Icmp6View::Parse(cut, Icmp6PseudoHeaderSum(Ip6Address(), kMldRouters, n));
    EXPECT_FALSE(checked.ok()) << n;
    auto skipped = Icmp6View::Parse(cut, 0, ChecksumPolicy::kSkip);
    ASSERT_FALSE(skipped.ok()) << n;
    EXPECT_EQ(skipped.error(), n < 4   ? Icmp6ParseError::kTooShort
                               : n < 8 ? Icmp6ParseError::kTooShortForType
                                       : Icmp6ParseError::kMldRecordsOverrun)
        << n;
  }
}

TEST(MldTest, QueryWithSourcesAndLengthRules) {
  const Ip6Address group = A6("ff05::1:3");
  const Ip6Address sources[] = {A6("fd77::1"), A6("fd77::2")};
  MldQueryMessage m;
  m.multicast_address = group;
  m.max_resp_code = MldEncodeMaxRespCode(60007);
  m.suppress_router_processing = true;
  m.qrv = 7;
  m.qqic = MldEncodeQqic(300);
  m.sources = sources;
  Bytes out(m.size());
  ASSERT_EQ(out.size(), 28u + 32u);
  m.Emit(out, 0);
  auto icmp = ParseFixed(out);
  ASSERT_TRUE(icmp.ok()) << ToString(icmp.error());
  auto q = MldQueryView::From(*icmp);
  EXPECT_TRUE(q->is_v2());
  EXPECT_FALSE(q->is_general());
  EXPECT_EQ(q->multicast_address(), group);
  EXPECT_EQ(q->max_response_delay_ms(), 60000u);  // rounded down to the code's precision
  EXPECT_TRUE(q->suppress_router_processing());
  EXPECT_EQ(q->qrv(), 7);
  EXPECT_EQ(q->qqi_seconds(), 288u);
  ASSERT_EQ(q->source_count(), 2);
  EXPECT_EQ(q->source(0), sources[0]);
  EXPECT_EQ(q->source(1), sources[1]);

  // More sources announced than present.
  Bytes over = out;
  StoreBe16(over.data() + 26, 3);
  auto o = ParseFixed(over);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error(), Icmp6ParseError::kMldSourcesOverrun);
  // RFC 3810 §8.1: 25..27 bytes are neither MLDv1 nor MLDv2.
  for (size_t n : {25, 26, 27}) {
    Bytes cut(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
    auto c = ParseFixed(cut);
    ASSERT_FALSE(c.ok()) << n;
    EXPECT_EQ(c.error(), Icmp6ParseError::kTooShortForType);
  }
  // Extra bytes after the sources are ignored (RFC 3810 §5.1.12).
  Bytes extra = out;
  extra.insert(extra.end(), 8, 0);
  EXPECT_TRUE(ParseFixed(extra).ok());
}

TEST(MldTest, QuerySanity) {
  MldQueryMessage m;
  m.multicast_address = A6("fd77::1");  // unicast
  Bytes out(m.size());
  m.Emit(out, 0);
  auto bad = ParseFixed(out);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), Icmp6ParseError::kMldBadGroup);
  EXPECT_FALSE(IsIntegrityError(bad.error()));

  const Ip6Address src[] = {A6("fd77::1")};
  m.multicast_address = Ip6Address();
  m.sources = src;
  out.assign(m.size(), 0);
  m.Emit(out, 0);
  auto general = ParseFixed(out);
  ASSERT_FALSE(general.ok());
  EXPECT_EQ(general.error(), Icmp6ParseError::kMldSourcesInGeneralQuery);
}

TEST(MldTest, MldV1QueryReportAndDone) {
  MldQueryMessage q;
  q.v1 = true;
  q.max_resp_code = 10000;  // MLDv1: plain milliseconds
  Bytes out(q.size());
  ASSERT_EQ(out.size(), 24u);
  q.Emit(out, 0);
  auto icmp = ParseFixed(out);
  ASSERT_TRUE(icmp.ok());
  auto qv = MldQueryView::From(*icmp);
  EXPECT_FALSE(qv->is_v2());
  EXPECT_EQ(qv->max_response_delay_ms(), 10000u);
  EXPECT_EQ(qv->qrv(), 0);
  EXPECT_EQ(qv->source_count(), 0);

  for (bool done : {false, true}) {
    MldV1Message m{done, A6("ff02::fb")};
    Bytes b(m.size());
    m.Emit(b, 0);
    auto v = ParseFixed(b);
    ASSERT_TRUE(v.ok());
    auto mv = MldV1View::From(*v);
    ASSERT_TRUE(mv);
    EXPECT_EQ(mv->is_done(), done);
    EXPECT_EQ(mv->multicast_address(), A6("ff02::fb"));
    EXPECT_EQ(mv->max_response_delay(), 0);
    m.multicast_address = A6("fd77::1");
    m.Emit(b, 0);
    auto bad = ParseFixed(b);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error(), Icmp6ParseError::kMldBadGroup);
    b.resize(23);
    auto shrt = ParseFixed(b);
    ASSERT_FALSE(shrt.ok());
    EXPECT_EQ(shrt.error(), Icmp6ParseError::kTooShortForType);
  }
}

TEST(MldTest, ExponentialCodesRoundTrip) {
  // RFC 3810 §5.1.3 / §5.1.9.
  EXPECT_EQ(MldDecodeMaxRespCode(0x7fff), 32767u);
  EXPECT_EQ(MldDecodeMaxRespCode(0x8000), 32768u);
  EXPECT_EQ(MldDecodeMaxRespCode(0xffff), 0x1fffu << 10);
  for (uint32_t code = 0; code <= 0xffff; ++code) {
    const uint32_t ms = MldDecodeMaxRespCode(static_cast<uint16_t>(code));
    ASSERT_EQ(MldEncodeMaxRespCode(ms), code) << code;
    if (code > 0) {
      // Monotonic: never decodes below the previous code.
      ASSERT_GT(ms, MldDecodeMaxRespCode(static_cast<uint16_t>(code - 1)));
    }
  }
  EXPECT_EQ(MldEncodeMaxRespCode(0xffffffffu), 0xffff);
  EXPECT_EQ(MldDecodeQqic(127), 127u);
  EXPECT_EQ(MldDecodeQqic(128), 128u);
  EXPECT_EQ(MldDecodeQqic(255), 0x1fu << 10);
  for (uint32_t qqic = 0; qqic <= 0xff; ++qqic) {
    ASSERT_EQ(MldEncodeQqic(MldDecodeQqic(static_cast<uint8_t>(qqic))), qqic) << qqic;
  }
  EXPECT_EQ(MldEncodeQqic(125), 125);
  EXPECT_EQ(MldEncodeQqic(1000000), 0xff);
}

}  // namespace
}  // namespace pytcp
