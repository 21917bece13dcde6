// libFuzzer target: arbitrary bytes as Ethernet frames into a whole running Stack (manual
// driving, virtual clock), so every parser and every engine behind the receive path sees
// them: Ethernet, ARP (and conflict detection), IPv4 with reassembly, ICMPv4, UDP and the
// DHCPv4 client (the stack runs in DHCP mode, accepting any unicast while it has no
// lease). The IPv6-side parsers, which no engine calls yet, are run on the same frame's
// payload directly. The input is split into frames at 0xff 0xfe markers so that one input
// can carry a conversation (fragments, ARP then IP...). A crash, a sanitizer report or a
// hang is a finding; anything the stack does with the input is fine.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "stack/link/memory_link.h"
#include "stack/stack.h"
#include "stack/wire/ip6.h"
#include "stack/wire/ip6_ext.h"

namespace {
using namespace pytcp;  // NOLINT

struct Harness {
  VirtualClock clock;
  std::unique_ptr<MemoryLink> peer;
  std::unique_ptr<Stack> stack;
  std::shared_ptr<UdpSocket> socket;

  Harness() {
    StackConfig c;
    c.interface = "fuzz0";
    c.mac = MacAddress(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x02});
    c.ip4_mode = Ip4Mode::kDhcp;
    c.ip6_mode = Ip6Mode::kNone;
    c.dhcp4_cache.clear();
    c.log = "error";
    c.seed = 1;
    auto pair = MemoryLink::CreatePair(MemoryLinkConfig{}, clock);
    peer = std::move(pair.b);
    stack = std::move(*Stack::CreateWithLink(c, std::move(pair.a), &clock));
    (void)stack->StartManual();
    stack->AddIp4Address(*Ip4Interface::Parse("10.77.0.2/24"));
    socket = stack->CreateUdpSocket();
    (void)socket->Bind(SocketAddress{IpAddress(Ip4Address()), 7});
    socket->set_nonblocking(true);
  }
};

void Ip6Parsers(ByteSpan frame) {
  if (frame.size() < 14) return;
  auto ip = Ip6View::Parse(frame.subspan(14));
  if (!ip.ok()) return;
  auto chain = Ip6ExtChain::Parse(*ip);
  if (!chain.ok()) return;
  size_t headers = 0;
  for (auto header : *chain) {
    (void)header;
    ++headers;
  }
  if (headers != chain->header_count()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* h = new Harness();
  std::span<const uint8_t> in(data, size);
  while (!in.empty()) {
    size_t end = 0;
    while (end + 1 < in.size() && !(in[end] == 0xff && in[end + 1] == 0xfe)) ++end;
    if (end + 1 >= in.size()) end = in.size();
    ByteSpan frame = in.first(end);
    if (frame.size() >= 14 && frame.size() <= 1518) {
      (void)h->peer->Send(frame);
      Ip6Parsers(frame);
    }
    in = in.subspan(std::min(in.size(), end + 2));
  }
  h->stack->ProcessLink();
  h->clock.Advance(std::chrono::milliseconds(250));
  h->stack->RunTimers();
  // Drain what the stack sent and what the echo socket received, so nothing grows.
  while (h->peer->Receive([](ByteSpan) {}, 64).frames > 0) {
  }
  uint8_t buf[2048];
  while (h->socket->RecvFrom(buf, nullptr, 0).ok()) {
  }
  return 0;
}
