// The console's commands: the dispatcher and the actions (ping, echo, log, capture).
#include "stack/stack_console.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "fmt/format.h"
#include "stack/base/log.h"
#include "stack/stack.h"
#include "stack/stack_console_views.h"
#include "stack/wire/icmp4.h"

namespace pytcp {
namespace {

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  std::string w;
  while (in >> w) words.push_back(w);
  return words;
}

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

void Ping(Stack& s, const std::vector<std::string>& w, const ConsoleOut& out) {
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

void Echo(Stack& s, const std::vector<std::string>& w, bool tcp, const ConsoleOut& out) {
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

void Log(const std::vector<std::string>& w, const ConsoleOut& out) {
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

void Capture(Stack& s, const std::vector<std::string>& w, const ConsoleOut& out) {
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

// `route add ROUTE` and `route del ROUTE` (stack_routes.h has the words): as `ip route`,
// silent on success apart from the route it changed.
void Route(Stack& stack, const std::vector<std::string>& w, const ConsoleOut& out) {
  constexpr std::string_view kUsage =
      "error: usage: route add|del PREFIX [via GATEWAY] [dev IFACE] [metric N]\n";
  if (w.size() < 3 || (w[1] != "add" && w[1] != "del")) {
    out(std::string(kUsage));
    return;
  }
  std::string text;
  for (size_t i = 2; i < w.size(); ++i) text += (i > 2 ? " " : "") + w[i];
  const bool add = w[1] == "add";
  auto route = add ? ParseStaticRoute(text) : ParseStaticRouteToDelete(text);
  if (!route.ok()) {
    out(fmt::format("error: {}\n", std::string(route.status().message())));
    return;
  }
  const absl::Status s = add ? stack.AddStaticRoute(*route) : stack.RemoveStaticRoute(*route);
  if (!s.ok()) {
    out(fmt::format("error: {}\n", std::string(s.message())));
    return;
  }
  out(fmt::format("{} {}\n", add ? "added" : "deleted", text));
}

}  // namespace

void RunConsoleCommand(Stack& stack, const std::string& line, const ConsoleOut& out) {
  const std::vector<std::string> w = Words(line);
  if (w.empty()) {
    out("error: empty command\n");
    return;
  }
  const std::string& cmd = w[0];
  if (cmd == "info") {
    out(ConsoleInfo(stack));
  } else if (cmd == "show") {
    ConsoleShow(stack, w, out);
  } else if (cmd == "ping") {
    Ping(stack, w, out);
  } else if (cmd == "tcp-echo" || cmd == "udp-echo") {
    Echo(stack, w, cmd == "tcp-echo", out);
  } else if (cmd == "log") {
    Log(w, out);
  } else if (cmd == "capture") {
    Capture(stack, w, out);
  } else if (cmd == "route") {
    Route(stack, w, out);
  } else if (cmd == "help") {
    out("commands: info | show interface|addresses|neighbours|routes|sockets|counters|dhcp|dhcp-leases|"
        "multicast [--json] | ping ADDRESS [COUNT [INTERVAL_MS]] | tcp-echo ADDRESS [PORT] | "
        "udp-echo ADDRESS [PORT] | log LEVEL [SUBSYSTEM] | capture start FILE | capture stop | "
        "route add|del PREFIX [via GATEWAY] [dev IFACE] [metric N]\n");
  } else {
    out(fmt::format("error: unknown command '{}' (try 'help')\n", cmd.substr(0, 64)));
  }
}

}  // namespace pytcp
