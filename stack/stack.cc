#include "stack/stack.h"

#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>

#include "stack/base/cancel.h"
#include "stack/base/host_key.h"
#include "stack/base/log.h"
#include "stack/link/tap_link.h"
#include "stack/stack_console.h"

namespace pytcp {
namespace {
LogChannel log_stack("stack");

// How late the loop may look at the link after an application thread gave it back (see
// Loop()): the longest a frame waits when it comes while no thread is waiting for one.
constexpr Duration kLinkGrace = std::chrono::milliseconds(1);

// How many frames an application thread that drives the link processes before it looks at
// its own socket again: its data is then copied out while still in the cache (a few GRO
// super-frames, not the megabytes a burst may bring), and the receive ring keeps reusing
// the same memory. The rest stays readable on the link for the next turn.
constexpr size_t kDriverBatch = 8;

uint64_t SeedFrom(const StackConfig& config) {
  if (config.seed != 0) return config.seed;
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
    seed = static_cast<uint64_t>(RealClock::Instance().Now().nanos()) ^ static_cast<uint64_t>(getpid());
  }
  return seed;
}
}  // namespace

void Stack::UseHostTcpKey() {
  if (config_.tcp_key_file.empty()) return;
  auto key = LoadOrCreateHostKey(config_.tcp_key_file);
  if (key.ok()) {
    tcp_->UseHostKey(*key);
    return;
  }
  // Still a correct stack, but a program that reuses a four-tuple of an earlier program
  // may look like an old duplicate to a peer in TIME-WAIT (issue 16): say so once.
  PYTCP_LOG(log_stack, kWarn, "tcp: no host key ({}); ISNs and timestamps use a key of this process",
            std::string(key.status().message()));
}

absl::StatusOr<std::unique_ptr<Stack>> Stack::Create(const StackConfig& config) {
  std::vector<std::unique_ptr<Link>> links;
  auto tap = TapLink::Open(config.interface);
  if (!tap.ok()) return tap.status();
  links.push_back(std::move(*tap));
  for (const InterfaceConfig& more : config.more_interfaces) {
    auto link = TapLink::Open(more.name);
    if (!link.ok()) return link.status();
    links.push_back(std::move(*link));
  }
  auto stack = CreateWithLinks(config, std::move(links), &RealClock::Instance());
  if (!stack.ok()) return stack;
  // Link-local zones are the host's device indexes, as the kernel and the shim number them.
  for (size_t i = 0; i < (*stack)->interface_count(); ++i) {
    Interface& iface = (*stack)->iface(i);
    iface.set_scope_id(if_nametoindex(std::string(iface.name()).c_str()));
  }
  return stack;
}

absl::StatusOr<std::unique_ptr<Stack>> Stack::CreateWithLink(const StackConfig& config,
                                                             std::unique_ptr<Link> link,
                                                             const Clock* clock) {
  std::vector<std::unique_ptr<Link>> links;
  links.push_back(std::move(link));
  return CreateWithLinks(config, std::move(links), clock);
}

absl::StatusOr<std::unique_ptr<Stack>> Stack::CreateWithLinks(
    const StackConfig& config, std::vector<std::unique_ptr<Link>> links, const Clock* clock) {
  if (links.size() != 1 + config.more_interfaces.size()) {
    return absl::InvalidArgumentError(fmt::format(
        "{} links for {} interfaces ({})", links.size(), 1 + config.more_interfaces.size(),
        config.InterfaceNames()));
  }
  if (auto s = ApplyLogSpec(config.log); !s.ok()) return s;
  std::unique_ptr<Stack> stack(new Stack(config, std::move(links), clock));
  if (stack->wake_fd_ < 0) return absl::InternalError("eventfd failed");
  return stack;
}

