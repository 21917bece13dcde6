// What ICMPv4 and ICMPv6 messages share (RFC 792, RFC 4443 §2.1): a type, a code and a
// checksum in the first four bytes and four more whose meaning the type gives; for echo
// requests and replies an identifier and a sequence number there (RFC 792 "Echo or Echo
// Reply Message", RFC 4443 §4). icmp4.h and icmp6.h add their family's types, checks and
// what the checksum covers (the message; the message and a pseudo-header).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>

#include "stack/base/bytes.h"
#include "stack/wire/checksum.h"

namespace pytcp {

inline constexpr size_t kIcmpHeaderSize = 8;

// A parsed message of the family whose types are `Type`. The family's Parse has checked the
// first four bytes are there (and the echo fields for echo messages).
template <typename Type>
class IcmpMessageView {
 public:
  Type type() const { return static_cast<Type>(data_[0]); }
  uint8_t code() const { return data_[1]; }
  uint16_t checksum() const { return LoadBe16(data_, 2); }
  // Bytes 4..7, whose meaning depends on the type.
  uint32_t rest_of_header() const {
    assert(data_.size() >= kIcmpHeaderSize);
    return LoadBe32(data_, 4);
  }
  ByteSpan message() const { return data_; }
  bool is_echo() const { return type() == Type::kEchoRequest || type() == Type::kEchoReply; }

  uint16_t echo_id() const {
    assert(is_echo());
    return LoadBe16(data_, 4);
  }
  uint16_t echo_seq() const {
    assert(is_echo());
    return LoadBe16(data_, 6);
  }
  ByteSpan echo_data() const {
    assert(is_echo());
    return data_.subspan(kIcmpHeaderSize);
  }

 protected:
  explicit IcmpMessageView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// The 8-byte header as plain values (an aggregate: `{type, code, rest_of_header}`), for
// `Derived` (Icmp4Header, Icmp6Header), which adds its family's messages and Emit.
template <typename Derived, typename Type>
struct IcmpHeaderFields {
  Type type = Type::kEchoRequest;
  uint8_t code = 0;
  uint32_t rest_of_header = 0;

  static Derived EchoRequest(uint16_t id, uint16_t seq) {
    return Derived{{Type::kEchoRequest, 0, (uint32_t{id} << 16) | seq}};
  }
  static Derived EchoReply(uint16_t id, uint16_t seq) {
    return Derived{{Type::kEchoReply, 0, (uint32_t{id} << 16) | seq}};
  }
  bool operator==(const IcmpHeaderFields&) const = default;

 protected:
  // Writes the header into out[0, 8) with the checksum over `initial_sum` (a pseudo-header's
  // partial sum, or 0), the header and `payload`, which the caller places after the header.
  void EmitWithSum(MutableByteSpan out, ByteSpan payload, uint32_t initial_sum) const {
    assert(out.size() >= kIcmpHeaderSize);
    out[0] = static_cast<uint8_t>(type);
    out[1] = code;
    StoreBe16(out.data() + 2, 0);
    StoreBe32(out.data() + 4, rest_of_header);
    const uint32_t sum = ChecksumSum(out.first(kIcmpHeaderSize), initial_sum);
    StoreBe16(out.data() + 2, ChecksumFold(ChecksumSum(payload, sum)));
  }
};

}  // namespace pytcp
