// Test aid: the StackConfig that tests and benches over a MemoryLink start from — a static
// IPv4 address, IPv6 off, no IPv4 conflict detection (a memory link has no one to conflict
// with, and probing would only delay the first packet), a fixed seed for the stack's random
// choices (0: random). Callers change what their case needs.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "stack/link/memory_link.h"
#include "stack/net/mac_address.h"
#include "stack/stack.h"
#include "stack/stack_config.h"

namespace pytcp::testing {

inline StackConfig MemoryStackConfig(std::optional<MacAddress> mac, std::string_view ip4_ifaddr,
                                     uint64_t seed) {
  StackConfig c;
  c.interface = "mem0";
  c.mac = mac;
  c.ip4_mode = Ip4Mode::kStatic;
  c.ip4_addresses = {*Ip4Interface::Parse(ip4_ifaddr)};
  c.ip6_mode = Ip6Mode::kNone;
  c.acd = AcdMode::kOff;
  c.seed = seed;
  return c;
}

// Two stacks joined by a memory link, each with its own event loop thread on real time:
// `a` on 10.77.0.2, `b` on 10.77.0.3 (for socket-level tests that block like programs).
struct RunningStackPair {
  std::unique_ptr<Stack> a, b;

  void Start() {
    auto pair = MemoryLink::CreatePair(MemoryLinkConfig{}, RealClock::Instance());
    a = *Stack::CreateWithLink(MemoryStackConfig(MacAddress::Parse("02:00:00:77:00:02"),
                                                 "10.77.0.2/24", 0),
                               std::move(pair.a), &RealClock::Instance());
    b = *Stack::CreateWithLink(MemoryStackConfig(MacAddress::Parse("02:00:00:77:00:03"),
                                                 "10.77.0.3/24", 0),
                               std::move(pair.b), &RealClock::Instance());
    (void)a->Start();
    (void)b->Start();
  }
  void Stop() {
    if (a) a->Stop();
    if (b) b->Stop();
  }
};

}  // namespace pytcp::testing
