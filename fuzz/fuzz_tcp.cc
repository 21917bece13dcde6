// libFuzzer target: TCP header and options. On success every accessor is read, the options
// walked and decoded, and the header re-emitted from values in Linux's option layout; the
// result must verify and decode to the same values.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "stack/wire/tcp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pytcp;  // NOLINT
  const ByteSpan in(data, size);
  // The addresses of the seed corpus (10.99.4.1 -> 10.99.4.2).
  const Ip4Address src(10, 99, 4, 1), dst(10, 99, 4, 2);
  auto v = TcpView::Parse(in, PseudoHeaderSum4(src, dst, 6, static_cast<uint32_t>(size)));
  if (!v.ok() && v.error() == TcpParseError::kBadChecksum) {
    v = TcpView::Parse(in, 0, ChecksumPolicy::kSkip);
  }
  if (!v.ok()) {
    if (ToString(v.error()).empty()) __builtin_trap();
    return 0;
  }
  for (const TcpOption& o : v->options()) {
    if (!o.value.empty() && (o.value.data() < data || o.value.data() + o.value.size() > data + v->header_size())) {
      __builtin_trap();
    }
  }
  (void)v->checksum();
  (void)v->segment_length();

  const TcpHeader h = v->ToHeader();
  if (h.header_size() > kTcpMaxHeaderSize) __builtin_trap();
  std::vector<uint8_t> out(h.header_size() + v->payload().size());
  std::memcpy(out.data() + h.header_size(), v->payload().data(), v->payload().size());
  const uint32_t pseudo = PseudoHeaderSum4(src, dst, 6, static_cast<uint32_t>(out.size()));
  h.Emit(out, ByteSpan(out).subspan(h.header_size()), pseudo);
  auto again = TcpView::Parse(out, pseudo);
  if (!again.ok()) __builtin_trap();
  TcpHeader expect = h;
  expect.options.sack_block_count = static_cast<uint8_t>(h.options.emitted_sack_blocks());
  if (!(again->ToHeader() == expect)) __builtin_trap();
  if (again->payload().size() != v->payload().size()) __builtin_trap();
  return 0;
}
