#include "stack/stack_console_views.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "fmt/format.h"
#include "stack/base/log.h"
#include "stack/stack.h"
#include "stack/stack_query.h"
#include "stack/wire/icmp4.h"

namespace pytcp {

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

std::string ConsoleTable::Text() const {
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

std::string ConsoleTable::Json() const {
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

namespace {

std::string ProgramName() {
  std::ifstream comm("/proc/self/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

// --- show ---

ConsoleTable ShowInterface(Stack& s) {
  ConsoleTable t{{"Name", "MAC", "MTU", "State"}, {}};
  for (const StackInterfaceInfo& iface : StackQuery(s).Interfaces()) {
    t.rows.push_back({iface.name, iface.mac.ToString(), std::to_string(iface.mtu), "up"});
  }
  return t;
}

ConsoleTable ShowAddresses(Stack& s) {
  ConsoleTable t{{"Family", "Address", "State", "Source", "Device"}, {}};
  const StackQuery query(s);
  const std::vector<StackInterfaceInfo> ifaces = query.Interfaces();
  const StackAddresses addresses = query.Addresses();
  for (const auto& e : addresses.ip4) {
    t.rows.push_back({"inet", fmt::format("{}", e.ifaddr), std::string(ToString(e.state)),
                      e.source == Ip4AddressSource::kDhcp ? "dhcp" : "static",
                      ifaces.at(e.iface).name});
  }
  for (const auto& e : addresses.ip6) {
    t.rows.push_back({"inet6", fmt::format("{}", e.ifaddr), std::string(ToString(e.state)),
                      std::string(ToString(e.source)), ifaces.at(e.iface).name});
  }
  return t;
}

ConsoleTable ShowNeighbours(Stack& s) {
  // ARP's caches and ND's (RFC 4861 §5.1: the same structure), one per interface.
  const StackQuery query(s);
  const std::vector<StackInterfaceInfo> ifaces = query.Interfaces();
  ConsoleTable t{{"Address", "MAC", "State", "Router", "Queued", "Device"}, {}};
  for (const StackNeighbour& r : query.Neighbours()) {
    t.rows.push_back({r.address.ToString(),
                      r.state == NeighbourState::kIncomplete ? "-" : r.mac.ToString(),
                      std::string(ToString(r.state)), r.router ? "yes" : "no",
                      std::to_string(r.queued), ifaces.at(r.iface).name});
  }
  std::sort(t.rows.begin(), t.rows.end());
  return t;
}

// Every route of both families, in the order and words of `ip route; ip -6 route`
// (RouteLines prints them so): connected networks are "proto kernel scope link", a
// route's metric is shown for IPv6 always and for IPv4 when not 0, as ip shows it.
ConsoleTable ShowRoutes(Stack& s) {
  ConsoleTable t{{"Family", "Destination", "Gateway", "Device", "Proto", "Metric", "Source", "Pref",
                  "Expires"}, {}};
  const StackQuery query(s);
  const std::vector<StackInterfaceInfo> ifaces = query.Interfaces();
  const StackRoutes routes = query.Routes();
  for (const auto& r : routes.ip4) {
    const std::string& dev4 = ifaces.at(r.iface).name;
    t.rows.push_back({"inet", r.destination.prefix_length() == 0 ? "default" : fmt::format("{}", r.destination),
                      r.on_link() ? "-" : r.gateway.ToString(), dev4, std::string(ToString(r.origin)),
                      std::to_string(r.metric),
                      r.preferred_source.is_unspecified() ? "-" : r.preferred_source.ToString(), "-",
                      "-"});
  }
  // IPv6: prefixes and routes, then the Default Router List (RFC 4861 §6.3.4) with its
  // RFC 4191 preference. As Linux: a prefix an RA made on-link is "proto kernel" (its
  // addrconf_prefix_route), one route with the static address's prefix when both exist
  // (the RA only sets its lifetime there), and a default router is "proto ra", metric 1024.
  const Instant now = routes.now;
  auto expires = [&](Instant end) {
    if (end.is_infinite()) return std::string("-");
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(end - now).count();
    return std::to_string(left < 0 ? 0 : left);
  };
  auto origin6 = [](Ip6RouteOrigin o) { return o == Ip6RouteOrigin::kStatic ? "static" : "kernel"; };
  const auto& routes6 = routes.ip6;
  for (const auto& r : routes6) {
    const bool shadowed =
        r.origin == Ip6RouteOrigin::kRouterAdvert &&
        std::any_of(routes6.begin(), routes6.end(), [&](const Ip6Route& o) {
          return o.origin == Ip6RouteOrigin::kConnected && o.network == r.network;
        });
    if (shadowed) continue;
    t.rows.push_back({"inet6", r.network.prefix_length() == 0 ? "default" : r.network.ToString(),
                      r.on_link() ? "-" : r.gateway.ToString(), ifaces.at(r.iface).name,
                      origin6(r.origin),
                      std::to_string(r.metric), "-", "-", expires(r.expires)});
  }
  for (const auto& r : routes.ip6_routers) {
    t.rows.push_back({"inet6", "default", r.address.ToString(), ifaces.at(r.iface).name,
                      r.origin == Ip6RouteOrigin::kStatic ? "static" : "ra", "1024", "-",
                      r.preference > 0 ? "high" : r.preference < 0 ? "low" : "medium",
                      expires(r.expires)});
  }
  return t;
}

// ShowRoutes' rows as `ip route` lines: a static route (`ip route add`'s "proto boot") shows
// no proto, IPv4 shows a metric that is not 0, IPv6 always shows it and a preference.
std::string RouteLines(const ConsoleTable& t) {
  std::string out;
  for (const auto& row : t.rows) {
    const bool v6 = row[0] == "inet6";
    const std::string& gateway = row[2];
    const std::string& proto = row[4];
    out += row[1];
    if (gateway != "-") out += " via " + gateway;
    out += " dev " + row[3];
    if (proto != "static") out += " proto " + proto;
    if (!v6 && gateway == "-" && proto == "kernel") out += " scope link";
    if (row[6] != "-") out += " src " + row[6];
    if (row[5] != "-" && (v6 || row[5] != "0")) out += " metric " + row[5];
    if (row[8] != "-") out += " expires " + row[8] + "sec";
    if (v6) out += " pref " + (row[7] != "-" ? row[7] : std::string("medium"));
    out += "\n";
  }
  return out;
}

std::string Endpoint(const IpAddress& ip, uint16_t port) {
  const std::string a = ip.is_unspecified() ? "*" : ip.ToString();
  return ip.is_v4() || ip.is_unspecified() ? fmt::format("{}:{}", a, port)
                                           : fmt::format("[{}]:{}", a, port);
}

ConsoleTable ShowSockets(Stack& s) {
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
  // Closed sockets' TIME-WAIT is a record, not a connection (ss shows it as TIME-WAIT).
  for (const StackTcpSocket& c : StackQuery(s).TcpSockets()) {
    const bool listener = c.state == TcpState::kListen;
    rows.push_back(Row{"tcp", ToString(c.state), c.recv_q, c.send_q, c.local.ip,
                       listener ? IpAddress() : c.remote.ip, c.local.port,
                       listener ? uint16_t{0} : c.remote.port, !listener, true, c.rtt_us, c.cwnd,
                       c.retrans, true});
  }
  {
    std::lock_guard lock(s.mutex());
    for (const auto& sock : open) {
      if (const auto* u = dynamic_cast<const UdpSocket*>(sock.get())) {
        const UdpEndpoint& e = u->endpoint();
        if (!e.bound) continue;  // not in the port table yet (ss does not show it either)
        rows.push_back(Row{e.ipv6 ? "udp6" : "udp", e.remote ? "ESTABLISHED" : "UNCONN",
                           static_cast<int64_t>(u->queued_bytes()), 0, e.local.ip,
                           e.remote ? e.remote->ip : IpAddress(), e.local.port,
                           e.remote ? e.remote->port : uint16_t{0}, e.remote.has_value(), true,
                           0, 0, 0, false});
      } else if (const auto* icmp = dynamic_cast<const IcmpMessageSocket*>(sock.get())) {
        const IcmpBinding& e = icmp->endpoint();
        if (!icmp->raw() && !e.bound) continue;
        const bool v6 = icmp->protocol() == IPPROTO_ICMPV6;
        const char* proto =
            icmp->raw() ? (v6 ? "raw-icmp6" : "raw-icmp") : (v6 ? "icmp6" : "icmp");
        rows.push_back(Row{proto, e.remote ? "ESTABLISHED" : "UNCONN",
                           static_cast<int64_t>(icmp->queued_bytes()), 0, e.local.ip,
                           e.remote ? e.remote->ip : IpAddress(), e.local.port, 0,
                           e.remote.has_value(), !icmp->raw(), 0, 0, 0, false});
      }
    }
  }
  ConsoleTable t{{"Proto", "State", "Recv-Q", "Send-Q", "Local", "Peer", "RTT-ms", "Cwnd", "Retrans"}, {}};
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

ConsoleTable ShowCounters(Stack& s, const std::string& filter) {
  ConsoleTable t{{"Counter", "Value"}, {}};
  for (const auto& [name, value] : s.CounterSnapshot()) {
    if (!filter.empty() && name.rfind(filter, 0) != 0) continue;
    t.rows.push_back({name, std::to_string(value)});
  }
  return t;
}

ConsoleTable ShowDhcp(Stack& s) {
  ConsoleTable t{{"State", "Address", "Server", "Router", "DNS", "Lease-s"}, {}};
  const std::optional<StackDhcp4Client> client = StackQuery(s).DhcpClient();
  if (!client) return t;
  std::string addr = "-", server = "-", router = "-", dns, lease = "-";
  if (const auto& l = client->lease) {
    addr = fmt::format("{}", l->address);
    server = l->server_id.ToString();
    if (l->router) router = l->router->ToString();
    for (const auto& a : l->dns) dns += (dns.empty() ? "" : ",") + a.ToString();
    lease = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(l->lease_time).count());
  }
  t.rows.push_back({std::string(ToString(client->state)), addr, server, router,
                    dns.empty() ? "-" : dns, lease});
  return t;
}

// The DHCPv4 servers' leases (PYTCP_DHCP_SERVER_<iface>), as dnsmasq's lease file names
// them: the interface, the address, the client's MAC, whether it is bound or only offered
// (or withheld after a DECLINE), and the seconds left.
ConsoleTable ShowDhcpLeases(Stack& s) {
  ConsoleTable t{{"Device", "Address", "MAC", "State", "Expires-s"}, {}};
  const StackQuery query(s);
  const std::vector<StackInterfaceInfo> ifaces = query.Interfaces();
  Instant now;
  for (const StackDhcp4ServerLease& each : query.Dhcp4ServerLeases(&now)) {
    const Dhcp4Server::Lease& l = each.lease;
    if (l.expires <= now) continue;
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(l.expires - now).count();
    t.rows.push_back({ifaces.at(each.iface).name, l.address.ToString(),
                      l.client.empty() ? "-" : l.mac.ToString(),
                      l.bound ? "bound" : l.client.empty() ? "declined" : "offered",
                      std::to_string(left)});
  }
  return t;
}

ConsoleTable ShowMulticast(Stack& s) {
  ConsoleTable t{{"Family", "Group", "MAC", "Kind", "Reported"}, {}};
  const StackMulticast m = StackQuery(s).Multicast();
  // RFC 1112 §7.2: every IPv4 host belongs to all-systems; other groups follow sockets.
  const Ip4Address all(224, 0, 0, 1);
  const MacAddress mac = MacAddress::FromIp4Multicast(all);
  if (m.all_systems) {
    t.rows.push_back({"inet", all.ToString(), mac.ToString(), "all-systems", "-"});
  }
  // Groups of sockets: IGMP's interface state (RFC 3376 §3.2), reported in the host's
  // compatibility mode (§7.2.1), with the filter for source-specific ones.
  const int version = m.igmp_version;
  for (const StackMulticast::Ip4Group& each : m.ip4) {
    const Ip4Address& g = each.group;
    const auto& st = each.state;
    std::string kind = "joined";
    if (st && (st->mode == McFilterMode::kInclude || !st->sources.empty())) {
      kind = st->mode == McFilterMode::kInclude ? "include" : "exclude";
      for (size_t i = 0; i < st->sources.size(); ++i) {
        kind += (i == 0 ? " " : ",") + st->sources[i].ToString();
      }
    }
    t.rows.push_back({"inet", g.ToString(), MacAddress::FromIp4Multicast(g).ToString(), kind,
                      IgmpEngine::Reportable(g) ? "IGMPv" + std::to_string(version) : "no"});
  }
  if (!m.ip6_enabled) return t;
  // RFC 4291 §2.7.1: all-nodes is always joined; the rest (solicited-node groups of our
  // addresses, RFC 4861 §7.2.1, and the groups of sockets) as Ip6Engine holds them. MLD
  // reports every group but all-nodes and those below link-local scope (RFC 3810 §6), in
  // version 2 unless an MLDv1 querier put the host in compatibility mode (§8.2.1).
  // Built front to back rather than by insert() at begin(): GCC 12 at -O3 reports a
  // "potential null pointer dereference" inside vector::insert (-Wnull-dereference).
  const Ip6Address all_nodes = Ip6Address::AllNodesMulticast();
  std::vector<Ip6Address> groups{all_nodes};
  for (const Ip6Address& g : m.ip6) {
    if (g != all_nodes) groups.push_back(g);
  }
  const char* mode = m.mld_v1 ? "MLDv1" : "MLDv2";
  for (const Ip6Address& g : groups) {
    const char* kind = g == all_nodes                 ? "all-nodes"
                       : g.is_solicited_node_multicast() ? "solicited-node"
                                                         : "joined";
    t.rows.push_back({"inet6", g.ToString(), MacAddress::FromIp6Multicast(g).ToString(), kind,
                      MldEngine::Reportable(g) ? mode : "no"});
  }
  return t;
}

}  // namespace

bool ConsoleShow(Stack& s, const std::vector<std::string>& w, const ConsoleOut& out) {
  const bool json = std::find(w.begin(), w.end(), "--json") != w.end();
  std::vector<std::string> args;
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i] != "--json") args.push_back(w[i]);
  }
  if (args.empty()) return out("error: show what? interface addresses neighbours routes sockets counters dhcp dhcp-leases multicast\n");
  const std::string& what = args[0];
  ConsoleTable t;
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
  } else if (what == "dhcp-leases") {
    t = ShowDhcpLeases(s);
  } else if (what == "multicast") {
    t = ShowMulticast(s);
  } else {
    return out(fmt::format("error: unknown 'show {}'\n", what));
  }
  if (what == "routes" && !json) return out(RouteLines(t));
  return out(json ? t.Json() : t.Text());
}

std::string ConsoleInfo(Stack& s) {
  std::string addrs;
  const StackAddresses addresses = StackQuery(s).Addresses();
  for (const auto& e : addresses.ip4) {
    addrs += (addrs.empty() ? "" : ", ") + JsonString(fmt::format("{}", e.ifaddr));
  }
  for (const auto& e : addresses.ip6) {
    if (e.address().is_link_local() || !e.usable()) continue;
    addrs += (addrs.empty() ? "" : ", ") + JsonString(fmt::format("{}", e.ifaddr));
  }
  return fmt::format(
      "{{\"pid\": {}, \"program\": {}, \"interface\": {}, \"mac\": {}, \"addresses\": [{}]}}\n",
      getpid(), JsonString(ProgramName()), JsonString(s.config().interface),
      JsonString(s.mac().ToString()), addrs);
}

}  // namespace pytcp
