#include "stack/wire/ip6_ext.h"

#include <algorithm>
#include <cstring>

namespace pytcp {

namespace {

constexpr size_t kFragmentHeaderSize = 8;

bool IsWalked(uint8_t nh) {
  switch (static_cast<Ip6NextHeader>(nh)) {
    case Ip6NextHeader::kHopByHop:
    case Ip6NextHeader::kRouting:
    case Ip6NextHeader::kFragment:
    case Ip6NextHeader::kDestinationOptions:
      return true;
    default:
      return false;
  }
}

// Walks the option TLVs of an options header (RFC 8200 §4.2). `base` is the pointer of
// options[0]. Integrity errors return at once; the first sanity error is kept in `sanity`
// so that a later integrity error still wins.
std::optional<Ip6ExtError> CheckOptions(ByteSpan options, uint32_t base,
                                        std::optional<Ip6ExtError>& sanity) {
  size_t i = 0;
  while (i < options.size()) {
    const uint8_t type = options[i];
    // RFC 8200 §4.2: Pad1 is the one option with neither length nor data.
    if (type == static_cast<uint8_t>(Ip6OptionType::kPad1)) {
      ++i;
      continue;
    }
    if (i + 2 > options.size()) {
      return Ip6ExtError{Ip6ExtParseError::kOptionOverrun, base + static_cast<uint32_t>(i)};
    }
    const size_t len = options[i + 1];
    if (i + 2 + len > options.size()) {
      return Ip6ExtError{Ip6ExtParseError::kOptionOverrun, base + static_cast<uint32_t>(i + 1)};
    }
    // RFC 2711 §2.1: "Opt Data Len = 2". Linux's ipv6_hop_ra drops others as well.
    if (type == static_cast<uint8_t>(Ip6OptionType::kRouterAlert) && len != 2 && !sanity) {
      sanity =
          Ip6ExtError{Ip6ExtParseError::kBadRouterAlertLength, base + static_cast<uint32_t>(i + 1)};
    }
    i += 2 + len;
  }
  return std::nullopt;
}

}  // namespace

size_t Ip6ExtHeaderSize(Ip6NextHeader type, ByteSpan header) {
  // RFC 8200 §4.5: the Fragment header's second byte is reserved, not a length.
  if (type == Ip6NextHeader::kFragment) return kFragmentHeaderSize;
  // §4.3, §4.4, §4.6: Hdr Ext Len counts 8-octet units, not including the first 8 octets.
  return (size_t{header[1]} + 1) * 8;
}

Result<Ip6ExtChain, Ip6ExtError> Ip6ExtChain::Parse(ByteSpan data, Ip6NextHeader first,
                                                    Ip6ExtWalkStart start) {
  Ip6ExtChain chain;
  chain.data_ = data;
  chain.base_ = start.offset;
  chain.first_ = static_cast<uint8_t>(first);

  std::optional<Ip6ExtError> sanity;
  uint8_t nh = static_cast<uint8_t>(first);
  uint32_t nh_pointer = start.next_header_pointer;
  size_t off = 0;
  while (IsWalked(nh)) {
    const auto type = static_cast<Ip6NextHeader>(nh);
    const uint32_t pointer = start.offset + static_cast<uint32_t>(off);
    // RFC 8200 §4.1: Hop-by-Hop is allowed only immediately after the IPv6 header; a node
    // seeing Next Header 0 anywhere else treats it as unrecognized (code 1, pointing at the
    // Next Header field that named it). Linux: ip6_parse_tlv / icmpv6_param_prob(..., 1).
    if (type == Ip6NextHeader::kHopByHop && !(off == 0 && start.hop_by_hop_allowed) && !sanity) {
      sanity = Ip6ExtError{Ip6ExtParseError::kHopByHopNotFirst, nh_pointer};
    }
    const size_t left = data.size() - off;
    const size_t min = type == Ip6NextHeader::kFragment ? kFragmentHeaderSize : 2;
    if (left < min) return Err{Ip6ExtError{Ip6ExtParseError::kTooShort, pointer}};
    const size_t size = Ip6ExtHeaderSize(type, data.subspan(off));
    if (size > left) return Err{Ip6ExtError{Ip6ExtParseError::kTooShort, pointer + 1}};
    const ByteSpan header = data.subspan(off, size);
    const auto off32 = static_cast<uint32_t>(off);
    ++chain.count_;

    if (type == Ip6NextHeader::kHopByHop || type == Ip6NextHeader::kDestinationOptions) {
      if (auto e = CheckOptions(header.subspan(2), pointer + 2, sanity)) return Err{*e};
      if (type == Ip6NextHeader::kHopByHop) {
        if (chain.hop_by_hop_ == kNone) chain.hop_by_hop_ = off32;
      } else {
        chain.destination_options_ = off32;  // the last one wins: see destination_options()
      }
    } else if (type == Ip6NextHeader::kRouting) {
      // RFC 8200 §4.4: at least 4 bytes of fixed fields, which the 8-byte minimum covers.
      if (chain.routing_ == kNone) chain.routing_ = off32;
    } else {  // Fragment: stop; what follows is fragment data.
      chain.fragment_ = off32;
      const size_t fragment_size = left - size;
      const uint32_t offset = LoadBe16(header, 2) & 0xfff8u;
      const bool more = (header[3] & 0x01) != 0;
      // RFC 8200 §4.5: a fragment with M set whose length is not a multiple of 8 is
      // discarded with a Parameter Problem code 0 pointing at the Payload Length field.
      if (more && fragment_size % 8 != 0 && !sanity) {
        sanity = Ip6ExtError{Ip6ExtParseError::kFragmentBadLength, 4};
      }
      // RFC 8200 §4.5: offset + length beyond 65535: Parameter Problem code 0 pointing at
      // the Fragment Offset field.
      if (offset + fragment_size > kIp6MaxPayloadSize && !sanity) {
        sanity = Ip6ExtError{Ip6ExtParseError::kFragmentTooLong, pointer + 2};
      }
      nh_pointer = pointer;
      nh = header[0];
      off += size;
      break;
    }
    nh_pointer = pointer;
    nh = header[0];
    off += size;
  }
  if (sanity) return Err{*sanity};
  chain.upper_ = nh;
  chain.upper_offset_ = off;
  chain.upper_nh_pointer_ = nh_pointer;
  return chain;
}

std::optional<Ip6ExtHeader> Ip6ExtChain::HeaderAt(uint32_t offset, Ip6NextHeader type) const {
  if (offset == kNone) return std::nullopt;
  const ByteSpan rest = data_.subspan(offset);
  return Ip6ExtHeader(type, rest.first(Ip6ExtHeaderSize(type, rest)), base_ + offset);
}

std::optional<Ip6OptionsHeaderView> Ip6ExtChain::hop_by_hop() const {
  auto h = HeaderAt(hop_by_hop_, Ip6NextHeader::kHopByHop);
  if (!h) return std::nullopt;
  return h->as_options();
}

std::optional<Ip6RoutingView> Ip6ExtChain::routing() const {
  auto h = HeaderAt(routing_, Ip6NextHeader::kRouting);
  if (!h) return std::nullopt;
  return h->as_routing();
}

std::optional<Ip6FragmentView> Ip6ExtChain::fragment() const {
  auto h = HeaderAt(fragment_, Ip6NextHeader::kFragment);
  if (!h) return std::nullopt;
  return h->as_fragment();
}

std::optional<Ip6OptionsHeaderView> Ip6ExtChain::destination_options() const {
  auto h = HeaderAt(destination_options_, Ip6NextHeader::kDestinationOptions);
  if (!h) return std::nullopt;
  return h->as_options();
}

Result<Ip6ExtChain, Ip6ExtError> Ip6ExtChain::ParseAfterFragment() const {
  assert(fragment_ != kNone);
  Ip6ExtWalkStart start;
  start.offset = upper_pointer();
  start.next_header_pointer = upper_nh_pointer_;
  start.hop_by_hop_allowed = false;
  return Parse(upper_payload(), upper_protocol(), start);
}

Ip6ExtHeader Ip6ExtChain::Iterator::operator*() const {
  const auto type = static_cast<Ip6NextHeader>(type_);
  const ByteSpan rest = data_.subspan(offset_);
  return Ip6ExtHeader(type, rest.first(Ip6ExtHeaderSize(type, rest)),
                      base_ + static_cast<uint32_t>(offset_));
}

Ip6ExtChain::Iterator& Ip6ExtChain::Iterator::operator++() {
  const auto type = static_cast<Ip6NextHeader>(type_);
  const ByteSpan rest = data_.subspan(offset_);
  type_ = rest[0];
  offset_ += Ip6ExtHeaderSize(type, rest);
  return *this;
}

Ip6Option Ip6OptionsView::Iterator::operator*() const {
  Ip6Option o;
  o.type = data_[offset_];
  o.pointer = base_ + static_cast<uint32_t>(offset_);
  if (o.type != 0) o.data = data_.subspan(offset_ + 2, data_[offset_ + 1]);
  return o;
}

Ip6OptionsView::Iterator& Ip6OptionsView::Iterator::operator++() {
  offset_ += size_at();
  return *this;
}

std::optional<uint16_t> Ip6OptionsHeaderView::router_alert() const {
  for (const Ip6Option o : options()) {
    if (o.option_type() == Ip6OptionType::kRouterAlert) return LoadBe16(o.data, 0);
  }
  return std::nullopt;
}

namespace {

// Writes `n` bytes of padding (RFC 8200 §4.2: Pad1 for one byte, PadN otherwise).
void EmitPadding(uint8_t* p, size_t n) {
  if (n == 0) return;
  if (n == 1) {
    p[0] = static_cast<uint8_t>(Ip6OptionType::kPad1);
    return;
  }
  p[0] = static_cast<uint8_t>(Ip6OptionType::kPadN);
  p[1] = static_cast<uint8_t>(n - 2);
  std::memset(p + 2, 0, n - 2);
}

}  // namespace

size_t Ip6OptionsHeader::size() const {
  size_t n = 2;
  for (const Ip6OptionSpec& o : options) {
    n += o.type == static_cast<uint8_t>(Ip6OptionType::kPad1) ? 1 : 2 + o.data.size();
  }
  return (n + 7) & ~size_t{7};
}

void Ip6OptionsHeader::Emit(MutableByteSpan out) const {
  const size_t total = size();
  assert(out.size() >= total);
  assert(total <= 256 * 8);
  out[0] = static_cast<uint8_t>(next_header);
  out[1] = static_cast<uint8_t>(total / 8 - 1);
  size_t i = 2;
  for (const Ip6OptionSpec& o : options) {
    out[i++] = o.type;
    if (o.type == static_cast<uint8_t>(Ip6OptionType::kPad1)) continue;
    assert(o.data.size() <= 255);
    out[i++] = static_cast<uint8_t>(o.data.size());
    std::copy(o.data.begin(), o.data.end(), out.begin() + static_cast<std::ptrdiff_t>(i));
    i += o.data.size();
  }
  EmitPadding(out.data() + i, total - i);
}

void Ip6RouterAlertHopByHop::Emit(MutableByteSpan out) const {
  assert(out.size() >= size());
  out[0] = static_cast<uint8_t>(next_header);
  out[1] = 0;
  out[2] = static_cast<uint8_t>(Ip6OptionType::kRouterAlert);
  out[3] = 2;
  StoreBe16(out.data() + 4, value);
  EmitPadding(out.data() + 6, 2);
}

void Ip6FragmentHeader::Emit(MutableByteSpan out) const {
  assert(out.size() >= size());
  assert(fragment_offset % 8 == 0 && fragment_offset < 65536);
  out[0] = static_cast<uint8_t>(next_header);
  out[1] = 0;
  StoreBe16(out.data() + 2,
            static_cast<uint16_t>((fragment_offset & 0xfff8u) | (more_fragments ? 1u : 0u)));
  StoreBe32(out.data() + 4, identification);
}

}  // namespace pytcp
