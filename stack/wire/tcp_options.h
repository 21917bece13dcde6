// TCP options: a checked walker, a decoded value struct and an emitter.
//
// To read: RFC 9293 §3.1 (option format; §3.2 lists the kinds; "a TCP implementation MUST
// be able to receive a TCP option in any segment" and MUST ignore unknown ones), RFC 9293
// §3.7.1 (MSS), RFC 7323 §2 and §3 (window scale, timestamps), RFC 2018 §2 and §3
// (SACK-permitted, SACK blocks). The emitted layout follows Linux's tcp_options_write()
// (net/ipv4/tcp_output.c) so that segments look like the kernel's on the wire: options
// are word aligned with NOPs and never need EOL padding.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/net/seq_num.h"
#include "stack/wire/tlv_options.h"

namespace pytcp {

// Wire enum: any value may appear; unknown kinds are skipped by their length.
enum class TcpOptionKind : uint8_t {
  kEol = 0,
  kNop = 1,
  kMss = 2,
  kWindowScale = 3,
  kSackPermitted = 4,
  kSack = 5,
  kTimestamps = 8,
  kMd5Signature = 19,
  kUserTimeout = 28,
  kAuthentication = 29,
  kFastOpen = 34,
};

PYTCP_NAMED_ENUM(TcpOptionError, uint8_t,
  kOptionZeroLength,        // a length byte of 0 (the walk could not advance)
  kOptionOneLength,         // a length byte of 1 (shorter than kind + length)
  kOptionOverrun,           // an option, or its length byte, past the end of the header
  kBadMssLength,            // MSS with a length other than 4
  kBadWindowScaleLength,    // window scale with a length other than 3
  kBadSackPermittedLength,  // SACK-permitted with a length other than 2
  kBadSackLength,           // SACK with a length other than 2 + 8n, n in 1..4
  kBadTimestampsLength,     // timestamps with a length other than 10
);

inline constexpr size_t kTcpMaxOptionsSize = 40;
inline constexpr size_t kTcpMaxSackBlocks = 4;

struct TcpSackBlock {
  SeqNum left;   // first sequence number of the block
  SeqNum right;  // sequence number just after the block
  bool operator==(const TcpSackBlock&) const = default;
};

struct TcpTimestamps {
  uint32_t value = 0;       // TSval
  uint32_t echo_reply = 0;  // TSecr
  bool operator==(const TcpTimestamps&) const = default;
};

// The options the stack understands, as values. Raw values are kept as received: e.g. a
// window scale above 14 is the engine's to clamp (RFC 7323 §2.3).
struct TcpOptions {
  std::optional<uint16_t> mss;
  std::optional<uint8_t> window_scale;
  bool sack_permitted = false;
  std::optional<TcpTimestamps> timestamps;
  std::array<TcpSackBlock, kTcpMaxSackBlocks> sack_blocks{};
  uint8_t sack_block_count = 0;

  std::span<const TcpSackBlock> sack() const { return {sack_blocks.data(), sack_block_count}; }
  // Appends a SACK block; false when four are held already.
  bool AddSackBlock(TcpSackBlock b);

  // How many SACK blocks Emit writes: as many as fit in 40 bytes beside the other options
  // (three with timestamps, RFC 2018 §3), as Linux does.
  size_t emitted_sack_blocks() const;
  // The encoded size, a multiple of 4, at most 40.
  size_t size() const;
  // Writes size() bytes into out in Linux's order: MSS; SACK-permitted merged with
  // timestamps (or NOP NOP before either alone); NOP + window scale; NOP NOP + SACK.
  // Returns size().
  size_t Emit(MutableByteSpan out) const;

  bool operator==(const TcpOptions& o) const;
};

struct TcpOption {
  TcpOptionKind kind;
  ByteSpan value;  // the bytes after kind and length; empty for NOP
};

// A validated options area (RFC 9293 §3.1's layout, stack/wire/tlv_options.h). Iteration
// yields every option, NOPs included, and stops at EOL (the rest is padding).
class TcpOptionsView : public TlvOptionsView<TcpOption, TcpOptionKind> {
 public:
  static Result<TcpOptionsView, TcpOptionError> Parse(ByteSpan options);
  TcpOptionsView() = default;

  // The known options as values; unknown kinds are skipped. A kind that appears twice
  // takes its last value, as Linux's tcp_parse_options does.
  TcpOptions Decode() const;

 private:
  explicit TcpOptionsView(ByteSpan checked) : TlvOptionsView(checked) {}
};

}  // namespace pytcp
