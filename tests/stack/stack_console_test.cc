// The console: commands against a stack driven by a virtual clock (tables, JSON, errors),
// and the served socket under abuse (many clients at once, a client that never reads, one
// that never sends its line, garbage) on a stack with its threads over a memory link.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "stack/link/memory_link.h"
#include "stack/stack.h"
#include "stack/stack_console.h"
#include "tests/support/simulator.h"
#include "tests/support/memory_stack.h"

namespace pytcp {
namespace {

StackConfig Config(std::string_view mac, std::string_view ifaddr) {
  StackConfig c = testing::MemoryStackConfig(MacAddress::Parse(mac), ifaddr, 5);
  c.ip4_gateway = Ip4Address(10, 77, 0, 1);
  return c;
}

std::string Console(Stack& s, const std::string& line) {
  std::string out;
  RunConsoleCommand(s, line, [&](const std::string& piece) {
    out += piece;
    return true;
  });
  return out;
}

// The table with each run of spaces made one (column widths follow the contents).
std::string Squeeze(const std::string& t) {
  std::string out;
  for (char c : t) {
    if (c != ' ' || out.empty() || out.back() != ' ') out += c;
  }
  return out;
}

class ConsoleCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = MemoryLink::CreatePair({}, clock_);
    a_ = *Stack::CreateWithLink(Config("02:00:00:77:00:02", "10.77.0.2/24"), std::move(pair.a), &clock_);
    b_ = *Stack::CreateWithLink(Config("02:00:00:77:00:03", "10.77.0.3/24"), std::move(pair.b), &clock_);
    ASSERT_TRUE(a_->StartManual().ok());
    ASSERT_TRUE(b_->StartManual().ok());
    sim_.Add(a_.get());
    sim_.Add(b_.get());
    sim_.RunFor(std::chrono::milliseconds(10));
  }
  VirtualClock clock_;
  testing::Simulator sim_{&clock_};
  std::unique_ptr<Stack> a_, b_;
};

TEST_F(ConsoleCommands, ShowTablesAreAlignedAndJsonMatches) {
  // A connection to B makes a neighbour, a socket and counters.
  auto listener = b_->CreateTcpSocket();
  ASSERT_TRUE(listener->Bind(SocketAddress{IpAddress(Ip4Address()), 7}).ok());
  ASSERT_TRUE(listener->Listen(4).ok());
  auto client = a_->CreateTcpSocket();
  client->set_nonblocking(true);
  (void)client->Connect(SocketAddress{IpAddress(Ip4Address(10, 77, 0, 3)), 7});
  sim_.RunFor(std::chrono::milliseconds(50));

  const std::string routes = Console(*a_, "show routes");
  EXPECT_NE(routes.find("default via 10.77.0.1 dev mem0\n"), std::string::npos) << routes;
  EXPECT_NE(routes.find("10.77.0.0/24 dev mem0 proto kernel scope link"), std::string::npos) << routes;
  const std::string neigh = Console(*a_, "show neighbours");
  EXPECT_NE(neigh.find("10.77.0.3  02:00:00:77:00:03  REACHABLE"), std::string::npos) << neigh;
  auto ping = a_->CreateIcmp4Socket(SOCK_DGRAM);
  ASSERT_TRUE(ping->Bind(SocketAddress{IpAddress(Ip4Address()), 4242}).ok());
  const std::string sockets = Console(*a_, "show sockets");
  EXPECT_NE(sockets.find("icmp   UNCONN       0       0       *:4242"), std::string::npos) << sockets;
  EXPECT_NE(sockets.find("tcp    ESTABLISHED"), std::string::npos) << sockets;
  EXPECT_NE(sockets.find("10.77.0.3:7"), std::string::npos) << sockets;
  const std::string json = Console(*a_, "show sockets --json");
  EXPECT_NE(json.find("\"proto\": \"tcp\", \"state\": \"ESTABLISHED\", \"recv_q\": 0"), std::string::npos)
      << json;
  EXPECT_NE(Console(*a_, "show counters tcp.").find("tcp.active_opens"), std::string::npos);
  EXPECT_EQ(Console(*a_, "show counters tcp.").find("ip4."), std::string::npos);
  EXPECT_NE(Console(*a_, "show addresses --json").find("\"address\": \"10.77.0.2/24\""), std::string::npos);
  EXPECT_NE(Console(*a_, "show interface").find("mem0  02:00:00:77:00:02  1500"), std::string::npos);
  EXPECT_NE(Console(*a_, "show multicast").find("224.0.0.1"), std::string::npos);
  {
    // A socket's IPv4 groups, with IGMP's version and a source-specific filter.
    auto u = a_->CreateUdpSocket();
    ip_mreq m{};
    m.imr_multiaddr.s_addr = htonl(0xef010203);  // 239.1.2.3
    ASSERT_TRUE(u->SetOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)).ok());
    ip_mreq_source ms{};
    ms.imr_multiaddr.s_addr = htonl(0xe84d0001);  // 232.77.0.1
    ms.imr_sourceaddr.s_addr = htonl(0x0a4d0001);  // 10.77.0.1
    ASSERT_TRUE(u->SetOption(IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &ms, sizeof(ms)).ok());
    const std::string mc = Squeeze(Console(*a_, "show multicast"));
    EXPECT_NE(mc.find("inet 239.1.2.3 01:00:5e:01:02:03 joined IGMPv3"), std::string::npos) << mc;
    EXPECT_NE(mc.find("inet 232.77.0.1 01:00:5e:4d:00:01 include 10.77.0.1 IGMPv3"),
              std::string::npos) << mc;
    u->Close();
  }
  EXPECT_EQ(Console(*a_, "show dhcp --json"), "[]\n");  // static addresses: no DHCP client
  const std::string info = Console(*a_, "info");
  EXPECT_NE(info.find("\"interface\": \"mem0\""), std::string::npos) << info;
  EXPECT_NE(info.find("\"addresses\": [\"10.77.0.2/24\"]"), std::string::npos) << info;
}

