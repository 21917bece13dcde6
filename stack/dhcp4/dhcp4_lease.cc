#include "stack/dhcp4/dhcp4_lease.h"

#include <algorithm>

namespace pytcp {

std::optional<uint8_t> Ip4ClassPrefix(Ip4Address a) {
  const uint32_t top = a.value() >> 28;
  if (top < 0x8) return 8;   // 0xxx: class A
  if (top < 0xc) return 16;  // 10xx: class B
  if (top < 0xe) return 24;  // 110x: class C
  return std::nullopt;       // 1110 multicast, 1111 reserved
}

bool IsUsableUnicast(Ip4Address a) {
  return !a.is_this_network() && !a.is_loopback() && !a.is_multicast() && !a.is_reserved() &&
         !a.is_limited_broadcast();
}

Result<Ip4Interface, Dhcp4LeaseError> OfferedInterface(const Dhcp4View& reply) {
  const Ip4Address yiaddr = reply.yiaddr();
  if (!IsUsableUnicast(yiaddr)) return Err{Dhcp4LeaseError::kBadAddress};
  uint8_t prefix = 0;
  if (auto mask = reply.subnet_mask()) {
    auto p = Ip4Network::PrefixFromNetmask(*mask);
    // A non-contiguous mask has no prefix form (RFC 4632 §3.1); a zero mask would put the
    // whole Internet on-link. Either is a broken server, not a configuration to apply.
    if (!p || *p == 0) return Err{Dhcp4LeaseError::kBadMask};
    prefix = *p;
  } else {
    prefix = *Ip4ClassPrefix(yiaddr);  // usable unicast is class A, B or C
  }
  const Ip4Interface iface = *Ip4Interface::Create(yiaddr, prefix);
  // RFC 1122 §3.2.1.3: the all-zeros and all-ones host numbers are not host addresses
  // (except on /31 and /32 links, RFC 3021).
  if (prefix < 31 &&
      (yiaddr == iface.network().address() || yiaddr == *iface.directed_broadcast())) {
    return Err{Dhcp4LeaseError::kBadAddress};
  }
  return iface;
}

Result<Ip4Address, Dhcp4LeaseError> ReplyServerId(const Dhcp4View& reply) {
  auto id = reply.server_id();
  if (!id) return Err{Dhcp4LeaseError::kNoServerId};
  if (!IsUsableUnicast(*id)) return Err{Dhcp4LeaseError::kBadServerId};
  return *id;
}

std::string CleanDomainName(std::string_view raw) {
  while (!raw.empty() && raw.back() == '\0') raw.remove_suffix(1);
  if (!raw.empty() && raw.back() == '.') raw.remove_suffix(1);
  if (raw.empty() || raw.size() > 253 || raw.front() == '.') return {};
  for (char c : raw) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return {};
  }
  if (raw.find("..") != std::string_view::npos) return {};
  return std::string(raw);
}

Result<Dhcp4Lease, Dhcp4LeaseError> LeaseFromAck(const Dhcp4View& ack, Instant requested,
                                                 Instant now) {
  auto iface = OfferedInterface(ack);
  if (!iface.ok()) return Err{iface.error()};
  auto server = ReplyServerId(ack);
  if (!server.ok()) return Err{server.error()};
  const auto lease_s = ack.lease_time();
  if (!lease_s) return Err{Dhcp4LeaseError::kNoLeaseTime};
  if (*lease_s == 0) return Err{Dhcp4LeaseError::kBadLeaseTime};

  Dhcp4Lease l;
  l.address = *iface;
  l.server_id = *server;
  const Dhcp4AddressList routers = ack.routers();
  for (size_t i = 0; i < routers.size(); ++i) {
    // RFC 2132 §3.5: routers "in order of preference"; the first one we can use is the
    // default gateway. It is not required to be on-link (some /32 setups route to an
    // off-link gateway); the stack decides what to do with it.
    if (IsUsableUnicast(routers[i])) {
      l.router = routers[i];
      break;
    }
  }
  const Dhcp4AddressList dns = ack.dns_servers();
  for (size_t i = 0; i < dns.size(); ++i) {
    if (IsUsableUnicast(dns[i]) && std::find(l.dns.begin(), l.dns.end(), dns[i]) == l.dns.end()) {
      l.dns.push_back(dns[i]);
    }
  }
  l.mtu = ack.interface_mtu();  // the view has checked RFC 2132 §5.1's minimum of 68
  if (auto d = ack.domain_name()) l.domain = CleanDomainName(*d);

  // RFC 2131 §4.4.5: T1 defaults to 0.5 * lease, T2 to 0.875 * lease. T1 <= T2 <= lease is
  // what makes the RENEWING/REBINDING sequence meaningful; a server value outside that order
  // is replaced by the default (as dhclient and dhcpcd do) rather than trusted.
  const uint64_t lease = *lease_s;
  uint64_t t2 = lease * 7 / 8;
  uint64_t t1 = lease / 2;
  if (lease == kDhcp4InfiniteLease) {
    t1 = t2 = lease;  // never renew an infinite lease
  } else {
    if (auto v = ack.rebinding_time(); v && *v <= lease) t2 = *v;
    if (auto v = ack.renewal_time(); v && *v <= t2) {
      t1 = *v;
    } else {
      t1 = std::min(t1, t2);
    }
  }
  l.lease_time = std::chrono::seconds(lease);
  l.t1 = std::chrono::seconds(t1);
  l.t2 = std::chrono::seconds(t2);
  l.requested = requested;
  l.acquired = now;
  return l;
}

}  // namespace pytcp
