// TCP through two whole stacks on a MemoryLink under a VirtualClock, on one thread: every
// byte is copied in by the sender's socket, segmented, emitted (checksums computed),
// carried by the memory link, parsed (checksums verified), reassembled and copied out by
// the receiver's socket. So the time per byte is the CPU cost of BOTH ends of a transfer
// on one core: "payload Gbit/s per core" below counts each byte once.
//
//   BM_TcpBulk/mss        payload throughput and cost per data segment
//   BM_TcpRequestResponse 1-byte request, 1-byte response (the TCP_RR pattern)
//   BM_TcpConnectClose    connect, 1-byte exchange each way, close (the TCP_CRR pattern)
//
// The virtual clock only moves when nothing is due, so none of this waits on a timer
// except where the protocol itself would (delayed ACKs are not hit: the receiver reads
// everything at once and ACKs every second full segment).
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "stack/link/memory_link.h"
#include "stack/stack.h"
#include "tests/support/simulator.h"
#include "tests/support/memory_stack.h"

// Every heap allocation in this process is counted, so the benchmarks can report
// allocations per segment on the data path (the target is zero).
// (GCC cannot see that the replaced operator new pairs with this free.)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace
void* operator new(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace pytcp {
namespace {

constexpr MacAddress kMacA(MacAddress::Bytes{0x02, 0, 0, 0x78, 0, 0x01});
constexpr MacAddress kMacB(MacAddress::Bytes{0x02, 0, 0, 0x78, 0, 0x02});
constexpr Ip4Address kIpA(10, 78, 0, 1);
constexpr Ip4Address kIpB(10, 78, 0, 2);
constexpr uint16_t kPort = 5001;

StackConfig Config(const MacAddress& mac, const char* ifaddr, uint64_t seed) {
  StackConfig c = testing::MemoryStackConfig(mac, ifaddr, seed);
  c.log = "error";
  return c;
}

// Two stacks joined by a memory link, ARP entries in place, a listener on B.
struct Pair {
  explicit Pair(uint32_t mtu = 1500) {
    MemoryLinkConfig lc;
    lc.mtu = mtu;
    auto links = MemoryLink::CreatePair(lc, clock);
    link_a = links.a.get();
    a = *Stack::CreateWithLink(Config(kMacA, "10.78.0.1/24", 1), std::move(links.a), &clock);
    b = *Stack::CreateWithLink(Config(kMacB, "10.78.0.2/24", 2), std::move(links.b), &clock);
    (void)a->StartManual();
    (void)b->StartManual();
    {
      std::lock_guard l(a->mutex());
      a->arp().cache().AddPermanent(kIpB, kMacB);
    }
    {
      std::lock_guard l(b->mutex());
      b->arp().cache().AddPermanent(kIpA, kMacA);
    }
    sim.Add(a.get());
    sim.Add(b.get());
    // The simulator turns on the tests' timer check (a scan of every connection per
    // deadline query): measured here is the stack as it runs, without it.
    a->tcp().mutable_config().verify_timers = false;
    b->tcp().mutable_config().verify_timers = false;
    listener = b->CreateTcpSocket();
    listener->set_nonblocking(true);
    (void)listener->Bind(SocketAddress{IpAddress(kIpB), kPort, 0});
    (void)listener->Listen(128);
  }

  // Connects a fresh client to the listener; returns {client, server}.
  std::pair<std::shared_ptr<TcpSocket>, std::shared_ptr<TcpSocket>> Connect() {
    auto client = a->CreateTcpSocket();
    client->set_nonblocking(true);
    (void)client->Connect(SocketAddress{IpAddress(kIpB), kPort, 0});
    std::shared_ptr<TcpSocket> server;
    sim.RunUntil(
        [&] {
          if (!server) {
            auto acc = listener->Accept();
            if (acc.ok()) server = *acc;
          }
          return server != nullptr && client->state() == TcpState::kEstablished;
        },
        std::chrono::seconds(5));
    if (server) server->set_nonblocking(true);
    return {client, server};
  }

  VirtualClock clock;
  MemoryLink* link_a = nullptr;
  std::unique_ptr<Stack> a, b;
  testing::Simulator sim{&clock};
  std::shared_ptr<TcpSocket> listener;
};

// range(0): bytes handed to send() per call.
void BM_TcpBulk(benchmark::State& state) {
  Pair p;
  auto [client, server] = p.Connect();
  if (!server) {
    state.SkipWithError("no connection");
    return;
  }
  const size_t chunk = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> wbuf(chunk, 0x5a);
  std::vector<uint8_t> rbuf(1 << 20);
  constexpr uint64_t kPerIteration = 4 << 20;  // 4 MB per benchmark iteration
  uint64_t total = 0;
  const uint64_t frames_before = p.link_a->tx_counters().Get(MemoryLinkCounter::kSent);
  const uint64_t allocs_before = g_allocations.load();
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    uint64_t sent = 0, received = 0;
    while (received < kPerIteration) {
      while (sent < kPerIteration) {
        auto n = client->Send(ByteSpan(wbuf.data(), std::min<uint64_t>(chunk, kPerIteration - sent)),
                              MSG_DONTWAIT | MSG_NOSIGNAL);
        if (!n.ok()) break;
        sent += *n;
      }
      // Deliver what is due (timers too, should the window close), then drain the receiver.
      p.sim.RunUntil([&] { return server->ReadableBytes() > 0; }, std::chrono::seconds(1));
      while (true) {
        auto n = server->Recv(rbuf, MSG_DONTWAIT);
        if (!n.ok() || *n == 0) break;
        received += *n;
      }
    }
    total += received;
  }
  const double elapsed_ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  const uint64_t frames = p.link_a->tx_counters().Get(MemoryLinkCounter::kSent) - frames_before;
  const uint64_t allocs = g_allocations.load() - allocs_before;
  state.counters["allocs/segment"] = frames > 0 ? static_cast<double>(allocs) / static_cast<double>(frames) : 0;
  state.SetBytesProcessed(static_cast<int64_t>(total));
  state.counters["payload_Gbit/s"] =
      benchmark::Counter(static_cast<double>(total) * 8 / 1e9, benchmark::Counter::kIsRate);
  state.counters["data_frames"] = static_cast<double>(frames);
  // Time per data frame (both ends, ACK processing included).
  state.counters["ns/segment"] = frames > 0 ? elapsed_ns / static_cast<double>(frames) : 0;
}
BENCHMARK(BM_TcpBulk)->Arg(16 << 10)->Arg(128 << 10)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TcpRequestResponse(benchmark::State& state) {
  Pair p;
  auto [client, server] = p.Connect();
  if (!server) {
    state.SkipWithError("no connection");
    return;
  }
  int one = 1;
  (void)client->SetOption(IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  (void)server->SetOption(IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  uint8_t byte = 'x';
  uint8_t in = 0;
  const uint64_t allocs_before = g_allocations.load();
  for (auto _ : state) {
    (void)client->Send(ByteSpan(&byte, 1), MSG_DONTWAIT);
    p.sim.RunUntil([&] { return server->ReadableBytes() > 0; }, std::chrono::seconds(1));
    (void)server->Recv(MutableByteSpan(&in, 1), MSG_DONTWAIT);
    (void)server->Send(ByteSpan(&byte, 1), MSG_DONTWAIT);
    p.sim.RunUntil([&] { return client->ReadableBytes() > 0; }, std::chrono::seconds(1));
    (void)client->Recv(MutableByteSpan(&in, 1), MSG_DONTWAIT);
  }
  state.counters["allocs/transaction"] =
      static_cast<double>(g_allocations.load() - allocs_before) / static_cast<double>(state.iterations());
  state.counters["transactions/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TcpRequestResponse)->UseRealTime();

void BM_TcpConnectClose(benchmark::State& state) {
  Pair p;
  uint8_t byte = 'x';
  uint8_t in = 0;
  for (auto _ : state) {
    auto [client, server] = p.Connect();
    if (!server) {
      state.SkipWithError("connect failed");
      break;
    }
    (void)client->Send(ByteSpan(&byte, 1), MSG_DONTWAIT);
    p.sim.RunUntil([&] { return server->ReadableBytes() > 0; }, std::chrono::seconds(1));
    (void)server->Recv(MutableByteSpan(&in, 1), MSG_DONTWAIT);
    (void)server->Send(ByteSpan(&byte, 1), MSG_DONTWAIT);
    p.sim.RunUntil([&] { return client->ReadableBytes() > 0; }, std::chrono::seconds(1));
    (void)client->Recv(MutableByteSpan(&in, 1), MSG_DONTWAIT);
    // The client closes first (it keeps TIME-WAIT, as a crr client does).
    client->Close();
    p.sim.RunUntil([&] { return server->ReadableBytes() == 0 && server->state() == TcpState::kCloseWait; },
                   std::chrono::seconds(1));
    server->Close();
    // Let 10 ms of virtual time pass per connection: TIME-WAIT (60 s) then holds about
    // 6,000 connections in steady state, and the timer scan pays for them as it would.
    p.sim.RunFor(std::chrono::milliseconds(10));
  }
  state.counters["connections/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TcpConnectClose)->UseRealTime();

}  // namespace
}  // namespace pytcp

BENCHMARK_MAIN();
