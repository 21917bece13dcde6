#include "stack/stack_routes.h"

#include <fmt/format.h>

#include <charconv>

#include "stack/base/comma_list.h"

namespace pytcp {
namespace {

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> w;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) w.push_back(s.substr(start, i - start));
  }
  return w;
}

absl::Status Invalid(std::string_view what) { return absl::InvalidArgumentError(std::string(what)); }

// PREFIX into `r` (its family too). `default` is left for the gateway to decide.
absl::Status ParsePrefix(std::string_view text, StaticRoute& r, bool& family_open) {
  family_open = text == "default";
  if (family_open) return absl::OkStatus();
  const bool ip6 = text.find(':') != std::string_view::npos;
  std::string with_len(text);
  if (text.find('/') == std::string_view::npos) with_len += ip6 ? "/128" : "/32";
  r.ip6 = ip6;
  if (ip6) {
    if (auto n = Ip6Network::Parse(with_len)) {
      r.destination6 = *n;
      return absl::OkStatus();
    }
  } else if (auto n = Ip4Network::Parse(with_len)) {
    r.destination4 = *n;
    return absl::OkStatus();
  }
  // Say which part is wrong: the address, the length, or bits set beyond the length
  // (Linux: "Invalid prefix for given prefix length").
  const size_t slash = text.find('/');
  const std::string_view addr = text.substr(0, slash);
  const bool address_ok = ip6 ? Ip6Address::Parse(addr).has_value() : Ip4Address::Parse(addr).has_value();
  if (!address_ok) {
    return Invalid(fmt::format("'{}' is not a prefix: expected 'default', a.b.c.d/len or x::/len",
                               text));
  }
  const std::string_view len = text.substr(slash + 1);
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
  const unsigned max = ip6 ? 128 : 32;
  if (ec != std::errc() || end != len.data() + len.size() || n > max) {
    return Invalid(fmt::format("prefix length '{}' is not a number from 0 to {}", len, max));
  }
  return Invalid(fmt::format("'{}' has bits set beyond its prefix length (write the network, "
                             "such as {})", text, ip6 ? "fd78::/64" : "10.78.0.0/24"));
}

absl::StatusOr<StaticRoute> Parse(std::string_view text, bool gateway_required) {
  const std::vector<std::string_view> w = Words(text);
  if (w.empty()) return Invalid("an empty route");
  StaticRoute r;
  bool family_open = false;
  if (auto s = ParsePrefix(w[0], r, family_open); !s.ok()) return s;
  for (size_t i = 1; i < w.size(); i += 2) {
    const std::string_view key = w[i];
    if (i + 1 >= w.size()) return Invalid(fmt::format("'{}' needs a value", key));
    const std::string_view value = w[i + 1];
    if (key == "via") {
      if (r.gateway) return Invalid("two gateways ('via' given twice)");
      if (auto a4 = Ip4Address::Parse(value)) {
        r.gateway = IpAddress(*a4);
      } else if (auto a6 = Ip6Address::Parse(value)) {
        r.gateway = IpAddress(*a6);
      } else {
        return Invalid(fmt::format("gateway '{}' is not an IPv4 or IPv6 address", value));
      }
    } else if (key == "dev") {
      r.device = std::string(value);
    } else if (key == "metric") {
      uint32_t m = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), m);
      if (ec != std::errc() || end != value.data() + value.size()) {
        return Invalid(fmt::format("metric '{}' is not an integer from 0 to 4294967295", value));
      }
      r.metric = m;
      r.metric_given = true;
    } else {
      return Invalid(fmt::format("unknown word '{}' (expected via, dev or metric)", key));
    }
  }
  if (family_open) r.ip6 = r.gateway && !r.gateway->is_v4();
  if (r.ip6 && !r.metric_given) r.metric = 1024;
  if (r.gateway) {
    if (r.gateway->is_v4() == r.ip6) {
      return Invalid(fmt::format("gateway {} is not of the prefix's family", r.gateway->ToString()));
    }
    if (r.gateway->is_unspecified() || r.gateway->is_multicast()) {
      return Invalid(fmt::format("gateway {} is not a unicast address", r.gateway->ToString()));
    }
  } else if (gateway_required && r.device.empty()) {
    return Invalid("a route needs 'via GATEWAY' or 'dev IFACE'");
  }
  return r;
}

}  // namespace

std::string StaticRoute::DestinationText() const {
  if (ip6) return destination6.prefix_length() == 0 ? "default" : destination6.ToString();
  return destination4.prefix_length() == 0 ? "default" : fmt::format("{}", destination4);
}

absl::StatusOr<StaticRoute> ParseStaticRoute(std::string_view text) { return Parse(text, true); }

absl::StatusOr<StaticRoute> ParseStaticRouteToDelete(std::string_view text) {
  return Parse(text, false);
}

absl::StatusOr<std::vector<StaticRoute>> ParseStaticRoutes(std::string_view list) {
  std::vector<StaticRoute> out;
  for (std::string_view part : SplitCommaList(list, /*keep_empty=*/true)) {
    auto r = ParseStaticRoute(part);
    if (!r.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("route '{}': {}", part, std::string(r.status().message())));
    }
    out.push_back(*r);
  }
  return out;
}

}  // namespace pytcp
