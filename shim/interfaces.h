// The stack's network interface as programs see it: getifaddrs() and the SIOCGIF* ioctls
// show it under the TAP device's name and index (it is that device, seen from the other
// side), with the stack's MAC address, MTU and IPv4 addresses. The kernel's other
// interfaces (lo...) are shown as the kernel has them.
#pragma once

#include <ifaddrs.h>

#include <optional>
#include <string>
#include <vector>

#include "stack/net/ip4_network.h"
#include "stack/net/mac_address.h"

namespace pytcp::shim {

struct StackInterface {
  std::string name;
  unsigned index = 0;  // the TAP device's ifindex
  MacAddress mac;
  uint32_t mtu = 0;
  std::vector<Ip4Interface> addresses;  // usable ones
};

// Starts the stack if need be; nullopt when it cannot run.
std::optional<StackInterface> GetStackInterface();

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
