// libFuzzer target: the first byte is the Next Header of the fixed header, the rest an IPv6
// payload for the extension header chain walker. On success every header, option and typed
// view is read, and an atomic fragment is walked further.
#include <cstddef>
#include <cstdint>

#include "stack/wire/ip6_ext.h"

using namespace pytcp;  // NOLINT

namespace {

volatile uint64_t sink = 0;

void ReadOptions(const Ip6OptionsHeaderView& h) {
  sink = sink + static_cast<uint8_t>(h.next_header()) + h.header_ext_length() + h.pointer() +
         h.bytes().size();
  for (const Ip6Option o : h.options()) {
    sink = sink + o.type + static_cast<uint8_t>(o.action()) + o.may_change() + o.is_padding() +
           o.pointer + o.data.size();
    for (uint8_t b : o.data) sink = sink + b;
  }
  if (auto ra = h.router_alert()) sink = sink + *ra;
}

void ReadChain(const Ip6ExtChain& chain, size_t input_size) {
  size_t count = 0;
  for (const Ip6ExtHeader h : chain) {
    ++count;
    sink = sink + static_cast<uint8_t>(h.type()) + static_cast<uint8_t>(h.next_header()) +
           h.pointer() + h.bytes().size();
    if (h.is_options()) ReadOptions(h.as_options());
    if (h.type() == Ip6NextHeader::kRouting) {
      const Ip6RoutingView r = h.as_routing();
      sink = sink + r.routing_type() + r.segments_left() + r.type_specific_data().size() +
             r.routing_type_pointer();
    }
    if (h.type() == Ip6NextHeader::kFragment) {
      const Ip6FragmentView f = h.as_fragment();
      sink = sink + f.fragment_offset() + f.more_fragments() + f.identification() + f.is_atomic();
    }
  }
  if (count != chain.header_count()) __builtin_trap();
  if (chain.headers().size() + chain.upper_payload().size() > input_size) __builtin_trap();
  sink = sink + static_cast<uint8_t>(chain.upper_protocol()) + chain.upper_pointer() +
         chain.upper_next_header_pointer();
  if (auto h = chain.hop_by_hop()) ReadOptions(*h);
  if (auto h = chain.destination_options()) ReadOptions(*h);
  if (auto r = chain.routing()) sink = sink + r->segments_left();
  if (auto f = chain.fragment()) sink = sink + f->identification();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const ByteSpan payload(data + 1, size - 1);
  auto chain = Ip6ExtChain::Parse(payload, static_cast<Ip6NextHeader>(data[0]));
  if (!chain.ok()) {
    sink = sink + chain.error().pointer + chain.error().icmp_code();
    if (ToString(chain.error().reason) == "unknown") __builtin_trap();
    return 0;
  }
  ReadChain(*chain, payload.size());
  if (chain->fragment()) {
    auto rest = chain->ParseAfterFragment();
    if (rest.ok()) ReadChain(*rest, payload.size());
  }
  return 0;
}
