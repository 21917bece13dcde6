// The connection's byte ring: wrapping, the out-of-order area past size(), and rewinding an
// emptied ring to the start of its storage.
#include "stack/tcp/tcp_ring_buffer.h"

#include <gtest/gtest.h>

#include <string>

namespace pytcp {
namespace {

ByteSpan Span(const std::string& s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string Read(TcpRingBuffer& ring, size_t n) {
  std::string out(n, '\0');
  out.resize(ring.Peek(0, MutableByteSpan(reinterpret_cast<uint8_t*>(out.data()), n)));
  ring.Consume(out.size());
  return out;
}

TEST(TcpRingBufferTest, WrapsAndKeepsOutOfOrderBytesPastSize) {
  TcpRingBuffer ring(8);
  EXPECT_EQ(ring.Write(Span("abcdef")), 6u);
  EXPECT_EQ(Read(ring, 4), "abcd");
  EXPECT_EQ(ring.Write(Span("ghij")), 4u);  // wraps
  auto [first, second] = ring.Slice(0, 6);
  EXPECT_EQ(first.size() + second.size(), 6u);
  EXPECT_FALSE(second.empty());
  ring.WriteAt(ring.size() + 1, Span("l"));  // out of order: not readable yet
  EXPECT_EQ(ring.size(), 6u);
  ring.WriteAt(ring.size(), Span("k"));
  ring.Commit(2);
  EXPECT_EQ(Read(ring, 8), "efghijkl");
}

TEST(TcpRingBufferTest, AnEmptiedRingRewindsToTheStartOfItsStorage) {
  TcpRingBuffer ring(8);
  ring.Write(Span("abcde"));
  const uint8_t* start = ring.Slice(0, 1).first.data();
  EXPECT_EQ(Read(ring, 5), "abcde");
  ring.Rewind();
  ring.Write(Span("xyz"));
  auto [first, second] = ring.Slice(0, 3);
  EXPECT_EQ(first.data(), start) << "the next bytes go where the first ones went";
  EXPECT_EQ(first.size(), 3u);
  EXPECT_TRUE(second.empty());
  EXPECT_EQ(Read(ring, 3), "xyz");
}

}  // namespace
}  // namespace pytcp
