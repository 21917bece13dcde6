#include "stack/stack_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "stack/base/comma_list.h"
#include "stack/base/log.h"

namespace pytcp {
namespace {

absl::Status Bad(std::string_view var, std::string_view value, std::string_view accepted) {
  return absl::InvalidArgumentError(
      fmt::format("{}='{}' is not valid: expected {}", var, value, accepted));
}


// FNV-1a of the interface name into the low 40 bits; 0x02 marks the address as locally
// administered unicast (IEEE 802 U/L bit).
MacAddress DerivedMac(std::string_view interface) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : interface) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
  return MacAddress(MacAddress::Bytes{0x02, static_cast<uint8_t>(h >> 32),
                                      static_cast<uint8_t>(h >> 24), static_cast<uint8_t>(h >> 16),
                                      static_cast<uint8_t>(h >> 8), static_cast<uint8_t>(h)});
}

// Digits only, at most `max_digits` of them.
std::optional<uint64_t> ParseDecimal(std::string_view v, size_t max_digits) {
  if (v.empty() || v.size() > max_digits) return std::nullopt;
  uint64_t n = 0;
  for (char ch : v) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(ch - '0');
  }
  return n;
}

// RFC 791 requires 68 for IPv4; IPv6 needs 1280 (RFC 8200 §5), which is checked when
// IPv6 is enabled. 9216 covers jumbo frames on a TAP.
absl::StatusOr<uint32_t> ParseMtu(std::string_view var, std::string_view v) {
  const auto mtu = ParseDecimal(v, 6);
  if (!mtu || *mtu < 68 || *mtu > 9216) {
    return Bad(var, v, "an integer from 68 to 9216 (1280 or more with IPv6)");
  }
  return static_cast<uint32_t>(*mtu);
}

absl::StatusOr<MacAddress> ParseMac(std::string_view var, std::string_view v) {
  auto mac = MacAddress::Parse(v);
  if (!mac || !mac->is_unicast() || mac->is_unspecified()) {
    return Bad(var, v, "a unicast MAC address such as 02:00:00:77:00:02");
  }
  return *mac;
}

// A comma-separated list of IPv4 address/prefix.
absl::StatusOr<std::vector<Ip4Interface>> ParseIp4Addresses(std::string_view var, std::string_view v,
                                                            std::string_view accepted) {
  std::vector<Ip4Interface> out;
  for (std::string_view part : SplitCommaList(v, true)) {
    auto ifaddr = Ip4Interface::Parse(part);
    if (!ifaddr || ifaddr->address().is_unspecified() || ifaddr->address().is_multicast() ||
        ifaddr->address().is_limited_broadcast()) {
      return Bad(var, v, accepted);
    }
    out.push_back(*ifaddr);
  }
  return out;
}

absl::StatusOr<std::vector<Ip6Interface>> ParseIp6Addresses(std::string_view var, std::string_view v,
                                                            std::string_view accepted) {
  std::vector<Ip6Interface> out;
  for (std::string_view part : SplitCommaList(v, true)) {
    auto ifaddr = Ip6Interface::Parse(part);
    if (!ifaddr || ifaddr->address().is_unspecified() || ifaddr->address().is_multicast()) {
      return Bad(var, v, accepted);
    }
    out.push_back(*ifaddr);
  }
  return out;
}

// FIRST-LAST[,LEASE_SECONDS]: a pool of at least one address, a lease of 60 s to a year.
absl::StatusOr<Dhcp4Pool> ParseDhcp4Pool(std::string_view var, std::string_view v) {
  constexpr std::string_view kAccepted =
      "FIRST-LAST[,LEASE_SECONDS] such as 10.78.0.140-10.78.0.150,3600 (a lease of 60 to "
      "31536000 seconds; 3600 when not given)";
  const auto parts = SplitCommaList(v, true);
  if (parts.empty() || parts.size() > 2) return Bad(var, v, kAccepted);
  const size_t dash = parts[0].find('-');
  if (dash == std::string_view::npos) return Bad(var, v, kAccepted);
  const auto first = Ip4Address::Parse(TrimBlanks(parts[0].substr(0, dash)));
  const auto last = Ip4Address::Parse(TrimBlanks(parts[0].substr(dash + 1)));
  if (!first || !last || first->value() > last->value() || first->is_unspecified() ||
      first->is_multicast() || last->is_multicast() || last->is_limited_broadcast()) {
    return Bad(var, v, kAccepted);
  }
  Dhcp4Pool pool{*first, *last};
  if (parts.size() == 2) {
    const auto seconds = ParseDecimal(parts[1], 8);
    if (!seconds || *seconds < 60 || *seconds > 31536000) return Bad(var, v, kAccepted);
    pool.lease_time = std::chrono::seconds(*seconds);
  }
  return pool;
}

