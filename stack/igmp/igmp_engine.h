// IGMPv3 for a host (RFC 3376): the per-socket multicast reception state merged into the
// interface state (§3), state-change reports on every change with their retransmissions
// (§5.1), answers to general, group-specific and group-and-source-specific queries (§5.2),
// and the IGMPv1/IGMPv2 compatibility modes a host enters when it hears an older querier
// (§7.2.1, with RFC 2236's report suppression and Leave).
//
// RFCs to read: RFC 3376 §2 (the IPMulticastListen service interface), §3.1-§3.2 (socket
// and interface state, and how the latter is derived), §4 (messages: TTL 1, Router Alert,
// IP precedence Internetwork Control), §5.1 (the state-change table and the merging of
// pending reports), §5.2 (the query timers and what to report), §7.2.1 (Host Compatibility
// Mode), §8 (default timer values); RFC 2236 §3 (IGMPv2 host: report on join, repeated,
// suppression, Leave to 224.0.0.2 from the last reporter); RFC 1112 Appendix I (IGMPv1).
//
// The engine is pure: sockets call Listen() (through UdpEngine), the IPv4 engine delivers
// IGMP messages, and Poll(now) sends what is due. The interface joins a group at the IPv4
// engine (MAC filter, receive check) exactly while its interface state is not INCLUDE({}).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "stack/base/counters.h"
#include "stack/base/random.h"
#include "stack/iface/listener_config.h"
#include "stack/ip4/ip4_engine.h"
#include "stack/wire/igmp.h"

namespace pytcp {

// RFC 3376 §2: a socket's (and the interface's) filter mode for one group.
enum class McFilterMode : uint8_t { kInclude, kExclude };

PYTCP_COUNTERS(IgmpCounter,
  kRxQueries,
  kRxV1Queries,
  kRxV2Queries,
  kRxReports,        // other hosts' reports (IGMPv1/v2 suppression)
  kRxDropMalformed,
  kRxDropInvalid,
  kTxReports,        // IGMPv3 reports
  kTxV1Reports,
  kTxV2Reports,
  kTxV2Leaves,
);

// RFC 3376 §8's timers (MulticastListenerConfig) and the IGMPv1/v2 compatibility one.
struct IgmpConfig : MulticastListenerConfig {
  Duration v2_unsolicited_report_interval = 10s;  // RFC 2236 §8.10 (IGMPv1/v2)
};

class IgmpEngine final : public Ip4Transport {
 public:
  IgmpEngine(Ip4Engine* ip4, Random* random, IgmpConfig config = {});

  // RFC 3376 §2 IPMulticastListen(socket, interface, group, filter-mode, source-list) for
  // the one interface; `socket` is an opaque key. INCLUDE with no sources deletes the
  // socket's record (a leave). Sources need not be sorted or unique.
  void Listen(const void* socket, Ip4Address group, McFilterMode mode,
              std::span<const Ip4Address> sources, Instant now);

  // The interface state of a group (§3.2); nullptr when it is INCLUDE({}).
  struct InterfaceState {
    McFilterMode mode;
    std::vector<Ip4Address> sources;  // sorted
  };
  const InterfaceState* State(Ip4Address group) const;
  std::vector<Ip4Address> Groups() const;
  // Whether the interface's filter lets a datagram from `source` to `group` in (§3.2).
  bool Allows(Ip4Address group, Ip4Address source) const;

  // IGMP messages (protocol 2) from the IPv4 engine.
  void Receive(const Ip4PacketInfo& info, ByteSpan payload, Instant now) override;

  void Poll(Instant now);
  Instant NextDeadline() const;
  const Counters<IgmpCounter>& counters() const { return counters_; }

  // §7.2.1 Host Compatibility Mode: 1, 2 or 3.
  int compat_version() const;

  // §4.2.12 / Linux's net.ipv4.igmp_link_local_mcast_reports (on by default): every
  // group is reported except 224.0.0.1, of which every host is a member (RFC 3376 §5).
  static bool Reportable(Ip4Address group);

 private:
  struct SocketRecord {
    const void* socket;
    McFilterMode mode;
    std::vector<Ip4Address> sources;
  };
  struct SourceRetransmit {
    Ip4Address source;
    bool allow;  // ALLOW_NEW_SOURCES; else BLOCK_OLD_SOURCES
    int left;
  };
  struct Group {
    Ip4Address group;
    std::vector<SocketRecord> sockets;
    InterfaceState state{McFilterMode::kInclude, {}};
    bool joined = false;  // at the IPv4 engine
    // §5.1: a filter-mode change is reported (with the current sources) this many more
    // times; source-list changes per source.
    int mode_change_left = 0;
    std::vector<SourceRetransmit> source_retx;
    // §5.2: a pending answer to a group-specific (no sources) or group-and-source-specific
    // query; in IGMPv1/v2 mode the report timer.
    Instant query_at = Instant::Infinite();
    std::vector<Ip4Address> query_sources;
    bool last_reporter = false;  // RFC 2236 §3: only the last reporter sends Leave
    bool present() const {
      return state.mode == McFilterMode::kExclude || !state.sources.empty();
    }
  };

  Group* FindGroup(Ip4Address group);
  const Group* FindGroup(Ip4Address group) const;
  static InterfaceState Merge(const std::vector<SocketRecord>& sockets);
  void OnStateChange(Group& g, const InterfaceState& old, Instant now);
  void ReceiveQuery(const IgmpView& q, Instant now);
  void ReceiveOldQuery(const IgmpView& q, Instant now);
  void CancelPending();
  Instant RandomDelay(Instant now, Duration max);
  void SendStateChange(Instant now);
  void SendOldReports(Instant now);
  void SendQueryAnswers(Instant now);
  void SendRecords(std::span<const IgmpRecord> records, Instant now);
  void SendOld(IgmpType type, Ip4Address group, Instant now);
  void Collect();

  Ip4Engine* ip4_;
  Random* random_;
  IgmpConfig config_;
  std::vector<Group> groups_;
  Instant report_at_ = Instant::Infinite();  // §5.1 state-change report timer
  int reports_left_ = 0;
  Instant general_at_ = Instant::Infinite();  // §5.2 interface timer
  Instant v1_until_ = Instant::Infinite();    // §7.2.1 IGMPv1 Querier Present
  Instant v2_until_ = Instant::Infinite();    // §7.2.1 IGMPv2 Querier Present
  Counters<IgmpCounter> counters_;
};

}  // namespace pytcp
