// IpAddress: an IPv4 or IPv6 address in one type, and SocketAddress (address, port, scope),
// the endpoint form sockets use. IPv4 is held as its IPv4-mapped IPv6 form (RFC 4291
// §2.5.5.2), which is also what a dual-stack AF_INET6 socket sees for an IPv4 peer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "stack/net/ip4_address.h"
#include "stack/net/ip6_address.h"

namespace pytcp {

class IpAddress {
 public:
  constexpr IpAddress() = default;  // the IPv6 unspecified address ::
  constexpr IpAddress(Ip4Address a)  // NOLINT: implicit by design
      : a_(Ip6Address::FromGroups({0, 0, 0, 0, 0, 0xffff, static_cast<uint16_t>(a.value() >> 16),
                                   static_cast<uint16_t>(a.value())})) {}
  constexpr IpAddress(const Ip6Address& a) : a_(a) {}  // NOLINT: implicit by design

  constexpr bool is_v4() const { return a_.is_ip4_mapped(); }
  constexpr Ip4Address v4() const { return a_.UnmapIp4().value_or(Ip4Address()); }
  constexpr const Ip6Address& v6() const { return a_; }

  constexpr bool is_unspecified() const {
    return is_v4() ? v4().is_unspecified() : a_.is_unspecified();
  }
  constexpr bool is_multicast() const { return is_v4() ? v4().is_multicast() : a_.is_multicast(); }
  constexpr bool is_loopback() const { return is_v4() ? v4().is_loopback() : a_.is_loopback(); }

  std::string ToString() const { return is_v4() ? v4().ToString() : a_.ToString(); }
  constexpr auto operator<=>(const IpAddress&) const = default;

 private:
  Ip6Address a_;
};

struct SocketAddress {
  IpAddress ip;
  uint16_t port = 0;
  uint32_t scope_id = 0;  // IPv6 link-local zone (interface index)

  std::string ToString() const {
    return ip.is_v4() ? ip.ToString() + ":" + std::to_string(port)
                      : "[" + ip.ToString() + "]:" + std::to_string(port);
  }
  constexpr bool operator==(const SocketAddress&) const = default;
};

}  // namespace pytcp
