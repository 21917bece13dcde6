// SIOCSARP, SIOCGARP and SIOCDARP on a socket of the stack (arp(7)): a request about the
// stack's interface (arp_dev names it, or is empty and the address is on one of its
// networks) goes to the stack's ARP cache, in-process or in pytcpd
// (stack/stack_arp_ioctl.h); any other is the kernel's. As arp_ioctl, setting and deleting
// need CAP_NET_ADMIN (EPERM), checked first.
#pragma once

namespace pytcp::shim {

bool IsArpIoctl(unsigned long request);

// 0, or -1 with errno.
int ArpIoctl(unsigned long request, void* arg);

}  // namespace pytcp::shim
