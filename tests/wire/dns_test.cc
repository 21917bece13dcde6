#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "stack/wire/dns.h"
#include "tests/wire/captures_ip6_dhcp_dns.h"
#include "tests/wire/wire_test_util.h"

namespace pytcp {
namespace {

using namespace wire_testing;  // NOLINT

std::vector<std::string> Labels(const DnsNameView& n) {
  std::vector<std::string> out;
  for (std::string_view l : n) out.emplace_back(l);
  return out;
}

// A header with the given counts, followed by `body`.
Bytes Message(uint16_t qd, uint16_t an, const Bytes& body, uint16_t ns = 0, uint16_t ar = 0) {
  uint8_t h[kDnsHeaderSize];
  StoreBe16(h, 0x1234);
  StoreBe16(h + 2, 0x8180);
  StoreBe16(h + 4, qd);
  StoreBe16(h + 6, an);
  StoreBe16(h + 8, ns);
  StoreBe16(h + 10, ar);
  return Concat({ByteSpan(h), ByteSpan(body)});
}

const Bytes kWwwLabTest = {3, 'w', 'w', 'w', 3, 'l', 'a', 'b', 4, 't', 'e', 's', 't', 0};

TEST(DnsQueryTest, EmitMatchesCapturedQuery) {
  uint8_t out[DnsQuery::kMaxSize];
  auto n = DnsQuery{0x1234, "www.lab.test", DnsType::kA}.Emit(out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(Bytes(out, out + *n), ToBytes(testdata::kDnsQueryA));
  // A trailing dot means the same name.
  auto n2 = DnsQuery{0x1234, "www.lab.test.", DnsType::kA}.Emit(out);
  ASSERT_TRUE(n2.ok());
  EXPECT_EQ(Bytes(out, out + *n2), ToBytes(testdata::kDnsQueryA));
}

TEST(DnsViewTest, CapturedQuery) {
  auto q = DnsView::Parse(testdata::kDnsQueryA);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->id(), 0x1234);
  EXPECT_FALSE(q->is_response());
  EXPECT_TRUE(q->recursion_desired());
  EXPECT_EQ(q->opcode(), DnsOpcode::kQuery);
  ASSERT_EQ(q->questions().size(), 1u);
  const DnsQuestionView question = *q->questions().begin();
  EXPECT_EQ(question.name().ToString(), "www.lab.test");
  EXPECT_EQ(question.type(), DnsType::kA);
  EXPECT_EQ(question.klass(), DnsClass::kIn);
  EXPECT_TRUE(q->answers().empty());
}

TEST(DnsViewTest, DnsmasqCompressedResponseFieldByField) {
  auto r = DnsView::Parse(testdata::kDnsResponseA);
  ASSERT_TRUE(r.ok()) << ToString(r.error());
  EXPECT_EQ(r->id(), 0x1234);
  EXPECT_EQ(r->flags(), 0x8580);
  EXPECT_TRUE(r->is_response());
  EXPECT_EQ(r->opcode(), DnsOpcode::kQuery);
  EXPECT_TRUE(r->authoritative());
  EXPECT_FALSE(r->truncated());
  EXPECT_TRUE(r->recursion_desired());
  EXPECT_TRUE(r->recursion_available());
  EXPECT_EQ(r->rcode(), DnsRcode::kNoError);
  EXPECT_EQ(r->question_count(), 1);
  EXPECT_EQ(r->answer_count(), 2);
  EXPECT_EQ(r->authority_count(), 0);
  EXPECT_EQ(r->additional_count(), 0);

  const DnsQuestionView q = *r->questions().begin();
  EXPECT_TRUE(q.name().Equals("www.lab.test"));
  EXPECT_EQ(q.type(), DnsType::kA);

  std::vector<DnsRecordView> answers(r->answers().begin(), r->answers().end());
  ASSERT_EQ(answers.size(), 2u);
  // www.lab.test (a pointer to the question) CNAME host.lab.test
  EXPECT_EQ(answers[0].name().offset(), 30u);
  EXPECT_EQ(answers[0].name().ToString(), "www.lab.test");
  EXPECT_EQ(answers[0].type(), DnsType::kCname);
  EXPECT_EQ(answers[0].klass(), DnsClass::kIn);
  EXPECT_EQ(answers[0].ttl(), 0u);
  EXPECT_EQ(answers[0].rdata().size(), 15u);
  ASSERT_TRUE(answers[0].cname());
  EXPECT_EQ(answers[0].cname()->ToString(), "host.lab.test");
  EXPECT_FALSE(answers[0].a());
  // host.lab.test (a pointer into the CNAME's RDATA) A 10.77.0.9
  EXPECT_EQ(answers[1].name().ToString(), "host.lab.test");
  EXPECT_EQ(Labels(answers[1].name()), (std::vector<std::string>{"host", "lab", "test"}));
  EXPECT_EQ(answers[1].type(), DnsType::kA);
  EXPECT_EQ(answers[1].a(), A4("10.77.0.9"));
  EXPECT_FALSE(answers[1].aaaa());
  EXPECT_FALSE(answers[1].cname());
  EXPECT_TRUE(r->authorities().empty());
  EXPECT_TRUE(r->additionals().empty());
}

TEST(DnsViewTest, DnsmasqAaaaResponse) {
  auto r = DnsView::Parse(testdata::kDnsResponseAaaa);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->id(), 0x1235);
  EXPECT_EQ((*r->questions().begin()).type(), DnsType::kAaaa);
  std::vector<DnsRecordView> answers(r->answers().begin(), r->answers().end());
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[1].aaaa(), A6("fd77::9"));
  EXPECT_TRUE(answers[1].name().Equals("HOST.lab.TEST."));
}

