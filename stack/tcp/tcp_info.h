// Linux's `struct tcp_info` as the kernel fills it for getsockopt(TCP_INFO), in the layout
// of include/uapi/linux/tcp.h up to tcpi_total_rto_time (Linux 6.7; Debian 12's headers
// end at tcpi_snd_wnd, 232 bytes; glibc's <netinet/tcp.h> has the older 104 bytes).
// Programs pass any of these sizes and the kernel copies min(len, sizeof) bytes
// (do_tcp_getsockopt), so the layout is fixed here rather than taken from a header that
// may be shorter, and checked against <linux/tcp.h> by tests/tcp/tcp_info_test.cc.
//
// RFCs to read: RFC 4898 (TCP Extended Statistics MIB: the tcpEStats* counters several
// fields mirror).
#pragma once

#include <cstddef>
#include <cstdint>

namespace pytcp {

struct TcpInfo {
  uint8_t tcpi_state;
  uint8_t tcpi_ca_state;
  uint8_t tcpi_retransmits;
  uint8_t tcpi_probes;
  uint8_t tcpi_backoff;
  uint8_t tcpi_options;
  uint8_t tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4;
  uint8_t tcpi_delivery_rate_app_limited : 1, tcpi_fastopen_client_fail : 2;

  uint32_t tcpi_rto;
  uint32_t tcpi_ato;
  uint32_t tcpi_snd_mss;
  uint32_t tcpi_rcv_mss;

  uint32_t tcpi_unacked;
  uint32_t tcpi_sacked;
  uint32_t tcpi_lost;
  uint32_t tcpi_retrans;
  uint32_t tcpi_fackets;

  uint32_t tcpi_last_data_sent;
  uint32_t tcpi_last_ack_sent;
  uint32_t tcpi_last_data_recv;
  uint32_t tcpi_last_ack_recv;

  uint32_t tcpi_pmtu;
  uint32_t tcpi_rcv_ssthresh;
  uint32_t tcpi_rtt;
  uint32_t tcpi_rttvar;
  uint32_t tcpi_snd_ssthresh;
  uint32_t tcpi_snd_cwnd;
  uint32_t tcpi_advmss;
  uint32_t tcpi_reordering;

  uint32_t tcpi_rcv_rtt;
  uint32_t tcpi_rcv_space;

  uint32_t tcpi_total_retrans;
  // --- glibc's struct ends here (104 bytes) ---

  uint64_t tcpi_pacing_rate;
  uint64_t tcpi_max_pacing_rate;
  uint64_t tcpi_bytes_acked;     // RFC 4898 tcpEStatsAppHCThruOctetsAcked
  uint64_t tcpi_bytes_received;  // RFC 4898 tcpEStatsAppHCThruOctetsReceived
  uint32_t tcpi_segs_out;        // RFC 4898 tcpEStatsPerfSegsOut
  uint32_t tcpi_segs_in;         // RFC 4898 tcpEStatsPerfSegsIn

  uint32_t tcpi_notsent_bytes;
  uint32_t tcpi_min_rtt;
  uint32_t tcpi_data_segs_in;   // RFC 4898 tcpEStatsDataSegsIn
  uint32_t tcpi_data_segs_out;  // RFC 4898 tcpEStatsDataSegsOut

  uint64_t tcpi_delivery_rate;

  uint64_t tcpi_busy_time;       // µs busy sending data
  uint64_t tcpi_rwnd_limited;    // µs limited by the peer's receive window
  uint64_t tcpi_sndbuf_limited;  // µs limited by the send buffer

  uint32_t tcpi_delivered;
  uint32_t tcpi_delivered_ce;

  uint64_t tcpi_bytes_sent;     // RFC 4898 tcpEStatsPerfHCDataOctetsOut
  uint64_t tcpi_bytes_retrans;  // RFC 4898 tcpEStatsPerfOctetsRetrans
  uint32_t tcpi_dsack_dups;     // RFC 4898 tcpEStatsStackDSACKDups
  uint32_t tcpi_reord_seen;

  uint32_t tcpi_rcv_ooopack;

  uint32_t tcpi_snd_wnd;  // the peer's window, scaled
  // --- Debian 12's <linux/tcp.h> ends here (232 bytes) ---
  uint32_t tcpi_rcv_wnd;  // the window we advertised, scaled (Linux 6.2)
  uint32_t tcpi_rehash;   // PLB or timeout rehash attempts (none here)
  uint16_t tcpi_total_rto;             // RTO expiries, SYN's included (Linux 6.7)
  uint16_t tcpi_total_rto_recoveries;  // recoveries begun by an RTO
  uint32_t tcpi_total_rto_time;        // ms spent in RTO recoveries
};

inline constexpr size_t kTcpInfoGlibcSize = 104;   // offsetof(TcpInfo, tcpi_pacing_rate)
inline constexpr size_t kTcpInfoDebian12Size = 232;  // offsetof(TcpInfo, tcpi_rcv_wnd)
static_assert(offsetof(TcpInfo, tcpi_pacing_rate) == kTcpInfoGlibcSize);
static_assert(offsetof(TcpInfo, tcpi_rcv_wnd) == kTcpInfoDebian12Size);
static_assert(sizeof(TcpInfo) == 248);

// Linux's TCPI_OPT_* bits of tcpi_options.
inline constexpr uint8_t kTcpiOptTimestamps = 1;
inline constexpr uint8_t kTcpiOptSack = 2;
inline constexpr uint8_t kTcpiOptWscale = 4;
inline constexpr uint8_t kTcpiOptEcn = 8;

}  // namespace pytcp
