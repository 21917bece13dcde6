#include "stack/ip4/ip4_address_table.h"

#include <algorithm>

namespace pytcp {

std::string_view ToString(Ip4AddressState s) {
  switch (s) {
    case Ip4AddressState::kTentative: return "tentative";
    case Ip4AddressState::kOptimistic: return "optimistic";
    case Ip4AddressState::kPreferred: return "preferred";
    case Ip4AddressState::kDuplicate: return "duplicate";
  }
  return "?";
}

void Ip4AddressTable::Add(const Ip4AddressEntry& entry) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Ip4AddressEntry& e) {
    return e.ifaddr.address() == entry.ifaddr.address();
  });
  if (it != entries_.end()) {
    *it = entry;
  } else {
    entries_.push_back(entry);
  }
  Notify(entry);
}

bool Ip4AddressTable::Remove(Ip4Address address) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Ip4AddressEntry& e) { return e.ifaddr.address() == address; });
  if (it == entries_.end()) return false;
  Ip4AddressEntry removed = *it;
  entries_.erase(it);
  removed.state = Ip4AddressState::kDuplicate;  // listeners see it as no longer usable
  Notify(removed);
  return true;
}

void Ip4AddressTable::SetState(Ip4Address address, Ip4AddressState state) {
  for (auto& e : entries_) {
    if (e.ifaddr.address() == address && e.state != state) {
      e.state = state;
      Notify(e);
    }
  }
}

const Ip4AddressEntry* Ip4AddressTable::Find(Ip4Address address) const {
  for (const auto& e : entries_) {
    if (e.ifaddr.address() == address) return &e;
  }
  return nullptr;
}

bool Ip4AddressTable::IsDirectedBroadcast(Ip4Address address) const {
  for (const auto& e : entries_) {
    if (!e.usable()) continue;
    auto bcast = e.ifaddr.directed_broadcast();
    if (bcast && *bcast == address) return true;
  }
  return false;
}

}  // namespace pytcp