TEST(DnsViewTest, DnsmasqRefused) {
  auto r = DnsView::Parse(testdata::kDnsRefused);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rcode(), DnsRcode::kRefused);
  EXPECT_FALSE(r->authoritative());
  EXPECT_EQ((*r->questions().begin()).name().ToString(), "nx.lab.test");
  EXPECT_TRUE(r->answers().empty());
}

TEST(DnsViewTest, EveryTruncationIsRejected) {
  for (ByteSpan full : {ByteSpan(testdata::kDnsResponseA), ByteSpan(testdata::kDnsResponseAaaa),
                        ByteSpan(testdata::kDnsQueryA), ByteSpan(testdata::kDnsRefused)}) {
    for (size_t n = 0; n < full.size(); ++n) {
      auto r = DnsView::Parse(full.first(n));
      ASSERT_FALSE(r.ok()) << n;
      EXPECT_TRUE(IsIntegrityError(r.error())) << n << " " << ToString(r.error());
    }
  }
}

TEST(DnsNameViewTest, EqualsIsCaseInsensitiveAndExact) {
  auto r = DnsView::Parse(testdata::kDnsResponseA);
  const DnsNameView n = (*r->questions().begin()).name();
  EXPECT_TRUE(n.Equals("www.lab.test"));
  EXPECT_TRUE(n.Equals("WWW.LAB.TEST."));
  EXPECT_FALSE(n.Equals("www.lab"));
  EXPECT_FALSE(n.Equals("www.lab.test.x"));
  EXPECT_FALSE(n.Equals("www.lab.tes"));
  EXPECT_FALSE(n.Equals("wwwlab.test"));
  EXPECT_FALSE(n.Equals(""));
  char buf[kDnsMaxNameTextSize];
  EXPECT_EQ(std::string(buf, n.FormatTo(buf)), "www.lab.test");
}

TEST(DnsViewTest, RootNameAndPointerIntoTheMiddleOfAName) {
  // Question: www.lab.test; answer: root name, CNAME "host" + pointer to "lab.test" (16).
  Bytes body = kWwwLabTest;
  body.insert(body.end(), {0, 1, 0, 1});
  body.insert(body.end(), {0, 0, 5, 0, 1, 0, 0, 0, 60, 0, 7, 4, 'h', 'o', 's', 't', 0xc0, 16});
  const Bytes m = Message(1, 1, body);
  auto r = DnsView::Parse(m);
  ASSERT_TRUE(r.ok()) << ToString(r.error());
  const DnsRecordView rr = *r->answers().begin();
  EXPECT_EQ(rr.name().ToString(), "");
  EXPECT_TRUE(rr.name().Equals("."));
  EXPECT_TRUE(rr.name().Equals(""));
  EXPECT_EQ(rr.ttl(), 60u);
  EXPECT_EQ(rr.cname()->ToString(), "host.lab.test");
}