Stack::Stack(const StackConfig& config, std::vector<std::unique_ptr<Link>> links,
             const Clock* clock)
    : config_(config), link_(std::move(links[0])), clock_(clock), random_(SeedFrom(config)) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  iface_ = std::make_unique<Interface>(link_.get(), config_.EffectiveMac(), config_.interface);
  iface_->set_mtu(std::min(config_.mtu, link_->mtu()));
  ArpConfig arp_config;
  arp_config.acd_mode = config_.acd;
  // Linux keeps up to unres_qlen (101) packets per unresolved neighbour: traceroute sends
  // 16 probes at once before the gateway's address is resolved, and all must go out.
  arp_config.cache.max_queued_per_entry = 101;
  arp_ = std::make_unique<ArpEngine>(iface_.get(), &ip4_addresses_, &random_, arp_config);
  Ip4Config ip4_config;
  ip4_config.drop_options = config_.ip4_drop_options;
  ip4_config.forwarding = config_.forwarding;
  ip4_ = std::make_unique<Ip4Engine>(iface_.get(), arp_.get(), &ip4_addresses_, &ip4_routes_,
                                     &random_, ip4_config);
  for (size_t i = 0; i < config_.more_interfaces.size(); ++i) {
    const InterfaceConfig& more = config_.more_interfaces[i];
    MoreInterface m;
    m.link = std::move(links[i + 1]);
    m.iface = std::make_unique<Interface>(m.link.get(), more.EffectiveMac(), more.name);
    m.iface->set_mtu(std::min(more.mtu, m.link->mtu()));
    ArpConfig more_arp = arp_config;
    more_arp.iface_index = static_cast<uint8_t>(i + 1);
    m.arp = std::make_unique<ArpEngine>(m.iface.get(), &ip4_addresses_, &random_, more_arp);
    m.arp->set_conflict_handler([this, i](Ip4Address address, MacAddress) {
      if (more_[i].dhcp4) more_[i].dhcp4->OnAddressConflict(address, clock_->Now());
    });
    const uint8_t index = ip4_->AddInterface(m.iface.get(), m.arp.get());
    m.iface->RegisterHandler(EtherType::kArp, m.arp.get());
    m.iface->RegisterHandler(EtherType::kIp4, ip4_->handler(index));
    more_.push_back(std::move(m));
  }
  icmp4_ = std::make_unique<Icmp4Engine>(ip4_.get());
  icmp4_sockets_ = std::make_unique<Icmp4Sockets>(icmp4_.get(), ip4_.get(), &random_);
  igmp_ = std::make_unique<IgmpEngine>(ip4_.get(), &random_);
  udp_ = std::make_unique<UdpEngine>(ip4_.get(), &random_);
  udp_->set_igmp(igmp_.get());
  tcp_ = std::make_unique<TcpEngine>(ip4_.get(), &random_);
  tcp_->mutable_config().ecn = config_.tcp_ecn;
  tcp_->mutable_config().max_tw_buckets = config_.tcp_max_tw_buckets;
  tcp_->mutable_config().max_orphans = config_.tcp_max_orphans;
  tcp_->mutable_config().rfc1337 = config_.tcp_rfc1337;
  UseHostTcpKey();
  Ip6Config ip6_config;
  ip6_config.forwarding = config_.forwarding;
  ip6_ = std::make_unique<Ip6Engine>(iface_.get(), &ip6_addresses_, &ip6_routes_, &random_,
                                     ip6_config);
  NdConfig nd_config;
  nd_config.slaac = config_.ip6_mode == Ip6Mode::kAuto;
  nd_config.stable_secret = config_.ip6_stable_secret;
  nd_config.router = config_.forwarding;
  nd_config.advertise = config_.router_advertisements;
  nd_config.rdnss = config_.dns6;
  nd_ = std::make_unique<NdEngine>(ip6_.get(), &random_, nd_config);
  // A further interface's IPv6 (a router's): its own ND with the same router duties, no
  // SLAAC or solicitations of its own. Every interface gets its IPv6 position, so that
  // positions stay the stack's.
  for (size_t i = 0; i < more_.size(); ++i) {
    const bool on = config_.more_interfaces[i].ip6;
    const uint8_t index = ip6_->AddInterface(more_[i].iface.get(), on);
    if (!on) continue;
    NdConfig more_nd = nd_config;
    more_nd.slaac = config_.more_interfaces[i].ip6_auto;  // RFC 4862 §5.5 on its own link
    more_nd.send_rs = more_nd.slaac;
    more_[i].nd = std::make_unique<NdEngine>(ip6_.get(), &random_, more_nd, index);
    more_[i].iface->RegisterHandler(EtherType::kIp6, ip6_->handler(index));
  }
  mld_ = std::make_unique<MldEngine>(ip6_.get(), &random_);
  icmp6_ = std::make_unique<Icmp6Engine>(ip6_.get(), nd_.get(), mld_.get());
  icmp6_sockets_ = std::make_unique<Icmp6Sockets>(icmp6_.get(), ip6_.get(), &random_);
  udp_->set_ip6(ip6_.get());
  tcp_->set_ip6(ip6_.get());
  ip4_->set_loopback_listener([this] { Kick(); });
  ip6_->set_loopback_listener([this] { Kick(); });
  ip6_->set_group_listener([this](const Ip6Address& group, bool joined, Instant now) {
    mld_->OnGroupChange(group, joined, now);
  });
  if (config_.ip6_mode != Ip6Mode::kNone) iface_->RegisterHandler(EtherType::kIp6, ip6_.get());
  iface_->RegisterHandler(EtherType::kArp, arp_.get());
  iface_->RegisterHandler(EtherType::kIp4, ip4_.get());
  arp_->set_conflict_handler([this](Ip4Address address, MacAddress) {
    if (dhcp4_) dhcp4_->OnAddressConflict(address, clock_->Now());
  });
  RegisterEngines();
}

