#include "stack/stack_console.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "fmt/format.h"
#include "stack/base/log.h"
#include "stack/base/private_file.h"
#include "stack/stack.h"
#include "stack/wire/icmp4.h"

namespace pytcp {
namespace {

LogChannel log_console("console");

constexpr size_t kMaxClients = 8;
constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxOutput = 1 << 20;
constexpr auto kReadTimeout = std::chrono::seconds(2);
constexpr auto kWriteTimeout = std::chrono::seconds(5);

using Out = std::function<bool(const std::string&)>;

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

bool IsNumber(const std::string& s) {
  return !s.empty() && s.size() < 19 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A table: the text form is aligned columns under a header, the JSON form an array of
// objects keyed by the (lower-case) column names; all-digit cells become JSON numbers.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;

  std::string Text() const {
    std::vector<size_t> width(columns.size());
    for (size_t i = 0; i < columns.size(); ++i) width[i] = columns[i].size();
    for (const auto& r : rows) {
      for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
      std::string s;
      for (size_t i = 0; i < cells.size(); ++i) {
        s += cells[i];
        if (i + 1 < cells.size()) s += std::string(width[i] - cells[i].size() + 2, ' ');
      }
      return s + "\n";
    };
    std::string out = line(columns);
    for (const auto& r : rows) out += line(r);
    return out;
  }

  std::string Json() const {
    std::string out = "[";
    for (size_t n = 0; n < rows.size(); ++n) {
      out += n == 0 ? "\n  {" : ",\n  {";
      for (size_t i = 0; i < columns.size() && i < rows[n].size(); ++i) {
        std::string key = columns[i];
        std::transform(key.begin(), key.end(), key.begin(),
                       [](char c) { return c == ' ' || c == '-' ? '_' : static_cast<char>(std::tolower(c)); });
        if (i > 0) out += ", ";
        out += JsonString(key) + ": " + (IsNumber(rows[n][i]) ? rows[n][i] : JsonString(rows[n][i]));
      }
      out += "}";
    }
    return out + (rows.empty() ? "]\n" : "\n]\n");
  }
};

std::string ProgramName() {
  std::ifstream comm("/proc/self/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

// --- show ---

Table ShowInterface(Stack& s) {
  Table t{{"Name", "MAC", "MTU", "State"}, {}};
  std::lock_guard lock(s.mutex());
  t.rows.push_back({std::string(s.iface().name()), s.mac().ToString(),
                    std::to_string(s.iface().mtu()), "up"});
  return t;
}

Table ShowAddresses(Stack& s) {
  Table t{{"Family", "Address", "State", "Source"}, {}};
  std::lock_guard lock(s.mutex());
  for (const auto& e : s.ip4_addresses().entries()) {
    t.rows.push_back({"inet", fmt::format("{}", e.ifaddr), std::string(ToString(e.state)),
                      e.source == Ip4AddressSource::kDhcp ? "dhcp" : "static"});
  }
  for (const auto& e : s.ip6_addresses().entries()) {
    t.rows.push_back({"inet6", fmt::format("{}", e.ifaddr), std::string(ToString(e.state)),
                      std::string(ToString(e.source))});
  }
  return t;
}

Table ShowNeighbours(Stack& s) {
  struct Row {
    IpAddress address;
    MacAddress mac;
    NeighbourState state;
    bool router;
    size_t queued;
  };
  std::vector<Row> rows;
  {
    std::lock_guard lock(s.mutex());
    s.arp().cache().ForEach([&](const Ip4Address& a, const auto& e) {
      rows.push_back(Row{IpAddress(a), e.mac, e.state, e.is_router, e.queue.size()});
    });
    // RFC 4861 §5.1: the IPv6 Neighbor Cache (ND) is the same structure.
    s.nd().cache().ForEach([&](const Ip6Address& a, const auto& e) {
      rows.push_back(Row{IpAddress(a), e.mac, e.state, e.is_router, e.queue.size()});
    });
  }
  Table t{{"Address", "MAC", "State", "Router", "Queued"}, {}};
  for (const Row& r : rows) {
    t.rows.push_back({r.address.ToString(),
                      r.state == NeighbourState::kIncomplete ? "-" : r.mac.ToString(),
                      std::string(ToString(r.state)), r.router ? "yes" : "no",
                      std::to_string(r.queued)});
  }
  std::sort(t.rows.begin(), t.rows.end());
  return t;
}

Table ShowRoutes(Stack& s) {
  Table t{{"Destination", "Gateway", "Source", "Metric", "Origin"}, {}};
  std::lock_guard lock(s.mutex());
  for (const auto& r : s.ip4_routes().routes()) {
    t.rows.push_back({r.destination.prefix_length() == 0 ? "default" : fmt::format("{}", r.destination),
                      r.on_link() ? "on-link" : r.gateway.ToString(),
                      r.preferred_source.is_unspecified() ? "-" : r.preferred_source.ToString(),
                      std::to_string(r.metric), std::string(ToString(r.origin))});
  }
  // IPv6: prefixes and routes, then the Default Router List (RFC 4861 §6.3.4, with the
  // RFC 4191 preference as the metric's sign).
  auto origin6 = [](Ip6RouteOrigin o) {
    return o == Ip6RouteOrigin::kConnected ? "connected"
           : o == Ip6RouteOrigin::kStatic  ? "static"
                                           : "ra";
  };
  for (const auto& r : s.ip6_routes().routes()) {
    t.rows.push_back({r.network.ToString(), r.on_link() ? "on-link" : r.gateway.ToString(),
                      "-", "0", origin6(r.origin)});
  }
  for (const auto& r : s.ip6_routes().routers()) {
    t.rows.push_back({"default", r.address.ToString(), "-", std::to_string(-r.preference),
                      origin6(r.origin)});
  }
  return t;
}

std::string Endpoint(const IpAddress& ip, uint16_t port) {
  const std::string a = ip.is_unspecified() ? "*" : ip.ToString();
  return ip.is_v4() || ip.is_unspecified() ? fmt::format("{}:{}", a, port)
                                           : fmt::format("[{}]:{}", a, port);
}

Table ShowSockets(Stack& s) {
  // Snapshot plain values under the lock; format after releasing it (thousands of sockets
  // must not keep the stack waiting on string formatting). As `ss -tuan` shows them: a
  // listener's Recv-Q is its accept queue and Send-Q its backlog; a datagram socket's
  // Recv-Q the bytes waiting to be read (charged as SO_RCVBUF counts them), Send-Q 0
  // (a datagram leaves within the send call).
  struct Row {
    const char* proto;
    std::string_view state;  // static strings (ToString of an enum)
    int64_t recv_q = -1, send_q = -1;
    IpAddress local_ip, peer_ip;
    uint16_t local_port = 0, peer_port = 0;
    bool has_peer = false, has_port = true;
    uint32_t rtt_us = 0, cwnd = 0, retrans = 0;
    bool tcp = false;
  };
  std::vector<Row> rows;
  // pytcpd's processes per socket (as `ss -p`), asked before any lock is taken.
  const std::optional<Stack::SocketOwners> owners = s.SocketOwnersSnapshot();
  // The datagram sockets are the stack's tracked sockets (their queues live there); the
  // list is taken before the stack lock (Stack::OpenSockets' own lock comes first).
  const std::vector<std::shared_ptr<Socket>> open = s.OpenSockets();
  {
    std::lock_guard lock(s.mutex());
    const Instant now = s.clock().Now();
    s.tcp().ForEachListener([&](const TcpListener& l) {
      rows.push_back(Row{"tcp", "LISTEN", static_cast<int64_t>(l.pending()), l.backlog(),
                         l.local().ip, IpAddress(), l.local().port, 0, false, true, 0, 0, 0,
                         true});
    });
    s.tcp().ForEachConnection([&](const TcpConnection& c) {
      tcp_info info{};
      c.FillInfo(&info, now);
      const auto& tu = c.tuple();
      rows.push_back(Row{"tcp", ToString(c.state()), static_cast<int64_t>(c.readable()),
                         static_cast<int64_t>(c.send_queued()), tu.local_ip, tu.remote_ip,
                         tu.local_port, tu.remote_port, true, true, info.tcpi_rtt, c.cwnd(),
                         info.tcpi_total_retrans, true});
    });
    for (const auto& sock : open) {
      if (const auto* u = dynamic_cast<const UdpSocket*>(sock.get())) {
        const UdpEndpoint& e = u->endpoint();
        if (!e.bound) continue;  // not in the port table yet (ss does not show it either)
        rows.push_back(Row{e.ipv6 ? "udp6" : "udp", e.remote ? "ESTABLISHED" : "UNCONN",
                           static_cast<int64_t>(u->queued_bytes()), 0, e.local.ip,
                           e.remote ? e.remote->ip : IpAddress(), e.local.port,
                           e.remote ? e.remote->port : uint16_t{0}, e.remote.has_value(), true,
                           0, 0, 0, false});
      } else if (const auto* i4 = dynamic_cast<const Icmp4Socket*>(sock.get())) {
        const Icmp4Endpoint& e = i4->endpoint();
        if (!i4->raw() && !e.bound) continue;
        rows.push_back(Row{i4->raw() ? "raw-icmp" : "icmp", e.remote ? "ESTABLISHED" : "UNCONN",
                           static_cast<int64_t>(i4->queued_bytes()), 0, e.local.ip,
                           e.remote ? e.remote->ip : IpAddress(), e.local.port, 0,
                           e.remote.has_value(), !i4->raw(), 0, 0, 0, false});
      } else if (const auto* i6 = dynamic_cast<const Icmp6Socket*>(sock.get())) {
        const Icmp6Endpoint& e = i6->endpoint();
        if (!i6->raw() && !e.bound) continue;
        rows.push_back(Row{i6->raw() ? "raw-icmp6" : "icmp6", e.remote ? "ESTABLISHED" : "UNCONN",
                           static_cast<int64_t>(i6->queued_bytes()), 0, e.local.ip,
                           e.remote ? e.remote->ip : IpAddress(), e.local.port, 0,
                           e.remote.has_value(), !i6->raw(), 0, 0, 0, false});
      }
    }
  }
  Table t{{"Proto", "State", "Recv-Q", "Send-Q", "Local", "Peer", "RTT-ms", "Cwnd", "Retrans"}, {}};
  if (owners) t.columns.push_back("Process");
  auto num = [](int64_t v) { return v < 0 ? std::string("-") : std::to_string(v); };
  for (const Row& r : rows) {
    // ICMP sockets have no peer port; a raw one has no local port either.
    const bool ports = r.tcp || std::string_view(r.proto).rfind("udp", 0) == 0;
    const std::string peer = !r.has_peer ? (ports ? "*:*" : "*")
                             : ports     ? Endpoint(r.peer_ip, r.peer_port)
                                         : r.peer_ip.ToString();
    const std::string local = r.has_port ? Endpoint(r.local_ip, r.local_port)
                              : r.local_ip.is_unspecified() ? "*"
                                                            : r.local_ip.ToString();
    const bool conn = r.tcp && r.has_peer;
    t.rows.push_back({r.proto, std::string(r.state), num(r.recv_q), num(r.send_q), local, peer,
                      conn ? fmt::format("{:.3f}", r.rtt_us / 1000.0) : "-",
                      conn ? std::to_string(r.cwnd) : "-", conn ? std::to_string(r.retrans) : "-"});
    if (owners) {
      Stack::SocketOwnerKey key{r.tcp, {r.local_ip, r.local_port, 0}, {}};
      if (r.has_peer) key.peer = {r.peer_ip, r.peer_port, 0};
      auto it = owners->find(key);
      t.rows.back().push_back(it == owners->end() ? "-" : it->second);
    }
  }
  return t;
}

Table ShowCounters(Stack& s, const std::string& filter) {
  Table t{{"Counter", "Value"}, {}};
  for (const auto& [name, value] : s.CounterSnapshot()) {
    if (!filter.empty() && name.rfind(filter, 0) != 0) continue;
    t.rows.push_back({name, std::to_string(value)});
  }
  return t;
}

Table ShowDhcp(Stack& s) {
  Table t{{"State", "Address", "Server", "Router", "DNS", "Lease-s"}, {}};
  std::lock_guard lock(s.mutex());
  Dhcp4Service* d = s.dhcp4();
  if (d == nullptr) return t;
  const auto& client = d->client();
  std::string addr = "-", server = "-", router = "-", dns, lease = "-";
  if (const auto& l = client.lease()) {
    addr = fmt::format("{}", l->address);
    server = l->server_id.ToString();
    if (l->router) router = l->router->ToString();
    for (const auto& a : l->dns) dns += (dns.empty() ? "" : ",") + a.ToString();
    lease = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(l->lease_time).count());
  }
  t.rows.push_back({std::string(ToString(client.state())), addr, server, router,
                    dns.empty() ? "-" : dns, lease});
  return t;
}

Table ShowMulticast(Stack& s) {
  Table t{{"Family", "Group", "MAC", "Kind", "Reported"}, {}};
  std::lock_guard lock(s.mutex());
  // RFC 1112 §7.2: every IPv4 host belongs to all-systems; other groups follow sockets.
  const Ip4Address all(224, 0, 0, 1);
  const MacAddress mac = MacAddress::FromIp4Multicast(all);
  if (s.iface().IsMemberOf(mac)) {
    t.rows.push_back({"inet", all.ToString(), mac.ToString(), "all-systems", "-"});
  }
  // Groups of sockets: IGMP's interface state (RFC 3376 §3.2), reported in the host's
  // compatibility mode (§7.2.1), with the filter for source-specific ones.
  const int version = s.igmp().compat_version();
  for (const Ip4Address& g : s.igmp().Groups()) {
    const auto* st = s.igmp().State(g);
    std::string kind = "joined";
    if (st != nullptr && (st->mode == McFilterMode::kInclude || !st->sources.empty())) {
      kind = st->mode == McFilterMode::kInclude ? "include" : "exclude";
      for (size_t i = 0; i < st->sources.size(); ++i) {
        kind += (i == 0 ? " " : ",") + st->sources[i].ToString();
      }
    }
    t.rows.push_back({"inet", g.ToString(), MacAddress::FromIp4Multicast(g).ToString(), kind,
                      IgmpEngine::Reportable(g) ? "IGMPv" + std::to_string(version) : "no"});
  }
  if (!s.ip6_enabled()) return t;
  // RFC 4291 §2.7.1: all-nodes is always joined; the rest (solicited-node groups of our
  // addresses, RFC 4861 §7.2.1, and the groups of sockets) as Ip6Engine holds them. MLD
  // reports every group but all-nodes and those below link-local scope (RFC 3810 §6), in
  // version 2 unless an MLDv1 querier put the host in compatibility mode (§8.2.1).
  // Built front to back rather than by insert() at begin(): GCC 12 at -O3 reports a
  // "potential null pointer dereference" inside vector::insert (-Wnull-dereference).
  const Ip6Address all_nodes = Ip6Address::AllNodesMulticast();
  std::vector<Ip6Address> groups{all_nodes};
  for (const Ip6Address& g : s.ip6().groups()) {
    if (g != all_nodes) groups.push_back(g);
  }
  const char* mode = s.mld().v1_mode() ? "MLDv1" : "MLDv2";
  for (const Ip6Address& g : groups) {
    const char* kind = g == all_nodes                 ? "all-nodes"
                       : g.is_solicited_node_multicast() ? "solicited-node"
                                                         : "joined";
    t.rows.push_back({"inet6", g.ToString(), MacAddress::FromIp6Multicast(g).ToString(), kind,
                      MldEngine::Reportable(g) ? mode : "no"});
  }
  return t;
}

bool Show(Stack& s, const std::vector<std::string>& w, const Out& out) {
  const bool json = std::find(w.begin(), w.end(), "--json") != w.end();
  std::vector<std::string> args;
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i] != "--json") args.push_back(w[i]);
  }
  if (args.empty()) return out("error: show what? interface addresses neighbours routes sockets counters dhcp multicast\n");
  const std::string& what = args[0];
  Table t;
  if (what == "interface") {
    t = ShowInterface(s);
  } else if (what == "addresses") {
    t = ShowAddresses(s);
  } else if (what == "neighbours" || what == "neighbors") {
    t = ShowNeighbours(s);
  } else if (what == "routes") {
    t = ShowRoutes(s);
  } else if (what == "sockets") {
    t = ShowSockets(s);
  } else if (what == "counters") {
    t = ShowCounters(s, args.size() > 1 ? args[1] : "");
  } else if (what == "dhcp") {
    t = ShowDhcp(s);
  } else if (what == "multicast") {
    t = ShowMulticast(s);
  } else {
    return out(fmt::format("error: unknown 'show {}'\n", what));
  }
  return out(json ? t.Json() : t.Text());
}

