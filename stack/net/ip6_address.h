// IPv6 address value type.
//
// RFCs to read: RFC 4291 (addressing architecture: §2.2 text forms, §2.4 types, §2.5 unicast,
// §2.7 multicast, Appendix A interface ids), RFC 5952 (canonical text form), RFC 4193 (unique
// local), RFC 3879 (site-local deprecated), RFC 7346 (multicast scopes).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "stack/net/ip4_address.h"
#include "stack/net/text.h"

namespace pytcp {

// The 4-bit scop field of a multicast address (RFC 4291 §2.7, RFC 7346 §2). Values that are
// not named here are reserved or unassigned, and are passed through unchanged.
enum class Ip6MulticastScope : uint8_t {
  kInterfaceLocal = 0x1,
  kLinkLocal = 0x2,
  kRealmLocal = 0x3,
  kAdminLocal = 0x4,
  kSiteLocal = 0x5,
  kOrganizationLocal = 0x8,
  kGlobal = 0xe,
};

class Ip6Address : public net_internal::TextForm<Ip6Address> {
 public:
  static constexpr size_t kSize = 16;
  // "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"; RFC 5952 output is never longer.
  static constexpr size_t kMaxTextSize = 45;
  using Bytes = std::array<uint8_t, kSize>;
  // The low 64 bits of a unicast address (RFC 4291 §2.5.1).
  using InterfaceId = std::array<uint8_t, 8>;

  constexpr Ip6Address() = default;
  constexpr explicit Ip6Address(const Bytes& b) : bytes_(b) {}
  // From the first sixteen bytes of a buffer the caller has bounds-checked.
  static constexpr Ip6Address FromBytes(const uint8_t* p) {
    Bytes b{};
    for (size_t i = 0; i < kSize; ++i) b[i] = p[i];
    return Ip6Address(b);
  }
  // From eight 16-bit groups, as written: Ip6Address::FromGroups({0xfe80, 0, ..., 1}).
  static constexpr Ip6Address FromGroups(const std::array<uint16_t, 8>& g) {
    Bytes b{};
    for (size_t i = 0; i < 8; ++i) {
      b[2 * i] = static_cast<uint8_t>(g[i] >> 8);
      b[2 * i + 1] = static_cast<uint8_t>(g[i]);
    }
    return Ip6Address(b);
  }
  // The upper 64 bits of `prefix` followed by an interface id (RFC 4862 §5.5.3 (d) for SLAAC).
  static constexpr Ip6Address FromPrefixAndInterfaceId(const Ip6Address& prefix,
                                                       const InterfaceId& iid) {
    Bytes b = prefix.bytes_;
    for (size_t i = 0; i < 8; ++i) b[8 + i] = iid[i];
    return Ip6Address(b);
  }
  // fe80::/64 + interface id (RFC 4291 §2.5.6, RFC 4862 §5.3). For a MAC, pass
  // MacAddress::Eui64InterfaceId() (or use MacAddress::Ip6LinkLocal()).
  static constexpr Ip6Address LinkLocal(const InterfaceId& iid) {
    return FromPrefixAndInterfaceId(FromGroups({0xfe80, 0, 0, 0, 0, 0, 0, 0}), iid);
  }
  // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
  static constexpr Ip6Address MapIp4(Ip4Address a) {
    Bytes b{};
    b[10] = 0xff;
    b[11] = 0xff;
    a.CopyTo(&b[12]);
    return Ip6Address(b);
  }
  static constexpr Ip6Address Any() { return Ip6Address(); }
  static constexpr Ip6Address Loopback() { return FromGroups({0, 0, 0, 0, 0, 0, 0, 1}); }
  // ff02::1 and ff02::2 (RFC 4291 §2.7.1).
  static constexpr Ip6Address AllNodesMulticast() {
    return FromGroups({0xff02, 0, 0, 0, 0, 0, 0, 1});
  }
  static constexpr Ip6Address AllRoutersMulticast() {
    return FromGroups({0xff02, 0, 0, 0, 0, 0, 0, 2});
  }

  // Text form of RFC 4291 §2.2, strictly: eight groups of 1-4 hex digits (either case), at most
  // one "::" standing for one or more zero groups, and optionally a strict dotted quad in place
  // of the last two groups. Zone ids ("fe80::1%eth0") and brackets are not part of an address
  // and are refused.
  static std::optional<Ip6Address> Parse(std::string_view text);

