// What the UDP and ICMP adapters share: a StackSocket over a message socket (UdpSocket,
// IcmpSocket) where one send call is one message, so parts given as several iovecs are
// gathered into one message and a received message is scattered over the parts, as udp(7)
// and icmp(7) do for sendmsg/recvmsg. The adapters add what differs (shutdown, the size of
// the next message).
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "shim/stack_socket.h"

namespace pytcp::shim {

// One scratch buffer per thread for gathering and scattering.
inline std::vector<uint8_t>& DatagramScratch() {
  thread_local std::vector<uint8_t> buffer;
  return buffer;
}

template <typename S>
class DatagramStackSocket : public StackSocket {
 public:
  // `max_message`: the longest message that can arrive; a scattered receive reads no more.
  DatagramStackSocket(std::shared_ptr<S> s, size_t max_message)
      : s_(std::move(s)), max_message_(max_message) {}
  ~DatagramStackSocket() override { s_->Close(); }

  Socket& base() override { return *s_; }
  SysResult<bool> Bind(const SocketAddress& addr) override { return s_->Bind(addr); }
  SysResult<bool> Connect(const SocketAddress* to) override { return s_->Connect(to); }

  SysResult<size_t> Send(std::span<const ByteSpan> parts, const SocketAddress* to,
                         int flags) override {
    if (parts.size() == 1) return s_->SendTo(parts[0], to, flags);
    std::vector<uint8_t>& buf = DatagramScratch();
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
    room = std::min(room, max_message_);
    std::vector<uint8_t>& buf = DatagramScratch();
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

  SysResult<SocketAddress> LocalAddress() override { return s_->LocalAddress(); }
  SysResult<SocketAddress> PeerAddress() override { return s_->PeerAddress(); }
  void Close() override { s_->Close(); }

 protected:
  std::shared_ptr<S> s_;

 private:
  size_t max_message_;
};

}  // namespace pytcp::shim
