// UDP echo client: sends COUNT datagrams of SIZE bytes to HOST:PORT through the stack and
// checks each reply. Usage: udp-echo-client HOST [PORT] [COUNT] [SIZE]
#include <cstdlib>
#include <vector>

#include "stack/examples/example_common.h"

int main(int argc, char** argv) {
  using namespace pytcp;
  const auto args = examples::ParseEchoClientArgs(argc, argv, "udp-echo-client");
  if (!args) return 2;
  const int count = args->count;
  const size_t size = args->size;
  examples::InstallStopHandlers();
  auto stack = examples::StartStackFromEnvironment("udp-echo-client");
  if (!stack) return 1;
  auto sock = stack->CreateUdpSocket();
  const SocketAddress server{IpAddress(args->host), args->port};
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
