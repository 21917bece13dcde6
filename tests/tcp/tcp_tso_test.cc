// TCP segmentation offload as it reaches the link: two stacks on a memory link under a
// virtual clock, the sender's end wrapped in a TsoLink (tests/support/tso_link.h) that says
// it has TSO, records the frames the stack sends and cuts super-frames as the device would.
// A bulk transfer in blocks (each written whole, the next one after the last byte arrived,
// so each block is one burst) must leave, with TSO, in frames whose TCP payload exceeds the
// MSS, stays within tso_max_size (IPv4: the datagram; IPv6: the payload), is a whole number
// of MSS except at the end of a block, and carries only the pseudo-header sum in the TCP
// checksum field (the device completes it). Without TSO, or with an interface MTU below the
// device's (TcpEngine::TsoMaxSize), every frame fits the MTU with a complete checksum. The
// receiver gets every byte in order either way.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/base/random.h"
#include "stack/link/memory_link.h"
#include "stack/stack.h"
#include "stack/wire/checksum.h"
#include "tests/support/simulator.h"
#include "tests/support/tso_link.h"

namespace pytcp::testing {
namespace {

using std::chrono_literals::operator""s;

constexpr MacAddress kMacA(MacAddress::Bytes{0x02, 0, 0, 0x79, 0, 0x01});
constexpr MacAddress kMacB(MacAddress::Bytes{0x02, 0, 0, 0x79, 0, 0x02});
constexpr Ip4Address kIpA(10, 79, 0, 1);
constexpr Ip4Address kIpB(10, 79, 0, 2);
const Ip6Address kIp6A = *Ip6Address::Parse("fd79::1");
const Ip6Address kIp6B = *Ip6Address::Parse("fd79::2");
constexpr uint16_t kPort = 5001;
constexpr uint32_t kLinkMtu = 1500;
constexpr size_t kEth = 14;

// The burst sizes: none a multiple of the MSS, one below a single segment.
const std::vector<size_t> kBlocks = {200003, 196608, 100000, 7, 150001};

// One TCP frame as the stack handed it to the link.
struct TcpFrame {
  size_t ip_header = 0;
  size_t tcp_header = 0;
  uint32_t ip_length = 0;  // IPv4 total length; IPv6 payload length
  size_t payload = 0;
  uint32_t seq = 0;
  bool syn = false;
  bool ip_checksum_ok = true;
  bool checksum_complete = false;     // the field makes the segment sum to 0
  bool checksum_pseudo_only = false;  // the field is the folded pseudo-header sum alone
};

// nullopt for frames that are not TCP (ARP, ND).
std::optional<TcpFrame> ParseTcp(const std::vector<uint8_t>& frame) {
  const ByteSpan f(frame);
  if (f.size() < kEth + 40) return std::nullopt;
  TcpFrame t;
  uint32_t pseudo = 0;
  size_t ip_end = 0;
  const uint16_t ethertype = LoadBe16(f, 12);
  if (ethertype == 0x0800) {
    if (f[kEth + 9] != 6) return std::nullopt;
    t.ip_header = static_cast<size_t>(f[kEth] & 0x0f) * 4;
    t.ip_length = LoadBe16(f, kEth + 2);
    ip_end = kEth + t.ip_length;
    t.ip_checksum_ok = InternetChecksum(f.subspan(kEth, t.ip_header)) == 0;
    pseudo = PseudoHeaderSum4(Ip4Address::FromBytes(f.data() + kEth + 12),
                              Ip4Address::FromBytes(f.data() + kEth + 16), 6,
                              static_cast<uint32_t>(t.ip_length - t.ip_header));
  } else if (ethertype == 0x86dd) {
    if (f[kEth + 6] != 6) return std::nullopt;
    t.ip_header = 40;
    t.ip_length = LoadBe16(f, kEth + 4);
    ip_end = kEth + 40 + t.ip_length;
    pseudo = PseudoHeaderSum6(Ip6Address::FromBytes(f.data() + kEth + 8),
                              Ip6Address::FromBytes(f.data() + kEth + 24), 6, t.ip_length);
  } else {
    return std::nullopt;
  }
  EXPECT_LE(ip_end, f.size());
  if (ip_end > f.size()) return std::nullopt;
  const ByteSpan segment = f.subspan(kEth + t.ip_header, ip_end - kEth - t.ip_header);
  t.tcp_header = static_cast<size_t>(segment[12] >> 4) * 4;
  t.payload = segment.size() - t.tcp_header;
  t.seq = LoadBe32(segment, 4);
  t.syn = (segment[13] & 0x02) != 0;
  t.checksum_complete = InternetChecksum(segment, pseudo) == 0;
  t.checksum_pseudo_only =
      LoadBe16(segment, 16) == static_cast<uint16_t>(~ChecksumFold(pseudo));
  return t;
}

struct TsoCase {
  std::string name;
  bool v6 = false;
  uint32_t tso_max_size = 0;  // what the sender's link offers
  uint32_t stack_mtu = kLinkMtu;  // PYTCP_MTU of both stacks
  bool expect_tso = false;
};

class TcpTsoTest : public ::testing::TestWithParam<TsoCase> {
 protected:
  void SetUp() override {
    const TsoCase& c = GetParam();
    MemoryLinkConfig lc;
    lc.mtu = kLinkMtu;
    auto pair = MemoryLink::CreatePair(lc, clock_);
    auto wrapped = std::make_unique<TsoLink>(std::move(pair.a), c.tso_max_size);
    link_ = wrapped.get();
    a_ = Make(std::move(wrapped), kMacA, "10.79.0.1/24", "fd79::1/64", 3);
    b_ = Make(std::move(pair.b), kMacB, "10.79.0.2/24", "fd79::2/64", 5);
    if (c.v6) {
      sim_.RunFor(5s);  // DAD
    } else {
      std::lock_guard la(a_->mutex());
      a_->arp().cache().AddPermanent(kIpB, kMacB);
      std::lock_guard lb(b_->mutex());
      b_->arp().cache().AddPermanent(kIpA, kMacA);
    }
  }

