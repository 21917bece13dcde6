// Template definitions of NeighbourCache; included by neighbour_cache.h only.
#pragma once

#include <utility>

namespace pytcp {

template <typename Addr>
typename NeighbourCache<Addr>::Entry* NeighbourCache<Addr>::CreateEntry(const Addr& addr,
                                                                        Instant now) {
  if (entries_.size() >= config_.max_entries) {
    // Make room by forgetting the least recently used entry that nothing waits on
    // (STALE first); INCOMPLETE entries with queued packets are never evicted.
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      const Entry& e = it->second;
      if (e.state == NeighbourState::kPermanent || !e.queue.empty()) continue;
      if (victim == entries_.end() || e.last_used < victim->second.last_used) victim = it;
    }
    if (victim == entries_.end()) return nullptr;
    entries_.erase(victim);
  }
  Entry& e = entries_[addr];
  e = Entry{};
  e.last_used = now;
  e.last_updated = now;
  return &e;
}

template <typename Addr>
void NeighbourCache<Addr>::EnterReachable(Entry& e, Instant now) {
  e.state = NeighbourState::kReachable;
  e.probes_sent = 0;
  e.last_updated = now;
  e.deadline = now + config_.reachable_time;
}

template <typename Addr>
void NeighbourCache<Addr>::EnterStale(Entry& e, Instant now) {
  e.state = NeighbourState::kStale;
  e.probes_sent = 0;
  e.last_updated = now;
  // STALE has no protocol timer; this deadline is only garbage collection.
  e.deadline = std::max(e.last_used, now) + config_.stale_gc_time;
}

template <typename Addr>
void NeighbourCache<Addr>::Flush(const Addr& addr, Entry& e) {
  // Move the queue out first: TransmitQueued may re-enter the cache.
  std::deque<Packet> queue = std::move(e.queue);
  e.queue.clear();
  const MacAddress mac = e.mac;
  for (Packet& p : queue) actions_->TransmitQueued(addr, mac, std::move(p));
}

template <typename Addr>
typename NeighbourCache<Addr>::ResolveResult NeighbourCache<Addr>::Resolve(const Addr& addr,
                                                                           Instant now,
                                                                           MacAddress* mac,
                                                                           Packet* packet) {
  auto it = entries_.find(addr);
  if (it == entries_.end()) {
    // RFC 4861 §7.2.2: create an INCOMPLETE entry, queue the packet, solicit.
    Entry* e = CreateEntry(addr, now);
    if (e == nullptr) return ResolveResult::kDropped;
    if (packet != nullptr) e->queue.push_back(std::move(*packet));
    e->probes_sent = 1;
    e->deadline = now + config_.retrans_timer;
    actions_->SendSolicitation(addr, std::nullopt, now);
    return ResolveResult::kQueued;
  }
  Entry& e = it->second;
  e.last_used = now;
  switch (e.state) {
    case NeighbourState::kIncomplete:
      if (packet == nullptr) return ResolveResult::kQueued;
      if (e.queue.size() >= config_.max_queued_per_entry) {
        // Linux drops the oldest queued packet to keep the newest; do the same.
        e.queue.pop_front();
        e.queue.push_back(std::move(*packet));
        return ResolveResult::kQueued;
      }
      e.queue.push_back(std::move(*packet));
      return ResolveResult::kQueued;
    case NeighbourState::kStale:
      // RFC 4861 §7.3.3: first use of a STALE entry starts the DELAY timer.
      e.state = NeighbourState::kDelay;
      e.deadline = now + config_.delay_first_probe_time;
      break;
    case NeighbourState::kReachable:
    case NeighbourState::kDelay:
    case NeighbourState::kProbe:
    case NeighbourState::kPermanent:
      break;
  }
  *mac = e.mac;
  return ResolveResult::kResolved;
}

template <typename Addr>
void NeighbourCache<Addr>::OnAdvertisement(const Addr& addr, const MacAddress& mac,
                                           bool solicited, bool override_flag, bool is_router,
                                           Instant now) {
  auto it = entries_.find(addr);
  if (it == entries_.end()) return;  // RFC 4861 §7.2.5: no entry -> silently discard
  Entry& e = it->second;
  if (e.state == NeighbourState::kPermanent) return;
  e.is_router = is_router;
  if (e.state == NeighbourState::kIncomplete) {
    e.mac = mac;
    if (solicited) {
      EnterReachable(e, now);
    } else {
      EnterStale(e, now);
    }
    Flush(addr, e);
    return;
  }
  const bool same_mac = e.mac == mac;
  if (!override_flag && !same_mac) {
    // A different address without override: keep ours, but it is now suspect.
    if (e.state == NeighbourState::kReachable) EnterStale(e, now);
    return;
  }
  e.mac = mac;
  if (solicited) {
    EnterReachable(e, now);
  } else if (!same_mac) {
    EnterStale(e, now);
  }
}

