// SIOCSARP, SIOCGARP and SIOCDARP on the stack's ARP cache, with the checks and errors of
// Linux's arp_ioctl (net/ipv4/arp.c; arp(7)): what the shim answers when a program under
// it sets a neighbour on the stack's interface (dnsmasq does before it unicasts a DHCP
// offer to a client that has no address yet, RFC 2131 §4.1) and what pytcpd answers for
// the shared stack.
//
// The caller has already decided that the request is about the stack's interface (arp_dev
// names it, or is empty and the address is on one of its networks) and has checked
// CAP_NET_ADMIN for SIOCSARP and SIOCDARP (arp_ioctl's first step, on the caller's
// credentials). Proxy ARP (ATF_PUBL) is not supported: EOPNOTSUPP.
#pragma once

#include <net/if_arp.h>

#include "stack/stack.h"

namespace pytcp {

// 0, or the errno Linux would fail with (EPFNOSUPPORT, EINVAL, ENXIO, EOPNOTSUPP). For
// SIOCGARP `*r` is filled in as arp_req_get fills it. Takes the stack's lock.
int StackArpIoctl(Stack& stack, unsigned long request, arpreq* r);

}  // namespace pytcp
