// A Link over an existing Linux TAP device (/dev/net/tun with IFF_TAP | IFF_NO_PI).
//
// TapLink only attaches: it never creates a device. Creating one needs CAP_NET_ADMIN, and
// a device the stack made itself would vanish with the process and have no address, bridge
// or routes around it; an administrator (or scripts/lab) makes a persistent device once:
//
//   ip tuntap add name tap7 mode tap [user USER]   &&   ip link set tap7 up
//
// Reads and writes are one frame per system call on a non-blocking descriptor; Receive()
// loops until EAGAIN. Offloads (IFF_VNET_HDR, TUNSETOFFLOAD) are not negotiated yet.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "stack/link/link.h"

namespace pytcp {

class TapLink final : public Link {
 public:
  // Attaches to the TAP device `name` in the caller's network namespace and brings it up
  // if it is down (which needs CAP_NET_ADMIN). Errors name the device and say how to fix
  // the problem: NotFound (no such device), PermissionDenied, FailedPrecondition (not a
  // TAP device, or already attached by another process), Unavailable (no /dev/net/tun).
  static absl::StatusOr<std::unique_ptr<TapLink>> Open(std::string_view name);

  ~TapLink() override;
  TapLink(const TapLink&) = delete;
  TapLink& operator=(const TapLink&) = delete;

  [[nodiscard]] LinkStatus Send(ByteSpan frame) override;
  ReceiveResult Receive(FrameSink sink, size_t max_frames) override;
  int wait_fd() const override { return fd_; }
  uint32_t mtu() const override { return mtu_; }

  const std::string& name() const { return name_; }
  int ifindex() const { return ifindex_; }

 private:
  TapLink(int fd, std::string name, int ifindex, uint32_t mtu);

  int fd_;
  std::string name_;
  int ifindex_;
  uint32_t mtu_;
  // One frame; sized for the largest frame the device may hand us (64 KB leaves room for
  // GRO super-frames once offloads are negotiated). Only the receiving thread uses it.
  std::vector<uint8_t> rx_buffer_;
};

}  // namespace pytcp
