// The Stack: the library form of the original's TcpIpStack. It owns one link (a TAP
// device, or a memory link in tests), the protocol engines, the sockets' shared lock and
// the event loop thread.
//
//   auto stack = Stack::Create(*StackConfig::FromEnvironment());
//   (*stack)->Start();
//   auto sock = (*stack)->CreateUdpSocket();
//   ...
//   (*stack)->Stop();
//
// Threads: the event loop waits on the link, a wake-up eventfd and the earliest protocol
// deadline; application threads call into the sockets under the same lock and transmit
// from their own thread. Tests drive a stack without its thread: ProcessLink(), RunTimers()
// and NextDeadline() under a VirtualClock.
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "stack/arp/arp_engine.h"
#include "stack/base/clock.h"
#include "stack/base/random.h"
#include "stack/icmp4/icmp4_engine.h"
#include "stack/icmp4/icmp4_sockets.h"
#include "stack/icmp6/icmp6_engine.h"
#include "stack/icmp6/icmp6_sockets.h"
#include "stack/iface/interface.h"
#include "stack/ip4/ip4_address_table.h"
#include "stack/ip4/ip4_engine.h"
#include "stack/ip4/ip4_routing_table.h"
#include "stack/ip6/ip6_address_table.h"
#include "stack/ip6/ip6_engine.h"
#include "stack/ip6/ip6_routing_table.h"
#include "stack/link/link.h"
#include "stack/link/pcap_writer.h"
#include "stack/igmp/igmp_engine.h"
#include "stack/mld/mld_engine.h"
#include "stack/nd/nd_engine.h"
#include "stack/socket/icmp4_socket.h"
#include "stack/socket/icmp6_socket.h"
#include "stack/socket/tcp_socket.h"
#include "stack/socket/udp_socket.h"
#include "stack/stack_config.h"
#include "stack/stack_dhcp4.h"
#include "stack/stack_dhcp4_server.h"
#include "stack/udp/udp_engine.h"

namespace pytcp {

class StackConsole;

class Stack final : private LinkDriver {
 public:
  // Attaches to the TAP device named in the configuration.
  static absl::StatusOr<std::unique_ptr<Stack>> Create(const StackConfig& config);
  // Runs over a given link with a given clock (tests: a MemoryLink and a VirtualClock).
  static absl::StatusOr<std::unique_ptr<Stack>> CreateWithLink(const StackConfig& config,
                                                               std::unique_ptr<Link> link,
                                                               const Clock* clock);
  // One link per interface of the configuration: the first, then config.more_interfaces.
  static absl::StatusOr<std::unique_ptr<Stack>> CreateWithLinks(
      const StackConfig& config, std::vector<std::unique_ptr<Link>> links, const Clock* clock);
  ~Stack() override;
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // Configures the addresses and services and starts the event loop thread.
  absl::Status Start();
  // Configures as Start() does, without a thread: the caller drives the stack.
  absl::Status StartManual();
  // Stops the thread and closes everything; idempotent.
  void Stop();

  // Sockets (the C++ socket API that the shim calls).
  // `family` AF_INET6 makes a dual-stack socket (IPV6_V6ONLY off, as Linux's default).
  std::shared_ptr<UdpSocket> CreateUdpSocket(int family = AF_INET);
  std::shared_ptr<TcpSocket> CreateTcpSocket(int family = AF_INET);
  // ICMPv4: SOCK_DGRAM (a ping socket) or SOCK_RAW (icmp4_socket.h).
  std::shared_ptr<Icmp4Socket> CreateIcmp4Socket(int type);
  // ICMPv6: SOCK_DGRAM (a ping socket) or SOCK_RAW (icmp6_socket.h); always AF_INET6.
  std::shared_ptr<Icmp6Socket> CreateIcmp6Socket(int type);
  // socket(2): the socket for (domain, type, protocol) behind the protocol-independent API
  // (socket.h): AF_INET/AF_INET6 SOCK_STREAM (TCP), SOCK_DGRAM (UDP), SOCK_DGRAM/SOCK_RAW
  // with IPPROTO_ICMP (AF_INET) or IPPROTO_ICMPV6 (AF_INET6). `type` without flags.
  // EAFNOSUPPORT, EPROTONOSUPPORT or ESOCKTNOSUPPORT for anything else, as Linux.
  SysResult<std::shared_ptr<Socket>> CreateSocket(int domain, int type, int protocol);

