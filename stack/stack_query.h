// StackQuery: what the programs around a Stack read of it (the shim, pytcpd, the console's
// show views), as copies taken under the stack's lock: its interfaces, addresses, routes,
// neighbours, TCP sockets, DHCPv4 client and servers' leases, multicast groups, and the
// source address a destination would get. They read these values instead of reaching into
// the protocol engines; the Stack's engine getters stay as the tests' seam. Call without
// holding Stack::mutex(): each call takes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/base/clock.h"
#include "stack/base/result.h"
#include "stack/dhcp4/dhcp4_client.h"
#include "stack/dhcp4/dhcp4_server.h"
#include "stack/igmp/igmp_engine.h"
#include "stack/ip4/ip4_address_table.h"
#include "stack/ip4/ip4_routing_table.h"
#include "stack/ip6/ip6_address_table.h"
#include "stack/ip6/ip6_routing_table.h"
#include "stack/neigh/neighbour_cache.h"
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

// A TCP listener, connection or TIME-WAIT record, as `ss -tan` shows it.
struct StackTcpSocket {
  TcpState state = TcpState::kClosed;  // kListen: a listener; kTimeWait: a closed socket's record
  int64_t recv_q = 0;  // a listener's accept queue, a connection's unread bytes
  int64_t send_q = 0;  // a listener's backlog, a connection's unsent and unacknowledged bytes
  SocketAddress local;
  SocketAddress remote;  // none for a listener
  uint32_t rtt_us = 0, cwnd = 0, retrans = 0;  // a connection's (TCP_INFO)
};

// An entry of a neighbour cache: ARP's of each interface, then ND's of each interface IPv6
// runs on (RFC 4861 §5.1: the same structure).
struct StackNeighbour {
  IpAddress address;
  MacAddress mac;
  NeighbourState state = NeighbourState::kIncomplete;
  bool router = false;
  size_t queued = 0;  // packets waiting for the address to resolve
  size_t iface = 0;
};

// Both routing tables and IPv6's Default Router List (RFC 4861 §6.3.4).
struct StackRoutes {
  Instant now;  // when it was taken: the lifetimes left count from it
  std::vector<Ip4Route> ip4;
  std::vector<Ip6Route> ip6;
  std::vector<Ip6DefaultRouter> ip6_routers;
};

// The DHCPv4 client (PYTCP_IP4=dhcp).
struct StackDhcp4Client {
  Dhcp4State state;
  std::optional<Dhcp4Lease> lease;
};

// A lease of one of the DHCPv4 servers (PYTCP_DHCP_SERVER_<iface>).
struct StackDhcp4ServerLease {
  size_t iface = 0;
  Dhcp4Server::Lease lease;
};

// The multicast groups the host is in, as IGMP and MLD report them.
struct StackMulticast {
  bool all_systems = false;  // 224.0.0.1's MAC filter is on (RFC 1112 §7.2)
  int igmp_version = 3;      // IGMP's compatibility mode (RFC 3376 §7.2.1)
  struct Ip4Group {
    Ip4Address group;
    std::optional<IgmpEngine::InterfaceState> state;
  };
  std::vector<Ip4Group> ip4;
  bool ip6_enabled = false;
  std::vector<Ip6Address> ip6;  // Ip6Engine's groups (the first interface's)
  bool mld_v1 = false;          // an MLDv1 querier put MLD in compatibility mode
};

// Waits up to `timeout` for the first usable IPv4 address, or with IPv4 off for the
// first usable IPv6 address beyond link-local (a SLAAC address once the first router
// advertisement came, a static one after DAD): what a program's first socket() and a
// daemon started on demand wait for. Returns at once when neither family runs.
void WaitForUsableAddress(Stack& stack, Duration timeout);

class StackQuery {
 public:
  explicit StackQuery(Stack& stack) : stack_(stack) {}

  std::vector<StackInterfaceInfo> Interfaces() const;
  StackAddresses Addresses() const;
  // The state of every TCP connection (listeners and TIME_WAIT records not included).
  std::vector<TcpState> TcpConnectionStates() const;
  // Listeners, then connections, then TIME-WAIT records.
  std::vector<StackTcpSocket> TcpSockets() const;
  // The local address a datagram to `dst` would leave from (as connect() picks it), or
  // the errno why there is none.
  Result<IpAddress, int> SourceAddressFor(const IpAddress& dst) const;
  std::vector<StackNeighbour> Neighbours() const;
  StackRoutes Routes() const;
  // nullopt when the stack runs no DHCPv4 client.
  std::optional<StackDhcp4Client> DhcpClient() const;
  // Every server's leases, expired ones included (with the moment taken in *now).
  std::vector<StackDhcp4ServerLease> Dhcp4ServerLeases(Instant* now) const;
  StackMulticast Multicast() const;

 private:
  Stack& stack_;
};

}  // namespace pytcp
