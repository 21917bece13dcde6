// The virtio-net header as TapLink reads and writes it (stack/link/virtio_net.h): bytes of
// frames and headers, no device needed.
#include "stack/link/virtio_net.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "stack/net/ip4_address.h"
#include "stack/net/ip6_address.h"
#include "stack/wire/checksum.h"

namespace pytcp {
namespace {

constexpr size_t kEth = 14;

// An Ethernet + IPv4 + TCP frame (20-byte IP header, 32-byte TCP header: timestamps)
// carrying `payload` bytes; the TCP checksum field holds `csum`.
std::vector<uint8_t> Tcp4Frame(size_t payload, uint16_t csum) {
  std::vector<uint8_t> f(kEth + 20 + 32 + payload, 0);
  StoreBe16(f.data() + 12, 0x0800);
  f[kEth] = 0x45;
  StoreBe16(f.data() + kEth + 2, static_cast<uint16_t>(20 + 32 + payload));
  f[kEth + 8] = 64;
  f[kEth + 9] = 6;
  const uint8_t src[] = {10, 77, 0, 2}, dst[] = {10, 77, 0, 1};
  std::memcpy(f.data() + kEth + 12, src, 4);
  std::memcpy(f.data() + kEth + 16, dst, 4);
  const size_t tcp = kEth + 20;
  StoreBe16(f.data() + tcp, 40000);
  StoreBe16(f.data() + tcp + 2, 5201);
  f[tcp + 12] = 8 << 4;  // 32 bytes
  f[tcp + 13] = 0x18;    // PSH ACK
  StoreBe16(f.data() + tcp + 16, csum);
  for (size_t i = 0; i < payload; ++i) f[tcp + 32 + i] = static_cast<uint8_t>(i * 7 + 1);
  return f;
}

// The same over IPv6 (no extension headers).
std::vector<uint8_t> Tcp6Frame(size_t payload) {
  std::vector<uint8_t> f(kEth + 40 + 20 + payload, 0);
  StoreBe16(f.data() + 12, 0x86dd);
  f[kEth] = 0x60;
  StoreBe16(f.data() + kEth + 4, static_cast<uint16_t>(20 + payload));
  f[kEth + 6] = 6;
  f[kEth + 7] = 64;
  f[kEth + 8] = 0xfd, f[kEth + 9] = 0x77, f[kEth + 23] = 2;    // fd77::2
  f[kEth + 24] = 0xfd, f[kEth + 25] = 0x77, f[kEth + 39] = 1;  // fd77::1
  const size_t tcp = kEth + 40;
  f[tcp + 12] = 5 << 4;
  f[tcp + 13] = 0x10;
  for (size_t i = 0; i < payload; ++i) f[tcp + 20 + i] = static_cast<uint8_t>(i);
  return f;
}

TEST(VirtioNetTest, HeaderIsTheKernelsTenBytes) {
  VirtioNetHeader h;
  h.flags = kVirtioNetFlagNeedsCsum;
  h.gso_type = kVirtioNetGsoTcpV4;
  h.hdr_len = 0x0102;
  h.gso_size = 0x0304;
  h.csum_start = 0x0506;
  h.csum_offset = 0x0708;
  uint8_t bytes[kVirtioNetHeaderSize];
  std::memcpy(bytes, &h, sizeof(bytes));
  // struct virtio_net_hdr: flags, gso_type, then four u16 in the host's order (x86: LE).
  const uint8_t want[] = {1, 1, 0x02, 0x01, 0x04, 0x03, 0x06, 0x05, 0x08, 0x07};
  EXPECT_EQ(std::memcmp(bytes, want, sizeof(want)), 0);
}

TEST(VirtioNetTest, PlainFrameIsVerifiedAbove) {
  auto f = Tcp4Frame(100, 0x1234);
  const auto before = f;
  RxFrameInfo info;
  info.l4_checksum_valid = true;  // must be reset
  ASSERT_TRUE(ReadRxVirtioNetHeader(VirtioNetHeader{}, f, &info));
  EXPECT_FALSE(info.l4_checksum_valid);
  EXPECT_EQ(f, before);
}

TEST(VirtioNetTest, DataValidSkipsVerification) {
  auto f = Tcp4Frame(100, 0x1234);
  VirtioNetHeader h;
  h.flags = kVirtioNetFlagDataValid;
  RxFrameInfo info;
  ASSERT_TRUE(ReadRxVirtioNetHeader(h, f, &info));
  EXPECT_TRUE(info.l4_checksum_valid);
}

TEST(VirtioNetTest, PartialTcpChecksumIsLeftAndReportedValid) {
  // A local sender's GRO'd super-frame: 60000 bytes of payload, the checksum field holding
  // only the pseudo-header sum, NEEDS_CSUM from the TCP header (csum_offset 16).
  auto f = Tcp4Frame(60000, 0xabcd);
  const auto before = f;
  VirtioNetHeader h;
  h.flags = kVirtioNetFlagNeedsCsum;
  h.gso_type = kVirtioNetGsoTcpV4;
  h.csum_start = kEth + 20;
  h.csum_offset = 16;
  RxFrameInfo info;
  ASSERT_TRUE(ReadRxVirtioNetHeader(h, f, &info));
  EXPECT_TRUE(info.l4_checksum_valid);
  EXPECT_EQ(f, before) << "not a byte summed or written";
}

TEST(VirtioNetTest, OtherPartialChecksumIsCompleted) {
  // A partial checksum somewhere other than TCP's or UDP's field (an ICMP-like layout,
  // csum_offset 2) is completed here: afterwards the sum over the covered bytes verifies.
  std::vector<uint8_t> f(kEth + 20 + 64, 0);
  for (size_t i = kEth + 20; i < f.size(); ++i) f[i] = static_cast<uint8_t>(i * 13);
  const size_t start = kEth + 20;
  StoreBe16(f.data() + start + 2, 0x0f0f);  // what a sender would leave: a partial sum
  VirtioNetHeader h;
  h.flags = kVirtioNetFlagNeedsCsum;
  h.csum_start = static_cast<uint16_t>(start);
  h.csum_offset = 2;
  RxFrameInfo info;
  ASSERT_TRUE(ReadRxVirtioNetHeader(h, f, &info));
  EXPECT_FALSE(info.l4_checksum_valid);
  EXPECT_EQ(InternetChecksum(std::span(f).subspan(start), 0x0f0f), 0)
      << "field = ~(sum of the bytes with the partial sum in the field)";
  EXPECT_NE(LoadBe16(f, start + 2), 0x0f0f);
}

TEST(VirtioNetTest, ChecksumFieldOutsideTheFrameIsMalformed) {
  auto f = Tcp4Frame(0, 0);
  VirtioNetHeader h;
  h.flags = kVirtioNetFlagNeedsCsum;
  h.csum_start = static_cast<uint16_t>(f.size() - 10);
  h.csum_offset = 16;
  RxFrameInfo info;
  EXPECT_FALSE(ReadRxVirtioNetHeader(h, f, &info));
  h.csum_start = static_cast<uint16_t>(f.size() - 2);
  h.csum_offset = 0;
  EXPECT_TRUE(ReadRxVirtioNetHeader(h, f, &info)) << "the last two bytes are still inside";
}

TEST(VirtioNetTest, DescribesAnIpv4TsoFrame) {
  auto f = Tcp4Frame(20000, 0);
  VirtioNetHeader h;
  uint8_t copy[kMaxTsoHeaderSize];
  ASSERT_EQ(DescribeTso(f, 1500, &h, copy), kEth + 20 + 32);
  EXPECT_EQ(h.flags, kVirtioNetFlagNeedsCsum);
  EXPECT_EQ(h.gso_type, kVirtioNetGsoTcpV4);
  EXPECT_EQ(h.hdr_len, kEth + 20 + 32);
  EXPECT_EQ(h.gso_size, 1500 - 20 - 32);  // 1448: the kernel's own MSS with timestamps
  EXPECT_EQ(h.csum_start, kEth + 20);
  EXPECT_EQ(h.csum_offset, 16);
  // The copy equals the headers except the checksum field, which holds the folded
  // (uncomplemented) pseudo-header sum of the whole datagram's TCP length.
  const uint32_t pseudo = PseudoHeaderSum4(Ip4Address(10, 77, 0, 2), Ip4Address(10, 77, 0, 1), 6,
                                           32 + 20000);
  EXPECT_EQ(LoadBe16(copy, kEth + 20 + 16), static_cast<uint16_t>(~ChecksumFold(pseudo)));
  EXPECT_EQ(std::memcmp(copy, f.data(), kEth + 20 + 16), 0);
  EXPECT_EQ(std::memcmp(copy + kEth + 20 + 18, f.data() + kEth + 20 + 18, 14), 0);
  // A device completing it: fold(sum of TCP header + payload with that field) verifies
  // against the pseudo-header once the field is replaced by the complement.
  std::vector<uint8_t> seg(f.begin() + kEth + 20, f.end());
  std::memcpy(seg.data(), copy + kEth + 20, 32);
  const uint16_t final_sum = InternetChecksum(seg);
  StoreBe16(seg.data() + 16, final_sum);
  EXPECT_EQ(InternetChecksum(seg, pseudo), 0);
}

TEST(VirtioNetTest, DescribesATsoFrameFromItsHeadersAlone) {
  // Link::SendGather: the headers in one piece, the payload elsewhere.
  auto f = Tcp4Frame(20000, 0);
  VirtioNetHeader whole, part;
  uint8_t copy_whole[kMaxTsoHeaderSize], copy_part[kMaxTsoHeaderSize];
  const size_t hdr = kEth + 20 + 32;
  ASSERT_EQ(DescribeTso(f, 1500, &whole, copy_whole), hdr);
  ASSERT_EQ(DescribeTso(ByteSpan(f.data(), hdr), f.size(), 1500, &part, copy_part), hdr);
  EXPECT_EQ(std::memcmp(&whole, &part, sizeof(whole)), 0);
  EXPECT_EQ(std::memcmp(copy_whole, copy_part, hdr), 0);
  // Headers cut short, or a "frame" that is nothing but headers, are refused.
  EXPECT_EQ(DescribeTso(ByteSpan(f.data(), hdr - 1), f.size(), 1500, &part, copy_part), 0u);
  EXPECT_EQ(DescribeTso(ByteSpan(f.data(), kEth + 10), f.size(), 1500, &part, copy_part), 0u);
  EXPECT_EQ(DescribeTso(ByteSpan(f.data(), hdr), hdr, 1500, &part, copy_part), 0u);
}

TEST(VirtioNetTest, DescribesAnIpv6TsoFrame) {
  auto f = Tcp6Frame(30000);
  VirtioNetHeader h;
  uint8_t copy[kMaxTsoHeaderSize];
  ASSERT_EQ(DescribeTso(f, 1500, &h, copy), kEth + 40 + 20);
  EXPECT_EQ(h.gso_type, kVirtioNetGsoTcpV6);
  EXPECT_EQ(h.gso_size, 1500 - 40 - 20);
  EXPECT_EQ(h.csum_start, kEth + 40);
  EXPECT_EQ(h.csum_offset, 16);
  const uint32_t pseudo =
      PseudoHeaderSum6(Ip6Address::FromBytes(f.data() + kEth + 8),
                       Ip6Address::FromBytes(f.data() + kEth + 24), 6, 20 + 30000);
  EXPECT_EQ(LoadBe16(copy, kEth + 40 + 16), static_cast<uint16_t>(~ChecksumFold(pseudo)));
}

TEST(VirtioNetTest, OnlyTcpIsSegmented) {
  VirtioNetHeader h;
  uint8_t copy[kMaxTsoHeaderSize];
  auto udp = Tcp4Frame(3000, 0);
  udp[kEth + 9] = 17;
  EXPECT_EQ(DescribeTso(udp, 1500, &h, copy), 0u);
  auto v6 = Tcp6Frame(3000);
  v6[kEth + 6] = 0;  // a Hop-by-Hop header in front of TCP
  EXPECT_EQ(DescribeTso(v6, 1500, &h, copy), 0u);
  auto arp = Tcp4Frame(3000, 0);
  StoreBe16(arp.data() + 12, 0x0806);
  EXPECT_EQ(DescribeTso(arp, 1500, &h, copy), 0u);
}

}  // namespace
}  // namespace pytcp
