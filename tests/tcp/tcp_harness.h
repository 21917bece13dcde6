// Test aid for packetdrill-style TCP tests: one Stack on a MemoryLink under a
// VirtualClock whose peer is the test itself. The test injects hand-built segments
// (Ethernet + IPv4 + TCP from the wire emitters) and asserts the exact segments the stack
// sends back, with the virtual time each left at.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stack/stack.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/ip4.h"
#include "stack/wire/tcp.h"
#include "tests/support/frame_peer.h"
#include "tests/support/memory_stack.h"

namespace pytcp::testing {

inline constexpr MacAddress kOurMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x02});
inline constexpr MacAddress kPeerMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x01});
inline constexpr Ip4Address kOurIp(10, 77, 0, 2);
inline constexpr Ip4Address kPeerIp(10, 77, 0, 1);
inline constexpr uint16_t kOurPort = 8080;
inline constexpr uint16_t kPeerPort = 40000;
inline constexpr uint32_t kPeerIsn = 1000000;

// packetdrill's flag notation: S (SYN), F (FIN), R (RST), P (PSH), '.' (ACK), U (URG).
inline TcpFlags Flags(std::string_view s) {
  TcpFlags f;
  for (char c : s) {
    switch (c) {
      case 'S': f.syn = true; break;
      case 'F': f.fin = true; break;
      case 'R': f.rst = true; break;
      case 'P': f.psh = true; break;
      case '.': f.ack = true; break;
      case 'U': f.urg = true; break;
      default: break;
    }
  }
  return f;
}

inline std::string FlagString(TcpFlags f) {
  std::string s;
  if (f.syn) s += 'S';
  if (f.fin) s += 'F';
  if (f.rst) s += 'R';
  if (f.psh) s += 'P';
  if (f.ack) s += '.';
  if (f.urg) s += 'U';
  return s;
}

// A segment the stack sent.
struct Sent {
  Instant at;
  TcpHeader h;
  std::vector<uint8_t> payload;
  uint8_t ttl = 0;
  bool df = false;
  std::vector<uint8_t> datagram;  // the whole IPv4 datagram, for ICMP errors quoting it
  std::string flags() const { return FlagString(h.flags); }
  uint8_t ecn() const { return datagram.size() > 1 ? datagram[1] & 3 : 0; }  // IP ECN field
  uint32_t seq() const { return h.seq.value(); }
  uint32_t ack() const { return h.ack.value(); }
};