std::string Info(Stack& s) {
  std::string addrs;
  {
    std::lock_guard lock(s.mutex());
    for (const auto& e : s.ip4_addresses().entries()) {
      addrs += (addrs.empty() ? "" : ", ") + JsonString(fmt::format("{}", e.ifaddr));
    }
    for (const auto& e : s.ip6_addresses().entries()) {
      if (e.address().is_link_local() || !e.usable()) continue;
      addrs += (addrs.empty() ? "" : ", ") + JsonString(fmt::format("{}", e.ifaddr));
    }
  }
  return fmt::format(
      "{{\"pid\": {}, \"program\": {}, \"interface\": {}, \"mac\": {}, \"addresses\": [{}]}}\n",
      getpid(), JsonString(ProgramName()), JsonString(s.config().interface),
      JsonString(s.mac().ToString()), addrs);
}

// --- actions ---

// A numeric IPv4 or IPv6 address (the console resolves no names).
std::optional<IpAddress> Host(const std::vector<std::string>& w, size_t i) {
  if (w.size() <= i) return std::nullopt;
  if (auto a4 = Ip4Address::Parse(w[i])) return IpAddress(*a4);
  // A link-local address may carry its zone (fe80::1%tap7): the stack has one interface.
  const std::string text = w[i].substr(0, w[i].find('%'));
  if (auto a6 = Ip6Address::Parse(text)) {
    if (text.size() == w[i].size() || a6->is_link_local()) return IpAddress(*a6);
  }
  return std::nullopt;
}

