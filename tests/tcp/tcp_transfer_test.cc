// Two stacks on one MemoryLink under a VirtualClock (a discrete-event simulation): bulk
// transfers whose hash must match, under seeded loss, reordering, duplication and
// corruption, with CUBIC and NewReno. Deterministic and fast: virtual time jumps from
// deadline to deadline.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include "stack/link/memory_link.h"
#include "stack/stack.h"
#include "tests/support/simulator.h"
#include "tests/support/memory_stack.h"

namespace pytcp {
namespace {

constexpr MacAddress kMacA(MacAddress::Bytes{0x02, 0, 0, 0x78, 0, 0x01});
constexpr MacAddress kMacB(MacAddress::Bytes{0x02, 0, 0, 0x78, 0, 0x02});
constexpr Ip4Address kIpA(10, 78, 0, 1);
constexpr Ip4Address kIpB(10, 78, 0, 2);
constexpr uint16_t kPort = 5001;

StackConfig Config(const MacAddress& mac, const char* ifaddr, uint64_t seed) {
  return testing::MemoryStackConfig(mac, ifaddr, seed);
}

// The byte stream: a 64 KB random block, varied per block, so that a misplaced segment
// changes the hash.
class Pattern {
 public:
  explicit Pattern(uint64_t seed) {
    Random r(seed);
    for (auto& b : block_) b = static_cast<uint8_t>(r.Next());
  }
  void Fill(uint64_t offset, MutableByteSpan out) const {
    for (size_t i = 0; i < out.size(); ++i) {
      const uint64_t o = offset + i;
      out[i] = static_cast<uint8_t>(block_[o & 0xffff] ^ static_cast<uint8_t>(o >> 16));
    }
  }

