// Parse and emit per protocol (ns per frame): every header of stack/wire that the data path
// or the control path touches, on realistic frames (a full 1460-byte TCP segment with
// timestamps and SACK, a 64-byte ping, ...). Parse includes the checksum verification the
// stack does on receive unless the TAP has verified it (the "_NoCsum" variants show the
// difference that checksum offload makes).
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "stack/wire/arp.h"
#include "stack/wire/checksum.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/icmp6.h"
#include "stack/wire/icmp6_nd.h"
#include "stack/wire/ip4.h"
#include "stack/wire/ip6.h"
#include "stack/wire/tcp.h"
#include "stack/wire/tcp_options.h"
#include "stack/wire/udp.h"

namespace pytcp {
namespace {

constexpr MacAddress kMacA(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x07});
constexpr MacAddress kMacB(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x01});
constexpr Ip4Address kIpA(10, 77, 0, 7);
constexpr Ip4Address kIpB(10, 77, 0, 1);
const Ip6Address kIp6A = Ip6Address::FromGroups({0xfd77, 0, 0, 0, 0, 0, 0, 7});
const Ip6Address kIp6B = Ip6Address::FromGroups({0xfd77, 0, 0, 0, 0, 0, 0, 1});

std::vector<uint8_t> Payload(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + 3);
  return v;
}

TcpHeader DataSegment() {
  TcpHeader h;
  h.src_port = 40000;
  h.dst_port = 5201;
  h.seq = SeqNum(0x12345678);
  h.ack = SeqNum(0x9abcdef0);
  h.flags.ack = true;
  h.flags.psh = true;
  h.window = 1024;
  h.options.timestamps = TcpTimestamps{1000, 2000};
  return h;
}

// A whole Ethernet + IPv4 + TCP frame with timestamps (and `sack` SACK blocks).
std::vector<uint8_t> TcpFrame(size_t payload_size, int sack) {
  const auto payload = Payload(payload_size);
  TcpHeader tcp = DataSegment();
  for (int i = 0; i < sack; ++i) {
    tcp.options.AddSackBlock({SeqNum(1000u + 3000u * i), SeqNum(2000u + 3000u * i)});
  }
  const size_t ths = tcp.header_size();
  Ip4Header ip;
  ip.src = kIpA;
  ip.dst = kIpB;
  ip.protocol = IpProto::kTcp;
  ip.dont_fragment = true;
  const size_t ihs = ip.header_size();
  std::vector<uint8_t> f(kEthernetHeaderSize + ihs + ths + payload_size);
  uint8_t* p = f.data();
  EthernetHeader{kMacB, kMacA, EtherType::kIp4}.Emit(MutableByteSpan(p, 14));
  ip.Emit(MutableByteSpan(p + 14, ihs), ths + payload_size);
  std::copy(payload.begin(), payload.end(), p + 14 + ihs + ths);
  tcp.Emit(MutableByteSpan(p + 14 + ihs, ths), ByteSpan(p + 14 + ihs + ths, payload_size),
           PseudoHeaderSum4(kIpA, kIpB, 6, static_cast<uint32_t>(ths + payload_size)));
  return f;
}