// The pool must lie in one network of the interface's addresses, which must be static.
absl::Status CheckDhcp4Pool(std::string_view var, const Dhcp4Pool& pool,
                            const std::vector<Ip4Interface>& addresses) {
  for (const Ip4Interface& a : addresses) {
    if (a.Contains(pool.first) && a.Contains(pool.last)) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(fmt::format(
      "{}: the pool {}-{} is not inside a network of the interface's static addresses", var,
      pool.first.ToString(), pool.last.ToString()));
}

}  // namespace

MacAddress StackConfig::EffectiveMac() const { return mac ? *mac : DerivedMac(interface); }

MacAddress InterfaceConfig::EffectiveMac() const { return mac ? *mac : DerivedMac(name); }

std::optional<uint8_t> StackConfig::InterfaceIndex(std::string_view name) const {
  if (name == interface) return 0;
  for (size_t i = 0; i < more_interfaces.size(); ++i) {
    if (more_interfaces[i].name == name) return static_cast<uint8_t>(i + 1);
  }
  return std::nullopt;
}

std::string StackConfig::InterfaceNames() const {
  std::string out = interface;
  for (const InterfaceConfig& i : more_interfaces) out += ", " + i.name;
  return out;
}

std::string StackConfig::DefaultDhcp4Cache(std::string_view interface) {
  return fmt::format("/run/pytcp/dhcp4-{}.lease", interface);
}

absl::StatusOr<StackConfig> StackConfig::FromEnvironment() {
  // secure_getenv: a setuid or otherwise privileged program ignores every PYTCP_* (README
  // "Secure execution"), as glibc ignores LD_LIBRARY_PATH there.
  return FromEnvironment([](const char* name) { return ::secure_getenv(name); });
}

