// IPv4 address value type (RFC 791, classification per RFC 1122, RFC 1918, RFC 3927,
// RFC 5735/6890).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pytcp {

class Ip4Address {
 public:
  static constexpr size_t kSize = 4;
  using Bytes = std::array<uint8_t, kSize>;

  constexpr Ip4Address() = default;
  // Host-order 32-bit value: Ip4Address(0x0a4d0001) is 10.77.0.1.
  constexpr explicit Ip4Address(uint32_t value) : value_(value) {}
  constexpr Ip4Address(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
      : value_((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d) {}
  // From the first four bytes (network order) of a buffer the caller has bounds-checked.
  static constexpr Ip4Address FromBytes(const uint8_t* p) { return Ip4Address(p[0], p[1], p[2], p[3]); }
  static constexpr Ip4Address Any() { return Ip4Address(); }
  static constexpr Ip4Address Broadcast() { return Ip4Address(0xffffffffu); }

  constexpr uint32_t value() const { return value_; }
  constexpr Bytes bytes() const {
    return Bytes{static_cast<uint8_t>(value_ >> 24), static_cast<uint8_t>(value_ >> 16),
                 static_cast<uint8_t>(value_ >> 8), static_cast<uint8_t>(value_)};
  }
  constexpr void CopyTo(uint8_t* p) const {
    const Bytes b = bytes();
    for (size_t i = 0; i < kSize; ++i) p[i] = b[i];
  }

  constexpr bool is_unspecified() const { return value_ == 0; }
  constexpr bool is_limited_broadcast() const { return value_ == 0xffffffffu; }
  constexpr bool is_multicast() const { return (value_ >> 28) == 0xe; }
  constexpr bool is_loopback() const { return (value_ >> 24) == 127; }

  constexpr auto operator<=>(const Ip4Address&) const = default;

 private:
  uint32_t value_ = 0;
};

}  // namespace pytcp
