// TCP sequence numbers: arithmetic modulo 2^32 (RFC 9293 §3.4). Comparisons are only
// meaningful between numbers less than 2^31 apart, which TCP's windows guarantee.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>

namespace pytcp {

class SeqNum {
 public:
  constexpr SeqNum() = default;
  constexpr explicit SeqNum(uint32_t v) : v_(v) {}
  constexpr uint32_t value() const { return v_; }

  constexpr SeqNum operator+(uint32_t n) const { return SeqNum(v_ + n); }
  constexpr SeqNum operator-(uint32_t n) const { return SeqNum(v_ - n); }
  constexpr SeqNum& operator+=(uint32_t n) {
    v_ += n;
    return *this;
  }
  constexpr SeqNum& operator-=(uint32_t n) {
    v_ -= n;
    return *this;
  }
  // Signed distance from o to this: positive when this is after o.
  constexpr int32_t operator-(SeqNum o) const { return static_cast<int32_t>(v_ - o.v_); }

  constexpr bool operator==(const SeqNum&) const = default;
  constexpr bool operator<(SeqNum o) const { return (*this - o) < 0; }
  constexpr bool operator<=(SeqNum o) const { return (*this - o) <= 0; }
  constexpr bool operator>(SeqNum o) const { return (*this - o) > 0; }
  constexpr bool operator>=(SeqNum o) const { return (*this - o) >= 0; }

  // lo <= this < hi, in sequence space.
  constexpr bool InRange(SeqNum lo, SeqNum hi) const { return *this >= lo && *this < hi; }

  // Decimal, as tcpdump prints absolute sequence numbers.
  std::string ToString() const;

  template <typename H>
  friend H AbslHashValue(H h, SeqNum s) {
    return H::combine(std::move(h), s.v_);
  }

 private:
  uint32_t v_ = 0;
};

constexpr SeqNum SeqMax(SeqNum a, SeqNum b) { return a > b ? a : b; }
constexpr SeqNum SeqMin(SeqNum a, SeqNum b) { return a < b ? a : b; }

std::ostream& operator<<(std::ostream& os, SeqNum s);

}  // namespace pytcp

// Formats as the plain number; integer specs apply ("{:08x}").
template <>
struct fmt::formatter<pytcp::SeqNum> : fmt::formatter<uint32_t> {
  template <typename FormatContext>
  auto format(pytcp::SeqNum s, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<uint32_t>::format(s.value(), ctx);
  }
};
