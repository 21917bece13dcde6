#include "stack/tcp/tcp_reassembly.h"

#include <algorithm>
#include <array>

namespace pytcp {

bool TcpReassembly::Add(SeqNum left, SeqNum right) {
  if (!(left < right)) return true;
  ++clock_;
  // First range whose right edge reaches `left` (touching ranges merge).
  auto it = std::find_if(ranges_.begin(), ranges_.end(),
                         [&](const Range& r) { return r.right >= left; });
  if (it == ranges_.end() || it->left > right) {
    if (ranges_.size() >= max_ranges_) return false;
    ranges_.insert(it, Range{left, right, clock_});
    return true;
  }
  // Merge every range that overlaps or touches [left, right).
  it->left = SeqMin(it->left, left);
  it->right = SeqMax(it->right, right);
  it->stamp = clock_;
  auto next = it + 1;
  while (next != ranges_.end() && next->left <= it->right) {
    it->right = SeqMax(it->right, next->right);
    next = ranges_.erase(next);
  }
  return true;
}

bool TcpReassembly::Covers(SeqNum left, SeqNum right) const {
  for (const Range& r : ranges_) {
    if (r.left <= left && right <= r.right) return true;
    if (r.left > left) break;
  }
  return false;
}

SeqNum TcpReassembly::Advance(SeqNum rcv_nxt) {
  size_t drop = 0;
  for (const Range& r : ranges_) {
    if (r.left > rcv_nxt) break;
    rcv_nxt = SeqMax(rcv_nxt, r.right);
    ++drop;
  }
  ranges_.erase(ranges_.begin(), ranges_.begin() + static_cast<std::ptrdiff_t>(drop));
  return rcv_nxt;
}

size_t TcpReassembly::SackBlocks(TcpSackBlock* out, size_t max) const {
  max = std::min(max, kTcpMaxSackBlocks);
  if (max == 0) return 0;
  std::array<const Range*, kTcpMaxSackBlocks> best{};
  size_t n = 0;
  // Selection of the `max` most recent ranges (max is at most 4).
  for (const Range& r : ranges_) {
    size_t pos = n < max ? n++ : max;
    if (pos == max) {
      if (r.stamp <= best[max - 1]->stamp) continue;
      pos = max - 1;
    }
    best[pos] = &r;
    while (pos > 0 && best[pos - 1]->stamp < best[pos]->stamp) {
      std::swap(best[pos - 1], best[pos]);
      --pos;
    }
  }
  for (size_t i = 0; i < n; ++i) out[i] = TcpSackBlock{best[i]->left, best[i]->right};
  return n;
}

}  // namespace pytcp