  constexpr const Bytes& bytes() const { return bytes_; }
  constexpr uint16_t group(size_t i) const {
    return static_cast<uint16_t>((uint16_t{bytes_[2 * i]} << 8) | bytes_[2 * i + 1]);
  }
  constexpr InterfaceId interface_id() const {
    InterfaceId iid{};
    for (size_t i = 0; i < 8; ++i) iid[i] = bytes_[8 + i];
    return iid;
  }
  constexpr void CopyTo(uint8_t* p) const {
    for (size_t i = 0; i < kSize; ++i) p[i] = bytes_[i];
  }

  // :: (RFC 4291 §2.5.2).
  constexpr bool is_unspecified() const { return bytes_ == Bytes{}; }
  // ::1 (RFC 4291 §2.5.3).
  constexpr bool is_loopback() const { return *this == Loopback(); }
  // ff00::/8 (RFC 4291 §2.7).
  constexpr bool is_multicast() const { return bytes_[0] == 0xff; }
  // The scop field; meaningful only when is_multicast().
  constexpr Ip6MulticastScope multicast_scope() const {
    return static_cast<Ip6MulticastScope>(bytes_[1] & 0x0f);
  }
  // fe80::/10 (RFC 4291 §2.5.6).
  constexpr bool is_link_local() const { return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80; }
  // fec0::/10, deprecated by RFC 3879 but still recognised so it is not taken for global.
  constexpr bool is_site_local() const { return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0xc0; }
  // fc00::/7 (RFC 4193 §3.1).
  constexpr bool is_unique_local() const { return (bytes_[0] & 0xfe) == 0xfc; }
  // ::ffff:0:0/96 (RFC 4291 §2.5.5.2).
  constexpr bool is_ip4_mapped() const {
    for (size_t i = 0; i < 10; ++i) {
      if (bytes_[i] != 0) return false;
    }
    return bytes_[10] == 0xff && bytes_[11] == 0xff;
  }
  // ff02::1:ff00:0/104 (RFC 4291 §2.7.1).
  constexpr bool is_solicited_node_multicast() const { return SolicitedNodeMulticast() == *this; }
  // Global unicast: "everything else" of RFC 4291 §2.4, i.e. not unspecified, loopback,
  // multicast, link-local, site-local, IPv4-mapped, nor unique local (which RFC 4193 §4.1 keeps
  // out of the global routing table).
  constexpr bool is_global() const {
    return !is_unspecified() && !is_loopback() && !is_multicast() && !is_link_local() &&
           !is_site_local() && !is_unique_local() && !is_ip4_mapped();
  }

  // ff02::1:ffXX:XXXX with the low 24 bits of this address (RFC 4291 §2.7.1), the group a
  // node joins for each of its unicast addresses and where Neighbor Solicitations go.
  constexpr Ip6Address SolicitedNodeMulticast() const {
    Bytes b = FromGroups({0xff02, 0, 0, 0, 0, 1, 0xff00, 0}).bytes_;
    b[13] = bytes_[13];
    b[14] = bytes_[14];
    b[15] = bytes_[15];
    return Ip6Address(b);
  }
  // The IPv4 address inside ::ffff:a.b.c.d, or nullopt when this is not IPv4-mapped.
  constexpr std::optional<Ip4Address> UnmapIp4() const {
    if (!is_ip4_mapped()) return std::nullopt;
    return Ip4Address::FromBytes(&bytes_[12]);
  }

  // RFC 5952 form, e.g. "2001:db8::1", "::ffff:10.77.0.1" (ToString and operator<< from
  // TextForm).
  // Writes the text form (at most kMaxTextSize chars, no terminator) and returns its end.
  char* FormatTo(char* out) const;

  constexpr auto operator<=>(const Ip6Address&) const = default;

  template <typename H>
  friend H AbslHashValue(H h, const Ip6Address& a) {
    return H::combine(std::move(h), a.bytes_);
  }

 private:
  Bytes bytes_{};
};

}  // namespace pytcp

template <>
struct fmt::formatter<pytcp::Ip6Address> : pytcp::net_internal::TextFormatter<pytcp::Ip6Address> {};
