// Tunables of the TCP engine, with Linux's defaults (the sysctl each one mirrors is named)
// so that the stack behaves like the kernel a peer expects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "stack/base/clock.h"

namespace pytcp {

// Linux's TCP_TIMEOUT_MIN (2 jiffies at HZ=1000): the shortest timer it arms — a SYN sent
// again at once after a stray ACK in SYN-SENT, a timer clamped to a user timeout that has
// (nearly) run out.
inline constexpr Duration kTimeoutMin = std::chrono::milliseconds(2);
// Linux's TCP_TIMEOUT_FALLBACK (RFC 6298 §5.7): the RTO for data after a handshake that
// gave no RTT sample.
inline constexpr Duration kTimeoutFallback = std::chrono::seconds(3);
// TCP_DELACK_MAX: the longest a delayed ACK waits (Linux's HZ/5).
inline constexpr Duration kDelackMax = std::chrono::milliseconds(200);

struct TcpConfig {
  // RFC 6298 §2.1 initial RTO of one second; the lower bound is Linux's TCP_RTO_MIN
  // (200 ms) rather than RFC 6298 §2.4's one second, as every deployed stack does, and
  // the upper bound Linux's TCP_RTO_MAX (RFC 6298 §2.5 allows a maximum of at least 60 s).
  Duration rto_initial = std::chrono::seconds(1);
  Duration rto_min = std::chrono::milliseconds(200);
  Duration rto_max = std::chrono::seconds(120);
  int syn_retries = 6;      // net.ipv4.tcp_syn_retries
  int synack_retries = 5;   // net.ipv4.tcp_synack_retries
  int retries2 = 15;        // net.ipv4.tcp_retries2 (RFC 1122 §4.2.3.5 R2)
  int orphan_retries = 8;   // net.ipv4.tcp_orphan_retries (0 means 8)

  // RFC 5681 §4.2 / RFC 1122 §4.2.3.2: delayed ACKs, at most 500 ms; Linux waits 40 ms.
  Duration delayed_ack = std::chrono::milliseconds(40);
  // Segments ACKed at once at the start of a connection (Linux's quick-ACK mode).
  int quickack_segments = 16;

  // RFC 9293 §3.4.2: 2*MSL in TIME-WAIT; Linux uses a fixed 60 s (TCP_TIMEWAIT_LEN).
  Duration time_wait = std::chrono::seconds(60);
  Duration fin_timeout = std::chrono::seconds(60);  // net.ipv4.tcp_fin_timeout (orphans)
  // net.ipv4.tcp_max_tw_buckets: TIME-WAIT records kept (tcp_time_wait.h); a connection
  // that would be one more closes at once instead (counted as time_wait_overflow), as on
  // Linux. PYTCP_TCP_MAX_TW_BUCKETS. Linux sizes it from memory; 262144 is its value on
  // hosts with a few GB.
  size_t max_tw_buckets = 262144;
  // net.ipv4.tcp_max_orphans: connections whose socket is closed but whose close handshake
  // is still running; beyond it a closing connection is reset (abort_on_memory), as
  // Linux's tcp_close does with tcp_check_oom. PYTCP_TCP_MAX_ORPHANS.
  size_t max_orphans = 262144;
  // net.ipv4.tcp_rfc1337: 0 (Linux's default) lets a RST end TIME-WAIT; 1 ignores it
  // (RFC 1337's protection against TIME-WAIT assassination). PYTCP_TCP_RFC1337.
  bool rfc1337 = false;

  // RFC 1122 §4.2.3.6 keep-alives: net.ipv4.tcp_keepalive_{time,intvl,probes}.
  Duration keepalive_idle = std::chrono::seconds(7200);
  Duration keepalive_interval = std::chrono::seconds(75);
  int keepalive_probes = 9;

  // Buffers (net.ipv4.tcp_rmem / tcp_wmem): initial values are what SO_RCVBUF/SO_SNDBUF
  // report; auto-tuning grows them up to the maxima unless the application set them.
  size_t rcvbuf_initial = 131072;
  size_t rcvbuf_max = 6291456;
  size_t sndbuf_initial = 16384;
  size_t sndbuf_max = 4194304;

  bool sack = true;             // net.ipv4.tcp_sack (RFC 2018)
  bool timestamps = true;       // net.ipv4.tcp_timestamps (RFC 7323)
  bool window_scaling = true;   // net.ipv4.tcp_window_scaling (RFC 7323)
  bool syncookies = true;       // net.ipv4.tcp_syncookies = 1: only when the SYN queue is full
  std::string congestion = "cubic";  // net.ipv4.tcp_congestion_control
  uint32_t initial_cwnd_segments = 10;  // RFC 6928
  int dupthresh = 3;                    // RFC 5681 §3.2, RFC 6675 DupThresh
  // RFC 8985 RACK time-based loss detection (net.ipv4.tcp_recovery bit 0x1), beside
  // DupThresh; the tail loss probe runs either way.
  bool rack = true;
  // Linux's net.ipv4.tcp_slow_start_after_idle (RFC 7661 §4's concern, RFC 5681 §4.1's
  // restart window): after more than an RTO without sending, cwnd restarts from the
  // initial window, halved once per RTO idle from where it was.
  bool slow_start_after_idle = true;
  // Linux's internal pacing (tcp_pacing.h): data leaves at a rate from cwnd and SRTT.
  bool pacing = true;
  // RFC 3168 ECN, Linux's net.ipv4.tcp_ecn: 0 never; 1 ask for it on connections we open
  // and accept it on connections we are asked for; 2 (Linux's default) accept only.
  // PYTCP_TCP_ECN sets it.
  int ecn = 2;

  // RFC 5961 §7: challenge ACKs per second for the host (net.ipv4.tcp_challenge_ack_limit,
  // its pre-6.0 default; the count actually allowed is randomised around it each second,
  // tcp_challenge_limit.h), besides one per 500 ms per connection.
  uint32_t challenge_ack_limit = 1000;
  // net.ipv4.tcp_invalid_ratelimit: the least time between two ACKs a connection sends in
  // answer to invalid segments (out of window, PAWS, unsent data acknowledged) and between
  // its challenge ACKs (Linux's tcp_oow_rate_limited).
  Duration invalid_ratelimit = std::chrono::milliseconds(500);
  // Out-of-order ranges a connection keeps (beyond that, segments are dropped). Linux
  // bounds its out-of-order queue by memory only; a burst of queue drops leaves one hole
  // per lost segment, so this is generous.
  size_t max_ooo_ranges = 1024;
  // RFC 9406 HyStart++ in the initial slow start (Linux's CUBIC runs HyStart too).
  bool hystart = true;
  // somaxconn: the largest backlog listen() accepts.
  int max_backlog = 4096;
  // The link's default MSS toward peers that do not send one (RFC 9293 §3.7.1).
  uint16_t default_mss = 536;
  // Tests: TcpEngine::NextDeadline() also scans every connection and aborts when one is
  // due earlier than the deadline heap says (a call into a connection that moved a timer
  // earlier without TcpEngine::UpdateTimer). Off outside tests: the scan is what the heap
  // replaced.
  bool verify_timers = false;
};

}  // namespace pytcp
