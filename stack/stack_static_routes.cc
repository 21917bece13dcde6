// The Stack's static routes (PYTCP_ROUTES, the console's `route add` and `route del`):
// checked as `ip route add` checks them, each on the interface its gateway or `dev` names.
#include <fmt/format.h>

#include <algorithm>

#include "stack/stack.h"

namespace pytcp {

uint8_t Stack::Ip4GatewayIface(Ip4Address gateway, uint8_t fallback) const {
  for (const Ip4AddressEntry& e : ip4_addresses_.entries()) {
    if (e.ifaddr.Contains(gateway)) return e.iface;
  }
  const auto via = ip4_routes_.Lookup(gateway);
  return via && via->on_link() ? via->iface : fallback;
}

absl::Status Stack::AddStaticRoute(const StaticRoute& route) {
  std::lock_guard lock(mu_);
  return AddStaticRouteLocked(route, true);
}

absl::Status Stack::AddStaticRouteLocked(const StaticRoute& route, bool check_gateway) {
  const std::optional<uint8_t> device =
      route.device.empty() ? std::nullopt : config_.InterfaceIndex(route.device);
  if (!route.device.empty() && !device) {
    return absl::NotFoundError(fmt::format("no device {} (this stack's interfaces: {})",
                                           route.device, config_.InterfaceNames()));
  }
  if (route.ip6 && device.value_or(0) != 0 && more_[*device - 1].nd == nullptr) {
    return absl::InvalidArgumentError(fmt::format(
        "IPv6 does not run on {} (PYTCP_IP6_{} is none)", route.device, route.device));
  }
  if (!route.ip6) {
    const Ip4Address gw = route.gateway ? route.gateway->v4() : Ip4Address();
    // The interface `dev` names, -1 for any (an int: GCC warns, wrongly, of an optional read
    // uninitialized in the lambdas below).
    const int want = device ? int{*device} : -1;
    if (route.gateway && check_gateway) {
      // Linux's fib_check_nh: the gateway must be reachable on a link (the named one, when
      // a device is given), through an address's network or an on-link route.
      bool on_link = std::any_of(ip4_addresses_.entries().begin(), ip4_addresses_.entries().end(),
                                 [&](const Ip4AddressEntry& e) {
                                   return e.ifaddr.Contains(gw) && (want < 0 || e.iface == want);
                                 });
      const auto via = ip4_routes_.Lookup(gw);
      on_link = on_link || (via && via->on_link() && (want < 0 || via->iface == want));
      if (!on_link) {
        return absl::InvalidArgumentError(
            fmt::format("gateway {} is not on a connected network (Nexthop has invalid gateway)",
                        gw.ToString()));
      }
    }
    for (const Ip4Route& r : ip4_routes_.routes()) {
      if (r.origin == RouteOrigin::kStatic && r.destination == route.destination4 &&
          r.metric == route.metric) {
        return absl::AlreadyExistsError(fmt::format(
            "a static route to {} with metric {} exists", route.DestinationText(), route.metric));
      }
    }
    const uint8_t iface = device ? *device : route.gateway ? Ip4GatewayIface(gw, 0) : 0;
    ip4_routes_.Add(
        Ip4Route{route.destination4, gw, Ip4Address(), route.metric, RouteOrigin::kStatic, iface});
    return absl::OkStatus();
  }
  const Ip6Address gw = route.gateway ? route.gateway->v6() : Ip6Address();
  // The interface: the named one, else the one the gateway is on (a link-local gateway
  // without a device: the first), else the first.
  uint8_t iface6 = device.value_or(0);
  if (!device && route.gateway && !gw.is_link_local()) {
    if (const auto hop = ip6_->NextHop(gw); hop && hop->address == gw) iface6 = hop->iface;
  }
  if (route.gateway && check_gateway && !gw.is_link_local()) {
    bool on_link = std::any_of(ip6_addresses_.entries().begin(), ip6_addresses_.entries().end(),
                               [&](const Ip6AddressEntry& e) { return e.ifaddr.Contains(gw) && e.iface == iface6; });
    for (const Ip6Route& r : ip6_routes_.routes()) {
      on_link = on_link || (r.on_link() && r.network.Contains(gw) && r.iface == iface6);
    }
    if (!on_link) {
      return absl::InvalidArgumentError(fmt::format(
          "gateway {} is not link-local nor on a connected network (Nexthop has invalid gateway)",
          gw.ToString()));
    }
  }
  const bool default_router = route.destination6.prefix_length() == 0 && route.gateway;
  const bool exists =
      default_router
          ? std::any_of(ip6_routes_.routers().begin(), ip6_routes_.routers().end(),
                        [&](const Ip6DefaultRouter& r) { return r.address == gw; })
          : std::any_of(ip6_routes_.routes().begin(), ip6_routes_.routes().end(), [&](const Ip6Route& r) {
              return r.origin == Ip6RouteOrigin::kStatic && r.network == route.destination6 &&
                     r.metric == route.metric;
            });
  if (exists) {
    return absl::AlreadyExistsError(fmt::format(
        "a static route to {} with metric {} exists", route.DestinationText(), route.metric));
  }
  // A default route through a gateway joins the Default Router List, as PYTCP_GW6 does
  // (RFC 4861 §6.3.6 chooses among routers by reachability, then preference).
  if (default_router) {
    ip6_routes_.AddRouter(Ip6DefaultRouter{gw, Instant::Infinite(), 0, Ip6RouteOrigin::kStatic, iface6});
  } else {
    Ip6Route r{route.destination6, gw, Ip6RouteOrigin::kStatic};
    r.metric = route.metric;
    r.iface = iface6;
    ip6_routes_.Add(r);
  }
  return absl::OkStatus();
}

absl::Status Stack::RemoveStaticRoute(const StaticRoute& route) {
  std::lock_guard lock(mu_);
  size_t removed = 0;
  const bool any_metric = !route.metric_given;  // `ip route del` without a metric takes any
  if (!route.ip6) {
    removed = ip4_routes_.RemoveWhere([&](const Ip4Route& r) {
      return r.origin == RouteOrigin::kStatic && r.destination == route.destination4 &&
             (!route.gateway || r.gateway == route.gateway->v4()) &&
             (any_metric || r.metric == route.metric);
    });
  } else {
    if (route.destination6.prefix_length() == 0 && route.gateway) {
      // Only a router configured so; one that advertised itself stays (RFC 4861 §6.3.4).
      const auto& routers = ip6_routes_.routers();
      const bool static_router = std::any_of(routers.begin(), routers.end(), [&](const Ip6DefaultRouter& r) {
        return r.address == route.gateway->v6() && r.origin == Ip6RouteOrigin::kStatic;
      });
      if (static_router) {
        ip6_routes_.RemoveRouter(route.gateway->v6());
        removed = 1;
      }
    }
    removed += ip6_routes_.RemoveWhere([&](const Ip6Route& r) {
      return r.origin == Ip6RouteOrigin::kStatic && r.network == route.destination6 &&
             (!route.gateway || r.gateway == route.gateway->v6()) &&
             (any_metric || r.metric == route.metric);
    });
  }
  if (removed == 0) {
    return absl::NotFoundError(fmt::format("no static route to {} (No such process)",
                                           route.DestinationText()));
  }
  return absl::OkStatus();
}

}  // namespace pytcp