template <typename Addr>
void NeighbourCache<Addr>::OnSolicitationFrom(const Addr& addr, const MacAddress& mac,
                                              Instant now) {
  auto it = entries_.find(addr);
  if (it == entries_.end()) {
    Entry* e = CreateEntry(addr, now);
    if (e == nullptr) return;
    e->mac = mac;
    EnterStale(*e, now);
    return;
  }
  Entry& e = it->second;
  if (e.state == NeighbourState::kPermanent) return;
  if (e.state == NeighbourState::kIncomplete) {
    e.mac = mac;
    EnterStale(e, now);
    Flush(addr, e);
    return;
  }
  if (e.mac != mac) {
    e.mac = mac;
    EnterStale(e, now);
  }
}

template <typename Addr>
void NeighbourCache<Addr>::MergeIfPresent(const Addr& addr, const MacAddress& mac, Instant now) {
  if (entries_.contains(addr)) OnSolicitationFrom(addr, mac, now);
}

template <typename Addr>
void NeighbourCache<Addr>::ConfirmReachable(const Addr& addr, Instant now) {
  auto it = entries_.find(addr);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (e.state == NeighbourState::kIncomplete || e.state == NeighbourState::kPermanent) return;
  EnterReachable(e, now);
}

template <typename Addr>
void NeighbourCache<Addr>::AddPermanent(const Addr& addr, const MacAddress& mac) {
  Entry& e = entries_[addr];
  std::deque<Packet> queue = std::move(e.queue);
  e = Entry{};
  e.state = NeighbourState::kPermanent;
  e.mac = mac;
  e.queue = std::move(queue);
  Flush(addr, e);
}

template <typename Addr>
bool NeighbourCache<Addr>::SetByAdmin(const Addr& addr, std::optional<MacAddress> mac,
                                      Instant now) {
  auto it = entries_.find(addr);
  if (!mac) {
    if (it == entries_.end() || it->second.state == NeighbourState::kIncomplete) return false;
    mac = it->second.mac;
  }
  Entry* e = it != entries_.end() ? &it->second : CreateEntry(addr, now);
  if (e == nullptr) return false;
  e->mac = *mac;
  EnterStale(*e, now);
  Flush(addr, *e);
  return true;
}

template <typename Addr>
void NeighbourCache<Addr>::Remove(const Addr& addr) {
  entries_.erase(addr);
}

template <typename Addr>
void NeighbourCache<Addr>::Poll(Instant now) {
  std::vector<std::pair<Addr, std::vector<Packet>>> failed;
  std::vector<std::pair<Addr, std::optional<MacAddress>>> solicit;
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    if (e.deadline > now) {
      ++it;
      continue;
    }
    bool erase = false;
    switch (e.state) {
      case NeighbourState::kIncomplete:
        if (e.probes_sent >= config_.max_multicast_solicit) {
          std::vector<Packet> dropped(std::make_move_iterator(e.queue.begin()),
                                      std::make_move_iterator(e.queue.end()));
          failed.emplace_back(it->first, std::move(dropped));
          erase = true;
        } else {
          ++e.probes_sent;
          e.deadline = now + config_.retrans_timer;
          solicit.emplace_back(it->first, std::nullopt);
        }
        break;
      case NeighbourState::kReachable:
        EnterStale(e, now);
        break;
      case NeighbourState::kStale:
        erase = true;  // unused for stale_gc_time
        break;
      case NeighbourState::kDelay:
        // RFC 4861 §7.3.3: no confirmation during DELAY -> PROBE with unicast solicits.
        e.state = NeighbourState::kProbe;
        e.probes_sent = 1;
        e.deadline = now + config_.retrans_timer;
        solicit.emplace_back(it->first, e.mac);
        break;
      case NeighbourState::kProbe:
        if (e.probes_sent >= config_.max_unicast_solicit) {
          erase = true;
        } else {
          ++e.probes_sent;
          e.deadline = now + config_.retrans_timer;
          solicit.emplace_back(it->first, e.mac);
        }
        break;
      case NeighbourState::kPermanent:
        e.deadline = Instant::Infinite();
        break;
    }
    if (erase) {
      entries_.erase(it++);
    } else {
      ++it;
    }
  }
  // Callbacks run after the walk: they may touch the cache.
  for (auto& [addr, mac] : solicit) actions_->SendSolicitation(addr, mac, now);
  for (auto& [addr, dropped] : failed) actions_->ResolutionFailed(addr, std::move(dropped), now);
}

template <typename Addr>
Instant NeighbourCache<Addr>::NextDeadline() const {
  Instant next = Instant::Infinite();
  for (const auto& [addr, e] : entries_) next = EarliestOf(next, e.deadline);
  return next;
}

}  // namespace pytcp
