// IPv6 extension headers: the chain walker, Hop-by-Hop and Destination Options (with their
// option TLVs), Routing and Fragment headers.
//
// To read: RFC 8200 §4 (order and processing), §4.2 (option TLVs and the action bits of an
// unrecognized option type), §4.3 Hop-by-Hop, §4.4 Routing, §4.5 Fragment, §4.6 Destination
// Options; RFC 2711 (Router Alert, which MLD messages carry, RFC 3810 §5); RFC 5095 (type 0
// routing is deprecated: the engine rejects it, the wire layer only exposes the type);
// RFC 6946 (atomic fragments); RFC 4443 §3.4 (the Parameter Problem pointer every error here
// reports); RFC 7045 (which Next Header values are extension headers).
//
// Errors carry the byte offset of the offending field from the first byte of the IPv6
// header, so the engine can send an ICMPv6 Parameter Problem without re-deriving it.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/forward_iterator.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/wire/ip6.h"

namespace pytcp {

PYTCP_NAMED_ENUM(Ip6ExtParseError, uint8_t,
  // Integrity: is the chain safe to read?
  kTooShort,       // a header (its first bytes or its Hdr Ext Len) runs past the payload
  kOptionOverrun,  // an option's length byte or data runs past its header
  // Sanity: does it follow the RFC rules?
  kHopByHopNotFirst,      // RFC 8200 §4.1: Hop-by-Hop only right after the fixed header
  kBadRouterAlertLength,  // RFC 2711 §2.1: Router Alert option data is exactly 2 bytes
  kFragmentBadLength,     // RFC 8200 §4.5: M set and the fragment not a multiple of 8 bytes
  kFragmentTooLong,       // RFC 8200 §4.5: offset + fragment length beyond 65535
);
constexpr bool IsIntegrityError(Ip6ExtParseError e) {
  return e < Ip6ExtParseError::kHopByHopNotFirst;
}

struct Ip6ExtError {
  Ip6ExtParseError reason;
  // Offset of the offending field from the first byte of the IPv6 header: the Parameter
  // Problem pointer (RFC 4443 §3.4).
  uint32_t pointer;
  // The Parameter Problem code that fits: 1 ("unrecognized Next Header type encountered")
  // for a misplaced Hop-by-Hop header (RFC 8200 §4.1 treats it like an unknown one), 0
  // ("erroneous header field") otherwise.
  uint8_t icmp_code() const { return reason == Ip6ExtParseError::kHopByHopNotFirst ? 1 : 0; }
  bool operator==(const Ip6ExtError&) const = default;
};

// Option types of RFC 8200 §4.2 and the IANA registry. Wire enum: any value may appear.
enum class Ip6OptionType : uint8_t {
  kPad1 = 0x00,
  kPadN = 0x01,
  kTunnelEncapLimit = 0x04,  // RFC 2473
  kRouterAlert = 0x05,       // RFC 2711
  kJumboPayload = 0xc2,      // RFC 2675 (not supported: treated as unrecognized)
};

// RFC 8200 §4.2: the two high-order bits of an option type say what a node that does not
// recognize the option must do.
enum class Ip6OptionAction : uint8_t {
  kSkip = 0,                            // 00: skip over the option
  kDiscard = 1,                         // 01: discard the packet silently
  kDiscardSendIcmp = 2,                 // 10: discard, send Parameter Problem code 2
  kDiscardSendIcmpUnlessMulticast = 3,  // 11: as 10, unless the destination is multicast
};

// RFC 2711 §2.1 Router Alert values.
inline constexpr uint16_t kIp6RouterAlertMld = 0;

// One option TLV of a Hop-by-Hop or Destination Options header (Pad1 included, with no
// data).
struct Ip6Option {
  uint8_t type = 0;
  ByteSpan data;         // the option data, after the type and length bytes
  uint32_t pointer = 0;  // offset of the type byte from the IPv6 header (for code 2 errors)

