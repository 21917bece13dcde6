// The shim resolver's configuration and reverse names (issue 19, item 8), without network:
// resolv.conf (servers IPv4 and IPv6, search/domain, options and their limits, RES_OPTIONS
// syntax), the search order ndots gives, nsswitch.conf's hosts line (sources, criteria,
// unknown modules, glibc's default), in-addr.arpa and ip6.arpa names, PTR answers (CNAME
// delegation, escaping) and the EDNS(0) OPT record of a query.
#include <netdb.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "shim/dns_client.h"
#include "shim/nsswitch_conf.h"
#include "shim/resolv_conf.h"
#include "shim/reverse_name.h"

namespace pytcp::shim {
namespace {

using Strings = std::vector<std::string>;

TEST(ResolvConf, DefaultsAreGlibcs) {
  const ResolvConf rc = ParseResolvConf("");
  EXPECT_TRUE(rc.nameservers.empty());
  EXPECT_TRUE(rc.search.empty());
  EXPECT_EQ(rc.ndots, 1);
  EXPECT_EQ(rc.timeout_s, 5);
  EXPECT_EQ(rc.attempts, 2);
  EXPECT_FALSE(rc.rotate);
  EXPECT_FALSE(rc.edns0);
}

TEST(ResolvConf, ServersOfBothFamiliesAtMostThree) {
  const ResolvConf rc = ParseResolvConf(
      "# comment\n"
      "; another\n"
      "nameserver 10.77.0.1\n"
      "nameserver\tfd77::1\n"
      "nameserver not-an-address\n"
      "nameserver fe80::1%1\n"
      "nameserver 10.77.0.9\n");
  ASSERT_EQ(rc.nameservers.size(), 3u);
  EXPECT_EQ(rc.nameservers[0].ip, IpAddress(Ip4Address(10, 77, 0, 1)));
  EXPECT_EQ(rc.nameservers[0].port, kDnsPort);
  ASSERT_FALSE(rc.nameservers[1].ip.is_v4());
  EXPECT_EQ(rc.nameservers[1].ip.v6(), *Ip6Address::Parse("fd77::1"));
  EXPECT_EQ(rc.nameservers[2].ip.v6(), *Ip6Address::Parse("fe80::1"));
  EXPECT_EQ(rc.nameservers[2].scope_id, 1u);
}

TEST(ResolvConf, TheLastSearchOrDomainLineWins) {
  EXPECT_EQ(ParseResolvConf("search a.lab b.lab\n").search, (Strings{"a.lab", "b.lab"}));
  EXPECT_EQ(ParseResolvConf("search a.lab b.lab\ndomain c.lab\n").search, Strings{"c.lab"});
  EXPECT_EQ(ParseResolvConf("domain c.lab\nsearch a.lab\n").search, Strings{"a.lab"});
  EXPECT_EQ(ParseResolvConf("domain c.lab d.lab\n").search, Strings{"c.lab"});
}

TEST(ResolvConf, OptionsAndTheirLimits) {
  const ResolvConf rc = ParseResolvConf(
      "options ndots:3 timeout:2\n"
      "options attempts:4 rotate edns0 single-request trust-ad unknown-option\n");
  EXPECT_EQ(rc.ndots, 3);
  EXPECT_EQ(rc.timeout_s, 2);
  EXPECT_EQ(rc.attempts, 4);
  EXPECT_TRUE(rc.rotate);
  EXPECT_TRUE(rc.edns0);
  // res_init.c's caps: ndots 15, timeout 30, attempts 5; the numbers read as atoi reads.
  const ResolvConf big = ParseResolvConf("options ndots:99 timeout:1000 attempts:77\n");
  EXPECT_EQ(big.ndots, 15);
  EXPECT_EQ(big.timeout_s, 30);
  EXPECT_EQ(big.attempts, 5);
  const ResolvConf zero = ParseResolvConf("options ndots:x timeout:0 attempts:0\n");
  EXPECT_EQ(zero.ndots, 0);
  EXPECT_EQ(zero.timeout_s, 1);
  EXPECT_EQ(zero.attempts, 1);
  // RES_OPTIONS has the same syntax and is applied after the file.
  ResolvConf env = ParseResolvConf("options ndots:2\n");
  ApplyResolvOptions("ndots:4 rotate", &env);
  EXPECT_EQ(env.ndots, 4);
  EXPECT_TRUE(env.rotate);
}

TEST(ResolvConf, SearchOrderFollowsNdots) {
  ResolvConf rc = ParseResolvConf("search lab far.lab\n");
  // Fewer dots than ndots (1): the search list first, then the name as it is.
  EXPECT_EQ(SearchCandidates("peer", rc), (Strings{"peer.lab", "peer.far.lab", "peer"}));
  // At least ndots dots: as it is first.
  EXPECT_EQ(SearchCandidates("www.peer", rc),
            (Strings{"www.peer", "www.peer.lab", "www.peer.far.lab"}));
  // A trailing dot: only as it is.
  EXPECT_EQ(SearchCandidates("peer.lab.", rc), Strings{"peer.lab."});
  rc.ndots = 2;
  EXPECT_EQ(SearchCandidates("www.peer", rc),
            (Strings{"www.peer.lab", "www.peer.far.lab", "www.peer"}));
  rc.search.clear();
  EXPECT_EQ(SearchCandidates("peer", rc), Strings{"peer"});
  EXPECT_TRUE(SearchCandidates("", rc).empty());
}

TEST(Nsswitch, FilesThenDns) {
  const auto steps = ParseNsswitchHosts(
      "passwd: files\n"
      "# hosts: dns\n"
      "hosts:          files dns   # trailing comment\n"
      "networks: files\n");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].source, NssSource::kFiles);
  EXPECT_EQ(steps[1].source, NssSource::kDns);
  for (const auto& s : steps) {
    EXPECT_TRUE(s.ShouldReturn(NssStatus::kSuccess));
    EXPECT_FALSE(s.ShouldReturn(NssStatus::kNotFound));
    EXPECT_FALSE(s.ShouldReturn(NssStatus::kUnavail));
    EXPECT_FALSE(s.ShouldReturn(NssStatus::kTryAgain));
  }
}

