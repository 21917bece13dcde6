// MAC (EUI-48) address value type.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace pytcp {

class MacAddress {
 public:
  static constexpr size_t kSize = 6;
  using Bytes = std::array<uint8_t, kSize>;

  constexpr MacAddress() = default;
  constexpr explicit MacAddress(const Bytes& b) : bytes_(b) {}
  // From the first six bytes of a span the caller has bounds-checked.
  static constexpr MacAddress FromBytes(const uint8_t* p) {
    return MacAddress(Bytes{p[0], p[1], p[2], p[3], p[4], p[5]});
  }
  static constexpr MacAddress Broadcast() {
    return MacAddress(Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  }

  constexpr const Bytes& bytes() const { return bytes_; }
  constexpr void CopyTo(uint8_t* p) const {
    for (size_t i = 0; i < kSize; ++i) p[i] = bytes_[i];
  }

  constexpr bool is_unspecified() const { return bytes_ == Bytes{}; }
  constexpr bool is_broadcast() const { return *this == Broadcast(); }
  constexpr bool is_multicast() const { return (bytes_[0] & 0x01) != 0; }
  constexpr bool is_unicast() const { return !is_multicast(); }
  constexpr bool is_locally_administered() const { return (bytes_[0] & 0x02) != 0; }

  constexpr auto operator<=>(const MacAddress&) const = default;

 private:
  Bytes bytes_{};
};

}  // namespace pytcp