  Ip6OptionType option_type() const { return static_cast<Ip6OptionType>(type); }
  Ip6OptionAction action() const { return static_cast<Ip6OptionAction>(type >> 6); }
  // RFC 8200 §4.2: the third-highest bit says the data may change en route (AH treats it as
  // zero).
  bool may_change() const { return (type & 0x20) != 0; }
  bool is_padding() const { return type == 0x00 || type == 0x01; }
};

// The options area of a Hop-by-Hop or Destination Options header, already validated by the
// chain walker. Iterate with a range-for.
class Ip6OptionsView {
 public:
  class Iterator : public ForwardIteratorBase<Iterator, Ip6Option> {
   public:
    using ForwardIteratorBase::operator++;
    Iterator() = default;
    Ip6Option operator*() const;
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return offset_ == o.offset_; }

   private:
    friend class Ip6OptionsView;
    Iterator(ByteSpan data, size_t offset, uint32_t base)
        : data_(data), offset_(offset), base_(base) {}
    size_t size_at() const { return data_[offset_] == 0 ? 1 : 2 + size_t{data_[offset_ + 1]}; }
    ByteSpan data_;
    size_t offset_ = 0;
    uint32_t base_ = 0;
  };

  Ip6OptionsView() = default;
  Iterator begin() const { return Iterator(data_, 0, base_); }
  Iterator end() const { return Iterator(data_, data_.size(), base_); }
  ByteSpan bytes() const { return data_; }

 private:
  friend class Ip6OptionsHeaderView;
  Ip6OptionsView(ByteSpan data, uint32_t base) : data_(data), base_(base) {}
  ByteSpan data_;
  uint32_t base_ = 0;
};

// Hop-by-Hop Options (RFC 8200 §4.3) or Destination Options (§4.6).
class Ip6OptionsHeaderView {
 public:
  Ip6NextHeader next_header() const { return static_cast<Ip6NextHeader>(data_[0]); }
  uint8_t header_ext_length() const { return data_[1]; }
  Ip6OptionsView options() const { return Ip6OptionsView(data_.subspan(2), pointer_ + 2); }
  // The Router Alert value (RFC 2711), if the header carries the option.
  std::optional<uint16_t> router_alert() const;
  uint32_t pointer() const { return pointer_; }
  ByteSpan bytes() const { return data_; }

 private:
  friend class Ip6ExtHeader;
  Ip6OptionsHeaderView(ByteSpan data, uint32_t pointer) : data_(data), pointer_(pointer) {}
  ByteSpan data_;
  uint32_t pointer_;
};

// Routing header (RFC 8200 §4.4). The type-specific data is exposed raw.
class Ip6RoutingView {
 public:
  Ip6NextHeader next_header() const { return static_cast<Ip6NextHeader>(data_[0]); }
  uint8_t header_ext_length() const { return data_[1]; }
  uint8_t routing_type() const { return data_[2]; }
  uint8_t segments_left() const { return data_[3]; }
  ByteSpan type_specific_data() const { return data_.subspan(4); }
  uint32_t pointer() const { return pointer_; }
  // RFC 8200 §4.4: an unrecognized type with segments left is reported pointing here.
  uint32_t routing_type_pointer() const { return pointer_ + 2; }
  ByteSpan bytes() const { return data_; }

 private:
  friend class Ip6ExtHeader;
  Ip6RoutingView(ByteSpan data, uint32_t pointer) : data_(data), pointer_(pointer) {}
  ByteSpan data_;
  uint32_t pointer_;
};

// Fragment header (RFC 8200 §4.5): always 8 bytes.
class Ip6FragmentView {
 public:
  // The first header of the fragmentable part (same in every fragment).
  Ip6NextHeader next_header() const { return static_cast<Ip6NextHeader>(data_[0]); }
  // In bytes (the wire field counts 8-byte units).
  uint32_t fragment_offset() const { return uint32_t{LoadBe16(data_, 2) & 0xfff8u}; }
  bool more_fragments() const { return (data_[3] & 0x01) != 0; }
  uint32_t identification() const { return LoadBe32(data_, 4); }
  // RFC 6946 §3: offset 0 and M clear: the whole packet is here and must be processed as
  // if it had no Fragment header, independently of any reassembly in progress.
  bool is_atomic() const { return fragment_offset() == 0 && !more_fragments(); }
  uint32_t pointer() const { return pointer_; }
  ByteSpan bytes() const { return data_; }

