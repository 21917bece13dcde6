// The Stack's DHCPv4 servers (PYTCP_DHCP_SERVER_<iface>): one Dhcp4Server per interface
// that has a pool, all on UDP port 67, each answering what comes in on its interface.
#pragma once

#include <memory>
#include <vector>

#include "stack/arp/arp_engine.h"
#include "stack/dhcp4/dhcp4_server.h"
#include "stack/udp/udp_engine.h"

namespace pytcp {

class Dhcp4ServerService final : private UdpEndpoint {
 public:
  // One interface's server: its ARP engine (a reply to a client without an address goes to
  // its MAC, which ARP is told, as a Linux server does with SIOCSARP).
  struct Port {
    uint8_t iface;
    ArpEngine* arp;
    std::unique_ptr<Dhcp4Server> server;
  };

  explicit Dhcp4ServerService(UdpEngine* udp) : udp_(udp) {}
  ~Dhcp4ServerService() override;

  void Add(uint8_t iface, ArpEngine* arp, Dhcp4ServerConfig config);
  // Binds UDP port 67; false (logged) when it is taken.
  bool Start();
  const std::vector<Port>& ports() const { return ports_; }

 private:
  void OnDatagram(const SocketAddress& from, const IpAddress& to, ByteSpan payload,
                  const UdpRxMeta& meta, Instant now) override;
  void OnIcmpError(const Ip4ErrorInfo&, Instant) override {}

  UdpEngine* udp_;
  std::vector<Port> ports_;
  bool bound_ = false;
};

}  // namespace pytcp
