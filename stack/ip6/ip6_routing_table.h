// IPv6 routing for a host: the Prefix List, the Default Router List and static routes of
// the conceptual model of RFC 4861 §5.1, looked up by longest prefix match.
//
// RFCs to read: RFC 4861 §5.1 (conceptual data structures), §5.2 (next-hop determination),
// §6.3.4 (router lifetime, on-link prefixes from RAs), §6.3.6 (default router selection),
// RFC 4191 §2.1 (router preference), RFC 5942 (an address's prefix is not on-link unless a
// prefix or a configured route says so).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "stack/base/clock.h"
#include "stack/net/ip6_address.h"
#include "stack/net/ip6_network.h"

namespace pytcp {

enum class Ip6RouteOrigin : uint8_t { kConnected, kStatic, kRouterAdvert };

// An on-link prefix or a route through a gateway (gateway :: means on-link).
struct Ip6Route {
  Ip6Network network;
  Ip6Address gateway;
  Ip6RouteOrigin origin = Ip6RouteOrigin::kStatic;
  Instant expires = Instant::Infinite();
  uint32_t metric = 0;  // between routes of the same prefix length, the lowest wins
  uint8_t iface = 0;    // the interface it leaves by (the stack's, by position)
  bool on_link() const { return gateway.is_unspecified(); }
};

struct Ip6DefaultRouter {
  Ip6Address address;  // link-local (RFC 4861 §6.1.2)
  Instant expires = Instant::Infinite();
  int preference = 0;  // RFC 4191: high 1, medium 0, low -1
  Ip6RouteOrigin origin = Ip6RouteOrigin::kRouterAdvert;
  uint8_t iface = 0;  // the interface it was learnt on
};

// Where a packet goes next: a neighbour's address and the interface it is on.
struct Ip6NextHop {
  Ip6Address address;
  uint8_t iface = 0;
  bool operator==(const Ip6NextHop&) const = default;
};

class Ip6RoutingTable {
 public:
  // Routes and prefixes: replaces an entry of the same network, gateway, origin and
  // interface (fe80::/64 is on-link on every interface).
  void Add(const Ip6Route& route);
  // `iface` < 0: on every interface.
  void Remove(const Ip6Network& network, Ip6RouteOrigin origin, int iface = -1);
  // Removes the routes `pred` selects; returns how many.
  template <typename Pred>
  size_t RemoveWhere(Pred&& pred) {
    return std::erase_if(routes_, std::forward<Pred>(pred));
  }
  const std::vector<Ip6Route>& routes() const { return routes_; }

  // Default Router List (RFC 4861 §6.3.4): lifetime zero removes the router.
  void AddRouter(const Ip6DefaultRouter& router);
  void RemoveRouter(const Ip6Address& address);
  const std::vector<Ip6DefaultRouter>& routers() const { return routers_; }
  bool IsRouter(const Ip6Address& a) const;

  // RFC 4861 §5.2: the longest matching route or prefix; failing that, a default router
  // (RFC 4861 §6.3.6: one not known to be unreachable, by preference — `reachable(hop)`
  // tells). nullopt: no route (RFC 4861 §5.2 does not assume on-link, RFC 5942).
  template <typename Reachable>
  std::optional<Ip6NextHop> NextHop(const Ip6Address& dst, Reachable&& reachable) const {
    const Ip6Route* best = nullptr;
    for (const auto& r : routes_) {
      if (!r.network.Contains(dst)) continue;
      if (best == nullptr || r.network.prefix_length() > best->network.prefix_length() ||
          (r.network.prefix_length() == best->network.prefix_length() && r.metric < best->metric)) {
        best = &r;
      }
    }
    auto via = [&](const Ip6Route& r) { return Ip6NextHop{r.on_link() ? dst : r.gateway, r.iface}; };
    if (best != nullptr && best->network.prefix_length() > 0) return via(*best);
    const Ip6DefaultRouter* router = nullptr;
    auto up = [&](const Ip6DefaultRouter& r) { return reachable(Ip6NextHop{r.address, r.iface}); };
    for (const auto& r : routers_) {
      const bool better = router == nullptr || (up(r) && !up(*router)) ||
                          (up(r) == up(*router) && r.preference > router->preference);
      if (better) router = &r;
    }
    if (router != nullptr) return Ip6NextHop{router->address, router->iface};
    if (best != nullptr) return via(*best);  // a ::/0 route
    return std::nullopt;
  }

  void Poll(Instant now);
  Instant NextDeadline() const;

 private:
  std::vector<Ip6Route> routes_;
  std::vector<Ip6DefaultRouter> routers_;
};

}  // namespace pytcp
