// Test aid: the StackConfig that tests and benches over a MemoryLink start from — a static
// IPv4 address, IPv6 off, no IPv4 conflict detection (a memory link has no one to conflict
// with, and probing would only delay the first packet), a fixed seed for the stack's random
// choices (0: random). Callers change what their case needs.
#pragma once

#include <cstdint>
#include <string_view>

#include "stack/net/mac_address.h"
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

}  // namespace pytcp::testing
