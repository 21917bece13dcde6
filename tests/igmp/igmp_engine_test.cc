// IGMPv3 on one stack (RFC 3376): state-change reports on join, leave and source changes
// (to 224.0.0.22, TTL 1, TOS 0xc0, Router Alert, repeated [Robustness Variable] times
// within the Unsolicited Report Interval), the interface state merged from several
// sockets, answers to general, group-specific and group-and-source-specific queries within
// Max Resp Time, and the IGMPv1/IGMPv2 compatibility modes; the wire format's checks.
#include <gtest/gtest.h>

#include "tests/igmp/igmp_harness.h"

namespace pytcp::testing {
namespace {

constexpr Ip4Address kAllIgmpv3Routers(224, 0, 0, 22);
char kA, kB, kC;  // socket keys: their addresses

using R = IgmpRecordSeen;
using T = IgmpRecordType;

class IgmpTest : public IgmpHarness {
 protected:
  // The records of every IGMPv3 report in `frames`, checking how each was sent (§4).
  std::vector<std::vector<R>> Reports(const std::vector<std::vector<uint8_t>>& frames) {
    std::vector<std::vector<R>> out;
    for (const auto& m : Igmp(frames)) {
      EXPECT_EQ(m.type, IgmpType::kV3Report);
      EXPECT_EQ(m.src, kOurIp);
      EXPECT_EQ(m.dst, kAllIgmpv3Routers);
      EXPECT_EQ(m.ttl, 1);
      EXPECT_EQ(m.tos, 0xc0);  // §4: Internetwork Control
      EXPECT_TRUE(m.router_alert);
      EXPECT_TRUE(m.dont_fragment);
      out.push_back(m.records);
    }
    return out;
  }
  int Version() {
    std::lock_guard lock(stack_->mutex());
    return stack_->igmp().compat_version();
  }
};

TEST_F(IgmpTest, JoinSendsChangeToExcludeAtOnceAndOnceMoreWithinOneSecond) {
  Run(1s);  // the static address's start-up
  Listen(&kA, kGroup, McFilterMode::kExclude);
  auto now = Reports(Run(0ms));
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0], (std::vector<R>{{T::kChangeToExclude, kGroup, {}}}));
  // §5.1: retransmitted [Robustness Variable] - 1 = 1 more time within (0, 1 s].
  auto later = Reports(Run(1s));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0], (std::vector<R>{{T::kChangeToExclude, kGroup, {}}}));
  EXPECT_TRUE(Reports(Run(30s)).empty());
  std::lock_guard lock(stack_->mutex());
  EXPECT_TRUE(stack_->ip4().IsMemberOf(kGroup));
}

TEST_F(IgmpTest, LeaveSendsChangeToIncludeEmptyTwiceAndLeavesTheGroup) {
  Listen(&kA, kGroup, McFilterMode::kExclude);
  Run(5s);
  Listen(&kA, kGroup, McFilterMode::kInclude);
  auto reports = Reports(Run(5s));
  EXPECT_EQ(reports, (std::vector<std::vector<R>>{{{T::kChangeToInclude, kGroup, {}}},
                                                  {{T::kChangeToInclude, kGroup, {}}}}));
  std::lock_guard lock(stack_->mutex());
  EXPECT_FALSE(stack_->ip4().IsMemberOf(kGroup));
  EXPECT_EQ(stack_->igmp().State(kGroup), nullptr);
}

TEST_F(IgmpTest, AllSystemsGroupIsNeverReported) {
  Listen(&kA, Ip4Address(224, 0, 0, 1), McFilterMode::kExclude);
  EXPECT_TRUE(Reports(Run(5s)).empty());
}

TEST_F(IgmpTest, LinkLocalGroupIsReportedAsLinuxDoes) {
  // mDNS's 224.0.0.251: Linux's igmp_link_local_mcast_reports is on by default.
  Listen(&kA, Ip4Address(224, 0, 0, 251), McFilterMode::kExclude);
  EXPECT_EQ(Reports(Run(5s)).size(), 2u);
}

TEST_F(IgmpTest, SourceSpecificJoinAllowsAndLeaveBlocks) {
  Listen(&kA, kGroup, McFilterMode::kInclude, {kS1});
  EXPECT_EQ(Reports(Run(5s)), (std::vector<std::vector<R>>{{{T::kAllowNewSources, kGroup, {kS1}}},
                                                           {{T::kAllowNewSources, kGroup, {kS1}}}}));
  Listen(&kA, kGroup, McFilterMode::kInclude, {kS1, kS2});
  EXPECT_EQ(Reports(Run(5s)), (std::vector<std::vector<R>>{{{T::kAllowNewSources, kGroup, {kS2}}},
                                                           {{T::kAllowNewSources, kGroup, {kS2}}}}));
  Listen(&kA, kGroup, McFilterMode::kInclude);
  EXPECT_EQ(Reports(Run(5s)),
            (std::vector<std::vector<R>>{{{T::kBlockOldSources, kGroup, {kS1, kS2}}},
                                         {{T::kBlockOldSources, kGroup, {kS1, kS2}}}}));
}