  // Run-time configuration.
  void AddIp4Address(const Ip4Interface& ifaddr, Ip4AddressSource source = Ip4AddressSource::kStatic);
  void RemoveIp4Address(Ip4Address address);
  void SetIp4DefaultGateway(Ip4Address gateway, RouteOrigin origin = RouteOrigin::kStatic);
  void AddIp4Route(const Ip4Route& route);
  // IPv6: a static address (DAD runs first), and a default router.
  void AddIp6Address(const Ip6Interface& ifaddr);
  void SetIp6DefaultRouter(const Ip6Address& router);
  // Static routes of either family (PYTCP_ROUTES, the console's `route add` and `route
  // del`; stack_routes.h). Adding fails as `ip route add` does: a device that is not the
  // stack's interface (NotFound), a gateway on no connected network (InvalidArgument,
  // Linux's "Nexthop has invalid gateway"), a static route to the same prefix with the
  // same metric (AlreadyExists, EEXIST). Removing takes the static routes to the prefix
  // that match what else the route names (gateway, metric); NotFound (ESRCH) when none.
  absl::Status AddStaticRoute(const StaticRoute& route);
  absl::Status RemoveStaticRoute(const StaticRoute& route);

  // Manual driving (no thread): process every deliverable frame, then expired timers.
  void ProcessLink();
  void RunTimers();
  Instant NextDeadline();

  std::mutex& mutex() { return mu_; }
  const Clock& clock() const { return *clock_; }
  const StackConfig& config() const { return config_; }
  const MacAddress& mac() const { return iface_->mac(); }

  // Engines, for tests, tools and the console (take mutex() while using them).
  // iface(), arp() and link() are the first interface's.
  Interface& iface() { return *iface_; }
  ArpEngine& arp() { return *arp_; }
  // Every interface (0: the first; then config().more_interfaces), and its ARP engine.
  size_t interface_count() const { return 1 + more_.size(); }
  Interface& iface(size_t i) { return i == 0 ? *iface_ : *more_[i - 1].iface; }
  ArpEngine& arp(size_t i) { return i == 0 ? *arp_ : *more_[i - 1].arp; }
  // Its Neighbour Discovery; null where IPv6 does not run.
  NdEngine* nd(size_t i) { return i == 0 ? nd_.get() : more_[i - 1].nd.get(); }
  Ip4Engine& ip4() { return *ip4_; }
  Icmp4Engine& icmp4() { return *icmp4_; }
  Icmp4Sockets& icmp4_sockets() { return *icmp4_sockets_; }
  UdpEngine& udp() { return *udp_; }
  TcpEngine& tcp() { return *tcp_; }
  // The DHCPv4 service when PYTCP_IP4=dhcp, else nullptr.
  Dhcp4Service* dhcp4() { return dhcp4_.get(); }
  // The DHCPv4 servers (PYTCP_DHCP_SERVER_<iface>), else nullptr.
  Dhcp4ServerService* dhcp4_server() { return dhcp4_server_.get(); }
  // DNS servers: configured (PYTCP_DNS), else learned from DHCP.
  std::vector<Ip4Address> Dns4Servers();
  // IPv6 DNS servers: configured (PYTCP_DNS), else learned from RDNSS (RFC 8106).
  std::vector<Ip6Address> Dns6Servers();
  // IPv6 engines (present always; idle when PYTCP_IP6=none).
  bool ip6_enabled() const { return config_.ip6_mode != Ip6Mode::kNone; }
  Ip6Engine& ip6() { return *ip6_; }
  NdEngine& nd() { return *nd_; }
  MldEngine& mld() { return *mld_; }
  IgmpEngine& igmp() { return *igmp_; }
  Icmp6Engine& icmp6() { return *icmp6_; }
  Icmp6Sockets& icmp6_sockets() { return *icmp6_sockets_; }
  Ip6AddressTable& ip6_addresses() { return ip6_addresses_; }
  Ip6RoutingTable& ip6_routes() { return ip6_routes_; }
  Ip4AddressTable& ip4_addresses() { return ip4_addresses_; }
  Ip4RoutingTable& ip4_routes() { return ip4_routes_; }
  Link& link() { return *link_; }