TEST_F(ConsoleCommands, ShowSocketsListsListenersAndDatagramQueues) {
  // As ss -tuan: a listener with its accept queue and backlog, a UDP socket with the bytes
  // waiting in its receive queue (each datagram charged its size plus 256, as SO_RCVBUF
  // counts it), an unbound UDP socket not at all.
  auto listener = b_->CreateTcpSocket();
  ASSERT_TRUE(listener->Bind(SocketAddress{IpAddress(Ip4Address()), 7}).ok());
  ASSERT_TRUE(listener->Listen(4).ok());
  auto client = a_->CreateTcpSocket();
  client->set_nonblocking(true);
  (void)client->Connect(SocketAddress{IpAddress(Ip4Address(10, 77, 0, 3)), 7});
  auto udp = b_->CreateUdpSocket();
  ASSERT_TRUE(udp->Bind(SocketAddress{IpAddress(Ip4Address()), 5353}).ok());
  auto unbound = b_->CreateUdpSocket();
  auto sender = a_->CreateUdpSocket();
  const std::vector<uint8_t> data(100, 'u');
  const SocketAddress to{IpAddress(Ip4Address(10, 77, 0, 3)), 5353};
  ASSERT_TRUE(sender->SendTo(data, &to, 0).ok());
  ASSERT_TRUE(sender->SendTo(data, &to, 0).ok());
  sim_.RunFor(std::chrono::milliseconds(50));
  const std::string sockets = Squeeze(Console(*b_, "show sockets"));
  EXPECT_NE(sockets.find("tcp LISTEN 1 4 *:7 *:* - - -"), std::string::npos) << sockets;
  EXPECT_NE(sockets.find("udp UNCONN 712 0 *:5353 *:* - - -"), std::string::npos) << sockets;
  EXPECT_EQ(sockets.find("*:0 "), std::string::npos) << sockets;
  const std::string a_sockets = Squeeze(Console(*a_, "show sockets"));
  EXPECT_NE(a_sockets.find("udp UNCONN 0 0 *:"), std::string::npos) << a_sockets;
  std::vector<uint8_t> buf(200);
  ASSERT_TRUE(udp->RecvFrom(buf, nullptr, 0).ok());
  EXPECT_NE(Console(*b_, "show sockets --json")
                .find("\"proto\": \"udp\", \"state\": \"UNCONN\", \"recv_q\": 356, \"send_q\": 0"),
            std::string::npos);
  ASSERT_TRUE(listener->Accept().ok());
  const std::string after = Squeeze(Console(*b_, "show sockets"));
  EXPECT_NE(after.find("tcp LISTEN 0 4 *:7"), std::string::npos) << after;
}

