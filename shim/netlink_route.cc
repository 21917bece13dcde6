#include "shim/netlink_route.h"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace pytcp::shim {
namespace {

// Netlink is in the host's byte order (netlink(7)); fields are read and written through
// memcpy, never through a cast of the buffer.
template <typename T>
T Load(std::span<const uint8_t> b, size_t at) {
  T v{};
  std::memcpy(&v, b.data() + at, sizeof(T));
  return v;
}
template <typename T>
void Store(std::span<uint8_t> b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof(T));
}

constexpr size_t kHeader = NLMSG_HDRLEN;          // struct nlmsghdr, aligned (16)
constexpr size_t kIfaddrmsg = sizeof(ifaddrmsg);  // 8
constexpr size_t kIfinfomsg = sizeof(ifinfomsg);  // 16
constexpr size_t kLenAt = 0, kTypeAt = 4, kFlagsAt = 6, kSeqAt = 8, kPidAt = 12;

// One message of a datagram: its bytes (nlmsg_len of them, at most the rest) and where the
// next begins (NLMSG_NEXT). A length below the header or past the datagram ends the walk
// (NLMSG_OK is false for it, as for the kernel's own readers).
struct Message {
  std::span<const uint8_t> bytes;
  uint16_t type = 0;
  uint32_t seq = 0;
  uint32_t pid = 0;
};

template <typename Fn>  // fn(const Message&) for each well-formed message; returns where the
                        // walk stopped (the datagram's size when every message was whole)
size_t EachMessage(std::span<const uint8_t> d, Fn&& fn) {
  size_t at = 0;
  while (d.size() - at >= kHeader) {
    const uint32_t len = Load<uint32_t>(d, at + kLenAt);
    if (len < kHeader || len > d.size() - at) break;
    Message m{d.subspan(at, len), Load<uint16_t>(d, at + kTypeAt), Load<uint32_t>(d, at + kSeqAt),
              Load<uint32_t>(d, at + kPidAt)};
    fn(m);
    at += std::min<size_t>(NLMSG_ALIGN(len), d.size() - at);
  }
  return at;
}

// The interface index an address or link message is about, or 0 when it has none.
int IndexOf(const Message& m) {
  switch (m.type) {
    case RTM_NEWADDR:
    case RTM_DELADDR:
      if (m.bytes.size() < kHeader + kIfaddrmsg) return 0;
      return static_cast<int>(Load<uint32_t>(m.bytes, kHeader + offsetof(ifaddrmsg, ifa_index)));
    case RTM_NEWLINK:
    case RTM_DELLINK:
      if (m.bytes.size() < kHeader + kIfinfomsg) return 0;
      return Load<int>(m.bytes, kHeader + offsetof(ifinfomsg, ifi_index));
    default:
      return 0;
  }
}

bool IsPending(const std::vector<PendingAddrDump>& pending, uint32_t seq) {
  return std::any_of(pending.begin(), pending.end(),
                     [&](const PendingAddrDump& p) { return p.seq == seq; });
}

// The link message about the TAP, with the stack's MAC and MTU in its attributes.
void EditLink(std::span<uint8_t> m, const StackInterface& si) {
  size_t at = kHeader + NLMSG_ALIGN(kIfinfomsg);
  while (m.size() >= at + RTA_LENGTH(0)) {
    const uint16_t len = Load<uint16_t>(m, at);
    const uint16_t type = Load<uint16_t>(m, at + 2) & NLA_TYPE_MASK;
    if (len < RTA_LENGTH(0) || len > m.size() - at) return;
    const size_t data = at + RTA_LENGTH(0);
    if (type == IFLA_ADDRESS && len == RTA_LENGTH(6)) {
      std::memcpy(m.data() + data, si.mac.bytes().data(), 6);
    } else if (type == IFLA_MTU && len == RTA_LENGTH(4)) {
      Store<uint32_t>(m, data, si.mtu);
    }
    at += RTA_ALIGN(len);
  }
}

void AppendAttribute(std::vector<uint8_t>* out, uint16_t type, const void* data, size_t n) {
  const size_t at = out->size();
  out->resize(at + RTA_SPACE(n), 0);
  std::span<uint8_t> b(*out);
  Store<uint16_t>(b, at, static_cast<uint16_t>(RTA_LENGTH(n)));
  Store<uint16_t>(b, at + 2, type);
  if (n > 0) std::memcpy(out->data() + at + RTA_LENGTH(0), data, n);
}

