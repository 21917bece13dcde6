#include "stack/wire/icmp6_mld.h"

#include <cstring>

namespace pytcp {

namespace icmp6_internal {

std::optional<Icmp6ParseError> CheckMld(ByteSpan m) {
  const auto type = static_cast<Icmp6Type>(m[0]);
  if (type == Icmp6Type::kMldV2Report) {
    // RFC 3810 §5.2: the Nr of Mcast Address Records says how many records follow; each
    // record's Number of Sources and Aux Data Len say how long it is. All of it must be in
    // the message: a count larger than the records present is a malformed report, not a
    // reason to read past the buffer.
    if (m.size() < kMldV2ReportMinSize) return Icmp6ParseError::kTooShortForType;
    const size_t count = LoadBe16(m, 6);
    size_t off = kMldV2ReportMinSize;
    for (size_t i = 0; i < count; ++i) {
      if (m.size() - off < kMldRecordMinSize) return Icmp6ParseError::kMldRecordsOverrun;
      const size_t size =
          kMldRecordMinSize + 16 * size_t{LoadBe16(m, off + 2)} + 4 * size_t{m[off + 1]};
      if (size > m.size() - off) return Icmp6ParseError::kMldRecordsOverrun;
      off += size;
    }
    // RFC 3810 §5.2.12: unknown record types are ignored, so no sanity check on them.
    return std::nullopt;
  }

  // Query, v1 report, v1 done: the 24-byte MLDv1 layout first.
  if (m.size() < kMldV1Size) return Icmp6ParseError::kTooShortForType;
  const Ip6Address group = Ip6Address::FromBytes(m.data() + 8);
  if (type != Icmp6Type::kMldQuery) {
    // RFC 2710 §3.6: a report or done names the multicast address being reported; Linux
    // (igmp6_event_report) rejects anything else.
    if (!group.is_multicast()) return Icmp6ParseError::kMldBadGroup;
    return std::nullopt;
  }
  // RFC 3810 §8.1: 24 bytes is an MLDv1 query, 28 or more an MLDv2 query, anything in
  // between is invalid and silently ignored.
  size_t sources = 0;
  if (m.size() != kMldV1Size) {
    if (m.size() < kMldV2QueryMinSize) return Icmp6ParseError::kTooShortForType;
    sources = LoadBe16(m, 26);
    // RFC 3810 §5.1.10: the sources follow; bytes beyond them are ignored (§5.1.12).
    if (kMldV2QueryMinSize + 16 * sources > m.size()) return Icmp6ParseError::kMldSourcesOverrun;
  }
  // Sanity. RFC 3810 §5.1.5: the group is :: (general query) or the multicast address
  // being queried.
  if (!group.is_unspecified() && !group.is_multicast()) return Icmp6ParseError::kMldBadGroup;
  // RFC 3810 §5.1.10: general and address-specific queries carry no sources; Linux
  // (igmp6_event_query) drops a general query that lists some.
  if (group.is_unspecified() && sources != 0) return Icmp6ParseError::kMldSourcesInGeneralQuery;
  return std::nullopt;
}

}  // namespace icmp6_internal

std::optional<MldQueryView> MldQueryView::From(const Icmp6View& icmp) {
  if (icmp.type() != Icmp6Type::kMldQuery) return std::nullopt;
  return MldQueryView(icmp.message());
}

std::optional<MldV1View> MldV1View::From(const Icmp6View& icmp) {
  if (icmp.type() != Icmp6Type::kMldV1Report && icmp.type() != Icmp6Type::kMldV1Done) {
    return std::nullopt;
  }
  return MldV1View(icmp.message());
}

std::optional<MldV2ReportView> MldV2ReportView::From(const Icmp6View& icmp) {
  if (icmp.type() != Icmp6Type::kMldV2Report) return std::nullopt;
  return MldV2ReportView(icmp.message());
}

size_t MldQueryMessage::size() const {
  return v1 ? kMldV1Size : kMldV2QueryMinSize + 16 * sources.size();
}

void MldQueryMessage::Emit(MutableByteSpan out, uint32_t pseudo_sum) const {
  assert(out.size() >= size());
  assert(v1 || sources.size() <= 0xffff);
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(Icmp6Type::kMldQuery);
  std::memset(p + 1, 0, 7);
  StoreBe16(p + 4, max_resp_code);
  multicast_address.CopyTo(p + 8);
  if (!v1) {
    p[24] = static_cast<uint8_t>((suppress_router_processing ? 0x08 : 0) | (qrv & 0x07));
    p[25] = qqic;
    StoreBe16(p + 26, static_cast<uint16_t>(sources.size()));
    uint8_t* s = p + kMldV2QueryMinSize;
    for (const Ip6Address& a : sources) {
      a.CopyTo(s);
      s += 16;
    }
  }
  Icmp6FillChecksum(out.first(size()), pseudo_sum);
}

size_t MldV2ReportMessage::size() const {
  size_t n = kMldV2ReportMinSize;
  for (const MldRecord& r : records) n += kMldRecordMinSize + 16 * r.sources.size();
  return n;
}

void MldV2ReportMessage::Emit(MutableByteSpan out, uint32_t pseudo_sum) const {
  assert(out.size() >= size());
  assert(records.size() <= 0xffff);
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(Icmp6Type::kMldV2Report);
  std::memset(p + 1, 0, 5);
  StoreBe16(p + 6, static_cast<uint16_t>(records.size()));
  p += kMldV2ReportMinSize;
  for (const MldRecord& r : records) {
    assert(r.sources.size() <= 0xffff);
    p[0] = static_cast<uint8_t>(r.type);
    p[1] = 0;  // no auxiliary data (RFC 3810 §5.2.6: MLDv2 defines none)
    StoreBe16(p + 2, static_cast<uint16_t>(r.sources.size()));
    r.multicast_address.CopyTo(p + 4);
    p += kMldRecordMinSize;
    for (const Ip6Address& a : r.sources) {
      a.CopyTo(p);
      p += 16;
    }
  }
  Icmp6FillChecksum(out.first(size()), pseudo_sum);
}

void MldV1Message::Emit(MutableByteSpan out, uint32_t pseudo_sum) const {
  assert(out.size() >= size());
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(done ? Icmp6Type::kMldV1Done : Icmp6Type::kMldV1Report);
  std::memset(p + 1, 0, 7);
  multicast_address.CopyTo(p + 8);
  Icmp6FillChecksum(out.first(size()), pseudo_sum);
}

}  // namespace pytcp
