// The sender's SACK scoreboard (RFC 6675 §3): which bytes above SND.UNA the receiver has
// reported holding, from which loss (IsLost), the bytes in flight (pipe) and the next
// segment to send (NextSeg) are derived.
//
// RFCs to read: RFC 2018 §3-§5 (SACK blocks; a receiver may renege, so SACKed data stays
// in the send buffer until cumulatively acknowledged), RFC 6675 §2-§5 (scoreboard,
// IsLost, SetPipe, NextSeg, loss recovery), RFC 2883 (D-SACK blocks below SND.UNA, which
// are ignored here).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "stack/net/seq_num.h"
#include "stack/wire/tcp_options.h"

namespace pytcp {

class TcpSackScoreboard {
 public:
  explicit TcpSackScoreboard(size_t max_ranges = 64) : max_ranges_(max_ranges) {}

  void Clear() {
    ranges_.clear();
    sacked_ = 0;
  }
  bool empty() const { return ranges_.empty(); }
  size_t range_count() const { return ranges_.size(); }
  uint32_t sacked_bytes() const { return sacked_; }
  // RFC 6675 "HighACK"-like: the right edge of the highest SACKed range.
  SeqNum high_sacked(SeqNum snd_una) const {
    return ranges_.empty() ? snd_una : ranges_.back().right;
  }

  // The cumulative ACK moved to snd_una: forget what it covers.
  void AdvanceUna(SeqNum snd_una);
  // Records the blocks that lie within (snd_una, snd_max]; returns the bytes newly SACKed.
  uint32_t Add(std::span<const TcpSackBlock> blocks, SeqNum snd_una, SeqNum snd_max);

  bool IsSacked(SeqNum s) const;
  uint32_t SackedIn(SeqNum a, SeqNum b) const;
  // RFC 6675 §4 IsLost(): every unSACKed byte below the returned point has DupThresh
  // SACKed segments or more than (DupThresh - 1) * SMSS SACKed bytes above it.
  // Returns snd_una when nothing is lost.
  SeqNum LostBoundary(SeqNum snd_una, uint32_t smss, int dupthresh) const;
  // The first unSACKed byte at or after `from` (below `limit`), and where that hole ends.
  // Returns limit when there is none.
  SeqNum NextHole(SeqNum from, SeqNum limit, SeqNum* hole_end) const;
  // The highest unSACKed range in [snd_una, limit): returns its end and sets *start
  // (RFC 6675 NextSeg rule 4, the rescue retransmission). Returns snd_una when there is
  // none.
  SeqNum HighestHole(SeqNum snd_una, SeqNum limit, SeqNum* start) const;

 private:
  struct Range {
    SeqNum left;
    SeqNum right;
  };
  void Insert(SeqNum left, SeqNum right);

  size_t max_ranges_;
  std::vector<Range> ranges_;  // sorted, disjoint
  uint32_t sacked_ = 0;
};

}  // namespace pytcp
