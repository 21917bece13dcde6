// A Link over an existing Linux TAP device (/dev/net/tun with IFF_TAP | IFF_NO_PI).
//
// TapLink only attaches: it never creates a device. Creating one needs CAP_NET_ADMIN, and
// a device the stack made itself would vanish with the process and have no address, bridge
// or routes around it; an administrator (or scripts/lab) makes a persistent device once:
//
//   ip tuntap add name tap7 mode tap [user USER]   &&   ip link set tap7 up
//
// Reads and writes are one frame per system call on a non-blocking descriptor; Receive()
// loops until EAGAIN.
//
// Offloads (DESIGN.md "Performance"): the device is opened with IFF_VNET_HDR, so every
// frame in both directions carries a struct virtio_net_hdr in front, and TUNSETOFFLOAD
// tells the kernel we accept partially checksummed frames (TUN_F_CSUM) and TCP super-frames
// (TUN_F_TSO4/6). The kernel then hands us GSO/GRO'd TCP super-frames of up to 64 KB in one
// read instead of 45 MTU-sized frames: one system call, one pass up the stack, one ACK
// decision. Frames marked NEEDS_CSUM carry only the pseudo-header sum in their L4 checksum
// field (the sender was local and its checksum was never computed); frames marked
// DATA_VALID were verified by the kernel. Either way Receive() tells the layers above, in
// RxFrameInfo::l4_checksum_valid, that TCP/UDP need not sum the bytes (stack/link/
// virtio_net.{h,cc}), so a received byte is summed at most once on its way up. Super-frames
// leave as one writev (vnet header, a copy of the headers with the partial checksum, the
// payload in place: for TCP, in its send ring, see SendGather), described for GSO over IPv4
// or IPv6. On by default; PYTCP_TAP_OFFLOAD=0 in the environment (or
// TapLinkOptions::offloads = false) opens the device plain, with its offloads switched off.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "stack/link/link.h"

namespace pytcp {

struct TapLinkOptions {
  // Negotiate IFF_VNET_HDR and TUNSETOFFLOAD (see above). Open(name) takes it from
  // PYTCP_TAP_OFFLOAD (on unless '0').
  bool offloads = true;
};

class TapLink final : public Link {
 public:
  // Attaches to the TAP device `name` in the caller's network namespace and brings it up
  // if it is down (which needs CAP_NET_ADMIN). Errors name the device and say how to fix
  // the problem: NotFound (no such device), PermissionDenied, FailedPrecondition (not a
  // TAP device, or already attached by another process), Unavailable (no /dev/net/tun).
  static absl::StatusOr<std::unique_ptr<TapLink>> Open(std::string_view name);
  static absl::StatusOr<std::unique_ptr<TapLink>> Open(std::string_view name,
                                                       const TapLinkOptions& options);

  ~TapLink() override;
  TapLink(const TapLink&) = delete;
  TapLink& operator=(const TapLink&) = delete;

  [[nodiscard]] LinkStatus Send(ByteSpan frame) override;
  // One writev: the vnet header, the headers (a copy with the partial checksum for a TSO
  // super-frame) and the payload pieces where they lie.
  [[nodiscard]] LinkStatus SendGather(ByteSpan head, ByteSpan a, ByteSpan b) override;
  ReceiveResult Receive(FrameSink sink, size_t max_frames) override;
  using Link::Receive;
  int wait_fd() const override { return fd_; }
  uint32_t mtu() const override { return mtu_; }
  LinkFeatures features() const override { return features_; }

  const std::string& name() const { return name_; }
  int ifindex() const { return ifindex_; }

 private:
  TapLink(int fd, std::string name, int ifindex, uint32_t mtu, LinkFeatures features);

  int fd_;
  std::string name_;
  int ifindex_;
  uint32_t mtu_;
  LinkFeatures features_;
  size_t vnet_size_;  // bytes of virtio_net_hdr in front of every frame (0 without offloads)
  // One frame (and its virtio_net_hdr); sized for the largest frame the device may hand
  // us, a 64 KB GRO super-frame. Only the receiving thread uses it.
  std::vector<uint8_t> rx_buffer_;
};

}  // namespace pytcp
