#include "stack/wire/igmp.h"

#include "stack/wire/checksum.h"

namespace pytcp {

Result<IgmpView, IgmpParseError> IgmpView::Parse(ByteSpan m) {
  // Integrity first: the length every message has, the checksum over all of it (RFC 3376
  // §4.1.2: "the entire IGMP message"), then the counts that say how long it is.
  if (m.size() < kIgmpV2Size) return Err{IgmpParseError::kTooShort};
  if (InternetChecksum(m) != 0) return Err{IgmpParseError::kBadChecksum};
  const auto type = static_cast<IgmpType>(m[0]);
  if (type == IgmpType::kQuery && m.size() > kIgmpV2Size) {
    if (m.size() < kIgmpV3QueryMinSize) return Err{IgmpParseError::kBadQueryLength};
    if (kIgmpV3QueryMinSize + 4 * size_t{LoadBe16(m, 10)} > m.size()) {
      return Err{IgmpParseError::kSourcesOverrun};
    }
  }
  if (type == IgmpType::kV3Report) {
    const size_t count = LoadBe16(m, 6);
    size_t off = kIgmpV3ReportMinSize;
    for (size_t i = 0; i < count; ++i) {
      if (m.size() - off < kIgmpRecordMinSize) return Err{IgmpParseError::kRecordsOverrun};
      const size_t size = kIgmpRecordMinSize + 4 * size_t{LoadBe16(m, off + 2)} + 4 * size_t{m[off + 1]};
      if (size > m.size() - off) return Err{IgmpParseError::kRecordsOverrun};
      off += size;
    }
  }
  return IgmpView(m);
}

IgmpView::Record IgmpView::RecordAt(size_t* offset) const {
  const size_t off = *offset;
  const size_t n = LoadBe16(data_, off + 2);
  Record r{static_cast<IgmpRecordType>(data_[off]), Ip4Address(LoadBe32(data_, off + 4)),
           data_.subspan(off + kIgmpRecordMinSize, 4 * n)};
  *offset = off + kIgmpRecordMinSize + 4 * n + 4 * size_t{data_[off + 1]};
  return r;
}

size_t IgmpV3ReportMessage::size() const {
  size_t n = kIgmpV3ReportMinSize;
  for (const auto& r : records) n += r.size();
  return n;
}

void IgmpV3ReportMessage::Emit(MutableByteSpan out) const {
  assert(out.size() >= size());
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(IgmpType::kV3Report);
  p[1] = 0;
  StoreBe16(p + 2, 0);
  StoreBe16(p + 4, 0);
  StoreBe16(p + 6, static_cast<uint16_t>(records.size()));
  size_t off = kIgmpV3ReportMinSize;
  for (const auto& r : records) {
    p[off] = static_cast<uint8_t>(r.type);
    p[off + 1] = 0;  // no auxiliary data (RFC 3376 §4.2.6)
    StoreBe16(p + off + 2, static_cast<uint16_t>(r.sources.size()));
    StoreBe32(p + off + 4, r.group.value());
    off += kIgmpRecordMinSize;
    for (const auto& s : r.sources) {
      StoreBe32(p + off, s.value());
      off += 4;
    }
  }
  StoreBe16(p + 2, InternetChecksum(ByteSpan(p, off)));
}

void IgmpV3QueryMessage::Emit(MutableByteSpan out) const {
  assert(out.size() >= size());
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(IgmpType::kQuery);
  p[1] = max_resp_code;
  StoreBe16(p + 2, 0);
  StoreBe32(p + 4, group.value());
  p[8] = static_cast<uint8_t>((suppress_router_processing ? 0x08 : 0) | (qrv & 0x07));
  p[9] = qqic;
  StoreBe16(p + 10, static_cast<uint16_t>(sources.size()));
  for (size_t i = 0; i < sources.size(); ++i) StoreBe32(p + kIgmpV3QueryMinSize + 4 * i, sources[i].value());
  StoreBe16(p + 2, InternetChecksum(ByteSpan(p, size())));
}

void IgmpV2Message::Emit(MutableByteSpan out) const {
  assert(out.size() >= size());
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(type);
  p[1] = max_resp_code;
  StoreBe16(p + 2, 0);
  StoreBe32(p + 4, group.value());
  StoreBe16(p + 2, InternetChecksum(ByteSpan(p, kIgmpV2Size)));
}

}  // namespace pytcp
