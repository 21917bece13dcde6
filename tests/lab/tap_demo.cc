// tap_demo: the link layer talking to the Linux kernel through the lab's TAP device, with
// every frame captured to a pcap file. Run by scripts/demo inside the lab's host namespace:
//
//   tap_demo [PCAP_FILE]        (PYTCP_IFACE picks the TAP device, default tap7)
//
// It resolves the peer with ARP, pings the peer and, through it, the far network, and
// answers ARP requests for its own address, all with hand-built frames: the protocol
// engines arrive later.
#include <poll.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "stack/base/clock.h"
#include "stack/link/pcap_link.h"
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

std::string MacText(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

class Demo {
 public:
  explicit Demo(Link& link) : link_(link) {}

  // Sends `frame` (again every 250 ms) until `match` accepts a reply; the time to the
  // matching reply in microseconds, or -1 after 3 s.
  int64_t Exchange(std::span<const uint8_t> frame, const std::function<bool(ByteSpan)>& match) {
    const auto start = SteadyClock::now();
    const auto deadline = start + std::chrono::seconds(3);
    auto sent_at = start, next_send = start;
    bool found = false;
    while (!found && SteadyClock::now() < deadline) {
      if (SteadyClock::now() >= next_send) {
        // The kernel handles a TAP write synchronously: its reply is often queued before
        // write() returns, so the time is taken before the send.
        sent_at = SteadyClock::now();
        if (const LinkStatus s = link_.Send(frame); s != LinkStatus::kOk) {
          std::printf("  send failed: %s\n", std::string(ToString(s)).c_str());
        }
        next_send = sent_at + std::chrono::milliseconds(250);
      }
      pollfd p{link_.wait_fd(), POLLIN, 0};
      ::poll(&p, 1, 50);
      link_.Receive(
          [&](ByteSpan f) {
            ++frames_in_;
            AnswerArp(f);
            if (!found && match(f)) found = true;
          },
          64);
    }
    if (!found) return -1;
    return std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - sent_at)
        .count();
  }

  size_t frames_in() const { return frames_in_; }

 private:
  // Replies to "who-has 10.77.0.99" so the kernel can reach us (RFC 826).
  void AnswerArp(ByteSpan f) {
    if (f.size() < 42 || f[12] != 0x08 || f[13] != 0x06 || f[21] != 1) return;
    if (!std::equal(kOurIp.begin(), kOurIp.end(), f.begin() + 38)) return;
    Mac asker;
    Ip4 asker_ip;
    std::copy_n(f.begin() + 22, 6, asker.begin());
    std::copy_n(f.begin() + 28, 4, asker_ip.begin());
    auto reply = ArpRequest(kOurMac, kOurIp, asker_ip);
    std::copy(asker.begin(), asker.end(), reply.begin());
    reply[21] = 2;
    std::copy(asker.begin(), asker.end(), reply.begin() + 32);
    if (link_.Send(reply) == LinkStatus::kOk) {
      std::printf("  answered ARP from %s: 10.77.0.99 is-at %s\n", MacText(asker).c_str(),
                  MacText(kOurMac).c_str());
    }
  }

  Link& link_;
  size_t frames_in_ = 0;
};

int Main(int argc, char** argv) {
  const char* iface_env = std::getenv("PYTCP_IFACE");
  const std::string iface = iface_env != nullptr ? iface_env : "tap7";
  auto tap = TapLink::Open(iface);
  if (!tap.ok()) {
    std::fprintf(stderr, "tap_demo: %s\n", std::string(tap.status().message()).c_str());
    return 1;
  }
  std::printf("attached to TAP device %s (ifindex %d, mtu %u)\n", iface.c_str(), (*tap)->ifindex(),
              (*tap)->mtu());
  std::unique_ptr<PcapWriter> writer;
  if (argc > 1) {
    auto w = PcapWriter::Open(argv[1], RealClock::Instance());
    if (!w.ok()) {
      std::fprintf(stderr, "tap_demo: %s\n", std::string(w.status().message()).c_str());
      return 1;
    }
    writer = std::move(*w);
    std::printf("capturing every frame to %s\n", argv[1]);
  }
  PcapLink link(std::move(*tap), std::move(writer));
  Demo demo(link);
  int failures = 0;

  std::printf("we are %s / 10.77.0.99\n\n", MacText(kOurMac).c_str());
  std::printf("ARP: who-has 10.77.0.1 tell 10.77.0.99\n");
  Mac peer{};
  const auto arp = ArpRequest(kOurMac, kOurIp, kPeerIp);
  const int64_t arp_us = demo.Exchange(arp, [&](ByteSpan f) {
    auto r = ParseArpReply(f, kOurMac, kOurIp, kPeerIp);
    if (r) peer = r->sender_mac;
    return r.has_value();
  });
  if (arp_us < 0) {
    std::printf("  no reply (is the lab up? scripts/lab status)\n");
    return 1;
  }
  std::printf("  reply: 10.77.0.1 is-at %s (%lld us)\n\n", MacText(peer).c_str(),
              static_cast<long long>(arp_us));

  for (const auto& [name, ip] : {std::pair{"peer 10.77.0.1", kPeerIp},
                                 std::pair{"far 10.78.0.2 (via the peer)", kFarIp}}) {
    std::printf("ICMP echo to %s\n", name);
    for (uint16_t seq = 1; seq <= 3; ++seq) {
      const auto req = IcmpEchoRequest(peer, kOurMac, kOurIp, ip, 0x0de0, seq, 56);
      const int64_t us = demo.Exchange(req, [&](ByteSpan f) {
        return IsIcmpEchoReply(f, ip, kOurIp, 0x0de0, seq, 56);
      });
      if (us < 0) {
        std::printf("  seq %u: no reply\n", seq);
        ++failures;
      } else {
        std::printf("  seq %u: reply, 64 bytes, %lld us\n", seq, static_cast<long long>(us));
      }
    }
    std::printf("\n");
  }
  if (auto w = link.SetWriter(nullptr); w != nullptr && !w->status().ok()) {
    std::fprintf(stderr, "tap_demo: %s\n", std::string(w->status().message()).c_str());
    ++failures;
  }
  std::printf("%zu frames received; %s\n", demo.frames_in(),
              failures == 0 ? "the TAP link works" : "SOME EXCHANGES FAILED");
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace pytcp

int main(int argc, char** argv) { return pytcp::Main(argc, argv); }
