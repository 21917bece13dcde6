#include "stack/ip6/ip6_address_table.h"

#include <algorithm>

namespace pytcp {

std::string_view ToString(Ip6AddressState s) {
  switch (s) {
    case Ip6AddressState::kTentative: return "tentative";
    case Ip6AddressState::kOptimistic: return "optimistic";
    case Ip6AddressState::kPreferred: return "preferred";
    case Ip6AddressState::kDeprecated: return "deprecated";
    case Ip6AddressState::kDuplicated: return "duplicated";
  }
  return "?";
}

std::string_view ToString(Ip6AddressSource s) {
  switch (s) {
    case Ip6AddressSource::kLinkLocal: return "link-local";
    case Ip6AddressSource::kStatic: return "static";
    case Ip6AddressSource::kSlaac: return "slaac";
  }
  return "?";
}

void Ip6AddressTable::Notify(const Ip6AddressEntry& e, Instant now) {
  // Listeners may change the table: they get a copy.
  const Ip6AddressEntry copy = e;
  for (auto& l : listeners_) l(copy, now);
}

void Ip6AddressTable::Add(const Ip6AddressEntry& entry, Instant now) {
  for (auto& e : entries_) {
    if (e.address() == entry.address()) {
      e = entry;
      Notify(e, now);
      return;
    }
  }
  entries_.push_back(entry);
  Notify(entries_.back(), now);
}

void Ip6AddressTable::Remove(const Ip6Address& address, Instant now) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Ip6AddressEntry& e) { return e.address() == address; });
  if (it == entries_.end()) return;
  Ip6AddressEntry gone = *it;
  gone.removed = true;
  entries_.erase(it);
  Notify(gone, now);
}

void Ip6AddressTable::SetState(const Ip6Address& address, Ip6AddressState state,
                               Instant now) {
  for (auto& e : entries_) {
    if (e.address() == address && e.state != state) {
      e.state = state;
      Notify(e, now);
      return;
    }
  }
}

void Ip6AddressTable::SetLifetimes(const Ip6Address& address, Instant preferred_until,
                                   Instant valid_until, Instant now) {
  for (auto& e : entries_) {
    if (e.address() != address) continue;
    e.preferred_until = preferred_until;
    e.valid_until = valid_until;
    // A renewed preferred lifetime makes a deprecated address preferred again (§5.5.3 e).
    if (e.state == Ip6AddressState::kDeprecated && preferred_until > now) {
      e.state = Ip6AddressState::kPreferred;
    }
    Notify(e, now);
    return;
  }
}

const Ip6AddressEntry* Ip6AddressTable::Find(const Ip6Address& address) const {
  for (const auto& e : entries_) {
    if (e.address() == address) return &e;
  }
  return nullptr;
}

Ip6Address Ip6AddressTable::LinkLocal(uint8_t iface) const {
  for (const auto& e : entries_) {
    if (e.iface == iface && e.address().is_link_local() && e.usable()) return e.address();
  }
  return Ip6Address();
}

void Ip6AddressTable::Poll(Instant now) {
  std::vector<Ip6Address> expired;
  for (auto& e : entries_) {
    if (e.valid_until <= now) {
      expired.push_back(e.address());
    } else if (e.preferred_until <= now && e.state == Ip6AddressState::kPreferred) {
      e.state = Ip6AddressState::kDeprecated;  // RFC 4862 §5.5.4
      Notify(e, now);
    }
  }
  for (const auto& a : expired) Remove(a, now);
}

Instant Ip6AddressTable::NextDeadline() const {
  Instant next = Instant::Infinite();
  for (const auto& e : entries_) {
    next = EarliestOf(next, e.valid_until);
    if (e.state == Ip6AddressState::kPreferred) next = EarliestOf(next, e.preferred_until);
  }
  return next;
}

}  // namespace pytcp
