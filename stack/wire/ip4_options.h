// IPv4 header options: a checked walker and a small builder.
//
// To read: RFC 791 §3.1 "Options" (EOL and NOP are single bytes, every other option is
// type-length-value with the length counting the type and length bytes), RFC 1108 and
// RFC 2113 (Router Alert) for examples of options still seen, RFC 7126 (which options
// to accept). The walker checks only the generic TLV structure; option-specific rules are
// the concern of whoever acts on an option.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/wire/tlv_options.h"

namespace pytcp {

// Wire enum: the whole type octet (copied flag, class, number). Unknown values are walked
// over by their length.
enum class Ip4OptionType : uint8_t {
  kEol = 0,
  kNop = 1,
  kRecordRoute = 7,
  kTimestamp = 68,
  kLooseSourceRoute = 131,
  kStrictSourceRoute = 137,
  kRouterAlert = 148,
};

// RFC 791 §3.1: the copied flag says whether a fragment carries the option too.
constexpr bool Ip4OptionIsCopied(Ip4OptionType t) { return (static_cast<uint8_t>(t) & 0x80) != 0; }

inline constexpr size_t kIp4MaxOptionsSize = 40;

PYTCP_NAMED_ENUM(Ip4OptionError, uint8_t,
  kOptionBadLength,  // a TLV option's length byte is below 2
  kOptionOverrun,    // a TLV option (or its length byte) runs past the end of the header
);

struct Ip4Option {
  Ip4OptionType type;
  ByteSpan value;  // the bytes after type and length; empty for NOP
};

// A validated options area (RFC 791 §3.1's layout, stack/wire/tlv_options.h). Iteration
// yields every option, NOPs included, and stops at EOL (the bytes after EOL are padding).
class Ip4OptionsView : public TlvOptionsView<Ip4Option, Ip4OptionType> {
 public:
  static Result<Ip4OptionsView, Ip4OptionError> Parse(ByteSpan options);
  // An empty options area (a 20-byte header).
  Ip4OptionsView() = default;

  // The first option of the given type, if any.
  std::optional<Ip4Option> Find(Ip4OptionType type) const;

 private:
  explicit Ip4OptionsView(ByteSpan checked) : TlvOptionsView(checked) {}
};

// Encodes options into a fixed 40-byte buffer (no allocation). Add* return false, leaving
// the builder unchanged, when the option does not fit. Ip4Header::Emit pads to 4 bytes.
class Ip4OptionsBuilder {
 public:
  bool AddNop();
  bool Add(Ip4OptionType type, ByteSpan value);
  ByteSpan bytes() const { return ByteSpan(buf_.data(), size_); }

 private:
  std::array<uint8_t, kIp4MaxOptionsSize> buf_{};
  size_t size_ = 0;
};

}  // namespace pytcp
