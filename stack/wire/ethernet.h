// Ethernet II frames.
//
// To read: IEEE 802.3 clause 3.2 (frame fields; the length/type field, values >= 0x0600
// are EtherTypes), RFC 894 (IPv4 over Ethernet: EtherType 0x0800, minimum frame padding),
// RFC 826 (ARP, 0x0806), RFC 2464 (IPv6 over Ethernet, 0x86dd).
//
// Frames handed to and from the TAP device carry no preamble and no FCS, so the minimum
// frame on transmit is 60 bytes (64 minus the 4-byte FCS) and the smallest parseable one
// is the 14-byte header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/net/mac_address.h"

namespace pytcp {

// Wire enum: any 16-bit value may appear; the named ones are those the stack handles.
enum class EtherType : uint16_t {
  kIp4 = 0x0800,
  kArp = 0x0806,
  kVlan = 0x8100,
  kIp6 = 0x86dd,
};

PYTCP_NAMED_ENUM(EthernetParseError, uint8_t,
  kTooShort,     // integrity: fewer than 14 bytes
  kLengthField,  // sanity: 802.3 length field (< 0x0600) instead of an EtherType
);
constexpr bool IsIntegrityError(EthernetParseError e) { return e == EthernetParseError::kTooShort; }

inline constexpr size_t kEthernetHeaderSize = 14;
// Minimum frame without FCS (IEEE 802.3 clause 4.4.2: minFrameSize 64 bytes incl. FCS).
inline constexpr size_t kEthernetMinFrameSize = 60;

class EthernetView {
 public:
  static Result<EthernetView, EthernetParseError> Parse(ByteSpan frame);

  MacAddress dst() const { return MacAddress::FromBytes(data_.data()); }
  MacAddress src() const { return MacAddress::FromBytes(data_.data() + 6); }
  EtherType ethertype() const { return static_cast<EtherType>(LoadBe16(data_, 12)); }
  ByteSpan header() const { return data_.first(kEthernetHeaderSize); }
  // Everything after the header, including any transmit padding: the network layer's own
  // length field tells where its datagram ends (RFC 894).
  ByteSpan payload() const { return data_.subspan(kEthernetHeaderSize); }
  ByteSpan frame() const { return data_; }

 private:
  explicit EthernetView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

struct EthernetHeader {
  MacAddress dst;
  MacAddress src;
  EtherType ethertype = EtherType::kIp4;

  static constexpr size_t header_size() { return kEthernetHeaderSize; }
  // Writes the 14-byte header into out[0, 14).
  void Emit(MutableByteSpan out) const;
};

// Zero-fills frame[frame_size, 60) so that a short frame reaches the minimum size, and
// returns the size to transmit (max(frame_size, 60)). `frame` must hold at least 60 bytes.
// RFC 894: the padding is not part of the IP datagram; receivers use the IP length.
size_t EthernetPad(MutableByteSpan frame, size_t frame_size);

}  // namespace pytcp
