// The IPv4 addresses configured on the interface and the state of each.
//
// RFCs to read: RFC 5227 (address conflict detection), RFC 1122 §3.3.4 (multihoming).
//
// An address enters as kTentative while conflict detection probes it, or as kOptimistic
// when it may be used during probing (see AcdMode). It becomes kPreferred once probing
// found no conflict, and kDuplicate when another host was found using it: a duplicate
// address is never used as a source and packets to it are not accepted.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "stack/net/ip4_address.h"
#include "stack/net/ip4_network.h"

namespace pytcp {

enum class Ip4AddressState : uint8_t { kTentative, kOptimistic, kPreferred, kDuplicate };
std::string_view ToString(Ip4AddressState s);

enum class Ip4AddressSource : uint8_t { kStatic, kDhcp };

struct Ip4AddressEntry {
  Ip4Interface ifaddr;
  Ip4AddressState state = Ip4AddressState::kTentative;
  Ip4AddressSource source = Ip4AddressSource::kStatic;
  // The stack's interface the address is on, by position (0: the first). Every address is
  // the host's (RFC 1122 §3.3.4.2, the weak host model, as Linux): it is accepted on any
  // interface; the interface decides its connected route and whose ARP defends it.
  uint8_t iface = 0;

  // May be used as a source address and accepted as a destination.
  bool usable() const {
    return state == Ip4AddressState::kPreferred || state == Ip4AddressState::kOptimistic;
  }
};

class Ip4AddressTable {
 public:
  using Listener = std::function<void(const Ip4AddressEntry&)>;

  // Adds or replaces the entry for ifaddr.address().
  void Add(const Ip4AddressEntry& entry);
  bool Remove(Ip4Address address);
  void SetState(Ip4Address address, Ip4AddressState state);

  const Ip4AddressEntry* Find(Ip4Address address) const;
  // True for a usable address of ours.
  bool IsOurs(Ip4Address address) const {
    const Ip4AddressEntry* e = Find(address);
    return e != nullptr && e->usable();
  }
  // True for a directed broadcast of one of our usable networks (RFC 919, RFC 922).
  bool IsDirectedBroadcast(Ip4Address address) const;

  const std::vector<Ip4AddressEntry>& entries() const { return entries_; }

  // Called after every change of an entry's state (and on add/remove).
  void AddListener(Listener listener) { listeners_.push_back(std::move(listener)); }

 private:
  void Notify(const Ip4AddressEntry& e) {
    for (auto& l : listeners_) l(e);
  }
  std::vector<Ip4AddressEntry> entries_;
  std::vector<Listener> listeners_;
};

}  // namespace pytcp
