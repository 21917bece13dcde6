#include "stack/wire/udp.h"

#include <cassert>

namespace pytcp {

Result<UdpView, UdpParseError> UdpView::Parse(ByteSpan data, uint32_t pseudo_sum,
                                              UdpParseOptions options) {
  // Integrity.
  if (data.size() < kUdpHeaderSize) return Err{UdpParseError::kTooShort};
  // RFC 768: the length counts header and data. It may not claim more than the network
  // layer delivered; shorter leaves trailing bytes that are not part of the datagram.
  const size_t length = LoadBe16(data, 4);
  if (length < kUdpHeaderSize || length > data.size()) return Err{UdpParseError::kBadLength};
  const ByteSpan datagram = data.first(length);
  if (options.checksum == ChecksumPolicy::kVerify) {
    if (LoadBe16(data, 6) == 0) {
      // RFC 768: zero means the sender computed none (IPv4); RFC 8200 §8.1 forbids that
      // over IPv6.
      if (!options.zero_checksum_allowed) return Err{UdpParseError::kZeroChecksum};
    } else {
      // The caller's sum counted data.size() (as two 16-bit words, RFC 8200 §8.1 uses a
      // 32-bit length); adding their one's complements subtracts them, and the UDP length
      // the sender used (RFC 768: "the UDP length") goes in their place. Identical when
      // the layers agree, so nothing is done then.
      uint64_t sum = pseudo_sum;
      if (data.size() != length) {
        sum += static_cast<uint16_t>(~(data.size() >> 16)) + static_cast<uint16_t>(~data.size());
        sum += length;
      }
      while (sum >> 32) sum = (sum & 0xffffffff) + (sum >> 32);
      if (InternetChecksum(datagram, static_cast<uint32_t>(sum)) != 0) {
        return Err{UdpParseError::kBadChecksum};
      }
    }
  } else if (!options.zero_checksum_allowed && LoadBe16(data, 6) == 0) {
    return Err{UdpParseError::kZeroChecksum};
  }
  // Sanity: RFC 768 leaves the source port optional (0 = unused) but port 0 is reserved as
  // a destination (IANA) and no socket can be bound to it.
  if (LoadBe16(data, 2) == 0) return Err{UdpParseError::kZeroDstPort};
  return UdpView(datagram);
}

UdpHeader UdpView::ToHeader() const { return {src_port(), dst_port()}; }

namespace {
void EmitFields(uint8_t* p, const UdpHeader& h, size_t payload_size) {
  assert(kUdpHeaderSize + payload_size <= 0xffff);
  StoreBe16(p + 0, h.src_port);
  StoreBe16(p + 2, h.dst_port);
  StoreBe16(p + 4, static_cast<uint16_t>(kUdpHeaderSize + payload_size));
  StoreBe16(p + 6, 0);
}
}  // namespace

void UdpHeader::Emit(MutableByteSpan out, ByteSpan payload, uint32_t pseudo_sum) const {
  assert(out.size() >= kUdpHeaderSize);
  uint8_t* p = out.data();
  EmitFields(p, *this, payload.size());
  uint16_t csum = ChecksumFold(ChecksumSum(payload, ChecksumSum(ByteSpan(p, kUdpHeaderSize), pseudo_sum)));
  // RFC 768: "If the computed checksum is zero, it is transmitted as all ones".
  if (csum == 0) csum = 0xffff;
  StoreBe16(p + 6, csum);
}

void UdpHeader::EmitForOffload(MutableByteSpan out, size_t payload_size, uint32_t pseudo_sum) const {
  assert(out.size() >= kUdpHeaderSize);
  EmitFields(out.data(), *this, payload_size);
  StoreBe16(out.data() + 6, static_cast<uint16_t>(~ChecksumFold(pseudo_sum)));
}

}  // namespace pytcp
