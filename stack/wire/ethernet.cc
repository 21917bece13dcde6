#include "stack/wire/ethernet.h"

#include <algorithm>
#include <cassert>

namespace pytcp {

Result<EthernetView, EthernetParseError> EthernetView::Parse(ByteSpan frame) {
  // Integrity: the header must be there before any field is read.
  if (frame.size() < kEthernetHeaderSize) return Err{EthernetParseError::kTooShort};
  // Sanity (IEEE 802.3 clause 3.2.6): values up to 1500 are an 802.3 length field with an
  // LLC header behind it, not Ethernet II; 1501..1535 are undefined. The stack speaks only
  // Ethernet II, so both are refused here rather than misread as an EtherType.
  if (LoadBe16(frame, 12) < 0x0600) return Err{EthernetParseError::kLengthField};
  return EthernetView(frame);
}

void EthernetHeader::Emit(MutableByteSpan out) const {
  assert(out.size() >= kEthernetHeaderSize);
  dst.CopyTo(out.data());
  src.CopyTo(out.data() + 6);
  StoreBe16(out.data() + 12, static_cast<uint16_t>(ethertype));
}

size_t EthernetPad(MutableByteSpan frame, size_t frame_size) {
  assert(frame.size() >= kEthernetMinFrameSize && frame_size <= frame.size());
  if (frame_size >= kEthernetMinFrameSize) return frame_size;
  std::fill(frame.begin() + static_cast<ptrdiff_t>(frame_size),
            frame.begin() + static_cast<ptrdiff_t>(kEthernetMinFrameSize), uint8_t{0});
  return kEthernetMinFrameSize;
}

}  // namespace pytcp
