#include "stack/link/tap_link.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "stack/wire/checksum.h"

namespace pytcp {
namespace {

// struct virtio_net_hdr of <linux/virtio_net.h> (virtio 1.1 §5.1.6), which cannot be
// included from C++ (a member is named `class`). Fields are little-endian on x86, where the
// legacy header's native order and virtio 1.0's agree.
struct virtio_net_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;      // Ethernet + IP + TCP headers of a GSO frame
  uint16_t gso_size;     // payload bytes per segment
  uint16_t csum_start;   // where the L4 checksum's coverage starts
  uint16_t csum_offset;  // the checksum field, from csum_start
};
static_assert(sizeof(virtio_net_hdr) == 10);
constexpr uint8_t VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
constexpr uint8_t VIRTIO_NET_HDR_GSO_TCPV4 = 1;
// The largest IPv4 datagram: what a TSO super-frame may carry.
constexpr uint32_t kTsoMaxSize = 65535;
constexpr size_t kVnetHeaderSize = sizeof(virtio_net_hdr);  // 10: the legacy header
constexpr size_t kRxBufferSize = kVnetHeaderSize + 65536 + kMaxLinkHeaderSize;

// On unless PYTCP_TAP_OFFLOAD=0 (StackConfig rejects anything but '0' and '1').
bool OffloadsFromEnvironment() {
  const char* v = std::getenv("PYTCP_TAP_OFFLOAD");
  return v == nullptr || std::strcmp(v, "0") != 0;
}

// Fills in an L4 checksum the sender left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM): the field
// at csum_start + csum_offset holds the pseudo-header sum, so the one's-complement sum of
// everything from csum_start, field included, is the checksum (what the kernel's
// skb_checksum_help does). False if the offsets do not fit the frame.
bool CompleteChecksum(uint8_t* frame, size_t size, const virtio_net_hdr& h) {
  const size_t start = h.csum_start;
  const size_t field = start + h.csum_offset;
  if (field + 2 > size) return false;
  const uint16_t sum = InternetChecksum(std::span<const uint8_t>(frame + start, size - start));
  frame[field] = static_cast<uint8_t>(sum >> 8);
  frame[field + 1] = static_cast<uint8_t>(sum);
  return true;
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

// Describes an IPv4/TCP super-frame (larger than the MTU) to the device: segment it into
// payloads of MTU - IP header - TCP header, each with a copy of the headers (IP ID
// incremented, lengths and checksums per segment). The L4 checksum becomes "partial"
// (NEEDS_CSUM): the kernel's GSO expects the pseudo-header sum of the whole datagram in the
// checksum field, which goes into `header_copy` (the frame itself is const) along with the
// Ethernet, IP and TCP headers. Returns the header length, or 0 if the frame is not TCP
// over IPv4 (nothing else is ever larger than the MTU).
size_t DescribeTso(ByteSpan frame, uint32_t mtu, virtio_net_hdr* vnet, uint8_t* header_copy) {
  constexpr size_t kEth = 14;
  if (frame.size() < kEth + 20 + 20 || LoadBe16(frame, 12) != 0x0800) return 0;
  const size_t ihl = static_cast<size_t>(frame[kEth] & 0x0f) * 4;
  if ((frame[kEth] >> 4) != 4 || ihl < 20 || frame[kEth + 9] != 6) return 0;
  if (frame.size() < kEth + ihl + 20) return 0;
  const size_t thl = static_cast<size_t>(frame[kEth + ihl + 12] >> 4) * 4;
  const size_t hdr_len = kEth + ihl + thl;
  if (thl < 20 || frame.size() <= hdr_len || mtu <= ihl + thl) return 0;
  std::memcpy(header_copy, frame.data(), hdr_len);
  const Ip4Address src = Ip4Address::FromBytes(frame.data() + kEth + 12);
  const Ip4Address dst = Ip4Address::FromBytes(frame.data() + kEth + 16);
  const uint32_t tcp_length = static_cast<uint32_t>(LoadBe16(frame, kEth + 2) - ihl);
  // Folded, not complemented: the device adds the data and complements.
  const uint16_t partial = static_cast<uint16_t>(~ChecksumFold(PseudoHeaderSum4(src, dst, 6, tcp_length)));
  header_copy[kEth + ihl + 16] = static_cast<uint8_t>(partial >> 8);
  header_copy[kEth + ihl + 17] = static_cast<uint8_t>(partial);
  vnet->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  vnet->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
  vnet->hdr_len = static_cast<uint16_t>(hdr_len);
  vnet->gso_size = static_cast<uint16_t>(mtu - ihl - thl);
  vnet->csum_start = static_cast<uint16_t>(kEth + ihl);
  vnet->csum_offset = 16;
  return hdr_len;
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
    int hdr_size = static_cast<int>(kVnetHeaderSize);
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
      vnet_size_(features.vnet_header ? kVnetHeaderSize : 0),
      rx_buffer_(kRxBufferSize) {}

TapLink::~TapLink() { ::close(fd_); }

LinkStatus TapLink::Send(ByteSpan frame) {
  if (frame.size() < kMinFrameSize) return LinkStatus::kTooBig;
  // With IFF_VNET_HDR every write starts with a header; an all-zero one says "a plain,
  // fully checksummed frame" (VIRTIO_NET_HDR_GSO_NONE, no flags).
  virtio_net_hdr vnet{};
  uint8_t header_copy[kMaxLinkHeaderSize + 60 + 60];
  iovec iov[3] = {{&vnet, vnet_size_},
                  {const_cast<uint8_t*>(frame.data()), frame.size()},
                  {nullptr, 0}};
  int iov_count = 2;
  if (frame.size() > mtu_ + kMaxLinkHeaderSize) {
    if (features_.tso_max_size == 0 || frame.size() > features_.tso_max_size + kMaxLinkHeaderSize) {
      return LinkStatus::kTooBig;
    }
    const size_t hdr_len = DescribeTso(frame, mtu_, &vnet, header_copy);
    if (hdr_len == 0) return LinkStatus::kTooBig;
    iov[1] = {header_copy, hdr_len};
    iov[2] = {const_cast<uint8_t*>(frame.data() + hdr_len), frame.size() - hdr_len};
    iov_count = 3;
  }
  for (;;) {
    const ssize_t n = vnet_size_ != 0 ? ::writev(fd_, iov, iov_count) : ::write(fd_, frame.data(), frame.size());
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
    if (static_cast<size_t>(n) < vnet_size_ + kMinFrameSize) continue;  // not an Ethernet frame
    uint8_t* frame = rx_buffer_.data() + vnet_size_;
    const size_t size = static_cast<size_t>(n) - vnet_size_;
    if (vnet_size_ != 0) {
      virtio_net_hdr vnet;
      std::memcpy(&vnet, rx_buffer_.data(), sizeof(vnet));
      // A GSO super-frame (gso_type != NONE) needs nothing else from us: its headers
      // describe the whole payload (IPv4 total length, IPv6 payload length) and the layers
      // above take a 64 KB TCP segment like any other.
      if ((vnet.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0 && !CompleteChecksum(frame, size, vnet)) {
        continue;  // offsets outside the frame: malformed
      }
    }
    ++result.frames;
    sink(ByteSpan(frame, size));
  }
  return result;
}

}  // namespace pytcp
