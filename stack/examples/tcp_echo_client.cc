// TCP echo client: connects to HOST:PORT through the stack, sends COUNT messages of SIZE
// bytes one after another and checks that each comes back whole. Usage:
//   tcp-echo-client HOST [PORT] [COUNT] [SIZE]
#include <cstdlib>
#include <vector>

#include "stack/examples/example_common.h"

int main(int argc, char** argv) {
  using namespace pytcp;
  const auto args = examples::ParseEchoClientArgs(argc, argv, "tcp-echo-client");
  if (!args) return 2;
  const int count = args->count;
  const size_t size = args->size;
  examples::InstallStopHandlers();
  auto stack = examples::StartStackFromEnvironment("tcp-echo-client");
  if (!stack) return 1;
  auto sock = stack->CreateTcpSocket();
  const SocketAddress server{IpAddress(args->host), args->port};
  if (auto r = sock->Connect(server); !r.ok()) {
    fmt::print(stderr, "tcp-echo-client: connect to {}: {}\n", server.ToString(),
               strerror(r.error()));
    stack->Stop();
    return 1;
  }
  const timeval timeout{5, 0};
  (void)sock->SetOption(SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  int ok = 0;
  for (int i = 0; i < count && !examples::g_stop; ++i) {
    std::vector<uint8_t> out(size), in(size);
    for (size_t j = 0; j < size; ++j) out[j] = static_cast<uint8_t>('a' + (i + j) % 26);
    const Instant start = RealClock::Instance().Now();
    if (const int err = examples::SendAll(*sock, out); err != 0) {
      fmt::print(stderr, "tcp-echo-client: send: {}\n", strerror(err));
      break;
    }
    auto n = sock->Recv(in, MSG_WAITALL);
    if (!n.ok() || *n != size) {
      fmt::print("tcp-echo-client: #{}: {}\n", i,
                 n.ok() ? fmt::format("{} of {} bytes", *n, size) : strerror(n.error()));
      break;
    }
    const bool same = in == out;
    const double ms = static_cast<double>((RealClock::Instance().Now() - start).count()) / 1e6;
    fmt::print("tcp-echo-client: #{} {} bytes from {} in {:.3f} ms{}\n", i, *n,
               server.ToString(), ms, same ? "" : " (MISMATCH)");
    ok += same ? 1 : 0;
  }
  (void)sock->Shutdown(SHUT_WR);
  sock->Close();
  stack->Stop();
  return ok == count ? 0 : 1;
}
