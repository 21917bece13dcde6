// MLDv2 on one stack: state-change reports on join and leave (Router Alert, hop limit 1,
// to ff02::16, repeated), answers to general, group-specific and group-and-source-specific
// queries, and queries that must be ignored; MLDv1 compatibility mode (RFC 3810 §8.2).
#include <gtest/gtest.h>

#include "tests/ip6/ip6_harness.h"

namespace pytcp::testing {
namespace {

const Ip6Address kMldRouters = *Ip6Address::Parse("ff02::16");
const Ip6Address kOurSolicited = *Ip6Address::Parse("ff02::1:ff77:2");

struct Record {
  MldRecordType type;
  Ip6Address group;
  std::vector<Ip6Address> sources;
  bool operator==(const Record&) const = default;
};

// The records of every MLDv2 report in `sent`, checking how each was sent.
std::vector<std::vector<Record>> Reports(const std::vector<Sent>& sent) {
  std::vector<std::vector<Record>> out;
  for (const auto& s : sent) {
    if (!s.is_icmp6() || s.icmp_type() != Icmp6Type::kMldV2Report) continue;
    // RFC 3810 §5: link-local source, hop limit 1, Router Alert, to all MLDv2 routers.
    EXPECT_EQ(s.dst, kMldRouters);
    EXPECT_EQ(s.hop_limit, 1);
    EXPECT_TRUE(s.router_alert);
    EXPECT_TRUE(s.src.is_link_local() || s.src.is_unspecified());
    auto r = MldV2ReportView::From(s.icmp());
    EXPECT_TRUE(r.has_value());
    std::vector<Record> recs;
    for (const MldRecordView rec : r->records()) {
      Record x{rec.type(), rec.multicast_address(), {}};
      for (size_t i = 0; i < rec.source_count(); ++i) x.sources.push_back(rec.source(i));
      recs.push_back(x);
    }
    out.push_back(recs);
  }
  return out;
}

struct V1Message {
  Icmp6Type type;
  Ip6Address dst;
  Ip6Address group;
  bool operator==(const V1Message&) const = default;
};

// Every MLDv1 Report or Done in `sent`, checking how each was sent (RFC 2710 §3).
std::vector<V1Message> V1Messages(const std::vector<Sent>& sent) {
  std::vector<V1Message> out;
  for (const auto& s : sent) {
    if (!s.is_icmp6()) continue;
    if (s.icmp_type() != Icmp6Type::kMldV1Report && s.icmp_type() != Icmp6Type::kMldV1Done) continue;
    EXPECT_EQ(s.hop_limit, 1);
    EXPECT_TRUE(s.router_alert);
    EXPECT_TRUE(s.src.is_link_local());
    auto v = MldV1View::From(s.icmp());
    EXPECT_TRUE(v.has_value());
    if (v) out.push_back(V1Message{s.icmp_type(), s.dst, v->multicast_address()});
  }
  return out;
}

class MldTest : public Ip6Harness {
 protected:
  std::vector<uint8_t> Query(const Ip6Address& group, const Ip6Address& dst, bool router_alert = true,
                             std::span<const Ip6Address> sources = {}, uint8_t hop_limit = 1,
                             bool v1 = false, uint16_t max_resp = 1000) {
    MldQueryMessage q;
    q.multicast_address = group;
    q.max_resp_code = max_resp;  // ms (below 32768 the MLDv2 code is the delay itself)
    q.v1 = v1;
    q.sources = sources;
    std::vector<uint8_t> ext;
    Ip6Header h = Hdr(kRouterLinkLocal, dst, Ip6NextHeader::kIcmp6, hop_limit);
    if (router_alert) {
      ext.resize(8);
      Ip6RouterAlertHopByHop{}.Emit(ext);
      h.next_header = Ip6NextHeader::kHopByHop;
    }
    return Frame(MacAddress::FromIp6Multicast(dst), h, ext, Message(q, kRouterLinkLocal, dst), kRouterMac);
  }
  std::vector<uint8_t> V1Query(const Ip6Address& group, uint16_t max_resp_ms = 1000) {
    const Ip6Address dst = group.is_unspecified() ? Ip6Address::AllNodesMulticast() : group;
    return Query(group, dst, true, {}, 1, true, max_resp_ms);
  }
  // Another listener's MLDv1 report for `group`.
  std::vector<uint8_t> PeerV1Report(const Ip6Address& group) {
    MldV1Message m;
    m.multicast_address = group;
    std::vector<uint8_t> ext(8);
    Ip6RouterAlertHopByHop{}.Emit(ext);
    Ip6Header h = Hdr(kPeerLinkLocal, group, Ip6NextHeader::kHopByHop, 1);
    return Frame(MacAddress::FromIp6Multicast(group), h, ext, Message(m, kPeerLinkLocal, group));
  }
  bool V1Mode() {
    std::lock_guard lock(stack_->mutex());
    return stack_->mld().v1_mode();
  }
};

TEST_F(MldTest, JoinReportedRobustnessTimesNeverAllNodes) {
  Start();
  auto reports = Reports(Run(5s));
  int changes = 0;
  for (const auto& recs : reports) {
    for (const auto& r : recs) {
      EXPECT_NE(r.group, Ip6Address::AllNodesMulticast());  // RFC 3810 §6
      if (r.group == kOurSolicited) {
        EXPECT_EQ(r.type, MldRecordType::kChangeToExclude);
        EXPECT_TRUE(r.sources.empty());
        ++changes;
      }
    }
  }
  EXPECT_EQ(changes, 2);  // RFC 3810 §9.1 Robustness Variable
  {
    std::lock_guard lock(stack_->mutex());
    EXPECT_TRUE(stack_->iface().IsMemberOf(MacAddress::FromIp6Multicast(kOurSolicited)));
  }
}

TEST_F(MldTest, LeaveReportedAsChangeToInclude) {
  Start();
  Settle();
  const Ip6Address group = *Ip6Address::Parse("ff05::1234");
  {
    std::lock_guard lock(stack_->mutex());
    stack_->ip6().JoinGroup(group, clock_.Now());
  }
  auto joins = Reports(Run(3s));
  ASSERT_EQ(joins.size(), 2u);
  EXPECT_EQ(joins[0], (std::vector<Record>{{MldRecordType::kChangeToExclude, group, {}}}));
  {
    std::lock_guard lock(stack_->mutex());
    stack_->ip6().LeaveGroup(group, clock_.Now());
    EXPECT_FALSE(stack_->iface().IsMemberOf(MacAddress::FromIp6Multicast(group)));
  }
  auto leaves = Reports(Run(3s));
  ASSERT_EQ(leaves.size(), 2u);
  EXPECT_EQ(leaves[1], (std::vector<Record>{{MldRecordType::kChangeToInclude, group, {}}}));
}

TEST_F(MldTest, GeneralQueryAnsweredWithCurrentState) {
  Start();
  Settle();
  EXPECT_TRUE(Exchange(Query(Ip6Address(), Ip6Address::AllNodesMulticast())).size() <= 1u);
  auto reports = Reports(Run(2s));
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0], (std::vector<Record>{{MldRecordType::kModeIsExclude, kOurSolicited, {}}}));
}

