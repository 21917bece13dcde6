#include "stack/link/virtio_net.h"

#include <cstring>

#include "stack/net/ip4_address.h"
#include "stack/net/ip6_address.h"
#include "stack/wire/checksum.h"

namespace pytcp {
namespace {

constexpr size_t kEthernetHeader = 14;
constexpr uint8_t kProtoTcp = 6;
// Where the checksum field sits in the TCP (RFC 9293 §3.1) and UDP (RFC 768) headers:
// the csum_offset a partial checksum of either has.
constexpr uint16_t kTcpChecksumOffset = 16;
constexpr uint16_t kUdpChecksumOffset = 6;

}  // namespace

bool ReadRxVirtioNetHeader(const VirtioNetHeader& vnet, MutableByteSpan frame, RxFrameInfo* info) {
  *info = RxFrameInfo{};
  if (vnet.gso_type != kVirtioNetGsoNone) info->gso_size = vnet.gso_size;
  if ((vnet.flags & kVirtioNetFlagNeedsCsum) != 0) {
    const size_t start = vnet.csum_start;
    const size_t field = start + vnet.csum_offset;
    if (field + 2 > frame.size()) return false;
    // NEEDS_CSUM: the sender is in this host (a local socket, or a veth/bridge path from a
    // namespace on it) and left the checksum for the device to fill; the field holds the
    // pseudo-header sum only (virtio 1.1 §5.1.6.2). Nothing on the way can have damaged
    // the bytes: they were copied from memory to memory. Linux itself does not verify such
    // a packet either — skb_csum_unnecessary() is true for CHECKSUM_PARTIAL, so a local
    // receiver of a packet from a veth never sums it. Summing it here to complete the field
    // and then again in TCP to verify it (what TapLink used to do: 20 % of a receive
    // profile) buys nothing, so TCP and UDP are told to skip the verification. The field
    // is left partial; a pcap of it shows a "wrong" checksum, as tcpdump on a Linux host
    // does for its own offloaded packets.
    if (vnet.csum_offset == kTcpChecksumOffset || vnet.csum_offset == kUdpChecksumOffset) {
      info->l4_checksum_valid = true;
      info->l4_checksum_partial = true;
      return true;
    }
    // Anything else the kernel left partial (nothing does today) is completed here, as
    // skb_checksum_help() would: the one's-complement sum of everything from csum_start,
    // the pseudo-header sum in the field included, is the checksum.
    const uint16_t sum = InternetChecksum(frame.subspan(start));
    StoreBe16(frame.data() + field, sum);
    return true;
  }
  // DATA_VALID (virtio 1.1 §5.1.6.4): the device, here the kernel with its
  // CHECKSUM_UNNECESSARY, has already verified the checksum.
  info->l4_checksum_valid = (vnet.flags & kVirtioNetFlagDataValid) != 0;
  return true;
}

size_t DescribeTso(ByteSpan frame, uint32_t mtu, VirtioNetHeader* vnet, uint8_t* header_copy) {
  return DescribeTso(frame, frame.size(), mtu, vnet, header_copy);
}

size_t DescribeTso(ByteSpan frame, size_t frame_size, uint32_t mtu, VirtioNetHeader* vnet,
                   uint8_t* header_copy) {
  // `frame` may be only the front of the frame: every read below stays within the headers,
  // whose presence is checked; frame_size is the whole frame's.
  if (frame.size() < kEthernetHeader + 20 || frame_size < kEthernetHeader + 40 + 20) return 0;
  const uint16_t ethertype = LoadBe16(frame, 12);
  const uint8_t* ip = frame.data() + kEthernetHeader;
  size_t ip_header = 0;
  uint32_t pseudo = 0;
  uint8_t gso_type = 0;
  if (ethertype == 0x0800) {
    ip_header = static_cast<size_t>(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ip_header < 20 || ip[9] != kProtoTcp) return 0;
    if (frame.size() < kEthernetHeader + ip_header) return 0;
    if (LoadBe16(frame, kEthernetHeader + 2) < ip_header) return 0;
    const uint32_t tcp_length = LoadBe16(frame, kEthernetHeader + 2) - static_cast<uint32_t>(ip_header);
    pseudo = PseudoHeaderSum4(Ip4Address::FromBytes(ip + 12), Ip4Address::FromBytes(ip + 16),
                              kProtoTcp, tcp_length);
    gso_type = kVirtioNetGsoTcpV4;
  } else if (ethertype == 0x86dd) {
    // Only TCP directly after the fixed header: the stack emits no extension headers in
    // front of TCP, and GSO over IPv6 needs nothing else (RFC 8200 §3).
    ip_header = 40;
    if (frame.size() < kEthernetHeader + 40 || (ip[0] >> 4) != 6 || ip[6] != kProtoTcp) return 0;
    const uint32_t tcp_length = LoadBe16(frame, kEthernetHeader + 4);
    pseudo = PseudoHeaderSum6(Ip6Address::FromBytes(ip + 8), Ip6Address::FromBytes(ip + 24),
                              kProtoTcp, tcp_length);
    gso_type = kVirtioNetGsoTcpV6;
  } else {
    return 0;
  }
  if (frame.size() < kEthernetHeader + ip_header + 20) return 0;
  const size_t tcp_header = static_cast<size_t>(frame[kEthernetHeader + ip_header + 12] >> 4) * 4;
  const size_t hdr_len = kEthernetHeader + ip_header + tcp_header;
  if (tcp_header < 20 || frame.size() < hdr_len || frame_size <= hdr_len ||
      mtu <= ip_header + tcp_header || hdr_len > kMaxTsoHeaderSize) {
    return 0;
  }
  std::memcpy(header_copy, frame.data(), hdr_len);
  // Folded, not complemented: the device adds the data and complements
  // (Documentation/networking/checksum-offloads.rst).
  StoreBe16(header_copy + kEthernetHeader + ip_header + kTcpChecksumOffset,
            static_cast<uint16_t>(~ChecksumFold(pseudo)));
  *vnet = VirtioNetHeader{};
  vnet->flags = kVirtioNetFlagNeedsCsum;
  vnet->gso_type = gso_type;
  vnet->hdr_len = static_cast<uint16_t>(hdr_len);
  vnet->gso_size = static_cast<uint16_t>(mtu - ip_header - tcp_header);
  vnet->csum_start = static_cast<uint16_t>(kEthernetHeader + ip_header);
  vnet->csum_offset = kTcpChecksumOffset;
  return hdr_len;
}

}  // namespace pytcp