TEST(ConsoleIp6, MulticastAddressesAndIcmp6Sockets) {
  VirtualClock clock;
  StackConfig c = Config("02:00:00:77:00:02", "10.77.0.2/24");
  c.ip6_mode = Ip6Mode::kStatic;
  c.ip6_addresses = {*Ip6Interface::Parse("fd77::2/64")};
  auto pair = MemoryLink::CreatePair({}, clock);
  auto s = *Stack::CreateWithLink(c, std::move(pair.a), &clock);
  ASSERT_TRUE(s->StartManual().ok());
  for (int i = 0; i < 500; ++i) {  // past DAD (RFC 4862 §5.4: about a second)
    clock.Advance(std::chrono::milliseconds(10));
    s->ProcessLink();
    s->RunTimers();
  }
  // All-nodes, and the solicited-node groups of fd77::2 and of the EUI-64 link-local
  // address fe80::ff:fe77:2 (RFC 4291 §2.7.1), with their MACs and MLD state.
  const std::string mc = Squeeze(Console(*s, "show multicast"));
  EXPECT_NE(mc.find("inet6 ff02::1 33:33:00:00:00:01 all-nodes no"), std::string::npos) << mc;
  EXPECT_NE(mc.find("inet6 ff02::1:ff00:2 33:33:ff:00:00:02 solicited-node MLDv2"),
            std::string::npos) << mc;
  EXPECT_NE(mc.find("ff02::1:ff77:2"), std::string::npos) << mc;
  EXPECT_NE(mc.find("224.0.0.1"), std::string::npos) << mc;
  const std::string addrs = Squeeze(Console(*s, "show addresses"));
  EXPECT_NE(addrs.find("inet6 fd77::2/64 preferred static"), std::string::npos) << addrs;
  EXPECT_NE(Console(*s, "info").find("\"fd77::2/64\""), std::string::npos);
  const std::string routes = Squeeze(Console(*s, "show routes"));
  EXPECT_NE(routes.find("fd77::/64 dev mem0 proto kernel metric 256 pref medium"), std::string::npos) << routes;
  auto ping6 = s->CreateIcmp6Socket(SOCK_DGRAM);
  ASSERT_TRUE(ping6->Bind(SocketAddress{IpAddress(Ip6Address()), 4343, 0}).ok());
  auto raw6 = s->CreateIcmp6Socket(SOCK_RAW);
  const std::string sockets = Squeeze(Console(*s, "show sockets"));
  EXPECT_NE(sockets.find("icmp6 UNCONN 0 0 *:4343 * - - -"), std::string::npos) << sockets;
  EXPECT_NE(sockets.find("raw-icmp6 UNCONN 0 0 * * - - -"), std::string::npos) << sockets;
  s->Stop();
}

