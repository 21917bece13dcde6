// UDP datagrams.
//
// To read: RFC 768 (format, checksum, "an all zero transmitted checksum value means that
// the transmitter generated no checksum"), RFC 1122 §4.1.3.4 (a received checksum MUST be
// verified when present), RFC 8200 §8.1 (over IPv6 the checksum is mandatory), RFC 6935
// and RFC 6936 (the zero-checksum exceptions for tunnels, not used here).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/wire/checksum.h"

namespace pytcp {

PYTCP_NAMED_ENUM(UdpParseError, uint8_t,
  // Integrity.
  kTooShort,       // fewer than 8 bytes
  kBadLength,      // length field < 8 or beyond the IP payload
  kBadChecksum,    // checksum present and not verifying
  kZeroChecksum,   // checksum 0 where it is mandatory (IPv6)
  // Sanity.
  kZeroDstPort,    // destination port 0 is reserved (RFC 768 / IANA) and never delivered
);
constexpr bool IsIntegrityError(UdpParseError e) { return e < UdpParseError::kZeroDstPort; }

inline constexpr size_t kUdpHeaderSize = 8;

struct UdpParseOptions {
  ChecksumPolicy checksum = ChecksumPolicy::kVerify;
  // RFC 768: over IPv4 a zero checksum means "none". RFC 8200 §8.1: over IPv6 it is an
  // error; the IPv6 caller sets this to false.
  bool zero_checksum_allowed = true;
};

struct UdpHeader;

class UdpView {
 public:
  // `data` is the IP payload; `pseudo_sum` the pseudo-header partial sum computed with
  // data.size() as the length (what Ip4View::pseudo_header_sum() returns). When the UDP
  // length is shorter than the IP payload the bytes after it are ignored, as Linux does,
  // and the length term of the sum is corrected here.
  static Result<UdpView, UdpParseError> Parse(ByteSpan data, uint32_t pseudo_sum,
                                              UdpParseOptions options = {});

  uint16_t src_port() const { return LoadBe16(data_, 0); }
  uint16_t dst_port() const { return LoadBe16(data_, 2); }
  uint16_t length() const { return LoadBe16(data_, 4); }
  uint16_t checksum() const { return LoadBe16(data_, 6); }
  ByteSpan header() const { return data_.first(kUdpHeaderSize); }
  ByteSpan payload() const { return data_.subspan(kUdpHeaderSize); }
  ByteSpan datagram() const { return data_; }

  UdpHeader ToHeader() const;

 private:
  explicit UdpView(ByteSpan data) : data_(data) {}
  ByteSpan data_;  // exactly length() bytes
};

struct UdpHeader {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;

  static constexpr size_t header_size() { return kUdpHeaderSize; }
  // Writes the header into out[0, 8) with length 8 + payload.size() and the checksum over
  // the pseudo-header (`pseudo_sum`, computed with that length), the header and `payload`,
  // which the caller places after the header itself. A computed checksum of 0 is sent as
  // 0xffff (RFC 768), since 0 would mean "no checksum".
  void Emit(MutableByteSpan out, ByteSpan payload, uint32_t pseudo_sum) const;
  // For checksum offload (virtio_net_hdr VIRTIO_NET_HDR_F_NEEDS_CSUM, csum_offset 6):
  // stores the folded, uncomplemented pseudo-header sum, for the device to complete.
  void EmitForOffload(MutableByteSpan out, size_t payload_size, uint32_t pseudo_sum) const;

  bool operator==(const UdpHeader&) const = default;
};

}  // namespace pytcp