// Starts an RTM_NEWADDR of the stack's interface at the end of `out`: the netlink header
// (its length filled in by EndNewAddr) and the ifaddrmsg. Returns where it starts.
size_t BeginNewAddr(const StackInterface& si, uint8_t family, uint8_t prefix_length,
                    uint8_t ifa_flags, uint8_t scope, uint32_t seq, uint32_t portid,
                    uint16_t flags, std::vector<uint8_t>* out) {
  const size_t start = out->size();
  out->resize(start + kHeader + NLMSG_ALIGN(kIfaddrmsg), 0);
  std::span<uint8_t> b(*out);
  Store<uint16_t>(b, start + kTypeAt, RTM_NEWADDR);
  Store<uint16_t>(b, start + kFlagsAt, flags);
  Store<uint32_t>(b, start + kSeqAt, seq);
  Store<uint32_t>(b, start + kPidAt, portid);
  const size_t ifa = start + kHeader;
  b[ifa + offsetof(ifaddrmsg, ifa_family)] = family;
  b[ifa + offsetof(ifaddrmsg, ifa_prefixlen)] = prefix_length;
  b[ifa + offsetof(ifaddrmsg, ifa_flags)] = ifa_flags;
  b[ifa + offsetof(ifaddrmsg, ifa_scope)] = scope;
  Store<uint32_t>(b, ifa + offsetof(ifaddrmsg, ifa_index), si.index);
  return start;
}

void EndNewAddr(size_t start, std::vector<uint8_t>* out) {
  Store<uint32_t>(std::span<uint8_t>(*out), start + kLenAt, static_cast<uint32_t>(out->size() - start));
}

}  // namespace

void NoteAddrDumpRequests(std::span<const uint8_t> request, std::vector<PendingAddrDump>* pending) {
  EachMessage(request, [&](const Message& m) {
    const uint16_t flags = Load<uint16_t>(m.bytes, kFlagsAt);
    // rtnetlink_rcv_msg: a GET with either dump bit (NLM_F_ROOT or NLM_F_MATCH) is a dump.
    if (m.type != RTM_GETADDR || (flags & NLM_F_REQUEST) == 0 || (flags & NLM_F_DUMP) == 0) return;
    // The family is the first byte of the payload (struct rtgenmsg or struct ifaddrmsg);
    // the kernel reads it as AF_UNSPEC when the payload is missing.
    const uint8_t family = m.bytes.size() > kHeader ? m.bytes[kHeader] : AF_UNSPEC;
    if (pending->size() == kMaxPendingAddrDumps) pending->erase(pending->begin());
    pending->push_back(PendingAddrDump{m.seq, family});
  });
}

bool NeedsRewrite(std::span<const uint8_t> datagram, const std::vector<PendingAddrDump>& pending) {
  bool needs = false;
  EachMessage(datagram, [&](const Message& m) {
    switch (m.type) {
      case RTM_NEWADDR:
      case RTM_DELADDR:
      case RTM_NEWLINK:
      case RTM_DELLINK:
        needs = true;
        break;
      case NLMSG_DONE:
      case NLMSG_ERROR:
        needs = needs || IsPending(pending, m.seq);
        break;
      default:
        break;
    }
  });
  return needs;
}

void AppendStackAddress(const StackInterface& si, const Ip4Interface& address, uint32_t seq,
                        uint32_t portid, uint16_t flags, std::vector<uint8_t>* out) {
  const size_t start = BeginNewAddr(si, AF_INET, address.prefix_length(), IFA_F_PERMANENT,
                                    RT_SCOPE_UNIVERSE, seq, portid, flags, out);
  // inet_fill_ifaddr's order: IFA_ADDRESS (the peer's on a point-to-point link, else the
  // local address), IFA_LOCAL, IFA_BROADCAST, IFA_LABEL, IFA_FLAGS, IFA_CACHEINFO.
  const uint32_t local = htonl(address.address().value());
  AppendAttribute(out, IFA_ADDRESS, &local, 4);
  AppendAttribute(out, IFA_LOCAL, &local, 4);
  if (const auto bcast = address.directed_broadcast()) {
    const uint32_t be = htonl(bcast->value());
    AppendAttribute(out, IFA_BROADCAST, &be, 4);
  }
  AppendAttribute(out, IFA_LABEL, si.name.c_str(), si.name.size() + 1);
  const uint32_t ifa_flags = IFA_F_PERMANENT;
  AppendAttribute(out, IFA_FLAGS, &ifa_flags, 4);
  // A permanent address: lifetimes INFINITY_LIFE_TIME, no time stamps kept.
  const ifa_cacheinfo ci{0xFFFFFFFFu, 0xFFFFFFFFu, 0, 0};
  AppendAttribute(out, IFA_CACHEINFO, &ci, sizeof(ci));
  EndNewAddr(start, out);
}