namespace {
template <typename Engine>
Stack::TimedEngine Timed(Engine* e, bool ip6 = false) {
  return {ip6, [e](Instant now) { e->Poll(now); }, [e] { return e->NextDeadline(); }};
}
template <typename Engine>
Stack::CounterSource CountersOf(const Engine* e, std::string prefix) {
  return [e, prefix](std::map<std::string, uint64_t>* out) { e->counters().AppendTo(out, prefix); };
}
}  // namespace

void Stack::RegisterEngines() {
  // The order the loop runs their timers in.
  timed_ = {Timed(arp_.get()),
            Timed(ip4_.get()),
            Timed(igmp_.get()),
            {false, [this](Instant now) { if (dhcp4_) dhcp4_->Poll(now); },
             [this] { return dhcp4_ ? dhcp4_->NextDeadline() : Instant::Infinite(); }},
            Timed(tcp_.get()),
            Timed(ip6_.get(), true),
            Timed(nd_.get(), true),
            Timed(mld_.get(), true)};
  counter_sources_ = {CountersOf(iface_.get(), "ether."), CountersOf(arp_.get(), "arp."),
                      CountersOf(ip4_.get(), "ip4."),     CountersOf(icmp4_.get(), "icmp4."),
                      CountersOf(igmp_.get(), "igmp."),   CountersOf(udp_.get(), "udp."),
                      CountersOf(tcp_.get(), "tcp."),     CountersOf(ip6_.get(), "ip6."),
                      CountersOf(icmp6_.get(), "icmp6."), CountersOf(nd_.get(), "nd."),
                      CountersOf(mld_.get(), "mld."),
                      [this](std::map<std::string, uint64_t>* out) {
                        if (dhcp4_) dhcp4_->client().counters().AppendTo(out, "dhcp4.");
                      },
                      // A server's counters carry its interface: "tap8.dhcp4_server.".
                      [this](std::map<std::string, uint64_t>* out) {
                        if (!dhcp4_server_) return;
                        for (const auto& port : dhcp4_server_->ports()) {
                          port.server->counters().AppendTo(
                              out, std::string(iface(port.iface).name()) + ".dhcp4_server.");
                        }
                      }};
  // A further interface's own counters carry its name: "tap8.ether.", "tap8.arp.".
  for (size_t i = 0; i < more_.size(); ++i) {
    const MoreInterface& m = more_[i];
    timed_.push_back(Timed(m.arp.get()));
    // Its DHCP client is made when the stack is configured (Configure), as the first's.
    timed_.push_back({false, [this, i](Instant now) { if (more_[i].dhcp4) more_[i].dhcp4->Poll(now); },
                      [this, i] { return more_[i].dhcp4 ? more_[i].dhcp4->NextDeadline() : Instant::Infinite(); }});
    counter_sources_.push_back([this, i](std::map<std::string, uint64_t>* out) {
      if (more_[i].dhcp4) {
        more_[i].dhcp4->client().counters().AppendTo(out, std::string(more_[i].iface->name()) + ".dhcp4.");
      }
    });
    const std::string name(m.iface->name());
    counter_sources_.push_back(CountersOf(m.iface.get(), name + ".ether."));
    counter_sources_.push_back(CountersOf(m.arp.get(), name + ".arp."));
    if (m.nd) {
      timed_.push_back(Timed(m.nd.get(), true));
      counter_sources_.push_back(CountersOf(m.nd.get(), name + ".nd."));
    }
  }
}

