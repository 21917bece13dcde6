// The TCP adapter: StackSocket over stack/socket/tcp_socket.h. TCP is a byte stream, so
// iovecs need not stay together as one unit; but handing the stack several small parts
// one by one would put them in separate segments (TCP_NODELAY) where the kernel would have
// copied them all before pushing. So a few small parts are gathered into one send, and
// large ones go one by one with MSG_MORE on all but the last. Receiving into several parts
// goes through one buffer so that MSG_PEEK and MSG_WAITALL mean what they mean for the
// whole request. SIGPIPE on EPIPE is raised by the socket layer itself.
#include <algorithm>
#include <cstring>
#include <vector>

#include "shim/stack_socket.h"
#include "stack/stack.h"

namespace pytcp::shim {
namespace {

// Up to this many bytes in several parts are copied into one send.
constexpr size_t kGatherLimit = 64 * 1024;

std::vector<uint8_t>& ThreadBuffer() {
  thread_local std::vector<uint8_t> buffer;
  return buffer;
}

class TcpStackSocket final : public StackSocket {
 public:
  explicit TcpStackSocket(std::shared_ptr<TcpSocket> s) : s_(std::move(s)) {}
  ~TcpStackSocket() override { s_->Close(); }

  Socket& base() override { return *s_; }
  SysResult<bool> Bind(const SocketAddress& addr) override { return s_->Bind(addr); }

  SysResult<bool> Connect(const SocketAddress* to) override {
    if (to != nullptr) return s_->Connect(*to);
    // connect(AF_UNSPEC): Linux disconnects (tcp_disconnect). Nothing to dissolve on a
    // socket that has no peer; dissolving a live connection is not supported (yet).
    if (!s_->PeerAddress().ok()) return true;
    return Err{EOPNOTSUPP};
  }

  SysResult<bool> Listen(int backlog) override { return s_->Listen(backlog); }

  SysResult<std::unique_ptr<StackSocket>> Accept(SocketAddress* peer) override {
    auto r = s_->Accept(peer, 0);
    if (!r.ok()) return Err{r.error()};
    return std::unique_ptr<StackSocket>(std::make_unique<TcpStackSocket>(std::move(*r)));
  }

  SysResult<size_t> Send(std::span<const ByteSpan> parts, const SocketAddress*,
                         int flags) override {
    if (parts.size() == 1) return s_->Send(parts[0], flags);
    size_t total = 0;
    for (const auto& p : parts) total += p.size();
    if (total <= kGatherLimit) {
      std::vector<uint8_t>& buf = ThreadBuffer();
      buf.clear();
      for (const auto& p : parts) buf.insert(buf.end(), p.begin(), p.end());
      return s_->Send(ByteSpan(buf.data(), buf.size()), flags);
    }
    size_t sent = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (parts[i].empty()) continue;
      const int f = i + 1 < parts.size() ? flags | MSG_MORE : flags;
      auto r = s_->Send(parts[i], f);
      if (!r.ok()) return sent > 0 ? SysResult<size_t>(sent) : r;
      sent += *r;
      if (*r < parts[i].size()) break;  // non-blocking, or interrupted: partial write
    }
    return sent;
  }

  SysResult<size_t> Recv(std::span<const MutableByteSpan> parts, SocketAddress*, int flags,
                         int* out_flags) override {
    if (out_flags != nullptr) *out_flags = 0;
    if (parts.size() == 1) return s_->Recv(parts[0], flags);
    size_t total = 0;
    for (const auto& p : parts) total += p.size();
    std::vector<uint8_t>& buf = ThreadBuffer();
    buf.resize(total);
    auto r = s_->Recv(MutableByteSpan(buf.data(), total), flags);
    if (!r.ok()) return r;
    size_t left = *r;
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
  size_t ReadableBytes() override { return s_->ReadableBytes(); }
  size_t UnsentBytes() override { return s_->UnsentBytes(); }
  void Close() override { s_->Close(); }

 private:
  std::shared_ptr<TcpSocket> s_;
};

}  // namespace

std::unique_ptr<StackSocket> MakeTcpStackSocket(Stack& stack) {
  return std::make_unique<TcpStackSocket>(stack.CreateTcpSocket());
}

}  // namespace pytcp::shim
