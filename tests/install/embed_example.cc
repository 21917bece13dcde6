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
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock((*stack)->mutex());
      for (const auto& e : (*stack)->ip4_addresses().entries()) {
        if (e.usable()) {
          std::printf("address %s\n", e.ifaddr.address().ToString().c_str());
          (*stack)->Stop();
          return 0;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::fprintf(stderr, "no address within 10 s\n");
  (*stack)->Stop();
  return 1;
}
