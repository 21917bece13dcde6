// libFuzzer target: IPv4 header and options. On success every accessor is read, the
// options walked, and the header re-emitted from values; the result must parse with its
// checksum verified and equal the input apart from the checksum field.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "stack/wire/ip4.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pytcp;  // NOLINT
  const ByteSpan in(data, size);
  auto v = Ip4View::Parse(in);
  if (!v.ok() && v.error() == Ip4ParseError::kBadChecksum) v = Ip4View::Parse(in, ChecksumPolicy::kSkip);
  if (!v.ok()) {
    if (ToString(v.error()).empty()) __builtin_trap();
    return 0;
  }
  size_t n = 0;
  for (const Ip4Option& o : v->options()) {
    if (!o.value.empty() && (o.value.data() < data || o.value.data() + o.value.size() > data + v->header_size())) {
      __builtin_trap();
    }
    ++n;
  }
  (void)n;
  (void)v->options().Find(Ip4OptionType::kRouterAlert);
  (void)v->is_fragment();
  (void)v->pseudo_header_sum();
  (void)v->checksum();

  const Ip4Header h = v->ToHeader();
  if (h.header_size() != v->header_size()) __builtin_trap();
  std::vector<uint8_t> out(v->total_length());
  h.Emit(out, v->payload().size());
  std::memcpy(out.data() + h.header_size(), v->payload().data(), v->payload().size());
  auto again = Ip4View::Parse(out);
  if (!again.ok()) __builtin_trap();
  if (std::memcmp(out.data(), data, 10) != 0 || std::memcmp(out.data() + 12, data + 12, v->total_length() - 12) != 0) {
    __builtin_trap();
  }
  return 0;
}