TEST(Nsswitch, UnknownSourcesKeepTheirOwnCriteria) {
  // Debian with avahi and systemd: the [NOTFOUND=return] belongs to mdns4_minimal, which
  // the shim cannot run, so dns is still reached.
  const auto steps = ParseNsswitchHosts(
      "hosts: files mymachines mdns4_minimal [NOTFOUND=return] resolve [!UNAVAIL=return] "
      "myhostname dns\n");
  ASSERT_EQ(steps.size(), 6u);
  EXPECT_EQ(steps[0].source, NssSource::kFiles);
  EXPECT_EQ(steps[1].source, NssSource::kOther);
  EXPECT_EQ(steps[1].name, "mymachines");
  EXPECT_EQ(steps[2].name, "mdns4_minimal");
  EXPECT_TRUE(steps[2].ShouldReturn(NssStatus::kNotFound));
  EXPECT_FALSE(steps[2].ShouldReturn(NssStatus::kUnavail));
  EXPECT_EQ(steps[3].name, "resolve");
  EXPECT_TRUE(steps[3].ShouldReturn(NssStatus::kNotFound));
  EXPECT_TRUE(steps[3].ShouldReturn(NssStatus::kTryAgain));
  EXPECT_FALSE(steps[3].ShouldReturn(NssStatus::kUnavail));
  EXPECT_EQ(steps[5].source, NssSource::kDns);
  EXPECT_FALSE(steps[0].ShouldReturn(NssStatus::kNotFound));
}

TEST(Nsswitch, CriteriaAreCaseInsensitiveAndMayStopAtFiles) {
  const auto steps = ParseNsswitchHosts("hosts: files [NotFound=Return success=continue] dns\n");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_TRUE(steps[0].ShouldReturn(NssStatus::kNotFound));
  EXPECT_FALSE(steps[0].ShouldReturn(NssStatus::kSuccess));
  EXPECT_FALSE(steps[0].ShouldReturn(NssStatus::kUnavail));
}

