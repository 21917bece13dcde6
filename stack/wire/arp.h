// ARP packets for Ethernet and IPv4 only.
//
// To read: RFC 826 (packet format and the "packet reception" algorithm), RFC 5227 (IPv4
// address conflict detection: ARP probes §2.1.1 and announcements §2.3/§3), RFC 1122
// §2.3.2 (ARP requirements for hosts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/net/ip4_address.h"
#include "stack/net/mac_address.h"

namespace pytcp {

// Wire enum (RFC 826 ar$op); other values exist (RARP, InARP) and are refused by Parse.
enum class ArpOp : uint16_t {
  kRequest = 1,
  kReply = 2,
};

PYTCP_NAMED_ENUM(ArpParseError, uint8_t,
  kTooShort,             // integrity: fewer than 28 bytes
  kBadHardwareType,      // sanity: ar$hrd != 1 (Ethernet)
  kBadProtocolType,      // sanity: ar$pro != 0x0800 (IPv4)
  kBadHardwareLength,    // sanity: ar$hln != 6
  kBadProtocolLength,    // sanity: ar$pln != 4
  kBadOperation,         // sanity: ar$op not request or reply
);
constexpr bool IsIntegrityError(ArpParseError e) { return e == ArpParseError::kTooShort; }

inline constexpr size_t kArpPacketSize = 28;
inline constexpr uint16_t kArpHardwareEthernet = 1;
inline constexpr uint16_t kArpProtocolIp4 = 0x0800;

struct ArpPacket;

class ArpView {
 public:
  // `data` is the Ethernet payload; trailing Ethernet padding after the 28 bytes is ignored.
  static Result<ArpView, ArpParseError> Parse(ByteSpan data);

  ArpOp op() const { return static_cast<ArpOp>(LoadBe16(data_, 6)); }
  MacAddress sha() const { return MacAddress::FromBytes(data_.data() + 8); }
  Ip4Address spa() const { return Ip4Address::FromBytes(data_.data() + 14); }
  MacAddress tha() const { return MacAddress::FromBytes(data_.data() + 18); }
  Ip4Address tpa() const { return Ip4Address::FromBytes(data_.data() + 24); }
  ByteSpan packet() const { return data_.first(kArpPacketSize); }

  // RFC 5227 §2.1.1: a probe is a request with an all-zero sender IP address, so that it
  // cannot pollute other hosts' caches while the address is being tested.
  bool is_probe() const;
  // RFC 5227 §2.3/§3: an announcement carries the sender's address as both sender and
  // target protocol address. RFC 5227 specifies a request; a gratuitous reply of the same
  // shape (RFC 5944 §4.6) has the same meaning to a receiver, so both ops are recognised.
  bool is_announcement() const;

  ArpPacket ToPacket() const;

 private:
  explicit ArpView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

struct ArpPacket {
  ArpOp op = ArpOp::kRequest;
  MacAddress sha;
  Ip4Address spa;
  MacAddress tha;  // RFC 826: ignored in requests; RFC 5227 §2.1.1 sets it to zero
  Ip4Address tpa;

  static ArpPacket Request(MacAddress sha, Ip4Address spa, Ip4Address tpa) {
    return {ArpOp::kRequest, sha, spa, MacAddress(), tpa};
  }
  static ArpPacket Reply(MacAddress sha, Ip4Address spa, MacAddress tha, Ip4Address tpa) {
    return {ArpOp::kReply, sha, spa, tha, tpa};
  }
  // RFC 5227 §2.1.1.
  static ArpPacket Probe(MacAddress sha, Ip4Address candidate) {
    return {ArpOp::kRequest, sha, Ip4Address(), MacAddress(), candidate};
  }
  // RFC 5227 §2.3.
  static ArpPacket Announcement(MacAddress sha, Ip4Address address) {
    return {ArpOp::kRequest, sha, address, MacAddress(), address};
  }

  static constexpr size_t size() { return kArpPacketSize; }
  // Writes the 28-byte packet into out[0, 28).
  void Emit(MutableByteSpan out) const;

  bool operator==(const ArpPacket&) const = default;
};

}  // namespace pytcp
