// Proportional Rate Reduction (RFC 6937): how much may be sent on each ACK of a fast
// recovery, so that the window comes down to ssthresh smoothly instead of falling there
// at once and leaving the sender silent for half a round trip (RFC 6675's cwnd = ssthresh
// with pipe still at the old window), and so that a recovery with heavy losses does not
// end far below ssthresh either (the reduction bound).
//
// RFCs to read: RFC 6937 §3 (the algorithm; PRR-SSRB, the slow-start reduction bound, is
// the recommended one and what Linux runs in tcp_cwnd_reduction).
#pragma once

#include <algorithm>
#include <cstdint>

namespace pytcp {

class TcpPrr {
 public:
  // Entering recovery: RecoverFS is the flight size just before it.
  void Start(uint32_t recover_fs) {
    recover_fs_ = std::max<uint32_t>(recover_fs, 1);
    prr_delivered_ = 0;
    prr_out_ = 0;
  }
  // Data sent (new or retransmitted) during the recovery.
  void OnSent(uint32_t bytes) { prr_out_ += bytes; }

  // RFC 6937 §3, on every ACK of the recovery: `delivered` is DeliveredData (the change
  // in SND.UNA plus the bytes newly SACKed), `pipe` the RFC 6675 pipe after the ACK.
  // Returns the congestion window that allows exactly sndcnt more bytes (pipe + sndcnt).
  uint32_t OnAck(uint32_t delivered, uint32_t pipe, uint32_t ssthresh, uint32_t smss) {
    prr_delivered_ += delivered;
    int64_t sndcnt;
    if (pipe > ssthresh) {
      // Proportional Rate Reduction: ssthresh/RecoverFS of what was delivered.
      const uint64_t allowed =
          (prr_delivered_ * ssthresh + recover_fs_ - 1) / recover_fs_;  // CEIL
      sndcnt = static_cast<int64_t>(allowed) - static_cast<int64_t>(prr_out_);
    } else {
      // PRR-SSRB: catch up towards ssthresh, no faster than slow start (what is
      // delivered plus one segment per ACK).
      const int64_t limit =
          std::max<int64_t>(static_cast<int64_t>(prr_delivered_) - static_cast<int64_t>(prr_out_),
                            delivered) + smss;
      sndcnt = std::min<int64_t>(static_cast<int64_t>(ssthresh) - pipe, limit);
    }
    sndcnt = std::max<int64_t>(sndcnt, 0);
    // Whole segments, rounded up, as Linux counts (tcp_cwnd_reduction works in packets
    // with the RFC's CEIL): a byte count that falls short of a segment would let nothing
    // go, and with windows of a few segments the recovery would starve its own ACK clock.
    const int64_t seg = std::max<uint32_t>(smss, 1);
    sndcnt = (sndcnt + seg - 1) / seg * seg;
    return pipe + static_cast<uint32_t>(sndcnt);
  }

  uint64_t prr_delivered() const { return prr_delivered_; }
  uint64_t prr_out() const { return prr_out_; }

 private:
  uint64_t recover_fs_ = 1;
  uint64_t prr_delivered_ = 0;
  uint64_t prr_out_ = 0;
};

}  // namespace pytcp