 private:
  friend class Ip6ExtHeader;
  Ip6FragmentView(ByteSpan data, uint32_t pointer) : data_(data), pointer_(pointer) {}
  ByteSpan data_;
  uint32_t pointer_;
};

// One header of a validated chain.
class Ip6ExtHeader {
 public:
  Ip6NextHeader type() const { return type_; }
  Ip6NextHeader next_header() const { return static_cast<Ip6NextHeader>(data_[0]); }
  ByteSpan bytes() const { return data_; }
  uint32_t pointer() const { return pointer_; }

  bool is_options() const {
    return type_ == Ip6NextHeader::kHopByHop || type_ == Ip6NextHeader::kDestinationOptions;
  }
  Ip6OptionsHeaderView as_options() const {
    assert(is_options());
    return Ip6OptionsHeaderView(data_, pointer_);
  }
  Ip6RoutingView as_routing() const {
    assert(type_ == Ip6NextHeader::kRouting);
    return Ip6RoutingView(data_, pointer_);
  }
  Ip6FragmentView as_fragment() const {
    assert(type_ == Ip6NextHeader::kFragment);
    return Ip6FragmentView(data_, pointer_);
  }

 private:
  friend class Ip6ExtChain;
  Ip6ExtHeader(Ip6NextHeader type, ByteSpan data, uint32_t pointer)
      : type_(type), data_(data), pointer_(pointer) {}
  Ip6NextHeader type_;
  ByteSpan data_;
  uint32_t pointer_;
};

// Where a walk starts. The defaults walk an IPv6 payload from right after the fixed header.
struct Ip6ExtWalkStart {
  // Offset of the walked bytes from the first byte of the IPv6 header.
  uint32_t offset = kIp6HeaderSize;
  // Offset of the Next Header field that names the first header (6: the fixed header's).
  uint32_t next_header_pointer = 6;
  // RFC 8200 §4.1: Hop-by-Hop may only come first, right after the fixed header.
  bool hop_by_hop_allowed = true;
};

// The extension header chain of one packet (RFC 8200 §4.1). The walk follows Hop-by-Hop,
// Routing and Destination Options headers, and stops at the first other Next Header value
// (an upper-layer protocol, No Next Header, ESP, AH or anything unknown: the caller decides)
// or right after a Fragment header, because what follows a Fragment header is fragment data
// that only makes sense after reassembly (or, for an atomic fragment, ParseAfterFragment).
// RFC 8200 §4.1 asks nodes to accept the other headers in any order and any number of times,
// so repetition is not an error.
class Ip6ExtChain {
 public:
  static Result<Ip6ExtChain, Ip6ExtError> Parse(ByteSpan data, Ip6NextHeader first,
                                                Ip6ExtWalkStart start = {});
  static Result<Ip6ExtChain, Ip6ExtError> Parse(const Ip6View& ip) {
    return Parse(ip.payload(), ip.next_header());
  }

  // The Next Header value the walk stopped at, with the bytes after the chain. After a
  // Fragment header these are the fragment's next header and data.
  Ip6NextHeader upper_protocol() const { return static_cast<Ip6NextHeader>(upper_); }
  ByteSpan upper_payload() const { return data_.subspan(upper_offset_); }
  // Offset of upper_payload() from the IPv6 header.
  uint32_t upper_pointer() const { return base_ + static_cast<uint32_t>(upper_offset_); }
  // Offset of the Next Header field holding upper_protocol(): where a Parameter Problem
  // code 1 for an unrecognized upper protocol points (RFC 8200 §4).
  uint32_t upper_next_header_pointer() const { return upper_nh_pointer_; }
  // The chain's bytes (every walked header).
  ByteSpan headers() const { return data_.first(upper_offset_); }
  size_t header_count() const { return count_; }

