#include "stack/link/tap_link.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace pytcp {
namespace {

constexpr size_t kRxBufferSize = 65536 + kMaxLinkHeaderSize;

std::string CreateHint(const std::string& name) {
  return absl::StrCat("create it with `ip tuntap add name ", name,
                      " mode tap user $(id -un) && ip link set ", name,
                      " up` (as root), or bring up the test lab with `scripts/lab up` and run "
                      "inside its host namespace (`scripts/lab exec NAME host CMD...`)");
}

std::string ErrnoText(int err) { return absl::StrCat(std::strerror(err), " (errno ", err, ")"); }

// Interface ioctls need a socket; an AF_UNIX one is enough (the kernel falls back to the
// generic device ioctls for it), and under the LD_PRELOAD shim AF_UNIX goes straight to
// libc rather than into the stack.
class IfSocket {
 public:
  IfSocket() : fd_(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
  ~IfSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  IfSocket(const IfSocket&) = delete;
  IfSocket& operator=(const IfSocket&) = delete;
  // Returns 0 or an errno.
  int Ioctl(unsigned long request, ifreq* ifr) const {
    if (fd_ < 0) return EBADF;
    return ::ioctl(fd_, request, ifr) == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

ifreq MakeIfreq(const std::string& name) {
  ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::memcpy(ifr.ifr_name, name.data(), name.size());  // size checked < IFNAMSIZ
  return ifr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TapLink>> TapLink::Open(std::string_view name_view) {
  const std::string name(name_view);
  if (name.empty() || name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(
        absl::StrCat("TAP device name '", name, "' must be 1 to ", IFNAMSIZ - 1, " characters"));
  }

  // TUNSETIFF on a name that does not exist would create a new device; look first so that
  // we only ever attach (and check again after attaching, below, to close the race).
  const int ifindex = static_cast<int>(::if_nametoindex(name.c_str()));
  if (ifindex == 0) {
    return absl::NotFoundError(absl::StrCat("TAP device ", name,
                                            " does not exist in this network namespace; ",
                                            CreateHint(name)));
  }

  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == EACCES || err == EPERM) {
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot open /dev/net/tun: ", ErrnoText(err),
          "; run as root, or give the user access to /dev/net/tun (mode 0666 is the Debian "
          "default) and create ", name, " with `ip tuntap add name ", name,
          " mode tap user $(id -un)`"));
    }
    return absl::UnavailableError(absl::StrCat(
        "cannot open /dev/net/tun: ", ErrnoText(err),
        "; load the tun module (`modprobe tun`) or create the node "
        "(`mkdir -p /dev/net && mknod /dev/net/tun c 10 200`)"));
  }

  ifreq ifr = MakeIfreq(name);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
    const int err = errno;
    ::close(fd);
    switch (err) {
      case EPERM:
      case EACCES:
        return absl::PermissionDeniedError(absl::StrCat(
            "cannot attach to TAP device ", name, ": ", ErrnoText(err),
            "; run as root (or with CAP_NET_ADMIN), or recreate the device owned by this user: "
            "`ip tuntap del name ", name, " mode tap && ip tuntap add name ", name,
            " mode tap user $(id -un) && ip link set ", name, " up`"));
      case EINVAL:
        return absl::FailedPreconditionError(absl::StrCat(
            "network device ", name, " exists but is not a TAP device (a TUN device, a bridge, "
            "a NIC ...); give the stack a TAP device, made with `ip tuntap add name NAME mode tap`"));
      case EBUSY:
        return absl::FailedPreconditionError(absl::StrCat(
            "TAP device ", name, " is already attached by another process (another stack or "
            "program is using it); stop that process or use another device"));
      default:
        return absl::InternalError(
            absl::StrCat("TUNSETIFF on ", name, " failed: ", ErrnoText(err)));
    }
  }

  // If the device vanished between the lookup and TUNSETIFF, the kernel has just created a
  // fresh non-persistent one for us; existing devices that can be attached are persistent.
  ifreq got;
  std::memset(&got, 0, sizeof(got));
  if (::ioctl(fd, TUNGETIFF, &got) != 0 || (got.ifr_flags & IFF_PERSIST) == 0) {
    ::close(fd);  // destroys the device we created by accident
    return absl::NotFoundError(absl::StrCat(
        "TAP device ", name, " disappeared while attaching (it must be a persistent device); ",
        CreateHint(name)));
  }

  IfSocket sock;
  ifreq q = MakeIfreq(name);
  if (sock.Ioctl(SIOCGIFFLAGS, &q) == 0 && (q.ifr_flags & IFF_UP) == 0) {
    q.ifr_flags = static_cast<short>(q.ifr_flags | IFF_UP);
    if (const int err = sock.Ioctl(SIOCSIFFLAGS, &q); err != 0) {
      ::close(fd);
      return absl::FailedPreconditionError(absl::StrCat(
          "TAP device ", name, " is down and cannot be brought up here (", ErrnoText(err),
          "); run `ip link set ", name, " up` as root"));
    }
  }
  uint32_t mtu = 1500;
  q = MakeIfreq(name);
  if (sock.Ioctl(SIOCGIFMTU, &q) == 0 && q.ifr_mtu > 0) mtu = static_cast<uint32_t>(q.ifr_mtu);

  return std::unique_ptr<TapLink>(new TapLink(fd, name, ifindex, mtu));
}

TapLink::TapLink(int fd, std::string name, int ifindex, uint32_t mtu)
    : fd_(fd), name_(std::move(name)), ifindex_(ifindex), mtu_(mtu), rx_buffer_(kRxBufferSize) {}

TapLink::~TapLink() { ::close(fd_); }

LinkStatus TapLink::Send(ByteSpan frame) {
  if (frame.size() < kMinFrameSize || frame.size() > mtu_ + kMaxLinkHeaderSize) {
    return LinkStatus::kTooBig;
  }
  for (;;) {
    const ssize_t n = ::write(fd_, frame.data(), frame.size());
    if (n >= 0) return LinkStatus::kOk;  // a TAP write takes the whole frame or fails
    switch (errno) {
      case EINTR:
        continue;
      case EAGAIN:
        return LinkStatus::kWouldBlock;
      case EIO:  // the device is down
      case EBADFD:
      case ENODEV:
        return LinkStatus::kDown;
      case EINVAL:
      case EMSGSIZE:
        return LinkStatus::kTooBig;
      default:
        return LinkStatus::kIoError;
    }
  }
}

ReceiveResult TapLink::Receive(FrameSink sink, size_t max_frames) {
  ReceiveResult result;
  while (result.frames < max_frames) {
    const ssize_t n = ::read(fd_, rx_buffer_.data(), rx_buffer_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) {
        result.status = (errno == EIO || errno == EBADFD || errno == ENODEV) ? LinkStatus::kDown
                                                                             : LinkStatus::kIoError;
      }
      break;
    }
    if (static_cast<size_t>(n) < kMinFrameSize) continue;  // not an Ethernet frame
    ++result.frames;
    sink(ByteSpan(rx_buffer_.data(), static_cast<size_t>(n)));
  }
  return result;
}

}  // namespace pytcp