Stack::~Stack() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::Status Stack::Configure() {
  if (!config_.pcap.empty()) {
    if (auto s = StartCapture(config_.pcap); !s.ok()) return s;
  }
  std::lock_guard lock(mu_);
  if (config_.ip4_mode == Ip4Mode::kStatic) {
    for (const auto& ifaddr : config_.ip4_addresses) {
      ip4_addresses_.Add({ifaddr, Ip4AddressState::kTentative, Ip4AddressSource::kStatic});
      arp_->StartConflictDetection(ifaddr.address(), clock_->Now());
    }
  }
  for (size_t i = 0; i < more_.size(); ++i) {
    for (const auto& ifaddr : config_.more_interfaces[i].ip4_addresses) {
      Ip4AddressEntry entry{ifaddr, Ip4AddressState::kTentative, Ip4AddressSource::kStatic};
      entry.iface = static_cast<uint8_t>(i + 1);
      ip4_addresses_.Add(entry);
      more_[i].arp->StartConflictDetection(ifaddr.address(), clock_->Now());
    }
  }
  if (config_.ip4_gateway) {
    ip4_routes_.Add(Ip4Route{Ip4Network(), *config_.ip4_gateway, Ip4Address(), 0,
                             RouteOrigin::kStatic, Ip4GatewayIface(*config_.ip4_gateway, 0)});
  }
  if (config_.ip4_mode == Ip4Mode::kDhcp) {
    Dhcp4Service::Deps deps{udp_.get(),   ip4_.get(),          arp_.get(), iface_.get(),
                            &ip4_addresses_, &ip4_routes_, &random_, link_->mtu()};
    dhcp4_ = std::make_unique<Dhcp4Service>(deps, config_.dhcp4_cache);
    dhcp4_->Start(clock_->Now());
  }
  for (size_t i = 0; i < more_.size(); ++i) {
    const InterfaceConfig& more = config_.more_interfaces[i];
    if (!more.ip4_dhcp) continue;
    MoreInterface& m = more_[i];
    Dhcp4Service::Deps deps{udp_.get(),      ip4_.get(),   m.arp.get(), m.iface.get(),
                            &ip4_addresses_, &ip4_routes_, &random_,    m.link->mtu(),
                            static_cast<uint8_t>(i + 1)};
    m.dhcp4 = std::make_unique<Dhcp4Service>(deps, more.dhcp4_cache);
    m.dhcp4->Start(clock_->Now());
  }
  if (config_.ip6_mode != Ip6Mode::kNone) {
    const Instant now = clock_->Now();
    // RFC 4291 §2.8: every node listens to all-nodes (never reported, RFC 3810 §6).
    ip6_->JoinGroup(Ip6Address::AllNodesMulticast(), now);
    nd_->Start(now);  // link-local address, DAD, router solicitation
    if (config_.ip6_mode == Ip6Mode::kStatic) {
      for (const auto& ifaddr : config_.ip6_addresses) {
        nd_->AddAddress(ifaddr, Ip6AddressSource::kStatic, now);
      }
    }
    if (config_.ip6_gateway) {
      ip6_routes_.AddRouter(Ip6DefaultRouter{*config_.ip6_gateway, Instant::Infinite(), 0,
                                             Ip6RouteOrigin::kStatic});
    }
  }
  for (size_t i = 0; i < more_.size(); ++i) {
    if (!more_[i].nd) continue;
    const Instant now = clock_->Now();
    ip6_->JoinGroupOn(static_cast<uint8_t>(i + 1), Ip6Address::AllNodesMulticast(), now);
    more_[i].nd->Start(now);
    for (const auto& ifaddr : config_.more_interfaces[i].ip6_addresses) {
      more_[i].nd->AddAddress(ifaddr, Ip6AddressSource::kStatic, now);
    }
  }
  if (auto s = StartDhcp4Servers(); !s.ok()) return s;
  for (const StaticRoute& route : config_.routes) {
    // A gateway is checked against the connected networks when they are known now; those
    // DHCP or SLAAC bring are not, and a route through a gateway no network reaches is
    // then simply not used until one does.
    const bool known = route.ip6 ? config_.ip6_mode == Ip6Mode::kStatic
                                 : config_.ip4_mode == Ip4Mode::kStatic;
    if (auto s = AddStaticRouteLocked(route, known); !s.ok()) {
      return absl::InvalidArgumentError(fmt::format(
          "PYTCP_ROUTES: route '{}': {}", route.DestinationText(), std::string(s.message())));
    }
  }
  PYTCP_LOG(log_stack, kInfo, "stack on {} with MAC {}", config_.interface, iface_->mac());
  for (const MoreInterface& m : more_) {
    PYTCP_LOG(log_stack, kInfo, "stack also on {} with MAC {}", m.iface->name(), m.iface->mac());
  }
  return absl::OkStatus();
}

absl::Status Stack::StartDhcp4Servers() {
  auto server_config = [&](const Dhcp4Pool& pool, const std::vector<Ip4Interface>& addresses)
      -> std::optional<Dhcp4ServerConfig> {
    for (const Ip4Interface& a : addresses) {
      if (a.Contains(pool.first) && a.Contains(pool.last)) {
        Dhcp4ServerConfig c;
        c.server = a;
        c.first = pool.first;
        c.last = pool.last;
        c.lease_time = pool.lease_time;
        c.dns = config_.dns4;
        return c;
      }
    }
    return std::nullopt;
  };
  auto service = std::make_unique<Dhcp4ServerService>(udp_.get());
  if (config_.dhcp_server) {
    if (auto c = server_config(*config_.dhcp_server, config_.ip4_addresses)) service->Add(0, arp_.get(), *c);
  }
  for (size_t i = 0; i < more_.size(); ++i) {
    const InterfaceConfig& more = config_.more_interfaces[i];
    if (!more.dhcp_server) continue;
    if (auto c = server_config(*more.dhcp_server, more.ip4_addresses)) {
      service->Add(static_cast<uint8_t>(i + 1), more_[i].arp.get(), *c);
    }
  }
  if (service->ports().empty()) return absl::OkStatus();
  if (!service->Start()) return absl::FailedPreconditionError("DHCP server: UDP port 67 is taken");
  dhcp4_server_ = std::move(service);
  return absl::OkStatus();
}

