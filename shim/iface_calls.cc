// getifaddrs: the kernel's interfaces with the stack's in place of the TAP device's entry
// (interfaces.h). freeifaddrs stays glibc's: the result is one malloc block, as glibc's is.
// if_nametoindex and friends need nothing: the stack's interface has the TAP's name and
// index.
#include "shim/interfaces.h"
#include "shim/interpose.h"

PYTCP_EXPORT int getifaddrs(ifaddrs** out) noexcept {
  return pytcp::shim::Guarded(-1, [&] { return pytcp::shim::GetIfAddrs(out); });
}