  // The first header of each kind, if the chain has one.
  std::optional<Ip6OptionsHeaderView> hop_by_hop() const;
  std::optional<Ip6RoutingView> routing() const;
  std::optional<Ip6FragmentView> fragment() const;
  // The last Destination Options header before the upper layer: the one meant for the
  // final destination (a first one before a Routing header is for each listed hop).
  std::optional<Ip6OptionsHeaderView> destination_options() const;

  // Continues after the Fragment header, for an atomic fragment (RFC 6946 §4): the rest of
  // the packet is walked like a packet without the Fragment header (Hop-by-Hop not allowed).
  Result<Ip6ExtChain, Ip6ExtError> ParseAfterFragment() const;

  class Iterator : public ForwardIteratorBase<Iterator, Ip6ExtHeader> {
   public:
    using ForwardIteratorBase::operator++;
    Iterator() = default;
    Ip6ExtHeader operator*() const;
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return offset_ == o.offset_; }

   private:
    friend class Ip6ExtChain;
    // Holds the buffer, not the chain: iterating stays valid as long as the packet does.
    Iterator(ByteSpan data, uint32_t base, size_t offset, uint8_t type)
        : data_(data), base_(base), offset_(offset), type_(type) {}
    ByteSpan data_;
    uint32_t base_ = 0;
    size_t offset_ = 0;
    uint8_t type_ = 0;
  };
  Iterator begin() const { return Iterator(data_, base_, 0, first_); }
  Iterator end() const { return Iterator(data_, base_, upper_offset_, upper_); }

 private:
  static constexpr uint32_t kNone = 0xffffffffu;
  Ip6ExtChain() = default;
  std::optional<Ip6ExtHeader> HeaderAt(uint32_t offset, Ip6NextHeader type) const;

  ByteSpan data_;
  uint32_t base_ = 0;
  size_t upper_offset_ = 0;
  uint32_t upper_nh_pointer_ = 0;
  size_t count_ = 0;
  uint8_t first_ = 0;
  uint8_t upper_ = 0;
  uint32_t hop_by_hop_ = kNone;
  uint32_t routing_ = kNone;
  uint32_t fragment_ = kNone;
  uint32_t destination_options_ = kNone;
};

// Size in bytes of the header at the start of `header` (already known to be in bounds).
size_t Ip6ExtHeaderSize(Ip6NextHeader type, ByteSpan header);

// --- Write side ---

struct Ip6OptionSpec {
  uint8_t type = 0;
  ByteSpan data;  // at most 255 bytes
};

// A Hop-by-Hop or Destination Options header with the given options, padded with Pad1/PadN
// to a multiple of 8 bytes (RFC 8200 §4.2). Alignment requirements of individual options
// (xn+y) are the caller's: put padding options in `options` where needed.
struct Ip6OptionsHeader {
  Ip6NextHeader next_header = Ip6NextHeader::kNoNextHeader;
  std::span<const Ip6OptionSpec> options;

  size_t size() const;
  void Emit(MutableByteSpan out) const;
};

// The Hop-by-Hop header an MLD message travels in (RFC 3810 §5: Router Alert, value 0),
// byte for byte what Linux sends: Router Alert followed by a two-byte PadN.
struct Ip6RouterAlertHopByHop {
  Ip6NextHeader next_header = Ip6NextHeader::kIcmp6;
  uint16_t value = kIp6RouterAlertMld;

  static constexpr size_t size() { return 8; }
  void Emit(MutableByteSpan out) const;
};

struct Ip6FragmentHeader {
  Ip6NextHeader next_header = Ip6NextHeader::kUdp;
  uint32_t fragment_offset = 0;  // bytes; a multiple of 8, below 65536
  bool more_fragments = false;
  uint32_t identification = 0;

  static constexpr size_t size() { return 8; }
  void Emit(MutableByteSpan out) const;
  bool operator==(const Ip6FragmentHeader&) const = default;
};

}  // namespace pytcp