absl::Status Stack::StartManual() {
  if (started_) return absl::FailedPreconditionError("stack already started");
  if (auto s = Configure(); !s.ok()) return s;
  started_ = true;
  return absl::OkStatus();
}

absl::Status Stack::Start() {
  threaded_ = true;  // before any socket is made: they get the link driver
  if (auto s = StartManual(); !s.ok()) {
    threaded_ = false;
    return s;
  }
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
  // The console (issue 8) serves from its own thread; failing to start it is not fatal.
  if (const std::string path = ConsolePathFromEnvironment(); !path.empty()) {
    auto console = StackConsole::Start(this, path);
    if (console.ok()) {
      console_ = std::move(*console);
    } else {
      PYTCP_LOG(log_stack, kWarn, "no console: {}", std::string(console.status().message()));
    }
  }
  return absl::OkStatus();
}

void Stack::Stop() {
  if (!started_) return;
  console_.reset();  // its commands use the stack: they end first
  stop_ = true;
  Kick();
  if (thread_.joinable()) thread_.join();
  // Close the sockets still open: their blocked callers wake with EBADF, later calls fail.
  std::vector<std::shared_ptr<Socket>> open;
  {
    std::lock_guard lock(sockets_mu_);
    for (auto& w : sockets_) {
      if (auto s = w.lock()) open.push_back(std::move(s));
    }
    sockets_.clear();
  }
  for (auto& s : open) s->Close();
  if (dhcp4_) {
    std::lock_guard lock(mu_);
    dhcp4_->Stop(clock_->Now());  // RFC 2131 §4.4.6: give the lease back
    dhcp4_.reset();
  }
  for (MoreInterface& m : more_) {
    if (!m.dhcp4) continue;
    std::lock_guard lock(mu_);
    m.dhcp4->Stop(clock_->Now());
    m.dhcp4.reset();
  }
  if (dhcp4_server_) {
    std::lock_guard lock(mu_);
    dhcp4_server_.reset();
  }
  StopCapture();
  started_ = false;
}

void Stack::Kick() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

SocketContext Stack::MakeSocketContext() {
  LinkDriver* driver = threaded_ && link_->wait_fd() >= 0 ? this : nullptr;
  return SocketContext{&mu_, clock_, [this] { KickLoopIfNeededLocked(); }, driver};
}

void Stack::KickLoopIfNeededLocked() {
  // A loop that sleeps without the link and was not told it will wake within kLinkGrace
  // must be woken once nobody reads the link.
  bool needed = loop_without_link_ && !driving_ && !loop_sleep_capped_;
  if (!needed) needed = NextDeadlineLocked() < loop_sleep_until_;
  if (!needed) return;
  // One kick until the loop has slept again: it recomputes both when it wakes.
  loop_without_link_ = false;
  loop_sleep_until_ = Instant();
  Kick();
}

namespace {
void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

void DrainEventFd(int fd) {
  uint64_t v;
  [[maybe_unused]] ssize_t n = read(fd, &v, sizeof(v));
}
}  // namespace

int Stack::WaitDriving(std::unique_lock<std::mutex>& lock, int wake_fd, int timeout_ms,
                       const std::function<bool()>& ready) {
  // Each poll below is where pthread_cancel may unwind this thread (base/cancel.h): the
  // lock is then let go, and the link must be given back under it.
  struct Relock {
    std::unique_lock<std::mutex>& lock;
    ~Relock() {
      if (!lock.owns_lock()) lock.lock();
    }
  };
  if (!TakeLinkLocked()) {
    // Another thread is reading the link: wait to be told, as without run-to-completion.
    Relock relock{lock};
    lock.unlock();
    pollfd p{wake_fd, POLLIN, 0};
    int r = 0;
    int e = 0;
    {
      CancelWindow cancellable;
      r = poll(&p, 1, timeout_ms);
      e = errno;
    }
    if (r > 0) DrainEventFd(wake_fd);
    lock.lock();
    errno = e;
    return r;
  }
  struct LinkHold {  // the link given back however the wait ends
    Stack* stack;
    std::unique_lock<std::mutex>& lock;
    ~LinkHold() {
      const int e = errno;  // ReleaseLinkLocked may write to the loop's eventfd
      if (!lock.owns_lock()) lock.lock();
      stack->ReleaseLinkLocked();
      errno = e;
    }
  };
  LinkHold hold{this, lock};
  int r = 1;
  int e = 0;
  bool done = false;
  if (config_.busy_poll.count() > 0 && timeout_ms != 0) {
    // PYTCP_BUSY_POLL (as Linux's SO_BUSY_POLL): keep reading the link for up to that long
    // before sleeping, so a reply that comes within it costs no wake-up at all. The lock is
    // let go between reads so the other threads and the loop's timers still get it.
    Instant until = clock_->Now() + config_.busy_poll;
    if (timeout_ms > 0) until = EarliestOf(until, clock_->Now() + std::chrono::milliseconds(timeout_ms));
    while (true) {
      ProcessLinkLocked(clock_->Now());
      if (ready() || clock_->Now() >= until) {
        done = ready();
        break;
      }
      lock.unlock();
      CpuRelax();
      lock.lock();
      if (ready()) {
        done = true;
        break;
      }
    }
  }
  if (!done) {
    lock.unlock();
    pollfd fds[2] = {{wake_fd, POLLIN, 0}, {link_->wait_fd(), POLLIN, 0}};
    {
      CancelWindow cancellable;
      r = poll(fds, 2, timeout_ms);
      e = errno;
    }
    if (r > 0 && (fds[0].revents & POLLIN) != 0) DrainEventFd(wake_fd);
    lock.lock();
    if (r > 0 && (fds[1].revents & POLLIN) != 0) ProcessLinkLocked(clock_->Now(), kDriverBatch);
  }
  errno = e;
  return r;
}