TEST(DnsViewTest, CompressionLoopsAndForwardPointersAreRejected) {
  struct Case {
    Bytes body;
    DnsParseError error;
  };
  const Case cases[] = {
      // A pointer to itself.
      {{0xc0, 12, 0, 1, 0, 1}, DnsParseError::kForwardPointer},
      // A pointer forward (to a name after it).
      {{0xc0, 14, 0, 0, 1, 0, 1}, DnsParseError::kForwardPointer},
      // Labels then a pointer back to the start of the same name: a loop.
      {{3, 'w', 'w', 'w', 0xc0, 12, 0, 1, 0, 1}, DnsParseError::kForwardPointer},
      // Into the middle of its own labels.
      {{3, 'w', 'w', 'w', 1, 'a', 0xc0, 16, 0, 1, 0, 1}, DnsParseError::kForwardPointer},
      // A pointer cut in half.
      {{3, 'w', 'w', 'w', 0xc0}, DnsParseError::kTruncatedName},
      // A label running past the message.
      {{3, 'w', 'w'}, DnsParseError::kTruncatedName},
      // No root label.
      {{3, 'w', 'w', 'w'}, DnsParseError::kTruncatedName},
      // Reserved label types 01 and 10.
      {{0x40, 0, 0, 1, 0, 1}, DnsParseError::kBadLabelType},
      {{0x80, 0, 0, 1, 0, 1}, DnsParseError::kBadLabelType},
  };
  for (const Case& c : cases) {
    auto r = DnsView::Parse(Message(1, 0, c.body));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), c.error);
    EXPECT_TRUE(IsIntegrityError(r.error()));
  }
  // Two names pointing at each other: the second's pointer is backwards, the first's
  // forwards.
  Bytes body = {0xc0, 18, 0, 1, 0, 1};                                // question at 12 -> 18
  body.insert(body.end(), {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0});  // answer at 18 -> 12
  auto r = DnsView::Parse(Message(1, 1, body));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), DnsParseError::kForwardPointer);
}

TEST(DnsViewTest, LongPointerChainsAreBounded) {
  // A TXT record holding the root label and 200 pointers, each to the one before; a second
  // record named by the last pointer would need 201 jumps.
  Bytes rdata = {0};
  const size_t base = 12 + 1 + 10;  // where rdata starts
  for (size_t i = 0; i < 200; ++i) {
    const size_t target = i == 0 ? base : base + 1 + 2 * (i - 1);
    rdata.push_back(static_cast<uint8_t>(0xc0 | (target >> 8)));
    rdata.push_back(static_cast<uint8_t>(target));
  }
  Bytes body = {0, 0, 16, 0, 1, 0, 0, 0, 0};
  body.push_back(static_cast<uint8_t>(rdata.size() >> 8));
  body.push_back(static_cast<uint8_t>(rdata.size()));
  body.insert(body.end(), rdata.begin(), rdata.end());
  const size_t last = base + 1 + 2 * 199;
  body.insert(body.end(), {static_cast<uint8_t>(0xc0 | (last >> 8)), static_cast<uint8_t>(last), 0,
                           16, 0, 1, 0, 0, 0, 0, 0, 0});
  auto r = DnsView::Parse(Message(0, 2, body));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), DnsParseError::kTooManyPointers);
  // 127 jumps are fine.
  const size_t ok_last = base + 1 + 2 * 125;  // 127 jumps: itself + 126 before it
  body.resize(11 + rdata.size());
  body.insert(body.end(), {static_cast<uint8_t>(0xc0 | (ok_last >> 8)),
                           static_cast<uint8_t>(ok_last), 0, 16, 0, 1, 0, 0, 0, 0, 0, 0});
  const Bytes ok_message = Message(0, 2, body);
  auto ok = DnsView::Parse(ok_message);
  ASSERT_TRUE(ok.ok()) << ToString(ok.error());
  std::vector<DnsRecordView> rr(ok->answers().begin(), ok->answers().end());
  EXPECT_EQ(rr[1].name().ToString(), "");
}

Bytes NameOfLabels(const std::vector<size_t>& sizes) {
  Bytes n;
  for (size_t s : sizes) {
    n.push_back(static_cast<uint8_t>(s));
    n.insert(n.end(), s, 'a');
  }
  n.push_back(0);
  return n;
}

TEST(DnsViewTest, NamesUpTo255BytesAreAccepted) {
  Bytes ok = NameOfLabels({63, 63, 63, 61});  // 64 * 3 + 62 + 1 = 255
  ASSERT_EQ(ok.size(), 255u);
  ok.insert(ok.end(), {0, 1, 0, 1});
  const Bytes ok_message = Message(1, 0, ok);
  auto r = DnsView::Parse(ok_message);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r->questions().begin()).name().ToString().size(), 253u);

  Bytes bad = NameOfLabels({63, 63, 63, 62});  // 256
  bad.insert(bad.end(), {0, 1, 0, 1});
  auto r2 = DnsView::Parse(Message(1, 0, bad));
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error(), DnsParseError::kNameTooLong);

  // The limit applies to the decoded name, across pointers: 200 bytes here + 100 there.
  Bytes first = NameOfLabels({63, 63, 63, 7});  // 204 bytes at 12
  first.insert(first.end(), {0, 1, 0, 1});
  Bytes second = NameOfLabels({63, 35});  // 100 bytes, then a pointer to the first name
  second.pop_back();
  second.insert(second.end(), {0xc0, 12, 0, 1, 0, 1});
  auto r3 = DnsView::Parse(Message(2, 0, Concat({first, second})));
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.error(), DnsParseError::kNameTooLong);
}

