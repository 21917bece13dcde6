// Test aid: a Link that offers TCP segmentation offload over another link (a MemoryLink
// end), as a TAP with IFF_VNET_HDR does (stack/link/tap_link.cc). It records every frame the
// stack hands it, super-frames as they are, so a test asserts on what TCP emitted; then it
// does what the device would: a frame larger than the MTU is cut into MTU-sized TCP
// segments with complete checksums (Linux's tcp_gso_segment) before going on the inner
// link, so the stack at the other end receives ordinary frames. Everything else passes
// through. For one thread (the Simulator): Send() is not locked.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/link/link.h"
#include "stack/wire/checksum.h"

namespace pytcp::testing {

class TsoLink final : public Link {
 public:
  // `tso_max_size` as LinkFeatures::tso_max_size (0: no TSO, a plain recording wrapper).
  TsoLink(std::unique_ptr<Link> inner, uint32_t tso_max_size)
      : inner_(std::move(inner)), tso_max_size_(tso_max_size) {}

  [[nodiscard]] LinkStatus Send(ByteSpan frame) override {
    sent_.emplace_back(frame.begin(), frame.end());
    if (frame.size() <= inner_->mtu() + kMaxLinkHeaderSize) return inner_->Send(frame);
    if (tso_max_size_ == 0) return LinkStatus::kTooBig;
    return Segment(frame);
  }
  ReceiveResult Receive(FrameSink sink, size_t max_frames) override {
    return inner_->Receive(sink, max_frames);
  }
  using Link::Receive;
  int wait_fd() const override { return inner_->wait_fd(); }
  Instant next_delivery_time() const override { return inner_->next_delivery_time(); }
  uint32_t mtu() const override { return inner_->mtu(); }
  LinkFeatures features() const override {
    LinkFeatures f;
    f.tso_max_size = tso_max_size_;
    return f;
  }

  // Every frame Send() was given, in order, before segmentation.
  const std::vector<std::vector<uint8_t>>& sent() const { return sent_; }
  // Super-frames cut by Segment() (frames larger than the MTU).
  size_t segmented() const { return segmented_; }

 private:
  static constexpr size_t kEth = 14;

  // Cuts a TCP super-frame at MTU - IP header - TCP header (the gso_size TapLink gives the
  // kernel), each piece with the headers copied, the sequence number advanced, FIN and PSH
  // only on the last piece and CWR only on the first, IPv4 IDs counting up, and both
  // checksums computed over the piece.
  LinkStatus Segment(ByteSpan frame) {
    if (frame.size() < kEth + 40 + 20) return LinkStatus::kTooBig;
    const uint16_t ethertype = LoadBe16(frame, 12);
    const bool v4 = ethertype == 0x0800;
    if (!v4 && ethertype != 0x86dd) return LinkStatus::kTooBig;
    const size_t ip_header = v4 ? static_cast<size_t>(frame[kEth] & 0x0f) * 4 : 40;
    const uint8_t proto = v4 ? frame[kEth + 9] : frame[kEth + 6];
    if (proto != 6) return LinkStatus::kTooBig;
    const size_t ip_end = v4 ? kEth + LoadBe16(frame, kEth + 2)
                             : kEth + 40 + LoadBe16(frame, kEth + 4);
    if (ip_end > frame.size()) return LinkStatus::kTooBig;
    const size_t tcp = kEth + ip_header;
    const size_t tcp_header = static_cast<size_t>(frame[tcp + 12] >> 4) * 4;
    const size_t hdr_len = tcp + tcp_header;
    if (hdr_len >= ip_end || inner_->mtu() <= ip_header + tcp_header) return LinkStatus::kTooBig;
    const size_t gso_size = inner_->mtu() - ip_header - tcp_header;
    const ByteSpan payload = frame.subspan(hdr_len, ip_end - hdr_len);
    const uint32_t seq = LoadBe32(frame, tcp + 4);
    const uint16_t id = v4 ? LoadBe16(frame, kEth + 4) : 0;
    ++segmented_;
    std::vector<uint8_t> piece;
    size_t index = 0;
    for (size_t off = 0; off < payload.size(); off += gso_size, ++index) {
      const size_t len = std::min(gso_size, payload.size() - off);
      const bool first = off == 0;
      const bool last = off + len == payload.size();
      piece.assign(frame.begin(), frame.begin() + static_cast<long>(hdr_len));
      piece.insert(piece.end(), payload.begin() + static_cast<long>(off),
                   payload.begin() + static_cast<long>(off + len));
      uint8_t* p = piece.data();
      const uint32_t tcp_length = static_cast<uint32_t>(tcp_header + len);
      uint32_t pseudo = 0;
      if (v4) {
        StoreBe16(p + kEth + 2, static_cast<uint16_t>(ip_header + tcp_length));
        StoreBe16(p + kEth + 4, static_cast<uint16_t>(id + index));
        StoreBe16(p + kEth + 10, 0);
        StoreBe16(p + kEth + 10, InternetChecksum(ByteSpan(p + kEth, ip_header)));
        pseudo = PseudoHeaderSum4(Ip4Address::FromBytes(p + kEth + 12),
                                  Ip4Address::FromBytes(p + kEth + 16), 6, tcp_length);
      } else {
        StoreBe16(p + kEth + 4, static_cast<uint16_t>(tcp_length));
        pseudo = PseudoHeaderSum6(Ip6Address::FromBytes(p + kEth + 8),
                                  Ip6Address::FromBytes(p + kEth + 24), 6, tcp_length);
      }
      StoreBe32(p + tcp + 4, seq + static_cast<uint32_t>(off));
      if (!last) p[tcp + 13] &= static_cast<uint8_t>(~0x09);  // FIN, PSH
      if (!first) p[tcp + 13] &= static_cast<uint8_t>(~0x80);  // CWR
      StoreBe16(p + tcp + 16, 0);
      StoreBe16(p + tcp + 16, InternetChecksum(ByteSpan(p + tcp, tcp_length), pseudo));
      if (const LinkStatus s = inner_->Send(piece); s != LinkStatus::kOk) return s;
    }
    return LinkStatus::kOk;
  }

  std::unique_ptr<Link> inner_;
  uint32_t tso_max_size_;
  std::vector<std::vector<uint8_t>> sent_;
  size_t segmented_ = 0;
};

}  // namespace pytcp::testing