int IntArg(const std::vector<std::string>& w, size_t i, int def, int lo, int hi) {
  if (w.size() <= i) return def;
  char* end = nullptr;
  const long v = std::strtol(w[i].c_str(), &end, 10);
  if (end == w[i].c_str() || *end != '\0') return def;
  return static_cast<int>(std::clamp<long>(v, lo, hi));
}

void SetTimeout(Socket& sock, int name, int ms) {
  const timeval tv{ms / 1000, (ms % 1000) * 1000};
  (void)sock.SetOption(SOL_SOCKET, name, &tv, sizeof(tv));
}

void Ping(Stack& s, const std::vector<std::string>& w, const Out& out) {
  auto dst = Host(w, 1);
  if (!dst) {
    out("error: usage: ping ADDRESS [COUNT [INTERVAL_MS]]\n");
    return;
  }
  const int count = IntArg(w, 2, 4, 1, 100);
  const int interval_ms = IntArg(w, 3, 1000, 10, 10000);
  // An ICMPv4 or ICMPv6 ping socket: both take an echo request whose identifier and
  // checksum the stack fills in, and give back the reply message.
  const bool v6 = !dst->is_v4();
  std::shared_ptr<Icmp4Socket> sock4;
  std::shared_ptr<Icmp6Socket> sock6;
  if (v6) {
    sock6 = s.CreateIcmp6Socket(SOCK_DGRAM);
  } else {
    sock4 = s.CreateIcmp4Socket(SOCK_DGRAM);
  }
  Socket& base = v6 ? static_cast<Socket&>(*sock6) : static_cast<Socket&>(*sock4);
  SetTimeout(base, SO_RCVTIMEO, 100);
  const SocketAddress to{*dst, 0};
  auto send = [&](ByteSpan m) { return v6 ? sock6->SendTo(m, &to, 0) : sock4->SendTo(m, &to, 0); };
  auto recv = [&](MutableByteSpan b, SocketAddress* from, RecvAncillary* anc) {
    return v6 ? sock6->RecvFrom(b, from, 0, nullptr, anc) : sock4->RecvFrom(b, from, 0, nullptr, anc);
  };
  if (!out(fmt::format("PING {} through the stack: 56 data bytes\n", dst->ToString()))) return;
  using Clock = std::chrono::steady_clock;
  std::vector<double> rtts;
  int sent = 0;
  for (int seq = 1; seq <= count; ++seq) {
    std::vector<uint8_t> msg(kIcmp4HeaderSize + 56);
    std::vector<uint8_t> data(56);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i);
    Icmp4Header::EchoRequest(0, static_cast<uint16_t>(seq)).Emit(msg, data);
    std::copy(data.begin(), data.end(), msg.begin() + kIcmp4HeaderSize);
    if (v6) msg[0] = 128;  // RFC 4443 §4.1: the same layout, type 128 (the stack sums it)
    const auto start = Clock::now();
    auto r = send(msg);
    if (!r.ok()) {
      if (!out(fmt::format("send failed: {}\n", std::strerror(r.error())))) return;
    } else {
      ++sent;
    }
    const auto deadline = start + std::chrono::milliseconds(std::max(interval_ms, 1000));
    bool got = false;
    while (r.ok() && !got && Clock::now() < deadline) {
      std::vector<uint8_t> buf(2048);
      SocketAddress from;
      RecvAncillary anc;
      auto n = recv(buf, &from, &anc);
      if (!n.ok()) {
        if (!out("")) return;
        continue;
      }
      if (*n < kIcmp4HeaderSize || LoadBe16(buf.data() + 6) != seq) continue;
      const double ms =
          std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      rtts.push_back(ms);
      got = true;
      if (!out(fmt::format("{} bytes from {}: icmp_seq={} time={:.3f} ms\n", *n, from.ip.ToString(),
                           seq, ms))) {
        return;
      }
    }
    if (seq < count) {
      const auto next = start + std::chrono::milliseconds(interval_ms);
      while (Clock::now() < next) {
        std::this_thread::sleep_for(std::min<Clock::duration>(next - Clock::now(),
                                                              std::chrono::milliseconds(50)));
        if (!out("")) return;  // the client left or the console stops
      }
    }
  }
  std::string stats = fmt::format("--- {} ping statistics ---\n{} transmitted, {} received, {:.0f}% loss\n",
                                  dst->ToString(), sent, rtts.size(),
                                  sent == 0 ? 100.0 : 100.0 * (sent - static_cast<int>(rtts.size())) / sent);
  if (!rtts.empty()) {
    const double mn = *std::min_element(rtts.begin(), rtts.end());
    const double mx = *std::max_element(rtts.begin(), rtts.end());
    double sum = 0;
    for (double v : rtts) sum += v;
    stats += fmt::format("rtt min/avg/max = {:.3f}/{:.3f}/{:.3f} ms\n", mn, sum / rtts.size(), mx);
  }
  out(stats);
  base.Close();
}