TEST(Nsswitch, GlibcDefaultWithoutAHostsLine) {
  for (const char* text : {"", "passwd: files\n"}) {
    const auto steps = ParseNsswitchHosts(text);
    ASSERT_EQ(steps.size(), 2u) << text;
    EXPECT_EQ(steps[0].source, NssSource::kDns);
    EXPECT_TRUE(steps[0].ShouldReturn(NssStatus::kNotFound));
    EXPECT_TRUE(steps[0].ShouldReturn(NssStatus::kTryAgain));
    EXPECT_FALSE(steps[0].ShouldReturn(NssStatus::kUnavail));
    EXPECT_EQ(steps[1].source, NssSource::kFiles);
  }
  EXPECT_EQ(ReadNsswitchHosts("/nonexistent/nsswitch.conf").size(), 2u);
}

TEST(ReverseName, Ip4InAddrArpa) {
  EXPECT_EQ(ReverseName(Ip4Address(10, 77, 0, 1)), "1.0.77.10.in-addr.arpa");
  EXPECT_EQ(ReverseName(Ip4Address(192, 0, 2, 255)), "255.2.0.192.in-addr.arpa");
}

TEST(ReverseName, Ip6NibblesUnderIp6Arpa) {
  // RFC 3596 §2.5's example: 4321:0:1:2:3:4:567:89ab.
  EXPECT_EQ(ReverseName(*Ip6Address::Parse("4321:0:1:2:3:4:567:89ab")),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa");
  std::string fd77_1 = "1.";
  for (int i = 0; i < 27; ++i) fd77_1 += "0.";  // 32 nibbles: 1, 27 zeros, 7 7 d f
  EXPECT_EQ(ReverseName(*Ip6Address::Parse("fd77::1")), fd77_1 + "7.7.d.f.ip6.arpa");
}

std::vector<uint8_t> Message(const DnsHeader& h, const std::function<void(DnsMessageWriter&)>& body) {
  std::vector<uint8_t> b(4096);
  DnsMessageWriter w(MutableByteSpan(b.data(), b.size()), h);
  body(w);
  b.resize(w.Finish());
  return b;
}

DnsHeader Response(uint16_t id) {
  DnsHeader h;
  h.id = id;
  h.response = true;
  return h;
}

TEST(PtrQuery, BuiltForTheReverseNameWithEdns) {
  uint8_t buf[DnsQuery::kMaxSize];
  DnsQuery q;
  q.id = 0x4242;
  const std::string name = ReverseName(Ip4Address(10, 77, 0, 1));
  q.name = name;
  q.type = DnsType::kPtr;
  q.edns_udp_size = 1200;
  auto n = q.Emit(MutableByteSpan(buf, sizeof(buf)));
  ASSERT_TRUE(n.ok());
  auto v = DnsView::Parse(ByteSpan(buf, *n));
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->is_response());
  EXPECT_TRUE(v->recursion_desired());
  ASSERT_EQ(v->question_count(), 1);
  const DnsQuestionView question = *v->questions().begin();
  EXPECT_TRUE(question.name().Equals("1.0.77.10.in-addr.arpa"));
  EXPECT_EQ(question.type(), DnsType::kPtr);
  // RFC 6891 §6.1.2: one OPT record, owner the root, CLASS the UDP size, TTL 0.
  ASSERT_EQ(v->additional_count(), 1);
  const DnsRecordView opt = *v->additionals().begin();
  EXPECT_EQ(opt.name().ToString(), "");
  EXPECT_EQ(opt.type(), DnsType::kOpt);
  EXPECT_EQ(static_cast<uint16_t>(opt.klass()), 1200);
  EXPECT_EQ(opt.ttl(), 0u);
  EXPECT_TRUE(opt.rdata().empty());
  // Without edns0, no additional record.
  q.edns_udp_size = 0;
  n = q.Emit(MutableByteSpan(buf, sizeof(buf)));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(DnsView::Parse(ByteSpan(buf, *n))->additional_count(), 0);
}

