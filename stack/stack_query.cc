#include "stack/stack_query.h"

#include <chrono>
#include <thread>

#include <mutex>

#include "stack/stack.h"

namespace pytcp {

std::vector<StackInterfaceInfo> StackQuery::Interfaces() const {
  std::lock_guard lock(stack_.mutex());
  std::vector<StackInterfaceInfo> out;
  for (size_t i = 0; i < stack_.interface_count(); ++i) {
    const Interface& each = stack_.iface(i);
    out.push_back(StackInterfaceInfo{std::string(each.name()), each.mac(), each.mtu()});
  }
  return out;
}

StackAddresses StackQuery::Addresses() const {
  std::lock_guard lock(stack_.mutex());
  return StackAddresses{.now = stack_.clock().Now(),
                        .ip4 = stack_.ip4_addresses().entries(),
                        .ip6 = stack_.ip6_addresses().entries()};
}

std::vector<TcpState> StackQuery::TcpConnectionStates() const {
  std::lock_guard lock(stack_.mutex());
  std::vector<TcpState> out;
  stack_.tcp().ForEachConnection([&](const TcpConnection& c) { out.push_back(c.state()); });
  return out;
}

std::vector<StackTcpSocket> StackQuery::TcpSockets() const {
  std::lock_guard lock(stack_.mutex());
  const Instant now = stack_.clock().Now();
  std::vector<StackTcpSocket> out;
  const TcpEngine& tcp = stack_.tcp();
  tcp.ForEachListener([&](const TcpListener& l) {
    out.push_back(StackTcpSocket{.state = TcpState::kListen,
                                 .recv_q = static_cast<int64_t>(l.pending()),
                                 .send_q = l.backlog(),
                                 .local = l.local()});
  });
  tcp.ForEachConnection([&](const TcpConnection& c) {
    TcpInfo info{};
    c.FillInfo(&info, now);
    const auto& tu = c.tuple();
    out.push_back(StackTcpSocket{.state = c.state(),
                                 .recv_q = static_cast<int64_t>(c.readable()),
                                 .send_q = static_cast<int64_t>(c.send_queued()),
                                 .local = {tu.local_ip, tu.local_port},
                                 .remote = {tu.remote_ip, tu.remote_port},
                                 .rtt_us = info.tcpi_rtt,
                                 .cwnd = c.cwnd(),
                                 .retrans = info.tcpi_total_retrans});
  });
  tcp.ForEachTimeWait([&](const TcpTimeWaitRecord& tw) {
    const auto& tu = tw.tuple;
    out.push_back(StackTcpSocket{.state = TcpState::kTimeWait,
                                 .local = {tu.local_ip, tu.local_port},
                                 .remote = {tu.remote_ip, tu.remote_port}});
  });
  return out;
}

Result<IpAddress, int> StackQuery::SourceAddressFor(const IpAddress& dst) const {
  std::lock_guard lock(stack_.mutex());
  return stack_.udp().SourceFor(dst, IpAddress());
}

std::vector<StackNeighbour> StackQuery::Neighbours() const {
  std::lock_guard lock(stack_.mutex());
  std::vector<StackNeighbour> out;
  for (size_t i = 0; i < stack_.interface_count(); ++i) {
    stack_.arp(i).cache().ForEach([&](const Ip4Address& a, const auto& e) {
      out.push_back(StackNeighbour{IpAddress(a), e.mac, e.state, e.is_router, e.queue.size(), i});
    });
  }
  for (size_t i = 0; i < stack_.interface_count(); ++i) {
    const NdEngine* nd = stack_.nd(i);
    if (nd == nullptr) continue;
    nd->cache().ForEach([&](const Ip6Address& a, const auto& e) {
      out.push_back(StackNeighbour{IpAddress(a), e.mac, e.state, e.is_router, e.queue.size(), i});
    });
  }
  return out;
}

StackRoutes StackQuery::Routes() const {
  std::lock_guard lock(stack_.mutex());
  return StackRoutes{.now = stack_.clock().Now(),
                     .ip4 = stack_.ip4_routes().routes(),
                     .ip6 = stack_.ip6_routes().routes(),
                     .ip6_routers = stack_.ip6_routes().routers()};
}

std::optional<StackDhcp4Client> StackQuery::DhcpClient() const {
  std::lock_guard lock(stack_.mutex());
  const Dhcp4Service* d = stack_.dhcp4();
  if (d == nullptr) return std::nullopt;
  return StackDhcp4Client{d->client().state(), d->client().lease()};
}

std::vector<StackDhcp4ServerLease> StackQuery::Dhcp4ServerLeases(Instant* now) const {
  std::lock_guard lock(stack_.mutex());
  *now = stack_.clock().Now();
  std::vector<StackDhcp4ServerLease> out;
  const Dhcp4ServerService* servers = stack_.dhcp4_server();
  if (servers == nullptr) return out;
  for (const auto& port : servers->ports()) {
    for (const Dhcp4Server::Lease& l : port.server->leases()) {
      out.push_back(StackDhcp4ServerLease{port.iface, l});
    }
  }
  return out;
}

StackMulticast StackQuery::Multicast() const {
  std::lock_guard lock(stack_.mutex());
  StackMulticast out;
  const Ip4Address all_systems(224, 0, 0, 1);
  out.all_systems = stack_.iface().IsMemberOf(MacAddress::FromIp4Multicast(all_systems));
  const IgmpEngine& igmp = stack_.igmp();
  out.igmp_version = igmp.compat_version();
  for (const Ip4Address& g : igmp.Groups()) {
    const IgmpEngine::InterfaceState* st = igmp.State(g);
    out.ip4.push_back(StackMulticast::Ip4Group{
        g, st == nullptr ? std::nullopt : std::optional<IgmpEngine::InterfaceState>(*st)});
  }
  out.ip6_enabled = stack_.ip6_enabled();
  if (!out.ip6_enabled) return out;
  out.ip6 = stack_.ip6().groups();
  out.mld_v1 = stack_.mld().v1_mode();
  return out;
}

void WaitForUsableAddress(Stack& stack, Duration timeout) {
  const bool v4 = stack.config().ip4_mode != Ip4Mode::kNone;
  if (!v4 && stack.config().ip6_mode == Ip6Mode::kNone) return;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const StackAddresses addresses = StackQuery(stack).Addresses();
    if (v4) {
      for (const auto& e : addresses.ip4) {
        if (e.usable()) return;
      }
    } else {
      for (const auto& e : addresses.ip6) {
        if (e.usable() && !e.address().is_link_local()) return;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace pytcp
