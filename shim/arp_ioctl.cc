#include "shim/arp_ioctl.h"

#include <linux/capability.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "shim/daemon_channel.h"
#include "shim/interfaces.h"
#include "shim/libc.h"
#include "shim/runtime.h"
#include "shim/user_memory.h"
#include "stack/stack_arp_ioctl.h"

namespace pytcp::shim {
namespace {

// capable(CAP_NET_ADMIN) for the calling thread (capget(2): the effective set).
bool HasNetAdmin() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective & CAP_TO_MASK(CAP_NET_ADMIN)) != 0;
}

int KernelArpIoctl(unsigned long request, arpreq* r) {
  const int fd = libc().socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int rc = libc().ioctl(fd, request, r);
  const int e = errno;
  libc().close(fd);
  errno = e;
  return rc;
}

// The stack's answer, in-process or from pytcpd: 0 or an errno.
int StackArp(unsigned long request, arpreq* r) {
  if (SharedStack()) {
    pytcpd::Request req;
    req.op = pytcpd::Op::kArp;
    req.arg[0] = static_cast<int32_t>(request);
    DaemonReply rep;
    const auto* p = reinterpret_cast<const uint8_t*>(r);
    if (const int e = CallDaemon(req, std::span<const uint8_t>(p, sizeof(*r)), -1, &rep); e != 0) {
      return e;
    }
    if (rep.rep.result < 0) return rep.rep.error;
    if (rep.payload.size() == sizeof(*r)) std::memcpy(r, rep.payload.data(), sizeof(*r));
    return 0;
  }
  int err = 0;
  Stack* stack = AcquireStack(&err);
  if (stack == nullptr) return err;
  return StackArpIoctl(*stack, request, r);
}

}  // namespace

bool IsArpIoctl(unsigned long request) {
  return request == SIOCSARP || request == SIOCGARP || request == SIOCDARP;
}

int ArpIoctl(unsigned long request, void* arg) {
  // arp_ioctl's order: the capability, then copying the request in.
  if (request != SIOCGARP && !HasNetAdmin()) return errno = EPERM, -1;
  if (arg == nullptr || !UserReadable(arg, sizeof(arpreq))) return errno = EFAULT, -1;
  arpreq r;
  std::memcpy(&r, arg, sizeof(r));
  const std::optional<StackInterface> si = GetStackInterface();
  const std::string dev(r.arp_dev, strnlen(r.arp_dev, sizeof(r.arp_dev)));
  bool ours = false;
  if (si && r.arp_pa.sa_family == AF_INET) {
    if (!dev.empty()) {
      ours = dev == si->name;
    } else {
      sockaddr_in in{};
      std::memcpy(&in, &r.arp_pa, sizeof(in));
      const Ip4Address ip(ntohl(in.sin_addr.s_addr));
      for (const Ip4Interface& a : si->addresses) ours = ours || a.Contains(ip);
    }
  }
  if (!ours) return KernelArpIoctl(request, static_cast<arpreq*>(arg));
  if (const int e = StackArp(request, &r); e != 0) return errno = e, -1;
  if (request == SIOCGARP) {
    if (!UserWritable(arg, sizeof(r))) return errno = EFAULT, -1;
    std::memcpy(arg, &r, sizeof(r));
  }
  return 0;
}

}  // namespace pytcp::shim