void Echo(Stack& s, const std::vector<std::string>& w, bool tcp, const Out& out) {
  auto dst = Host(w, 1);
  if (!dst) {
    out(fmt::format("error: usage: {} ADDRESS [PORT]\n", tcp ? "tcp-echo" : "udp-echo"));
    return;
  }
  const uint16_t port = static_cast<uint16_t>(IntArg(w, 2, 7, 1, 65535));
  const SocketAddress to{*dst, port};
  const int family = dst->is_v4() ? AF_INET : AF_INET6;
  const std::string msg = "pytcp console echo\n";
  const ByteSpan bytes(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  const auto start = std::chrono::steady_clock::now();
  std::string got;
  int err = 0;
  if (tcp) {
    auto sock = s.CreateTcpSocket(family);
    SetTimeout(*sock, SO_SNDTIMEO, 3000);
    SetTimeout(*sock, SO_RCVTIMEO, 3000);
    if (auto r = sock->Connect(to); !r.ok()) {
      err = r.error();
    } else if (auto n = sock->Send(bytes); !n.ok()) {
      err = n.error();
    } else {
      while (got.size() < msg.size()) {
        std::vector<uint8_t> buf(256);
        auto m = sock->Recv(buf);
        if (!m.ok()) {
          err = m.error();
          break;
        }
        if (*m == 0) break;
        got.append(reinterpret_cast<const char*>(buf.data()), *m);
      }
    }
    sock->Close();
  } else {
    auto sock = s.CreateUdpSocket(family);
    SetTimeout(*sock, SO_RCVTIMEO, 3000);
    if (auto n = sock->SendTo(bytes, &to, 0); !n.ok()) {
      err = n.error();
    } else {
      std::vector<uint8_t> buf(2048);
      auto m = sock->RecvFrom(buf, nullptr, 0);
      if (!m.ok()) {
        err = m.error();
      } else {
        got.assign(reinterpret_cast<const char*>(buf.data()), *m);
      }
    }
    sock->Close();
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (err != 0) {
    out(fmt::format("{} echo to {}: {}\n", tcp ? "tcp" : "udp", to.ToString(), std::strerror(err)));
  } else if (got != msg) {
    out(fmt::format("{} echo to {}: reply differs ({} bytes)\n", tcp ? "tcp" : "udp", to.ToString(), got.size()));
  } else {
    out(fmt::format("{} echo to {}: {} bytes back in {:.3f} ms\n", tcp ? "tcp" : "udp", to.ToString(),
                    got.size(), ms));
  }
}

void Log(const std::vector<std::string>& w, const Out& out) {
  LogLevel level;
  if (w.size() < 2 || !ParseLogLevel(w[1], &level)) {
    out("error: usage: log error|warn|info|debug|trace [SUBSYSTEM]\n");
    return;
  }
  const std::string sub = w.size() > 2 ? w[2] : "";
  const absl::Status st = SetLogLevel(sub, level);
  out(st.ok() ? fmt::format("log level {}{}\n", w[1], sub.empty() ? "" : " for " + sub)
              : fmt::format("error: {}\n", std::string(st.message())));
}

void Capture(Stack& s, const std::vector<std::string>& w, const Out& out) {
  if (w.size() == 3 && w[1] == "start") {
    const absl::Status st = s.StartCapture(w[2]);
    out(st.ok() ? fmt::format("capturing to {}\n", w[2])
                : fmt::format("error: {}\n", std::string(st.message())));
  } else if (w.size() == 2 && w[1] == "stop") {
    s.StopCapture();
    out("capture stopped\n");
  } else {
    out("error: usage: capture start FILE | capture stop\n");
  }
}

// --- socket plumbing ---

// Writes all of `data` before `deadline`; false when the client is gone or too slow.
bool WriteAll(int fd, std::string_view data, std::chrono::steady_clock::time_point deadline) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    if ((p.revents & (POLLERR | POLLHUP)) != 0) return false;
  }
  return true;
}

