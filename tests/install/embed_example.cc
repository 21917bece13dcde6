// Built by install_lab_test.sh against the installed library, with nothing but
// `pkg-config --cflags --libs pytcp`: a Stack on the TAP named by PYTCP_IFACE that waits
// for its DHCP lease and prints the address.
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "stack/stack.h"
#include "stack/stack_config.h"

int main() {
  auto config = pytcp::StackConfig::FromEnvironment();
  if (!config.ok()) {
    std::fprintf(stderr, "config: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  auto stack = pytcp::Stack::Create(*config);
  if (!stack.ok()) {
    std::fprintf(stderr, "create: %s\n", std::string(stack.status().message()).c_str());
    return 1;
  }
  if (auto s = (*stack)->Start(); !s.ok()) {
    std::fprintf(stderr, "start: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  // The address tables belong to the stack's thread: read them under its lock, and stop
  // the stack (which joins that thread) only after letting go of it.
  std::string address;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (address.empty() && std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock((*stack)->mutex());
      for (const auto& e : (*stack)->ip4_addresses().entries()) {
        if (e.usable()) address = e.ifaddr.address().ToString();
      }
    }
    if (address.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  (*stack)->Stop();
  if (address.empty()) {
    std::fprintf(stderr, "no address within 10 s\n");
    return 1;
  }
  std::printf("address %s\n", address.c_str());
  return 0;
}