TEST(DnsViewTest, CountsExceedingTheMessageAreRejected) {
  Bytes q = kWwwLabTest;
  q.insert(q.end(), {0, 1, 0, 1});
  auto two = DnsView::Parse(Message(2, 0, q));
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error(), DnsParseError::kTruncatedName);
  Bytes half = q;
  half.resize(half.size() - 2);
  auto cut = DnsView::Parse(Message(1, 0, half));
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error(), DnsParseError::kTruncatedQuestion);

  const ByteSpan response(testdata::kDnsResponseA);
  for (int which : {6, 8, 10}) {  // one more answer, authority or additional than present
    Bytes m(response.begin(), response.end());
    StoreBe16(m.data() + which, static_cast<uint16_t>(LoadBe16(m.data() + which) + 1));
    auto r = DnsView::Parse(m);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), DnsParseError::kTruncatedName);
  }
  Bytes m(response.begin(), response.end());
  StoreBe16(m.data() + 6, 0xffff);
  EXPECT_FALSE(DnsView::Parse(m).ok());
  // RDLENGTH past the end.
  m.assign(response.begin(), response.end());
  m[m.size() - 5] = 5;  // the A record's RDLENGTH (4 -> 5)
  auto rd = DnsView::Parse(m);
  ASSERT_FALSE(rd.ok());
  EXPECT_EQ(rd.error(), DnsParseError::kTruncatedRecord);
  // A record whose fixed part is cut.
  Bytes rr = {0, 0, 1, 0, 1, 0, 0};
  auto fixed = DnsView::Parse(Message(0, 1, rr));
  ASSERT_FALSE(fixed.ok());
  EXPECT_EQ(fixed.error(), DnsParseError::kTruncatedRecord);
}

TEST(DnsViewTest, BadRdataLengthsAreSanityErrors) {
  struct Case {
    Bytes record;
  };
  const Bytes a5 = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5};
  const Bytes aaaa4 = {0, 0, 28, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4};
  const Bytes cname_short = {0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 2, 1, 'a', 0};    // name runs past
  const Bytes cname_long = {0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 4, 1, 'a', 0, 9};  // name ends early
  for (const Bytes& rr : {a5, aaaa4, cname_short, cname_long}) {
    auto r = DnsView::Parse(Message(0, 1, rr));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), DnsParseError::kBadRdataLength);
    EXPECT_FALSE(IsIntegrityError(r.error()));
  }
  // Other classes and types keep raw RDATA of any length.
  const Bytes chaos_a = {0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 2, 1, 2};
  const Bytes txt = {0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 3, 2, 'h', 'i'};
  for (const Bytes& rr : {chaos_a, txt}) {
    const Bytes m = Message(0, 1, rr);
    auto r = DnsView::Parse(m);
    ASSERT_TRUE(r.ok());
    const DnsRecordView v = *r->answers().begin();
    EXPECT_FALSE(v.a());
    EXPECT_FALSE(v.cname());
  }
}

TEST(DnsEncodeNameTest, RejectsBadNames) {
  uint8_t out[300];
  const std::string label63(63, 'a');
  const std::string label64(64, 'a');
  struct Case {
    std::string name;
    DnsNameError error;
  };
  const Case cases[] = {
      {"", DnsNameError::kEmpty},
      {".", DnsNameError::kEmpty},
      {"a..b", DnsNameError::kEmptyLabel},
      {".a", DnsNameError::kEmptyLabel},
      {"a..", DnsNameError::kEmptyLabel},
      {label64 + ".com", DnsNameError::kLabelTooLong},
      {label63 + "." + label63 + "." + label63 + "." + std::string(62, 'a'),
       DnsNameError::kNameTooLong},
  };
  for (const Case& c : cases) {
    auto n = DnsEncodeName(c.name, out);
    ASSERT_FALSE(n.ok()) << c.name;
    EXPECT_EQ(n.error(), c.error) << c.name;
  }
  const std::string longest = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'a');
  auto n = DnsEncodeName(longest, out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 255u);
  auto small = DnsEncodeName("www.lab.test", MutableByteSpan(out, 13));
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.error(), DnsNameError::kBufferTooSmall);
  auto fits = DnsEncodeName("www.lab.test", MutableByteSpan(out, 14));
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(Bytes(out, out + 14), kWwwLabTest);

  uint8_t q[DnsQuery::kMaxSize];
  auto bad_query = DnsQuery{1, "a..b", DnsType::kAaaa}.Emit(q);
  ASSERT_FALSE(bad_query.ok());
  EXPECT_EQ(bad_query.error(), DnsNameError::kEmptyLabel);
  auto tiny = DnsQuery{1, "a", DnsType::kAaaa}.Emit(MutableByteSpan(q, 16));
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.error(), DnsNameError::kBufferTooSmall);
}