  std::unique_ptr<Stack> Make(std::unique_ptr<Link> link, MacAddress mac, const char* ip4,
                              const char* ip6, uint64_t seed) {
    StackConfig c;
    c.interface = "mem0";
    c.mac = mac;
    c.mtu = GetParam().stack_mtu;
    if (GetParam().v6) {
      c.ip4_mode = Ip4Mode::kNone;
      c.ip6_mode = Ip6Mode::kStatic;
      c.ip6_addresses = {*Ip6Interface::Parse(ip6)};
    } else {
      c.ip4_mode = Ip4Mode::kStatic;
      c.ip4_addresses = {*Ip4Interface::Parse(ip4)};
      c.ip6_mode = Ip6Mode::kNone;
    }
    c.acd = AcdMode::kOff;
    c.seed = seed;
    auto s = *Stack::CreateWithLink(c, std::move(link), &clock_);
    EXPECT_TRUE(s->StartManual().ok());
    sim_.Add(s.get());
    return s;
  }

  // Sends kBlocks from A to B, each block in one write and the next only once B has read
  // the last byte of the previous one; returns what B read. `sent` gets what A wrote.
  std::vector<uint8_t> Transfer(std::vector<uint8_t>* sent) {
    const bool v6 = GetParam().v6;
    const int family = v6 ? AF_INET6 : AF_INET;
    const IpAddress server_ip = v6 ? IpAddress(kIp6B) : IpAddress(kIpB);
    auto listener = b_->CreateTcpSocket(family);
    listener->set_nonblocking(true);
    EXPECT_TRUE(listener->Bind(SocketAddress{server_ip, kPort, 0}).ok());
    // The default receive buffer: the window reaches its end, and a window advertised past
    // the buffer's room (rounded up to the scale unit) would have segments trimmed there and
    // resent in pieces, breaking the bursts up (tcp_receive.cc WindowToAdvertise).
    EXPECT_TRUE(listener->Listen(4).ok());
    auto client = a_->CreateTcpSocket(family);
    client->set_nonblocking(true);
    // Room for the largest block in one write.
    const int sndbuf = 1 << 20;
    EXPECT_TRUE(client->SetOption(SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)).ok());
    EXPECT_EQ(client->Connect(SocketAddress{server_ip, kPort, 0}).error(), EINPROGRESS);
    std::shared_ptr<TcpSocket> server;
    EXPECT_TRUE(sim_.RunUntil([&] {
      if (!server) {
        auto s = listener->Accept(nullptr, SOCK_NONBLOCK);
        if (s.ok()) server = *s;
      }
      return server != nullptr;
    }, 5s));
    if (!server) return {};

    Random r(99);
    std::vector<uint8_t> got;
    std::vector<uint8_t> buf(1 << 16);
    for (size_t size : kBlocks) {
      std::vector<uint8_t> block(size);
      for (auto& byte : block) byte = static_cast<uint8_t>(r.Next());
      auto n = client->Send(block, MSG_DONTWAIT | MSG_NOSIGNAL);
      EXPECT_TRUE(n.ok());
      EXPECT_EQ(n.ok() ? *n : 0, size) << "a block must go in one write to be one burst";
      sent->insert(sent->end(), block.begin(), block.end());
      const size_t want = sent->size();
      EXPECT_TRUE(sim_.RunUntil([&] {
        while (true) {
          auto m = server->Recv(buf, MSG_DONTWAIT);
          if (!m.ok() || *m == 0) break;
          got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(*m));
        }
        return got.size() >= want;
      }, 60s)) << "received " << got.size() << " of " << want;
    }
    server->Close();
    client->Close();
    listener->Close();
    return got;
  }

