// The Internet checksum (RFC 1071) over the sizes the data path sees: a 20-byte header,
// a 1460-byte segment, a 64 KB TSO/GRO super-frame; aligned and odd lengths and an odd
// start address. The reference is RFC 1071 §4.1's 16-bit loop, so the speed-up of the
// 64-bit word sum in stack/wire/checksum.cc is visible in the same run.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "stack/wire/checksum.h"

namespace pytcp {
namespace {

// RFC 1071 §4.1, "C" implementation: 16 bits at a time into a 32-bit accumulator.
uint16_t ReferenceChecksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  while (n > 1) {
    sum += static_cast<uint32_t>(p[0] << 8 | p[1]);
    p += 2;
    n -= 2;
  }
  if (n > 0) sum += static_cast<uint32_t>(p[0] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> Buffer(size_t n) {
  std::vector<uint8_t> v(n + 64);
  uint32_t x = 12345;
  for (auto& b : v) {
    x = x * 1103515245 + 12345;
    b = static_cast<uint8_t>(x >> 16);
  }
  return v;
}

// range(0) = length, range(1) = offset of the first byte from a 64-byte aligned start.
void BM_Checksum(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const size_t offset = static_cast<size_t>(state.range(1));
  auto buf = Buffer(n);
  const uint8_t* p = buf.data() + offset;
  for (auto _ : state) {
    benchmark::DoNotOptimize(InternetChecksum(std::span<const uint8_t>(p, n)));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void BM_ChecksumReference(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const size_t offset = static_cast<size_t>(state.range(1));
  auto buf = Buffer(n);
  const uint8_t* p = buf.data() + offset;
  if (ReferenceChecksum(p, n) != InternetChecksum(std::span<const uint8_t>(p, n))) {
    state.SkipWithError("reference and stack checksums differ");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(ReferenceChecksum(p, n));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

void Sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {20, 40, 1460, 1461, 1500, 9000, 65535, 65536}) {
    b->Args({n, 0});
  }
  b->Args({1460, 1});  // odd start address
  b->Args({65536, 1});
}

BENCHMARK(BM_Checksum)->Apply(Sizes);
BENCHMARK(BM_ChecksumReference)->Args({20, 0})->Args({1460, 0})->Args({65536, 0});

}  // namespace
}  // namespace pytcp

BENCHMARK_MAIN();
