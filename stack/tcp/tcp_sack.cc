#include "stack/tcp/tcp_sack.h"

#include <algorithm>

namespace pytcp {

void TcpSackScoreboard::AdvanceUna(SeqNum snd_una) {
  size_t drop = 0;
  for (Range& r : ranges_) {
    if (r.right <= snd_una) {
      sacked_ -= static_cast<uint32_t>(r.right - r.left);
      ++drop;
      continue;
    }
    if (r.left < snd_una) {
      sacked_ -= static_cast<uint32_t>(snd_una - r.left);
      r.left = snd_una;
    }
    break;
  }
  ranges_.erase(ranges_.begin(), ranges_.begin() + static_cast<std::ptrdiff_t>(drop));
}

void TcpSackScoreboard::Insert(SeqNum left, SeqNum right) {
  auto it = std::find_if(ranges_.begin(), ranges_.end(),
                         [&](const Range& r) { return r.right >= left; });
  if (it == ranges_.end() || it->left > right) {
    // A new range. At the bound, the lowest range is forgotten: the data stays in the
    // send buffer, so at worst it is retransmitted needlessly (RFC 2018 §8 reneging
    // tolerance makes this safe).
    if (ranges_.size() >= max_ranges_) {
      if (ranges_.empty()) return;
      sacked_ -= static_cast<uint32_t>(ranges_.front().right - ranges_.front().left);
      ranges_.erase(ranges_.begin());
      Insert(left, right);
      return;
    }
    ranges_.insert(it, Range{left, right});
    sacked_ += static_cast<uint32_t>(right - left);
    return;
  }
  const uint32_t before = static_cast<uint32_t>(it->right - it->left);
  it->left = SeqMin(it->left, left);
  it->right = SeqMax(it->right, right);
  uint32_t removed = before;
  auto next = it + 1;
  while (next != ranges_.end() && next->left <= it->right) {
    removed += static_cast<uint32_t>(next->right - next->left);
    it->right = SeqMax(it->right, next->right);
    next = ranges_.erase(next);
  }
  sacked_ += static_cast<uint32_t>(it->right - it->left) - removed;
}

uint32_t TcpSackScoreboard::Add(std::span<const TcpSackBlock> blocks, SeqNum snd_una,
                                SeqNum snd_max) {
  const uint32_t before = sacked_;
  for (const TcpSackBlock& b : blocks) {
    // RFC 2883 D-SACK blocks (at or below SND.UNA) and blocks beyond what was sent are
    // not information about the data in flight.
    SeqNum left = b.left;
    SeqNum right = b.right;
    if (!(left < right) || right <= snd_una || right > snd_max) continue;
    left = SeqMax(left, snd_una);
    Insert(left, right);
  }
  return sacked_ - before;
}

bool TcpSackScoreboard::IsSacked(SeqNum s) const {
  for (const Range& r : ranges_) {
    if (s < r.left) return false;
    if (s < r.right) return true;
  }
  return false;
}

uint32_t TcpSackScoreboard::SackedIn(SeqNum a, SeqNum b) const {
  uint32_t n = 0;
  for (const Range& r : ranges_) {
    if (r.left >= b) break;
    const SeqNum lo = SeqMax(a, r.left);
    const SeqNum hi = SeqMin(b, r.right);
    if (lo < hi) n += static_cast<uint32_t>(hi - lo);
  }
  return n;
}

SeqNum TcpSackScoreboard::LostBoundary(SeqNum snd_una, uint32_t smss, int dupthresh) const {
  uint64_t bytes = 0;
  uint64_t segments = 0;
  const uint64_t byte_limit = static_cast<uint64_t>(dupthresh - 1) * smss;
  for (auto it = ranges_.rbegin(); it != ranges_.rend(); ++it) {
    const uint64_t len = static_cast<uint64_t>(it->right - it->left);
    bytes += len;
    segments += (len + smss - 1) / smss;
    if (segments >= static_cast<uint64_t>(dupthresh) || bytes > byte_limit) {
      return SeqMax(it->left, snd_una);
    }
  }
  return snd_una;
}

SeqNum TcpSackScoreboard::NextHole(SeqNum from, SeqNum limit, SeqNum* hole_end) const {
  SeqNum s = from;
  for (const Range& r : ranges_) {
    if (r.right <= s) continue;
    if (r.left <= s) {
      s = r.right;  // inside a SACKed range: skip it
      continue;
    }
    // s is in a hole that ends at r.left.
    if (s >= limit) break;
    *hole_end = SeqMin(r.left, limit);
    return s;
  }
  if (s >= limit) {
    *hole_end = limit;
    return limit;
  }
  *hole_end = limit;
  return s;
}

SeqNum TcpSackScoreboard::HighestHole(SeqNum snd_una, SeqNum limit, SeqNum* start) const {
  SeqNum end = limit;
  for (auto it = ranges_.rbegin(); it != ranges_.rend(); ++it) {
    if (it->left >= end) continue;
    if (it->right < end) {
      // [it->right, end) is unSACKed.
      *start = SeqMax(it->right, snd_una);
      return *start < end ? end : snd_una;
    }
    end = it->left;  // the range reaches the top: the hole is below it
  }
  *start = snd_una;
  return snd_una < end ? end : snd_una;
}

}  // namespace pytcp
