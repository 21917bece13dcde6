// The IPv6 addresses of the interface, with the states and lifetimes of RFC 4862.
//
// RFCs to read: RFC 4862 §5.4 (tentative addresses and DAD), §5.5.4 (preferred and
// deprecated addresses, valid lifetime), RFC 4429 §3 (optimistic addresses), RFC 4291 §2.8
// (the addresses a node has).
//
// The table is passive data with listeners: ND (DAD, SLAAC) moves addresses between states;
// Ip6Engine keeps multicast memberships and connected prefixes in step through listeners.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <string_view>
#include <vector>

#include "stack/base/clock.h"
#include "stack/net/ip6_address.h"
#include "stack/net/ip6_network.h"

namespace pytcp {

enum class Ip6AddressState : uint8_t {
  kTentative,   // RFC 4862 §5.4: DAD running; receives only ND for itself
  kOptimistic,  // RFC 4429 §3.1: DAD running, but usable with care
  kPreferred,
  kDeprecated,  // preferred lifetime over: still valid for existing communication
  kDuplicated,  // DAD failed: never used (RFC 4862 §5.4.5)
};
std::string_view ToString(Ip6AddressState s);

enum class Ip6AddressSource : uint8_t { kLinkLocal, kStatic, kSlaac };
std::string_view ToString(Ip6AddressSource s);

struct Ip6AddressEntry {
  Ip6Interface ifaddr;
  Ip6AddressState state = Ip6AddressState::kTentative;
  Ip6AddressSource source = Ip6AddressSource::kStatic;
  Instant preferred_until = Instant::Infinite();
  Instant valid_until = Instant::Infinite();
  bool removed = false;  // set on the copy the listeners get when the entry goes away
  uint8_t iface = 0;     // the interface it is assigned to (the stack's, by position)

  const Ip6Address& address() const { return ifaddr.address(); }
  // May be a source address (RFC 4429 §3.1 lets an optimistic address be one).
  bool usable() const {
    return state == Ip6AddressState::kPreferred || state == Ip6AddressState::kDeprecated ||
           state == Ip6AddressState::kOptimistic;
  }
  // Receives packets: RFC 4862 §5.4 "a tentative address is not considered assigned".
  bool assigned() const { return usable(); }
  // Lifetimes left in whole seconds, 0xFFFFFFFF for infinite (RFC 4862 §5.5.3, as
  // netlink's ifa_cacheinfo and the RA's Prefix Information option carry them).
  uint32_t preferred_seconds_left(Instant now) const { return SecondsLeft(preferred_until, now); }
  uint32_t valid_seconds_left(Instant now) const { return SecondsLeft(valid_until, now); }

 private:
  static uint32_t SecondsLeft(Instant until, Instant now) {
    if (until.is_infinite()) return 0xFFFFFFFFu;
    if (until <= now) return 0;
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(until - now).count();
    return static_cast<uint32_t>(std::min<int64_t>(s, 0xFFFFFFFEll));
  }
};

class Ip6AddressTable {
 public:
  // Told of each change with the time it happened (time is passed, never stored).
  using Listener = std::function<void(const Ip6AddressEntry&, Instant now)>;

  // Adds or replaces the entry for the same address.
  void Add(const Ip6AddressEntry& entry, Instant now);
  void Remove(const Ip6Address& address, Instant now);
  void SetState(const Ip6Address& address, Ip6AddressState state, Instant now);
  void SetLifetimes(const Ip6Address& address, Instant preferred_until, Instant valid_until,
                    Instant now);

  const Ip6AddressEntry* Find(const Ip6Address& address) const;
  // An assigned (usable) address of ours.
  bool IsOurs(const Ip6Address& address) const {
    const Ip6AddressEntry* e = Find(address);
    return e != nullptr && e->assigned();
  }
  // The first usable link-local address of interface `iface`, or :: when there is none.
  Ip6Address LinkLocal(uint8_t iface = 0) const;
  const std::vector<Ip6AddressEntry>& entries() const { return entries_; }

  // Called after every change (state, lifetimes, added, removed).
  void AddListener(Listener l) { listeners_.push_back(std::move(l)); }

  // RFC 4862 §5.5.4: addresses whose preferred lifetime ended become deprecated, those whose
  // valid lifetime ended are removed.
  void Poll(Instant now);
  Instant NextDeadline() const;

 private:
  void Notify(const Ip6AddressEntry& e, Instant now);
  std::vector<Ip6AddressEntry> entries_;
  std::vector<Listener> listeners_;
};

}  // namespace pytcp
