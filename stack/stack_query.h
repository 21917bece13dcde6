// StackQuery: what the programs around a Stack read of it (the shim, pytcpd), as copies
// taken under the stack's lock: its interfaces, its addresses of both families, its TCP
// connections' states and the source address a destination would get. They read these
// values instead of reaching into the protocol engines (the Stack's engine getters are the
// tests' seam and the console's). Call without holding Stack::mutex(): each call takes it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stack/base/clock.h"
#include "stack/base/result.h"
#include "stack/ip4/ip4_address_table.h"
#include "stack/ip6/ip6_address_table.h"
#include "stack/net/ip_address.h"
#include "stack/net/mac_address.h"
#include "stack/tcp/tcp_types.h"

namespace pytcp {

class Stack;

// One of the stack's interfaces (0: the first; then config().more_interfaces).
struct StackInterfaceInfo {
  std::string name;
  MacAddress mac;
  uint32_t mtu = 0;
};

// Every address of the stack, of both families and every interface (each entry names its
// interface by position), as one moment's copy.
struct StackAddresses {
  Instant now;  // when it was taken: the IPv6 lifetimes left count from it
  std::vector<Ip4AddressEntry> ip4;
  std::vector<Ip6AddressEntry> ip6;
};

class StackQuery {
 public:
  explicit StackQuery(Stack& stack) : stack_(stack) {}

  std::vector<StackInterfaceInfo> Interfaces() const;
  StackAddresses Addresses() const;
  // The state of every TCP connection (listeners and TIME_WAIT records not included).
  std::vector<TcpState> TcpConnectionStates() const;
  // The local address a datagram to `dst` would leave from (as connect() picks it), or
  // the errno why there is none.
  Result<IpAddress, int> SourceAddressFor(const IpAddress& dst) const;

 private:
  Stack& stack_;
};

}  // namespace pytcp