absl::StatusOr<StackConfig> StackConfig::FromEnvironment(
    const std::function<const char*(const char*)>& getenv) {
  StackConfig c;
  auto get = [&](const char* name) -> std::optional<std::string_view> {
    const char* v = getenv(name);
    if (v == nullptr) return std::nullopt;
    return TrimBlanks(v);
  };

  if (auto v = get("PYTCP_IFACE")) {
    // PYTCP_IFACE=tap7,tap8: a stack on several interfaces (a router, issue 18).
    std::vector<std::string> names;
    for (std::string_view name : SplitCommaList(*v, true)) {
      if (name.empty() || name.size() >= 16 || name.find('/') != std::string_view::npos ||
          std::find(names.begin(), names.end(), name) != names.end() || names.size() == 16) {
        return Bad("PYTCP_IFACE", *v,
                   "an interface name of 1 to 15 characters, or up to 16 different ones "
                   "separated by commas");
      }
      names.emplace_back(name);
    }
    if (names.empty()) return Bad("PYTCP_IFACE", *v, "an interface name of 1 to 15 characters");
    c.interface = names[0];
    for (size_t i = 1; i < names.size(); ++i) c.more_interfaces.push_back({names[i]});
  }
  if (auto v = get("PYTCP_MAC")) {
    auto mac = ParseMac("PYTCP_MAC", *v);
    if (!mac.ok()) return mac.status();
    c.mac = *mac;
  }
  for (InterfaceConfig& more : c.more_interfaces) {
    const auto var = [&](std::string_view base) { return fmt::format("{}_{}", base, more.name); };
    if (const std::string name = var("PYTCP_MAC"); auto v = get(name.c_str())) {
      auto mac = ParseMac(name, *v);
      if (!mac.ok()) return mac.status();
      more.mac = *mac;
    }
    if (const std::string name = var("PYTCP_MTU"); auto v = get(name.c_str())) {
      auto mtu = ParseMtu(name, *v);
      if (!mtu.ok()) return mtu.status();
      more.mtu = *mtu;
    }
    const std::string ip4 = var("PYTCP_IP4");
    const auto v = get(ip4.c_str());
    if (!v) {
      return absl::InvalidArgumentError(fmt::format(
          "{} is not set: interface {} (of PYTCP_IFACE) needs its IPv4 addresses, a "
          "comma-separated list of address/prefix such as 10.78.0.1/24, 'dhcp' or 'none'",
          ip4, more.name));
    }
    if (*v == "dhcp") {
      more.ip4_dhcp = true;  // its own DHCP client (RFC 2131), its lease cached apart
    } else if (*v != "none") {
      auto addresses = ParseIp4Addresses(
          ip4, *v, "'dhcp', 'none' or a comma-separated list of address/prefix such as 10.78.0.1/24");
      if (!addresses.ok()) return addresses.status();
      more.ip4_addresses = *std::move(addresses);
    }
    if (const std::string name = var("PYTCP_DHCP_SERVER"); auto vd = get(name.c_str())) {
      auto pool = ParseDhcp4Pool(name, *vd);
      if (!pool.ok()) return pool.status();
      if (auto s = CheckDhcp4Pool(name, *pool, more.ip4_addresses); !s.ok()) return s;
      more.dhcp_server = *pool;
    }
    // IPv6 on a further interface: its link-local address and SLAAC ('auto') or these
    // static addresses. Unset is 'none'.
    const std::string ip6 = var("PYTCP_IP6");
    if (auto v6 = get(ip6.c_str()); v6 && *v6 != "none") {
      more.ip6 = true;
      more.ip6_auto = *v6 == "auto";
      if (!more.ip6_auto) {
        auto addresses = ParseIp6Addresses(
            ip6, *v6, "'auto', 'none' or a comma-separated list of address/prefix such as fd78::1/64");
        if (!addresses.ok()) return addresses.status();
        more.ip6_addresses = *std::move(addresses);
      }
    }
  }
  if (auto v = get("PYTCP_IP4")) {
    constexpr std::string_view kAccepted =
        "'dhcp', 'none', or a comma-separated list of address/prefix such as 10.77.0.2/24";
    if (*v == "dhcp") {
      c.ip4_mode = Ip4Mode::kDhcp;
    } else if (*v == "none") {
      c.ip4_mode = Ip4Mode::kNone;
    } else {
      c.ip4_mode = Ip4Mode::kStatic;
      auto addresses = ParseIp4Addresses("PYTCP_IP4", *v, kAccepted);
      if (!addresses.ok()) return addresses.status();
      c.ip4_addresses = *std::move(addresses);
    }
  }
  if (auto v = get("PYTCP_GW4")) {
    auto gw = Ip4Address::Parse(*v);
    if (!gw || gw->is_unspecified() || gw->is_multicast()) {
      return Bad("PYTCP_GW4", *v, "an IPv4 unicast address such as 10.77.0.1");
    }
    c.ip4_gateway = *gw;
  }
  if (auto v = get("PYTCP_IP6")) {
    constexpr std::string_view kAccepted =
        "'auto', 'none', or a comma-separated list of address/prefix such as fd77::2/64";
    if (*v == "auto") {
      c.ip6_mode = Ip6Mode::kAuto;
    } else if (*v == "none") {
      c.ip6_mode = Ip6Mode::kNone;
    } else {
      c.ip6_mode = Ip6Mode::kStatic;
      auto addresses = ParseIp6Addresses("PYTCP_IP6", *v, kAccepted);
      if (!addresses.ok()) return addresses.status();
      c.ip6_addresses = *std::move(addresses);
    }
  }
  if (auto v = get("PYTCP_GW6")) {
    auto gw = Ip6Address::Parse(*v);
    if (!gw || gw->is_unspecified() || gw->is_multicast()) {
      return Bad("PYTCP_GW6", *v, "an IPv6 unicast address such as fe80::1 or fd77::1");
    }
    c.ip6_gateway = *gw;
  }
  if (auto v = get("PYTCP_ROUTES")) {
    auto routes = ParseStaticRoutes(*v);
    if (!routes.ok()) {
      return absl::InvalidArgumentError(fmt::format(
          "PYTCP_ROUTES='{}' is not valid: {}; expected a comma-separated list of "
          "'PREFIX via GATEWAY [metric N]' or 'PREFIX dev {} [metric N]'",
          *v, std::string(routes.status().message()), c.interface));
    }
    for (const StaticRoute& r : *routes) {
      if (!r.device.empty() && !c.InterfaceIndex(r.device)) {
        return Bad("PYTCP_ROUTES", *v,
                   fmt::format("routes on this stack's interfaces {} (dev {} is not one)",
                               c.InterfaceNames(), r.device));
      }
      if (!r.device.empty() && r.ip6 && r.device != c.interface &&
          !c.more_interfaces[*c.InterfaceIndex(r.device) - 1].ip6) {
        return Bad("PYTCP_ROUTES", *v,
                   fmt::format("IPv6 routes on interfaces IPv6 runs on (PYTCP_IP6_{} is none)",
                               r.device));
      }
    }
    c.routes = *std::move(routes);
  }
  if (auto v = get("PYTCP_FORWARDING")) {
    if (*v != "0" && *v != "1") return Bad("PYTCP_FORWARDING", *v, "'0' (a host) or '1' (a router)");
    c.forwarding = *v == "1";
  }
  if (auto v = get("PYTCP_RA")) {
    if (*v != "0" && *v != "1") return Bad("PYTCP_RA", *v, "'0' or '1' (send Router Advertisements)");
    c.router_advertisements = *v == "1";
  }
  if (auto v = get("PYTCP_DNS")) {
    for (std::string_view part : SplitCommaList(*v, true)) {
      if (auto a4 = Ip4Address::Parse(part); a4 && !a4->is_unspecified()) {
        c.dns4.push_back(*a4);
      } else if (auto a6 = Ip6Address::Parse(part); a6 && !a6->is_unspecified()) {
        c.dns6.push_back(*a6);
      } else {
        return Bad("PYTCP_DNS", *v, "a comma-separated list of IPv4 or IPv6 addresses");
      }
    }
  }
  if (auto v = get("PYTCP_MTU")) {
    auto mtu = ParseMtu("PYTCP_MTU", *v);
    if (!mtu.ok()) return mtu.status();
    c.mtu = *mtu;
  }
  if (auto v = get("PYTCP_LOG")) {
    // Validate now so that a typo is reported at start-up, not ignored.
    LogLevel dummy;
    for (std::string_view part : SplitCommaList(*v, true)) {
      const size_t eq = part.find('=');
      std::string_view level = eq == std::string_view::npos ? part : part.substr(eq + 1);
      if (!ParseLogLevel(level, &dummy) || (eq != std::string_view::npos && eq == 0)) {
        return Bad("PYTCP_LOG", *v,
                   "a level (error, warn, info, debug, trace) optionally followed by "
                   ",SUBSYSTEM=LEVEL overrides, e.g. 'info,tcp=debug'");
      }
    }
    c.log = std::string(*v);
  }
  if (auto v = get("PYTCP_PCAP")) c.pcap = std::string(*v);
  if (auto v = get("PYTCP_LOOPBACK")) {
    if (*v == "kernel") {
      c.loopback = LoopbackMode::kKernel;
    } else if (*v == "stack") {
      c.loopback = LoopbackMode::kStack;
    } else {
      return Bad("PYTCP_LOOPBACK", *v, "'kernel' or 'stack'");
    }
  }
  // Read by TapLink itself (the link layer sits below the configuration); checked here so
  // that a typo fails at start-up instead of silently leaving the offloads off.
  if (auto v = get("PYTCP_TAP_OFFLOAD")) {
    if (*v != "0" && *v != "1") return Bad("PYTCP_TAP_OFFLOAD", *v, "'0' or '1'");
  }
  if (auto v = get("PYTCP_ACD")) {
    if (!ParseAcdMode(*v, &c.acd)) {
      return Bad("PYTCP_ACD", *v, "'optimistic', 'strict' or 'off'");
    }
  }
  if (auto v = get("PYTCP_IP4_OPTIONS")) {
    if (*v == "accept") {
      c.ip4_drop_options = false;
    } else if (*v == "drop") {
      c.ip4_drop_options = true;
    } else {
      return Bad("PYTCP_IP4_OPTIONS", *v, "'accept' or 'drop'");
    }
  }
  if (auto v = get("PYTCP_SEED")) {
    const auto seed = ParseDecimal(*v, 19);
    if (!seed) return Bad("PYTCP_SEED", *v, "a decimal integer");
    c.seed = *seed;
  }
  if (auto v = get("PYTCP_BUSY_POLL")) {
    // Bounded so that a typo cannot pin a CPU for seconds per call.
    const auto us = ParseDecimal(*v, 7);
    if (!us || *us > 100000) {
      return Bad("PYTCP_BUSY_POLL", *v, "microseconds from 0 (off) to 100000");
    }
    c.busy_poll = std::chrono::microseconds(*us);
  }
  if (auto v = get("PYTCP_TCP_ECN")) {
    if (*v != "0" && *v != "1" && *v != "2") {
      return Bad("PYTCP_TCP_ECN", *v, "0 (off), 1 (ask and accept) or 2 (accept when asked)");
    }
    c.tcp_ecn = (*v)[0] - '0';
  }
  // Linux's sysctls of the same names; 0 is allowed (no TIME-WAIT at all, every orphan
  // reset), as on Linux. Bounded so that a typo cannot mean "unbounded".
  const auto count = [&](const char* var, size_t* out) -> absl::Status {
    auto v = get(var);
    if (!v) return absl::OkStatus();
    const auto n = ParseDecimal(*v, 9);
    if (!n || *n > 16'777'216) return Bad(var, *v, "a count from 0 to 16777216");
    *out = static_cast<size_t>(*n);
    return absl::OkStatus();
  };
  if (auto s = count("PYTCP_TCP_MAX_TW_BUCKETS", &c.tcp_max_tw_buckets); !s.ok()) return s;
  if (auto s = count("PYTCP_TCP_MAX_ORPHANS", &c.tcp_max_orphans); !s.ok()) return s;
  if (auto v = get("PYTCP_TCP_RFC1337")) {
    if (*v != "0" && *v != "1") {
      return Bad("PYTCP_TCP_RFC1337", *v, "0 (a RST ends TIME-WAIT, Linux's default) or 1 (ignored)");
    }
    c.tcp_rfc1337 = *v == "1";
  }
  c.dhcp4_cache = DefaultDhcp4Cache(c.interface);
  for (InterfaceConfig& more : c.more_interfaces) more.dhcp4_cache = DefaultDhcp4Cache(more.name);
  if (auto v = get("PYTCP_DHCP_CACHE")) {
    c.dhcp4_cache = *v == "none" ? std::string() : std::string(*v);
    // A further interface keeps its lease beside the first one's (or none).
    for (InterfaceConfig& more : c.more_interfaces) {
      const size_t slash = c.dhcp4_cache.rfind('/');
      more.dhcp4_cache = c.dhcp4_cache.empty() ? std::string()
                         : c.dhcp4_cache.substr(0, slash + 1) + fmt::format("dhcp4-{}.lease", more.name);
    }
  }
  // The run directory as pytcpd finds it (pytcpd/protocol.cc RunDirectory).
  const auto run_dir = get("PYTCP_RUN_DIR");
  c.tcp_key_file = (run_dir && !run_dir->empty() ? std::string(*run_dir) : std::string("/run/pytcp")) +
                   "/tcp-key";
  if (auto v = get("PYTCP_TCP_KEY")) {
    c.tcp_key_file = *v == "none" ? std::string() : std::string(*v);
  }
  if (const std::string name = "PYTCP_DHCP_SERVER_" + c.interface; auto v = get(name.c_str())) {
    auto pool = ParseDhcp4Pool(name, *v);
    if (!pool.ok()) return pool.status();
    if (c.ip4_mode != Ip4Mode::kStatic) {
      return absl::InvalidArgumentError(fmt::format(
          "{} needs static IPv4 addresses on {} (PYTCP_IP4=ADDRESS/PREFIX)", name, c.interface));
    }
    if (auto s = CheckDhcp4Pool(name, *pool, c.ip4_addresses); !s.ok()) return s;
    c.dhcp_server = *pool;
  }
  if (c.router_advertisements && (!c.forwarding || c.ip6_mode == Ip6Mode::kNone)) {
    return absl::InvalidArgumentError(
        "PYTCP_RA=1 needs PYTCP_FORWARDING=1 and IPv6 (a host never advertises itself as a "
        "router, RFC 4861 §6.2.2)");
  }
  if (c.ip6_mode != Ip6Mode::kNone && c.mtu < 1280) {
    return absl::InvalidArgumentError(fmt::format(
        "PYTCP_MTU='{}' is too small for IPv6 (needs 1280 or more); set PYTCP_IP6=none or raise "
        "PYTCP_MTU",
        c.mtu));
  }
  return c;
}

}  // namespace pytcp
