#include "stack/ip4/ip4_routing_table.h"

#include <algorithm>

namespace pytcp {

std::string_view ToString(RouteOrigin o) {
  switch (o) {
    case RouteOrigin::kConnected: return "kernel";
    case RouteOrigin::kStatic: return "static";
    case RouteOrigin::kDhcp: return "dhcp";
    case RouteOrigin::kRouterAdvertisement: return "ra";
  }
  return "?";
}

void Ip4RoutingTable::Add(const Ip4Route& route) {
  for (auto& r : routes_) {
    if (r.destination == route.destination && r.gateway == route.gateway &&
        r.origin == route.origin) {
      r = route;
      return;
    }
  }
  routes_.push_back(route);
}

bool Ip4RoutingTable::Remove(const Ip4Network& destination, Ip4Address gateway) {
  const size_t before = routes_.size();
  std::erase_if(routes_, [&](const Ip4Route& r) {
    return r.destination == destination && r.gateway == gateway;
  });
  return routes_.size() != before;
}

void Ip4RoutingTable::RemoveIf(RouteOrigin origin, Ip4Address preferred_source) {
  std::erase_if(routes_, [&](const Ip4Route& r) {
    return r.origin == origin && r.preferred_source == preferred_source;
  });
}

void Ip4RoutingTable::RemoveOrigin(RouteOrigin origin) {
  std::erase_if(routes_, [&](const Ip4Route& r) { return r.origin == origin; });
}

std::optional<Ip4Route> Ip4RoutingTable::Lookup(Ip4Address dst) const {
  const Ip4Route* best = nullptr;
  for (const auto& r : routes_) {
    if (!r.destination.Contains(dst)) continue;
    if (best == nullptr || r.destination.prefix_length() > best->destination.prefix_length() ||
        (r.destination.prefix_length() == best->destination.prefix_length() &&
         r.metric < best->metric)) {
      best = &r;
    }
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

}  // namespace pytcp