// A console socket nobody serves: connect() is refused (or the file is not a socket).
bool Unserved(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return false;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int e = errno;
  ::close(fd);
  return r != 0 && (e == ECONNREFUSED || e == ENOTSOCK);
}

// A process killed by a signal leaves its <pid>.sock behind (nothing runs to remove it).
// When a stack starts with a console in such a directory, it removes the files of pids
// that no longer exist and that nobody serves; a live process's file is never touched.
void RemoveStaleConsoles(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return;
  const std::string dir = path.substr(0, slash);
  if (path.substr(slash + 1) != fmt::format("{}.sock", getpid())) return;  // not the default layout
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() < 6 || name.substr(name.size() - 5) != ".sock") continue;
    const std::string pid = name.substr(0, name.size() - 5);
    if (!IsNumber(pid) || pid.size() > 9) continue;
    const pid_t p = static_cast<pid_t>(std::stol(pid));
    if (p == getpid() || ::kill(p, 0) == 0 || errno != ESRCH) continue;
    const std::string file = dir + "/" + name;
    // Only our own sockets: PYTCP_CONSOLE may name a shared directory such as /tmp.
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != ::geteuid()) continue;
    if (Unserved(file)) {
      ::unlink(file.c_str());
      PYTCP_LOG(log_console, kInfo, "removed the stale console {} (pid {} is gone)", file, p);
    }
  }
  ::closedir(d);
}

}  // namespace

