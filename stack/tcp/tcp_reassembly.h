// The receive side's out-of-order bookkeeping (smoltcp's Assembler): which sequence
// ranges beyond RCV.NXT have arrived. The bytes themselves sit in the receive ring at
// their offsets; this only tracks the ranges, bounded in number, and produces the SACK
// blocks to report.
//
// RFCs to read: RFC 9293 §3.10.7.4 (segments beyond RCV.NXT are held for later
// processing), RFC 2018 §4 (which SACK blocks a receiver reports, most recent first),
// RFC 5681 §4.2 (immediate ACKs for out-of-order data and for filling a hole).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "stack/net/seq_num.h"
#include "stack/wire/tcp_options.h"

namespace pytcp {

class TcpReassembly {
 public:
  explicit TcpReassembly(size_t max_ranges = 64) : max_ranges_(max_ranges) {}

  bool empty() const { return ranges_.empty(); }
  size_t range_count() const { return ranges_.size(); }
  // Right edge of the highest range (only meaningful when !empty()).
  SeqNum highest() const { return ranges_.back().right; }

  // Records [left, right) as received. False when it would need a new range and the
  // bound is reached (the caller drops the segment; the peer will retransmit it).
  bool Add(SeqNum left, SeqNum right);
  // True when [left, right) lies entirely inside one held range (a duplicate).
  bool Covers(SeqNum left, SeqNum right) const;
  // RCV.NXT has advanced to `rcv_nxt`: drops the ranges it covers and returns the new
  // RCV.NXT, extended over any range that now starts at or before it.
  SeqNum Advance(SeqNum rcv_nxt);
  // Bytes held beyond rcv_nxt up to the end of the highest range (ring space they use).
  uint32_t SpanFrom(SeqNum rcv_nxt) const {
    return ranges_.empty() ? 0 : static_cast<uint32_t>(ranges_.back().right - rcv_nxt);
  }

  // RFC 2018 §4: up to `max` blocks, the one holding the latest arrival first, then the
  // others from the most to the least recently changed.
  size_t SackBlocks(TcpSackBlock* out, size_t max) const;
  void Clear() { ranges_.clear(); }

 private:
  struct Range {
    SeqNum left;
    SeqNum right;
    uint64_t stamp;  // when it last grew; orders the SACK blocks
  };
  size_t max_ranges_;
  uint64_t clock_ = 0;
  std::vector<Range> ranges_;  // sorted, disjoint, non-adjacent
};

}  // namespace pytcp
