#include "stack/mld/mld_engine.h"


#include <algorithm>

#include "stack/base/log.h"
#include "stack/ip6/ip6_message_send.h"

namespace pytcp {
namespace {
LogChannel log_mld("mld");
// RFC 3810 §5.2.14: reports go to all MLDv2-capable routers.
constexpr Ip6Address kAllMldv2Routers = Ip6Address::FromGroups({0xff02, 0, 0, 0, 0, 0, 0, 0x16});
// RFC 2710 §3: MLDv1 Done messages go to the link-scope all-routers group.
constexpr Ip6Address kAllRouters = Ip6Address::FromGroups({0xff02, 0, 0, 0, 0, 0, 0, 0x2});

// Sends an MLD message (MldV1Message or MldV2ReportMessage) to `dst` as RFC 2710 §3 and
// RFC 3810 §5 want every MLD message sent: from a link-local address, or :: while none is
// usable yet (RFC 3590 §4, RFC 3810 §5.2.13: DAD), hop limit 1, Router Alert. True when
// the IP layer took it.
template <typename Message>
bool SendMldMessage(Ip6Engine* ip6, const Message& m, const Ip6Address& dst, Instant now) {
  Ip6SendParams p;
  p.src = ip6->addresses().LinkLocal();
  p.dst = dst;
  p.hop_limit = 1;
  p.router_alert = true;
  p.allow_unspecified_source = true;
  return SendIcmp6Message(*ip6, m, p, now);
}
}  // namespace

MldEngine::MldEngine(Ip6Engine* ip6, Random* random, MldConfig config)
    : ip6_(ip6), random_(random), config_(config) {}

bool MldEngine::Reportable(const Ip6Address& group) {
  // RFC 3810 §6: never the link-scope all-nodes address; nothing of scope 0 or 1.
  if (group == Ip6Address::AllNodesMulticast()) return false;
  return static_cast<int>(group.multicast_scope()) >= 2;
}

Instant MldEngine::RandomDelay(Instant now, Duration max) {
  return now + Duration(random_->Below(static_cast<uint64_t>(std::max<int64_t>(max.count(), 0)) + 1));
}

void MldEngine::OnGroupChange(const Ip6Address& group, bool joined, Instant now) {
  if (!Reportable(group)) return;
  PYTCP_LOG(log_mld, kDebug, "{} {}", joined ? "join" : "leave", group);
  if (v1_mode()) {
    // RFC 2710 §4: a join is reported at once and repeated; a leave sends one Done, and
    // only from the host whose report was the last one heard for the group.
    std::erase_if(changes_, [&](const Change& c) { return c.group == group; });
    std::erase_if(group_timers_, [&](const GroupTimer& t) { return t.group == group; });
    if (joined) {
      changes_.push_back(Change{group, MldRecordType::kChangeToExclude, config_.robustness, now});
    } else if (IsLastReporter(group)) {
      changes_.push_back(Change{group, MldRecordType::kChangeToInclude, 1, now});
    }
    return;
  }
  // RFC 3810 §6.1: a state change is reported at once and repeated [Robustness Variable]
  // times in all; a newer change of the same group replaces a pending one.
  std::erase_if(changes_, [&](const Change& c) { return c.group == group; });
  if (!joined) std::erase_if(group_timers_, [&](const GroupTimer& t) { return t.group == group; });
  changes_.push_back(Change{group,
                            joined ? MldRecordType::kChangeToExclude : MldRecordType::kChangeToInclude,
                            config_.robustness, now});
}

void MldEngine::Receive(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now) {
  if (icmp.type() == Icmp6Type::kMldV1Report) {
    // RFC 2710 §4: another listener's report for a group whose report is pending cancels
    // ours (report suppression), and that listener is now the one to send Done. MLDv2
    // has no suppression (RFC 3810 §6): other hosts' reports matter only in MLDv1 mode.
    if (!v1_mode()) return;
    auto r = MldV1View::From(icmp);
    if (!r) return;
    std::erase_if(group_timers_, [&](const GroupTimer& t) { return t.group == r->multicast_address(); });
    SetLastReporter(r->multicast_address(), false);
    return;
  }
  if (icmp.type() != Icmp6Type::kMldQuery) return;  // MLDv2 reports of others, Done
  auto q = MldQueryView::From(icmp);
  if (!q) return;
  counters_.Inc(MldCounter::kRxQueries);
  // RFC 3810 §6.2: a query from a non-link-local source, with a hop limit other than 1 or
  // without Router Alert is dropped.
  if (!info.src.is_link_local() || info.hop_limit != 1 || !info.router_alert) {
    counters_.Inc(MldCounter::kRxDropInvalid);
    return;
  }
  if (!q->is_v2()) {
    // RFC 3810 §8.1: a 24-byte query comes from an MLDv1 querier; §8.2.1: the host
    // switches to MLDv1 compatibility mode (cancelling what MLDv2 had pending) and
    // (re)starts the Older Version Querier Present timer.
    counters_.Inc(MldCounter::kRxV1Queries);
    if (!v1_mode()) {
      PYTCP_LOG(log_mld, kInfo, "MLDv1 querier {} heard: MLDv1 compatibility mode", info.src);
      CancelPending();
    }
    v1_until_ = now + config_.OlderVersionQuerierPresentTimeout();
  }
  if (v1_mode()) {
    // §8.2.1: in MLDv1 compatibility mode the host speaks MLDv1 only, so an MLDv2 query is
    // answered as an MLDv1 host would (its extra fields ignored).
    ReceiveV1Query(*q, now);
    return;
  }
  const Duration max_delay = std::chrono::milliseconds(q->max_response_delay_ms());
  const Instant at = RandomDelay(now, max_delay);
  if (q->is_general()) {
    // RFC 3810 §6.2 rule 1: one pending general response, the earlier time wins.
    general_at_ = std::min(general_at_, at);
    return;
  }
  const Ip6Address group = q->multicast_address();
  if (!ip6_->IsMemberOf(group) || !Reportable(group)) return;
  // Rule 2: a pending general response that comes first covers it.
  if (general_at_ <= at) return;
  auto it = std::find_if(group_timers_.begin(), group_timers_.end(),
                         [&](const GroupTimer& t) { return t.group == group; });
  std::vector<Ip6Address> sources;
  for (size_t i = 0; i < q->source_count(); ++i) sources.push_back(q->source(i));
  if (it == group_timers_.end()) {
    group_timers_.push_back(GroupTimer{group, std::move(sources), at});
    return;
  }
  // Rules 3-5: an earlier time wins; a group-specific query clears the source list, a
  // source-specific one adds to it.
  it->at = std::min(it->at, at);
  if (sources.empty()) {
    it->sources.clear();
  } else if (!it->sources.empty()) {
    for (const auto& s : sources) {
      if (std::find(it->sources.begin(), it->sources.end(), s) == it->sources.end()) {
        it->sources.push_back(s);
      }
    }
  }
}

void MldEngine::SendReport(std::span<const MldRecord> records, Instant now) {
  if (records.empty()) return;
  MldV2ReportMessage m;
  m.records = records;
  if (SendMldMessage(ip6_, m, kAllMldv2Routers, now)) counters_.Inc(MldCounter::kTxReports);
}

void MldEngine::CancelPending() {
  changes_.clear();
  group_timers_.clear();
  general_at_ = Instant::Infinite();
}

bool MldEngine::IsLastReporter(const Ip6Address& group) const {
  return std::find(last_reporter_.begin(), last_reporter_.end(), group) != last_reporter_.end();
}

void MldEngine::SetLastReporter(const Ip6Address& group, bool last) {
  std::erase(last_reporter_, group);
  if (last) last_reporter_.push_back(group);
}

void MldEngine::ArmV1Timer(const Ip6Address& group, Duration max_delay, Instant now) {
  auto it = std::find_if(group_timers_.begin(), group_timers_.end(),
                         [&](const GroupTimer& t) { return t.group == group; });
  if (it == group_timers_.end()) {
    group_timers_.push_back(GroupTimer{group, {}, RandomDelay(now, max_delay)});
    return;
  }
  // RFC 2710 §4: a running timer is reset to a new random value only if the requested
  // Maximum Response Delay is less than its remaining value.
  if (now + max_delay < it->at) it->at = RandomDelay(now, max_delay);
}

void MldEngine::ReceiveV1Query(const MldQueryView& q, Instant now) {
  const Duration max_delay = std::chrono::milliseconds(q.max_response_delay_ms());
  if (q.is_general()) {
    for (const auto& g : ip6_->groups()) {
      if (Reportable(g)) ArmV1Timer(g, max_delay, now);
    }
    return;
  }
  const Ip6Address group = q.multicast_address();
  if (ip6_->IsMemberOf(group) && Reportable(group)) ArmV1Timer(group, max_delay, now);
}

void MldEngine::SendV1(const Ip6Address& group, bool done, Instant now) {
  MldV1Message m;
  m.done = done;
  m.multicast_address = group;
  // RFC 2710 §3: a Report goes to the group it reports, Done to all routers.
  if (SendMldMessage(ip6_, m, done ? kAllRouters : group, now)) {
    counters_.Inc(done ? MldCounter::kTxV1Dones : MldCounter::kTxV1Reports);
  }
}

void MldEngine::PollV1(Instant now) {
  for (auto& c : changes_) {
    if (c.next > now || c.left <= 0) continue;
    const bool done = c.type == MldRecordType::kChangeToInclude;
    SendV1(c.group, done, now);
    SetLastReporter(c.group, !done);
    --c.left;
    c.next = RandomDelay(now, config_.unsolicited_report_interval);
  }
  std::erase_if(changes_, [](const Change& c) { return c.left <= 0; });
  for (size_t i = 0; i < group_timers_.size();) {
    if (group_timers_[i].at > now) {
      ++i;
      continue;
    }
    const Ip6Address group = group_timers_[i].group;
    group_timers_.erase(group_timers_.begin() + static_cast<long>(i));
    if (!ip6_->IsMemberOf(group)) continue;
    SendV1(group, false, now);
    SetLastReporter(group, true);
  }
}

void MldEngine::Poll(Instant now) {
  if (v1_until_ <= now) {
    // RFC 3810 §8.2.1: no MLDv1 querier heard for the timeout: back to MLDv2, cancelling
    // MLDv1's pending reports.
    PYTCP_LOG(log_mld, kInfo, "no MLDv1 querier any more: MLDv2");
    v1_until_ = Instant::Infinite();
    CancelPending();
    last_reporter_.clear();
  }
  if (v1_mode()) {
    PollV1(now);
    return;
  }
  // State-change reports due now, in one message.
  std::vector<MldRecord> records;
  for (auto& c : changes_) {
    if (c.next > now || c.left <= 0) continue;
    records.push_back(MldRecord{c.type, c.group, {}});
    --c.left;
    c.next = RandomDelay(now, config_.unsolicited_report_interval);
  }
  std::erase_if(changes_, [](const Change& c) { return c.left <= 0; });
  SendReport(records, now);
  // RFC 3810 §6.3: the current state of every group for a general query.
  if (general_at_ <= now) {
    general_at_ = Instant::Infinite();
    records.clear();
    const auto groups = ip6_->groups();
    for (const auto& g : groups) {
      if (Reportable(g)) records.push_back(MldRecord{MldRecordType::kModeIsExclude, g, {}});
    }
    SendReport(records, now);
  }
  // Group-specific: IS_EX({}); group-and-source-specific in EXCLUDE({}) mode: IS_IN(every
  // queried source) (RFC 3810 §6.3, the table for EXCLUDE mode).
  for (size_t i = 0; i < group_timers_.size();) {
    if (group_timers_[i].at > now) {
      ++i;
      continue;
    }
    const GroupTimer t = group_timers_[i];
    group_timers_.erase(group_timers_.begin() + static_cast<long>(i));
    if (!ip6_->IsMemberOf(t.group)) continue;
    const MldRecord r{t.sources.empty() ? MldRecordType::kModeIsExclude : MldRecordType::kModeIsInclude,
                      t.group, std::span<const Ip6Address>(t.sources)};
    SendReport(std::span<const MldRecord>(&r, 1), now);
  }
}

Instant MldEngine::NextDeadline() const {
  Instant next = EarliestOf(general_at_, v1_until_);
  for (const auto& c : changes_) next = EarliestOf(next, c.next);
  for (const auto& t : group_timers_) next = EarliestOf(next, t.at);
  return next;
}

}  // namespace pytcp
