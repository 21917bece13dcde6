// The link layer's one interface: something that sends and receives whole Ethernet frames.
//
// Implementations: TapLink (a Linux TAP device), MemoryLink (an in-memory pair with seeded
// impairments, for tests) and PcapLink (middleware that records the frames of any Link, in
// the manner of smoltcp's phy::PcapWriter). The stack's event loop waits on wait_fd() and
// on next_delivery_time(), then drains Receive() in batches until it reports no more frames.
//
// Offloads (DESIGN.md "Performance"): a TAP opened with IFF_VNET_HDR prefixes each frame
// with a virtio-net header and may carry GSO/GRO super-frames of up to 64 KB. LinkFeatures
// says which of those a link has negotiated (TapLink: all, by default; the memory and pcap
// links: none of their own); RxFrameInfo carries what the header said about one received
// frame up to the protocols.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "stack/base/bytes.h"
#include "stack/base/clock.h"
#include "stack/base/named_enum.h"

namespace pytcp {

// Ethernet header (14) plus one 802.1Q tag (4): what a frame may carry beyond the MTU.
inline constexpr size_t kMaxLinkHeaderSize = 18;
inline constexpr size_t kMinFrameSize = 14;

// The outcome of a send (or of the last read in a receive batch). A small enum rather than
// absl::Status: this is the packet path, where failures must not allocate.
PYTCP_NAMED_ENUM(LinkStatus, uint8_t,
  kOk,
  kWouldBlock,  // the device queue is full; the frame was not sent (retry later)
  kTooBig,      // larger than the link can carry, or smaller than an Ethernet header
  kDown,        // the device is gone or administratively down
  kIoError,     // any other I/O error
);

// Offloads a link has negotiated.
struct LinkFeatures {
  // Every frame, in both directions, starts with a struct virtio_net_hdr.
  bool vnet_header = false;
  // Transmit: the device completes the L4 checksum described in the vnet header.
  bool tx_checksum = false;
  // Receive: the device has verified L4 checksums (VIRTIO_NET_HDR_F_DATA_VALID).
  bool rx_checksum = false;
  // Transmit segmentation: largest super-frame the device splits into MTU frames; 0 = none.
  uint32_t tso_max_size = 0;
  // Receive: frames may be GRO'd super-frames larger than mtu() + kMaxLinkHeaderSize.
  bool rx_gro = false;
};

// What the link knows about one received frame beyond its bytes.
struct RxFrameInfo {
  // The frame's TCP or UDP checksum need not be verified: the device has verified it
  // (virtio DATA_VALID), or the frame comes from a sender in this host that left the
  // checksum partial (NEEDS_CSUM: the field then holds only the pseudo-header sum; see
  // stack/link/virtio_net.cc for why skipping is sound). Applies to the transport header
  // of an unfragmented IPv4/IPv6 packet only; the IP header checksum is always verified.
  bool l4_checksum_valid = false;
  // Of those, the ones whose checksum field holds the pseudo-header sum only (NEEDS_CSUM):
  // whoever sends the bytes on (a router) must complete it, or leave it to a device.
  bool l4_checksum_partial = false;
  // A TCP super-frame the kernel coalesced (GRO) or a local sender left for the device to
  // segment (GSO): the payload bytes of each segment on the wire (virtio's gso_size); 0
  // for an ordinary frame. A router compares the segments, not the super-frame, with the
  // next hop's MTU (RFC 1191 §4), as Linux's ip_forward does.
  uint16_t gso_size = 0;
};

// Called once per received frame. The bytes are valid only during the call (they live in
// the link's receive buffer); copy what must outlive it. The sink may call Send() on the
// same link (no lock is held while it runs).
using FrameSink = absl::FunctionRef<void(ByteSpan frame, const RxFrameInfo& info)>;
// For callers that need only the bytes (tests, tools).
using PlainFrameSink = absl::FunctionRef<void(ByteSpan frame)>;

struct ReceiveResult {
  size_t frames = 0;                   // frames handed to the sink
  LinkStatus status = LinkStatus::kOk;  // kOk: stopped because empty or max_frames reached
};

class Link {
 public:
  virtual ~Link() = default;

  // Sends one frame (Ethernet header first). Never blocks.
  [[nodiscard]] virtual LinkStatus Send(ByteSpan frame) = 0;

  // Sends one frame given as `head` followed by `a` and `b` (the frame's bytes in three
  // pieces: headers in one buffer, a payload that lies elsewhere, in up to two runs), as if
  // they were one span. Links that can write pieces (TapLink: writev) override it; the
  // default joins them in a buffer of the calling thread and calls Send().
  [[nodiscard]] virtual LinkStatus SendGather(ByteSpan head, ByteSpan a, ByteSpan b);

  // Sends frames in order until one fails; returns how many were sent and, through
  // *status, why it stopped (kOk when all were sent). Links that can hand a batch to the
  // device in one call override it.
  virtual size_t SendBatch(std::span<const ByteSpan> frames, LinkStatus* status);

  // Non-blocking: hands up to max_frames waiting frames to `sink`, stopping early when no
  // more are waiting. frames == max_frames means more may be waiting.
  virtual ReceiveResult Receive(FrameSink sink, size_t max_frames) = 0;
  // The same, dropping the RxFrameInfo. (Implementations say `using Link::Receive;`.)
  ReceiveResult Receive(PlainFrameSink sink, size_t max_frames) {
    return Receive(FrameSink([&](ByteSpan frame, const RxFrameInfo&) { sink(frame); }), max_frames);
  }

  // Becomes readable when Receive() has frames to return. The link owns it.
  virtual int wait_fd() const = 0;

  // The earliest time a frame that wait_fd() does not yet signal becomes receivable
  // (a delayed frame in a MemoryLink); Infinite when none. The event loop folds it into
  // its poll timeout, as it does protocol deadlines.
  virtual Instant next_delivery_time() const { return Instant::Infinite(); }

  // The largest L3 packet a frame carries (1500 on Ethernet).
  virtual uint32_t mtu() const = 0;

  virtual LinkFeatures features() const { return {}; }
};

}  // namespace pytcp
