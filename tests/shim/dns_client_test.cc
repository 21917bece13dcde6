// The shim's stub resolver (shim/dns_client.h) against scripted DNS servers on the
// kernel's loopback: answers, CNAME chains, NXDOMAIN and NODATA, the answers it must
// ignore (wrong ID, wrong question, not a response, garbage), server failover on SERVFAIL,
// silence and ICMP refusal, TCP fallback on truncation, fresh IDs and ports per query.
#include "shim/dns_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "shim/hosts_file.h"

namespace pytcp::shim {
namespace {

using Bytes = std::vector<uint8_t>;

struct Query {
  uint16_t id;
  std::string name;
  DnsType type;
  uint16_t port;  // the client's source port
  bool edns = false;  // an OPT record came with it (RFC 6891)
};

// What a script answers to one query: datagrams to send back (possibly none).
using Script = std::function<std::vector<Bytes>(const Query&)>;

Bytes Message(const DnsHeader& h, const std::function<void(DnsMessageWriter&)>& body) {
  Bytes b(4096);
  DnsMessageWriter w(MutableByteSpan(b.data(), b.size()), h);
  body(w);
  b.resize(w.Finish());
  return b;
}

DnsHeader ResponseTo(const Query& q, DnsRcode rcode = DnsRcode::kNoError) {
  DnsHeader h;
  h.id = q.id;
  h.response = true;
  h.recursion_available = true;
  h.rcode = rcode;
  return h;
}

// An answer with A records for the asked name.
Bytes AnswerA(const Query& q, std::vector<Ip4Address> addrs) {
  return Message(ResponseTo(q), [&](DnsMessageWriter& w) {
    w.AddQuestion(q.name, q.type);
    for (Ip4Address a : addrs) w.AddA(DnsMessageWriter::Section::kAnswer, q.name, 60, a);
  });
}

// A UDP (and optionally TCP) DNS server on 127.0.0.1 run by a script.
class ScriptedServer {
 public:
  explicit ScriptedServer(Script udp, Script tcp = nullptr) : udp_(std::move(udp)), tcp_(std::move(tcp)) {
    udp_fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(udp_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(udp_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (tcp_) {
      tcp_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int on = 1;
      setsockopt(tcp_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
      EXPECT_EQ(bind(tcp_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
      EXPECT_EQ(listen(tcp_fd_, 4), 0);
    }
    thread_ = std::thread([this] { Run(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    close(udp_fd_);
    if (tcp_fd_ >= 0) close(tcp_fd_);
  }
  DnsServer server() const { return DnsServer{Ip4Address::Loopback(), port_}; }
  std::vector<Query> queries() {
    std::lock_guard lock(mu_);
    return queries_;
  }
  int tcp_queries() const { return tcp_count_; }

 private:
  static std::optional<Query> Parse(const uint8_t* p, size_t n, uint16_t port) {
    auto v = DnsView::Parse(ByteSpan(p, n));
    if (!v.ok() || v->question_count() != 1) return std::nullopt;
    const DnsQuestionView q = *v->questions().begin();
    bool edns = false;
    for (const DnsRecordView r : v->additionals()) edns = edns || r.type() == DnsType::kOpt;
    return Query{v->id(), q.name().ToString(), q.type(), port, edns};
  }

  void Run() {
    while (!stop_) {
      pollfd p[2] = {{udp_fd_, POLLIN, 0}, {tcp_fd_, POLLIN, 0}};
      if (poll(p, tcp_fd_ >= 0 ? 2 : 1, 20) <= 0) continue;
      if (p[0].revents & POLLIN) {
        uint8_t buf[1024];
        sockaddr_in from{};
        socklen_t len = sizeof(from);
        const ssize_t n = recvfrom(udp_fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) continue;
        auto q = Parse(buf, static_cast<size_t>(n), ntohs(from.sin_port));
        if (!q) continue;
        {
          std::lock_guard lock(mu_);
          queries_.push_back(*q);
        }
        for (const Bytes& r : udp_(*q)) {
          sendto(udp_fd_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
      if (tcp_fd_ >= 0 && (p[1].revents & POLLIN)) ServeTcp();
    }
  }

  void ServeTcp() {
    const int c = accept(tcp_fd_, nullptr, nullptr);
    if (c < 0) return;
    uint8_t len_bytes[2];
    uint8_t buf[1024];
    if (recv(c, len_bytes, 2, MSG_WAITALL) == 2) {
      const size_t n = LoadBe16(len_bytes);
      if (n <= sizeof(buf) && recv(c, buf, n, MSG_WAITALL) == static_cast<ssize_t>(n)) {
        if (auto q = Parse(buf, n, 0)) {
          ++tcp_count_;
          for (const Bytes& r : tcp_(*q)) {
            uint8_t prefix[2];
            StoreBe16(prefix, static_cast<uint16_t>(r.size()));
            send(c, prefix, 2, 0);
            send(c, r.data(), r.size(), 0);
          }
        }
      }
    }
    close(c);
  }

  Script udp_, tcp_;
  int udp_fd_ = -1, tcp_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> tcp_count_{0};
  std::mutex mu_;
  std::vector<Query> queries_;
  std::thread thread_;
};

DnsClientOptions Options(std::vector<DnsServer> servers, int timeout_ms = 200) {
  DnsClientOptions o;
  o.servers = std::move(servers);
  o.timeout_ms = timeout_ms;
  o.attempts = 2;
  return o;
}

const Ip4Address kA1(10, 77, 0, 1);
const Ip4Address kA2(10, 77, 0, 9);

TEST(DnsClient, AnswerWithTwoAddresses) {
  ScriptedServer s([](const Query& q) { return std::vector<Bytes>{AnswerA(q, {kA1, kA2})}; });
  const DnsResult r = DnsResolve("peer.lab", DnsType::kA, Options({s.server()}));
  ASSERT_EQ(r.status, DnsStatus::kOk);
  EXPECT_EQ(r.a, (std::vector<Ip4Address>{kA1, kA2}));
  EXPECT_EQ(r.canonical, "peer.lab");
  ASSERT_EQ(s.queries().size(), 1u);
  EXPECT_EQ(s.queries()[0].name, "peer.lab");
  EXPECT_EQ(s.queries()[0].type, DnsType::kA);
}

TEST(DnsClient, FollowsCnameChainAndIgnoresStrangers) {
  ScriptedServer s([](const Query& q) {
    return std::vector<Bytes>{Message(ResponseTo(q), [&](DnsMessageWriter& w) {
      w.AddQuestion(q.name, q.type);
      w.AddCname(DnsMessageWriter::Section::kAnswer, q.name, 60, "mid.lab");
      w.AddCname(DnsMessageWriter::Section::kAnswer, "MID.lab", 60, "end.lab");
      w.AddA(DnsMessageWriter::Section::kAnswer, "other.lab", 60, kA2);  // not in the chain
      w.AddA(DnsMessageWriter::Section::kAnswer, "end.lab", 60, kA1);
    })};
  });
  const DnsResult r = DnsResolve("www.lab", DnsType::kA, Options({s.server()}));
  ASSERT_EQ(r.status, DnsStatus::kOk);
  EXPECT_EQ(r.a, std::vector<Ip4Address>{kA1});
  EXPECT_EQ(r.canonical, "end.lab");
}

TEST(DnsClient, NxDomainAndNoData) {
  ScriptedServer nx([](const Query& q) {
    return std::vector<Bytes>{Message(ResponseTo(q, DnsRcode::kNxDomain),
                                      [&](DnsMessageWriter& w) { w.AddQuestion(q.name, q.type); })};
  });
  EXPECT_EQ(DnsResolve("nosuch.lab", DnsType::kA, Options({nx.server()})).status,
            DnsStatus::kNxDomain);
  ScriptedServer nodata([](const Query& q) { return std::vector<Bytes>{AnswerA(q, {})}; });
  EXPECT_EQ(DnsResolve("v4only.lab", DnsType::kAaaa, Options({nodata.server()})).status,
            DnsStatus::kNoData);
}

TEST(DnsClient, IgnoresForgedAnswersAndWaitsForTheRealOne) {
  ScriptedServer s([](const Query& q) {
    Query wrong_id = q;
    wrong_id.id = static_cast<uint16_t>(q.id + 1);
    Query wrong_name = q;
    wrong_name.name = "evil.lab";
    DnsHeader not_response = ResponseTo(q);
    not_response.response = false;
    return std::vector<Bytes>{
        AnswerA(wrong_id, {kA2}),
        AnswerA(wrong_name, {kA2}),
        Message(not_response, [&](DnsMessageWriter& w) { w.AddQuestion(q.name, q.type); }),
        Bytes{1, 2, 3},
        AnswerA(q, {kA1}),
    };
  });
  const DnsResult r = DnsResolve("peer.lab", DnsType::kA, Options({s.server()}));
  ASSERT_EQ(r.status, DnsStatus::kOk);
  EXPECT_EQ(r.a, std::vector<Ip4Address>{kA1});
}

TEST(DnsClient, CheckRejectsEachKind) {
  Query q{0x1234, "a.lab", DnsType::kA, 0};
  const Bytes good = AnswerA(q, {kA1});
  EXPECT_TRUE(CheckDnsResponse(ByteSpan(good.data(), good.size()), 0x1234, "A.LAB", DnsType::kA).ok());
  auto reason = [&](const Bytes& b, uint16_t id, std::string_view name, DnsType t) {
    auto r = CheckDnsResponse(ByteSpan(b.data(), b.size()), id, name, t);
    return r.ok() ? static_cast<DnsReject>(255) : r.error();
  };
  EXPECT_EQ(reason(good, 0x1235, "a.lab", DnsType::kA), DnsReject::kWrongId);
  EXPECT_EQ(reason(good, 0x1234, "b.lab", DnsType::kA), DnsReject::kWrongQuestion);
  EXPECT_EQ(reason(good, 0x1234, "a.lab", DnsType::kAaaa), DnsReject::kWrongQuestion);
  EXPECT_EQ(reason(Bytes{0, 1}, 0x1234, "a.lab", DnsType::kA), DnsReject::kMalformed);
}

TEST(DnsClient, ServfailMovesToTheNextServer) {
  ScriptedServer bad([](const Query& q) {
    return std::vector<Bytes>{Message(ResponseTo(q, DnsRcode::kServFail),
                                      [&](DnsMessageWriter& w) { w.AddQuestion(q.name, q.type); })};
  });
  ScriptedServer good([](const Query& q) { return std::vector<Bytes>{AnswerA(q, {kA1})}; });
  const DnsResult r = DnsResolve("peer.lab", DnsType::kA, Options({bad.server(), good.server()}));
  ASSERT_EQ(r.status, DnsStatus::kOk);
  EXPECT_EQ(bad.queries().size(), 1u);
}

TEST(DnsClient, SilenceTimesOutThenNextServer) {
  ScriptedServer silent([](const Query&) { return std::vector<Bytes>{}; });
  ScriptedServer good([](const Query& q) { return std::vector<Bytes>{AnswerA(q, {kA1})}; });
  const DnsResult r = DnsResolve("peer.lab", DnsType::kA, Options({silent.server(), good.server()}, 100));
  EXPECT_EQ(r.status, DnsStatus::kOk);
  // Only silence: every round asks again, with a fresh ID and port each time.
  const DnsResult t = DnsResolve("peer.lab", DnsType::kA, Options({silent.server()}, 50));
  EXPECT_EQ(t.status, DnsStatus::kTimeout);
  const auto qs = silent.queries();
  ASSERT_EQ(qs.size(), 3u);  // one from the first lookup, two rounds of the second
  EXPECT_NE(qs[1].id, qs[2].id);
  EXPECT_NE(qs[1].port, qs[2].port);
}

TEST(DnsClient, RefusedPortFailsFast) {
  // A port nobody listens on: ICMP port unreachable, ECONNREFUSED, no waiting.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  const auto t0 = std::chrono::steady_clock::now();
  const DnsResult r = DnsResolve("peer.lab", DnsType::kA,
                                 Options({DnsServer{Ip4Address::Loopback(), ntohs(a.sin_port)}}, 2000));
  EXPECT_EQ(r.status, DnsStatus::kServerFailure);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1000));
}

TEST(DnsClient, TruncatedAnswerIsAskedAgainOverTcp) {
  ScriptedServer s(
      [](const Query& q) {
        DnsHeader h = ResponseTo(q);
        h.truncated = true;
        return std::vector<Bytes>{Message(h, [&](DnsMessageWriter& w) { w.AddQuestion(q.name, q.type); })};
      },
      [](const Query& q) {
        std::vector<Ip4Address> many;
        for (uint8_t i = 1; i <= 40; ++i) many.push_back(Ip4Address(10, 77, 1, i));
        return std::vector<Bytes>{AnswerA(q, many)};
      });
  const DnsResult r = DnsResolve("big.lab", DnsType::kA, Options({s.server()}, 1000));
  ASSERT_EQ(r.status, DnsStatus::kOk);
  EXPECT_EQ(r.a.size(), 40u);
  EXPECT_EQ(s.tcp_queries(), 1);
}

TEST(DnsClient, BadNameAndNoServers) {
  EXPECT_EQ(DnsResolve(std::string(70, 'a') + ".lab", DnsType::kA, Options({DnsServer{}})).status,
            DnsStatus::kBadName);
  EXPECT_EQ(DnsResolve("a.lab", DnsType::kA, Options({})).status, DnsStatus::kNoServers);
}

TEST(DnsClient, PtrQueryGivesTheTargetName) {
  ScriptedServer s([](const Query& q) {
    return std::vector<Bytes>{Message(ResponseTo(q), [&](DnsMessageWriter& w) {
      w.AddQuestion(q.name, q.type);
      w.AddPtr(DnsMessageWriter::Section::kAnswer, q.name, 60, "peer.lab");
    })};
  });
  const DnsResult r = DnsResolve("1.0.77.10.in-addr.arpa", DnsType::kPtr, Options({s.server()}));
  ASSERT_EQ(r.status, DnsStatus::kOk);
  EXPECT_EQ(r.names, std::vector<std::string>{"peer.lab"});
  ASSERT_EQ(s.queries().size(), 1u);
  EXPECT_EQ(s.queries()[0].type, DnsType::kPtr);
  EXPECT_FALSE(s.queries()[0].edns);
}

TEST(DnsClient, Edns0AddsAnOptRecord) {
  ScriptedServer s([](const Query& q) { return std::vector<Bytes>{AnswerA(q, {kA1})}; });
  DnsClientOptions o = Options({s.server()});
  o.edns_udp_size = 1200;
  EXPECT_EQ(DnsResolve("peer.lab", DnsType::kA, o).status, DnsStatus::kOk);
  ASSERT_EQ(s.queries().size(), 1u);
  EXPECT_TRUE(s.queries()[0].edns);
}

TEST(DnsClient, RotateStartsEachQueryAtTheNextServer) {
  ScriptedServer a([](const Query& q) { return std::vector<Bytes>{AnswerA(q, {kA1})}; });
  ScriptedServer b([](const Query& q) { return std::vector<Bytes>{AnswerA(q, {kA1})}; });
  DnsClientOptions o = Options({a.server(), b.server()});
  o.rotate = true;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(DnsResolve("peer.lab", DnsType::kA, o).status, DnsStatus::kOk);
  EXPECT_EQ(a.queries().size(), 2u);
  EXPECT_EQ(b.queries().size(), 2u);
  // Without rotate the first server takes every query.
  o.rotate = false;
  for (int i = 0; i < 2; ++i) EXPECT_EQ(DnsResolve("peer.lab", DnsType::kA, o).status, DnsStatus::kOk);
  EXPECT_EQ(a.queries().size(), 4u);
  EXPECT_EQ(b.queries().size(), 2u);
}

TEST(DnsClient, FormErrIsNoRecoveryAndNotRetried) {
  ScriptedServer bad([](const Query& q) {
    return std::vector<Bytes>{Message(ResponseTo(q, DnsRcode::kFormErr),
                                      [&](DnsMessageWriter& w) { w.AddQuestion(q.name, q.type); })};
  });
  ScriptedServer good([](const Query& q) { return std::vector<Bytes>{AnswerA(q, {kA1})}; });
  const DnsResult r = DnsResolve("peer.lab", DnsType::kA, Options({bad.server(), good.server()}));
  EXPECT_EQ(r.status, DnsStatus::kNoRecovery);
  EXPECT_TRUE(good.queries().empty());
}

TEST(DnsClient, OnlyServfailIsMarkedAsSuch) {
  auto failing = [](DnsRcode rcode) {
    return [rcode](const Query& q) {
      return std::vector<Bytes>{Message(ResponseTo(q, rcode),
                                        [&](DnsMessageWriter& w) { w.AddQuestion(q.name, q.type); })};
    };
  };
  ScriptedServer servfail(failing(DnsRcode::kServFail));
  ScriptedServer refused(failing(DnsRcode::kRefused));
  DnsResult r = DnsResolve("peer.lab", DnsType::kA, Options({servfail.server()}));
  EXPECT_EQ(r.status, DnsStatus::kServerFailure);
  EXPECT_TRUE(r.servfail);
  r = DnsResolve("peer.lab", DnsType::kA, Options({refused.server()}));
  EXPECT_EQ(r.status, DnsStatus::kServerFailure);
  EXPECT_FALSE(r.servfail);
}

TEST(HostsFile, ParseAndLookup) {
  const auto hosts = ParseHosts(
      "# comment\n"
      "127.0.0.1\tlocalhost loopback # trailing\n"
      "::1 localhost ip6-localhost\n"
      "10.77.0.1 Peer.lab peer\n"
      "bogus line here\n"
      "10.77.0.9 peer.lab\n"
      "fe80::1%eth0 link\n");
  ASSERT_EQ(hosts.size(), 5u);
  auto m = LookupHosts(hosts, "PEER.LAB.", false);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->canonical, "Peer.lab");
  ASSERT_EQ(m->entries.size(), 2u);
  EXPECT_EQ(m->entries[1].a4, Ip4Address(10, 77, 0, 9));
  EXPECT_TRUE(LookupHosts(hosts, "localhost", true).has_value());
  EXPECT_FALSE(LookupHosts(hosts, "ip6-localhost", false).has_value());
  EXPECT_TRUE(LookupHosts(hosts, "link", true).has_value());
  const HostsEntry* e = LookupHostsAddress(hosts, false, Ip4Address(127, 0, 0, 1), Ip6Address());
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->canonical, "localhost");
}

}  // namespace
}  // namespace pytcp::shim