void AppendStackAddress6(const StackInterface& si, const StackIp6Address& address, uint32_t seq,
                         uint32_t portid, uint16_t flags, std::vector<uint8_t>* out) {
  const uint32_t ifa_flags = address.ifa_flags();
  // ifaddrmsg holds the low 8 bits of the flags; IFA_FLAGS below has all of them.
  const size_t start = BeginNewAddr(si, AF_INET6, address.prefix_length,
                                    static_cast<uint8_t>(ifa_flags), address.scope(), seq, portid,
                                    flags, out);
  // inet6_fill_ifaddr's order: IFA_ADDRESS, IFA_CACHEINFO, IFA_FLAGS (all 32 bits), and
  // IFA_PROTO for the addresses the kernel would have made itself (the link-local one,
  // SLAAC's). A permanent address with an infinite preferred lifetime reports both
  // lifetimes infinite.
  AppendAttribute(out, IFA_ADDRESS, address.address.bytes().data(), 16);
  const bool forever = (ifa_flags & IFA_F_PERMANENT) != 0 &&
                       address.preferred_seconds == StackIp6Address::kForever;
  const ifa_cacheinfo ci{forever ? StackIp6Address::kForever : address.preferred_seconds,
                         forever ? StackIp6Address::kForever : address.valid_seconds, 0, 0};
  AppendAttribute(out, IFA_CACHEINFO, &ci, sizeof(ci));
  AppendAttribute(out, IFA_FLAGS, &ifa_flags, 4);
  if (address.source != Ip6AddressSource::kStatic) {
    const uint8_t proto =
        address.source == Ip6AddressSource::kLinkLocal ? IFAPROT_KERNEL_LL : IFAPROT_KERNEL_RA;
    AppendAttribute(out, IFA_PROTO, &proto, 1);
  }
  EndNewAddr(start, out);
}

std::vector<uint8_t> RewriteDatagram(std::span<const uint8_t> datagram,
                                     std::span<const StackInterface> ifaces,
                                     std::vector<PendingAddrDump>* pending, bool consume) {
  std::vector<uint8_t> out;
  out.reserve(datagram.size() + 128);
  // The stack's interface a message is about (by the TAP's index), or null.
  auto stack_iface = [&](const Message& m) -> const StackInterface* {
    const int index = IndexOf(m);
    for (const StackInterface& si : ifaces) {
      if (si.index != 0 && static_cast<int>(si.index) == index) return &si;
    }
    return nullptr;
  };
  auto take = [&](uint32_t seq) -> std::optional<PendingAddrDump> {
    auto it = std::find_if(pending->begin(), pending->end(),
                           [&](const PendingAddrDump& p) { return p.seq == seq; });
    if (it == pending->end()) return std::nullopt;
    const PendingAddrDump p = *it;
    if (consume) pending->erase(it);
    return p;
  };
  const size_t walked = EachMessage(datagram, [&](const Message& m) {
    const StackInterface* about = stack_iface(m);
    if (about != nullptr && (m.type == RTM_NEWADDR || m.type == RTM_DELADDR)) return;
    if (m.type == NLMSG_DONE) {
      const std::optional<PendingAddrDump> p = take(m.seq);
      // The kernel dumps IPv4 addresses of every link, then IPv6 ones: so do these.
      if (p && (p->family == AF_INET || p->family == AF_UNSPEC)) {
        for (const StackInterface& si : ifaces) {
          for (const Ip4Interface& a : si.addresses) {
            AppendStackAddress(si, a, m.seq, m.pid, NLM_F_MULTI, &out);
          }
        }
      }
      if (p && (p->family == AF_INET6 || p->family == AF_UNSPEC)) {
        for (const StackInterface& si : ifaces) {
          for (const StackIp6Address& a : si.ip6_addresses) {
            AppendStackAddress6(si, a, m.seq, m.pid, NLM_F_MULTI, &out);
          }
        }
      }
    } else if (m.type == NLMSG_ERROR) {
      (void)take(m.seq);  // the dump failed: no NLMSG_DONE will come
    }
    const size_t at = out.size();
    out.insert(out.end(), m.bytes.begin(), m.bytes.end());
    out.resize(at + NLMSG_ALIGN(m.bytes.size()), 0);
    if (about != nullptr && (m.type == RTM_NEWLINK || m.type == RTM_DELLINK)) {
      EditLink(std::span<uint8_t>(out).subspan(at, m.bytes.size()), *about);
    }
  });
  // Whatever could not be parsed is passed on untouched.
  out.insert(out.end(), datagram.begin() + static_cast<ptrdiff_t>(std::min(walked, datagram.size())),
             datagram.end());
  return out;
}

}  // namespace pytcp::shim
