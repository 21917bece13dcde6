// A stack that only answers: ARP, ICMP echo, and ICMP errors for closed ports. The
// original's examples/run_stack.py. Runs until SIGINT/SIGTERM; prints its addresses.
#include <unistd.h>

#include "stack/examples/example_common.h"

int main() {
  using namespace pytcp;
  examples::InstallStopHandlers();
  auto stack = examples::StartStackFromEnvironment("pytcp-stack");
  if (!stack) return 1;
  fmt::print("pytcp-stack: running on {} ({})\n", stack->config().interface, stack->mac());
  bool shown = false;
  while (!examples::g_stop) {
    usleep(100 * 1000);
    std::lock_guard lock(stack->mutex());
    for (const auto& e : stack->ip4_addresses().entries()) {
      if (!shown && e.usable()) {
        fmt::print("pytcp-stack: address {} ({})\n", e.ifaddr, ToString(e.state));
        shown = true;
      }
    }
  }
  stack->Stop();
  return 0;
}
