#include "stack/stack_dhcp4.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "stack/base/log.h"
#include "stack/base/private_file.h"
#include "stack/dhcp4/dhcp4_lease_file.h"

namespace pytcp {
namespace {
LogChannel log_dhcp("dhcp4");  // shares its name with the client's channel
constexpr uint16_t kClientPort = 68;
constexpr uint16_t kServerPort = 67;
}  // namespace

Dhcp4Service::Dhcp4Service(Deps deps, std::string cache_path, Dhcp4ClientConfig config)
    : deps_(deps),
      cache_path_(std::move(cache_path)),
      client_(deps.iface->mac(), deps.random, this, std::move(config)) {}

Dhcp4Service::~Dhcp4Service() { deps_.udp->Unbind(this); }

void Dhcp4Service::Start(Instant now) {
  now_ = now;
  UdpEndpoint::reuse_addr = true;
  // One client per interface, each taking only its own link's answers.
  UdpEndpoint::bound_device = deps_.iface_index;
  if (auto r = deps_.udp->Bind(this, SocketAddress{IpAddress(Ip4Address()), kClientPort, 0});
      !r.ok()) {
    PYTCP_LOG(log_dhcp, kError, "cannot bind UDP port 68: errno {}", r.error());
    return;
  }
  // RFC 2131 §4.1: a server may unicast to the offered address before we hold it.
  deps_.ip4->set_accept_any_unicast(true, deps_.iface_index);
  client_.Start(now, LoadLease());
}

void Dhcp4Service::Stop(Instant now) {
  now_ = now;
  // The cache is kept across a release: the next start asks for the same address again
  // (INIT-REBOOT), which an authoritative server grants at once when it is still free.
  releasing_ = true;
  if (client_.lease()) client_.Release(now);
  releasing_ = false;
  deps_.udp->Unbind(this);
  deps_.ip4->set_accept_any_unicast(false, deps_.iface_index);
}

void Dhcp4Service::OnAddressConflict(Ip4Address address, Instant now) {
  now_ = now;
  if (address_ && *address_ == address) client_.OnAddressConflict(now);
}

void Dhcp4Service::OnDatagram(const SocketAddress& from, const IpAddress&, ByteSpan payload,
                              const UdpRxMeta&, Instant now) {
  if (from.port != kServerPort) return;
  now_ = now;
  client_.Receive(payload, from.ip.v4(), now);
}

void Dhcp4Service::SendDhcp(ByteSpan message, Ip4Address, Ip4Address dst) {
  UdpSendOptions opts;
  opts.allow_broadcast = true;
  opts.out_iface = deps_.iface_index;  // broadcasts leave by the client's interface
  if (auto r = deps_.udp->Send(this, SocketAddress{IpAddress(dst), kServerPort, 0}, message, opts,
                               now_);
      !r.ok()) {
    PYTCP_LOG(log_dhcp, kDebug, "send to {} failed: errno {}", dst, r.error());
  }
}

void Dhcp4Service::OnLeaseAcquired(const Dhcp4Lease& lease) {
  const bool same_address = address_ && *address_ == lease.address.address();
  if (address_ && !same_address) {
    deps_.arp->StopConflictDetection(*address_);
    deps_.addresses->Remove(*address_);
  }
  address_ = lease.address.address();
  PYTCP_LOG(log_dhcp, kInfo, "lease {} from {} for {} s", lease.address, lease.server_id,
            std::chrono::duration_cast<std::chrono::seconds>(lease.lease_time).count());
  const Ip4AddressEntry* held = deps_.addresses->Find(lease.address.address());
  if (!same_address || held == nullptr) {
    // A new address passes conflict detection before (strict) or while (optimistic) it
    // is used.
    deps_.addresses->Add(Entry(lease.address, Ip4AddressState::kTentative));
    deps_.arp->StartConflictDetection(lease.address.address(), now_);
  } else if (held->ifaddr != lease.address) {
    // Same address, new prefix (a renewal changed option 1): keep its state.
    deps_.addresses->Add(Entry(lease.address, held->state));
  }
  RemoveRoutes();
  if (lease.router) {
    deps_.routes->Add(Ip4Route{Ip4Network(), *lease.router, lease.address.address(), 0,
                               RouteOrigin::kDhcp, deps_.iface_index});
  }
  dns_ = lease.dns;
  if (lease.mtu && *lease.mtu >= 576) {
    deps_.iface->set_mtu(std::min<uint32_t>(*lease.mtu, deps_.link_mtu));
  }
  deps_.ip4->set_accept_any_unicast(false, deps_.iface_index);
  SaveLease(lease);
}

void Dhcp4Service::OnLeaseRenewed(const Dhcp4Lease& lease) {
  PYTCP_LOG(log_dhcp, kInfo, "lease {} renewed", lease.address);
  SaveLease(lease);
}

void Dhcp4Service::OnLeaseLost(const Dhcp4Lease& lease) {
  PYTCP_LOG(log_dhcp, kWarn, "lease {} lost", lease.address);
  if (address_) {
    deps_.arp->StopConflictDetection(*address_);
    deps_.addresses->Remove(*address_);
    address_.reset();
  }
  RemoveRoutes();
  dns_.clear();
  deps_.ip4->set_accept_any_unicast(true, deps_.iface_index);
  if (!cache_path_.empty() && !releasing_) unlink(cache_path_.c_str());
}

Ip4AddressEntry Dhcp4Service::Entry(const Ip4Interface& address, Ip4AddressState state) const {
  Ip4AddressEntry e{address, state, Ip4AddressSource::kDhcp};
  e.iface = deps_.iface_index;
  return e;
}

void Dhcp4Service::RemoveRoutes() {
  deps_.routes->RemoveWhere([&](const Ip4Route& r) {
    return r.origin == RouteOrigin::kDhcp && r.iface == deps_.iface_index;
  });
}

void Dhcp4Service::OnCachedLeaseStale() {
  // A lease from another network: the next program must not spend its start-up on it
  // again (issue 19). The lease acquired next is written in its place.
  if (!cache_path_.empty()) unlink(cache_path_.c_str());
}

void Dhcp4Service::SaveLease(const Dhcp4Lease& lease) {
  if (cache_path_.empty()) return;
  const int64_t expires =
      static_cast<int64_t>(time(nullptr)) +
      std::chrono::duration_cast<std::chrono::seconds>(lease.lease_time).count();
  const std::string text = SerializeLease(lease, expires);
  // The directory may not exist yet (/run is a tmpfs); only the owner may read leases.
  const size_t slash = cache_path_.rfind('/');
  if (slash != std::string::npos && slash > 0) mkdir(cache_path_.substr(0, slash).c_str(), 0700);
  // A fresh 0600 file renamed over the cache (private_file.h), so a crash never leaves half
  // a lease behind and a symlink at the path is replaced, not followed. A cache that cannot
  // be written costs the next start one DISCOVER, nothing more.
  if (absl::Status s = ReplaceOwnFile(cache_path_, text); !s.ok()) {
    PYTCP_LOG(log_dhcp, kInfo, "lease cache not saved: {}", std::string(s.message()));
  }
}

std::optional<Dhcp4Lease> Dhcp4Service::LoadLease() const {
  if (cache_path_.empty()) return std::nullopt;
  // Only a cache of ours, read without following a symlink: a lease planted by another
  // user would make this host claim an address it was never given.
  auto fd = OpenOwnFileForReading(cache_path_);
  if (!fd.ok()) return std::nullopt;
  std::string text;
  char buf[1024];
  ssize_t n;
  while (text.size() < 65536 && (n = read(*fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  close(*fd);
  auto parsed = ParseLease(text);
  if (!parsed) return std::nullopt;
  // RFC 2131 §3.2: INIT-REBOOT only with a lease that has not expired.
  if (parsed->second <= static_cast<int64_t>(time(nullptr))) return std::nullopt;
  return parsed->first;
}

}  // namespace pytcp
