// The IP multicast groups an interface is a member of, for IPv4 and IPv6 alike: reference
// counted (several sockets, or an address and a socket, can join one group), with the
// interface's MAC filter kept in step. The first join adds the group's multicast MAC
// (RFC 1112 §6.4, RFC 2464 §7), the last leave removes it.
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

#include "stack/iface/interface.h"
#include "stack/net/mac_address.h"

namespace pytcp {

template <typename Addr>
class IpGroups {
 public:
  // `to_mac` maps a group to its Ethernet multicast address (MacAddress::FromIp4Multicast,
  // MacAddress::FromIp6Multicast).
  using MacOf = MacAddress (*)(const Addr&);
  IpGroups(Interface* iface, MacOf to_mac) : iface_(iface), to_mac_(to_mac) {}

  // True when this was the group's first join (the MAC filter now takes it).
  bool Join(const Addr& group) {
    for (auto& [g, refs] : groups_) {
      if (g == group) {
        ++refs;
        return false;
      }
    }
    groups_.emplace_back(group, 1);
    iface_->JoinMulticast(to_mac_(group));
    return true;
  }

  // True when this was the group's last leave (the MAC filter no longer takes it).
  bool Leave(const Addr& group) {
    for (auto it = groups_.begin(); it != groups_.end(); ++it) {
      if (it->first != group) continue;
      if (--it->second != 0) return false;
      groups_.erase(it);
      iface_->LeaveMulticast(to_mac_(group));
      return true;
    }
    return false;
  }

  bool Contains(const Addr& group) const {
    return std::any_of(groups_.begin(), groups_.end(),
                       [&](const auto& g) { return g.first == group; });
  }

  std::vector<Addr> List() const {
    std::vector<Addr> out;
    for (const auto& [g, refs] : groups_) out.push_back(g);
    return out;
  }

 private:
  Interface* iface_;
  MacOf to_mac_;
  std::vector<std::pair<Addr, int>> groups_;
};

}  // namespace pytcp