  // The sockets handed out that are still open (for the console's `show sockets`; call
  // without holding mutex()).
  std::vector<std::shared_ptr<Socket>> OpenSockets();

  // Who holds the sockets, for the console's `show sockets` (as `ss -p`): a program of the
  // stack's own names nothing (the console is its own), pytcpd names the processes whose
  // fds refer to each socket it serves. Called by the console's thread without mutex().
  struct SocketOwnerKey {
    bool tcp = false;
    SocketAddress local;
    SocketAddress peer;  // unspecified with port 0: none (a listener, an unconnected socket)
    auto operator<=>(const SocketOwnerKey& o) const {
      return std::tie(tcp, local.ip, local.port, peer.ip, peer.port) <=>
             std::tie(o.tcp, o.local.ip, o.local.port, o.peer.ip, o.peer.port);
    }
    bool operator==(const SocketOwnerKey& o) const { return (*this <=> o) == 0; }
  };
  using SocketOwners = std::map<SocketOwnerKey, std::string>;
  void set_socket_owners(std::function<SocketOwners()> namer);
  // Empty when nothing names owners (then the console shows no Process column).
  std::optional<SocketOwners> SocketOwnersSnapshot();

  // Counters of every protocol as "protocol.counter" -> value (non-zero ones).
  std::map<std::string, uint64_t> CounterSnapshot();

  // An engine with timers, as the loop runs it (RegisterEngines lists them once).
  struct TimedEngine {
    bool ip6 = false;  // idle when PYTCP_IP6=none
    std::function<void(Instant)> poll;
    std::function<Instant()> next_deadline;
  };
  // Adds one protocol's counters, under its prefix, to a snapshot.
  using CounterSource = std::function<void(std::map<std::string, uint64_t>*)>;

  // The console's socket path ("" when it is off or not started; stack_console.h).
  std::string console_path() const;

  // Live capture of every frame to a pcap file ("" stops it).
  absl::Status StartCapture(const std::string& path);
  void StopCapture();

  // Run-to-completion for calls that wait on several things at once (the shim's poll,
  // select and epoll_wait; DESIGN.md "Runtime model"), as WaitDriving is for a blocked
  // socket call. A caller about to block asks for the link with BeginLinkWait(): it gets
  // the link's fd when no other thread is reading it (and the stack runs its loop thread),
  // else -1. It adds the fd to what it waits on, calls ProcessLinkForWait() when the fd is
  // readable, and gives the link back with EndLinkWait(). Meanwhile the loop leaves the
  // link to it, so a frame wakes the waiting application thread and nothing else.
  int BeginLinkWait();
  int link_fd() const { return link_->wait_fd(); }  // what BeginLinkWait() returns when it lends
  size_t ProcessLinkForWait();  // returns the frames processed
  void EndLinkWait();
  // PYTCP_BUSY_POLL for those waits: reads the lent link for up to the configured time
  // before the caller sleeps; returns the frames processed (0 at once when it is off).
  size_t BusyPollForWait();

 private:
  Stack(const StackConfig& config, std::vector<std::unique_ptr<Link>> links, const Clock* clock);
  absl::Status Configure();
  void Loop();
  // Returns the number of frames read.
  size_t ProcessLinkLocked(Instant now, size_t max_frames = SIZE_MAX);
  void RunTimersLocked(Instant now);
  // With with_link false, leaves out the link's next delivery time (the loop sleeps
  // without the link while a thread has it: that thread reads what the link delivers).
  Instant NextDeadlineLocked(bool with_link = true) const;
  void Kick();
  // Wakes the loop when it must act before it would wake by itself: it sleeps without the
  // link while a thread drives it, or a deadline moved before the one it sleeps until.
  void KickLoopIfNeededLocked();
  // LinkDriver: a blocked socket call reads the link itself (run-to-completion).
  int WaitDriving(std::unique_lock<std::mutex>& lock, int wake_fd, int timeout_ms,
                  const std::function<bool()>& ready) override;
  // Gives the link to the calling thread (false: another thread has it, or no loop thread).
  bool TakeLinkLocked();
  void ReleaseLinkLocked();
  // Gives TCP the host's key for this boot from config_.tcp_key_file (stack/base/host_key.h).
  void UseHostTcpKey();
  // check_gateway: the gateway must be on a connected network (false while the family's
  // addresses are still to come from DHCP or SLAAC).
  absl::Status AddStaticRouteLocked(const StaticRoute& route, bool check_gateway);
  SocketContext MakeSocketContext();
  // The interface a gateway is reached by: the one with an address on its network, or of
  // an on-link route to it; `fallback` when none (addresses still to come from DHCP).
  uint8_t Ip4GatewayIface(Ip4Address gateway, uint8_t fallback) const;
  // Configure(): the DHCPv4 servers of the interfaces with a pool.
  absl::Status StartDhcp4Servers();
  // Reads every frame the further interfaces' links hold (the loop's, always).
  size_t ProcessMoreLinksLocked(Instant now);
  // Fills timed_ and counter_sources_: every engine named once.
  void RegisterEngines();

