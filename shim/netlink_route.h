// NETLINK_ROUTE as a program under the shim sees it (rtnetlink(7), netlink(7)): the
// kernel's answers with the stack's interface put in, the same view getifaddrs and the
// SIOCGIF* ioctls give (interfaces.h).
//
// The program's netlink socket stays the kernel's own: requests go to the kernel, the
// kernel answers and sends its notifications, bind/getsockname/poll are the kernel's. Only
// what the program reads is edited, one datagram at a time:
//   - RTM_NEWADDR/RTM_DELADDR about the TAP device are dropped: they describe the kernel's
//     side of the TAP, which is not the interface the program uses (getifaddrs drops them
//     too);
//   - RTM_NEWLINK/RTM_DELLINK about the TAP carry the stack's MAC (IFLA_ADDRESS) and MTU
//     (IFLA_MTU), edited in place;
//   - before the NLMSG_DONE that ends an RTM_GETADDR dump the program asked for (known by
//     its sequence number), the stack's addresses of the dump's family (AF_UNSPEC: both)
//     are put in, encoded as inet_fill_ifaddr (net/ipv4/devinet.c) and inet6_fill_ifaddr
//     (net/ipv6/addrconf.c) encode an address.
// These functions are pure (no calls, no state of their own), so tests feed them bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "shim/interfaces.h"

namespace pytcp::shim {

// An RTM_GETADDR dump the program sent and whose NLMSG_DONE has not been read yet.
struct PendingAddrDump {
  uint32_t seq = 0;
  uint8_t family = 0;  // rtgen_family / ifa_family of the request (AF_UNSPEC: all)
};

// At most this many dumps are remembered (the oldest is forgotten first): a program that
// never reads its answers must not grow the shim's memory.
inline constexpr size_t kMaxPendingAddrDumps = 16;

// Notes the RTM_GETADDR dump requests in `request` (one or more nlmsghdrs, as the program
// sends them) in `pending`.
void NoteAddrDumpRequests(std::span<const uint8_t> request, std::vector<PendingAddrDump>* pending);

// Whether `datagram` holds anything RewriteDatagram would change for some interface, so
// that the stack's interface need only be looked up when it does.
bool NeedsRewrite(std::span<const uint8_t> datagram, const std::vector<PendingAddrDump>& pending);

// `datagram` as the program sees it with the stack's interfaces `ifaces` (see above).
// Dumps answered by it are removed from `pending` when `consume` (a read, not a
// MSG_PEEK). A malformed message and everything after it are passed on as they are.
std::vector<uint8_t> RewriteDatagram(std::span<const uint8_t> datagram,
                                     std::span<const StackInterface> ifaces,
                                     std::vector<PendingAddrDump>* pending, bool consume);
inline std::vector<uint8_t> RewriteDatagram(std::span<const uint8_t> datagram, const StackInterface& si,
                                            std::vector<PendingAddrDump>* pending, bool consume) {
  return RewriteDatagram(datagram, std::span<const StackInterface>(&si, 1), pending, consume);
}

// The RTM_NEWADDR message for one of the stack's IPv4 addresses, appended to `out`.
void AppendStackAddress(const StackInterface& si, const Ip4Interface& address, uint32_t seq,
                        uint32_t portid, uint16_t flags, std::vector<uint8_t>* out);
// The same for one of its IPv6 addresses, as inet6_fill_ifaddr encodes it.
void AppendStackAddress6(const StackInterface& si, const StackIp6Address& address, uint32_t seq,
                         uint32_t portid, uint16_t flags, std::vector<uint8_t>* out);

}  // namespace pytcp::shim