  VirtualClock clock_;
  Simulator sim_{&clock_};
  TsoLink* link_ = nullptr;
  std::unique_ptr<Stack> a_, b_;
};

TEST_P(TcpTsoTest, FramesOnTheLinkAndBytesDelivered) {
  const TsoCase& c = GetParam();
  std::vector<uint8_t> sent;
  const std::vector<uint8_t> got = Transfer(&sent);
  ASSERT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent) << "the receiver's bytes differ from the sender's";

  // Where each block (burst) ends, as a stream offset.
  std::vector<uint64_t> block_ends;
  uint64_t total = 0;
  for (size_t size : kBlocks) block_ends.push_back(total += size);

  std::optional<uint32_t> isn;
  size_t data_frames = 0;
  size_t super_frames = 0;
  size_t largest_payload = 0;
  uint32_t largest_ip_length = 0;
  for (size_t i = 0; i < link_->sent().size(); ++i) {
    const std::optional<TcpFrame> t = ParseTcp(link_->sent()[i]);
    if (!t) continue;
    SCOPED_TRACE("frame " + std::to_string(i) + ": TCP payload " + std::to_string(t->payload));
    EXPECT_TRUE(t->ip_checksum_ok);
    if (t->syn) isn = t->seq;
    // The MSS that the stack's own MTU gives this frame's headers (timestamps included).
    const size_t mss = c.stack_mtu - t->ip_header - t->tcp_header;
    const bool fits = t->ip_header + t->tcp_header + t->payload <= c.stack_mtu;
    if (fits) {
      EXPECT_TRUE(t->checksum_complete);
    } else {
      // A super-frame: the device cuts it and completes every piece's checksum.
      ++super_frames;
      EXPECT_TRUE(c.expect_tso);
      EXPECT_TRUE(t->checksum_pseudo_only);
      EXPECT_FALSE(t->checksum_complete);
      EXPECT_LE(t->ip_length, c.tso_max_size);
      largest_ip_length = std::max(largest_ip_length, t->ip_length);
    }
    if (t->payload == 0) continue;
    ++data_frames;
    largest_payload = std::max(largest_payload, t->payload);
    if (!c.expect_tso) {
      EXPECT_LE(t->payload, mss);
    }
    ASSERT_TRUE(isn.has_value()) << "data before the SYN";
    // Whole segments, except the frame that ends a burst; no frame spans two bursts.
    const uint64_t begin = static_cast<uint32_t>(t->seq - *isn - 1);
    const uint64_t end = begin + t->payload;
    size_t block = 0;
    while (block < block_ends.size() && block_ends[block] <= begin) ++block;
    ASSERT_LT(block, block_ends.size());
    EXPECT_LE(end, block_ends[block]) << "a frame spans two bursts";
    if (end != block_ends[block]) {
      EXPECT_EQ(t->payload % mss, 0u) << "not a whole number of " << mss << "-byte segments";
    }
  }
  EXPECT_GT(data_frames, 0u);
  EXPECT_EQ(a_->CounterSnapshot()["tcp.tx_retrans_segments"], 0u) << "a lossless path";
  if (c.expect_tso) {
    EXPECT_GT(super_frames, 0u);
    EXPECT_EQ(link_->segmented(), super_frames);
    // The link's limit is what bounds them: the largest comes near it.
    EXPECT_GT(largest_ip_length, c.tso_max_size / 2);
  } else {
    EXPECT_EQ(super_frames, 0u);
    EXPECT_EQ(link_->segmented(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Tso, TcpTsoTest,
    ::testing::Values(TsoCase{"v4_tso64k", false, 65535, kLinkMtu, true},
                      TsoCase{"v4_tso20000", false, 20000, kLinkMtu, true},
                      TsoCase{"v4_no_tso", false, 0, kLinkMtu, false},
                      TsoCase{"v4_mtu_below_device", false, 65535, 1400, false},
                      TsoCase{"v6_tso64k", true, 65535, kLinkMtu, true},
                      TsoCase{"v6_tso20000", true, 20000, kLinkMtu, true},
                      TsoCase{"v6_no_tso", true, 0, kLinkMtu, false},
                      TsoCase{"v6_mtu_below_device", true, 65535, 1400, false}),
    [](const ::testing::TestParamInfo<TsoCase>& p) { return p.param.name; });

}  // namespace
}  // namespace pytcp::testing
