// libFuzzer target: ARP. On success every accessor is read and the packet re-emitted,
// which must reproduce the 28 parsed bytes exactly.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "stack/wire/arp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pytcp;  // NOLINT
  auto v = ArpView::Parse(ByteSpan(data, size));
  if (!v.ok()) {
    if (ToString(v.error()).empty()) __builtin_trap();
    return 0;
  }
  const ArpPacket p = v->ToPacket();
  if (p.op != v->op() || p.sha != v->sha() || p.spa != v->spa() || p.tha != v->tha() || p.tpa != v->tpa()) {
    __builtin_trap();
  }
  (void)v->is_probe();
  (void)v->is_announcement();
  uint8_t out[kArpPacketSize];
  p.Emit(out);
  if (std::memcmp(out, v->packet().data(), kArpPacketSize) != 0) __builtin_trap();
  return 0;
}
