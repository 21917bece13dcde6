// Template definitions of Reassembler; included by reassembler.h only.
#pragma once

#include <algorithm>
#include <cstring>

namespace pytcp {

template <typename Key>
bool Reassembler<Key>::MakeRoom(size_t bytes, const Key& keep) {
  while (memory_used_ + bytes > config_.memory_cap || datagrams_.size() > config_.max_datagrams) {
    auto oldest = datagrams_.end();
    for (auto it = datagrams_.begin(); it != datagrams_.end(); ++it) {
      if (it->first == keep) continue;
      if (oldest == datagrams_.end() || it->second.created < oldest->second.created) oldest = it;
    }
    if (oldest == datagrams_.end()) return false;
    ++stats_.evicted;
    Erase(oldest);
  }
  return true;
}

template <typename Key>
typename Reassembler<Key>::Result Reassembler<Key>::Add(const Key& key, size_t offset, bool more,
                                                        std::span<const uint8_t> data,
                                                        std::span<const uint8_t> header,
                                                        Instant now) {
  const size_t end = offset + data.size();
  if (end > config_.max_payload || (more && (data.size() % 8 != 0 || data.empty()))) {
    return {ReassemblyOutcome::kBadLength, {}, {}};
  }
  if (data.size() > config_.memory_cap) return {ReassemblyOutcome::kNoMemory, {}, {}};

  auto it = datagrams_.find(key);
  if (it == datagrams_.end()) {
    Datagram d;
    d.created = now;
    d.deadline = now + config_.timeout;
    it = datagrams_.emplace(key, std::move(d)).first;
  }
  Datagram& d = it->second;
  if (d.discarded) return {ReassemblyOutcome::kDiscarded, {}, {}};

  // The last fragment fixes the total; fragments may not reach past it, nor may a second
  // "last" disagree (RFC 8200 §4.5 treats these as errors; RFC 815 implies the same).
  if (!more) {
    if ((d.total && *d.total != end) || (!d.pieces.empty() && d.pieces.back().end > end)) {
      d.discarded = true;
      memory_used_ -= d.held;
      d.held = 0;
      d.pieces.clear();
      d.buffer = {};
      return {ReassemblyOutcome::kOverlap, {}, {}};
    }
    d.total = end;
  } else if (d.total && end > *d.total) {
    return {ReassemblyOutcome::kBadLength, {}, {}};
  }

  // Find the insertion point and check for overlap with neighbours.
  auto pos = std::lower_bound(d.pieces.begin(), d.pieces.end(), offset,
                              [](const Piece& p, size_t off) { return p.begin < off; });
  if (pos != d.pieces.end() && pos->begin == offset && pos->end == end) {
    // Same range: a duplicate if the bytes agree, otherwise an overlap attack.
    if (std::memcmp(d.buffer.data() + offset, data.data(), data.size()) == 0) {
      return {ReassemblyOutcome::kDuplicate, {}, {}};
    }
  }
  const bool overlaps_next = pos != d.pieces.end() && pos->begin < end;
  const bool overlaps_prev = pos != d.pieces.begin() && std::prev(pos)->end > offset;
  if (overlaps_next || overlaps_prev) {
    d.discarded = true;  // RFC 5722 §4: discard, and keep discarding until the timer
    memory_used_ -= d.held;
    d.held = 0;
    d.pieces.clear();
    d.buffer = {};
    d.buffer.shrink_to_fit();
    return {ReassemblyOutcome::kOverlap, {}, {}};
  }

  if (!MakeRoom(data.size(), key)) {
    Erase(datagrams_.find(key));
    return {ReassemblyOutcome::kNoMemory, {}, {}};
  }
  // MakeRoom may have erased other entries; `d` (ours) is unaffected only if the map did
  // not rehash, which erase never does in absl's flat_hash_map.
  if (d.buffer.size() < end) d.buffer.resize(end);
  std::memcpy(d.buffer.data() + offset, data.data(), data.size());
  d.pieces.insert(pos, Piece{offset, end});
  d.held += data.size();
  memory_used_ += data.size();
  if (offset == 0) d.first_header.assign(header.begin(), header.end());

  // Complete when the pieces cover [0, total) without a hole.
  if (!d.total) return {ReassemblyOutcome::kHeld, {}, {}};
  size_t covered = 0;
  for (const Piece& p : d.pieces) {
    if (p.begin != covered) return {ReassemblyOutcome::kHeld, {}, {}};
    covered = p.end;
  }
  if (covered != *d.total) return {ReassemblyOutcome::kHeld, {}, {}};
  Result result{ReassemblyOutcome::kComplete, std::move(d.buffer), std::move(d.first_header)};
  result.payload.resize(*d.total);
  Erase(it);
  return result;
}

template <typename Key>
template <typename Fn>
void Reassembler<Key>::Poll(Instant now, Fn&& on_timeout) {
  for (auto it = datagrams_.begin(); it != datagrams_.end();) {
    if (it->second.deadline <= now) {
      if (!it->second.discarded) {
        ++stats_.timeouts;
        const Datagram& d = it->second;
        std::span<const uint8_t> first_data;
        if (!d.pieces.empty() && d.pieces.front().begin == 0) {
          first_data = std::span<const uint8_t>(d.buffer).first(
              std::min<size_t>(8, d.pieces.front().end));
        }
        on_timeout(it->first, std::span<const uint8_t>(d.first_header), first_data);
      }
      auto victim = it++;
      Erase(victim);
    } else {
      ++it;
    }
  }
}

template <typename Key>
Instant Reassembler<Key>::NextDeadline() const {
  Instant next = Instant::Infinite();
  for (const auto& [key, d] : datagrams_) next = EarliestOf(next, d.deadline);
  return next;
}

}  // namespace pytcp
