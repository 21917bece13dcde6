// The ICMP adapter: StackSocket over stack/socket/icmp_socket.h, for ping sockets
// (SOCK_DGRAM, IPPROTO_ICMP) and raw ICMP sockets (SOCK_RAW, IPPROTO_ICMP). A message is
// one send call (iovecs are gathered) and one receive (scattered), as for UDP.
#include <algorithm>
#include <cstring>
#include <vector>

#include "shim/stack_socket.h"
#include "stack/stack.h"

namespace pytcp::shim {
namespace {

// The largest IPv4 datagram: nothing longer can arrive (a raw socket reads the header too).
constexpr size_t kMaxMessage = 65535;

std::vector<uint8_t>& ThreadBuffer() {
  thread_local std::vector<uint8_t> buffer;
  return buffer;
}

class IcmpStackSocket final : public StackSocket {
 public:
  explicit IcmpStackSocket(std::shared_ptr<IcmpSocket> s) : s_(std::move(s)) {}
  ~IcmpStackSocket() override { s_->Close(); }

  Socket& base() override { return *s_; }
  SysResult<bool> Bind(const SocketAddress& addr) override { return s_->Bind(addr); }
  SysResult<bool> Connect(const SocketAddress* to) override { return s_->Connect(to); }

  SysResult<size_t> Send(std::span<const ByteSpan> parts, const SocketAddress* to,
                         int flags) override {
    if (parts.size() == 1) return s_->SendTo(parts[0], to, flags);
    std::vector<uint8_t>& buf = ThreadBuffer();
    buf.clear();
    for (const auto& p : parts) buf.insert(buf.end(), p.begin(), p.end());
    return s_->SendTo(ByteSpan(buf.data(), buf.size()), to, flags);
  }

  SysResult<size_t> Recv(std::span<const MutableByteSpan> parts, SocketAddress* from, int flags,
                         int* out_flags) override {
    return RecvMsg(parts, from, flags, out_flags, nullptr);
  }

  SysResult<size_t> RecvMsg(std::span<const MutableByteSpan> parts, SocketAddress* from,
                            int flags, int* out_flags, RecvAncillary* anc) override {
    if (parts.size() == 1) return s_->RecvFrom(parts[0], from, flags, out_flags, anc);
    size_t room = 0;
    for (const auto& p : parts) room += p.size();
    room = std::min(room, kMaxMessage);
    std::vector<uint8_t>& buf = ThreadBuffer();
    buf.resize(room);
    auto r = s_->RecvFrom(MutableByteSpan(buf.data(), room), from, flags, out_flags, anc);
    if (!r.ok()) return r;
    size_t left = std::min(*r, room);
    const uint8_t* src = buf.data();
    for (const auto& p : parts) {
      const size_t n = std::min(left, p.size());
      if (n > 0) std::memcpy(p.data(), src, n);
      src += n;
      left -= n;
    }
    return r;
  }

  SysResult<bool> Shutdown(int /*how*/) override { return Err{ENOTCONN}; }
  SysResult<SocketAddress> LocalAddress() override { return s_->LocalAddress(); }
  SysResult<SocketAddress> PeerAddress() override { return s_->PeerAddress(); }
  size_t ReadableBytes() override { return s_->NextMessageSize(); }
  void Close() override { s_->Close(); }

 private:
  std::shared_ptr<IcmpSocket> s_;
};

}  // namespace

std::unique_ptr<StackSocket> MakeIcmpStackSocket(Stack& stack, int type) {
  return std::make_unique<IcmpStackSocket>(stack.CreateIcmpSocket(type));
}

}  // namespace pytcp::shim