TEST(PtrAnswer, TheNameOfTheFirstPtrRecord) {
  const std::string q = "1.0.77.10.in-addr.arpa";
  const auto msg = Message(Response(7), [&](DnsMessageWriter& w) {
    w.AddQuestion(q, DnsType::kPtr);
    w.AddPtr(DnsMessageWriter::Section::kAnswer, "9.0.77.10.in-addr.arpa", 60, "other.lab");
    w.AddPtr(DnsMessageWriter::Section::kAnswer, q, 60, "peer.lab");
    w.AddPtr(DnsMessageWriter::Section::kAnswer, q, 60, "gw.lab");
  });
  auto v = CheckDnsResponse(ByteSpan(msg.data(), msg.size()), 7, q, DnsType::kPtr);
  ASSERT_TRUE(v.ok());
  const DnsResult r = ExtractDnsAnswer(*v, q, DnsType::kPtr);
  EXPECT_EQ(r.status, DnsStatus::kOk);
  EXPECT_EQ(r.names, (Strings{"peer.lab", "gw.lab"}));
}

TEST(PtrAnswer, ClasslessDelegationThroughACname) {
  // RFC 2317 §4: 1.0.77.10.in-addr.arpa is a CNAME into the delegated zone.
  const std::string q = "1.0.77.10.in-addr.arpa";
  const auto msg = Message(Response(8), [&](DnsMessageWriter& w) {
    w.AddQuestion(q, DnsType::kPtr);
    w.AddCname(DnsMessageWriter::Section::kAnswer, q, 60, "1.0/25.0.77.10.in-addr.arpa");
    w.AddPtr(DnsMessageWriter::Section::kAnswer, "1.0/25.0.77.10.in-addr.arpa", 60, "peer.lab");
  });
  auto v = CheckDnsResponse(ByteSpan(msg.data(), msg.size()), 8, q, DnsType::kPtr);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(ExtractDnsAnswer(*v, q, DnsType::kPtr).names, Strings{"peer.lab"});
}

TEST(PtrAnswer, NoRecordIsNoDataAndOddBytesAreEscaped) {
  const std::string q = "2.0.77.10.in-addr.arpa";
  const auto empty = Message(Response(9), [&](DnsMessageWriter& w) { w.AddQuestion(q, DnsType::kPtr); });
  auto v = CheckDnsResponse(ByteSpan(empty.data(), empty.size()), 9, q, DnsType::kPtr);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(ExtractDnsAnswer(*v, q, DnsType::kPtr).status, DnsStatus::kNoData);
  // A target whose first label holds a dot, a space and a NUL byte (legal on the wire).
  const uint8_t target[] = {5, 'a', '.', ' ', 0, 'b', 3, 'l', 'a', 'b', 0};
  const auto odd = Message(Response(10), [&](DnsMessageWriter& w) {
    w.AddQuestion(q, DnsType::kPtr);
    w.AddRecord(DnsMessageWriter::Section::kAnswer, q, DnsType::kPtr, DnsClass::kIn, 60,
                ByteSpan(target, sizeof(target)));
  });
  v = CheckDnsResponse(ByteSpan(odd.data(), odd.size()), 10, q, DnsType::kPtr);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(ExtractDnsAnswer(*v, q, DnsType::kPtr).names, Strings{"a\\.\\032\\000b.lab"});
}

TEST(PtrAnswer, RdataThatIsNotExactlyOneNameIsRejected) {
  const std::string q = "3.0.77.10.in-addr.arpa";
  const uint8_t padded[] = {4, 'p', 'e', 'e', 'r', 0, 0xff};
  const auto msg = Message(Response(11), [&](DnsMessageWriter& w) {
    w.AddQuestion(q, DnsType::kPtr);
    w.AddRecord(DnsMessageWriter::Section::kAnswer, q, DnsType::kPtr, DnsClass::kIn, 60,
                ByteSpan(padded, sizeof(padded)));
  });
  EXPECT_FALSE(DnsView::Parse(ByteSpan(msg.data(), msg.size())).ok());
}

}  // namespace
}  // namespace pytcp::shim
