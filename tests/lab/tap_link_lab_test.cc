// TapLink against the Linux kernel as a real peer, inside the lab's host namespace
// (tests/lab/run_in_lab.sh brings a lab up, runs this binary there and tears it down).
// Frames are built and parsed by hand (tests/lab/lab_frames.h).
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stack/link/tap_link.h"
#include "tests/lab/lab_frames.h"

namespace pytcp {
namespace {

using namespace testing;  // NOLINT: the frame builders
using SteadyClock = std::chrono::steady_clock;

constexpr Mac kOurMac = {0x02, 0x00, 0x00, 0x77, 0x00, 0x99};
constexpr Ip4 kOurIp = {10, 77, 0, 99};
constexpr Ip4 kPeerIp = {10, 77, 0, 1};
constexpr Ip4 kFarIp = {10, 78, 0, 2};
// The host namespace's own interfaces (scripts/lab): the kernel there must stay silent.
constexpr Mac kHostMacs[] = {{0x02, 0x00, 0x00, 0x77, 0x00, 0xfc},
                             {0x02, 0x00, 0x00, 0x77, 0x00, 0xfd},
                             {0x02, 0x00, 0x00, 0x77, 0x00, 0xfe}};

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : fallback;
}

std::string MacText(std::span<const uint8_t> m) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

class TapLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tap_ = Env("LAB_TAP", "tap7");
    if (::if_nametoindex(tap_.c_str()) == 0) {
      GTEST_SKIP() << "no " << tap_ << " here: run through tests/lab/run_in_lab.sh (it needs "
                   << "root and the lab's host namespace)";
    }
    auto link = TapLink::Open(tap_);
    ASSERT_TRUE(link.ok()) << link.status();
    link_ = std::move(*link);
  }

  // Sends `frame` now and every `resend` until `match` accepts a received frame or `timeout`
  // passes. Waits on wait_fd() with poll (no busy loop). Every frame seen is checked against
  // the host namespace's MACs.
  bool Exchange(std::span<const uint8_t> frame, const std::function<bool(ByteSpan)>& match,
                std::chrono::milliseconds timeout = std::chrono::seconds(5),
                std::chrono::milliseconds resend = std::chrono::milliseconds(250)) {
    const auto deadline = SteadyClock::now() + timeout;
    auto next_send = SteadyClock::now();
    bool found = false;
    while (!found) {
      const auto now = SteadyClock::now();
      if (now >= deadline) return false;
      if (now >= next_send) {
        // The bridge port may still be coming up after the open (carrier changes are
        // propagated asynchronously): early frames can be dropped, hence the resends.
        EXPECT_EQ(link_->Send(frame), LinkStatus::kOk);
        next_send = now + resend;
      }
      const auto wait = std::min(deadline, next_send) - SteadyClock::now();
      pollfd p{link_->wait_fd(), POLLIN, 0};
      const int ms = static_cast<int>(
          std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()));
      if (::poll(&p, 1, ms) <= 0) continue;
      const auto r = link_->Receive(
          [&](ByteSpan f) {
            CheckNotFromHostKernel(f);
            if (!found && match(f)) found = true;
          },
          64);
      EXPECT_EQ(r.status, LinkStatus::kOk);
    }
    return true;
  }

  void CheckNotFromHostKernel(ByteSpan f) {
    for (const Mac& m : kHostMacs) {
      EXPECT_FALSE(std::equal(m.begin(), m.end(), f.begin() + 6))
          << "the kernel in the host namespace sent a frame from " << MacText(m)
          << " (it must have no addresses there)";
    }
  }

  // Learns the peer's MAC with ARP.
  Mac ResolvePeer() {
    Mac mac{};
    const auto request = ArpRequest(kOurMac, kOurIp, kPeerIp);
    const bool ok = Exchange(request, [&](ByteSpan f) {
      auto reply = ParseArpReply(f, kOurMac, kOurIp, kPeerIp);
      if (reply) mac = reply->sender_mac;
      return reply.has_value();
    });
    EXPECT_TRUE(ok) << "no ARP reply from 10.77.0.1 within 5 s";
    return mac;
  }

  std::string tap_;
  std::unique_ptr<TapLink> link_;
};

