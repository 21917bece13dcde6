// TCP echo (RFC 862, port 7), discard (RFC 863, port 9) and daytime (RFC 867, port 13)
// services on the stack, as in the original's examples. One listening socket per service
// and one thread per accepted connection, all plain blocking calls on the C++ socket API.
#include <ctime>
#include <thread>
#include <vector>

#include "stack/examples/example_common.h"

namespace {

using namespace pytcp;

void SetTick(TcpSocket& sock) {
  const timeval tick{0, 200000};  // wake up now and then to notice a stop request
  (void)sock.SetOption(SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
}

void ServeConnection(std::shared_ptr<TcpSocket> conn, int kind) {
  if (kind == 13) {
    char text[64];
    const time_t now = time(nullptr);
    tm local{};
    localtime_r(&now, &local);
    const size_t len = strftime(text, sizeof(text), "%A, %B %d, %Y %H:%M:%S-%Z\r\n", &local);
    (void)examples::SendAll(*conn, ByteSpan(reinterpret_cast<const uint8_t*>(text), len));
    conn->Close();
    return;
  }
  SetTick(*conn);
  std::vector<uint8_t> buf(65536);
  while (!examples::g_stop) {
    auto n = conn->Recv(buf, 0);
    if (!n.ok()) {
      if (n.error() == EAGAIN || n.error() == EINTR) continue;  // the tick
      break;                                                      // reset, timeout
    }
    if (*n == 0) break;  // the client's FIN
    if (kind == 7 && examples::SendAll(*conn, ByteSpan(buf).first(*n)) != 0) break;
  }
  conn->Close();
}

void Serve(Stack* stack, uint16_t port) {
  auto listener = stack->CreateTcpSocket();
  if (auto r = listener->Bind(SocketAddress{IpAddress(Ip4Address()), port}); !r.ok()) {
    fmt::print(stderr, "tcp-services: bind {} failed: errno {}\n", port, r.error());
    return;
  }
  if (auto r = listener->Listen(16); !r.ok()) {
    fmt::print(stderr, "tcp-services: listen {} failed: errno {}\n", port, r.error());
    return;
  }
  SetTick(*listener);
  std::vector<std::thread> connections;  // joined before the stack goes away
  while (!examples::g_stop) {
    SocketAddress peer;
    auto conn = listener->Accept(&peer, 0);
    if (!conn.ok()) continue;  // the tick or EINTR
    fmt::print("tcp-services: port {} connection from {}\n", port, peer.ToString());
    std::fflush(stdout);
    connections.emplace_back(ServeConnection, std::move(*conn), port);
  }
  listener->Close();
  for (auto& t : connections) t.join();
}

}  // namespace

int main() { return pytcp::examples::RunSmallServices("tcp-services", Serve); }
