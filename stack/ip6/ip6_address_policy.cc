#include "stack/ip6/ip6_address_policy.h"

#include <algorithm>

namespace pytcp {
namespace {

struct PolicyEntry {
  uint8_t prefix[16];
  int length;
  int precedence;
  int label;
};

// RFC 6724 §2.1, longest prefixes first so the first match is the longest.
constexpr PolicyEntry kDefaultPolicy[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, 50, 0},  // ::1/128
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}, 96, 35, 4},  // ::ffff:0:0/96
    {{0}, 96, 1, 3},                                                  // ::/96
    {{0x20, 0x01, 0, 0}, 32, 5, 5},                                   // 2001::/32 (Teredo)
    {{0x20, 0x02}, 16, 30, 2},                                        // 2002::/16 (6to4)
    {{0x3f, 0xfe}, 16, 1, 12},                                        // 3ffe::/16 (6bone)
    {{0xfe, 0xc0}, 10, 1, 11},                                        // fec0::/10
    {{0xfc}, 7, 3, 13},                                               // fc00::/7 (ULA)
    {{0}, 0, 40, 1},                                                  // ::/0
};

bool InPrefix(const Ip6Address& a, const PolicyEntry& e) {
  const auto& b = a.bytes();
  int bits = e.length;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((b[i] & mask) != (e.prefix[i] & mask)) return false;
  }
  return true;
}

const PolicyEntry& Lookup(const Ip6Address& a) {
  for (const PolicyEntry& e : kDefaultPolicy) {
    if (InPrefix(a, e)) return e;
  }
  return kDefaultPolicy[std::size(kDefaultPolicy) - 1];
}

// IPv4 addresses take part as IPv4-mapped IPv6 addresses (RFC 6724 §3.2).
Ip6Address AsIp6(const IpAddress& a) { return a.v6(); }

}  // namespace

int AddressScope(const Ip6Address& a) {
  if (a.is_multicast()) return static_cast<int>(a.multicast_scope());
  if (a.is_ip4_mapped()) {
    const auto& b = a.bytes();
    // RFC 6724 §3.2: 127/8 and 169.254/16 are link-local scope, the rest global.
    if (b[12] == 127 || (b[12] == 169 && b[13] == 254)) return 2;
    return 14;
  }
  if (a.is_link_local() || a.is_loopback()) return 2;
  if (a.is_site_local()) return 5;
  return 14;
}

int PolicyPrecedence(const Ip6Address& a) { return Lookup(a).precedence; }
int PolicyLabel(const Ip6Address& a) { return Lookup(a).label; }

int CommonPrefixLength(const Ip6Address& a, const Ip6Address& b) {
  int n = 0;
  for (size_t i = 0; i < Ip6Address::kSize; ++i) {
    const uint8_t x = a.bytes()[i] ^ b.bytes()[i];
    if (x == 0) {
      n += 8;
      continue;
    }
    for (int bit = 7; bit >= 0 && (x & (1 << bit)) == 0; --bit) ++n;
    break;
  }
  return n;
}

void SortDestinations(std::span<DestinationCandidate> candidates) {
  // true when `a` is to be preferred to `b`; neither: rule 10, the order stays.
  auto before = [](const DestinationCandidate& a, const DestinationCandidate& b) {
    // Rule 1: avoid unusable destinations.
    if (a.source.has_value() != b.source.has_value()) return a.source.has_value();
    if (!a.source) return false;
    const Ip6Address da = AsIp6(a.destination), db = AsIp6(b.destination);
    const Ip6Address sa = AsIp6(*a.source), sb = AsIp6(*b.source);
    // Rule 2: prefer matching scope.
    const bool ma = AddressScope(da) == AddressScope(sa), mb = AddressScope(db) == AddressScope(sb);
    if (ma != mb) return ma;
    // Rule 3: avoid deprecated source addresses.
    if (a.source_deprecated != b.source_deprecated) return b.source_deprecated;
    // Rule 5: prefer matching label.
    const bool la = PolicyLabel(sa) == PolicyLabel(da), lb = PolicyLabel(sb) == PolicyLabel(db);
    if (la != lb) return la;
    // Rule 6: prefer higher precedence.
    const int pa = PolicyPrecedence(da), pb = PolicyPrecedence(db);
    if (pa != pb) return pa > pb;
    // Rule 8: prefer smaller scope.
    const int ca = AddressScope(da), cb = AddressScope(db);
    if (ca != cb) return ca < cb;
    // Rule 9: longest matching prefix, between two IPv6 destinations only, counted no
    // further than the source's prefix.
    if (!a.destination.is_v4() && !b.destination.is_v4()) {
      const int ra = std::min(CommonPrefixLength(da, sa), a.source_prefix_length);
      const int rb = std::min(CommonPrefixLength(db, sb), b.source_prefix_length);
      if (ra != rb) return ra > rb;
    }
    return false;  // rule 10
  };
  std::stable_sort(candidates.begin(), candidates.end(), before);
}

}  // namespace pytcp