std::string ConsolePathFromEnvironment() {
  // secure_getenv: in a setuid program these name files the user must not choose
  // (README "Secure execution").
  const char* v = ::secure_getenv("PYTCP_CONSOLE");
  if (v != nullptr && *v != '\0') return std::string(v) == "off" ? "" : std::string(v);
  const char* xdg = ::secure_getenv("XDG_RUNTIME_DIR");
  const std::string dir = (xdg != nullptr && *xdg != '\0') ? std::string(xdg) + "/pytcp" : "/run/pytcp";
  // The stack removes stale sockets in this directory, so it must be ours alone.
  if (absl::Status s = EnsureOwnDirectory(dir); !s.ok()) {
    PYTCP_LOG(log_console, kWarn, "no console: {}", std::string(s.message()));
    return "";
  }
  return fmt::format("{}/{}.sock", dir, getpid());
}

void RunConsoleCommand(Stack& stack, const std::string& line, const Out& out) {
  const std::vector<std::string> w = Words(line);
  if (w.empty()) {
    out("error: empty command\n");
    return;
  }
  const std::string& cmd = w[0];
  if (cmd == "info") {
    out(Info(stack));
  } else if (cmd == "show") {
    Show(stack, w, out);
  } else if (cmd == "ping") {
    Ping(stack, w, out);
  } else if (cmd == "tcp-echo" || cmd == "udp-echo") {
    Echo(stack, w, cmd == "tcp-echo", out);
  } else if (cmd == "log") {
    Log(w, out);
  } else if (cmd == "capture") {
    Capture(stack, w, out);
  } else if (cmd == "help") {
    out("commands: info | show interface|addresses|neighbours|routes|sockets|counters|dhcp|"
        "multicast [--json] | ping ADDRESS [COUNT [INTERVAL_MS]] | tcp-echo ADDRESS [PORT] | "
        "udp-echo ADDRESS [PORT] | log LEVEL [SUBSYSTEM] | capture start FILE | capture stop\n");
  } else {
    out(fmt::format("error: unknown command '{}' (try 'help')\n", cmd.substr(0, 64)));
  }
}