bool Stack::TakeLinkLocked() {
  if (driving_ || !threaded_ || stop_ || link_->wait_fd() < 0) return false;
  driving_ = true;
  return true;
}

void Stack::ReleaseLinkLocked() {
  driving_ = false;
  released_since_loop_woke_ = true;
  // The loop slept without the link while this thread had it (woken only if it will not
  // wake within kLinkGrace by itself), and frames processed here may have armed timers (a
  // delayed ACK) before the loop's deadline.
  KickLoopIfNeededLocked();
}

int Stack::BeginLinkWait() {
  std::lock_guard lock(mu_);
  return TakeLinkLocked() ? link_->wait_fd() : -1;
}

size_t Stack::ProcessLinkForWait() {
  std::lock_guard lock(mu_);
  const size_t n = ProcessLinkLocked(clock_->Now(), kDriverBatch);
  // The frames may have armed a timer before the loop's deadline (RACK's reordering
  // window, a delayed ACK): the loop must be told now, not when the link is given back,
  // which a holder such as pytcpd's loop does only when it stops.
  if (n > 0) KickLoopIfNeededLocked();
  return n;
}

size_t Stack::BusyPollForWait() {
  if (config_.busy_poll.count() == 0) return 0;
  const Instant until = clock_->Now() + config_.busy_poll;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (const size_t n = ProcessLinkLocked(clock_->Now(), kDriverBatch); n > 0) {
        KickLoopIfNeededLocked();  // as in ProcessLinkForWait
        return n;
      }
    }
    if (clock_->Now() >= until) return 0;
    CpuRelax();
  }
}

void Stack::EndLinkWait() {
  std::lock_guard lock(mu_);
  ReleaseLinkLocked();
}

void Stack::set_socket_owners(std::function<SocketOwners()> namer) {
  std::lock_guard lock(owners_mu_);
  socket_owners_ = std::move(namer);
}

std::optional<Stack::SocketOwners> Stack::SocketOwnersSnapshot() {
  std::function<SocketOwners()> namer;
  {
    std::lock_guard lock(owners_mu_);
    namer = socket_owners_;
  }
  if (!namer) return std::nullopt;
  return namer();
}

std::vector<std::shared_ptr<Socket>> Stack::OpenSockets() {
  std::vector<std::shared_ptr<Socket>> open;
  std::lock_guard lock(sockets_mu_);
  for (auto& w : sockets_) {
    if (auto s = w.lock()) open.push_back(std::move(s));
  }
  return open;
}

void Stack::TrackSocket(const std::shared_ptr<Socket>& socket) {
  std::lock_guard lock(sockets_mu_);
  // Forget sockets that are gone whenever the list has doubled since the last sweep.
  if (sockets_.size() >= 64 && (sockets_.size() & (sockets_.size() - 1)) == 0) {
    std::erase_if(sockets_, [](const std::weak_ptr<Socket>& w) { return w.expired(); });
  }
  sockets_.push_back(socket);
}

std::shared_ptr<UdpSocket> Stack::CreateUdpSocket(int family) {
  auto socket = std::make_shared<UdpSocket>(MakeSocketContext(), udp_.get());
  socket->set_family(family);
  TrackSocket(socket);
  return socket;
}

std::shared_ptr<TcpSocket> Stack::CreateTcpSocket(int family) {
  auto socket = std::make_shared<TcpSocket>(MakeSocketContext(), tcp_.get());
  socket->set_family(family);
  TrackSocket(socket);
  return socket;
}

std::shared_ptr<Icmp4Socket> Stack::CreateIcmp4Socket(int type) {
  auto socket = std::make_shared<Icmp4Socket>(MakeSocketContext(), icmp4_sockets_.get(), type);
  TrackSocket(socket);
  return socket;
}

std::shared_ptr<Icmp6Socket> Stack::CreateIcmp6Socket(int type) {
  auto socket = std::make_shared<Icmp6Socket>(MakeSocketContext(), icmp6_sockets_.get(), type);
  TrackSocket(socket);
  return socket;
}

