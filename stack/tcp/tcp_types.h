// Shared vocabulary of the TCP engine: connection states, the four-tuple that names a
// connection, packet-flow counters and the parsed form of an arriving segment.
//
// RFCs to read: RFC 9293 §3.3.2 (the eleven states and their transitions), §3.4 (segment
// length and sequence space).
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "stack/base/bytes.h"
#include "stack/base/counters.h"
#include "stack/base/named_enum.h"
#include "stack/net/ip_address.h"
#include "stack/net/seq_num.h"
#include "stack/wire/tcp.h"

namespace pytcp {

// RFC 9293 §3.3.2. The numbering follows Linux's TCP_ESTABLISHED.. order where it can be
// mapped (see ToLinuxState) so that TCP_INFO reports what ss(8) expects.
PYTCP_NAMED_ENUM_UPPER(TcpState, uint8_t,  // ToString: "SYN_SENT", "FIN_WAIT_1", ...
  kClosed,
  kListen,
  kSynSent,
  kSynReceived,
  kEstablished,
  kFinWait1,
  kFinWait2,
  kCloseWait,
  kClosing,
  kLastAck,
  kTimeWait,
);
// Linux's numbering (include/net/tcp_states.h), for tcp_info.tcpi_state.
uint8_t ToLinuxState(TcpState s);

// RFC 9293 §3.3.2: "synchronized" states, where sequence numbers of both sides are known.
constexpr bool IsSynchronized(TcpState s) {
  return s != TcpState::kClosed && s != TcpState::kListen && s != TcpState::kSynSent &&
         s != TcpState::kSynReceived;
}

// A connection's name: the local and remote endpoints. Addresses are IpAddress so IPv6
// connections use the same tables once the IPv6 engine exists.
struct TcpFourTuple {
  IpAddress local_ip;
  IpAddress remote_ip;
  uint16_t local_port = 0;
  uint16_t remote_port = 0;

  SocketAddress local() const { return SocketAddress{local_ip, local_port, 0}; }
  SocketAddress remote() const { return SocketAddress{remote_ip, remote_port, 0}; }
  bool operator==(const TcpFourTuple&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const TcpFourTuple& t) {
    return H::combine(std::move(h), t.local_ip.v6().bytes(), t.remote_ip.v6().bytes(),
                      t.local_port, t.remote_port);
  }
};

PYTCP_COUNTERS(TcpCounter,
  kRxSegments,
  kRxDropMalformed,       // integrity failures (length, offset, checksum, options)
  kRxDropInvalid,         // sanity failures (port 0, SYN+FIN)
  kRxDropNotUnicast,      // RFC 1122 §4.2.3.10: to a broadcast or multicast address
  kRxNoConnection,        // nothing listening or connected: answered with RST
  kRxDropUnacceptable,    // RFC 9293 §3.10.7.4 first check failed (ACKed and dropped)
  kRxDropPaws,            // RFC 7323 §5 PAWS rejected
  kRxOutOfOrder,          // queued beyond RCV.NXT
  kRxDropOooFull,         // out-of-order queue at its bound
  kRxDuplicate,           // entirely old data
  kRxRst,                 // RSTs that reset a connection
  kRxDropRst,             // RSTs ignored (out of window)
  kTxChallengeAck,        // RFC 5961 challenge ACKs sent
  kChallengeAckLimited,   // RFC 5961 §7 rate limit hit
  kTxSegments,
  kTxDataSegments,
  kTxRetransSegments,
  kTxRst,
  kTxDropError,           // the IP layer refused a segment
  kFastRetransmits,       // recoveries entered on duplicate ACKs / SACK
  kEcnReductions,         // RFC 3168 §6.1.2: cwnd reduced for an ECE (once per window)
  kRxCe,                  // segments that arrived marked CE
  kSpuriousRecoveries,    // RFC 3522: undone when the original turned out to arrive
  kRxDsack,               // RFC 2883 D-SACK blocks received
  kDsackUndos,            // RFC 3708: recoveries undone because every retransmission was D-SACKed
  kLostRetransmits,       // retransmissions detected lost and sent again
  kTimeouts,              // retransmission timer expiries
  kTlpProbes,             // RFC 8985 tail loss probes sent
  kTlpRecoveries,         // probes that repaired a loss (congestion response taken)
  kPersistProbes,
  kKeepaliveProbes,
  kDelayedAcks,
  kActiveOpens,
  kPassiveOpens,
  kAttemptFails,
  kEstablishedResets,
  kListenOverflows,       // SYNs or final ACKs dropped because the accept queue was full
  kListenDrops,
  kSyncookiesSent,
  kSyncookiesRecv,
  kSyncookiesFailed,
  kTimeWaitRecycled,      // RFC 6191: a SYN reopened a TIME_WAIT connection
  kAbortOnData,           // data arrived for a closed socket: RST
  kAbortOnClose,          // closed with unread data: RST
  kAbortOnLinger,         // SO_LINGER 0: RST
  kAbortOnTimeout,
  kAckSkippedOow,         // ACKs to invalid segments not sent (tcp_oow_rate_limited, 500 ms)
  kTimeWaitOverflow,      // closed without TIME-WAIT: tcp_max_tw_buckets reached
  kTimeWaitKilled,        // TIME-WAIT ended by a RST (RFC 1337 not applied, as Linux)
  kAbortOnMemory,         // an orphan reset: tcp_max_orphans reached
);

// An arriving segment after parsing: the view plus decoded options.
struct TcpSegment {
  TcpView view;
  TcpOptions options;
  IpAddress src;
  IpAddress dst;
  uint8_t ecn = 0;  // the IP header's ECN field (RFC 3168 §5: 3 = CE)

  SeqNum seq() const { return view.seq(); }
  SeqNum ack() const { return view.ack(); }
  TcpFlags flags() const { return view.flags(); }
  ByteSpan payload() const { return view.payload(); }
  uint32_t len() const { return view.segment_length(); }
};

}  // namespace pytcp