absl::StatusOr<std::unique_ptr<StackConsole>> StackConsole::Start(Stack* stack,
                                                                  const std::string& path) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError("PYTCP_CONSOLE: path empty or too long: " + path);
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(fmt::format("console socket: {}", std::strerror(errno)));
  RemoveStaleConsoles(path);
  // Owner only, without the process-wide umask (private_file.h); a stale socket of a
  // process that died with our pid is replaced, anything else at the path is refused.
  if (absl::Status s = BindUnixSocket(fd, path, 0600); !s.ok()) {
    ::close(fd);
    return absl::InternalError(fmt::format("console: {}", std::string(s.message())));
  }
  if (::listen(fd, 16) != 0) {
    const int e = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return absl::InternalError(fmt::format("console at {}: {}", path, std::strerror(e)));
  }
  const int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    ::close(fd);
    ::unlink(path.c_str());
    return absl::InternalError("console: eventfd failed");
  }
  std::unique_ptr<StackConsole> c(new StackConsole(stack, path, fd, wake));
  c->thread_ = std::thread([p = c.get()] { p->Serve(); });
  return c;
}

StackConsole::StackConsole(Stack* stack, std::string path, int listen_fd, int wake_fd)
    : stack_(stack), path_(std::move(path)), listen_fd_(listen_fd), wake_fd_(wake_fd) {}

