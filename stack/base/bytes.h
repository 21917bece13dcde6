// Big-endian loads and stores over byte spans: the only way protocol code reads or
// writes multi-byte wire fields (no packed structs, no reinterpret_cast of headers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace pytcp {

using ByteSpan = std::span<const uint8_t>;
using MutableByteSpan = std::span<uint8_t>;

constexpr uint16_t LoadBe16(const uint8_t* p) {
  return static_cast<uint16_t>((uint16_t{p[0]} << 8) | p[1]);
}
constexpr uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
constexpr uint64_t LoadBe64(const uint8_t* p) {
  return (uint64_t{LoadBe32(p)} << 32) | LoadBe32(p + 4);
}
constexpr void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
constexpr void StoreBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
constexpr void StoreBe64(uint8_t* p, uint64_t v) {
  StoreBe32(p, static_cast<uint32_t>(v >> 32));
  StoreBe32(p + 4, static_cast<uint32_t>(v));
}

// Span-based forms; the caller has already checked the bounds (views do it once at Parse).
constexpr uint16_t LoadBe16(ByteSpan s, size_t off) { return LoadBe16(s.data() + off); }
constexpr uint32_t LoadBe32(ByteSpan s, size_t off) { return LoadBe32(s.data() + off); }

}  // namespace pytcp
