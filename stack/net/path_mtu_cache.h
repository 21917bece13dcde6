// PathMtuCache: the path MTU per destination learned from ICMP, shared by every
// connection to it, for IPv4 ("fragmentation needed", RFC 1191) and IPv6 (Packet Too Big,
// RFC 8201) alike.
//
// RFCs to read: RFC 1191 §6.3 and RFC 8201 §4 (the estimate is only lowered by a report
// and raised again after a while — at least 5 minutes, 10 recommended; Linux's
// net.ipv4.route.mtu_expires is 600 s for both families), RFC 1191 §5 (the value a report
// may set is checked by the transport that believed it: stack/tcp/tcp_pmtu.h).
//
// The cache only remembers lowered values; the link's MTU is the default. Every change
// (a lowering, or an entry aging out) bumps `generation()`, so a user that caches what it
// derived from the MTU (a TCP connection's MSS) re-reads it when, and only when, something
// changed — Linux's dst cookie check in tcp_current_mss, without a lookup per segment.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "stack/base/clock.h"

namespace pytcp {

template <typename Address, typename AddressHasher = absl::Hash<Address>>
class PathMtuCache {
 public:
  // Linux's ip_rt_mtu_expires (and RFC 8201 §4's recommendation): 10 minutes.
  static constexpr Duration kDefaultExpiry = std::chrono::minutes(10);

  explicit PathMtuCache(Duration expiry = kDefaultExpiry) : expiry_(expiry) {}

  // The path MTU toward `dst` for a link of `link_mtu`.
  uint32_t Get(const Address& dst, uint32_t link_mtu) const {
    auto it = entries_.find(dst);
    return it == entries_.end() ? link_mtu : std::min(link_mtu, it->second.mtu);
  }

  // A report that the path to `dst` takes at most `mtu` (already checked and clamped by
  // the caller). Only a lower value is taken (RFC 1191 §6.3: "never increase"); it lasts
  // `expiry` from now. True when the MTU changed.
  bool Lower(const Address& dst, uint32_t mtu, uint32_t link_mtu, Instant now) {
    if (mtu >= Get(dst, link_mtu)) return false;
    const Instant expires = now + expiry_;
    entries_[dst] = Entry{mtu, expires};
    next_ = std::min(next_, expires);
    ++generation_;
    return true;
  }

  // Entries older than the expiry go: the path MTU is the link's again, and the next
  // report lowers it anew (RFC 1191 §6.3 "periodically increase", RFC 8201 §4).
  void Expire(Instant now) {
    if (now < next_) return;
    const size_t before = entries_.size();
    absl::erase_if(entries_, [&](const auto& kv) { return kv.second.expires <= now; });
    if (entries_.size() != before) ++generation_;
    next_ = Instant::Infinite();
    for (const auto& [dst, e] : entries_) next_ = std::min(next_, e.expires);
  }

  Instant NextDeadline() const { return next_; }
  uint64_t generation() const { return generation_; }
  size_t size() const { return entries_.size(); }
  Duration expiry() const { return expiry_; }
  void set_expiry(Duration d) { expiry_ = d; }

 private:
  struct Entry {
    uint32_t mtu;
    Instant expires;
  };
  absl::flat_hash_map<Address, Entry, AddressHasher> entries_;
  Duration expiry_;
  Instant next_ = Instant::Infinite();
  uint64_t generation_ = 0;
};

}  // namespace pytcp