StackConsole::~StackConsole() {
  stop_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  std::vector<Client> clients;
  {
    std::lock_guard lock(clients_mu_);
    for (auto& c : clients_) ::shutdown(c.fd, SHUT_RDWR);  // unblocks their writes
    clients.swap(clients_);
  }
  for (auto& c : clients) c.thread.join();
  ::close(listen_fd_);
  ::close(wake_fd_);
  ::unlink(path_.c_str());
}

void StackConsole::ReapFinished() {
  std::vector<Client> finished;
  {
    std::lock_guard lock(clients_mu_);
    for (auto it = clients_.begin(); it != clients_.end();) {
      if (it->done->load()) {
        finished.push_back(std::move(*it));
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) c.thread.join();
}

void StackConsole::Serve() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!stop_) {
    const int r = ::poll(fds, 2, 1000);
    ReapFinished();
    if (r <= 0 || (fds[0].revents & POLLIN) == 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;
    std::lock_guard lock(clients_mu_);
    if (clients_.size() >= kMaxClients) {
      static constexpr std::string_view kBusy = "error: busy, try again\n";
      [[maybe_unused]] ssize_t n = ::send(fd, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    clients_.push_back(Client{std::thread([this, fd, done] {
                                Handle(fd);
                                done->store(true);
                              }),
                              fd, done});
  }
}

void StackConsole::Handle(int fd) {
  // Read one line within kReadTimeout.
  std::string line;
  const auto read_deadline = std::chrono::steady_clock::now() + kReadTimeout;
  bool ok = false;
  while (!stop_ && line.size() <= kMaxLine) {
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      line.append(buf, static_cast<size_t>(n));
      const size_t nl = line.find('\n');
      if (nl != std::string::npos) {
        line.resize(nl);
        ok = true;
        break;
      }
      continue;
    }
    if (n == 0) {
      ok = !line.empty();  // the line without its newline, then EOF
      break;
    }
    if (errno != EAGAIN && errno != EINTR) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        read_deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
  }
  if (ok && !stop_) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    PYTCP_LOG(log_console, kDebug, "console command: {}", line.substr(0, 128));
    const auto write_deadline = std::chrono::steady_clock::now() + kWriteTimeout;
    size_t total = 0;
    bool alive = true;
    RunConsoleCommand(*stack_, line, [&](const std::string& piece) {
      if (!alive || stop_) return false;
      if (total + piece.size() > kMaxOutput) {
        alive = false;
        (void)WriteAll(fd, "\n[output truncated]\n", write_deadline);
        return false;
      }
      total += piece.size();
      // A long command (ping) extends the deadline per piece; a client that does not read
      // is dropped when its socket buffer stays full for kWriteTimeout.
      alive = WriteAll(fd, piece, std::max(write_deadline, std::chrono::steady_clock::now() + kWriteTimeout));
      return alive;
    });
  } else if (!stop_ && line.size() > kMaxLine) {
    (void)WriteAll(fd, "error: line too long\n", std::chrono::steady_clock::now() + kWriteTimeout);
  }
  {
    std::lock_guard lock(clients_mu_);
    ::close(fd);
    for (auto& c : clients_) {
      if (c.fd == fd) c.fd = -1;
    }
  }
}

}  // namespace pytcp