TEST_F(TapLabTest, OpensTheLabTap) {
  EXPECT_EQ(link_->mtu(), 1500u);
  EXPECT_GE(link_->wait_fd(), 0);
  EXPECT_EQ(link_->name(), tap_);
  // Offloads are negotiated unless PYTCP_TAP_OFFLOAD=0: every frame carries a
  // virtio_net_hdr, partial checksums and GRO super-frames come in, TSO goes out.
  if (const char* v = std::getenv("PYTCP_TAP_OFFLOAD"); v == nullptr || std::string(v) != "0") {
    EXPECT_TRUE(link_->features().vnet_header);
    EXPECT_TRUE(link_->features().rx_checksum);
    EXPECT_TRUE(link_->features().rx_gro);
    EXPECT_EQ(link_->features().tso_max_size, 65535u);
  }
}

TEST_F(TapLabTest, OpensWithAndWithoutOffloads) {
  link_.reset();  // one attachment at a time
  TapLinkOptions options;
  options.offloads = false;
  auto plain = TapLink::Open(tap_, options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE((*plain)->features().vnet_header);
  EXPECT_EQ((*plain)->features().tso_max_size, 0u);
  plain->reset();
  options.offloads = true;
  auto offloaded = TapLink::Open(tap_, options);
  ASSERT_TRUE(offloaded.ok()) << offloaded.status();
  EXPECT_TRUE((*offloaded)->features().vnet_header);
  EXPECT_TRUE((*offloaded)->features().rx_gro);
  EXPECT_EQ((*offloaded)->features().tso_max_size, 65535u);
}

// The TCP checksum of the IPv4 frame `f` (14-byte Ethernet header, 20-byte IP header)
// over its pseudo-header: 0 when a received segment's checksum verifies.
uint16_t TcpChecksum(std::span<const uint8_t> f, const Ip4& src, const Ip4& dst) {
  const size_t tcp_length = Get16(f, 16) - 20;
  std::vector<uint8_t> buf(12 + tcp_length);
  std::copy(src.begin(), src.end(), buf.begin());
  std::copy(dst.begin(), dst.end(), buf.begin() + 4);
  buf[9] = 6;
  buf[10] = static_cast<uint8_t>(tcp_length >> 8);
  buf[11] = static_cast<uint8_t>(tcp_length);
  std::copy_n(f.begin() + 34, tcp_length, buf.begin() + 12);
  return InternetChecksum(buf);
}

// The device's offload features as ethtool shows them (the legacy ETHTOOL_G* ioctls).
uint32_t EthtoolValue(const std::string& dev, uint32_t cmd) {
  ethtool_value v{};
  v.cmd = cmd;
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev.c_str());
  ifr.ifr_data = reinterpret_cast<char*>(&v);
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  const int rc = ::ioctl(fd, SIOCETHTOOL, &ifr);
  ::close(fd);
  EXPECT_EQ(rc, 0) << "SIOCETHTOOL on " << dev;
  return v.data;
}