SysResult<std::shared_ptr<Socket>> Stack::CreateSocket(int domain, int type, int protocol) {
  if (domain != AF_INET && domain != AF_INET6) return Err{EAFNOSUPPORT};
  const int icmp = domain == AF_INET ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6};
  std::shared_ptr<Socket> socket;
  if (type == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) {
    socket = CreateTcpSocket(domain);
  } else if (type == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP)) {
    socket = CreateUdpSocket(domain);
  } else if ((type == SOCK_DGRAM || type == SOCK_RAW) && protocol == icmp) {
    socket = domain == AF_INET ? std::shared_ptr<Socket>(CreateIcmp4Socket(type))
                               : std::shared_ptr<Socket>(CreateIcmp6Socket(type));
    socket->set_family(domain);
  } else if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_RAW) {
    return Err{ESOCKTNOSUPPORT};
  } else {
    return Err{EPROTONOSUPPORT};
  }
  return socket;
}

void Stack::AddIp4Address(const Ip4Interface& ifaddr, Ip4AddressSource source) {
  std::lock_guard lock(mu_);
  ip4_addresses_.Add({ifaddr, Ip4AddressState::kTentative, source});
  arp_->StartConflictDetection(ifaddr.address(), clock_->Now());
  Kick();
}

void Stack::RemoveIp4Address(Ip4Address address) {
  std::lock_guard lock(mu_);
  arp_->StopConflictDetection(address);
  ip4_addresses_.Remove(address);
}

void Stack::SetIp4DefaultGateway(Ip4Address gateway, RouteOrigin origin) {
  std::lock_guard lock(mu_);
  ip4_routes_.RemoveOrigin(origin);
  ip4_routes_.Add(Ip4Route{Ip4Network(), gateway, Ip4Address(), 0, origin,
                           Ip4GatewayIface(gateway, 0)});
}

void Stack::AddIp4Route(const Ip4Route& route) {
  std::lock_guard lock(mu_);
  ip4_routes_.Add(route);
}

void Stack::AddIp6Address(const Ip6Interface& ifaddr) {
  std::lock_guard lock(mu_);
  nd_->AddAddress(ifaddr, Ip6AddressSource::kStatic, clock_->Now());
  Kick();
}

void Stack::SetIp6DefaultRouter(const Ip6Address& router) {
  std::lock_guard lock(mu_);
  ip6_routes_.AddRouter(
      Ip6DefaultRouter{router, Instant::Infinite(), 0, Ip6RouteOrigin::kStatic});
}

size_t Stack::ProcessLinkLocked(Instant now, size_t max_frames) {
  // Read in batches until the link is empty or max_frames were read (DESIGN.md "Runtime
  // model").
  size_t frames = 0;
  while (frames < max_frames) {
    const size_t batch = std::min<size_t>(64, max_frames - frames);
    const ReceiveResult r = link_->Receive(
        [&](ByteSpan frame, const RxFrameInfo& rx) { iface_->Receive(frame, now, rx); }, batch);
    frames += r.frames;
    if (ip4_->HasLoopbackPending()) ip4_->DeliverLoopback(now);
    if (ip6_->HasLoopbackPending()) ip6_->DeliverLoopback(now);
    if (r.frames < batch) break;
  }
  return frames + ProcessMoreLinksLocked(now);
}

size_t Stack::ProcessMoreLinksLocked(Instant now) {
  size_t frames = 0;
  for (MoreInterface& m : more_) {
    // Batches of 64 until the link is empty, as the first link's.
    while (true) {
      const ReceiveResult r = m.link->Receive(
          [&](ByteSpan frame, const RxFrameInfo& rx) { m.iface->Receive(frame, now, rx); }, 64);
      frames += r.frames;
      if (ip4_->HasLoopbackPending()) ip4_->DeliverLoopback(now);
      if (r.frames < 64) break;
    }
  }
  return frames;
}

void Stack::RunTimersLocked(Instant now) {
  for (const TimedEngine& e : timed_) {
    if (!e.ip6 || ip6_enabled()) e.poll(now);
  }
  if (ip4_->HasLoopbackPending()) ip4_->DeliverLoopback(now);
  if (ip6_->HasLoopbackPending()) ip6_->DeliverLoopback(now);
}

Instant Stack::NextDeadlineLocked(bool with_link) const {
  Instant next = with_link ? link_->next_delivery_time() : Instant::Infinite();
  for (const MoreInterface& m : more_) next = EarliestOf(next, m.link->next_delivery_time());
  for (const TimedEngine& e : timed_) {
    if (!e.ip6 || ip6_enabled()) next = EarliestOf(next, e.next_deadline());
  }
  if (ip4_->HasLoopbackPending() || ip6_->HasLoopbackPending()) next = clock_->Now();
  return next;
}

void Stack::ProcessLink() {
  std::lock_guard lock(mu_);
  ProcessLinkLocked(clock_->Now());
}

