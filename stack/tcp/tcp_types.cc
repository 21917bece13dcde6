#include "stack/tcp/tcp_types.h"

namespace pytcp {

std::string_view ToString(TcpState s) {
  switch (s) {
    case TcpState::kClosed: return "CLOSED";
    case TcpState::kListen: return "LISTEN";
    case TcpState::kSynSent: return "SYN_SENT";
    case TcpState::kSynReceived: return "SYN_RECEIVED";
    case TcpState::kEstablished: return "ESTABLISHED";
    case TcpState::kFinWait1: return "FIN_WAIT_1";
    case TcpState::kFinWait2: return "FIN_WAIT_2";
    case TcpState::kCloseWait: return "CLOSE_WAIT";
    case TcpState::kClosing: return "CLOSING";
    case TcpState::kLastAck: return "LAST_ACK";
    case TcpState::kTimeWait: return "TIME_WAIT";
  }
  return "?";
}

uint8_t ToLinuxState(TcpState s) {
  switch (s) {
    case TcpState::kEstablished: return 1;
    case TcpState::kSynSent: return 2;
    case TcpState::kSynReceived: return 3;
    case TcpState::kFinWait1: return 4;
    case TcpState::kFinWait2: return 5;
    case TcpState::kTimeWait: return 6;
    case TcpState::kClosed: return 7;
    case TcpState::kCloseWait: return 8;
    case TcpState::kLastAck: return 9;
    case TcpState::kListen: return 10;
    case TcpState::kClosing: return 11;
  }
  return 7;
}

std::string_view CounterName(TcpCounter c) {
  switch (c) {
    case TcpCounter::kRxSegments: return "rx_segments";
    case TcpCounter::kRxDropMalformed: return "rx_drop_malformed";
    case TcpCounter::kRxDropInvalid: return "rx_drop_invalid";
    case TcpCounter::kRxDropNotUnicast: return "rx_drop_not_unicast";
    case TcpCounter::kRxNoConnection: return "rx_no_connection";
    case TcpCounter::kRxDropUnacceptable: return "rx_drop_unacceptable";
    case TcpCounter::kRxDropPaws: return "rx_drop_paws";
    case TcpCounter::kRxOutOfOrder: return "rx_out_of_order";
    case TcpCounter::kRxDropOooFull: return "rx_drop_ooo_full";
    case TcpCounter::kRxDuplicate: return "rx_duplicate";
    case TcpCounter::kRxRst: return "rx_rst";
    case TcpCounter::kRxDropRst: return "rx_drop_rst";
    case TcpCounter::kTxChallengeAck: return "tx_challenge_ack";
    case TcpCounter::kChallengeAckLimited: return "challenge_ack_limited";
    case TcpCounter::kTxSegments: return "tx_segments";
    case TcpCounter::kTxDataSegments: return "tx_data_segments";
    case TcpCounter::kTxRetransSegments: return "tx_retrans_segments";
    case TcpCounter::kTxRst: return "tx_rst";
    case TcpCounter::kTxDropError: return "tx_drop_error";
    case TcpCounter::kFastRetransmits: return "fast_retransmits";
    case TcpCounter::kEcnReductions: return "ecn_reductions";
    case TcpCounter::kRxCe: return "rx_ce";
    case TcpCounter::kSpuriousRecoveries: return "spurious_recoveries";
    case TcpCounter::kRxDsack: return "rx_dsack";
    case TcpCounter::kDsackUndos: return "dsack_undos";
    case TcpCounter::kLostRetransmits: return "lost_retransmits";
    case TcpCounter::kTimeouts: return "timeouts";
    case TcpCounter::kTlpProbes: return "tlp_probes";
    case TcpCounter::kTlpRecoveries: return "tlp_recoveries";
    case TcpCounter::kPersistProbes: return "persist_probes";
    case TcpCounter::kKeepaliveProbes: return "keepalive_probes";
    case TcpCounter::kDelayedAcks: return "delayed_acks";
    case TcpCounter::kActiveOpens: return "active_opens";
    case TcpCounter::kPassiveOpens: return "passive_opens";
    case TcpCounter::kAttemptFails: return "attempt_fails";
    case TcpCounter::kEstablishedResets: return "established_resets";
    case TcpCounter::kListenOverflows: return "listen_overflows";
    case TcpCounter::kListenDrops: return "listen_drops";
    case TcpCounter::kSynCookiesSent: return "syncookies_sent";
    case TcpCounter::kSynCookiesRecv: return "syncookies_recv";
    case TcpCounter::kSynCookiesFailed: return "syncookies_failed";
    case TcpCounter::kTimeWaitRecycled: return "time_wait_recycled";
    case TcpCounter::kTimeWaitOverflow: return "time_wait_overflow";
    case TcpCounter::kTimeWaitKilled: return "time_wait_killed";
    case TcpCounter::kAbortOnMemory: return "abort_on_memory";
    case TcpCounter::kAbortOnData: return "abort_on_data";
    case TcpCounter::kAbortOnClose: return "abort_on_close";
    case TcpCounter::kAbortOnLinger: return "abort_on_linger";
    case TcpCounter::kAbortOnTimeout: return "abort_on_timeout";
    case TcpCounter::kAckSkippedOow: return "ack_skipped_oow";
    case TcpCounter::kCount: break;
  }
  return "?";
}

}  // namespace pytcp
