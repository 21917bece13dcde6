#include "stack/igmp/igmp_engine.h"

#include <algorithm>

#include "stack/base/log.h"

namespace pytcp {
namespace {
LogChannel log_igmp("igmp");
constexpr Ip4Address kAllSystems(224, 0, 0, 1);
// RFC 3376 §4.2.14: IGMPv3 reports go to all IGMPv3-capable multicast routers.
constexpr Ip4Address kAllIgmpv3Routers(224, 0, 0, 22);
// RFC 2236 §3: Leave Group messages go to the all-routers group.
constexpr Ip4Address kAllRouters(224, 0, 0, 2);
// RFC 3376 §4: "IP Precedence of Internetwork Control (e.g., Type of Service 0xc0)".
constexpr uint8_t kInternetworkControl = 0xc0;

void SortUnique(std::vector<Ip4Address>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}
bool Contains(const std::vector<Ip4Address>& sorted, Ip4Address a) {
  return std::binary_search(sorted.begin(), sorted.end(), a);
}
// a - b, both sorted.
std::vector<Ip4Address> Minus(const std::vector<Ip4Address>& a, const std::vector<Ip4Address>& b) {
  std::vector<Ip4Address> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}
std::vector<Ip4Address> Intersect(const std::vector<Ip4Address>& a, const std::vector<Ip4Address>& b) {
  std::vector<Ip4Address> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}
}  // namespace

IgmpEngine::IgmpEngine(Ip4Engine* ip4, Random* random, IgmpConfig config)
    : ip4_(ip4), random_(random), config_(config) {
  ip4_->RegisterTransport(IpProto::kIgmp, this);
}

bool IgmpEngine::Reportable(Ip4Address group) { return group.is_multicast() && group != kAllSystems; }

int IgmpEngine::compat_version() const {
  if (v1_until_ != Instant::Infinite()) return 1;
  if (v2_until_ != Instant::Infinite()) return 2;
  return 3;
}

IgmpEngine::Group* IgmpEngine::FindGroup(Ip4Address group) {
  auto it = std::find_if(groups_.begin(), groups_.end(), [&](const Group& g) { return g.group == group; });
  return it == groups_.end() ? nullptr : &*it;
}
const IgmpEngine::Group* IgmpEngine::FindGroup(Ip4Address group) const {
  auto it = std::find_if(groups_.begin(), groups_.end(), [&](const Group& g) { return g.group == group; });
  return it == groups_.end() ? nullptr : &*it;
}

const IgmpEngine::InterfaceState* IgmpEngine::State(Ip4Address group) const {
  const Group* g = FindGroup(group);
  return g != nullptr && g->present() ? &g->state : nullptr;
}

std::vector<Ip4Address> IgmpEngine::Groups() const {
  std::vector<Ip4Address> out;
  for (const Group& g : groups_) {
    if (g.present()) out.push_back(g.group);
  }
  return out;
}

bool IgmpEngine::Allows(Ip4Address group, Ip4Address source) const {
  const InterfaceState* s = State(group);
  if (s == nullptr) return false;
  const bool listed = Contains(s->sources, source);
  return s->mode == McFilterMode::kInclude ? listed : !listed;
}

IgmpEngine::InterfaceState IgmpEngine::Merge(const std::vector<SocketRecord>& sockets) {
  // RFC 3376 §3.2: EXCLUDE if any socket excludes, with the intersection of the exclude
  // lists minus every include list; otherwise INCLUDE with the union of the include lists.
  InterfaceState s{McFilterMode::kInclude, {}};
  bool any_exclude = false;
  std::vector<Ip4Address> included;
  for (const auto& r : sockets) {
    if (r.mode == McFilterMode::kInclude) {
      included.insert(included.end(), r.sources.begin(), r.sources.end());
      continue;
    }
    if (!any_exclude) {
      s.sources = r.sources;
      any_exclude = true;
    } else {
      s.sources = Intersect(s.sources, r.sources);
    }
  }
  SortUnique(&included);
  if (any_exclude) {
    s.mode = McFilterMode::kExclude;
    s.sources = Minus(s.sources, included);
  } else {
    s.sources = std::move(included);
  }
  return s;
}

void IgmpEngine::Listen(const void* socket, Ip4Address group, McFilterMode mode,
                        std::span<const Ip4Address> sources, Instant now) {
  if (!group.is_multicast()) return;
  Group* g = FindGroup(group);
  if (g == nullptr) {
    if (mode == McFilterMode::kInclude && sources.empty()) return;
    groups_.push_back(Group{});
    g = &groups_.back();
    g->group = group;
  }
  std::erase_if(g->sockets, [&](const SocketRecord& r) { return r.socket == socket; });
  if (mode == McFilterMode::kExclude || !sources.empty()) {
    SocketRecord r{socket, mode, std::vector<Ip4Address>(sources.begin(), sources.end())};
    SortUnique(&r.sources);
    g->sockets.push_back(std::move(r));
  }
  const InterfaceState old = g->state;
  g->state = Merge(g->sockets);
  if (g->state.mode != old.mode || g->state.sources != old.sources) OnStateChange(*g, old, now);
  // The IPv4 engine's membership follows the interface state (§3.2: INCLUDE({}) is no
  // reception at all).
  if (g->present() && !g->joined) {
    ip4_->JoinGroup(group);
    g->joined = true;
  } else if (!g->present() && g->joined) {
    ip4_->LeaveGroup(group);
    g->joined = false;
  }
  Collect();
}

Instant IgmpEngine::RandomDelay(Instant now, Duration max) {
  return now + Duration(random_->Below(static_cast<uint64_t>(std::max<int64_t>(max.count(), 0)) + 1));
}

void IgmpEngine::OnStateChange(Group& g, const InterfaceState& old, Instant now) {
  if (!Reportable(g.group)) return;
  const bool was = old.mode == McFilterMode::kExclude || !old.sources.empty();
  PYTCP_LOG(log_igmp, kDebug, "{} now {} with {} sources", g.group,
            g.state.mode == McFilterMode::kExclude ? "EXCLUDE" : "INCLUDE", g.state.sources.size());
  if (compat_version() < 3) {
    // §7.2.1: IGMPv1/v2 know no sources: only joining and leaving the group are reported.
    // RFC 2236 §3: a join is reported at once and repeated; a leave sends one Leave (v2
    // only) if this host sent the last report.
    if (was == g.present()) return;
    g.query_at = Instant::Infinite();
    if (g.present()) {
      g.mode_change_left = config_.robustness;
    } else {
      g.mode_change_left = compat_version() == 2 && g.last_reporter ? 1 : 0;
    }
    if (g.mode_change_left > 0) {
      report_at_ = now;
      reports_left_ = std::max(reports_left_, g.mode_change_left);
    }
    return;
  }
  // §5.1: the difference between the old and the new state, merged into what is pending.
  if (g.state.mode != old.mode) {
    // A filter-mode change is reported (TO_IN/TO_EX with the current sources, which say
    // everything the source records would) in the next [Robustness Variable] reports.
    g.mode_change_left = config_.robustness;
    g.source_retx.clear();
  } else {
    const bool include = g.state.mode == McFilterMode::kInclude;
    // INCLUDE(A) -> INCLUDE(B): ALLOW(B-A), BLOCK(A-B); EXCLUDE(A) -> EXCLUDE(B):
    // ALLOW(A-B), BLOCK(B-A).
    const auto added = Minus(g.state.sources, old.sources);
    const auto removed = Minus(old.sources, g.state.sources);
    auto note = [&](const std::vector<Ip4Address>& list, bool allow) {
      for (Ip4Address s : list) {
        // A source moved to the other list stops being retransmitted in the first.
        std::erase_if(g.source_retx, [&](const SourceRetransmit& r) { return r.source == s; });
        g.source_retx.push_back(SourceRetransmit{s, allow, config_.robustness});
      }
    };
    note(added, include);
    note(removed, !include);
  }
  // "Each such additional change triggers the immediate transmission of a new State-Change
  // Report", which becomes the first of [Robustness Variable] transmissions.
  report_at_ = now;
  reports_left_ = config_.robustness;
}

void IgmpEngine::Receive(const Ip4PacketInfo& info, ByteSpan payload, Instant now) {
  auto parsed = IgmpView::Parse(payload);
  if (!parsed.ok()) {
    counters_.IncUnparsed(parsed.error());
    PYTCP_LOG(log_igmp, kDebug, "drop from {}: {}", info.src, ToString(parsed.error()));
    return;
  }
  const IgmpView& m = *parsed;
  switch (m.type()) {
    case IgmpType::kQuery:
      // §9.1 lets hosts ignore queries without Router Alert; Linux (igmp_heard_query)
      // takes them, and so do we: a querier that omits it is still the link's querier.
      counters_.Inc(IgmpCounter::kRxQueries);
      ReceiveQuery(m, now);
      return;
    case IgmpType::kV1Report:
    case IgmpType::kV2Report: {
      // RFC 2236 §3: another member's report for a group whose report is pending cancels
      // ours, and that member is now the one to send Leave. IGMPv3 has no suppression
      // (§5.2), so other reports matter only in IGMPv1/v2 mode.
      counters_.Inc(IgmpCounter::kRxReports);
      if (compat_version() == 3) return;
      if (Group* g = FindGroup(m.group())) {
        g->query_at = Instant::Infinite();
        g->last_reporter = false;
      }
      return;
    }
    default:
      return;  // IGMPv3 reports of other hosts, leaves, unknown types (§4)
  }
}

void IgmpEngine::CancelPending() {
  // §7.2.1: switching compatibility modes cancels every pending response and
  // retransmission (they were in the other version's terms).
  report_at_ = Instant::Infinite();
  reports_left_ = 0;
  general_at_ = Instant::Infinite();
  for (Group& g : groups_) {
    g.mode_change_left = 0;
    g.source_retx.clear();
    g.query_at = Instant::Infinite();
    g.query_sources.clear();
    g.last_reporter = false;
  }
  Collect();
}

void IgmpEngine::ReceiveQuery(const IgmpView& q, Instant now) {
  // §7.1: an 8-byte query with Max Resp Code 0 is IGMPv1's, otherwise IGMPv2's; 12 bytes
  // or more is IGMPv3 (the parser drops 9 to 11). §7.2.1: an older query (re)starts its
  // Querier Present timer and puts the host in that compatibility mode at once.
  if (q.is_v1_query() || q.is_v2_query()) {
    const int before = compat_version();
    if (q.is_v1_query()) {
      counters_.Inc(IgmpCounter::kRxV1Queries);
      v1_until_ = now + config_.OlderVersionQuerierPresentTimeout();
    } else {
      counters_.Inc(IgmpCounter::kRxV2Queries);
      v2_until_ = now + config_.OlderVersionQuerierPresentTimeout();
    }
    if (compat_version() != before) {
      PYTCP_LOG(log_igmp, kInfo, "IGMPv{} querier heard: IGMPv{} compatibility mode",
                compat_version(), compat_version());
      CancelPending();
    }
  }
  if (compat_version() < 3) {
    ReceiveOldQuery(q, now);
    return;
  }
  // §4.1.6-§4.1.7, §8.1-§8.2: the querier's Robustness Variable and Query Interval are
  // adopted (0 means "not given"), as Linux's mr_qrv and mr_qi.
  if (q.qrv() != 0) config_.robustness = q.qrv();
  if (q.qqic() != 0) config_.query_interval = std::chrono::seconds(IgmpDecodeQqic(q.qqic()));
  const Duration max_delay = std::chrono::milliseconds(100 * int64_t{q.max_resp_tenths()});
  const Instant at = RandomDelay(now, max_delay);
  // §5.2 rule 1: a pending answer to a General Query that comes sooner covers this one.
  if (general_at_ <= at) return;
  const Ip4Address group = q.group();
  if (group.is_unspecified()) {
    // Rule 2: a General Query is answered by the interface timer (the earlier time wins,
    // so rule 1 holds for the pending one too).
    general_at_ = at;
    return;
  }
  Group* g = FindGroup(group);
  if (g == nullptr || !g->present() || !Reportable(group)) return;
  std::vector<Ip4Address> sources;
  for (size_t i = 0; i < q.source_count(); ++i) sources.push_back(q.source(i));
  SortUnique(&sources);
  if (g->query_at == Instant::Infinite()) {
    // Rule 3: a first pending answer for the group, with the query's source list.
    g->query_at = at;
    g->query_sources = std::move(sources);
    return;
  }
  // Rules 4 and 5: the earlier time; a group-specific query (or one pending) clears the
  // source list, two source-specific ones add up.
  g->query_at = std::min(g->query_at, at);
  if (sources.empty() || g->query_sources.empty()) {
    g->query_sources.clear();
  } else {
    g->query_sources.insert(g->query_sources.end(), sources.begin(), sources.end());
    SortUnique(&g->query_sources);
  }
}

void IgmpEngine::ReceiveOldQuery(const IgmpView& q, Instant now) {
  // RFC 2236 §3: a report timer per group, started at a random value up to the Max Resp
  // Time, reset only if the new maximum is below what remains.
  const Duration max_delay = std::chrono::milliseconds(100 * int64_t{q.max_resp_tenths()});
  for (Group& g : groups_) {
    if (!g.present() || !Reportable(g.group)) continue;
    if (!q.group().is_unspecified() && q.group() != g.group) continue;
    if (g.query_at == Instant::Infinite() || now + max_delay < g.query_at) {
      g.query_at = RandomDelay(now, max_delay);
    }
  }
}

void IgmpEngine::SendRecords(std::span<const IgmpRecord> records, Instant now) {
  // One message as large as the MTU allows (RFC 3376 §4.2.16: records that do not fit
  // go in further messages); the IPv4 header takes 24 bytes with Router Alert.
  const size_t room = ip4_->mtu() > 24 ? ip4_->mtu() - 24 : 576 - 24;
  size_t first = 0;
  while (first < records.size()) {
    size_t size = kIgmpV3ReportMinSize;
    size_t last = first;
    while (last < records.size() && (last == first || size + records[last].size() <= room)) {
      size += records[last].size();
      ++last;
    }
    IgmpV3ReportMessage m{records.subspan(first, last - first)};
    PacketBuffer buf(m.size() + 64, 64);
    m.Emit(buf.Append(m.size()));
    Ip4SendParams p;
    p.dst = kAllIgmpv3Routers;
    p.protocol = IpProto::kIgmp;
    p.ttl = 1;
    p.tos = kInternetworkControl;
    p.dont_fragment = true;  // as Linux sends them, with identification 0
    p.zero_id = true;
    p.router_alert = true;
    if (ip4_->Send(p, buf, now).ok()) counters_.Inc(IgmpCounter::kTxReports);
    first = last;
  }
}

void IgmpEngine::SendOld(IgmpType type, Ip4Address group, Instant now) {
  // RFC 2236 §2-§3 and RFC 1112: a report goes to the group it reports, a Leave to
  // 224.0.0.2; TTL 1, and Router Alert on IGMPv2 messages (RFC 2236 §2).
  IgmpV2Message m{type, 0, group};
  PacketBuffer buf(m.size() + 64, 64);
  m.Emit(buf.Append(m.size()));
  Ip4SendParams p;
  p.dst = type == IgmpType::kV2Leave ? kAllRouters : group;
  p.protocol = IpProto::kIgmp;
  p.ttl = 1;
  p.tos = kInternetworkControl;
  p.dont_fragment = true;
  p.zero_id = true;
  p.router_alert = type != IgmpType::kV1Report;
  if (!ip4_->Send(p, buf, now).ok()) return;
  counters_.Inc(type == IgmpType::kV1Report   ? IgmpCounter::kTxV1Reports
                : type == IgmpType::kV2Report ? IgmpCounter::kTxV2Reports
                                              : IgmpCounter::kTxV2Leaves);
}

void IgmpEngine::SendStateChange(Instant now) {
  // §5.1: one report with, per group, the sources still to be retransmitted (ALLOW and
  // BLOCK records) and a pending filter-mode change (TO_IN/TO_EX with the current
  // sources). The records point into these vectors until the report is sent.
  std::vector<std::vector<Ip4Address>> lists;
  lists.reserve(2 * groups_.size());
  std::vector<IgmpRecord> records;
  for (Group& g : groups_) {
    for (bool allow : {true, false}) {
      std::vector<Ip4Address> list;
      for (auto& r : g.source_retx) {
        if (r.allow == allow && r.left > 0) {
          list.push_back(r.source);
          --r.left;
        }
      }
      if (list.empty()) continue;
      lists.push_back(std::move(list));
      records.push_back(IgmpRecord{allow ? IgmpRecordType::kAllowNewSources
                                         : IgmpRecordType::kBlockOldSources,
                                   g.group, lists.back()});
    }
    std::erase_if(g.source_retx, [](const SourceRetransmit& r) { return r.left <= 0; });
    if (g.mode_change_left > 0) {
      --g.mode_change_left;
      records.push_back(IgmpRecord{g.state.mode == McFilterMode::kExclude
                                       ? IgmpRecordType::kChangeToExclude
                                       : IgmpRecordType::kChangeToInclude,
                                   g.group, g.state.sources});
    }
  }
  SendRecords(records, now);
}

void IgmpEngine::SendOldReports(Instant now) {
  const IgmpType report = compat_version() == 1 ? IgmpType::kV1Report : IgmpType::kV2Report;
  for (Group& g : groups_) {
    if (g.mode_change_left <= 0) continue;
    --g.mode_change_left;
    if (g.present()) {
      SendOld(report, g.group, now);
      g.last_reporter = true;
    } else {
      SendOld(IgmpType::kV2Leave, g.group, now);
      g.last_reporter = false;
    }
  }
}

void IgmpEngine::SendQueryAnswers(Instant now) {
  std::vector<IgmpRecord> records;
  if (general_at_ <= now) {
    // §5.2: the current state of every reportable group, IS_IN or IS_EX.
    general_at_ = Instant::Infinite();
    for (const Group& g : groups_) {
      if (!g.present() || !Reportable(g.group)) continue;
      records.push_back(IgmpRecord{g.state.mode == McFilterMode::kExclude
                                       ? IgmpRecordType::kModeIsExclude
                                       : IgmpRecordType::kModeIsInclude,
                                   g.group, g.state.sources});
    }
    SendRecords(records, now);
    records.clear();
  }
  std::vector<std::vector<Ip4Address>> lists;
  lists.reserve(groups_.size());
  for (Group& g : groups_) {
    if (g.query_at > now) continue;
    g.query_at = Instant::Infinite();
    if (!g.present()) continue;
    if (compat_version() < 3) {
      SendOld(compat_version() == 1 ? IgmpType::kV1Report : IgmpType::kV2Report, g.group, now);
      g.last_reporter = true;
      continue;
    }
    if (g.query_sources.empty()) {
      records.push_back(IgmpRecord{g.state.mode == McFilterMode::kExclude
                                       ? IgmpRecordType::kModeIsExclude
                                       : IgmpRecordType::kModeIsInclude,
                                   g.group, g.state.sources});
      continue;
    }
    // §5.2, group-and-source-specific: INCLUDE(A) answers IS_IN(A*B), EXCLUDE(A)
    // IS_IN(B-A); nothing when that is empty.
    auto list = g.state.mode == McFilterMode::kInclude ? Intersect(g.state.sources, g.query_sources)
                                                       : Minus(g.query_sources, g.state.sources);
    g.query_sources.clear();
    if (list.empty()) continue;
    lists.push_back(std::move(list));
    records.push_back(IgmpRecord{IgmpRecordType::kModeIsInclude, g.group, lists.back()});
  }
  SendRecords(records, now);
}

void IgmpEngine::Collect() {
  // A group nobody listens to stays only while its leave is still being reported.
  std::erase_if(groups_, [](const Group& g) {
    return g.sockets.empty() && !g.joined && g.mode_change_left <= 0 && g.source_retx.empty() &&
           g.query_at == Instant::Infinite();
  });
}

void IgmpEngine::Poll(Instant now) {
  const int before = compat_version();
  // §7.2.1: when the Querier Present timers run out, the host returns to the newer mode.
  if (v1_until_ <= now) v1_until_ = Instant::Infinite();
  if (v2_until_ <= now) v2_until_ = Instant::Infinite();
  if (compat_version() != before) {
    PYTCP_LOG(log_igmp, kInfo, "no older querier any more: IGMPv{}", compat_version());
    CancelPending();
  }
  if (report_at_ <= now) {
    if (compat_version() == 3) {
      SendStateChange(now);
    } else {
      SendOldReports(now);
    }
    --reports_left_;
    // §5.1: the retransmissions at random intervals in (0, Unsolicited Report Interval).
    const Duration interval = compat_version() == 3 ? config_.unsolicited_report_interval
                                                    : config_.v2_unsolicited_report_interval;
    report_at_ = reports_left_ > 0 ? RandomDelay(now, interval) : Instant::Infinite();
    if (reports_left_ <= 0) reports_left_ = 0;
  }
  SendQueryAnswers(now);
  Collect();
}

Instant IgmpEngine::NextDeadline() const {
  Instant next = EarliestOf(EarliestOf(report_at_, general_at_), EarliestOf(v1_until_, v2_until_));
  for (const Group& g : groups_) next = EarliestOf(next, g.query_at);
  return next;
}

}  // namespace pytcp