TEST_F(IgmpTest, ExcludeSourceChangesAreBlockAndAllow) {
  Listen(&kA, kGroup, McFilterMode::kExclude);
  Run(5s);
  // EXCLUDE({}) -> EXCLUDE({S1}): BLOCK(S1); back: ALLOW(S1).
  Listen(&kA, kGroup, McFilterMode::kExclude, {kS1});
  EXPECT_EQ(Reports(Run(0ms)), (std::vector<std::vector<R>>{{{T::kBlockOldSources, kGroup, {kS1}}}}));
  Run(5s);
  Listen(&kA, kGroup, McFilterMode::kExclude);
  EXPECT_EQ(Reports(Run(0ms)), (std::vector<std::vector<R>>{{{T::kAllowNewSources, kGroup, {kS1}}}}));
}

TEST_F(IgmpTest, ChangeBeforeRetransmissionsEndIsMergedAndRestartsThem) {
  // §5.1: a second change sends a new report at once holding what is still pending, and
  // that report is the first of [Robustness Variable] transmissions.
  Listen(&kA, kGroup, McFilterMode::kInclude, {kS1});
  EXPECT_EQ(Reports(Run(0ms)).size(), 1u);
  Listen(&kA, kGroup, McFilterMode::kInclude, {kS1, kS2});
  auto first = Reports(Run(0ms));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0], (std::vector<R>{{T::kAllowNewSources, kGroup, {kS1, kS2}}}));
  auto rest = Reports(Run(5s));
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0], (std::vector<R>{{T::kAllowNewSources, kGroup, {kS2}}}));
}

TEST_F(IgmpTest, InterfaceStateMergesSockets) {
  // §3.2: INCLUDE lists unite; one EXCLUDE makes it EXCLUDE with the intersection of the
  // exclude lists minus the included sources.
  Listen(&kA, kGroup, McFilterMode::kInclude, {kS1});
  Listen(&kB, kGroup, McFilterMode::kInclude, {kS2});
  {
    std::lock_guard lock(stack_->mutex());
    const auto* s = stack_->igmp().State(kGroup);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->mode, McFilterMode::kInclude);
    EXPECT_EQ(s->sources, (std::vector<Ip4Address>{kS1, kS2}));
    EXPECT_TRUE(stack_->igmp().Allows(kGroup, kS2));
    EXPECT_FALSE(stack_->igmp().Allows(kGroup, kS3));
  }
  Listen(&kC, kGroup, McFilterMode::kExclude, {kS1, kS3});
  {
    std::lock_guard lock(stack_->mutex());
    const auto* s = stack_->igmp().State(kGroup);
    EXPECT_EQ(s->mode, McFilterMode::kExclude);
    EXPECT_EQ(s->sources, (std::vector<Ip4Address>{kS3}));
    EXPECT_FALSE(stack_->igmp().Allows(kGroup, kS3));
    EXPECT_TRUE(stack_->igmp().Allows(kGroup, kOtherIp));
  }
  // The mode change is reported as TO_EX with the current list.
  auto reports = Reports(Run(5s));
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back(), (std::vector<R>{{T::kChangeToExclude, kGroup, {kS3}}}));
}

TEST_F(IgmpTest, GeneralQueryIsAnsweredWithEveryGroupWithinMaxRespTime) {
  Listen(&kA, kGroup, McFilterMode::kExclude);
  Listen(&kB, kGroup2, McFilterMode::kInclude, {kS2});
  Run(5s);
  EXPECT_TRUE(Reports(Inject(V3Query(Ip4Address(), 20))).empty());
  auto reports = Reports(Run(2s));  // Max Resp Time 2 s
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0], (std::vector<R>{{T::kModeIsExclude, kGroup, {}},
                                         {T::kModeIsInclude, kGroup2, {kS2}}}));
  EXPECT_EQ(stack_->CounterSnapshot()["igmp.rx_queries"], 1u);
}

