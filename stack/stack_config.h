// The configuration of one Stack: a struct for the C++ API, and its reading from the
// PYTCP_* environment variables of DESIGN.md (the shim's only way to be configured).
// A bad value fails fast with a message that names the variable and what is accepted.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "stack/arp/arp_engine.h"
#include "stack/net/ip4_address.h"
#include "stack/net/ip4_network.h"
#include "stack/net/ip6_address.h"
#include "stack/net/ip6_network.h"
#include "stack/net/mac_address.h"
#include "stack/stack_routes.h"

namespace pytcp {

enum class Ip4Mode : uint8_t { kDhcp, kNone, kStatic };
enum class Ip6Mode : uint8_t { kAuto, kNone, kStatic };
enum class LoopbackMode : uint8_t { kKernel, kStack };

// PYTCP_DHCP_SERVER_<iface>=FIRST-LAST[,LEASE_SECONDS]: the built-in DHCPv4 server's pool
// on that interface (stack/dhcp4/dhcp4_server.h), within one of its static networks.
struct Dhcp4Pool {
  Ip4Address first;
  Ip4Address last;
  Duration lease_time = std::chrono::hours(1);
};

// A further interface of a stack (PYTCP_IFACE=tap7,tap8: every name after the first),
// which a router forwards between. IPv4 only, with static addresses, for now; its own
// variables carry the interface's name: PYTCP_IP4_tap8, PYTCP_MAC_tap8, PYTCP_MTU_tap8.
struct InterfaceConfig {
  std::string name;
  std::optional<MacAddress> mac;                         // PYTCP_MAC_<name>
  std::vector<Ip4Interface> ip4_addresses;               // PYTCP_IP4_<name> (none: empty)
  bool ip4_dhcp = false;                                 // PYTCP_IP4_<name>=dhcp
  std::string dhcp4_cache;                               // its lease cache ("" = none)
  uint32_t mtu = 1500;                                   // PYTCP_MTU_<name>
  std::optional<Dhcp4Pool> dhcp_server;                  // PYTCP_DHCP_SERVER_<name>
  bool ip6 = false;                                      // PYTCP_IP6_<name> is not 'none'
  bool ip6_auto = false;                                 // PYTCP_IP6_<name>=auto (SLAAC)
  std::vector<Ip6Interface> ip6_addresses;               // PYTCP_IP6_<name> (static)

  MacAddress EffectiveMac() const;  // as StackConfig::EffectiveMac
};

struct StackConfig {
  std::string interface = "tap7";                        // PYTCP_IFACE (its first name)
  std::vector<InterfaceConfig> more_interfaces;          // PYTCP_IFACE's further names
  std::optional<MacAddress> mac;                         // PYTCP_MAC (default: derived)
  Ip4Mode ip4_mode = Ip4Mode::kDhcp;                     // PYTCP_IP4
  std::vector<Ip4Interface> ip4_addresses;
  std::optional<Ip4Address> ip4_gateway;                 // PYTCP_GW4
  Ip6Mode ip6_mode = Ip6Mode::kAuto;                     // PYTCP_IP6
  std::vector<Ip6Interface> ip6_addresses;
  std::optional<Ip6Address> ip6_gateway;                 // PYTCP_GW6
  std::vector<StaticRoute> routes;                       // PYTCP_ROUTES (stack_routes.h)
  bool forwarding = false;                               // PYTCP_FORWARDING (RFC 1812)
  bool router_advertisements = false;                    // PYTCP_RA (RFC 4861 §6.2)
  std::optional<Dhcp4Pool> dhcp_server;                  // PYTCP_DHCP_SERVER_<interface>
  // RFC 7217 stable-privacy interface ids under this secret instead of EUI-64 (C++ API).
  std::optional<std::array<uint8_t, 16>> ip6_stable_secret;
  std::vector<Ip4Address> dns4;                          // PYTCP_DNS (IPv4 servers)
  std::vector<Ip6Address> dns6;                          // PYTCP_DNS (IPv6 servers)
  uint32_t mtu = 1500;                                   // PYTCP_MTU
  std::string log = "warn";                              // PYTCP_LOG
  std::string pcap;                                      // PYTCP_PCAP ("" = off)
  LoopbackMode loopback = LoopbackMode::kKernel;         // PYTCP_LOOPBACK
  AcdMode acd = AcdMode::kOptimistic;                    // PYTCP_ACD
  bool ip4_drop_options = false;                         // PYTCP_IP4_OPTIONS=drop
  uint64_t seed = 0;                                     // PYTCP_SEED (0 = random)
  // PYTCP_BUSY_POLL (microseconds): a blocked socket call keeps reading the link for up to
  // this long before it sleeps (0 = never; Linux's SO_BUSY_POLL / net.core.busy_read).
  Duration busy_poll{0};
  // PYTCP_DHCP_CACHE: where the DHCPv4 lease is kept for a quick restart ("" = nowhere).
  std::string dhcp4_cache;
  // PYTCP_TCP_KEY: the file holding the host's TCP key for this boot (RFC 6528 ISNs,
  // timestamp offsets, SYN cookies, port offsets), shared by every program and daemon of
  // the host so that a reused four-tuple is always newer than its old incarnation. From
  // the environment it defaults to $PYTCP_RUN_DIR/tcp-key (/run/pytcp/tcp-key); "" (the
  // C++ API's default, and PYTCP_TCP_KEY=none) keeps a per-process key.
  std::string tcp_key_file;
  // PYTCP_TCP_ECN: RFC 3168 ECN as Linux's net.ipv4.tcp_ecn — 0 off, 1 ask for it on
  // connections we open (and accept it), 2 accept it when asked (the default).
  int tcp_ecn = 2;
  // PYTCP_TCP_MAX_TW_BUCKETS, PYTCP_TCP_MAX_ORPHANS, PYTCP_TCP_RFC1337: Linux's
  // net.ipv4.tcp_max_tw_buckets, tcp_max_orphans and tcp_rfc1337 (TcpConfig's defaults).
  size_t tcp_max_tw_buckets = 262144;
  size_t tcp_max_orphans = 262144;
  bool tcp_rfc1337 = false;

  // The MAC to use: `mac` if set, else a stable locally administered unicast address
  // derived from the interface name (so restarts keep their DHCP lease and caches).
  MacAddress EffectiveMac() const;
  // The position of the interface named `name` (0: the first), if the stack has it.
  std::optional<uint8_t> InterfaceIndex(std::string_view name) const;
  // Every interface's name, the first first ("tap7, tap8").
  std::string InterfaceNames() const;
  // The default lease cache path for an interface: /run/pytcp/dhcp4-IFACE.lease.
  static std::string DefaultDhcp4Cache(std::string_view interface);

  // Reads every PYTCP_* variable through `getenv` (defaults for unset ones).
  static absl::StatusOr<StackConfig> FromEnvironment(
      const std::function<const char*(const char*)>& getenv);
  static absl::StatusOr<StackConfig> FromEnvironment();
};

}  // namespace pytcp