TEST(DnsQueryTest, AaaaQueryRoundTrip) {
  uint8_t out[DnsQuery::kMaxSize];
  auto n = DnsQuery{0xbeef, "Example.COM", DnsType::kAaaa}.Emit(out);
  ASSERT_TRUE(n.ok());
  auto v = DnsView::Parse(ByteSpan(out, *n));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->id(), 0xbeef);
  EXPECT_TRUE(v->recursion_desired());
  EXPECT_FALSE(v->is_response());
  EXPECT_EQ(v->question_count(), 1);
  EXPECT_EQ((*v->questions().begin()).type(), DnsType::kAaaa);
  EXPECT_EQ((*v->questions().begin()).name().ToString(), "Example.COM");
}

TEST(DnsMessageWriterTest, ResponseRoundTrip) {
  uint8_t buf[512];
  DnsHeader h;
  h.id = 0x4321;
  h.response = true;
  h.authoritative = true;
  h.recursion_available = true;
  h.rcode = DnsRcode::kNoError;
  DnsMessageWriter w(buf, h);
  using S = DnsMessageWriter::Section;
  ASSERT_FALSE(w.AddQuestion("www.lab.test", DnsType::kAaaa));
  ASSERT_FALSE(w.AddCname(S::kAnswer, "www.lab.test", 30, "host.lab.test"));
  ASSERT_FALSE(w.AddAaaa(S::kAnswer, "host.lab.test", 30, A6("fd77::9")));
  ASSERT_FALSE(w.AddA(S::kAdditional, "host.lab.test", 30, A4("10.77.0.9")));
  EXPECT_EQ(w.AddA(S::kAdditional, "bad..name", 30, A4("10.77.0.9")), DnsNameError::kEmptyLabel);
  const size_t size = w.Finish();
  auto r = DnsView::Parse(ByteSpan(buf, size));
  ASSERT_TRUE(r.ok()) << ToString(r.error());
  EXPECT_EQ(r->id(), 0x4321);
  EXPECT_TRUE(r->is_response());
  EXPECT_TRUE(r->authoritative());
  EXPECT_TRUE(r->recursion_desired());  // DnsHeader's default
  EXPECT_TRUE(r->recursion_available());
  EXPECT_EQ(r->question_count(), 1);
  EXPECT_EQ(r->answer_count(), 2);
  EXPECT_EQ(r->authority_count(), 0);
  EXPECT_EQ(r->additional_count(), 1);
  std::vector<DnsRecordView> answers(r->answers().begin(), r->answers().end());
  EXPECT_EQ(answers[0].cname()->ToString(), "host.lab.test");
  EXPECT_EQ(answers[0].ttl(), 30u);
  EXPECT_EQ(answers[1].aaaa(), A6("fd77::9"));
  EXPECT_EQ((*r->additionals().begin()).a(), A4("10.77.0.9"));

  // A full buffer refuses more and keeps what it has.
  uint8_t small[40];
  DnsMessageWriter w2(small, h);
  ASSERT_FALSE(w2.AddQuestion("www.lab.test", DnsType::kA));  // 12 + 18 = 30
  EXPECT_EQ(w2.AddA(S::kAnswer, "www.lab.test", 1, A4("1.2.3.4")), DnsNameError::kBufferTooSmall);
  EXPECT_EQ(w2.Finish(), 30u);
  EXPECT_TRUE(DnsView::Parse(ByteSpan(small, 30)).ok());
}

TEST(DnsParseErrorTest, NamesAreDistinct) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(DnsParseError::kBadRdataLength); ++i) {
    names.insert(std::string(ToString(static_cast<DnsParseError>(i))));
  }
  EXPECT_EQ(names.size(), 9u);
  std::set<std::string> name_errors;
  for (int i = 0; i <= static_cast<int>(DnsNameError::kBufferTooSmall); ++i) {
    name_errors.insert(std::string(ToString(static_cast<DnsNameError>(i))));
  }
  EXPECT_EQ(name_errors.size(), 5u);
}

}  // namespace
}  // namespace pytcp