TEST_F(IgmpTest, GroupSpecificQueryIsAnsweredForOurGroupsOnly) {
  Listen(&kA, kGroup, McFilterMode::kExclude);
  Run(5s);
  Inject(V3Query(kGroup, 10));
  EXPECT_EQ(Reports(Run(1s)), (std::vector<std::vector<R>>{{{T::kModeIsExclude, kGroup, {}}}}));
  Inject(V3Query(kGroup2, 10));  // not ours (and not even received: no membership)
  EXPECT_TRUE(Reports(Run(2s)).empty());
}

TEST_F(IgmpTest, GroupAndSourceSpecificQueryAnswersPerTheTable) {
  // §5.2: INCLUDE(A) answers IS_IN(A*B); EXCLUDE(A) answers IS_IN(B-A).
  Listen(&kA, kGroup, McFilterMode::kInclude, {kS1, kS2});
  Listen(&kB, kGroup2, McFilterMode::kExclude, {kS1});
  Run(5s);
  Inject(V3Query(kGroup, 10, {kS2, kS3}));
  EXPECT_EQ(Reports(Run(1s)), (std::vector<std::vector<R>>{{{T::kModeIsInclude, kGroup, {kS2}}}}));
  Inject(V3Query(kGroup2, 10, {kS1, kS2}));
  EXPECT_EQ(Reports(Run(1s)), (std::vector<std::vector<R>>{{{T::kModeIsInclude, kGroup2, {kS2}}}}));
  Inject(V3Query(kGroup, 10, {kS3}));  // nothing to say: no report
  EXPECT_TRUE(Reports(Run(2s)).empty());
}

TEST_F(IgmpTest, PendingGeneralAnswerCoversALaterGroupQuery) {
  Listen(&kA, kGroup, McFilterMode::kExclude);
  Run(5s);
  peer_->Inject(V3Query(Ip4Address(), 1));  // answered within 0.1 s
  peer_->Inject(V3Query(kGroup, 100));      // §5.2 rule 1: covered
  EXPECT_EQ(Reports(Run(11s)).size(), 1u);
}

TEST_F(IgmpTest, QuerierRobustnessIsAdopted) {
  // §8.1: a query's QRV replaces the Robustness Variable: QRV 3 means three reports.
  Run(1s);
  IgmpV3QueryMessage q;
  q.max_resp_code = 10;
  q.qrv = 3;
  std::vector<uint8_t> m(q.size());
  q.Emit(m);
  Inject(Frame(kPeerIp, Ip4Address(224, 0, 0, 1), IpProto::kIgmp, m, true));
  EXPECT_TRUE(Reports(Run(2s)).empty());  // no group to tell of
  Listen(&kA, kGroup, McFilterMode::kExclude);
  EXPECT_EQ(Reports(Run(5s)).size(), 3u);
}

TEST_F(IgmpTest, V2QuerierSwitchesToV2ReportsAndLeave) {
  Listen(&kA, kGroup, McFilterMode::kExclude);
  Run(5s);
  Inject(OldQuery(Ip4Address(), 10));  // IGMPv2 general query, 1 s
  EXPECT_EQ(Version(), 2);
  auto msgs = Igmp(Run(1s));
  ASSERT_EQ(msgs.size(), 1u);
  // RFC 2236 §3: a v2 report to the group itself, TTL 1, Router Alert.
  EXPECT_EQ(msgs[0].type, IgmpType::kV2Report);
  EXPECT_EQ(msgs[0].dst, kGroup);
  EXPECT_EQ(msgs[0].group, kGroup);
  EXPECT_EQ(msgs[0].ttl, 1);
  EXPECT_TRUE(msgs[0].router_alert);
  // Source lists mean nothing to IGMPv2: a new join is a v2 report, a leave a Leave to
  // 224.0.0.2 from the last reporter.
  Listen(&kA, kGroup2, McFilterMode::kInclude, {kS1});
  msgs = Igmp(Run(0ms));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, IgmpType::kV2Report);
  EXPECT_EQ(msgs[0].group, kGroup2);
  Run(30s);
  Listen(&kA, kGroup, McFilterMode::kInclude);
  msgs = Igmp(Run(15s));
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, IgmpType::kV2Leave);
  EXPECT_EQ(msgs[0].dst, Ip4Address(224, 0, 0, 2));
  EXPECT_EQ(msgs[0].group, kGroup);
  // §8.12: 2 * 125 s + 10 s without an IGMPv2 query: IGMPv3 again.
  Run(260s);
  EXPECT_EQ(Version(), 3);
}