TEST_F(MldTest, QueryWithoutRouterAlertOrWrongHopLimitIgnored) {
  Start();
  Settle();
  Exchange(Query(Ip6Address(), Ip6Address::AllNodesMulticast(), false));
  EXPECT_EQ(MovedBy("mld.rx_drop_invalid"), 1);
  Exchange(Query(Ip6Address(), Ip6Address::AllNodesMulticast(), true, {}, 2));
  EXPECT_EQ(MovedBy("mld.rx_drop_invalid"), 1);
  EXPECT_TRUE(Reports(Run(2s)).empty());
}

TEST_F(MldTest, GroupSpecificQueryForMemberAnswered) {
  Start();
  Settle();
  Exchange(Query(kOurSolicited, kOurSolicited));
  auto reports = Reports(Run(2s));
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0], (std::vector<Record>{{MldRecordType::kModeIsExclude, kOurSolicited, {}}}));
  // A group we are not in: silence (and the frame does not even pass the MAC filter).
  const Ip6Address other = *Ip6Address::Parse("ff02::1:ff00:99");
  Exchange(Query(other, Ip6Address::AllNodesMulticast()));
  EXPECT_TRUE(Reports(Run(2s)).empty());
}

TEST_F(MldTest, SourceSpecificQueryAnsweredWithIncludeOfSources) {
  Start();
  Settle();
  const std::vector<Ip6Address> sources = {kPeerLinkLocal, kRouterLinkLocal};
  Exchange(Query(kOurSolicited, kOurSolicited, true, sources));
  auto reports = Reports(Run(2s));
  ASSERT_EQ(reports.size(), 1u);
  // RFC 3810 §6.3: in EXCLUDE({}) mode every queried source is listened to.
  EXPECT_EQ(reports[0], (std::vector<Record>{{MldRecordType::kModeIsInclude, kOurSolicited, sources}}));
}

