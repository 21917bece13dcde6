// libFuzzer target: UDP over IPv4 (and the IPv6 zero-checksum rule). On success every
// accessor is read and the datagram re-emitted; it must verify and equal the input apart
// from the checksum field.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "stack/wire/udp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pytcp;  // NOLINT
  const ByteSpan in(data, size);
  // The addresses of the seed corpus (10.99.4.1 -> 10.99.4.2).
  const uint32_t pseudo = PseudoHeaderSum4(Ip4Address(10, 99, 4, 1), Ip4Address(10, 99, 4, 2), 17,
                                           static_cast<uint32_t>(size));
  const bool v6_rules = size > 0 && (data[size - 1] & 1);
  UdpParseOptions opts{ChecksumPolicy::kVerify, !v6_rules};
  auto v = UdpView::Parse(in, pseudo, opts);
  if (!v.ok() && v.error() == UdpParseError::kBadChecksum) {
    opts.checksum = ChecksumPolicy::kSkip;
    v = UdpView::Parse(in, pseudo, opts);
  }
  if (!v.ok()) {
    if (ToString(v.error()).empty()) __builtin_trap();
    return 0;
  }
  if (v->datagram().size() != v->length() || v->length() > size) __builtin_trap();
  (void)v->src_port();
  (void)v->checksum();
  const uint32_t own_pseudo = PseudoHeaderSum4(Ip4Address(10, 99, 4, 1), Ip4Address(10, 99, 4, 2), 17, v->length());
  std::vector<uint8_t> out(v->length());
  std::memcpy(out.data() + kUdpHeaderSize, v->payload().data(), v->payload().size());
  v->ToHeader().Emit(out, ByteSpan(out).subspan(kUdpHeaderSize), own_pseudo);
  if (!UdpView::Parse(out, own_pseudo, {ChecksumPolicy::kVerify, false}).ok()) __builtin_trap();
  if (std::memcmp(out.data(), data, 6) != 0 ||
      std::memcmp(out.data() + kUdpHeaderSize, data + kUdpHeaderSize, v->payload().size()) != 0) {
    __builtin_trap();
  }
  return 0;
}
