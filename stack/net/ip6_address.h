// IPv6 address value type (RFC 4291; text form per RFC 5952).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pytcp {

class Ip6Address {
 public:
  static constexpr size_t kSize = 16;
  using Bytes = std::array<uint8_t, kSize>;

  constexpr Ip6Address() = default;
  constexpr explicit Ip6Address(const Bytes& b) : bytes_(b) {}
  // From the first sixteen bytes of a buffer the caller has bounds-checked.
  static constexpr Ip6Address FromBytes(const uint8_t* p) {
    Bytes b{};
    for (size_t i = 0; i < kSize; ++i) b[i] = p[i];
    return Ip6Address(b);
  }
  // From eight 16-bit groups, as written: Ip6Address::FromGroups({0xfe80, 0, ..., 1}).
  static constexpr Ip6Address FromGroups(const std::array<uint16_t, 8>& g) {
    Bytes b{};
    for (size_t i = 0; i < 8; ++i) {
      b[2 * i] = static_cast<uint8_t>(g[i] >> 8);
      b[2 * i + 1] = static_cast<uint8_t>(g[i]);
    }
    return Ip6Address(b);
  }
  static constexpr Ip6Address Any() { return Ip6Address(); }

  constexpr const Bytes& bytes() const { return bytes_; }
  constexpr uint16_t group(size_t i) const {
    return static_cast<uint16_t>((uint16_t{bytes_[2 * i]} << 8) | bytes_[2 * i + 1]);
  }
  constexpr void CopyTo(uint8_t* p) const {
    for (size_t i = 0; i < kSize; ++i) p[i] = bytes_[i];
  }

  constexpr bool is_unspecified() const { return bytes_ == Bytes{}; }
  constexpr bool is_multicast() const { return bytes_[0] == 0xff; }
  constexpr bool is_link_local() const { return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80; }

  constexpr auto operator<=>(const Ip6Address&) const = default;

 private:
  Bytes bytes_{};
};

}  // namespace pytcp
