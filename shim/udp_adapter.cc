// The UDP adapter: StackSocket over stack/socket/udp_socket.h. A datagram is one send
// call, so parts given as several iovecs are gathered into one datagram (and a received
// datagram is scattered over the parts), as udp(7) does for sendmsg/recvmsg.
#include <algorithm>
#include <cstring>
#include <vector>

#include "shim/stack_socket.h"
#include "stack/stack.h"

namespace pytcp::shim {
namespace {

// The largest UDP payload over IPv4 (65535 - 20 - 8); nothing longer can arrive.
constexpr size_t kMaxDatagram = 65507;

std::vector<uint8_t>& ThreadBuffer() {
  thread_local std::vector<uint8_t> buffer;
  return buffer;
}

size_t TotalSize(std::span<const MutableByteSpan> parts) {
  size_t n = 0;
  for (const auto& p : parts) n += p.size();
  return n;
}

class UdpStackSocket final : public StackSocket {
 public:
  explicit UdpStackSocket(std::shared_ptr<UdpSocket> s) : s_(std::move(s)) {}
  ~UdpStackSocket() override { s_->Close(); }

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
    const size_t room = std::min(TotalSize(parts), kMaxDatagram);
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

  SysResult<bool> Shutdown(int how) override { return s_->Shutdown(how); }
  SysResult<SocketAddress> LocalAddress() override { return s_->LocalAddress(); }
  SysResult<SocketAddress> PeerAddress() override { return s_->PeerAddress(); }
  size_t ReadableBytes() override { return s_->NextDatagramSize(); }
  void Close() override { s_->Close(); }

 private:
  std::shared_ptr<UdpSocket> s_;
};

}  // namespace

std::unique_ptr<StackSocket> MakeUdpStackSocket(Stack& stack) {
  return std::make_unique<UdpStackSocket>(stack.CreateUdpSocket());
}

}  // namespace pytcp::shim
