// UDP echo client: sends COUNT datagrams of SIZE bytes to HOST:PORT through the stack and
// checks each reply. Usage: udp-echo-client HOST [PORT] [COUNT] [SIZE]
#include <cstdlib>
#include <vector>

#include "stack/examples/example_common.h"

int main(int argc, char** argv) {
  using namespace pytcp;
  if (argc < 2) {
    fmt::print(stderr, "usage: {} HOST [PORT] [COUNT] [SIZE]\n", argv[0]);
    return 2;
  }
  auto host = Ip4Address::Parse(argv[1]);
  if (!host) {
    fmt::print(stderr, "udp-echo-client: '{}' is not an IPv4 address\n", argv[1]);
    return 2;
  }
  const auto port = static_cast<uint16_t>(argc > 2 ? std::atoi(argv[2]) : 7);
  const int count = argc > 3 ? std::atoi(argv[3]) : 3;
  const size_t size = argc > 4 ? static_cast<size_t>(std::atoi(argv[4])) : 64;
  examples::InstallStopHandlers();
  auto stack = examples::StartStackFromEnvironment("udp-echo-client");
  if (!stack) return 1;
  auto sock = stack->CreateUdpSocket();
  const SocketAddress server{IpAddress(*host), port};
  if (auto r = sock->Connect(&server); !r.ok()) {
    fmt::print(stderr, "udp-echo-client: connect: errno {}\n", r.error());
    return 1;
  }
  const timeval timeout{2, 0};
  (void)sock->SetOption(SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  int ok = 0;
  for (int i = 0; i < count && !examples::g_stop; ++i) {
    std::vector<uint8_t> out(size), in(size + 1);
    for (size_t j = 0; j < size; ++j) out[j] = static_cast<uint8_t>(i + j);
    const Instant start = RealClock::Instance().Now();
    if (auto r = sock->SendTo(out, nullptr, 0); !r.ok()) {
      fmt::print("udp-echo-client: send: errno {}\n", r.error());
      continue;
    }
    auto n = sock->RecvFrom(in, nullptr, 0);
    if (!n.ok()) {
      fmt::print("udp-echo-client: no reply to #{} (errno {})\n", i, n.error());
      continue;
    }
    const bool same = *n == size && std::equal(out.begin(), out.end(), in.begin());
    const double ms =
        static_cast<double>((RealClock::Instance().Now() - start).count()) / 1e6;
    fmt::print("udp-echo-client: #{} {} bytes from {} in {:.3f} ms{}\n", i, *n, server.ToString(),
               ms, same ? "" : " (MISMATCH)");
    ok += same ? 1 : 0;
  }
  stack->Stop();
  return ok == count ? 0 : 1;
}
