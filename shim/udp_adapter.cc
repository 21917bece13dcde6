// The UDP adapter: StackSocket over stack/socket/udp_socket.h (gathering and scattering
// in datagram_adapter.h).
#include "shim/datagram_adapter.h"
#include "stack/stack.h"

namespace pytcp::shim {
namespace {

// The largest UDP payload over IPv4 (65535 - 20 - 8); nothing longer can arrive.
constexpr size_t kMaxDatagram = 65507;

class UdpStackSocket final : public DatagramStackSocket<UdpSocket> {
 public:
  explicit UdpStackSocket(std::shared_ptr<UdpSocket> s)
      : DatagramStackSocket(std::move(s), kMaxDatagram) {}

  SysResult<bool> Shutdown(int how) override { return s_->Shutdown(how); }
  size_t ReadableBytes() override { return s_->NextDatagramSize(); }
};

}  // namespace

std::unique_ptr<StackSocket> MakeUdpStackSocket(Stack& stack) {
  return std::make_unique<UdpStackSocket>(stack.CreateUdpSocket());
}

}  // namespace pytcp::shim
