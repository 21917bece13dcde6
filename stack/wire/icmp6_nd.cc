#include "stack/wire/icmp6_nd.h"

#include <algorithm>
#include <cstring>

namespace pytcp {

namespace {

size_t FixedSize(Icmp6Type type) {
  switch (type) {
    case Icmp6Type::kRouterSolicitation:
      return kNdRouterSolicitSize;
    case Icmp6Type::kRouterAdvertisement:
      return kNdRouterAdvertSize;
    case Icmp6Type::kNeighborSolicitation:
      return kNdNeighborSolicitSize;
    case Icmp6Type::kNeighborAdvertisement:
      return kNdNeighborAdvertSize;
    case Icmp6Type::kRedirect:
      return kNdRedirectSize;
    default:
      return 0;
  }
}

// RFC 4861 §4.6 and the RFCs of the individual options: the lengths (in 8-byte units) a
// known option may have. Unknown options may have any non-zero length.
std::optional<Icmp6ParseError> CheckOption(ByteSpan o) {
  const uint8_t len = o[1];
  switch (static_cast<NdOptionType>(o[0])) {
    case NdOptionType::kSourceLinkLayerAddress:
    case NdOptionType::kTargetLinkLayerAddress:
      // RFC 2464 §8: on Ethernet the option is exactly 8 bytes. Linux
      // (ndisc_opt_addr_data) treats any other length as an invalid message too.
      if (len != 1) return Icmp6ParseError::kNdBadOptionLength;
      break;
    case NdOptionType::kPrefixInformation:
      // RFC 4861 §4.6.2: "Length 4".
      if (len != 4) return Icmp6ParseError::kNdBadOptionLength;
      if (o[2] > 128) return Icmp6ParseError::kNdBadPrefixLength;
      break;
    case NdOptionType::kMtu:
      // RFC 4861 §4.6.4: "Length 1".
      if (len != 1) return Icmp6ParseError::kNdBadOptionLength;
      break;
    case NdOptionType::kRdnss:
      // RFC 8106 §5.1: at least one address (length >= 3), and 1 + 2n units.
      if (len < 3 || len % 2 == 0) return Icmp6ParseError::kNdBadOptionLength;
      break;
    case NdOptionType::kDnssl:
      // RFC 8106 §5.2: "The minimum value is 2".
      if (len < 2) return Icmp6ParseError::kNdBadOptionLength;
      break;
    default:
      break;
  }
  return std::nullopt;
}

}  // namespace

namespace icmp6_internal {

std::optional<Icmp6ParseError> CheckNd(ByteSpan m) {
  const auto type = static_cast<Icmp6Type>(m[0]);
  const size_t fixed = FixedSize(type);
  // Integrity: the fixed part (RFC 4861 §6.1.1 "ICMP length ... is 8 or more octets", and
  // the like in §6.1.2, §7.1.1, §7.1.2, §8.1), then every option inside the message.
  if (m.size() < fixed) return Icmp6ParseError::kTooShortForType;
  const ByteSpan options = m.subspan(fixed);
  for (size_t i = 0; i < options.size();) {
    if (options.size() - i < 2) return Icmp6ParseError::kNdOptionTruncated;
    const size_t len = options[i + 1];
    // RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains an option
    // with length zero" (and the walk could not advance past it).
    if (len == 0) return Icmp6ParseError::kNdOptionZeroLength;
    if (len * 8 > options.size() - i) return Icmp6ParseError::kNdOptionTruncated;
    i += len * 8;
  }

  // Sanity.
  // RFC 4861 §6.1.1, §6.1.2, §7.1.1, §7.1.2, §8.1: "ICMP Code is 0".
  if (m[1] != 0) return Icmp6ParseError::kNdBadCode;
  if (type == Icmp6Type::kNeighborSolicitation || type == Icmp6Type::kNeighborAdvertisement) {
    // RFC 4861 §7.1.1/§7.1.2: "Target Address is not a multicast address".
    if (m[8] == 0xff) return Icmp6ParseError::kNdMulticastTarget;
  }
  if (type == Icmp6Type::kRedirect) {
    const Ip6Address target = Ip6Address::FromBytes(m.data() + 8);
    const Ip6Address destination = Ip6Address::FromBytes(m.data() + 24);
    // RFC 4861 §8.1: the destination is not multicast, and the target is a (link-local)
    // router or the destination itself.
    if (destination.is_multicast()) return Icmp6ParseError::kNdMulticastDestination;
    if (!target.is_link_local() && target != destination) {
      return Icmp6ParseError::kNdBadRedirectTarget;
    }
  }
  for (size_t i = 0; i < options.size(); i += size_t{options[i + 1]} * 8) {
    if (auto e = CheckOption(options.subspan(i))) return e;
  }
  return std::nullopt;
}

}  // namespace icmp6_internal

NdPrefixInfo NdOption::prefix_info() const {
  assert(type() == NdOptionType::kPrefixInformation);
  NdPrefixInfo p;
  p.prefix_length = data_[2];
  p.on_link = (data_[3] & 0x80) != 0;
  p.autonomous = (data_[3] & 0x40) != 0;
  p.valid_lifetime = LoadBe32(data_, 4);
  p.preferred_lifetime = LoadBe32(data_, 8);
  p.prefix = Ip6Address::FromBytes(data_.data() + 16);
  return p;
}

std::optional<NdOption> NdOptionsView::Find(NdOptionType type) const {
  for (const NdOption o : *this) {
    if (o.type() == type) return o;
  }
  return std::nullopt;
}

namespace {

std::optional<MacAddress> FindLla(const NdOptionsView& options, NdOptionType type) {
  auto o = options.Find(type);
  if (!o) return std::nullopt;
  return o->link_layer_address();
}

}  // namespace

std::optional<NdRouterSolicitView> NdRouterSolicitView::From(const Icmp6View& icmp) {
  if (icmp.type() != Icmp6Type::kRouterSolicitation) return std::nullopt;
  return NdRouterSolicitView(icmp.message());
}
std::optional<MacAddress> NdRouterSolicitView::source_link_layer_address() const {
  return FindLla(options(), NdOptionType::kSourceLinkLayerAddress);
}

std::optional<NdRouterAdvertView> NdRouterAdvertView::From(const Icmp6View& icmp) {
  if (icmp.type() != Icmp6Type::kRouterAdvertisement) return std::nullopt;
  return NdRouterAdvertView(icmp.message());
}
std::optional<MacAddress> NdRouterAdvertView::source_link_layer_address() const {
  return FindLla(options(), NdOptionType::kSourceLinkLayerAddress);
}
std::optional<uint32_t> NdRouterAdvertView::mtu() const {
  auto o = options().Find(NdOptionType::kMtu);
  if (!o) return std::nullopt;
  return o->mtu();
}

std::optional<NdNeighborSolicitView> NdNeighborSolicitView::From(const Icmp6View& icmp) {
  if (icmp.type() != Icmp6Type::kNeighborSolicitation) return std::nullopt;
  return NdNeighborSolicitView(icmp.message());
}
std::optional<MacAddress> NdNeighborSolicitView::source_link_layer_address() const {
  return FindLla(options(), NdOptionType::kSourceLinkLayerAddress);
}

std::optional<NdNeighborAdvertView> NdNeighborAdvertView::From(const Icmp6View& icmp) {
  if (icmp.type() != Icmp6Type::kNeighborAdvertisement) return std::nullopt;
  return NdNeighborAdvertView(icmp.message());
}
std::optional<MacAddress> NdNeighborAdvertView::target_link_layer_address() const {
  return FindLla(options(), NdOptionType::kTargetLinkLayerAddress);
}

std::optional<NdRedirectView> NdRedirectView::From(const Icmp6View& icmp) {
  if (icmp.type() != Icmp6Type::kRedirect) return std::nullopt;
  return NdRedirectView(icmp.message());
}
std::optional<MacAddress> NdRedirectView::target_link_layer_address() const {
  return FindLla(options(), NdOptionType::kTargetLinkLayerAddress);
}
std::optional<ByteSpan> NdRedirectView::redirected_packet() const {
  auto o = options().Find(NdOptionType::kRedirectedHeader);
  if (!o) return std::nullopt;
  return o->redirected_packet();
}

// --- Write side ---

namespace {

constexpr size_t kLlaOptionSize = 8;
constexpr size_t kMtuOptionSize = 8;
constexpr size_t kPrefixOptionSize = 32;
// RFC 8200 §5.
constexpr size_t kMinMtu = 1280;

// Starts a message: type, code 0, checksum zeroed, the 4 bytes after it zeroed.
void StartMessage(uint8_t* p, Icmp6Type type) {
  p[0] = static_cast<uint8_t>(type);
  std::memset(p + 1, 0, 7);
}

uint8_t* EmitLla(uint8_t* p, NdOptionType type, const MacAddress& mac) {
  p[0] = static_cast<uint8_t>(type);
  p[1] = 1;
  mac.CopyTo(p + 2);
  return p + kLlaOptionSize;
}

uint8_t* EmitPrefix(uint8_t* p, const NdPrefixInfo& info) {
  p[0] = static_cast<uint8_t>(NdOptionType::kPrefixInformation);
  p[1] = 4;
  p[2] = info.prefix_length;
  p[3] = static_cast<uint8_t>((info.on_link ? 0x80 : 0) | (info.autonomous ? 0x40 : 0));
  StoreBe32(p + 4, info.valid_lifetime);
  StoreBe32(p + 8, info.preferred_lifetime);
  StoreBe32(p + 12, 0);
  info.prefix.CopyTo(p + 16);
  return p + kPrefixOptionSize;
}

}  // namespace

size_t NdRouterSolicitMessage::size() const {
  return kNdRouterSolicitSize + (source_lla ? kLlaOptionSize : 0);
}

void NdRouterSolicitMessage::Emit(MutableByteSpan out, uint32_t pseudo_sum) const {
  assert(out.size() >= size());
  uint8_t* p = out.data();
  StartMessage(p, Icmp6Type::kRouterSolicitation);
  if (source_lla)
    EmitLla(p + kNdRouterSolicitSize, NdOptionType::kSourceLinkLayerAddress, *source_lla);
  Icmp6FillChecksum(out.first(size()), pseudo_sum);
}

size_t NdRouterAdvertMessage::size() const {
  return kNdRouterAdvertSize + (source_lla ? kLlaOptionSize : 0) + (mtu ? kMtuOptionSize : 0) +
         kPrefixOptionSize * prefixes.size() + (rdnss.empty() ? 0 : 8 + 16 * rdnss.size());
}

void NdRouterAdvertMessage::Emit(MutableByteSpan out, uint32_t pseudo_sum) const {
  assert(out.size() >= size());
  assert(rdnss.size() <= 127);
  uint8_t* p = out.data();
  StartMessage(p, Icmp6Type::kRouterAdvertisement);
  p[4] = cur_hop_limit;
  p[5] = static_cast<uint8_t>((managed ? 0x80 : 0) | (other ? 0x40 : 0) |
                              ((static_cast<uint8_t>(preference) & 0x03) << 3));
  StoreBe16(p + 6, router_lifetime);
  StoreBe32(p + 8, reachable_time);
  StoreBe32(p + 12, retrans_timer);
  p += kNdRouterAdvertSize;
  // The order dnsmasq uses (any order is valid, RFC 4861 §4.6).
  for (const NdPrefixInfo& info : prefixes) p = EmitPrefix(p, info);
  if (mtu) {
    p[0] = static_cast<uint8_t>(NdOptionType::kMtu);
    p[1] = 1;
    StoreBe16(p + 2, 0);
    StoreBe32(p + 4, *mtu);
    p += kMtuOptionSize;
  }
  if (source_lla) p = EmitLla(p, NdOptionType::kSourceLinkLayerAddress, *source_lla);
  if (!rdnss.empty()) {
    p[0] = static_cast<uint8_t>(NdOptionType::kRdnss);
    p[1] = static_cast<uint8_t>(1 + 2 * rdnss.size());
    StoreBe16(p + 2, 0);
    StoreBe32(p + 4, rdnss_lifetime);
    p += 8;
    for (const Ip6Address& a : rdnss) {
      a.CopyTo(p);
      p += 16;
    }
  }
  Icmp6FillChecksum(out.first(size()), pseudo_sum);
}

size_t NdNeighborSolicitMessage::size() const {
  return kNdNeighborSolicitSize + (source_lla ? kLlaOptionSize : 0);
}

void NdNeighborSolicitMessage::Emit(MutableByteSpan out, uint32_t pseudo_sum) const {
  assert(out.size() >= size());
  uint8_t* p = out.data();
  StartMessage(p, Icmp6Type::kNeighborSolicitation);
  target.CopyTo(p + 8);
  if (source_lla)
    EmitLla(p + kNdNeighborSolicitSize, NdOptionType::kSourceLinkLayerAddress, *source_lla);
  Icmp6FillChecksum(out.first(size()), pseudo_sum);
}

size_t NdNeighborAdvertMessage::size() const {
  return kNdNeighborAdvertSize + (target_lla ? kLlaOptionSize : 0);
}

void NdNeighborAdvertMessage::Emit(MutableByteSpan out, uint32_t pseudo_sum) const {
  assert(out.size() >= size());
  uint8_t* p = out.data();
  StartMessage(p, Icmp6Type::kNeighborAdvertisement);
  p[4] = static_cast<uint8_t>((router ? 0x80 : 0) | (solicited ? 0x40 : 0) |
                              (override_flag ? 0x20 : 0));
  target.CopyTo(p + 8);
  if (target_lla)
    EmitLla(p + kNdNeighborAdvertSize, NdOptionType::kTargetLinkLayerAddress, *target_lla);
  Icmp6FillChecksum(out.first(size()), pseudo_sum);
}

namespace {

// RFC 4861 §4.5/§4.6.3: the redirected packet is cut so that the redirect, in its IPv6
// packet, does not exceed the minimum MTU, and padded to a multiple of 8 bytes.
size_t RedirectedBytes(const NdRedirectMessage& m) {
  if (m.redirected_packet.empty()) return 0;
  const size_t room = kMinMtu - 40 - kNdRedirectSize - (m.target_lla ? kLlaOptionSize : 0) - 8;
  return std::min(m.redirected_packet.size(), room & ~size_t{7});
}

}  // namespace

size_t NdRedirectMessage::size() const {
  const size_t n = RedirectedBytes(*this);
  return kNdRedirectSize + (target_lla ? kLlaOptionSize : 0) +
         (n == 0 ? 0 : 8 + ((n + 7) & ~size_t{7}));
}

void NdRedirectMessage::Emit(MutableByteSpan out, uint32_t pseudo_sum) const {
  assert(out.size() >= size());
  uint8_t* p = out.data();
  StartMessage(p, Icmp6Type::kRedirect);
  target.CopyTo(p + 8);
  destination.CopyTo(p + 24);
  p += kNdRedirectSize;
  if (target_lla) p = EmitLla(p, NdOptionType::kTargetLinkLayerAddress, *target_lla);
  const size_t n = RedirectedBytes(*this);
  if (n != 0) {
    const size_t padded = (n + 7) & ~size_t{7};
    p[0] = static_cast<uint8_t>(NdOptionType::kRedirectedHeader);
    p[1] = static_cast<uint8_t>(1 + padded / 8);
    std::memset(p + 2, 0, 6);
    std::memcpy(p + 8, redirected_packet.data(), n);
    std::memset(p + 8 + n, 0, padded - n);
  }
  Icmp6FillChecksum(out.first(size()), pseudo_sum);
}

}  // namespace pytcp
