#include "shim/interfaces.h"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "shim/daemon_channel.h"
#include "shim/libc.h"
#include "shim/runtime.h"
#include "stack/stack_query.h"

namespace pytcp::shim {
namespace {

constexpr unsigned kFlags = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST;

sockaddr_in In(Ip4Address a) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(a.value());
  return in;
}

// As glibc's getifaddrs fills it: a link-local address carries the interface as its scope.
sockaddr_in6 In6(const Ip6Address& a, unsigned scope_index) {
  sockaddr_in6 in{};
  in.sin6_family = AF_INET6;
  std::memcpy(&in.sin6_addr, a.bytes().data(), 16);
  if (a.is_link_local()) in.sin6_scope_id = scope_index;
  return in;
}

size_t SockaddrSize(const sockaddr* sa) {
  if (sa == nullptr) return 0;
  switch (sa->sa_family) {
    case AF_INET: return sizeof(sockaddr_in);
    case AF_INET6: return sizeof(sockaddr_in6);
    case AF_PACKET: return sizeof(sockaddr_ll);
    default: return sizeof(sockaddr);
  }
}

// One entry to lay out: pointers into memory that lives until the block is built.
struct Item {
  std::string name;
  unsigned flags;
  std::vector<uint8_t> addr, netmask, ifu;
  std::vector<uint8_t> data;
  bool ifu_is_broadcast;
};

std::vector<uint8_t> Bytes(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  return p == nullptr ? std::vector<uint8_t>() : std::vector<uint8_t>(b, b + n);
}

// A kernel socket for asking the kernel about its interfaces.
class KernelSocket {
 public:
  KernelSocket() : fd_(libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
  ~KernelSocket() {
    if (fd_ >= 0) libc().close(fd_);
  }
  KernelSocket(const KernelSocket&) = delete;
  KernelSocket& operator=(const KernelSocket&) = delete;
  int Ioctl(unsigned long request, void* arg) const {
    if (fd_ < 0) return -1;
    return libc().ioctl(fd_, request, arg);
  }

 private:
  int fd_;
};

// True when the kernel's interface `name` is one of the stack's (its TAPs).
bool IsStackInterface(const std::vector<StackInterface>& stack_ifaces, const char* name) {
  return std::any_of(stack_ifaces.begin(), stack_ifaces.end(),
                     [&](const StackInterface& si) { return si.name == name; });
}

int IfreqIoctl(const StackInterface& si, unsigned long request, ifreq* ifr) {
  switch (request) {
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR: {
      if (si.addresses.empty()) return errno = EADDRNOTAVAIL, -1;
      const Ip4Interface& a = si.addresses.front();
      Ip4Address v = a.address();
      if (request == SIOCGIFNETMASK) v = a.netmask();
      if (request == SIOCGIFBRDADDR) v = a.directed_broadcast().value_or(Ip4Address());
      const sockaddr_in in = In(v);
      std::memcpy(&ifr->ifr_addr, &in, sizeof(in));
      return 0;
    }
    case SIOCGIFFLAGS:
      ifr->ifr_flags = static_cast<short>(kFlags);
      return 0;
    case SIOCGIFMTU:
      ifr->ifr_mtu = static_cast<int>(si.mtu);
      return 0;
    case SIOCGIFHWADDR: {
      std::memset(&ifr->ifr_hwaddr, 0, sizeof(ifr->ifr_hwaddr));
      ifr->ifr_hwaddr.sa_family = ARPHRD_ETHER;
      std::memcpy(ifr->ifr_hwaddr.sa_data, si.mac.bytes().data(), 6);
      return 0;
    }
    case SIOCGIFINDEX:
      ifr->ifr_ifindex = static_cast<int>(si.index);
      return 0;
    default:
      return errno = ENOTTY, -1;
  }
}

int IfConf(const std::vector<StackInterface>& stack_ifaces, ifconf* ifc) {
  // The kernel's entries for its other interfaces, then the stack's addresses.
  std::vector<ifreq> entries;
  {
    KernelSocket k;
    std::vector<ifreq> buf(64);
    ifconf kc{};
    kc.ifc_len = static_cast<int>(buf.size() * sizeof(ifreq));
    kc.ifc_req = buf.data();
    if (k.Ioctl(SIOCGIFCONF, &kc) == 0) {
      for (size_t i = 0; i < static_cast<size_t>(kc.ifc_len) / sizeof(ifreq); ++i) {
        if (!IsStackInterface(stack_ifaces, buf[i].ifr_name)) entries.push_back(buf[i]);
      }
    }
  }
  for (const StackInterface& si : stack_ifaces) {
    for (const Ip4Interface& a : si.addresses) {
      ifreq r{};
      std::strncpy(r.ifr_name, si.name.c_str(), IFNAMSIZ - 1);
      const sockaddr_in in = In(a.address());
      std::memcpy(&r.ifr_addr, &in, sizeof(in));
      entries.push_back(r);
    }
  }
  const int need = static_cast<int>(entries.size() * sizeof(ifreq));
  if (ifc->ifc_req == nullptr) {
    ifc->ifc_len = need;
    return 0;
  }
  const size_t fit = std::min(entries.size(), static_cast<size_t>(std::max(ifc->ifc_len, 0)) / sizeof(ifreq));
  if (fit > 0) std::memcpy(ifc->ifc_req, entries.data(), fit * sizeof(ifreq));
  ifc->ifc_len = static_cast<int>(fit * sizeof(ifreq));
  return 0;
}

}  // namespace

std::vector<StackIp6Address> StackIp6Addresses(const std::vector<Ip6AddressEntry>& entries,
                                               Instant now, uint8_t iface) {
  std::vector<StackIp6Address> out;
  for (const Ip6AddressEntry& e : entries) {
    if (e.iface != iface) continue;
    out.push_back(StackIp6Address{e.address(), e.ifaddr.prefix_length(), e.state, e.source,
                                  e.preferred_seconds_left(now), e.valid_seconds_left(now)});
  }
  return out;
}

// One of the daemon's interfaces as the shim describes it.
static StackInterface FromHostInfo(const pytcpd::HostInfo& info) {
  StackInterface si;
  si.name = std::string(info.iface, strnlen(info.iface, sizeof(info.iface)));
  si.index = if_nametoindex(si.name.c_str());
  si.mac = MacAddress::FromBytes(info.mac);
  si.mtu = info.mtu;
  for (uint32_t i = 0; i < std::min<uint32_t>(info.ip4_count, 8); ++i) {
    if (auto a = Ip4Interface::Create(Ip4Address(info.ip4[i]), info.ip4_prefix[i])) {
      si.addresses.push_back(*a);
    }
  }
  for (uint32_t i = 0; i < std::min<uint32_t>(info.ip6_count, 8); ++i) {
    // Values outside the enums (a daemon of another build) are not shown.
    if (info.ip6_state[i] > static_cast<uint8_t>(Ip6AddressState::kDuplicated) ||
        info.ip6_source[i] > static_cast<uint8_t>(Ip6AddressSource::kSlaac) ||
        info.ip6_prefix[i] > 128) {
      continue;
    }
    Ip6Address::Bytes bytes;
    std::memcpy(bytes.data(), info.ip6[i], 16);
    si.ip6_addresses.push_back(StackIp6Address{
        Ip6Address(bytes), info.ip6_prefix[i], static_cast<Ip6AddressState>(info.ip6_state[i]),
        static_cast<Ip6AddressSource>(info.ip6_source[i]), info.ip6_preferred[i], info.ip6_valid[i]});
  }
  return si;
}

std::optional<StackInterface> GetStackInterface() {
  std::vector<StackInterface> all = GetStackInterfaces();
  if (all.empty()) return std::nullopt;
  return std::move(all.front());
}

std::vector<StackInterface> GetStackInterfaces() {
  if (SharedStack()) {
    std::vector<StackInterface> all;
    pytcpd::HostInfo info;
    for (uint32_t position = 0; DaemonHostInfo(&info, position); ++position) {
      all.push_back(FromHostInfo(info));
      if (position + 1 >= info.interface_count) break;
    }
    return all;
  }
  int err = 0;
  Stack* stack = AcquireStack(&err);
  if (stack == nullptr) return {};
  std::vector<StackInterface> all;
  const StackQuery query(*stack);
  const std::vector<StackInterfaceInfo> ifaces = query.Interfaces();
  const StackAddresses addresses = query.Addresses();
  for (size_t i = 0; i < ifaces.size(); ++i) {
    StackInterface si;
    si.name = ifaces[i].name;
    si.index = if_nametoindex(si.name.c_str());
    si.mac = ifaces[i].mac;
    si.mtu = ifaces[i].mtu;
    for (const auto& e : addresses.ip4) {
      if (e.usable() && e.iface == i) si.addresses.push_back(e.ifaddr);
    }
    si.ip6_addresses = StackIp6Addresses(addresses.ip6, addresses.now, static_cast<uint8_t>(i));
    all.push_back(std::move(si));
  }
  return all;
}

int GetIfAddrs(ifaddrs** out) {
  if (out == nullptr) return errno = EFAULT, -1;
  const std::vector<StackInterface> stack_ifaces = GetStackInterfaces();
  ifaddrs* kernel = nullptr;
  if (libc().getifaddrs(&kernel) != 0) kernel = nullptr;
  std::vector<Item> packet, inet, inet6, rest;
  for (ifaddrs* k = kernel; k != nullptr; k = k->ifa_next) {
    if (IsStackInterface(stack_ifaces, k->ifa_name)) continue;
    Item it{k->ifa_name, k->ifa_flags, Bytes(k->ifa_addr, SockaddrSize(k->ifa_addr)),
            Bytes(k->ifa_netmask, SockaddrSize(k->ifa_netmask)),
            Bytes(k->ifa_ifu.ifu_broadaddr, SockaddrSize(k->ifa_ifu.ifu_broadaddr)), {}, true};
    const int family = k->ifa_addr != nullptr ? k->ifa_addr->sa_family : AF_UNSPEC;
    if (family == AF_PACKET && k->ifa_data != nullptr) {
      it.data = Bytes(k->ifa_data, sizeof(rtnl_link_stats));
    }
    (family == AF_PACKET ? packet
     : family == AF_INET ? inet
     : family == AF_INET6 ? inet6
                         : rest)
        .push_back(std::move(it));
  }
  if (kernel != nullptr) freeifaddrs(kernel);
  for (const StackInterface& each : stack_ifaces) {
    const StackInterface* si = &each;
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_ifindex = static_cast<int>(si->index);
    ll.sll_hatype = ARPHRD_ETHER;
    ll.sll_halen = 6;
    std::memcpy(ll.sll_addr, si->mac.bytes().data(), 6);
    sockaddr_ll bc = ll;
    std::memset(bc.sll_addr, 0xff, 6);
    rtnl_link_stats stats{};
    packet.push_back(Item{si->name, kFlags, Bytes(&ll, sizeof(ll)), {}, Bytes(&bc, sizeof(bc)),
                          Bytes(&stats, sizeof(stats)), true});
    for (const Ip4Interface& a : si->addresses) {
      const sockaddr_in addr = In(a.address()), mask = In(a.netmask());
      const sockaddr_in bcast = In(a.directed_broadcast().value_or(Ip4Address()));
      inet.push_back(Item{si->name, kFlags, Bytes(&addr, sizeof(addr)), Bytes(&mask, sizeof(mask)),
                          a.directed_broadcast() ? Bytes(&bcast, sizeof(bcast)) : std::vector<uint8_t>(),
                          {}, true});
    }
    // glibc lists a dump's IPv4 addresses, then its IPv6 ones; these go after the kernel's.
    for (const StackIp6Address& a : si->ip6_addresses) {
      const sockaddr_in6 addr = In6(a.address, si->index);
      const sockaddr_in6 mask = In6(Ip6Network::Netmask(a.prefix_length), 0);
      inet6.push_back(Item{si->name, kFlags, Bytes(&addr, sizeof(addr)), Bytes(&mask, sizeof(mask)),
                           {}, {}, false});
    }
  }
  std::vector<Item> all;
  for (auto* v : {&packet, &inet, &inet6, &rest}) {
    for (auto& it : *v) all.push_back(std::move(it));
  }
  // One block: the entries, then each entry's data, aligned for sockaddrs.
  constexpr size_t kAlign = alignof(std::max_align_t);
  auto round = [](size_t n) { return (n + kAlign - 1) / kAlign * kAlign; };
  size_t total = round(all.size() * sizeof(ifaddrs));
  for (const Item& it : all) {
    total += round(it.name.size() + 1) + round(it.addr.size()) + round(it.netmask.size()) +
             round(it.ifu.size()) + round(it.data.size());
  }
  if (all.empty()) {
    *out = nullptr;
    return 0;
  }
  auto* block = static_cast<uint8_t*>(std::calloc(1, total));
  if (block == nullptr) return errno = ENOMEM, -1;
  auto* entries = reinterpret_cast<ifaddrs*>(block);
  uint8_t* p = block + round(all.size() * sizeof(ifaddrs));
  auto place = [&](const std::vector<uint8_t>& bytes) -> void* {
    if (bytes.empty()) return nullptr;
    void* at = p;
    std::memcpy(p, bytes.data(), bytes.size());
    p += round(bytes.size());
    return at;
  };
  for (size_t i = 0; i < all.size(); ++i) {
    ifaddrs& e = entries[i];
    e.ifa_next = i + 1 < all.size() ? &entries[i + 1] : nullptr;
    e.ifa_name = reinterpret_cast<char*>(p);
    std::memcpy(p, all[i].name.c_str(), all[i].name.size() + 1);
    p += round(all[i].name.size() + 1);
    e.ifa_flags = all[i].flags;
    e.ifa_addr = static_cast<sockaddr*>(place(all[i].addr));
    e.ifa_netmask = static_cast<sockaddr*>(place(all[i].netmask));
    e.ifa_ifu.ifu_broadaddr = static_cast<sockaddr*>(place(all[i].ifu));
    e.ifa_data = place(all[i].data);
  }
  *out = entries;
  return 0;
}

bool IsInterfaceIoctl(unsigned long request) {
  switch (request) {
    case SIOCGIFCONF:
    case SIOCGIFNAME:
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR:
    case SIOCGIFFLAGS:
    case SIOCGIFMTU:
    case SIOCGIFHWADDR:
    case SIOCGIFINDEX:
      return true;
    default:
      return false;
  }
}

int InterfaceIoctl(unsigned long request, void* arg) {
  if (arg == nullptr) return errno = EFAULT, -1;
  switch (request) {
    case SIOCGIFCONF: {
      const auto all = GetStackInterfaces();
      if (all.empty()) return errno = ENETDOWN, -1;
      return IfConf(all, static_cast<ifconf*>(arg));
    }
    case SIOCGIFNAME: {
      auto* ifr = static_cast<ifreq*>(arg);
      for (const StackInterface& si : GetStackInterfaces()) {
        if (ifr->ifr_ifindex == static_cast<int>(si.index)) {
          std::strncpy(ifr->ifr_name, si.name.c_str(), IFNAMSIZ - 1);
          return 0;
        }
      }
      return KernelSocket().Ioctl(request, arg);
    }
    case SIOCGIFADDR:
    case SIOCGIFNETMASK:
    case SIOCGIFBRDADDR:
    case SIOCGIFFLAGS:
    case SIOCGIFMTU:
    case SIOCGIFHWADDR:
    case SIOCGIFINDEX: {
      auto* ifr = static_cast<ifreq*>(arg);
      for (const StackInterface& si : GetStackInterfaces()) {
        if (std::strncmp(ifr->ifr_name, si.name.c_str(), IFNAMSIZ) == 0) {
          return IfreqIoctl(si, request, ifr);
        }
      }
      return KernelSocket().Ioctl(request, arg);
    }
    default:
      return errno = ENOTTY, -1;
  }
}

}  // namespace pytcp::shim
