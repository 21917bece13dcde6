// How often a router redirects one source (RFC 1812 §5.2.7.2 and RFC 4861 §8.2 ask for a
// limit, not for numbers): as Linux's ip_rt_send_redirect, the first at once, then gaps of
// 20 ms doubling, at most 9, then none until the source has needed none for 20 s.
#pragma once

#include <cstddef>

#include "absl/container/flat_hash_map.h"
#include "stack/base/clock.h"

namespace pytcp {

template <typename Addr, typename Hash>
class RedirectLimiter {
 public:
  // True when `source`, which a forwarded packet would have a redirect sent to now, may get
  // one.
  bool Allowed(const Addr& source, Instant now) {
    constexpr Duration kFirstGap = std::chrono::milliseconds(20);  // ip_rt_redirect_load
    constexpr int kMaxRedirects = 9;                               // ip_rt_redirect_number
    constexpr Duration kSilence = std::chrono::seconds(20);        // ip_rt_redirect_silence
    constexpr size_t kMaxSources = 4096;  // bounded: forget everyone rather than grow
    if (sources_.size() >= kMaxSources && !sources_.contains(source)) sources_.clear();
    Backoff& b = sources_[source];
    if (b.sent > 0 && now - b.last_need >= kSilence) b = Backoff{};
    b.last_need = now;
    if (b.sent >= kMaxRedirects || now < b.next) return false;
    b.next = now + kFirstGap * (1 << b.sent);
    ++b.sent;
    return true;
  }

 private:
  struct Backoff {
    int sent = 0;
    Instant next;
    Instant last_need;
  };
  absl::flat_hash_map<Addr, Backoff, Hash> sources_;
};

}  // namespace pytcp