TEST_F(TapLabTest, PlainOpenSwitchesOffOffloadsAnEarlierOwnerLeft) {
  // TUNSETOFFLOAD outlives the descriptor on a persistent device: after an owner with
  // offloads, a plain reader would be handed super-frames and partial checksums.
  link_.reset();
  TapLinkOptions options;
  options.offloads = true;
  auto offloaded = TapLink::Open(tap_, options);
  ASSERT_TRUE(offloaded.ok()) << offloaded.status();
  EXPECT_EQ(EthtoolValue(tap_, ETHTOOL_GTXCSUM), 1u);
  EXPECT_EQ(EthtoolValue(tap_, ETHTOOL_GTSO), 1u);
  offloaded->reset();
  EXPECT_EQ(EthtoolValue(tap_, ETHTOOL_GTSO), 1u) << "the setting is the device's";
  options.offloads = false;
  auto plain = TapLink::Open(tap_, options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(EthtoolValue(tap_, ETHTOOL_GTXCSUM), 0u);
  EXPECT_EQ(EthtoolValue(tap_, ETHTOOL_GTSO), 0u);
  // And what the kernel hands a plain reader is an ordinary frame again: the peer's SYN-ACK
  // (which its TCP leaves CHECKSUM_PARTIAL for the veth to finish) arrives with a TCP
  // checksum that verifies, not with only the pseudo-header sum in the field.
  link_ = std::move(*plain);
  const Mac peer = ResolvePeer();
  auto syn = Ip4Frame(peer, kOurMac, kOurIp, kPeerIp, /*TCP*/ 6, 20);
  constexpr size_t kTcp = 34;
  Put16(syn, kTcp, 40077);
  Put16(syn, kTcp + 2, 80);
  Put16(syn, kTcp + 4, 0x1234);
  syn[kTcp + 12] = 5 << 4;
  syn[kTcp + 13] = 0x02;  // SYN
  Put16(syn, kTcp + 14, 8192);
  Put16(syn, kTcp + 16, TcpChecksum(syn, kOurIp, kPeerIp));
  bool verified = false;
  EXPECT_TRUE(Exchange(syn, [&](ByteSpan f) {
    if (f.size() < kTcp + 20 || f[23] != 6 || Get16(f, kTcp) != 80 || Get16(f, kTcp + 2) != 40077) {
      return false;
    }
    verified = TcpChecksum(f, kPeerIp, kOurIp) == 0;
    return true;
  })) << "no SYN-ACK from the peer's port 80";
  EXPECT_TRUE(verified) << "the SYN-ACK's TCP checksum does not verify";
  // Our port was never opened in a kernel: the RST below spares the peer its retries.
  syn[kTcp + 13] = 0x04;
  Put16(syn, kTcp + 4, 0);
  Put16(syn, kTcp + 6, 0x1235);
  Put16(syn, kTcp + 16, 0);
  Put16(syn, kTcp + 16, TcpChecksum(syn, kOurIp, kPeerIp));
  EXPECT_EQ(link_->Send(syn), LinkStatus::kOk);
}

TEST_F(TapLabTest, ArpRequestGetsThePeersReply) {
  const Mac mac = ResolvePeer();
  EXPECT_EQ(MacText(mac), Env("LAB_PEER_MAC", "02:00:00:77:00:01"));
}

TEST_F(TapLabTest, PingPeerWithFullSizeFrames) {
  const Mac peer = ResolvePeer();
  // 1472 bytes of payload: a 1500-byte IP packet, a 1514-byte frame, in both directions.
  for (uint16_t seq = 1; seq <= 3; ++seq) {
    const auto request = IcmpEchoRequest(peer, kOurMac, kOurIp, kPeerIp, 0x7777, seq, 1472);
    ASSERT_EQ(request.size(), 1514u);
    EXPECT_TRUE(Exchange(request, [&](ByteSpan f) {
      return IsIcmpEchoReply(f, kPeerIp, kOurIp, 0x7777, seq, 1472);
    })) << "no echo reply for seq " << seq;
  }
}

TEST_F(TapLabTest, PingFarThroughThePeer) {
  const Mac peer = ResolvePeer();
  const auto request = IcmpEchoRequest(peer, kOurMac, kOurIp, kFarIp, 0x7778, 1, 56);
  EXPECT_TRUE(Exchange(request, [&](ByteSpan f) {
    return IsIcmpEchoReply(f, kFarIp, kOurIp, 0x7778, 1, 56);
  })) << "no echo reply from 10.78.0.2 via 10.77.0.1";
}

TEST_F(TapLabTest, DhcpDiscoverGetsAnOfferAtOnce) {
  constexpr uint32_t kXid = 0x77001234;
  const auto discover = DhcpDiscover(kOurMac, kXid);
  std::optional<DhcpOffer> offer;
  const auto start = SteadyClock::now();
  ASSERT_TRUE(Exchange(discover, [&](ByteSpan f) {
    offer = ParseDhcpOffer(f, kXid);
    return offer.has_value();
  }));
  // dnsmasq runs with --no-ping: no multi-second probe before the offer.
  EXPECT_LT(SteadyClock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(offer->your_ip[0], 10);
  EXPECT_EQ(offer->your_ip[1], 77);
  EXPECT_EQ(offer->your_ip[2], 0);
  EXPECT_GE(offer->your_ip[3], 100);
  EXPECT_LE(offer->your_ip[3], 199);
  ASSERT_TRUE(offer->router.has_value());
  EXPECT_EQ(*offer->router, kPeerIp);
  ASSERT_TRUE(offer->dns.has_value());
  EXPECT_EQ(*offer->dns, kPeerIp);
  ASSERT_TRUE(offer->server_id.has_value());
  EXPECT_EQ(*offer->server_id, kPeerIp);
}

TEST_F(TapLabTest, RejectsOversizedFrames) {
  std::vector<uint8_t> frame(1500 + 19, 0);
  EXPECT_EQ(link_->Send(frame), LinkStatus::kTooBig);
  EXPECT_EQ(link_->Send(std::span(frame).first(10)), LinkStatus::kTooBig);
}

TEST_F(TapLabTest, DownDeviceReportsDownAndOpenBringsItUp) {
  const std::string down = "ip link set " + tap_ + " down";
  ASSERT_EQ(std::system(down.c_str()), 0);
  const auto frame = ArpRequest(kOurMac, kOurIp, kPeerIp);
  EXPECT_EQ(link_->Send(frame), LinkStatus::kDown);
  // A second attach is refused while this one holds the device...
  auto second = TapLink::Open(tap_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  // ... and once it is released, opening brings the device back up (we are root here).
  link_.reset();
  auto again = TapLink::Open(tap_);
  ASSERT_TRUE(again.ok()) << again.status();
  link_ = std::move(*again);
  const std::string show = "ip link show " + tap_ + " | grep -q '<.*,UP'";
  EXPECT_EQ(std::system(show.c_str()), 0);
  ResolvePeer();
}

// The device's flags as the kernel reports them (SIOCGIFFLAGS), -1 when it cannot.
int DeviceFlags(const std::string& name) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  ifreq q{};
  name.copy(q.ifr_name, IFNAMSIZ - 1);
  const int r = ::ioctl(fd, SIOCGIFFLAGS, &q);
  ::close(fd);
  return r == 0 ? q.ifr_flags : -1;
}

// Attaching gives the device its carrier, but the kernel acts on it later (link-watch);
// until then the bridge drops what we send, and a program started right after another let
// go of the TAP lost its first ARP request and waited a second for the retry. Open returns
// only once the kernel calls the device running, and the first frame sent is answered.
TEST_F(TapLabTest, OpenReturnsOnceTheKernelCallsTheDeviceRunning) {
  for (int round = 0; round < 5; ++round) {
    link_.reset();  // the carrier goes off: wait until the kernel has seen it
    const auto until = SteadyClock::now() + std::chrono::seconds(2);
    while ((DeviceFlags(tap_) & IFF_RUNNING) != 0 && SteadyClock::now() < until) {
      const timespec pause{0, 100 * 1000};
      ::nanosleep(&pause, nullptr);
    }
    ASSERT_EQ(DeviceFlags(tap_) & IFF_RUNNING, 0) << "still running 2 s after the close";
    auto again = TapLink::Open(tap_);
    ASSERT_TRUE(again.ok()) << again.status();
    link_ = std::move(*again);
    EXPECT_NE(DeviceFlags(tap_) & IFF_RUNNING, 0) << "round " << round;
    // One ARP request, no resend: the bridge must forward it.
    const auto request = ArpRequest(kOurMac, kOurIp, kPeerIp);
    EXPECT_TRUE(Exchange(
        request, [&](ByteSpan f) { return ParseArpReply(f, kOurMac, kOurIp, kPeerIp).has_value(); },
        std::chrono::milliseconds(900), std::chrono::seconds(5)))
        << "the first ARP request after the open got no reply (round " << round << ")";
  }
}

TEST_F(TapLabTest, ReceiveOnAnIdleLinkReturnsAtOnce) {
  // Drain whatever is queued (router advertisements, ...), then the next read is EAGAIN.
  while (link_->Receive([](ByteSpan) {}, 64).frames == 64) {
  }
  const auto r = link_->Receive([](ByteSpan) {}, 64);
  EXPECT_EQ(r.status, LinkStatus::kOk);
}

}  // namespace
}  // namespace pytcp
