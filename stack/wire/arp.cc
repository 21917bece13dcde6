#include "stack/wire/arp.h"

#include <cassert>

namespace pytcp {

Result<ArpView, ArpParseError> ArpView::Parse(ByteSpan data) {
  // Integrity: every field is at a fixed offset within 28 bytes.
  if (data.size() < kArpPacketSize) return Err{ArpParseError::kTooShort};
  // Sanity, in the order of RFC 826 "Packet Reception": a packet for another hardware or
  // protocol space is not ours to interpret. The lengths follow from the types, but a
  // packet claiming Ethernet/IPv4 with other lengths is malformed and must not be read
  // with the fixed offsets above.
  if (LoadBe16(data, 0) != kArpHardwareEthernet) return Err{ArpParseError::kBadHardwareType};
  if (LoadBe16(data, 2) != kArpProtocolIp4) return Err{ArpParseError::kBadProtocolType};
  if (data[4] != MacAddress::kSize) return Err{ArpParseError::kBadHardwareLength};
  if (data[5] != Ip4Address::kSize) return Err{ArpParseError::kBadProtocolLength};
  const uint16_t op = LoadBe16(data, 6);
  if (op != static_cast<uint16_t>(ArpOp::kRequest) && op != static_cast<uint16_t>(ArpOp::kReply)) {
    return Err{ArpParseError::kBadOperation};
  }
  return ArpView(data);
}

bool ArpView::is_probe() const { return op() == ArpOp::kRequest && spa().is_unspecified(); }

bool ArpView::is_announcement() const { return !spa().is_unspecified() && spa() == tpa(); }

ArpPacket ArpView::ToPacket() const { return {op(), sha(), spa(), tha(), tpa()}; }

void ArpPacket::Emit(MutableByteSpan out) const {
  assert(out.size() >= kArpPacketSize);
  uint8_t* p = out.data();
  StoreBe16(p + 0, kArpHardwareEthernet);
  StoreBe16(p + 2, kArpProtocolIp4);
  p[4] = MacAddress::kSize;
  p[5] = Ip4Address::kSize;
  StoreBe16(p + 6, static_cast<uint16_t>(op));
  sha.CopyTo(p + 8);
  spa.CopyTo(p + 14);
  tha.CopyTo(p + 18);
  tpa.CopyTo(p + 24);
}

}  // namespace pytcp