 private:
  std::array<uint8_t, 65536> block_{};
};

// FNV-1a over the stream, 8 bytes at a time.
class StreamHash {
 public:
  void Add(ByteSpan data) {
    for (uint8_t b : data) {
      h_ = (h_ ^ b) * 0x100000001b3ULL;
    }
    n_ += data.size();
  }
  uint64_t value() const { return h_; }
  uint64_t size() const { return n_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ULL;
  uint64_t n_ = 0;
};

struct Scenario {
  std::string name;
  LinkImpairments impair;  // both directions
  std::string cc;
  uint64_t bytes;
  Duration limit;
};

struct Outcome {
  bool done = false;
  uint64_t sent_hash = 0;
  uint64_t recv_hash = 0;
  uint64_t received = 0;
  Duration elapsed{0};
  uint32_t retrans = 0;
  uint64_t timeouts = 0;
  uint64_t fast_retransmits = 0;
};

Outcome RunTransfer(const Scenario& sc, uint64_t seed, const TcpConfig* tweak = nullptr) {
  VirtualClock clock;
  MemoryLinkConfig lc;
  lc.seed = seed;
  lc.a_to_b = sc.impair;
  lc.b_to_a = sc.impair;
  auto pair = MemoryLink::CreatePair(lc, clock);
  auto a = *Stack::CreateWithLink(Config(kMacA, "10.78.0.1/24", seed * 3 + 1), std::move(pair.a), &clock);
  auto b = *Stack::CreateWithLink(Config(kMacB, "10.78.0.2/24", seed * 5 + 2), std::move(pair.b), &clock);
  EXPECT_TRUE(a->StartManual().ok());
  EXPECT_TRUE(b->StartManual().ok());
  {
    std::lock_guard la(a->mutex());
    a->arp().cache().AddPermanent(kIpB, kMacB);
  }
  {
    std::lock_guard lb(b->mutex());
    b->arp().cache().AddPermanent(kIpA, kMacA);
  }
  if (tweak != nullptr) {
    for (Stack* st : {a.get(), b.get()}) {
      TcpConfig& c = st->tcp().mutable_config();
      c.sack = tweak->sack;
      c.timestamps = tweak->timestamps;
      c.window_scaling = tweak->window_scaling;
    }
  }
  testing::Simulator sim(&clock);
  sim.Add(a.get());
  sim.Add(b.get());

  Outcome out;
  auto listener = b->CreateTcpSocket();
  listener->set_nonblocking(true);
  EXPECT_TRUE(listener->Bind(SocketAddress{IpAddress(kIpB), kPort, 0}).ok());
  EXPECT_TRUE(listener->Listen(4).ok());
  auto client = a->CreateTcpSocket();
  client->set_nonblocking(true);
  if (!sc.cc.empty()) {
    EXPECT_TRUE(client->SetOption(IPPROTO_TCP, TCP_CONGESTION, sc.cc.c_str(),
                                  static_cast<socklen_t>(sc.cc.size())).ok());
  }
  EXPECT_EQ(client->Connect(SocketAddress{IpAddress(kIpB), kPort, 0}).error(), EINPROGRESS);

  Pattern pattern(seed);
  StreamHash sent_hash, recv_hash;
  std::shared_ptr<TcpSocket> server;
  std::vector<uint8_t> chunk(256 * 1024);
  std::vector<uint8_t> rbuf(256 * 1024);
  uint64_t offset = 0;
  size_t pending_off = 0, pending_len = 0;
  bool shut = false;
  bool eof = false;
  const Instant start = clock.Now();
  sim.AddHook([&] {
    if (!server) {
      auto acc = listener->Accept();
      if (acc.ok()) {
        server = *acc;
        server->set_nonblocking(true);
      }
    }
    // The sender writes as long as the socket takes data.
    while (!shut) {
      if (pending_len == 0) {
        if (offset >= sc.bytes) {
          if (client->Shutdown(SHUT_WR).ok()) shut = true;
          break;
        }
        pending_len = static_cast<size_t>(std::min<uint64_t>(chunk.size(), sc.bytes - offset));
        pattern.Fill(offset, MutableByteSpan(chunk.data(), pending_len));
        sent_hash.Add(ByteSpan(chunk.data(), pending_len));
        offset += pending_len;
        pending_off = 0;
      }
      auto n = client->Send(ByteSpan(chunk.data() + pending_off, pending_len), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (!n.ok()) break;  // EAGAIN (or still connecting)
      pending_off += *n;
      pending_len -= *n;
    }
    while (server && !eof) {
      auto n = server->Recv(rbuf, MSG_DONTWAIT);
      if (!n.ok()) break;
      if (*n == 0) {
        eof = true;
        break;
      }
      recv_hash.Add(ByteSpan(rbuf.data(), *n));
    }
  });
  out.done = sim.RunUntil([&] { return eof; }, sc.limit);
  out.elapsed = clock.Now() - start;
  out.sent_hash = sent_hash.value();
  out.recv_hash = recv_hash.value();
  out.received = recv_hash.size();
  {
    std::lock_guard la(a->mutex());
    if (auto c = client->connection()) {
      TcpInfo info;
      c->FillInfo(&info, clock.Now());
      out.retrans = info.tcpi_total_retrans;
    }
  }
  {
    auto counters = a->CounterSnapshot();
    out.timeouts = counters["tcp.timeouts"];
    out.fast_retransmits = counters["tcp.fast_retransmits"];
  }
  if (getenv("TCP_TRANSFER_DEBUG") != nullptr) {
    for (const auto& [k, v] : a->CounterSnapshot()) {
      if (k.rfind("tcp.", 0) == 0) std::printf("  A %s=%lu\n", k.c_str(), static_cast<unsigned long>(v));
    }
    for (const auto& [k, v] : b->CounterSnapshot()) {
      if (k.rfind("tcp.", 0) == 0) std::printf("  B %s=%lu\n", k.c_str(), static_cast<unsigned long>(v));
    }
  }
  if (server) server->Close();
  client->Close();
  listener->Close();
  server.reset();
  client.reset();
  listener.reset();
  return out;
}

LinkImpairments Path() {
  // 100 Mbit/s, 5 ms each way, a 200-frame queue: a bottleneck that makes congestion
  // control matter.
  LinkImpairments p;
  p.delay = std::chrono::milliseconds(5);
  p.rate_bytes_per_second = 12'500'000;
  p.queue_limit = 200;
  return p;
}

LinkImpairments With(double loss, double reorder = 0, double dup = 0, double corrupt = 0) {
  LinkImpairments p = Path();
  p.loss = loss;
  p.reorder = reorder;
  p.reorder_delay = std::chrono::milliseconds(2);
  p.duplicate = dup;
  p.corrupt = corrupt;
  return p;
}

constexpr uint64_t kMB = 1024 * 1024;

std::vector<Scenario> Scenarios() {
  std::vector<Scenario> v;
  for (const char* cc : {"cubic", "reno"}) {
    const std::string c(cc);
    const uint64_t clean = c == "cubic" ? 100 * kMB : 32 * kMB;
    v.push_back({c + "_clean", With(0), c, clean, std::chrono::seconds(600)});
    v.push_back({c + "_loss1", With(0.01), c, 16 * kMB, std::chrono::seconds(3600)});
    v.push_back({c + "_loss5", With(0.05), c, 8 * kMB, std::chrono::seconds(3600)});
    v.push_back({c + "_loss20", With(0.20), c, 2 * kMB, std::chrono::seconds(7200)});
    v.push_back({c + "_reorder", With(0, 0.1), c, 16 * kMB, std::chrono::seconds(3600)});
    v.push_back({c + "_duplicate", With(0, 0, 0.05), c, 16 * kMB, std::chrono::seconds(3600)});
    v.push_back({c + "_corrupt", With(0, 0, 0, 0.05), c, 16 * kMB, std::chrono::seconds(3600)});
    v.push_back({c + "_all", With(0.02, 0.05, 0.02, 0.02), c, 8 * kMB, std::chrono::seconds(3600)});
  }
  // No bottleneck at all: the stacks as fast as they go, 100 MB.
  LinkImpairments fast;
  v.push_back({"cubic_unlimited_100MB", fast, "cubic", 100 * kMB, std::chrono::seconds(600)});
  return v;
}

std::string SnapshotPath() { return std::string(PYTCP_SOURCE_DIR) + "/tests/tcp/testdata/transfer_snapshot.txt"; }

// Every scenario must deliver the stream intact; the throughput table is compared with
// the reviewed snapshot so that any behaviour change shows up as a diff (rewrite it with
// PYTCP_UPDATE_SNAPSHOT=1 and review the change).
TEST(TcpTransferTest, HashesMatchAndThroughputMatchesSnapshot) {
  std::string table =
      "# Bulk transfer A->B over a 100 Mbit/s, 5 ms each way, 200-frame path (both\n"
      "# directions impaired); virtual time. Columns: scenario, MB, virtual ms, Mbit/s,\n"
      "# retransmitted segments, RTO expiries, fast retransmits.\n";
  for (const Scenario& sc : Scenarios()) {
    const Outcome o = RunTransfer(sc, 11);
    EXPECT_TRUE(o.done) << sc.name << ": received " << o.received << " of " << sc.bytes;
    EXPECT_EQ(o.received, sc.bytes) << sc.name;
    EXPECT_EQ(o.recv_hash, o.sent_hash) << sc.name;
    const double secs = static_cast<double>(o.elapsed.count()) / 1e9;
    char line[160];
    std::snprintf(line, sizeof(line), "%-24s %4lu %8ld %7.1f %6u %4lu %4lu\n", sc.name.c_str(),
                  static_cast<unsigned long>(sc.bytes / kMB),
                  static_cast<long>(o.elapsed.count() / 1'000'000),
                  secs > 0 ? static_cast<double>(sc.bytes) * 8 / secs / 1e6 : 0.0, o.retrans,
                  static_cast<unsigned long>(o.timeouts), static_cast<unsigned long>(o.fast_retransmits));
    table += line;
  }
  std::printf("%s", table.c_str());
  if (getenv("PYTCP_UPDATE_SNAPSHOT") != nullptr) {
    std::ofstream(SnapshotPath()) << table;
    return;
  }
  std::ifstream in(SnapshotPath());
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(table, expected.str()) << "the throughput table changed: review it and rewrite "
                                      "tests/tcp/testdata/transfer_snapshot.txt with "
                                      "PYTCP_UPDATE_SNAPSHOT=1";
}

// Many seeds, random mixes of impairments (including a path without a bottleneck and
// one with jitter), both congestion controls, also with SACK or timestamps turned off:
// every transfer completes intact.
TEST(TcpTransferTest, RandomImpairmentsManySeeds) {
  for (uint64_t seed = 1; seed <= 24; ++seed) {
    Random r(seed * 7919);
    Scenario sc;
    sc.name = "seed" + std::to_string(seed);
    sc.impair = r.Chance(0.5) ? Path() : LinkImpairments{};
    sc.impair.delay = std::chrono::microseconds(r.Between(0, 20000));
    sc.impair.jitter = r.Chance(0.3) ? std::chrono::microseconds(r.Between(0, 3000)) : Duration(0);
    sc.impair.loss = static_cast<double>(r.Below(100)) / 1000.0;
    sc.impair.reorder = static_cast<double>(r.Below(100)) / 1000.0;
    sc.impair.duplicate = static_cast<double>(r.Below(50)) / 1000.0;
    sc.impair.corrupt = static_cast<double>(r.Below(50)) / 1000.0;
    sc.cc = r.Chance(0.5) ? "cubic" : "reno";
    sc.bytes = 256 * 1024 + r.Below(1024 * 1024);
    sc.limit = std::chrono::seconds(3600);
    TcpConfig tweak;
    tweak.sack = !r.Chance(0.25);
    tweak.timestamps = !r.Chance(0.25);
    tweak.window_scaling = !r.Chance(0.2);
    const Outcome o = RunTransfer(sc, seed, &tweak);
    EXPECT_TRUE(o.done) << sc.name << ": received " << o.received << " of " << sc.bytes;
    EXPECT_EQ(o.recv_hash, o.sent_hash) << sc.name;
    if (getenv("TCP_TRANSFER_DEBUG") != nullptr) {
      std::printf("%s %s loss=%.3f reorder=%.3f dup=%.3f corrupt=%.3f sack=%d ts=%d ws=%d: %lu bytes in %ld ms, %u retrans\n",
                  sc.name.c_str(), sc.cc.c_str(), sc.impair.loss, sc.impair.reorder,
                  sc.impair.duplicate, sc.impair.corrupt, tweak.sack, tweak.timestamps,
                  tweak.window_scaling, static_cast<unsigned long>(o.received),
                  static_cast<long>(o.elapsed.count() / 1'000'000), o.retrans);
    }
  }
}

}  // namespace
}  // namespace pytcp
