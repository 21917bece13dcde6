// Tests of the Internet checksum (RFC 1071), its incremental update (RFC 1624) and the
// pseudo-header sums, against a deliberately naive reference implementation.
#include "stack/wire/checksum.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "stack/base/bytes.h"

namespace pytcp {
namespace {

// RFC 1071 §1 taken literally: 16-bit big-endian words, an odd byte padded with zero on
// the right, end-around carry, complement.
uint16_t NaiveChecksum(const std::vector<uint8_t>& data, uint32_t initial = 0) {
  uint64_t sum = initial;
  for (size_t i = 0; i < data.size(); i += 2) {
    uint16_t word = static_cast<uint16_t>(data[i] << 8);
    if (i + 1 < data.size()) word = static_cast<uint16_t>(word | data[i + 1]);
    sum += word;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> RandomBytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

TEST(ChecksumTest, Rfc1071Section3Example) {
  // RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
  const std::array<uint8_t, 8> bytes = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(ChecksumFold(ChecksumSum(bytes)), static_cast<uint16_t>(~0xddf2));
  EXPECT_EQ(InternetChecksum(bytes), 0x220d);
}

TEST(ChecksumTest, EmptyAndZeros) {
  EXPECT_EQ(InternetChecksum(ByteSpan{}), 0xffff);
  const std::array<uint8_t, 7> zeros{};
  EXPECT_EQ(InternetChecksum(zeros), 0xffff);
}

TEST(ChecksumTest, OddLengthPadsWithZeroOnTheRight) {
  const std::array<uint8_t, 3> odd = {0x12, 0x34, 0x56};
  // 0x1234 + 0x5600 = 0x6834
  EXPECT_EQ(InternetChecksum(odd), static_cast<uint16_t>(~0x6834));
  const std::array<uint8_t, 1> one = {0xab};
  EXPECT_EQ(InternetChecksum(one), static_cast<uint16_t>(~0xab00));
}

TEST(ChecksumTest, AllLengthsMatchNaiveReference) {
  std::mt19937 rng(1071);
  for (size_t len = 0; len <= 200; ++len) {
    for (int round = 0; round < 8; ++round) {
      auto data = RandomBytes(rng, len);
      const uint32_t initial = round == 0 ? 0 : static_cast<uint32_t>(rng() & 0x3ffffff);
      EXPECT_EQ(InternetChecksum(data, initial), NaiveChecksum(data, initial))
          << "len " << len << " round " << round;
    }
  }
}

TEST(ChecksumTest, AllOnesDataCarriesCorrectly) {
  for (size_t len = 0; len <= 200; ++len) {
    std::vector<uint8_t> data(len, 0xff);
    EXPECT_EQ(InternetChecksum(data), NaiveChecksum(data)) << len;
  }
}

TEST(ChecksumTest, UnalignedStartsMatchNaiveReference) {
  std::mt19937 rng(7);
  auto buffer = RandomBytes(rng, 300);
  for (size_t start = 0; start < 16; ++start) {
    for (size_t len : {0u, 1u, 2u, 7u, 8u, 9u, 31u, 32u, 33u, 63u, 64u, 65u, 255u}) {
      std::vector<uint8_t> ref(buffer.begin() + static_cast<ptrdiff_t>(start),
                               buffer.begin() + static_cast<ptrdiff_t>(start + len));
      EXPECT_EQ(InternetChecksum(ByteSpan(buffer).subspan(start, len)), NaiveChecksum(ref))
          << "start " << start << " len " << len;
    }
  }
}

TEST(ChecksumTest, SplitSumsChainWhenEarlierRunsAreEven) {
  std::mt19937 rng(42);
  auto data = RandomBytes(rng, 151);
  for (size_t split = 0; split <= data.size(); split += 2) {
    const ByteSpan all(data);
    const uint32_t partial = ChecksumSum(all.first(split));
    EXPECT_EQ(ChecksumFold(ChecksumSum(all.subspan(split), partial)), NaiveChecksum(data)) << split;
  }
}

TEST(ChecksumTest, MessageIncludingItsChecksumVerifiesToZero) {
  std::mt19937 rng(3);
  for (size_t len = 4; len <= 100; len += 2) {
    auto data = RandomBytes(rng, len);
    data[2] = data[3] = 0;
    const uint16_t csum = InternetChecksum(data);
    StoreBe16(&data[2], csum);
    EXPECT_EQ(InternetChecksum(data), 0) << len;
  }
}

TEST(ChecksumTest, IncrementalUpdateMatchesRecomputation) {
  // RFC 1624: updating the checksum for a changed 16- or 32-bit field gives the same
  // value as summing the modified message again.
  std::mt19937 rng(1624);
  for (int round = 0; round < 2000; ++round) {
    auto data = RandomBytes(rng, 40);
    data[10] = data[11] = 0;
    const uint16_t before = InternetChecksum(data);
    const size_t at = 2 * (rng() % 20);
    if (at == 10) continue;
    if (round % 2 == 0) {
      const uint16_t old_word = LoadBe16(&data[at]);
      const uint16_t new_word = static_cast<uint16_t>(rng());
      StoreBe16(&data[at], new_word);
      EXPECT_EQ(ChecksumUpdate16(before, old_word, new_word), InternetChecksum(data)) << round;
    } else {
      if (at + 4 > 40 || (at <= 10 && at + 4 > 10)) continue;
      const uint32_t old_value = LoadBe32(&data[at]);
      const uint32_t new_value = static_cast<uint32_t>(rng());
      StoreBe32(&data[at], new_value);
      EXPECT_EQ(ChecksumUpdate32(before, old_value, new_value), InternetChecksum(data)) << round;
    }
  }
}

TEST(ChecksumTest, IncrementalUpdateRfc1624Example) {
  // RFC 1624 §3: HC = 0xdd2f, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000 with eqn. 3
  // (eqn. 2 would give the wrong 0xffff).
  EXPECT_EQ(ChecksumUpdate16(0xdd2f, 0x5555, 0x3285), 0x0000);
}

TEST(ChecksumTest, PseudoHeaderSum4MatchesExplicitPseudoHeader) {
  const Ip4Address src(192, 168, 1, 10);
  const Ip4Address dst(10, 77, 0, 1);
  for (uint32_t len : {0u, 8u, 20u, 1480u, 65515u}) {
    // RFC 9293 §3.1 / RFC 768: src, dst, zero, protocol, length.
    std::vector<uint8_t> ph(12, 0);
    src.CopyTo(&ph[0]);
    dst.CopyTo(&ph[4]);
    ph[9] = 6;
    StoreBe16(&ph[10], static_cast<uint16_t>(len));
    EXPECT_EQ(ChecksumFold(PseudoHeaderSum4(src, dst, 6, len)), NaiveChecksum(ph)) << len;
  }
}

TEST(ChecksumTest, PseudoHeaderSum6MatchesExplicitPseudoHeader) {
  const auto src = Ip6Address::FromGroups({0xfe80, 0, 0, 0, 0x0211, 0x22ff, 0xfe33, 0x4455});
  const auto dst = Ip6Address::FromGroups({0xfd77, 0, 0, 0, 0, 0, 0, 1});
  for (uint32_t len : {0u, 8u, 1460u, 70000u}) {
    // RFC 8200 §8.1: src, dst, 32-bit length, three zero bytes, next header.
    std::vector<uint8_t> ph(40, 0);
    src.CopyTo(&ph[0]);
    dst.CopyTo(&ph[16]);
    StoreBe32(&ph[32], len);
    ph[39] = 58;
    EXPECT_EQ(ChecksumFold(PseudoHeaderSum6(src, dst, 58, len)), NaiveChecksum(ph)) << len;
  }
}

TEST(ChecksumTest, PseudoHeaderSumChainsIntoSegmentSum) {
  std::mt19937 rng(9293);
  auto seg = RandomBytes(rng, 61);
  const Ip4Address src(10, 0, 0, 1), dst(10, 0, 0, 2);
  std::vector<uint8_t> with_ph(12, 0);
  src.CopyTo(&with_ph[0]);
  dst.CopyTo(&with_ph[4]);
  with_ph[9] = 17;
  StoreBe16(&with_ph[10], static_cast<uint16_t>(seg.size()));
  with_ph.insert(with_ph.end(), seg.begin(), seg.end());
  EXPECT_EQ(InternetChecksum(seg, PseudoHeaderSum4(src, dst, 17, static_cast<uint32_t>(seg.size()))),
            NaiveChecksum(with_ph));
}

}  // namespace
}  // namespace pytcp
