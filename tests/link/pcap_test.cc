#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stack/link/memory_link.h"
#include "stack/link/pcap_link.h"
#include "stack/link/pcap_writer.h"
#include "tests/link/arp_frames.h"

namespace pytcp {
namespace {

using testing::ArpRequest;

class PcapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/pytcp-pcap-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/capture.pcap";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    ::rmdir(dir_.c_str());
  }

  std::vector<uint8_t> ReadFile() const {
    std::ifstream in(path_, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }

  // Runs tcpdump on the capture; skips the test when tcpdump is absent (scripts/setup
  // installs it).
  std::string Tcpdump(const std::string& args) {
    if (std::system("command -v tcpdump >/dev/null 2>&1") != 0) return "";
    const std::string cmd = "TZ=UTC tcpdump " + args + " -r " + path_ + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return "";
    std::string out;
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
  }

  std::string dir_;
  std::string path_;
};

uint32_t Le32(const std::vector<uint8_t>& b, size_t off) {
  uint32_t v;
  std::memcpy(&v, b.data() + off, 4);  // the file is in host order
  return v;
}

constexpr testing::Mac kOurMac = {0x02, 0x00, 0x00, 0x77, 0x00, 0x99};
constexpr testing::Ip4 kOurIp = {10, 77, 0, 99};
constexpr testing::Ip4 kPeerIp = {10, 77, 0, 1};

TEST_F(PcapTest, FileFormatIsClassicPcapEthernetMicroseconds) {
  VirtualClock clock;  // starts at 1 s
  PcapOptions options;
  options.wall_clock_timestamps = false;
  auto writer = PcapWriter::Open(path_, clock, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const auto frame = ArpRequest(kOurMac, kOurIp, kPeerIp);
  clock.Advance(std::chrono::microseconds(1500));
  (*writer)->Write(frame);
  EXPECT_EQ((*writer)->frames_written(), 1u);
  writer->reset();

  const auto bytes = ReadFile();
  ASSERT_EQ(bytes.size(), 24u + 16u + frame.size());
  EXPECT_EQ(Le32(bytes, 0), 0xa1b2c3d4u);
  EXPECT_EQ(bytes[4] | bytes[5] << 8, 2);  // version 2.4 (host order, little-endian here)
  EXPECT_EQ(bytes[6] | bytes[7] << 8, 4);
  EXPECT_EQ(Le32(bytes, 16), 262144u);  // snaplen
  EXPECT_EQ(Le32(bytes, 20), 1u);       // LINKTYPE_ETHERNET
  EXPECT_EQ(Le32(bytes, 24), 1u);       // ts_sec: the VirtualClock's 1 s ...
  EXPECT_EQ(Le32(bytes, 28), 1500u);    // ... plus 1500 us
  EXPECT_EQ(Le32(bytes, 32), frame.size());
  EXPECT_EQ(Le32(bytes, 36), frame.size());
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), bytes.begin() + 40));
}

TEST_F(PcapTest, SnaplenTruncatesButKeepsOriginalLength) {
  VirtualClock clock;
  PcapOptions options;
  options.snaplen = 20;
  auto writer = PcapWriter::Open(path_, clock, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  (*writer)->Write(ArpRequest(kOurMac, kOurIp, kPeerIp));
  writer->reset();
  const auto bytes = ReadFile();
  ASSERT_EQ(bytes.size(), 24u + 16u + 20u);
  EXPECT_EQ(Le32(bytes, 32), 20u);
  EXPECT_EQ(Le32(bytes, 36), 60u);
}

TEST_F(PcapTest, OpenFailureNamesThePath) {
  VirtualClock clock;
  auto writer = PcapWriter::Open(dir_ + "/no/such/dir/x.pcap", clock);
  ASSERT_FALSE(writer.ok());
  EXPECT_NE(writer.status().message().find("/no/such/dir/x.pcap"), std::string::npos);
}

TEST_F(PcapTest, PcapLinkRecordsSentAndReceivedFramesThatTcpdumpDecodes) {
  VirtualClock clock;
  auto pair = MemoryLink::CreatePair({}, clock);
  PcapOptions options;
  options.wall_clock_timestamps = false;
  auto writer = PcapWriter::Open(path_, clock, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  PcapLink link(std::move(pair.a), std::move(*writer));

  // We ask; the far end (b) answers with a hand-made reply.
  ASSERT_EQ(link.Send(ArpRequest(kOurMac, kOurIp, kPeerIp)), LinkStatus::kOk);
  clock.Advance(std::chrono::milliseconds(2));
  auto reply = ArpRequest({0x02, 0x00, 0x00, 0x77, 0x00, 0x01}, kPeerIp, kOurIp);
  for (int i = 0; i < 6; ++i) reply[i] = kOurMac[i];     // unicast to us
  reply[21] = 2;                                         // op = reply
  for (int i = 0; i < 6; ++i) reply[32 + i] = kOurMac[i];
  ASSERT_EQ(pair.b->Send(reply), LinkStatus::kOk);
  std::vector<uint8_t> seen;
  EXPECT_EQ(link.Receive([&](ByteSpan f) { seen.assign(f.begin(), f.end()); }, 8).frames, 1u);
  EXPECT_TRUE(std::equal(reply.begin(), reply.end(), seen.begin(), seen.end()));

  // A frame the inner link refused is not recorded.
  const std::vector<uint8_t> runt(10, 0);
  EXPECT_EQ(link.Send(runt), LinkStatus::kTooBig);

  auto old = link.SetWriter(nullptr);  // stop: flushes and hands the writer back
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->frames_written(), 2u);
  EXPECT_TRUE(old->status().ok());
  ASSERT_EQ(link.Send(ArpRequest(kOurMac, kOurIp, kPeerIp)), LinkStatus::kOk);  // not captured
  EXPECT_EQ(old->frames_written(), 2u);
  old.reset();

  const std::string out = Tcpdump("-nn -e -tt");
  if (out.empty()) GTEST_SKIP() << "tcpdump is not installed (run scripts/setup)";
  EXPECT_NE(out.find("1.000000 02:00:00:77:00:99 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Request who-has 10.77.0.1 tell 10.77.0.99"), std::string::npos) << out;
  EXPECT_NE(out.find("1.002000 02:00:00:77:00:01 > 02:00:00:77:00:99"), std::string::npos) << out;
  EXPECT_NE(out.find("Reply 10.77.0.1 is-at 02:00:00:77:00:01"), std::string::npos) << out;
  // Exactly two packets in the file.
  size_t lines = 0;
  for (char c : out) lines += c == '\n' ? 1 : 0;
  EXPECT_EQ(lines, 3u) << out;  // "reading from file ..." + 2 packets
}

TEST_F(PcapTest, WallClockTimestampsAreNearNow) {
  auto writer = PcapWriter::Open(path_, RealClock::Instance());
  ASSERT_TRUE(writer.ok()) << writer.status();
  const auto before = static_cast<uint32_t>(::time(nullptr));
  (*writer)->Write(ArpRequest(kOurMac, kOurIp, kPeerIp));
  writer->reset();
  const auto bytes = ReadFile();
  ASSERT_GE(bytes.size(), 40u);
  EXPECT_GE(Le32(bytes, 24) + 1, before);
  EXPECT_LE(Le32(bytes, 24), before + 2);
}

}  // namespace
}  // namespace pytcp
