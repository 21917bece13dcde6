// MLDv2 for a host (RFC 3810): the groups the interface listens to (all in EXCLUDE mode
// with no sources, which is what joining a group means to a host without source filters),
// state-change reports on join and leave with their retransmissions, and answers to
// general, group-specific and group-and-source-specific queries; and the MLDv1
// compatibility mode a host enters when it hears an MLDv1 querier (RFC 3810 §8.2).
//
// RFCs to read: RFC 3810 §5 (messages: link-local source, hop limit 1, Router Alert),
// §6 (the host side: §6.1 state-change reports repeated Robustness Variable times within
// the Unsolicited Report Interval, §6.2 the query timers, §6.3 what to report),
// §9 (default timer values), RFC 3810 §6 and RFC 4291 §2.7 (ff02::1 is never reported,
// nor groups of scope below link-local); RFC 3810 §8.1-§8.2 and RFC 2710 §4 (MLDv1: a
// report per group to the group itself, report suppression, Done to ff02::2 from the last
// reporter).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "stack/base/counters.h"
#include "stack/iface/listener_config.h"
#include "stack/base/random.h"
#include "stack/ip6/ip6_engine.h"
#include "stack/wire/icmp6_mld.h"

namespace pytcp {

PYTCP_COUNTERS(MldCounter,
  kRxQueries,
  kRxDropInvalid,  // hop limit, source or Router Alert against RFC 3810 §6.2
  kTxReports,
  kRxV1Queries,     // RFC 3810 §8.1: a 24-byte query, from an MLDv1 querier
  kTxV1Reports,
  kTxV1Dones,
);

// RFC 3810 §9's timers.
using MldConfig = MulticastListenerConfig;

class MldEngine {
 public:
  MldEngine(Ip6Engine* ip6, Random* random, MldConfig config = {});

  // From Ip6Engine's group listener: the first join or the last leave of a group.
  void OnGroupChange(const Ip6Address& group, bool joined, Instant now);
  // MLD queries (ICMPv6 130), from Icmp6Engine.
  void Receive(const Ip6PacketInfo& info, const Icmp6View& icmp, Instant now);

  void Poll(Instant now);
  Instant NextDeadline() const;
  const Counters<MldCounter>& counters() const { return counters_; }

  // RFC 3810 §6: groups that are reported.
  static bool Reportable(const Ip6Address& group);

  // RFC 3810 §8.2.1 Host Compatibility Mode: true while an MLDv1 querier was heard within
  // the Older Version Querier Present Timeout.
  bool v1_mode() const { return v1_until_ != Instant::Infinite(); }

 private:
  struct Change {
    Ip6Address group;
    MldRecordType type;
    int left;  // transmissions still to send
    Instant next;
  };
  struct GroupTimer {
    Ip6Address group;
    std::vector<Ip6Address> sources;  // group-and-source-specific queries
    Instant at;
  };

  void SendReport(std::span<const MldRecord> records, Instant now);
  void SendV1(const Ip6Address& group, bool done, Instant now);
  Instant RandomDelay(Instant now, Duration max);
  // RFC 3810 §8.2.1: entering or leaving compatibility mode cancels every pending response
  // and retransmission.
  void CancelPending();
  void ReceiveV1Query(const MldQueryView& q, Instant now);
  void ArmV1Timer(const Ip6Address& group, Duration max_delay, Instant now);
  void PollV1(Instant now);
  bool IsLastReporter(const Ip6Address& group) const;
  void SetLastReporter(const Ip6Address& group, bool last);

  Ip6Engine* ip6_;
  Random* random_;
  MldConfig config_;
  std::vector<Change> changes_;
  std::vector<GroupTimer> group_timers_;
  Instant general_at_ = Instant::Infinite();
  Instant v1_until_ = Instant::Infinite();  // end of MLDv1 compatibility mode
  // MLDv1 mode: pending reports per group (group_timers_ with no sources), and the groups
  // for which this host sent the latest report (RFC 2710 §4's flag: only they send Done).
  std::vector<Ip6Address> last_reporter_;
  Counters<MldCounter> counters_;
};

}  // namespace pytcp
