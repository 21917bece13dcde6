#include "stack/mld/mld_engine.h"

#include <algorithm>

#include "stack/base/log.h"

namespace pytcp {
namespace {
LogChannel log_mld("mld");
// RFC 3810 §5.2.14: reports go to all MLDv2-capable routers.
constexpr Ip6Address kAllMldv2Routers = Ip6Address::FromGroups({0xff02, 0, 0, 0, 0, 0, 0, 0x16});
}  // namespace

std::string_view CounterName(MldCounter c) {
  switch (c) {
    case MldCounter::kRxQueries: return "rx_queries";
    case MldCounter::kRxDropInvalid: return "rx_drop_invalid";
    case MldCounter::kTxReports: return "tx_reports";
    case MldCounter::kCount: break;
  }
  return "?";
}

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
  // RFC 3810 §6.1: a state change is reported at once and repeated [Robustness Variable]
  // times in all; a newer change of the same group replaces a pending one.
  std::erase_if(changes_, [&](const Change& c) { return c.group == group; });
  if (!joined) std::erase_if(group_timers_, [&](const GroupTimer& t) { return t.group == group; });
  changes_.push_back(Change{group,
                            joined ? MldRecordType::kChangeToExclude : MldRecordType::kChangeToInclude,
                            config_.robustness, now});
}

void MldEngine::Receive(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now) {
  if (icmp.type() != Icmp6Type::kMldQuery) return;  // reports of other hosts: nothing to do
  auto q = MldQueryView::From(icmp);
  if (!q) return;
  counters_.Inc(MldCounter::kRxQueries);
  // RFC 3810 §6.2: a query from a non-link-local source, with a hop limit other than 1 or
  // without Router Alert is dropped.
  if (!info.src.is_link_local() || info.hop_limit != 1 || !info.router_alert) {
    counters_.Inc(MldCounter::kRxDropInvalid);
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
  // RFC 3810 §5.2.13: from a link-local address, or :: while none is usable yet (DAD).
  const Ip6Address src = ip6_->addresses().LinkLocal();
  PacketBuffer buf(m.size() + 64, 128);
  m.Emit(buf.Append(m.size()), Icmp6PseudoHeaderSum(src, kAllMldv2Routers, m.size()));
  Ip6SendParams p;
  p.src = src;
  p.dst = kAllMldv2Routers;
  p.next_header = static_cast<uint8_t>(Ip6NextHeader::kIcmp6);
  p.hop_limit = 1;
  p.router_alert = true;
  p.allow_unspecified_source = true;
  if (ip6_->Send(p, buf, now).ok()) counters_.Inc(MldCounter::kTxReports);
}

void MldEngine::Poll(Instant now) {
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
  Instant next = general_at_;
  for (const auto& c : changes_) next = EarliestOf(next, c.next);
  for (const auto& t : group_timers_) next = EarliestOf(next, t.at);
  return next;
}

}  // namespace pytcp
