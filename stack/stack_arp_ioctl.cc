#include "stack/stack_arp_ioctl.h"

#include <linux/sockios.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <algorithm>
#include <array>
#include <optional>
#include <string>

namespace pytcp {
namespace {

Ip4Address ProtocolAddress(const arpreq& r) {
  sockaddr_in in{};
  std::memcpy(&in, &r.arp_pa, sizeof(in));
  return Ip4Address(ntohl(in.sin_addr.s_addr));
}

// arp_state_to_flags: ATF_COM for a valid entry (a MAC is known), ATF_PERM for a
// permanent one.
int FlagsOf(NeighbourState state) {
  switch (state) {
    case NeighbourState::kIncomplete: return 0;
    case NeighbourState::kPermanent: return ATF_PERM | ATF_COM;
    default: return ATF_COM;
  }
}

}  // namespace

int StackArpIoctl(Stack& stack, unsigned long request, arpreq* r) {
  if (request != SIOCSARP && request != SIOCGARP && request != SIOCDARP) return EINVAL;
  if (r->arp_pa.sa_family != AF_INET) return EPFNOSUPPORT;
  // A netmask or "don't publish" only mean something for a proxy entry.
  if ((r->arp_flags & ATF_PUBL) == 0 && (r->arp_flags & (ATF_NETMASK | ATF_DONTPUB)) != 0) {
    return EINVAL;
  }
  // "Mmmm... It is wrong... ARPHRD_NETROM==0": a zero hardware family is the device's.
  if (r->arp_ha.sa_family == 0) r->arp_ha.sa_family = ARPHRD_ETHER;
  if ((r->arp_flags & ATF_COM) != 0 && r->arp_ha.sa_family != ARPHRD_ETHER) return EINVAL;
  if ((r->arp_flags & ATF_PUBL) != 0) return EOPNOTSUPP;
  const Ip4Address ip = ProtocolAddress(*r);
  std::lock_guard lock(stack.mutex());
  NeighbourCache<Ip4Address>& cache = stack.arp().cache();
  switch (request) {
    case SIOCSARP: {
      std::optional<MacAddress> mac;
      if ((r->arp_flags & ATF_COM) != 0 || (r->arp_flags & ATF_PERM) != 0) {
        std::array<uint8_t, 6> b{};
        std::memcpy(b.data(), r->arp_ha.sa_data, 6);
        mac = MacAddress::FromBytes(b.data());
      }
      // arp_req_set: ATF_PERM makes a PERMANENT entry, anything else a STALE one.
      if ((r->arp_flags & ATF_PERM) != 0) {
        cache.AddPermanent(ip, *mac);
        return 0;
      }
      return cache.SetByAdmin(ip, mac, stack.clock().Now()) ? 0 : EINVAL;
    }
    case SIOCDARP:
      // arp_invalidate: ENXIO when there is no such entry.
      if (cache.Find(ip) == nullptr) return ENXIO;
      cache.Remove(ip);
      return 0;
    default: {  // SIOCGARP
      const auto* e = cache.Find(ip);
      if (e == nullptr) return ENXIO;
      std::memset(r->arp_ha.sa_data, 0, sizeof(r->arp_ha.sa_data));
      if (e->state != NeighbourState::kIncomplete) {
        std::memcpy(r->arp_ha.sa_data, e->mac.bytes().data(), 6);
      }
      r->arp_ha.sa_family = ARPHRD_ETHER;
      r->arp_flags = FlagsOf(e->state);
      const std::string name(stack.iface().name());
      std::memset(r->arp_dev, 0, sizeof(r->arp_dev));
      std::memcpy(r->arp_dev, name.data(), std::min(name.size(), sizeof(r->arp_dev) - 1));
      return 0;
    }
  }
}

}  // namespace pytcp