void Stack::RunTimers() {
  std::lock_guard lock(mu_);
  RunTimersLocked(clock_->Now());
}

Instant Stack::NextDeadline() {
  std::lock_guard lock(mu_);
  return NextDeadlineLocked();
}

void Stack::Loop() {
  const int link_fd = link_->wait_fd();
  // The eventfd, the first link (while no application thread has it), then the further
  // interfaces' links, which only the loop reads.
  std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}, {link_fd, POLLIN, 0}};
  for (const MoreInterface& m : more_) {
    if (m.link->wait_fd() >= 0) fds.push_back({m.link->wait_fd(), POLLIN, 0});
  }
  while (!stop_) {
    Instant deadline;
    bool with_link = link_fd >= 0;
    {
      std::lock_guard lock(mu_);
      // While an application thread waits on the link (run-to-completion) the loop leaves
      // the link to it: both waking for every frame would make them fight for the lock.
      // So it does while application threads take the link and give it back at a high rate
      // (a program in a read/select loop, between two waits), and waking the loop at every
      // give-back would cost a wake-up per call: instead the loop looks again within
      // kLinkGrace, and takes the link when no thread gave it back in that time, so a frame
      // that comes while no thread waits is read at most 2 * kLinkGrace late. A thread that
      // has held the link since the loop last woke (an idle server in accept) wakes it when
      // it lets go.
      loop_sleep_capped_ = false;
      const bool app_drives = driving_ || released_since_loop_woke_;
      if (app_drives) with_link = false;
      loop_without_link_ = !with_link;
      deadline = NextDeadlineLocked(with_link);
      if (!with_link && released_since_loop_woke_) {
        const Instant cap = clock_->Now() + kLinkGrace;
        if (cap < deadline) {
          deadline = cap;
          loop_sleep_capped_ = true;
        }
      }
      released_since_loop_woke_ = false;
      loop_sleep_until_ = deadline;
    }
    int timeout_ms = -1;
    if (!deadline.is_infinite()) {
      const Duration left = deadline - clock_->Now();
      timeout_ms = left.count() <= 0 ? 0 : static_cast<int>((left.count() + 999999) / 1000000);
    }
    for (pollfd& p : fds) p.revents = 0;
    // Without the first link, its slot waits on nothing (poll ignores a negative fd).
    fds[1].fd = with_link ? link_fd : -1;
    const int r = poll(fds.data(), fds.size(), timeout_ms);
    if (r < 0 && errno != EINTR) {
      PYTCP_LOG(log_stack, kError, "poll failed: {}", errno);
      break;
    }
    if (fds[0].revents & POLLIN) DrainEventFd(wake_fd_);
    std::lock_guard lock(mu_);
    loop_without_link_ = false;
    loop_sleep_capped_ = false;
    const Instant now = clock_->Now();
    if (!driving_) {
      ProcessLinkLocked(now);
    } else {
      ProcessMoreLinksLocked(now);
    }
    RunTimersLocked(now);
  }
}

std::map<std::string, uint64_t> Stack::CounterSnapshot() {
  std::lock_guard lock(mu_);
  std::map<std::string, uint64_t> out;
  for (const CounterSource& source : counter_sources_) source(&out);
  return out;
}

std::vector<Ip4Address> Stack::Dns4Servers() {
  std::lock_guard lock(mu_);
  if (!config_.dns4.empty()) return config_.dns4;
  // The first interface's lease's servers, then the further interfaces' ones.
  std::vector<Ip4Address> out;
  if (dhcp4_) out = dhcp4_->dns_servers();
  for (const MoreInterface& m : more_) {
    if (!m.dhcp4) continue;
    for (Ip4Address a : m.dhcp4->dns_servers()) {
      if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
  }
  return out;
}

std::vector<Ip6Address> Stack::Dns6Servers() {
  std::lock_guard lock(mu_);
  if (!config_.dns6.empty()) return config_.dns6;
  if (!config_.dns4.empty()) return {};  // PYTCP_DNS set: only what it lists
  return nd_->dns_servers();
}

absl::Status Stack::StartCapture(const std::string& path) {
  auto writer = PcapWriter::Open(path, RealClock::Instance());
  if (!writer.ok()) return writer.status();
  std::lock_guard lock(mu_);
  capture_ = std::move(*writer);
  iface_->set_capture(capture_.get());
  for (MoreInterface& m : more_) m.iface->set_capture(capture_.get());
  return absl::OkStatus();
}

std::string Stack::console_path() const { return console_ ? console_->path() : std::string(); }

void Stack::StopCapture() {
  std::lock_guard lock(mu_);
  iface_->set_capture(nullptr);
  for (MoreInterface& m : more_) m.iface->set_capture(nullptr);
  if (capture_) capture_->Flush();
  capture_.reset();
}

}  // namespace pytcp
