// TCP segment headers.
//
// To read: RFC 9293 §3.1 (header format) and §3.4 (sequence numbers, SEG.LEN), RFC 3168
// §6.1 (ECE and CWR), RFC 9293 §3.8.5 (urgent pointer), tcp_options.h for the options.
// The checksum covers a pseudo-header owned by the IP layer, so Parse and Emit take its
// partial sum rather than addresses (RFC 9293 §3.1 "Checksum").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/net/seq_num.h"
#include "stack/wire/checksum.h"
#include "stack/wire/tcp_options.h"

namespace pytcp {

PYTCP_NAMED_ENUM(TcpParseError, uint8_t,
  // Integrity.
  kTooShort,                // fewer than 20 bytes
  kBadDataOffset,           // data offset < 5 or the header runs past the segment
  kBadChecksum,
  kOptionZeroLength,
  kOptionOneLength,
  kOptionOverrun,
  kBadMssLength,
  kBadWindowScaleLength,
  kBadSackPermittedLength,
  kBadSackLength,
  kBadTimestampsLength,
  // Sanity.
  kZeroPort,                // source or destination port 0
  kSynFin,                  // SYN and FIN together
);
constexpr bool IsIntegrityError(TcpParseError e) { return e < TcpParseError::kZeroPort; }

inline constexpr size_t kTcpMinHeaderSize = 20;
inline constexpr size_t kTcpMaxHeaderSize = 60;

// The TCP header's length from its data offset (RFC 9293 §3.1), without parsing the
// segment (a router's look at a packet it forwards); 20 if cut short.
inline size_t TcpHeaderSizeOf(ByteSpan tcp) {
  return tcp.size() > 12 ? static_cast<size_t>(tcp[12] >> 4) * 4 : kTcpMinHeaderSize;
}

// RFC 9293 §3.1 control bits (and RFC 3168 §6.1 for ECE/CWR).
struct TcpFlags {
  bool fin = false;
  bool syn = false;
  bool rst = false;
  bool psh = false;
  bool ack = false;
  bool urg = false;
  bool ece = false;
  bool cwr = false;

  static constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10,
                           kUrg = 0x20, kEce = 0x40, kCwr = 0x80;
  static constexpr TcpFlags FromByte(uint8_t b) {
    return {(b & kFin) != 0, (b & kSyn) != 0, (b & kRst) != 0, (b & kPsh) != 0,
            (b & kAck) != 0, (b & kUrg) != 0, (b & kEce) != 0, (b & kCwr) != 0};
  }
  constexpr uint8_t ToByte() const {
    return static_cast<uint8_t>((fin ? kFin : 0) | (syn ? kSyn : 0) | (rst ? kRst : 0) |
                                (psh ? kPsh : 0) | (ack ? kAck : 0) | (urg ? kUrg : 0) |
                                (ece ? kEce : 0) | (cwr ? kCwr : 0));
  }
  constexpr bool operator==(const TcpFlags&) const = default;
};

struct TcpHeader;

class TcpView {
 public:
  // `data` is the IP payload (the whole segment); `pseudo_sum` the pseudo-header partial
  // sum for data.size() bytes (Ip4View::pseudo_header_sum(), or PseudoHeaderSum6).
  static Result<TcpView, TcpParseError> Parse(ByteSpan data, uint32_t pseudo_sum,
                                              ChecksumPolicy checksum = ChecksumPolicy::kVerify);

  uint16_t src_port() const { return LoadBe16(data_, 0); }
  uint16_t dst_port() const { return LoadBe16(data_, 2); }
  SeqNum seq() const { return SeqNum(LoadBe32(data_, 4)); }
  SeqNum ack() const { return SeqNum(LoadBe32(data_, 8)); }
  size_t header_size() const { return static_cast<size_t>(data_[12] >> 4) * 4; }
  TcpFlags flags() const { return TcpFlags::FromByte(data_[13]); }
  uint16_t window() const { return LoadBe16(data_, 14); }  // unscaled
  uint16_t checksum() const { return LoadBe16(data_, 16); }
  uint16_t urgent_pointer() const { return LoadBe16(data_, 18); }
  // Validated at Parse: iterate raw, or Decode() to values.
  TcpOptionsView options() const;

  ByteSpan header() const { return data_.first(header_size()); }
  ByteSpan payload() const { return data_.subspan(header_size()); }
  ByteSpan segment() const { return data_; }
  // RFC 9293 §3.4 SEG.LEN: the octets of sequence space the segment occupies.
  uint32_t segment_length() const {
    return static_cast<uint32_t>(payload().size()) + (flags().syn ? 1 : 0) + (flags().fin ? 1 : 0);
  }

  // The header as values with options decoded (unknown options are not carried).
  TcpHeader ToHeader() const;

 private:
  explicit TcpView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

struct TcpHeader {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  SeqNum seq;
  SeqNum ack;
  TcpFlags flags;
  uint16_t window = 0;  // already scaled down by the sender's shift
  uint16_t urgent_pointer = 0;
  TcpOptions options;

  size_t header_size() const { return kTcpMinHeaderSize + options.size(); }
  // Writes the header into out[0, header_size()) with the checksum over the pseudo-header
  // (`pseudo_sum`, computed for header_size() + payload.size() bytes), the header and
  // `payload`, which is summed where it lies and not copied.
  void Emit(MutableByteSpan out, ByteSpan payload, uint32_t pseudo_sum) const;
  // For checksum offload (virtio_net_hdr VIRTIO_NET_HDR_F_NEEDS_CSUM, csum_offset 16) and
  // TSO: stores the folded, uncomplemented pseudo-header sum for the device to complete.
  void EmitForOffload(MutableByteSpan out, uint32_t pseudo_sum) const;

  bool operator==(const TcpHeader&) const = default;
};

}  // namespace pytcp