TEST_F(MldTest, V1QuerySwitchesToV1AndIsAnsweredWithV1Report) {
  Start();
  Settle();
  EXPECT_FALSE(V1Mode());
  Exchange(V1Query(Ip6Address()));
  EXPECT_EQ(MovedBy("mld.rx_v1_queries"), 1);
  EXPECT_TRUE(V1Mode());
  auto sent = Run(2s);
  // RFC 2710 §3: one report per group, sent to the group itself; no MLDv2 report.
  EXPECT_EQ(V1Messages(sent), (std::vector<V1Message>{{Icmp6Type::kMldV1Report, kOurSolicited, kOurSolicited}}));
  EXPECT_TRUE(Reports(sent).empty());
}

TEST_F(MldTest, V1ReportOfAnotherListenerSuppressesOurs) {
  Start();
  Settle();
  Exchange(V1Query(kOurSolicited, 10000));
  // RFC 2710 §4: the peer answered first, so this host keeps quiet.
  Exchange(PeerV1Report(kOurSolicited));
  EXPECT_TRUE(V1Messages(Run(12s)).empty());
}

TEST_F(MldTest, V2QueryInV1ModeIsAnsweredInV1) {
  Start();
  Settle();
  Exchange(V1Query(Ip6Address()));
  (void)Run(2s);
  Exchange(Query(Ip6Address(), Ip6Address::AllNodesMulticast()));
  auto sent = Run(2s);
  EXPECT_EQ(V1Messages(sent).size(), 1u);
  EXPECT_TRUE(Reports(sent).empty());
}

TEST_F(MldTest, JoinAndLeaveInV1ModeSendReportsAndDone) {
  Start();
  Settle();
  Exchange(V1Query(Ip6Address()));
  (void)Run(2s);
  const Ip6Address group = *Ip6Address::Parse("ff05::1234");
  {
    std::lock_guard lock(stack_->mutex());
    stack_->ip6().JoinGroup(group, clock_.Now());
  }
  auto joins = V1Messages(Run(3s));
  const V1Message report{Icmp6Type::kMldV1Report, group, group};
  EXPECT_EQ(joins, (std::vector<V1Message>{report, report}));  // Robustness Variable times
  {
    std::lock_guard lock(stack_->mutex());
    stack_->ip6().LeaveGroup(group, clock_.Now());
  }
  // This host sent the last report, so it sends Done to all routers (ff02::2).
  EXPECT_EQ(V1Messages(Run(3s)),
            (std::vector<V1Message>{{Icmp6Type::kMldV1Done, *Ip6Address::Parse("ff02::2"), group}}));
}

TEST_F(MldTest, LeaveAfterAnotherListenerReportedSendsNoDone) {
  Start();
  Settle();
  Exchange(V1Query(Ip6Address()));
  (void)Run(2s);
  const Ip6Address group = *Ip6Address::Parse("ff05::1234");
  {
    std::lock_guard lock(stack_->mutex());
    stack_->ip6().JoinGroup(group, clock_.Now());
  }
  (void)Run(3s);
  Exchange(PeerV1Report(group));
  {
    std::lock_guard lock(stack_->mutex());
    stack_->ip6().LeaveGroup(group, clock_.Now());
  }
  EXPECT_TRUE(V1Messages(Run(3s)).empty());
}

TEST_F(MldTest, BackToV2AfterOlderVersionQuerierPresentTimeout) {
  Start();
  Settle();
  Exchange(V1Query(Ip6Address()));
  (void)Run(259s);
  EXPECT_TRUE(V1Mode());  // RFC 3810 §9.12: 2 × 125 s + 10 s
  (void)Run(2s);
  EXPECT_FALSE(V1Mode());
  Exchange(Query(Ip6Address(), Ip6Address::AllNodesMulticast()));
  auto sent = Run(2s);
  EXPECT_TRUE(V1Messages(sent).empty());
  ASSERT_EQ(Reports(sent).size(), 1u);
}

}  // namespace
}  // namespace pytcp::testing
