// UDP echo (RFC 862, port 7), discard (RFC 863, port 9) and daytime (RFC 867, port 13)
// services on the stack, as in the original's examples. One thread per service, each a
// plain blocking socket loop on the C++ socket API.
#include <ctime>
#include <vector>

#include "stack/examples/example_common.h"

namespace {

using namespace pytcp;

void Serve(Stack* stack, uint16_t port) {
  // Dual-stack (AF_INET6, IPV6_V6ONLY off): IPv4 and IPv6 clients alike.
  auto sock = stack->CreateUdpSocket(AF_INET6);
  if (auto r = sock->Bind(SocketAddress{IpAddress(), port}); !r.ok()) {
    fmt::print(stderr, "udp-services: bind {} failed: errno {}\n", port, r.error());
    return;
  }
  const timeval tick{0, 200000};  // wake up to notice a stop request
  (void)sock->SetOption(SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
  std::vector<uint8_t> buf(65536);
  while (!examples::g_stop) {
    SocketAddress from;
    auto n = sock->RecvFrom(buf, &from, 0);
    if (!n.ok()) continue;  // timeout or EINTR
    if (port == 7) {
      (void)sock->SendTo(ByteSpan(buf).first(*n), &from, 0);
    } else if (port == 13) {
      char text[64];
      const time_t now = time(nullptr);
      tm local{};
      localtime_r(&now, &local);
      const size_t len = strftime(text, sizeof(text), "%A, %B %d, %Y %H:%M:%S-%Z\r\n", &local);
      (void)sock->SendTo(ByteSpan(reinterpret_cast<const uint8_t*>(text), len), &from, 0);
    }
    // discard: nothing
  }
  sock->Close();
}

}  // namespace

int main() { return pytcp::examples::RunSmallServices("udp-services", Serve); }