class TcpHarness : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void TearDown() override {
    listener_.reset();
    sockets_.clear();
    stack_.reset();
  }

  virtual void Tweak(TcpConfig& /*config*/) {}
  // The stack's own settings (seed, key file) before it is created.
  virtual void TweakStack(StackConfig& /*config*/) {}
  // The memory link's settings (for example coalesced frames, as a TAP with GRO).
  virtual void TweakLink(MemoryLinkConfig& /*config*/) {}

  void Start() {
    StackConfig c = MemoryStackConfig(kOurMac, "10.77.0.2/24", 7);
    TweakStack(c);
    MemoryLinkConfig link;
    TweakLink(link);
    auto pair = MemoryLink::CreatePair(link, clock_);
    peer_link_ = std::move(pair.b);
    peer_ = std::make_unique<FramePeer>(peer_link_.get());
    stack_ = *Stack::CreateWithLink(c, std::move(pair.a), &clock_);
    ASSERT_TRUE(stack_->StartManual().ok());
    std::lock_guard lock(stack_->mutex());
    stack_->arp().cache().AddPermanent(kPeerIp, kPeerMac);
    stack_->tcp().mutable_config().verify_timers = true;  // the deadline heap is checked
    Tweak(stack_->tcp().mutable_config());
  }

  std::shared_ptr<TcpSocket> NewSocket() {
    auto s = stack_->CreateTcpSocket();
    sockets_.push_back(s);
    return s;
  }

  // A segment from the peer (kPeerIp:port → kOurIp:dport).
  static TcpHeader Peer(std::string_view flags, uint32_t seq, uint32_t ack, uint16_t window = 65535,
                        uint16_t port = kPeerPort, uint16_t dport = kOurPort) {
    TcpHeader h;
    h.src_port = port;
    h.dst_port = dport;
    h.seq = SeqNum(seq);
    h.ack = SeqNum(ack);
    h.flags = Flags(flags);
    h.window = window;
    return h;
  }

  std::vector<uint8_t> Frame(const TcpHeader& h, ByteSpan payload) const {
    const size_t tcp_len = h.header_size() + payload.size();
    Ip4Header ip;
    ip.src = kPeerIp;
    ip.dst = kOurIp;
    ip.protocol = IpProto::kTcp;
    ip.id = 1;
    ip.dont_fragment = true;
    ip.ecn = inject_ecn_;
    std::vector<uint8_t> f(kEthernetHeaderSize + ip.header_size() + tcp_len);
    EthernetHeader{kOurMac, kPeerMac, EtherType::kIp4}.Emit(f);
    ip.Emit(MutableByteSpan(f).subspan(kEthernetHeaderSize), tcp_len);
    const size_t off = kEthernetHeaderSize + ip.header_size();
    std::copy(payload.begin(), payload.end(), f.begin() + static_cast<long>(off + h.header_size()));
    const uint32_t pseudo =
        PseudoHeaderSum4(kPeerIp, kOurIp, static_cast<uint8_t>(IpProto::kTcp), static_cast<uint32_t>(tcp_len));
    h.Emit(MutableByteSpan(f).subspan(off, h.header_size()), payload, pseudo);
    if (f.size() < kEthernetMinFrameSize) f.resize(kEthernetMinFrameSize, 0);
    return f;
  }

  // Injects an IPv4 datagram with any payload from the peer.
  void InjectIp(IpProto proto, ByteSpan payload) {
    Ip4Header ip;
    ip.src = kPeerIp;
    ip.dst = kOurIp;
    ip.protocol = proto;
    ip.id = 2;
    std::vector<uint8_t> f(kEthernetHeaderSize + ip.header_size() + payload.size());
    EthernetHeader{kOurMac, kPeerMac, EtherType::kIp4}.Emit(f);
    ip.Emit(MutableByteSpan(f).subspan(kEthernetHeaderSize), payload.size());
    std::copy(payload.begin(), payload.end(),
              f.begin() + static_cast<long>(kEthernetHeaderSize + ip.header_size()));
    if (f.size() < kEthernetMinFrameSize) f.resize(kEthernetMinFrameSize, 0);
    peer_->Inject(f);
    Run();
  }

  // Injects a segment and runs the stack on it.
  void Inject(const TcpHeader& h, ByteSpan payload = {}) {
    peer_->Inject(Frame(h, payload));
    Run();
  }
  void Inject(const TcpHeader& h, const std::string& payload) {
    Inject(h, ByteSpan(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));
  }

  // Processes frames and due timers, and collects what the stack sent.
  void Run() {
    stack_->ProcessLink();
    stack_->RunTimers();
    Collect();
  }
  void Collect() {
    for (auto& f : peer_->Drain()) {
      auto eth = EthernetView::Parse(f);
      ASSERT_TRUE(eth.ok());
      if (eth->ethertype() != EtherType::kIp4) continue;
      auto ip = Ip4View::Parse(eth->payload());
      ASSERT_TRUE(ip.ok());
      if (ip->protocol() != IpProto::kTcp) continue;
      auto tcp = TcpView::Parse(ip->payload(), ip->pseudo_header_sum());
      ASSERT_TRUE(tcp.ok()) << "the stack sent a bad TCP segment";
      Sent s;
      s.at = clock_.Now();
      s.h = tcp->ToHeader();
      s.payload.assign(tcp->payload().begin(), tcp->payload().end());
      s.ttl = ip->ttl();
      s.df = ip->dont_fragment();
      s.datagram.assign(ip->datagram().begin(), ip->datagram().end());
      log_.push_back(std::move(s));
    }
  }
  // Runs the stack through every deadline up to now + d.
  void Advance(Duration d) {
    const Instant until = clock_.Now() + d;
    Run();
    while (true) {
      const Instant next = stack_->NextDeadline();
      if (next > until) break;
      clock_.AdvanceTo(next);
      Run();
    }
    clock_.AdvanceTo(until);
    Run();
  }

  // The segments sent since the last call.
  std::vector<Sent> Take() {
    Run();
    auto out = std::move(log_);
    log_.clear();
    return out;
  }
  // Exactly one segment was sent since the last call.
  Sent TakeOne() {
    auto s = Take();
    EXPECT_EQ(s.size(), 1u) << Describe(s);
    if (s.empty()) return Sent{};
    return s.front();
  }
  static std::string Describe(const std::vector<Sent>& v) {
    std::string out;
    for (const auto& s : v) {
      out += FlagString(s.h.flags) + " seq=" + std::to_string(s.seq()) + " ack=" +
             std::to_string(s.ack()) + " win=" + std::to_string(s.h.window) +
             " len=" + std::to_string(s.payload.size()) + "\n";
    }
    return out;
  }

  ReadinessMask PollOf(TcpSocket& s) { return s.Poll(); }
  // A counter's value (the stack starts with all at zero).
  int64_t Moved(const std::string& name) {
    auto snap = stack_->CounterSnapshot();
    auto it = snap.find(name);
    return it == snap.end() ? 0 : static_cast<int64_t>(it->second);
  }

  // Listens on kOurPort (backlog 16), completes a handshake from the peer with the given
  // SYN options and returns the accepted socket; our ISN goes to *iss.
  std::shared_ptr<TcpSocket> EstablishPassive(const TcpOptions& syn_options, uint32_t* iss,
                                              uint16_t peer_window = 65535) {
    listener_ = NewSocket();
    listener_->set_nonblocking(true);
    int one = 1;
    EXPECT_TRUE(listener_->SetOption(SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)).ok());
    EXPECT_TRUE(listener_->Bind(SocketAddress{IpAddress(kOurIp), kOurPort, 0}).ok());
    EXPECT_TRUE(listener_->Listen(16).ok());
    TcpHeader syn = Peer("S", kPeerIsn, 0, 65535);
    syn.options = syn_options;
    Inject(syn);
    Sent synack = TakeOne();
    EXPECT_EQ(synack.flags(), "S.");
    *iss = synack.seq();
    TcpHeader ack = Peer(".", kPeerIsn + 1, *iss + 1, peer_window);
    if (syn_options.timestamps) ack.options.timestamps = TcpTimestamps{101, synack.h.options.timestamps->value};
    Inject(ack);
    EXPECT_TRUE(Take().empty());
    auto accepted = listener_->Accept();
    EXPECT_TRUE(accepted.ok());
    if (!accepted.ok()) return nullptr;
    sockets_.push_back(*accepted);
    (*accepted)->set_nonblocking(true);
    return *accepted;
  }

  // A handshake without options: MSS 536 both ways is not what we want, so the peer
  // sends only an MSS of 1460 — no window scaling, SACK or timestamps, which keeps the
  // segments of a test easy to read.
  std::shared_ptr<TcpSocket> EstablishPlain(uint32_t* iss, uint16_t peer_window = 65535) {
    TcpOptions o;
    o.mss = 1460;
    return EstablishPassive(o, iss, peer_window);
  }

  VirtualClock clock_;
  std::unique_ptr<MemoryLink> peer_link_;
  std::unique_ptr<FramePeer> peer_;
  std::unique_ptr<Stack> stack_;
  std::vector<std::shared_ptr<TcpSocket>> sockets_;
  std::shared_ptr<TcpSocket> listener_;
  std::vector<Sent> log_;
  uint8_t inject_ecn_ = 0;  // the IP ECN field of the segments injected (3 = CE)
};

inline ByteSpan AsBytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace pytcp::testing
