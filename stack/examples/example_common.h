// Shared start-up for the example programs: configuration from the PYTCP_* variables
// (DESIGN.md), a stack on the TAP device, and a clean stop on SIGINT/SIGTERM.
#pragma once

#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

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

// An echo client's command line, HOST [PORT] [COUNT] [SIZE]: port 7 (RFC 862), three
// messages of 64 bytes unless given.
struct EchoClientArgs {
  Ip4Address host;
  uint16_t port = 7;
  int count = 3;
  size_t size = 64;
};

// Reads an echo client's command line, or prints the usage or what is wrong with it and
// returns nullopt.
inline std::optional<EchoClientArgs> ParseEchoClientArgs(int argc, char** argv,
                                                         const char* program) {
  if (argc < 2) {
    fmt::print(stderr, "usage: {} HOST [PORT] [COUNT] [SIZE]\n", argv[0]);
    return std::nullopt;
  }
  EchoClientArgs args;
  const std::optional<Ip4Address> host = Ip4Address::Parse(argv[1]);
  if (!host) {
    fmt::print(stderr, "{}: '{}' is not an IPv4 address\n", program, argv[1]);
    return std::nullopt;
  }
  args.host = *host;
  if (argc > 2) args.port = static_cast<uint16_t>(std::atoi(argv[2]));
  if (argc > 3) args.count = std::atoi(argv[3]);
  if (argc > 4) args.size = static_cast<size_t>(std::atoi(argv[4]));
  return args;
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

// The services examples' main: a stack from the environment, then `serve(stack, port)` on
// a thread of its own for each of echo (7), discard (9) and daytime (13) until a stop
// signal; the exit status.
inline int RunSmallServices(const char* program, void (*serve)(Stack*, uint16_t)) {
  InstallStopHandlers();
  auto stack = StartStackFromEnvironment(program);
  if (!stack) return 1;
  fmt::print("{}: echo 7, discard 9, daytime 13 on {}\n", program, stack->config().interface);
  std::fflush(stdout);
  ReportAddressWhenReady(stack.get(), program);
  std::vector<std::thread> threads;
  for (uint16_t port : {7, 9, 13}) threads.emplace_back(serve, stack.get(), port);
  for (auto& t : threads) t.join();
  stack->Stop();
  return 0;
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
