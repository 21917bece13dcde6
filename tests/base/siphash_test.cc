// SipHash-2-4 against the reference implementation's test vectors (the paper's
// appendix A and vectors.h of github.com/veorq/SipHash: key 00..0f, messages 00..(n-1)).
#include "stack/base/siphash.h"

#include <gtest/gtest.h>

#include <vector>

namespace pytcp {
namespace {

constexpr uint64_t kK0 = 0x0706050403020100ULL;  // bytes 00..07, little-endian
constexpr uint64_t kK1 = 0x0f0e0d0c0b0a0908ULL;

uint64_t OfFirstBytes(size_t n) {
  std::vector<uint8_t> m(n);
  for (size_t i = 0; i < n; ++i) m[i] = static_cast<uint8_t>(i);
  return SipHash24(kK0, kK1, m);
}

TEST(SipHash24, ReferenceVectors) {
  EXPECT_EQ(OfFirstBytes(0), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(OfFirstBytes(1), 0x74f839c593dc67fdULL);
  EXPECT_EQ(OfFirstBytes(8), 0x93f5f5799a932462ULL);   // one whole word
  EXPECT_EQ(OfFirstBytes(15), 0xa129ca6149be45e5ULL);  // the paper's example
}

}  // namespace
}  // namespace pytcp
