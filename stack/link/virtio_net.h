// The virtio-net header that a TAP opened with IFF_VNET_HDR puts in front of every frame in
// both directions, and what TapLink reads from it and writes into it.
//
// To read: virtio 1.1 §5.1.6 "Device Operation" (struct virtio_net_hdr, §5.1.6.2 packet
// transmission: NEEDS_CSUM and the GSO types, §5.1.6.4 processing of incoming packets:
// DATA_VALID); Linux's include/linux/virtio_net.h (virtio_net_hdr_to_skb/from_skb, what
// the TAP actually does) and Documentation/networking/segmentation-offloads.rst.
//
// Kept apart from tap_link.cc so that the byte layout is unit-tested without a device
// (tests/link/virtio_net_test.cc); nothing here does I/O.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/link/link.h"

namespace pytcp {

// struct virtio_net_hdr of <linux/virtio_net.h>, which cannot be included from C++ (a
// member is named `class`): the legacy 10-byte header (no VIRTIO_NET_F_MRG_RXBUF). Its
// fields are in the host's byte order (TUNSETVNETLE/BE are not used), so it is copied
// with memcpy, never assembled byte by byte.
struct VirtioNetHeader {
  uint8_t flags = 0;
  uint8_t gso_type = 0;
  uint16_t hdr_len = 0;      // Ethernet + IP + TCP headers of a GSO frame
  uint16_t gso_size = 0;     // payload bytes per segment
  uint16_t csum_start = 0;   // where the L4 checksum's coverage starts, from the frame start
  uint16_t csum_offset = 0;  // the checksum field, from csum_start
};
static_assert(sizeof(VirtioNetHeader) == 10);
inline constexpr size_t kVirtioNetHeaderSize = sizeof(VirtioNetHeader);

inline constexpr uint8_t kVirtioNetFlagNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
inline constexpr uint8_t kVirtioNetFlagDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
inline constexpr uint8_t kVirtioNetGsoNone = 0;
inline constexpr uint8_t kVirtioNetGsoTcpV4 = 1;
inline constexpr uint8_t kVirtioNetGsoTcpV6 = 4;

// The largest IP datagram a TSO super-frame may carry (IPv4 total length, IPv6 payload
// length without jumbograms): what TapLink offers as tso_max_size.
inline constexpr uint32_t kTsoMaxSize = 65535;

// Receive: what the header says about the frame that follows it. A GSO super-frame
// (gso_type != NONE) needs nothing: its IP length fields describe the whole payload and the
// layers above take a 64 KB TCP segment like any other. A checksum the device verified
// (DATA_VALID) or one the local sender left partial (NEEDS_CSUM) for TCP or UDP is reported
// in info->l4_checksum_valid instead of being summed here (see the .cc for why that is
// sound); any other partial checksum is completed in `frame`, which is then ordinary.
// False if the header describes a checksum field outside the frame (malformed: drop it).
bool ReadRxVirtioNetHeader(const VirtioNetHeader& vnet, MutableByteSpan frame, RxFrameInfo* info);

// Transmit: describes a TCP super-frame (IPv4 or IPv6 without extension headers, larger
// than the MTU) for the device to segment into payloads of MTU - IP header - TCP header,
// each with a copy of the headers (IPv4 ID incremented, lengths and checksums per segment).
// The TCP checksum becomes partial (NEEDS_CSUM): GSO wants the pseudo-header sum of the
// whole datagram, with the length, in the checksum field. That goes into `header_copy`
// (at least kMaxTsoHeaderSize bytes; the frame itself is const), with the Ethernet, IP and
// TCP headers; the caller writes vnet, header_copy[0, result) and the rest of the frame.
// Returns the header length, or 0 if the frame is not such a segment.
inline constexpr size_t kMaxTsoHeaderSize = kMaxLinkHeaderSize + 60 + 60;
size_t DescribeTso(ByteSpan frame, uint32_t mtu, VirtioNetHeader* vnet, uint8_t* header_copy);
// The same for a frame of `frame_size` bytes of which `headers` holds at least the first
// (Ethernet, IP and TCP headers): for a frame sent in pieces (Link::SendGather).
size_t DescribeTso(ByteSpan headers, size_t frame_size, uint32_t mtu, VirtioNetHeader* vnet,
                   uint8_t* header_copy);

}  // namespace pytcp
