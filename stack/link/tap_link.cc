#include "stack/link/tap_link.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "stack/link/virtio_net.h"

namespace pytcp {
namespace {

constexpr size_t kRxBufferSize = kVirtioNetHeaderSize + 65536 + kMaxLinkHeaderSize;

// On unless PYTCP_TAP_OFFLOAD=0 (StackConfig rejects anything but '0' and '1').
bool OffloadsFromEnvironment() {
  const char* v = ::secure_getenv("PYTCP_TAP_OFFLOAD");
  return v == nullptr || std::strcmp(v, "0") != 0;
}

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

// Attaching gives the device its carrier, but the kernel acts on that later, in its
// link-watch work (net/core/link_watch.c): until then the device's operational state is
// down (no IFF_RUNNING), its queue discipline drops what the kernel sends to us, and a
// bridge it is a port of drops what we send. A program started right after another let
// go of the device (the carrier went off and the kernel saw it) lost its first ARP
// request so and waited a second for the retry. The kernel treats that change as urgent
// and it takes well under a millisecond; a device that stays down for another reason is
// not waited for longer than kMaxCarrierWait.
constexpr auto kMaxCarrierWait = std::chrono::seconds(2);

void WaitUntilRunning(const IfSocket& sock, const std::string& name) {
  const auto until = std::chrono::steady_clock::now() + kMaxCarrierWait;
  while (true) {
    ifreq q = MakeIfreq(name);
    if (sock.Ioctl(SIOCGIFFLAGS, &q) != 0 || (q.ifr_flags & IFF_RUNNING) != 0) return;
    if (std::chrono::steady_clock::now() >= until) return;
    const timespec pause{0, 100 * 1000};  // 100 µs
    ::nanosleep(&pause, nullptr);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<TapLink>> TapLink::Open(std::string_view name) {
  TapLinkOptions options;
  options.offloads = OffloadsFromEnvironment();
  return Open(name, options);
}

absl::StatusOr<std::unique_ptr<TapLink>> TapLink::Open(std::string_view name_view,
                                                       const TapLinkOptions& options) {
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
  ifr.ifr_flags = static_cast<short>(IFF_TAP | IFF_NO_PI | (options.offloads ? IFF_VNET_HDR : 0));
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
  WaitUntilRunning(sock, name);
  uint32_t mtu = 1500;
  q = MakeIfreq(name);
  if (sock.Ioctl(SIOCGIFMTU, &q) == 0 && q.ifr_mtu > 0) mtu = static_cast<uint32_t>(q.ifr_mtu);

  LinkFeatures features;
  if (!options.offloads) {
    // The offloads are a property of the device, not of our descriptor: TUNSETOFFLOAD sets
    // the tun device's features, and a persistent device keeps them after its owner closes
    // it. A reader that opens it later without IFF_VNET_HDR would still be handed GSO
    // super-frames and CHECKSUM_PARTIAL frames (whose TCP/UDP checksum field holds only the
    // pseudo-header sum) with no header to say so, and would drop them as corrupt. This is
    // what made lab_tcp's impaired path (tests/lab/impair_relay.cc, which opens plain) fail
    // after a stack with offloads had used the same TAP. Zero makes the kernel segment and
    // checksum in software before queueing to us. Old kernels without TUNSETOFFLOAD (EINVAL)
    // cannot have set them either, so a failure here is not an error.
    (void)::ioctl(fd, TUNSETOFFLOAD, 0UL);
  } else {
    // The header size is the legacy 10 bytes (no MRG_RXBUF). Accepting partial checksums
    // and TCP super-frames is what makes the kernel stop segmenting and checksumming
    // GSO/GRO packets on their way to us; if it refuses, frames still carry the header.
    int hdr_size = static_cast<int>(kVirtioNetHeaderSize);
    features.vnet_header = ::ioctl(fd, TUNSETVNETHDRSZ, &hdr_size) == 0;
    if (features.vnet_header &&
        ::ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned long>(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) == 0) {
      features.rx_checksum = true;
      features.rx_gro = true;
      // Transmit segmentation needs only the header (the kernel segments whatever a
      // writer describes); it is offered together with the rest.
      features.tso_max_size = kTsoMaxSize;
    }
    if (!features.vnet_header) {
      // Without a known header size the framing would be ambiguous: fall back to none.
      ::close(fd);
      TapLinkOptions none;
      none.offloads = false;
      return Open(name, none);
    }
  }
  return std::unique_ptr<TapLink>(new TapLink(fd, name, ifindex, mtu, features));
}

TapLink::TapLink(int fd, std::string name, int ifindex, uint32_t mtu, LinkFeatures features)
    : fd_(fd),
      name_(std::move(name)),
      ifindex_(ifindex),
      mtu_(mtu),
      features_(features),
      vnet_size_(features.vnet_header ? kVirtioNetHeaderSize : 0),
      rx_buffer_(kRxBufferSize) {}

TapLink::~TapLink() { ::close(fd_); }

LinkStatus TapLink::Send(ByteSpan frame) { return SendGather(frame, {}, {}); }

LinkStatus TapLink::SendGather(ByteSpan head, ByteSpan a, ByteSpan b) {
  const size_t size = head.size() + a.size() + b.size();
  if (size < kMinFrameSize || head.size() < kMinFrameSize) return LinkStatus::kTooBig;
  // With IFF_VNET_HDR every write starts with a header; an all-zero one says "a plain,
  // fully checksummed frame" (VIRTIO_NET_HDR_GSO_NONE, no flags).
  VirtioNetHeader vnet;
  uint8_t header_copy[kMaxTsoHeaderSize];
  iovec iov[5];
  int n = 0;
  if (vnet_size_ != 0) iov[n++] = {&vnet, vnet_size_};
  if (size > mtu_ + kMaxLinkHeaderSize) {
    // tso_max_size bounds the IP datagram (IPv4) or its payload (IPv6, whose 40-byte
    // header is not counted in its length field).
    if (features_.tso_max_size == 0 || size > features_.tso_max_size + 40 + kMaxLinkHeaderSize) {
      return LinkStatus::kTooBig;
    }
    const size_t hdr_len = DescribeTso(head, size, mtu_, &vnet, header_copy);
    if (hdr_len == 0) return LinkStatus::kTooBig;
    iov[n++] = {header_copy, hdr_len};
    head = head.subspan(hdr_len);
  }
  for (ByteSpan piece : {head, a, b}) {
    if (!piece.empty()) iov[n++] = {const_cast<uint8_t*>(piece.data()), piece.size()};
  }
  for (;;) {
    const ssize_t w = n == 1 ? ::write(fd_, iov[0].iov_base, iov[0].iov_len) : ::writev(fd_, iov, n);
    if (w >= 0) return LinkStatus::kOk;  // a TAP write takes the whole frame or fails
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
    if (static_cast<size_t>(n) < vnet_size_ + kMinFrameSize) continue;  // not an Ethernet frame
    const MutableByteSpan frame(rx_buffer_.data() + vnet_size_, static_cast<size_t>(n) - vnet_size_);
    RxFrameInfo info;
    if (vnet_size_ != 0) {
      VirtioNetHeader vnet;
      std::memcpy(&vnet, rx_buffer_.data(), sizeof(vnet));
      if (!ReadRxVirtioNetHeader(vnet, frame, &info)) continue;  // malformed header
    }
    ++result.frames;
    sink(frame, info);
  }
  return result;
}

}  // namespace pytcp
