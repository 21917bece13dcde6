// A stack that only answers: ARP, ICMP echo, and ICMP errors for closed ports. The
// original's examples/run_stack.py. Runs until SIGINT/SIGTERM and reports each change of
// its addresses' states on stdout ("address 10.77.0.2/24 preferred").
#include <unistd.h>

#include <map>
#include <string>

#include "stack/examples/example_common.h"

int main() {
  using namespace pytcp;
  examples::InstallStopHandlers();
  auto stack = examples::StartStackFromEnvironment("pytcp-stack");
  if (!stack) return 1;
  fmt::print("pytcp-stack: running on {} ({})\n", stack->config().interface, stack->mac());
  std::fflush(stdout);
  std::map<std::string, Ip4AddressState> seen;
  while (!examples::g_stop) {
    {
      std::lock_guard lock(stack->mutex());
      for (const auto& e : stack->ip4_addresses().entries()) {
        const std::string key = e.ifaddr.ToString();
        auto it = seen.find(key);
        if (it == seen.end() || it->second != e.state) {
          seen[key] = e.state;
          fmt::print("pytcp-stack: address {} {}\n", key, ToString(e.state));
          std::fflush(stdout);
        }
      }
    }
    usleep(20 * 1000);
  }
  stack->Stop();
  return 0;
}
