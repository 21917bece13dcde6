// The stack's network interface as programs see it: getifaddrs() and the SIOCGIF* ioctls
// show it under the TAP device's name and index (it is that device, seen from the other
// side), with the stack's MAC address, MTU and IPv4 addresses, and getifaddrs and
// NETLINK_ROUTE dumps its IPv6 addresses too. The kernel's other interfaces (lo...) are
// shown as the kernel has them.
#pragma once

#include <ifaddrs.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <optional>
#include <string>
#include <vector>

#include "stack/ip6/ip6_address_table.h"
#include "stack/net/ip4_network.h"
#include "stack/net/mac_address.h"

namespace pytcp::shim {

// An IPv6 address of the stack's interface, as a dump shows it: every one, also while DAD
// runs or after it failed (Linux lists those with IFA_F_TENTATIVE / IFA_F_DADFAILED).
struct StackIp6Address {
  Ip6Address address;
  uint8_t prefix_length = 64;
  Ip6AddressState state = Ip6AddressState::kPreferred;
  Ip6AddressSource source = Ip6AddressSource::kStatic;
  uint32_t preferred_seconds = kForever;  // lifetimes left; kForever: INFINITY_LIFE_TIME
  uint32_t valid_seconds = kForever;
  static constexpr uint32_t kForever = 0xFFFFFFFFu;

  // Linux's IFA_F_* flags for it (addrconf: a static or link-local address is permanent,
  // a SLAAC one is not; DAD keeps IFA_F_TENTATIVE also with OPTIMISTIC or DADFAILED).
  uint32_t ifa_flags() const {
    uint32_t f = source == Ip6AddressSource::kSlaac ? 0 : IFA_F_PERMANENT;
    switch (state) {
      case Ip6AddressState::kTentative: f |= IFA_F_TENTATIVE; break;
      case Ip6AddressState::kOptimistic: f |= IFA_F_TENTATIVE | IFA_F_OPTIMISTIC; break;
      case Ip6AddressState::kDeprecated: f |= IFA_F_DEPRECATED; break;
      case Ip6AddressState::kDuplicated: f |= IFA_F_TENTATIVE | IFA_F_DADFAILED; break;
      case Ip6AddressState::kPreferred: break;
    }
    return f;
  }
  // RT_SCOPE_LINK for link-local (fe80::/10), else RT_SCOPE_UNIVERSE.
  uint8_t scope() const { return address.is_link_local() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE; }
};

// The entries of interface `iface` (by position) as StackIp6Address, lifetimes counted
// from `now`.
std::vector<StackIp6Address> StackIp6Addresses(const std::vector<Ip6AddressEntry>& entries,
                                               Instant now, uint8_t iface = 0);

struct StackInterface {
  std::string name;
  unsigned index = 0;  // the TAP device's ifindex
  MacAddress mac;
  uint32_t mtu = 0;
  std::vector<Ip4Interface> addresses;  // usable ones
  std::vector<StackIp6Address> ip6_addresses;
};

// Starts the stack if need be; nullopt when it cannot run. The first interface.
std::optional<StackInterface> GetStackInterface();
// Every interface of the stack (PYTCP_IFACE=tap7,tap8), the first first; empty when it
// cannot run. A shared stack's come from the daemon, one kHostInfo per interface.
std::vector<StackInterface> GetStackInterfaces();

// getifaddrs(): the kernel's list with the stack's interface put in. One malloc block, as
// glibc's, so glibc's freeifaddrs frees it. 0, or -1 with errno.
int GetIfAddrs(ifaddrs** out);

// SIOCGIFCONF, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFFLAGS, SIOCGIFMTU,
// SIOCGIFHWADDR, SIOCGIFINDEX, SIOCGIFNAME on a stack socket: the stack's interface
// answered here, any other asked of the kernel. 0, or -1 with errno (ENOTTY for a request
// that is not one of these).
int InterfaceIoctl(unsigned long request, void* arg);
// Whether `request` is one of those.
bool IsInterfaceIoctl(unsigned long request);

}  // namespace pytcp::shim
