// Shared start-up for the example programs: configuration from the PYTCP_* variables
// (DESIGN.md), a stack on the TAP device, and a clean stop on SIGINT/SIGTERM.
#pragma once

#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>

#include "stack/stack.h"

namespace pytcp::examples {

inline volatile std::sig_atomic_t g_stop = 0;

inline void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking socket calls return EINTR so loops can stop
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Starts a stack from the environment, or prints why not and returns nullptr.
inline std::unique_ptr<Stack> StartStackFromEnvironment(const char* program) {
  auto config = StackConfig::FromEnvironment();
  if (!config.ok()) {
    fmt::print(stderr, "{}: {}\n", program, std::string(config.status().message()));
    return nullptr;
  }
  auto stack = Stack::Create(*config);
  if (!stack.ok()) {
    fmt::print(stderr, "{}: {}\n", program, std::string(stack.status().message()));
    return nullptr;
  }
  if (auto s = (*stack)->Start(); !s.ok()) {
    fmt::print(stderr, "{}: {}\n", program, std::string(s.message()));
    return nullptr;
  }
  return std::move(*stack);
}

// Waits (up to `limit`) for a usable IPv4 address and prints it to `out`; false if none came.
inline bool ReportAddressWhenReady(Stack* stack, const char* program, Duration limit = 10s,
                                   FILE* out = stdout) {
  const Instant until = RealClock::Instance().Now() + limit;
  while (RealClock::Instance().Now() < until && !g_stop) {
    {
      std::lock_guard lock(stack->mutex());
      for (const auto& e : stack->ip4_addresses().entries()) {
        if (e.usable()) {
          fmt::print(out, "{}: address {} ({})\n", program, e.ifaddr, ToString(e.state));
          std::fflush(out);
          return true;
        }
      }
    }
    struct timespec ts {0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return false;
}

// Sends all of `data` without SIGPIPE; 0, or the errno that stopped it. A signal
// interrupts it only when it asked the program to stop.
inline int SendAll(TcpSocket& sock, ByteSpan data) {
  while (!data.empty()) {
    auto n = sock.Send(data, MSG_NOSIGNAL);
    if (!n.ok()) {
      if (n.error() == EINTR && !g_stop) continue;
      return n.error();
    }
    data = data.subspan(*n);
  }
  return 0;
}

}  // namespace pytcp::examples
