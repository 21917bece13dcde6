// The Stack's DHCPv4 service: the Dhcp4Client state machine plugged into UDP port 68, the
// address table (with conflict detection before use), the routing table, the DNS server
// list, and a lease cache file for a quick INIT-REBOOT on the next start.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "stack/arp/arp_engine.h"
#include "stack/dhcp4/dhcp4_client.h"
#include "stack/iface/interface.h"
#include "stack/ip4/ip4_address_table.h"
#include "stack/ip4/ip4_engine.h"
#include "stack/ip4/ip4_routing_table.h"
#include "stack/udp/udp_engine.h"

namespace pytcp {

class Dhcp4Service final : private UdpEndpoint, private Dhcp4Client::Actions {
 public:
  struct Deps {
    UdpEngine* udp;
    Ip4Engine* ip4;
    ArpEngine* arp;
    Interface* iface;
    Ip4AddressTable* addresses;
    Ip4RoutingTable* routes;
    Random* random;
    uint32_t link_mtu;
    uint8_t iface_index = 0;  // `iface`'s position in the stack: the lease lives there
  };
  // `cache_path` empty: no lease cache.
  Dhcp4Service(Deps deps, std::string cache_path, Dhcp4ClientConfig config = {});
  ~Dhcp4Service() override;

  void Start(Instant now);
  // Releases the lease (RFC 2131 §4.4.6) and stops.
  void Stop(Instant now);
  // Called by the stack when ACD found `address` in use.
  void OnAddressConflict(Ip4Address address, Instant now);

  void Poll(Instant now) { client_.Poll(now); }
  Instant NextDeadline() const { return client_.NextDeadline(); }

  const Dhcp4Client& client() const { return client_; }
  const std::vector<Ip4Address>& dns_servers() const { return dns_; }

 private:
  // UdpEndpoint
  void OnDatagram(const SocketAddress& from, const IpAddress& to, ByteSpan payload,
                  const UdpRxMeta& meta, Instant now) override;
  void OnIcmpError(const Ip4ErrorInfo&, Instant) override {}
  // Dhcp4Client::Actions
  void SendDhcp(ByteSpan message, Ip4Address src, Ip4Address dst) override;
  void OnLeaseAcquired(const Dhcp4Lease& lease) override;
  void OnLeaseRenewed(const Dhcp4Lease& lease) override;
  void OnLeaseLost(const Dhcp4Lease& lease) override;
  void OnCachedLeaseStale() override;

  void SaveLease(const Dhcp4Lease& lease);
  // The lease's address entry on the client's interface, and its routes removed.
  Ip4AddressEntry Entry(const Ip4Interface& address, Ip4AddressState state) const;
  void RemoveRoutes();
  std::optional<Dhcp4Lease> LoadLease() const;

  Deps deps_;
  std::string cache_path_;
  Dhcp4Client client_;
  std::optional<Ip4Address> address_;  // the leased address now in the table
  std::vector<Ip4Address> dns_;
  Instant now_;  // the time of the call in progress (Actions have no `now`)
  bool releasing_ = false;
};

}  // namespace pytcp
