#include "stack/stack_dhcp4_server.h"

#include "stack/base/log.h"

namespace pytcp {
namespace {
LogChannel log_dhcps("dhcp4");
constexpr uint16_t kClientPort = 68;
constexpr uint16_t kServerPort = 67;
}  // namespace

Dhcp4ServerService::~Dhcp4ServerService() {
  if (bound_) udp_->Unbind(this);
}

void Dhcp4ServerService::Add(uint8_t iface, ArpEngine* arp, Dhcp4ServerConfig config) {
  ports_.push_back(Port{iface, arp, std::make_unique<Dhcp4Server>(std::move(config))});
}

bool Dhcp4ServerService::Start() {
  UdpEndpoint::reuse_addr = true;
  if (auto r = udp_->Bind(this, SocketAddress{IpAddress(Ip4Address()), kServerPort, 0}); !r.ok()) {
    PYTCP_LOG(log_dhcps, kError, "DHCP server: cannot bind UDP port 67: errno {}", r.error());
    return false;
  }
  bound_ = true;
  return true;
}

void Dhcp4ServerService::OnDatagram(const SocketAddress& from, const IpAddress&, ByteSpan payload,
                                    const UdpRxMeta& meta, Instant now) {
  if (from.port != kClientPort || !from.ip.is_v4()) return;
  for (Port& port : ports_) {
    if (port.iface != meta.iface) continue;
    auto reply = port.server->Receive(payload, now);
    if (!reply) return;
    if (!reply->broadcast && !reply->to_mac.is_unspecified()) {
      // RFC 2131 §4.1: unicast to the client's hardware address and the address it is
      // offered, before it answers ARP for it.
      port.arp->cache().OnSolicitationFrom(reply->to, reply->to_mac, now);
    }
    UdpSendOptions opts;
    opts.allow_broadcast = true;
    opts.src = IpAddress(port.server->config().server.address());
    opts.out_iface = port.iface;
    if (auto r = udp_->Send(this, SocketAddress{IpAddress(reply->to), kClientPort, 0}, reply->message,
                            opts, now);
        !r.ok()) {
      PYTCP_LOG(log_dhcps, kDebug, "DHCP server: send to {} failed: errno {}", reply->to, r.error());
    }
    return;
  }
}

}  // namespace pytcp