  StackConfig config_;
  std::unique_ptr<Link> link_;
  const Clock* clock_;
  Random random_;
  std::mutex mu_;
  std::unique_ptr<Interface> iface_;
  // The further interfaces (PYTCP_IFACE=tap7,tap8): forwarded between.
  struct MoreInterface {
    std::unique_ptr<Link> link;
    std::unique_ptr<Interface> iface;
    std::unique_ptr<ArpEngine> arp;
    std::unique_ptr<NdEngine> nd;  // IPv6 runs there (PYTCP_IP6_<name>), else null
    std::unique_ptr<Dhcp4Service> dhcp4;  // PYTCP_IP4_<name>=dhcp, once configured
  };
  std::vector<MoreInterface> more_;
  Ip4AddressTable ip4_addresses_;
  Ip4RoutingTable ip4_routes_;
  std::unique_ptr<ArpEngine> arp_;
  std::unique_ptr<Ip4Engine> ip4_;
  std::unique_ptr<Icmp4Engine> icmp4_;
  std::unique_ptr<Icmp4Sockets> icmp4_sockets_;
  std::unique_ptr<UdpEngine> udp_;
  std::unique_ptr<TcpEngine> tcp_;
  std::unique_ptr<Dhcp4Service> dhcp4_;
  std::unique_ptr<Dhcp4ServerService> dhcp4_server_;
  Ip6AddressTable ip6_addresses_;
  Ip6RoutingTable ip6_routes_;
  std::unique_ptr<Ip6Engine> ip6_;
  std::unique_ptr<NdEngine> nd_;
  std::unique_ptr<MldEngine> mld_;
  std::unique_ptr<IgmpEngine> igmp_;
  std::unique_ptr<Icmp6Engine> icmp6_;
  std::unique_ptr<Icmp6Sockets> icmp6_sockets_;
  std::vector<TimedEngine> timed_;
  std::vector<CounterSource> counter_sources_;
  // Every socket handed out, so that Stop() can close those still open.
  std::mutex sockets_mu_;
  std::vector<std::weak_ptr<Socket>> sockets_;
  void TrackSocket(const std::shared_ptr<Socket>& socket);
  std::unique_ptr<PcapWriter> capture_;
  std::unique_ptr<StackConsole> console_;  // started by Start(), stopped first by Stop()
  std::mutex owners_mu_;
  std::function<SocketOwners()> socket_owners_;
  int wake_fd_ = -1;
  // Run-to-completion state (guarded by mu_): an application thread is waiting on the link
  // (at most one: the others wait to be told, as the kernel wakes one reader per frame);
  // the loop sleeps without the link's fd, and until when.
  bool driving_ = false;
  bool loop_without_link_ = false;
  Instant loop_sleep_until_;
  // A thread gave the link back since the loop last woke; the loop then sleeps at most
  // kLinkGrace without the link (loop_sleep_capped_), so a give-back need not wake it.
  bool released_since_loop_woke_ = false;
  bool loop_sleep_capped_ = false;
  bool threaded_ = false;  // Start() runs the loop thread (sockets then get the driver)
  std::atomic<bool> stop_{false};
  std::thread thread_;
  bool started_ = false;
};

}  // namespace pytcp
