#include "stack/wire/tcp.h"

#include <cassert>

namespace pytcp {

namespace {
TcpParseError FromOptionError(TcpOptionError e) {
  switch (e) {
    case TcpOptionError::kOptionZeroLength: return TcpParseError::kOptionZeroLength;
    case TcpOptionError::kOptionOneLength: return TcpParseError::kOptionOneLength;
    case TcpOptionError::kOptionOverrun: return TcpParseError::kOptionOverrun;
    case TcpOptionError::kBadMssLength: return TcpParseError::kBadMssLength;
    case TcpOptionError::kBadWindowScaleLength: return TcpParseError::kBadWindowScaleLength;
    case TcpOptionError::kBadSackPermittedLength: return TcpParseError::kBadSackPermittedLength;
    case TcpOptionError::kBadSackLength: return TcpParseError::kBadSackLength;
    case TcpOptionError::kBadTimestampsLength: return TcpParseError::kBadTimestampsLength;
  }
  return TcpParseError::kOptionOverrun;
}
}  // namespace

Result<TcpView, TcpParseError> TcpView::Parse(ByteSpan data, uint32_t pseudo_sum,
                                              ChecksumPolicy checksum) {
  // Integrity.
  if (data.size() < kTcpMinHeaderSize) return Err{TcpParseError::kTooShort};
  // RFC 9293 §3.1: the data offset counts 32-bit words and the header is at least five.
  const size_t header_size = static_cast<size_t>(data[12] >> 4) * 4;
  if (header_size < kTcpMinHeaderSize || header_size > data.size()) {
    return Err{TcpParseError::kBadDataOffset};
  }
  // RFC 9293 §3.1 / RFC 1122 §4.2.2.7: the checksum (pseudo-header, header, data) MUST be
  // verified and a segment failing it silently discarded.
  if (checksum == ChecksumPolicy::kVerify && InternetChecksum(data, pseudo_sum) != 0) {
    return Err{TcpParseError::kBadChecksum};
  }
  auto options = TcpOptionsView::Parse(data.subspan(kTcpMinHeaderSize, header_size - kTcpMinHeaderSize));
  if (!options.ok()) return Err{FromOptionError(options.error())};

  // Sanity.
  // Port 0 is reserved (RFC 9293 §3.1 / IANA): no connection can use it.
  if (LoadBe16(data, 0) == 0 || LoadBe16(data, 2) == 0) return Err{TcpParseError::kZeroPort};
  // SYN opens and FIN closes the same sequence space at once: no RFC 9293 state accepts
  // both (Linux discards it in LISTEN) and it is a classic scanner probe.
  const TcpFlags flags = TcpFlags::FromByte(data[13]);
  if (flags.syn && flags.fin) return Err{TcpParseError::kSynFin};
  return TcpView(data);
}

TcpOptionsView TcpView::options() const {
  // Parse succeeded on these bytes already, so this cannot fail.
  auto o = TcpOptionsView::Parse(header().subspan(kTcpMinHeaderSize));
  assert(o.ok());
  return o.ok() ? *o : TcpOptionsView();
}

TcpHeader TcpView::ToHeader() const {
  TcpHeader h;
  h.src_port = src_port();
  h.dst_port = dst_port();
  h.seq = seq();
  h.ack = ack();
  h.flags = flags();
  h.window = window();
  h.urgent_pointer = urgent_pointer();
  h.options = options().Decode();
  return h;
}

namespace {
void EmitFields(uint8_t* p, const TcpHeader& h, size_t header_size) {
  StoreBe16(p + 0, h.src_port);
  StoreBe16(p + 2, h.dst_port);
  StoreBe32(p + 4, h.seq.value());
  StoreBe32(p + 8, h.ack.value());
  // RFC 9293 §3.1: the reserved bits are sent as zero.
  p[12] = static_cast<uint8_t>((header_size / 4) << 4);
  p[13] = h.flags.ToByte();
  StoreBe16(p + 14, h.window);
  StoreBe16(p + 16, 0);
  StoreBe16(p + 18, h.urgent_pointer);
  h.options.Emit(MutableByteSpan(p + kTcpMinHeaderSize, header_size - kTcpMinHeaderSize));
}
}  // namespace

void TcpHeader::Emit(MutableByteSpan out, ByteSpan payload, uint32_t pseudo_sum) const {
  const size_t hs = header_size();
  assert(out.size() >= hs);
  EmitFields(out.data(), *this, hs);
  const uint32_t sum = ChecksumSum(payload, ChecksumSum(ByteSpan(out.data(), hs), pseudo_sum));
  StoreBe16(out.data() + 16, ChecksumFold(sum));
}

void TcpHeader::EmitForOffload(MutableByteSpan out, uint32_t pseudo_sum) const {
  const size_t hs = header_size();
  assert(out.size() >= hs);
  EmitFields(out.data(), *this, hs);
  StoreBe16(out.data() + 16, static_cast<uint16_t>(~ChecksumFold(pseudo_sum)));
}

}  // namespace pytcp
