// libFuzzer target: ICMPv4. On success the accessors of the message's type are read and
// the message re-emitted from values; it must verify and equal the input apart from the
// checksum field.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "stack/wire/icmp4.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pytcp;  // NOLINT
  const ByteSpan in(data, size);
  auto v = Icmp4View::Parse(in);
  if (!v.ok() && v.error() == Icmp4ParseError::kBadChecksum) v = Icmp4View::Parse(in, ChecksumPolicy::kSkip);
  if (!v.ok()) {
    if (ToString(v.error()).empty()) __builtin_trap();
    return 0;
  }
  (void)v->code();
  (void)v->checksum();
  switch (v->type()) {
    case Icmp4Type::kEchoRequest:
    case Icmp4Type::kEchoReply:
      (void)v->echo_id();
      (void)v->echo_seq();
      (void)v->echo_data();
      break;
    case Icmp4Type::kDestinationUnreachable:
      (void)v->next_hop_mtu();
      break;
    case Icmp4Type::kParameterProblem:
      (void)v->pointer();
      break;
    case Icmp4Type::kRedirect:
      (void)v->gateway();
      break;
    default:
      break;
  }
  if (v->is_error() && (v->original_datagram().size() < 20 || (v->original_datagram()[0] >> 4) != 4)) {
    __builtin_trap();
  }
  std::vector<uint8_t> out(size);
  std::memcpy(out.data() + kIcmp4HeaderSize, v->body().data(), v->body().size());
  v->ToHeader().Emit(out, ByteSpan(out).subspan(kIcmp4HeaderSize));
  if (!Icmp4View::Parse(out).ok()) __builtin_trap();
  if (std::memcmp(out.data(), data, 2) != 0 || std::memcmp(out.data() + 4, data + 4, size - 4) != 0) {
    __builtin_trap();
  }
  return 0;
}