// `route add` and `route del` change the table as `ip route` does, refuse what Linux
// refuses, and the stack routes by the result: longest prefix, then the lowest metric.
TEST_F(ConsoleCommands, RouteAddAndDelChangeTheTable) {
  EXPECT_EQ(Console(*a_, "route add 10.78.0.0/24 via 10.77.0.3 metric 5"),
            "added 10.78.0.0/24 via 10.77.0.3 metric 5\n");
  EXPECT_EQ(Console(*a_, "route add 10.78.0.0/24 via 10.77.0.1 metric 9"),
            "added 10.78.0.0/24 via 10.77.0.1 metric 9\n");
  EXPECT_EQ(Console(*a_, "route add 10.78.0.2 via 10.77.0.1"), "added 10.78.0.2 via 10.77.0.1\n");
  std::string routes = Console(*a_, "show routes");
  EXPECT_NE(routes.find("10.78.0.0/24 via 10.77.0.3 dev mem0 metric 5\n"), std::string::npos)
      << routes;
  EXPECT_NE(routes.find("10.78.0.2/32 via 10.77.0.1 dev mem0\n"), std::string::npos) << routes;
  {
    std::lock_guard lock(a_->mutex());
    EXPECT_EQ(a_->ip4_routes().Lookup(Ip4Address(10, 78, 0, 9))->gateway, Ip4Address(10, 77, 0, 3));
    EXPECT_EQ(a_->ip4_routes().Lookup(Ip4Address(10, 78, 0, 2))->gateway, Ip4Address(10, 77, 0, 1));
  }
  // What ip route refuses: the same prefix and metric again (EEXIST), a gateway no
  // connected network reaches, a device that is not ours, a route that is not there.
  EXPECT_EQ(Console(*a_, "route add 10.78.0.0/24 via 10.77.0.1 metric 5"),
            "error: a static route to 10.78.0.0/24 with metric 5 exists\n");
  EXPECT_EQ(Console(*a_, "route add 10.79.0.0/24 via 10.78.0.1"),
            "error: gateway 10.78.0.1 is not on a connected network (Nexthop has invalid gateway)\n");
  EXPECT_EQ(Console(*a_, "route add 10.79.0.0/24 dev tap9"),
            "error: no device tap9 (this stack's interfaces: mem0)\n");
  EXPECT_EQ(Console(*a_, "route add 10.79.0.0/24"),
            "error: a route needs 'via GATEWAY' or 'dev IFACE'\n");
  EXPECT_EQ(Console(*a_, "route flush"),
            "error: usage: route add|del PREFIX [via GATEWAY] [dev IFACE] [metric N]\n");
  // An on-link route makes its gateways valid, as a connected network does.
  EXPECT_EQ(Console(*a_, "route add 10.80.0.0/16 dev mem0"), "added 10.80.0.0/16 dev mem0\n");
  EXPECT_EQ(Console(*a_, "route add 10.81.0.0/24 via 10.80.0.1"), "added 10.81.0.0/24 via 10.80.0.1\n");

  EXPECT_EQ(Console(*a_, "route del 10.78.0.0/24 via 10.77.0.3"), "deleted 10.78.0.0/24 via 10.77.0.3\n");
  {
    std::lock_guard lock(a_->mutex());
    EXPECT_EQ(a_->ip4_routes().Lookup(Ip4Address(10, 78, 0, 9))->gateway, Ip4Address(10, 77, 0, 1));
  }
  EXPECT_EQ(Console(*a_, "route del 10.78.0.0/24"), "deleted 10.78.0.0/24\n");
  EXPECT_EQ(Console(*a_, "route del 10.78.0.0/24"),
            "error: no static route to 10.78.0.0/24 (No such process)\n");
  // The connected route is not a static one: route del leaves it.
  EXPECT_EQ(Console(*a_, "route del 10.77.0.0/24"),
            "error: no static route to 10.77.0.0/24 (No such process)\n");
  routes = Console(*a_, "show routes");
  EXPECT_EQ(routes.find("10.78.0.0/24"), std::string::npos) << routes;
  EXPECT_NE(routes.find("10.77.0.0/24 dev mem0 proto kernel scope link"), std::string::npos) << routes;
}

TEST_F(ConsoleCommands, GarbageGetsAnErrorLine) {
  EXPECT_EQ(Console(*a_, "").rfind("error:", 0), 0u);
  EXPECT_EQ(Console(*a_, "frobnicate now").rfind("error: unknown command 'frobnicate'", 0), 0u);
  EXPECT_EQ(Console(*a_, "show nothing").rfind("error:", 0), 0u);
  EXPECT_EQ(Console(*a_, "ping not-an-address").rfind("error: usage", 0), 0u);
  EXPECT_EQ(Console(*a_, "ping fd77::1%tap7").rfind("error: usage", 0), 0u);  // zone: link-local only
  EXPECT_EQ(Console(*a_, "log loud").rfind("error: usage", 0), 0u);
  EXPECT_EQ(Console(*a_, "capture").rfind("error: usage", 0), 0u);
  EXPECT_EQ(Console(*a_, std::string(10000, 'x')).rfind("error:", 0), 0u);
}

// --- the served socket ---

