// The IPv4 routing table of a host: connected routes for each configured network, the
// default gateway, and static routes; longest-prefix match, then lowest metric.
//
// RFCs to read: RFC 1122 §3.3.1 (routing outbound datagrams), RFC 1812 §5.2.4.3
// (longest match), RFC 4632.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "stack/net/ip4_address.h"
#include "stack/net/ip4_network.h"

namespace pytcp {

enum class RouteOrigin : uint8_t { kConnected, kStatic, kDhcp, kRouterAdvertisement };
std::string_view ToString(RouteOrigin o);

struct Ip4Route {
  Ip4Network destination;
  Ip4Address gateway;           // unspecified: the destination is on-link
  Ip4Address preferred_source;  // unspecified: chosen by source address selection
  uint32_t metric = 0;
  RouteOrigin origin = RouteOrigin::kStatic;
  uint8_t iface = 0;            // the interface it leaves by (the stack's, by position)

  bool on_link() const { return gateway.is_unspecified(); }
  bool operator==(const Ip4Route&) const = default;
};

class Ip4RoutingTable {
 public:
  // Adds a route, replacing one with the same destination, gateway and origin.
  void Add(const Ip4Route& route);
  bool Remove(const Ip4Network& destination, Ip4Address gateway);
  void RemoveIf(RouteOrigin origin, Ip4Address preferred_source);
  void RemoveOrigin(RouteOrigin origin);
  // Removes the routes `pred` selects; returns how many.
  template <typename Pred>
  size_t RemoveWhere(Pred&& pred) {
    return std::erase_if(routes_, std::forward<Pred>(pred));
  }

  // The most specific route to `dst` (ties broken by metric, then by insertion order).
  std::optional<Ip4Route> Lookup(Ip4Address dst) const;

  const std::vector<Ip4Route>& routes() const { return routes_; }

 private:
  std::vector<Ip4Route> routes_;
};

}  // namespace pytcp