TEST_F(IgmpTest, V2ReportOfAnotherMemberSuppressesOursAndItsLeave) {
  Listen(&kA, kGroup, McFilterMode::kExclude);
  Run(5s);
  Inject(OldQuery(Ip4Address(), 100));  // 10 s to answer
  Inject(OtherV2Report(kGroup));
  EXPECT_TRUE(Igmp(Run(11s)).empty());
  // Not the last reporter: no Leave (RFC 2236 §3).
  Listen(&kA, kGroup, McFilterMode::kInclude);
  EXPECT_TRUE(Igmp(Run(15s)).empty());
}

TEST_F(IgmpTest, V1QuerierMeansV1ReportsAndNoLeave) {
  Listen(&kA, kGroup, McFilterMode::kExclude);
  Run(5s);
  Inject(OldQuery(Ip4Address(), 0));
  EXPECT_EQ(Version(), 1);
  auto msgs = Igmp(Run(10s));  // IGMPv1: up to 10 s
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, IgmpType::kV1Report);
  EXPECT_EQ(msgs[0].dst, kGroup);
  Listen(&kA, kGroup, McFilterMode::kInclude);
  EXPECT_TRUE(Igmp(Run(15s)).empty());
  // A v2 query while the v1 timer runs keeps IGMPv1 (§7.2.1: the oldest version wins).
  Inject(OldQuery(Ip4Address(), 10));
  EXPECT_EQ(Version(), 1);
}

TEST_F(IgmpTest, MalformedMessagesAreCountedAndIgnored) {
  Listen(&kA, kGroup, McFilterMode::kExclude);
  Run(5s);
  auto frame = V3Query(Ip4Address(), 10);
  frame[kEthernetHeaderSize + 24 + 4] ^= 0x01;  // the checksum no longer verifies
  Inject(frame);
  // A 10-byte query (§7.1: ignored).
  std::vector<uint8_t> ten(10);
  ten[0] = 0x11;
  ten[1] = 10;
  StoreBe16(ten.data() + 2, InternetChecksum(ten));
  Inject(Frame(kPeerIp, Ip4Address(224, 0, 0, 1), IpProto::kIgmp, ten, true));
  EXPECT_TRUE(Reports(Run(2s)).empty());
  auto c = stack_->CounterSnapshot();
  EXPECT_EQ(c["igmp.rx_drop_malformed"], 1u);
  EXPECT_EQ(c["igmp.rx_drop_invalid"], 1u);
}

TEST(IgmpWire, MaxRespCodeRoundTrips) {
  // RFC 3376 §4.1.1: below 128 the value itself, above it (mant | 0x10) << (exp + 3).
  EXPECT_EQ(IgmpDecodeMaxRespCode(100), 100u);
  EXPECT_EQ(IgmpDecodeMaxRespCode(0x80), 128u);
  EXPECT_EQ(IgmpDecodeMaxRespCode(0xff), 31744u);
  for (uint32_t t : {0u, 1u, 127u, 128u, 200u, 992u, 31744u}) {
    EXPECT_EQ(IgmpDecodeMaxRespCode(IgmpEncodeMaxRespCode(t)), t) << t;
  }
  // Values between representable ones round down (a shorter wait, never a longer one).
  EXPECT_EQ(IgmpDecodeMaxRespCode(IgmpEncodeMaxRespCode(1000)), 992u);
}

TEST(IgmpWire, ReportRoundTripsAndCountsAreChecked) {
  const std::vector<Ip4Address> sources{kS1, kS2};
  const std::vector<IgmpRecord> records{{IgmpRecordType::kAllowNewSources, kGroup, sources},
                                        {IgmpRecordType::kChangeToExclude, kGroup2, {}}};
  IgmpV3ReportMessage m{records};
  std::vector<uint8_t> bytes(m.size());
  m.Emit(bytes);
  EXPECT_EQ(bytes.size(), 8u + 16u + 8u);
  auto v = IgmpView::Parse(bytes);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->record_count(), 2);
  size_t off = kIgmpV3ReportMinSize;
  auto r = v->RecordAt(&off);
  EXPECT_EQ(r.type, IgmpRecordType::kAllowNewSources);
  EXPECT_EQ(r.group, kGroup);
  ASSERT_EQ(r.source_count(), 2u);
  EXPECT_EQ(r.source(1), kS2);
  // One more record claimed than present: an integrity error, never a read past the end.
  StoreBe16(bytes.data() + 6, 3);
  StoreBe16(bytes.data() + 2, 0);
  StoreBe16(bytes.data() + 2, InternetChecksum(bytes));
  auto bad = IgmpView::Parse(bytes);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), IgmpParseError::kRecordsOverrun);
}

}  // namespace
}  // namespace pytcp::testing
