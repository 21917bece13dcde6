// Pacing: a per-connection sending rate from cwnd and SRTT, as Linux's internal TCP
// pacing (tcp_update_pacing_rate, tcp_pacing_check, tcp_update_skb_after_send), so that a
// large window leaves spread over the round trip instead of as back-to-back bursts that
// overflow the bottleneck's queue.
//
// Rate = max(cwnd, flight) / SRTT, times 2 in slow start (while cwnd < ssthresh/2, so that
// the window can still double each round trip) and 1.2 after (Linux's tcp_pacing_ss_ratio
// and tcp_pacing_ca_ratio). The first ten data segments of a connection are not paced
// (Linux, like sch_fq). A segment may leave up to one "quantum" before its departure time:
// Linux sizes TSO bursts to about 1 ms of the rate (tcp_tso_autosize, sk_pacing_shift 10)
// and our event loop's timer resolution is 1 ms, so bursts of up to 1 ms of the rate go
// together and only longer gaps are waited for. On a fast LAN path (tens of µs RTT) the
// rate is so high that 1 ms covers the whole window: pacing then changes nothing.
#pragma once

#include <algorithm>
#include <cstdint>

#include "stack/base/clock.h"

namespace pytcp {

class TcpPacer {
 public:
  static constexpr Duration kQuantum = std::chrono::milliseconds(1);
  static constexpr uint32_t kUnpacedSegments = 10;

  // The rate in bytes per second; 0 = unlimited (no RTT sample yet).
  static uint64_t Rate(uint32_t cwnd, uint32_t flight, uint32_t ssthresh, Duration srtt) {
    if (srtt.count() <= 0) return 0;
    const uint64_t window = std::max(cwnd, flight);
    const uint64_t percent = cwnd < ssthresh / 2 ? 200 : 120;
    const uint64_t ns = static_cast<uint64_t>(srtt.count());
    // window * percent / 100 bytes per srtt, in bytes per second.
    const __uint128_t r = static_cast<__uint128_t>(window) * percent * 1'000'000'000u / (100u * ns);
    return r > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(r);
  }

  // Whether a data segment may leave now; otherwise *when (the time to look again).
  bool MaySend(Instant now, Instant* when) const {
    if (segments_ < kUnpacedSegments || next_ <= now + kQuantum) return true;
    *when = next_ - kQuantum;
    return false;
  }

  // `bytes` left now at `rate`: the next departure is that much later (Linux's
  // tcp_wstamp_ns += len / rate, from now if the sender was idle).
  void OnSent(uint32_t bytes, uint64_t rate, Instant now) {
    ++segments_;
    if (rate == 0 || segments_ <= kUnpacedSegments) return;
    if (next_ < now) next_ = now;
    const uint64_t ns = static_cast<uint64_t>(bytes) * 1'000'000'000u / rate;
    next_ = next_ + std::chrono::nanoseconds(static_cast<int64_t>(ns));
  }

  // Linux's tcp_tso_autosize: a TSO piece carries about one quantum of the rate, at least
  // two segments.
  static uint32_t BurstBytes(uint64_t rate, uint32_t segment) {
    if (rate == 0) return UINT32_MAX;
    const uint64_t quantum = rate / 1000;
    return static_cast<uint32_t>(std::max<uint64_t>(std::min<uint64_t>(quantum, UINT32_MAX),
                                                    2ull * segment));
  }

 private:
  Instant next_;
  uint32_t segments_ = 0;
};

}  // namespace pytcp
