#include "stack/net/bind_overlap.h"

namespace pytcp {
namespace {

// LOOPBACK4_IPV6 (include/net/ipv6.h).
constexpr Ip4Address kLoopback4Ipv6(127, 0, 0, 6);

// ipv6_addr_type() of sk_v6_rcv_saddr, reduced to what the comparison uses. An AF_INET
// sk2 counts as mapped: inet6_rcv_saddr() is NULL for it.
enum class V6Type { kAny, kMapped, kOther };

V6Type TypeOf(const BindKey& k) {
  if (!k.ipv6 || k.ip.is_v4()) return V6Type::kMapped;
  return k.ip.is_unspecified() ? V6Type::kAny : V6Type::kOther;
}

// sk_rcv_saddr: an AF_INET socket's address; for AF_INET6, __inet6_bind stores the
// mapped IPv4 address, 0 for `::`, and LOOPBACK4_IPV6 for any other address.
Ip4Address RcvSaddr(const BindKey& k) {
  if (!k.ipv6 || k.ip.is_v4()) return k.ip.v4();  // v4() of `::` is 0.0.0.0
  return k.ip.is_unspecified() ? Ip4Address() : kLoopback4Ipv6;
}

// ipv4_rcv_saddr_equal().
bool Ipv4RcvSaddrEqual(Ip4Address a, Ip4Address b, bool b_v6only, bool match_wildcard) {
  if (b_v6only) return false;
  if (a == b) return true;
  return match_wildcard && (a.is_unspecified() || b.is_unspecified());
}

// ipv6_rcv_saddr_equal() with one match_wildcard for both sockets.
bool Ipv6RcvSaddrEqual(const BindKey& a, const BindKey& b, bool match_wildcard) {
  const V6Type ta = TypeOf(a);
  const V6Type tb = TypeOf(b);
  // "if both are mapped, treat as IPv4"
  if (ta == V6Type::kMapped && tb == V6Type::kMapped) {
    return Ipv4RcvSaddrEqual(RcvSaddr(a), RcvSaddr(b), b.v6only, match_wildcard);
  }
  if (ta == V6Type::kAny && tb == V6Type::kAny) return true;
  if (tb == V6Type::kAny && match_wildcard && !(b.v6only && ta == V6Type::kMapped)) return true;
  if (ta == V6Type::kAny && match_wildcard && !(a.v6only && tb == V6Type::kMapped)) return true;
  return b.ipv6 && a.ip == b.ip;
}

}  // namespace

bool BindAddressesOverlap(const BindKey& a, const BindKey& b, bool match_wildcard) {
  if (a.ipv6) return Ipv6RcvSaddrEqual(a, b, match_wildcard);
  return Ipv4RcvSaddrEqual(RcvSaddr(a), RcvSaddr(b), b.ipv6 && b.v6only, match_wildcard);
}

bool EffectiveV6only(const BindKey& key) {
  if (!key.ipv6) return false;
  return key.v6only || TypeOf(key) == V6Type::kOther;
}

}  // namespace pytcp
