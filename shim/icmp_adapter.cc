// The ICMP adapters: StackSocket over stack/socket/icmp_socket.h, for ping sockets
// (SOCK_DGRAM, IPPROTO_ICMP) and raw ICMP sockets (SOCK_RAW, IPPROTO_ICMP), and over
// stack/socket/icmp6_socket.h for their AF_INET6 IPPROTO_ICMPV6 twins. A message is one
// send call and one receive, as for UDP (datagram_adapter.h).
#include "shim/datagram_adapter.h"
#include "stack/stack.h"

namespace pytcp::shim {
namespace {

// The largest IPv4 datagram: nothing longer can arrive (a raw socket reads the header too).
constexpr size_t kMaxMessage = 65535;

class IcmpStackSocket final : public DatagramStackSocket<IcmpSocket> {
 public:
  explicit IcmpStackSocket(std::shared_ptr<IcmpSocket> s)
      : DatagramStackSocket(std::move(s), kMaxMessage) {}

  SysResult<bool> Shutdown(int /*how*/) override { return Err{ENOTCONN}; }
  size_t ReadableBytes() override { return s_->NextMessageSize(); }
};

class Icmp6StackSocket final : public DatagramStackSocket<Icmp6Socket> {
 public:
  explicit Icmp6StackSocket(std::shared_ptr<Icmp6Socket> s)
      : DatagramStackSocket(std::move(s), kMaxMessage) {}

  SysResult<bool> Shutdown(int /*how*/) override { return Err{ENOTCONN}; }
  size_t ReadableBytes() override { return s_->NextMessageSize(); }
};

}  // namespace

std::unique_ptr<StackSocket> MakeIcmp6StackSocket(Stack& stack, int type) {
  return std::make_unique<Icmp6StackSocket>(stack.CreateIcmp6Socket(type));
}

std::unique_ptr<StackSocket> MakeIcmpStackSocket(Stack& stack, int type) {
  return std::make_unique<IcmpStackSocket>(stack.CreateIcmpSocket(type));
}

}  // namespace pytcp::shim
