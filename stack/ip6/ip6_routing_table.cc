#include "stack/ip6/ip6_routing_table.h"

#include <algorithm>

namespace pytcp {

void Ip6RoutingTable::Add(const Ip6Route& route) {
  for (auto& r : routes_) {
    if (r.network == route.network && r.gateway == route.gateway && r.origin == route.origin &&
        r.iface == route.iface) {
      r = route;
      return;
    }
  }
  routes_.push_back(route);
}

void Ip6RoutingTable::Remove(const Ip6Network& network, Ip6RouteOrigin origin, int iface) {
  std::erase_if(routes_, [&](const Ip6Route& r) {
    return r.network == network && r.origin == origin && (iface < 0 || r.iface == iface);
  });
}

void Ip6RoutingTable::AddRouter(const Ip6DefaultRouter& router) {
  for (auto& r : routers_) {
    if (r.address == router.address) {
      r = router;
      return;
    }
  }
  routers_.push_back(router);
}

void Ip6RoutingTable::RemoveRouter(const Ip6Address& address) {
  std::erase_if(routers_, [&](const Ip6DefaultRouter& r) { return r.address == address; });
}

bool Ip6RoutingTable::IsRouter(const Ip6Address& a) const {
  return std::any_of(routers_.begin(), routers_.end(),
                     [&](const Ip6DefaultRouter& r) { return r.address == a; });
}

void Ip6RoutingTable::Poll(Instant now) {
  // RFC 4861 §6.3.5: timing out prefixes and default routers.
  std::erase_if(routes_, [&](const Ip6Route& r) { return r.expires <= now; });
  std::erase_if(routers_, [&](const Ip6DefaultRouter& r) { return r.expires <= now; });
}

Instant Ip6RoutingTable::NextDeadline() const {
  Instant next = Instant::Infinite();
  for (const auto& r : routes_) next = EarliestOf(next, r.expires);
  for (const auto& r : routers_) next = EarliestOf(next, r.expires);
  return next;
}

}  // namespace pytcp