int Connect(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string Ask(const std::string& path, const std::string& line) {
  const int fd = Connect(path);
  if (fd < 0) return "connect failed";
  const std::string l = line + "\n";
  // A busy server may already have closed us: EPIPE, not SIGPIPE.
  (void)!send(fd, l.data(), l.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

class ConsoleServer : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pytcp-console-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/c.sock";
    setenv("PYTCP_CONSOLE", path_.c_str(), 1);
    auto pair = MemoryLink::CreatePair({}, RealClock::Instance());
    peer_link_ = std::move(pair.b);
    stack_ = *Stack::CreateWithLink(Config("02:00:00:77:00:02", "10.77.0.2/24"), std::move(pair.a),
                                    &RealClock::Instance());
    ASSERT_TRUE(stack_->Start().ok());
    unsetenv("PYTCP_CONSOLE");
  }
  void TearDown() override {
    stack_->Stop();
    rmdir(dir_.c_str());
  }
  std::string dir_, path_;
  std::unique_ptr<Link> peer_link_;
  std::unique_ptr<Stack> stack_;
};

TEST_F(ConsoleServer, OwnerOnlySocketAtTheConfiguredPath) {
  EXPECT_EQ(stack_->console_path(), path_);
  struct stat st{};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(Ask(path_, "show routes").find("default via 10.77.0.1 dev "), std::string::npos);
  stack_->Stop();
  EXPECT_NE(stat(path_.c_str(), &st), 0);  // removed when the stack stops
}

TEST_F(ConsoleServer, SurvivesManyClientsSilentClientsAndNonReaders) {
  // Clients that connect and never send: they hold a slot for 2 s at most.
  std::vector<int> silent;
  for (int i = 0; i < 4; ++i) silent.push_back(Connect(path_));
  // A client that asks for a lot and never reads.
  const int hog = Connect(path_);
  ASSERT_GE(hog, 0);
  const std::string big = "show counters\n";
  (void)!send(hog, big.data(), big.size(), MSG_NOSIGNAL);
  // Many clients at once: every one gets an answer or a clean "busy".
  std::vector<std::thread> threads;
  std::atomic<int> answered{0}, busy{0}, other{0};
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&] {
      const std::string r = Ask(path_, "show interface");
      if (r.find("mem0") != std::string::npos) {
        ++answered;
      } else if (r.rfind("error: busy", 0) == 0) {
        ++busy;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(answered.load(), 0);
  // Garbage, a binary line, an overlong line.
  EXPECT_EQ(Ask(path_, "\x01\x02\xff garbage").rfind("error:", 0), 0u);
  EXPECT_EQ(Ask(path_, std::string(8000, 'y')).rfind("error:", 0), 0u);
  for (int fd : silent) close(fd);
  close(hog);
  // The stack itself kept working throughout: a socket call does not wait for the console.
  auto sock = stack_->CreateUdpSocket();
  EXPECT_TRUE(sock->Bind(SocketAddress{IpAddress(Ip4Address()), 9999}).ok());
  EXPECT_NE(Ask(path_, "show sockets").find("*:9999"), std::string::npos);
}

// A process killed by a signal leaves <pid>.sock behind: a stack starting in the same
// directory removes the files of pids that are gone and that nobody serves, and keeps a
// live process's file.
TEST(ConsoleStale, StartingStackRemovesConsolesOfDeadProcesses) {
  char tmpl[] = "/tmp/pytcp-console-stale-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_GT(dead, 0);
  ASSERT_EQ(waitpid(dead, nullptr, 0), dead);
  auto leave_socket = [](const std::string& path) {  // bound, then closed: connect is refused
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    close(fd);
  };
  const std::string stale = dir + "/" + std::to_string(dead) + ".sock";
  const std::string live = dir + "/" + std::to_string(getppid()) + ".sock";
  const std::string other = dir + "/notes.sock";
  leave_socket(stale);
  leave_socket(live);
  leave_socket(other);
  const std::string mine = dir + "/" + std::to_string(getpid()) + ".sock";
  setenv("PYTCP_CONSOLE", mine.c_str(), 1);
  auto pair = MemoryLink::CreatePair({}, RealClock::Instance());
  auto s = *Stack::CreateWithLink(Config("02:00:00:77:00:02", "10.77.0.2/24"), std::move(pair.a),
                                  &RealClock::Instance());
  ASSERT_TRUE(s->Start().ok());
  unsetenv("PYTCP_CONSOLE");
  struct stat st{};
  EXPECT_NE(stat(stale.c_str(), &st), 0);  // removed
  EXPECT_EQ(stat(live.c_str(), &st), 0);   // its process lives
  EXPECT_EQ(stat(other.c_str(), &st), 0);  // not a <pid>.sock
  EXPECT_EQ(stat(mine.c_str(), &st), 0);
  s->Stop();
  unlink(live.c_str());
  unlink(other.c_str());
  rmdir(dir.c_str());
}

}  // namespace
}  // namespace pytcp