// ---- Ethernet ----
void BM_EthernetParse(benchmark::State& state) {
  const auto f = TcpFrame(1448, 0);
  for (auto _ : state) {
    auto v = EthernetView::Parse(f);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_EthernetParse);

void BM_EthernetEmit(benchmark::State& state) {
  std::array<uint8_t, 14> out{};
  const EthernetHeader h{kMacB, kMacA, EtherType::kIp4};
  for (auto _ : state) {
    h.Emit(out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_EthernetEmit);

// ---- ARP ----
void BM_ArpParse(benchmark::State& state) {
  std::array<uint8_t, 28> pkt{};
  ArpPacket::Request(kMacA, kIpA, kIpB).Emit(pkt);
  for (auto _ : state) {
    auto v = ArpView::Parse(pkt);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_ArpParse);

void BM_ArpEmit(benchmark::State& state) {
  std::array<uint8_t, 28> pkt{};
  const ArpPacket a = ArpPacket::Reply(kMacA, kIpA, kMacB, kIpB);
  for (auto _ : state) {
    a.Emit(pkt);
    benchmark::DoNotOptimize(pkt);
  }
}
BENCHMARK(BM_ArpEmit);

// ---- IPv4 ----
void BM_Ip4Parse(benchmark::State& state) {
  const auto f = TcpFrame(1448, 0);
  const ByteSpan l3 = ByteSpan(f).subspan(14);
  for (auto _ : state) {
    auto v = Ip4View::Parse(l3);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_Ip4Parse);

void BM_Ip4Emit(benchmark::State& state) {
  std::array<uint8_t, 20> out{};
  Ip4Header ip;
  ip.src = kIpA;
  ip.dst = kIpB;
  ip.protocol = IpProto::kTcp;
  ip.dont_fragment = true;
  for (auto _ : state) {
    ++ip.id;
    ip.Emit(out, 1480);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Ip4Emit);

// ---- UDP (checksum over header + payload) ----
void BM_UdpParse(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const auto payload = Payload(n);
  std::vector<uint8_t> d(8 + n);
  std::copy(payload.begin(), payload.end(), d.begin() + 8);
  const uint32_t pseudo = PseudoHeaderSum4(kIpA, kIpB, 17, static_cast<uint32_t>(d.size()));
  UdpHeader{5000, 5001}.Emit(MutableByteSpan(d.data(), 8), ByteSpan(d).subspan(8), pseudo);
  for (auto _ : state) {
    auto v = UdpView::Parse(d, pseudo);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.size()));
}
BENCHMARK(BM_UdpParse)->Arg(64)->Arg(1472);

void BM_UdpEmit(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> d(8 + n);
  const auto payload = Payload(n);
  std::copy(payload.begin(), payload.end(), d.begin() + 8);
  const uint32_t pseudo = PseudoHeaderSum4(kIpA, kIpB, 17, static_cast<uint32_t>(d.size()));
  const UdpHeader h{5000, 5001};
  for (auto _ : state) {
    h.Emit(MutableByteSpan(d.data(), 8), ByteSpan(d).subspan(8), pseudo);
    benchmark::DoNotOptimize(d.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.size()));
}
BENCHMARK(BM_UdpEmit)->Arg(64)->Arg(1472);

// ---- TCP with options (timestamps; SACK blocks for range(1) > 0) ----
void BM_TcpParse(benchmark::State& state) {
  const auto f = TcpFrame(static_cast<size_t>(state.range(0)), static_cast<int>(state.range(1)));
  auto ip = *Ip4View::Parse(ByteSpan(f).subspan(14));
  const uint32_t pseudo = ip.pseudo_header_sum();
  const ByteSpan seg = ip.payload();
  for (auto _ : state) {
    auto v = TcpView::Parse(seg, pseudo);
    if (!v.ok()) state.SkipWithError("parse failed");
    auto opts = v->ToHeader();  // decodes the options, as the engine does
    benchmark::DoNotOptimize(opts);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * seg.size()));
}
BENCHMARK(BM_TcpParse)->Args({0, 0})->Args({1448, 0})->Args({1448, 3});

void BM_TcpParse_NoCsum(benchmark::State& state) {
  const auto f = TcpFrame(static_cast<size_t>(state.range(0)), 0);
  auto ip = *Ip4View::Parse(ByteSpan(f).subspan(14));
  const uint32_t pseudo = ip.pseudo_header_sum();
  const ByteSpan seg = ip.payload();
  for (auto _ : state) {
    auto v = TcpView::Parse(seg, pseudo, ChecksumPolicy::kSkip);
    auto opts = v->ToHeader();
    benchmark::DoNotOptimize(opts);
  }
}
BENCHMARK(BM_TcpParse_NoCsum)->Arg(1448)->Arg(65000);

void BM_TcpEmit(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  TcpHeader h = DataSegment();
  for (int i = 0; i < state.range(1); ++i) {
    h.options.AddSackBlock({SeqNum(1000u + 3000u * i), SeqNum(2000u + 3000u * i)});
  }
  const size_t hs = h.header_size();
  std::vector<uint8_t> d(hs + n);
  const auto payload = Payload(n);
  std::copy(payload.begin(), payload.end(), d.begin() + static_cast<ptrdiff_t>(hs));
  const uint32_t pseudo = PseudoHeaderSum4(kIpA, kIpB, 6, static_cast<uint32_t>(d.size()));
  for (auto _ : state) {
    h.Emit(MutableByteSpan(d.data(), hs), ByteSpan(d).subspan(hs), pseudo);
    benchmark::DoNotOptimize(d.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.size()));
}
BENCHMARK(BM_TcpEmit)->Args({0, 0})->Args({1448, 0})->Args({1448, 3});

void BM_TcpEmitForOffload(benchmark::State& state) {
  TcpHeader h = DataSegment();
  std::array<uint8_t, 60> out{};
  const uint32_t pseudo = PseudoHeaderSum4(kIpA, kIpB, 6, 32 + 65000);
  for (auto _ : state) {
    h.EmitForOffload(MutableByteSpan(out.data(), h.header_size()), pseudo);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_TcpEmitForOffload);

// Every layer of a received 1448-byte segment, as Interface/Ip4Engine/TcpEngine parse it.
void BM_FrameParseEthIp4Tcp(benchmark::State& state) {
  const auto f = TcpFrame(1448, 0);
  for (auto _ : state) {
    auto eth = EthernetView::Parse(f);
    auto ip = Ip4View::Parse(eth->payload());
    auto tcp = TcpView::Parse(ip->payload(), ip->pseudo_header_sum());
    auto h = tcp->ToHeader();
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * f.size()));
}
BENCHMARK(BM_FrameParseEthIp4Tcp);

// ---- ICMPv4 echo (64-byte ping) ----
void BM_Icmp4Parse(benchmark::State& state) {
  std::vector<uint8_t> d(64);
  Icmp4Header::EchoRequest(7, 1).Emit(MutableByteSpan(d.data(), 8), ByteSpan(d).subspan(8));
  for (auto _ : state) {
    auto v = Icmp4View::Parse(d);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_Icmp4Parse);

void BM_Icmp4Emit(benchmark::State& state) {
  std::vector<uint8_t> d(64);
  const Icmp4Header h = Icmp4Header::EchoReply(7, 1);
  for (auto _ : state) {
    h.Emit(MutableByteSpan(d.data(), 8), ByteSpan(d).subspan(8));
    benchmark::DoNotOptimize(d.data());
  }
}
BENCHMARK(BM_Icmp4Emit);

// ---- IPv6 ----
void BM_Ip6Parse(benchmark::State& state) {
  std::vector<uint8_t> d(40 + 1440);
  Ip6Header h{kIp6A, kIp6B, Ip6NextHeader::kTcp, 64, 0, 0, 0};
  h.Emit(MutableByteSpan(d.data(), 40), 1440);
  for (auto _ : state) {
    auto v = Ip6View::Parse(d);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_Ip6Parse);

void BM_Ip6Emit(benchmark::State& state) {
  std::array<uint8_t, 40> out{};
  Ip6Header h{kIp6A, kIp6B, Ip6NextHeader::kTcp, 64, 0, 0, 0};
  for (auto _ : state) {
    h.Emit(out, 1440);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Ip6Emit);

void BM_TcpOverIp6Parse(benchmark::State& state) {
  TcpHeader tcp = DataSegment();
  const size_t ths = tcp.header_size();
  const size_t n = 1428;
  std::vector<uint8_t> d(40 + ths + n);
  const auto payload = Payload(n);
  std::copy(payload.begin(), payload.end(), d.begin() + static_cast<ptrdiff_t>(40 + ths));
  Ip6Header{kIp6A, kIp6B, Ip6NextHeader::kTcp, 64, 0, 0, 0}.Emit(MutableByteSpan(d.data(), 40),
                                                                 ths + n);
  tcp.Emit(MutableByteSpan(d.data() + 40, ths), ByteSpan(d).subspan(40 + ths),
           PseudoHeaderSum6(kIp6A, kIp6B, 6, static_cast<uint32_t>(ths + n)));
  for (auto _ : state) {
    auto ip = Ip6View::Parse(d);
    auto seg = TcpView::Parse(ip->payload(), ip->PseudoHeaderSum(Ip6NextHeader::kTcp, ths + n));
    if (!seg.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(seg);
  }
}
BENCHMARK(BM_TcpOverIp6Parse);

// ---- ICMPv6: echo and Neighbor Solicitation (the ND message on every resolution) ----
void BM_Icmp6EchoParse(benchmark::State& state) {
  std::vector<uint8_t> d(64);
  const uint32_t pseudo = Icmp6PseudoHeaderSum(kIp6A, kIp6B, d.size());
  Icmp6Header::EchoRequest(7, 1).Emit(MutableByteSpan(d.data(), 8), ByteSpan(d).subspan(8), pseudo);
  for (auto _ : state) {
    auto v = Icmp6View::Parse(d, pseudo);
    if (!v.ok()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_Icmp6EchoParse);

void BM_Icmp6EchoEmit(benchmark::State& state) {
  std::vector<uint8_t> d(64);
  const uint32_t pseudo = Icmp6PseudoHeaderSum(kIp6A, kIp6B, d.size());
  const Icmp6Header h = Icmp6Header::EchoReply(7, 1);
  for (auto _ : state) {
    h.Emit(MutableByteSpan(d.data(), 8), ByteSpan(d).subspan(8), pseudo);
    benchmark::DoNotOptimize(d.data());
  }
}
BENCHMARK(BM_Icmp6EchoEmit);

void BM_NdNeighborSolicitParse(benchmark::State& state) {
  NdNeighborSolicitMessage m{kIp6B, kMacA};
  std::vector<uint8_t> d(m.size());
  const uint32_t pseudo = Icmp6PseudoHeaderSum(kIp6A, kIp6B, d.size());
  m.Emit(d, pseudo);
  for (auto _ : state) {
    auto v = Icmp6View::Parse(d, pseudo);
    if (!v.ok()) state.SkipWithError("parse failed");
    auto ns = NdNeighborSolicitView::From(*v);
    benchmark::DoNotOptimize(ns);
  }
}
BENCHMARK(BM_NdNeighborSolicitParse);

void BM_NdNeighborSolicitEmit(benchmark::State& state) {
  NdNeighborSolicitMessage m{kIp6B, kMacA};
  std::vector<uint8_t> d(m.size());
  const uint32_t pseudo = Icmp6PseudoHeaderSum(kIp6A, kIp6B, d.size());
  for (auto _ : state) {
    m.Emit(d, pseudo);
    benchmark::DoNotOptimize(d.data());
  }
}
BENCHMARK(BM_NdNeighborSolicitEmit);

}  // namespace
}  // namespace pytcp

BENCHMARK_MAIN();
