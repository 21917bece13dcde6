#include "stack/wire/tcp_options.h"

#include <algorithm>
#include <cassert>

namespace pytcp {

namespace {

constexpr uint8_t kNop = static_cast<uint8_t>(TcpOptionKind::kNop);
constexpr uint8_t kMss = static_cast<uint8_t>(TcpOptionKind::kMss);
constexpr uint8_t kWindowScale = static_cast<uint8_t>(TcpOptionKind::kWindowScale);
constexpr uint8_t kSackPermitted = static_cast<uint8_t>(TcpOptionKind::kSackPermitted);
constexpr uint8_t kSack = static_cast<uint8_t>(TcpOptionKind::kSack);
constexpr uint8_t kTimestamps = static_cast<uint8_t>(TcpOptionKind::kTimestamps);

// Option lengths fixed by their RFCs.
constexpr uint8_t kMssLength = 4;             // RFC 9293 §3.2
constexpr uint8_t kWindowScaleLength = 3;     // RFC 7323 §2.2
constexpr uint8_t kSackPermittedLength = 2;   // RFC 2018 §2
constexpr uint8_t kTimestampsLength = 10;     // RFC 7323 §3.2

}  // namespace

Result<TcpOptionsView, TcpOptionError> TcpOptionsView::Parse(ByteSpan options) {
  // RFC 9293 §3.1: EOL marks the end (the rest is padding); every option but EOL and NOP
  // has a length octet counting kind and length. RFC 9293 §3.1 (MUST-7): an illegal length
  // (e.g. zero) must be handled without crashing; Linux's tcp_parse_options stops at such a
  // "silly option". Here the segment is refused, each case with its own reason, since
  // nothing after it can be trusted.
  static constexpr TlvLayoutErrors<TcpOptionError> kErrors{TcpOptionError::kOptionZeroLength,
                                                           TcpOptionError::kOptionOneLength,
                                                           TcpOptionError::kOptionOverrun};
  auto kind_rules = [](uint8_t kind, uint8_t len) -> std::optional<TcpOptionError> {
    switch (kind) {
      case kMss:
        if (len != kMssLength) return TcpOptionError::kBadMssLength;
        break;
      case kWindowScale:
        if (len != kWindowScaleLength) return TcpOptionError::kBadWindowScaleLength;
        break;
      case kSackPermitted:
        if (len != kSackPermittedLength) return TcpOptionError::kBadSackPermittedLength;
        break;
      case kSack:
        // RFC 2018 §3: 2 + 8n octets; at most four blocks fit in 40 bytes.
        if (len < 10 || (len - 2) % 8 != 0) return TcpOptionError::kBadSackLength;
        break;
      case kTimestamps:
        if (len != kTimestampsLength) return TcpOptionError::kBadTimestampsLength;
        break;
      default:
        break;  // RFC 9293 §3.1 (MUST-5): unknown options are skipped by their length
    }
    return std::nullopt;
  };
  if (auto e = CheckTlvLayout(options, kErrors, kind_rules)) return Err{*e};
  return TcpOptionsView(options);
}

TcpOptions TcpOptionsView::Decode() const {
  TcpOptions o;
  for (const TcpOption& opt : *this) {
    const ByteSpan v = opt.value;
    switch (opt.kind) {
      case TcpOptionKind::kMss:
        o.mss = LoadBe16(v, 0);
        break;
      case TcpOptionKind::kWindowScale:
        o.window_scale = v[0];
        break;
      case TcpOptionKind::kSackPermitted:
        o.sack_permitted = true;
        break;
      case TcpOptionKind::kSack:
        o.sack_block_count = 0;
        for (size_t i = 0; i + 8 <= v.size(); i += 8) {
          o.AddSackBlock({SeqNum(LoadBe32(v, i)), SeqNum(LoadBe32(v, i + 4))});
        }
        break;
      case TcpOptionKind::kTimestamps:
        o.timestamps = TcpTimestamps{LoadBe32(v, 0), LoadBe32(v, 4)};
        break;
      default:
        break;
    }
  }
  return o;
}

bool TcpOptions::AddSackBlock(TcpSackBlock b) {
  if (sack_block_count >= kTcpMaxSackBlocks) return false;
  sack_blocks[sack_block_count++] = b;
  return true;
}

bool TcpOptions::operator==(const TcpOptions& o) const {
  if (mss != o.mss || window_scale != o.window_scale || sack_permitted != o.sack_permitted ||
      timestamps != o.timestamps || sack_block_count != o.sack_block_count) {
    return false;
  }
  for (size_t i = 0; i < sack_block_count; ++i) {
    if (!(sack_blocks[i] == o.sack_blocks[i])) return false;
  }
  return true;
}

namespace {
// The size of everything but the SACK blocks; each piece is a whole number of words.
size_t FixedSize(const TcpOptions& o) {
  size_t n = 0;
  if (o.mss) n += 4;
  if (o.timestamps) {
    n += 12;  // (SACK-permitted or NOP NOP) + timestamps
  } else if (o.sack_permitted) {
    n += 4;  // NOP NOP SACK-permitted
  }
  if (o.window_scale) n += 4;  // NOP window-scale
  return n;
}
}  // namespace

size_t TcpOptions::emitted_sack_blocks() const {
  const size_t fixed = FixedSize(*this);
  if (sack_block_count == 0 || fixed + 4 + 8 > kTcpMaxOptionsSize) return 0;
  return std::min<size_t>(sack_block_count, (kTcpMaxOptionsSize - fixed - 4) / 8);
}

size_t TcpOptions::size() const {
  const size_t blocks = emitted_sack_blocks();
  return FixedSize(*this) + (blocks > 0 ? 4 + 8 * blocks : 0);
}

size_t TcpOptions::Emit(MutableByteSpan out) const {
  const size_t total = size();
  assert(out.size() >= total);
  uint8_t* p = out.data();
  if (mss) {
    p[0] = kMss;
    p[1] = kMssLength;
    StoreBe16(p + 2, *mss);
    p += 4;
  }
  if (timestamps) {
    // Linux merges SACK-permitted into the two bytes that would otherwise be NOP NOP.
    p[0] = sack_permitted ? kSackPermitted : kNop;
    p[1] = sack_permitted ? kSackPermittedLength : kNop;
    p[2] = kTimestamps;
    p[3] = kTimestampsLength;
    StoreBe32(p + 4, timestamps->value);
    StoreBe32(p + 8, timestamps->echo_reply);
    p += 12;
  } else if (sack_permitted) {
    p[0] = kNop;
    p[1] = kNop;
    p[2] = kSackPermitted;
    p[3] = kSackPermittedLength;
    p += 4;
  }
  if (window_scale) {
    p[0] = kNop;
    p[1] = kWindowScale;
    p[2] = kWindowScaleLength;
    p[3] = *window_scale;
    p += 4;
  }
  const size_t blocks = emitted_sack_blocks();
  if (blocks > 0) {
    p[0] = kNop;
    p[1] = kNop;
    p[2] = kSack;
    p[3] = static_cast<uint8_t>(2 + 8 * blocks);
    p += 4;
    for (size_t i = 0; i < blocks; ++i) {
      StoreBe32(p, sack_blocks[i].left.value());
      StoreBe32(p + 4, sack_blocks[i].right.value());
      p += 8;
    }
  }
  assert(static_cast<size_t>(p - out.data()) == total);
  return total;
}

}  // namespace pytcp
