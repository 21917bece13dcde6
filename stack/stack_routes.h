// Static routes in the words of `ip route`: what PYTCP_ROUTES lists, what the console's
// `route add` and `route del` take, and the lines `show routes` prints for every route of
// both families (`ip route; ip -6 route`), so that a router's table reads as Linux's.
//
//   PREFIX via GATEWAY [dev IFACE] [metric N]
//   PREFIX dev IFACE [metric N]              (on-link: the destination is resolved itself)
//
// PREFIX is `default`, an IPv4 `a.b.c.d/len` or an IPv6 `x::/len` (a bare address is a host
// route, /32 or /128), without host bits set (Linux: "Invalid prefix for given prefix
// length"). `default` takes the gateway's family; `default dev IFACE` is IPv4 (write
// `::/0 dev IFACE` for IPv6). RFC 1812 §5.2.4.3: the longest prefix wins, then the lowest
// metric.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "stack/net/ip4_network.h"
#include "stack/net/ip6_network.h"
#include "stack/net/ip_address.h"

namespace pytcp {

struct StaticRoute {
  bool ip6 = false;
  Ip4Network destination4;  // when !ip6
  Ip6Network destination6;  // when ip6
  std::optional<IpAddress> gateway;  // absent: on-link
  std::string device;                // "" when the route does not name one
  // As `ip route add` without one: 0 for IPv4, 1024 for IPv6 (Linux's IP6_RT_PRIO_USER).
  uint32_t metric = 0;
  bool metric_given = false;  // `route del` without a metric takes any

  std::string DestinationText() const;
  bool operator==(const StaticRoute&) const = default;
};

// One route; the error says what is wrong with it (without the variable's name).
absl::StatusOr<StaticRoute> ParseStaticRoute(std::string_view text);
// `route del`'s form: PREFIX [via GATEWAY] [dev IFACE] [metric N] (the gateway optional).
absl::StatusOr<StaticRoute> ParseStaticRouteToDelete(std::string_view text);
// A comma-separated list (PYTCP_ROUTES); empty parts are an error.
absl::StatusOr<std::vector<StaticRoute>> ParseStaticRoutes(std::string_view list);

}  // namespace pytcp
