// LD_PRELOAD helper for checking "no heap allocation per packet" in a real process (issue
// 7): counts calls to malloc/calloc/realloc/aligned_alloc/posix_memalign (operator new
// ends in malloc) and prints the totals to stderr at exit. Run a transfer
// of two different lengths under it together with libpytcp.so; allocations that grow
// with the bytes moved are per-packet ones:
//
//   LD_PRELOAD="BUILD/bench/liballoc_count.so BUILD/shim/libpytcp.so" iperf3 -c PEER -R -t 2
//   LD_PRELOAD="BUILD/bench/liballoc_count.so BUILD/shim/libpytcp.so" iperf3 -c PEER -R -t 6
//
// It forwards to glibc's own allocator entry points (__libc_malloc & co.), so it needs no
// dlsym (which itself allocates) and is safe from the first call.
#include <stdio.h>
#include <stdlib.h>

#include <atomic>
#include <cstddef>

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
}

namespace {
std::atomic<unsigned long> g_calls{0};
std::atomic<unsigned long> g_bytes{0};

inline void Count(size_t n) {
  g_calls.fetch_add(1, std::memory_order_relaxed);
  g_bytes.fetch_add(n, std::memory_order_relaxed);
}

struct Report {
  ~Report() {
    fprintf(stderr, "alloc_count: %lu allocations, %lu bytes\n", g_calls.load(), g_bytes.load());
  }
} g_report;
}  // namespace

extern "C" {
void* malloc(size_t n) noexcept {
  Count(n);
  return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) noexcept {
  Count(a * b);
  return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) noexcept {
  Count(n);
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t align, size_t n) noexcept {
  Count(n);
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) noexcept {
  Count(n);
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
}
