#include "stack/dhcp4/dhcp4_client.h"

#include <algorithm>
#include <cassert>

#include "stack/base/log.h"

namespace pytcp {
namespace {
LogChannel log_dhcp4("dhcp4");

// RFC 2132 §9.14: hardware type 1 (Ethernet), or 0 for an identifier that is not one.
constexpr uint8_t kClientIdTypeEthernet = 1;
constexpr uint8_t kClientIdTypeOther = 0;
constexpr size_t kMaxOptionData = 255;
constexpr Duration kMaxNakDelay = 60s;

int64_t Seconds(Duration d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); }

// The default gateway a reply names, as LeaseFromAck picks it: the first usable router.
std::optional<Ip4Address> FirstRouter(const Dhcp4View& v) {
  const Dhcp4AddressList routers = v.routers();
  for (size_t i = 0; i < routers.size(); ++i) {
    if (IsUsableUnicast(routers[i])) return routers[i];
  }
  return std::nullopt;
}

}  // namespace

std::string_view ToString(Dhcp4State s) {
  switch (s) {
    case Dhcp4State::kInit:
      return "init";
    case Dhcp4State::kSelecting:
      return "selecting";
    case Dhcp4State::kRequesting:
      return "requesting";
    case Dhcp4State::kInitReboot:
      return "init_reboot";
    case Dhcp4State::kRebooting:
      return "rebooting";
    case Dhcp4State::kBound:
      return "bound";
    case Dhcp4State::kRenewing:
      return "renewing";
    case Dhcp4State::kRebinding:
      return "rebinding";
    case Dhcp4State::kStopped:
      return "stopped";
  }
  return "?";
}

Dhcp4Client::Dhcp4Client(MacAddress mac, Random* random, Actions* actions, Config config)
    : mac_(mac), random_(random), actions_(actions), config_(std::move(config)) {
  if (config_.hostname.size() > kMaxOptionData) config_.hostname.resize(kMaxOptionData);
  if (config_.client_id.empty()) {
    client_id_.push_back(kClientIdTypeEthernet);
    client_id_.insert(client_id_.end(), mac_.bytes().begin(), mac_.bytes().end());
  } else {
    client_id_.push_back(kClientIdTypeOther);
    const size_t n = std::min(config_.client_id.size(), kMaxOptionData - 1);
    client_id_.insert(client_id_.end(), config_.client_id.begin(), config_.client_id.begin() + n);
  }
  if (config_.initial_timeout <= Duration::zero()) config_.initial_timeout = 1s;
  if (config_.reboot_initial_timeout <= Duration::zero()) {
    config_.reboot_initial_timeout = config_.initial_timeout;
  }
  if (config_.max_timeout < config_.initial_timeout) config_.max_timeout = config_.initial_timeout;
  config_.request_attempts = std::max(config_.request_attempts, 1);
  config_.reboot_attempts = std::max(config_.reboot_attempts, 1);
}

// --- Timers and helpers ---

uint32_t Dhcp4Client::NewXid() { return static_cast<uint32_t>(random_->Next() >> 32); }

uint16_t Dhcp4Client::Secs(Instant now) const {
  // RFC 2131 §2: "seconds elapsed since client began address acquisition or renewal".
  const int64_t s = Seconds(now - exchange_start_);
  return static_cast<uint16_t>(std::clamp<int64_t>(s, 0, 0xffff));
}

Duration Dhcp4Client::Backoff(int sent) {
  Duration base = state_ == Dhcp4State::kRebooting ? config_.reboot_initial_timeout
                                                   : config_.initial_timeout;
  for (int i = 1; i < sent && base < config_.max_timeout; ++i) base *= 2;
  base = std::min(base, config_.max_timeout);
  if (!config_.randomize) return base;
  // RFC 2131 §4.1: "randomized by the value of a uniform random number chosen from the
  // range -1 to +1" second; ±25% below 4 s so that the timeout stays positive.
  const Duration jitter = std::min<Duration>(base / 4, 1s);
  const auto span = static_cast<uint64_t>(2 * jitter.count() + 1);
  return base - jitter + Duration(static_cast<int64_t>(random_->Below(span)));
}

Instant Dhcp4Client::RenewRetryAt(Instant now, Instant end) const {
  // RFC 2131 §4.4.5: wait "one-half of the remaining time until T2 (in RENEWING state) and
  // one-half of the remaining lease time (in REBINDING state), down to a minimum of 60
  // seconds, before retransmitting". A retry that would fall after `end` is not armed:
  // the state change at `end` takes over.
  const Duration wait = std::max<Duration>((end - now) / 2, config_.renew_min_interval);
  const Instant at = now + wait;
  return at < end ? at : Instant::Infinite();
}

void Dhcp4Client::AddRequestOptions(Dhcp4Message* m) const {
  // RFC 2131 Table 5: hostname, parameter request list and maximum message size go in
  // DISCOVER and REQUEST only ("MUST NOT" in DECLINE and RELEASE).
  m->host_name = config_.hostname;
  m->max_message_size = kDhcp4ClientMaxMessageSize;
  m->parameter_request_list = kDhcp4DefaultParameterRequestList;
}

void Dhcp4Client::Send(Dhcp4Message m, Ip4Address src, Ip4Address dst) {
  m.client_id = client_id_;
  const size_t n = m.size();
  assert(n <= tx_.size());  // options are bounded in the constructor
  m.Emit(tx_);
  PYTCP_LOG(log_dhcp4, kDebug, "tx type {} xid {:#010x} {} -> {}", static_cast<int>(m.message_type),
            m.xid, src, dst);
  actions_->SendDhcp(ByteSpan(tx_.data(), n), src, dst);
}

void Dhcp4Client::Drop(Dhcp4Counter c, std::string_view why) {
  counters_.Inc(c);
  PYTCP_LOG(log_dhcp4, kDebug, "drop in {}: {} {}", ToString(state_), CounterName(c), why);
}

void Dhcp4Client::DropLeaseError(Dhcp4LeaseError e) {
  switch (e) {
    case Dhcp4LeaseError::kBadAddress:
      return Drop(Dhcp4Counter::kRxDropBadAddress);
    case Dhcp4LeaseError::kBadMask:
      return Drop(Dhcp4Counter::kRxDropBadMask);
    case Dhcp4LeaseError::kNoServerId:
      return Drop(Dhcp4Counter::kRxDropNoServerId);
    case Dhcp4LeaseError::kBadServerId:
      return Drop(Dhcp4Counter::kRxDropBadServerId);
    case Dhcp4LeaseError::kNoLeaseTime:
      return Drop(Dhcp4Counter::kRxDropNoLeaseTime);
    case Dhcp4LeaseError::kBadLeaseTime:
      return Drop(Dhcp4Counter::kRxDropBadLeaseTime);
  }
}

void Dhcp4Client::LoseLease(std::string_view why) {
  if (!lease_) return;
  const Dhcp4Lease lost = std::move(*lease_);
  lease_.reset();
  counters_.Inc(Dhcp4Counter::kLeasesLost);
  PYTCP_LOG(log_dhcp4, kInfo, "lease of {} lost: {}", lost.address, why);
  actions_->OnLeaseLost(lost);
}

void Dhcp4Client::ForgetCached(std::string_view why) {
  if (!cached_) return;
  PYTCP_LOG(log_dhcp4, kInfo, "cached lease of {} from {} is stale: {}", cached_->address,
            cached_->server_id, why);
  if (preferred_ == cached_->address.address()) preferred_.reset();
  cached_.reset();
  actions_->OnCachedLeaseStale();
}

bool Dhcp4Client::OtherNetworkThanCached(const Ip4Interface& offered, Ip4Address server,
                                         std::optional<Ip4Address> router) const {
  // Another server alone is not another network: two servers may share one (split
  // scopes), and then the cached address is still worth Config::offer_wait. Another
  // server outside the cached subnet is (on this link, the cached server would be there).
  if (!cached_) return false;
  if (offered.network() != cached_->address.network()) return true;
  if (server != cached_->server_id && !cached_->address.Contains(server)) return true;
  return router && cached_->router && *router != *cached_->router;
}

// --- Transitions ---

void Dhcp4Client::Start(Instant now, std::optional<Dhcp4Lease> cached) {
  LoseLease("restart");
  naks_ = 0;
  held_offer_.reset();
  offer_deadline_ = Instant::Infinite();
  cached_.reset();
  if (cached && IsUsableUnicast(cached->address.address())) {
    cached_ = cached;
    // RFC 2131 §3.2 step 1: INIT-REBOOT broadcasts a DHCPREQUEST for the remembered address
    // and moves to REBOOTING.
    state_ = Dhcp4State::kInitReboot;
    preferred_ = cached->address.address();
    requested_ = cached->address.address();
    xid_ = NewXid();
    exchange_start_ = now;
    sent_ = 0;
    state_ = Dhcp4State::kRebooting;
    Transmit(now);
    return;
  }
  preferred_.reset();
  EnterInit(now, Duration::zero());
}

void Dhcp4Client::EnterInit(Instant now, Duration delay) {
  state_ = Dhcp4State::kInit;
  held_offer_.reset();
  offer_deadline_ = Instant::Infinite();
  next_tx_ = now + delay;
  if (delay <= Duration::zero()) StartDiscover(now);
}

void Dhcp4Client::StartDiscover(Instant now) {
  // RFC 2131 §4.4.1: a new xid for each new exchange; retransmissions keep it, and the
  // REQUEST answering an OFFER carries the same one.
  state_ = Dhcp4State::kSelecting;
  xid_ = NewXid();
  exchange_start_ = now;
  sent_ = 0;
  held_offer_.reset();
  offer_deadline_ = Instant::Infinite();
  Transmit(now);
}

void Dhcp4Client::SelectOffer(const Offer& offer, Instant now) {
  PYTCP_LOG(log_dhcp4, kDebug, "selecting {} from {}", offer.address, offer.server);
  state_ = Dhcp4State::kRequesting;
  requested_ = offer.address;
  server_ = offer.server;
  held_offer_.reset();
  offer_deadline_ = Instant::Infinite();
  sent_ = 0;
  Transmit(now);
}

void Dhcp4Client::EnterRenewing(Instant now) {
  // RFC 2131 §4.4.5: at T1, unicast a DHCPREQUEST to the server that granted the lease.
  state_ = Dhcp4State::kRenewing;
  xid_ = NewXid();
  exchange_start_ = now;
  sent_ = 0;
  Transmit(now);
}

void Dhcp4Client::EnterRebinding(Instant now) {
  // RFC 2131 §4.4.5: at T2, broadcast the DHCPREQUEST to any server.
  state_ = Dhcp4State::kRebinding;
  xid_ = NewXid();
  exchange_start_ = now;
  sent_ = 0;
  Transmit(now);
}

void Dhcp4Client::Expire(Instant now) {
  // RFC 2131 §4.4.5: "If the lease expires before the client receives a DHCPACK, the client
  // moves to INIT state, MUST immediately stop any other network processing and requests
  // network initialization parameters". Ask for the same address again.
  const Ip4Address old = lease_->address.address();
  LoseLease("expired");
  preferred_ = old;
  EnterInit(now, Duration::zero());
}

void Dhcp4Client::Transmit(Instant now) {
  Dhcp4Message m;
  Ip4Address src = Ip4Address::Any();
  Ip4Address dst = Ip4Address::Broadcast();
  switch (state_) {
    case Dhcp4State::kSelecting:
      m = Dhcp4Message::Discover(xid_, mac_);
      // RFC 2131 §4.4.1: the client MAY suggest an address with option 50.
      m.requested_ip = preferred_;
      break;
    case Dhcp4State::kRequesting:
      m = Dhcp4Message::RequestSelecting(xid_, mac_, requested_, server_);
      break;
    case Dhcp4State::kRebooting:
      m = Dhcp4Message::RequestInitReboot(xid_, mac_, requested_);
      break;
    case Dhcp4State::kRenewing:
      m = Dhcp4Message::RequestRenewing(xid_, mac_, lease_->address.address());
      src = lease_->address.address();
      dst = lease_->server_id;
      break;
    case Dhcp4State::kRebinding:
      m = Dhcp4Message::RequestRenewing(xid_, mac_, lease_->address.address());
      src = lease_->address.address();
      break;
    default:
      assert(false);
      return;
  }
  // See the file comment: broadcast replies until we have an address.
  m.broadcast = src.is_unspecified();
  m.secs = Secs(now);
  AddRequestOptions(&m);

  if (sent_ == 0 && state_ != Dhcp4State::kSelecting) first_request_ = now;
  ++sent_;
  counters_.Inc(state_ == Dhcp4State::kSelecting ? Dhcp4Counter::kTxDiscovers
                                                 : Dhcp4Counter::kTxRequests);
  if (sent_ > 1) counters_.Inc(Dhcp4Counter::kTxRetransmissions);
  switch (state_) {
    case Dhcp4State::kRenewing:
      next_tx_ = RenewRetryAt(now, lease_->rebind_at());
      break;
    case Dhcp4State::kRebinding:
      next_tx_ = RenewRetryAt(now, lease_->expires_at());
      break;
    default:
      // SELECTING retransmits for ever; REQUESTING and REBOOTING give up when this timeout
      // passes after their last attempt (Step()).
      next_tx_ = now + Backoff(sent_);
      break;
  }
  Send(m, src, dst);
}

bool Dhcp4Client::AwaitingReply() const {
  switch (state_) {
    case Dhcp4State::kSelecting:
    case Dhcp4State::kRequesting:
    case Dhcp4State::kRebooting:
    case Dhcp4State::kRenewing:
    case Dhcp4State::kRebinding:
      return true;
    default:
      return false;
  }
}

void Dhcp4Client::Receive(ByteSpan message, Ip4Address src, Instant now) {
  counters_.Inc(Dhcp4Counter::kRxMessages);
  auto view = Dhcp4View::Parse(message);
  if (!view.ok()) return Drop(Dhcp4Counter::kRxDropMalformed, ToString(view.error()));
  const Dhcp4View& v = *view;
  PYTCP_LOG(log_dhcp4, kDebug, "rx type {} xid {:#010x} from {} in {}",
            static_cast<int>(v.message_type()), v.xid(), src, ToString(state_));
  // RFC 2131 §4.4: replies are BOOTREPLY and carry the xid of our request and our chaddr;
  // anything else is another client's traffic or stale.
  if (v.op() != Dhcp4Op::kBootReply) return Drop(Dhcp4Counter::kRxDropNotReply);
  if (!AwaitingReply()) return Drop(Dhcp4Counter::kRxDropUnexpected);
  if (v.xid() != xid_) return Drop(Dhcp4Counter::kRxDropBadXid);
  if (v.client_mac() != mac_) return Drop(Dhcp4Counter::kRxDropBadChaddr);
  switch (v.message_type()) {
    case Dhcp4MessageType::kOffer:
      return HandleOffer(v, now);
    case Dhcp4MessageType::kAck:
      return HandleAck(v, now);
    case Dhcp4MessageType::kNak:
      return HandleNak(v, now);
    default:
      return Drop(Dhcp4Counter::kRxDropUnexpected, "message type");
  }
}

void Dhcp4Client::HandleOffer(const Dhcp4View& v, Instant now) {
  if (state_ == Dhcp4State::kRequesting) {
    // A second server answering the same DISCOVER after we chose (RFC 2131 §3.1 step 3:
    // the client picks one; the others see the REQUEST's server id and withdraw).
    counters_.Inc(Dhcp4Counter::kRxOffersIgnored);
    return;
  }
  if (state_ != Dhcp4State::kSelecting) return Drop(Dhcp4Counter::kRxDropUnexpected, "offer");
  auto iface = OfferedInterface(v);
  if (!iface.ok()) return DropLeaseError(iface.error());
  auto server = ReplyServerId(v);
  if (!server.ok()) return DropLeaseError(server.error());
  counters_.Inc(Dhcp4Counter::kRxOffers);
  const Offer offer{iface->address(), *server};
  if (OtherNetworkThanCached(*iface, *server, FirstRouter(v))) {
    ForgetCached("an OFFER from another network");  // no reason left to wait for it
  }
  // RFC 2131 §4.4.1: the client "may choose to collect several DHCPOFFER messages and
  // select the 'best'". The first one wins, except that an OFFER of the address we asked
  // for (option 50) is worth a short wait.
  if (!preferred_ || offer.address == *preferred_) return SelectOffer(offer, now);
  if (held_offer_) {
    counters_.Inc(Dhcp4Counter::kRxOffersIgnored);
    return;
  }
  if (config_.offer_wait <= Duration::zero()) return SelectOffer(offer, now);
  held_offer_ = offer;
  offer_deadline_ = now + config_.offer_wait;
}

void Dhcp4Client::HandleAck(const Dhcp4View& v, Instant now) {
  if (state_ == Dhcp4State::kSelecting) return Drop(Dhcp4Counter::kRxDropUnexpected, "ack");
  if (state_ == Dhcp4State::kRequesting) {
    // Only the server we named in option 54 may answer (RFC 2131 §4.3.2).
    auto server = ReplyServerId(v);
    if (server.ok() && *server != server_) return Drop(Dhcp4Counter::kRxDropWrongServer);
  }
  const bool renewal = state_ == Dhcp4State::kRenewing || state_ == Dhcp4State::kRebinding;
  // The ACK must grant the address we asked for (requested IP, or ciaddr when renewing).
  const Ip4Address expected = renewal ? lease_->address.address() : requested_;
  if (v.yiaddr() != expected) return Drop(Dhcp4Counter::kRxDropBadAddress, "not requested");
  auto lease = LeaseFromAck(v, first_request_, now);
  if (!lease.ok()) return DropLeaseError(lease.error());
  counters_.Inc(Dhcp4Counter::kRxAcks);

  const std::optional<Dhcp4Lease> old = std::move(lease_);
  lease_ = std::move(*lease);
  state_ = Dhcp4State::kBound;
  next_tx_ = Instant::Infinite();
  sent_ = 0;
  naks_ = 0;
  preferred_ = lease_->address.address();
  if (renewal && old && old->SameConfiguration(*lease_)) {
    counters_.Inc(Dhcp4Counter::kLeasesRenewed);
    PYTCP_LOG(log_dhcp4, kDebug, "renewed {} for {} s", lease_->address,
              Seconds(lease_->lease_time));
    actions_->OnLeaseRenewed(*lease_);
    return;
  }
  counters_.Inc(Dhcp4Counter::kLeasesAcquired);
  PYTCP_LOG(log_dhcp4, kInfo, "leased {} from {} for {} s, router {}", lease_->address,
            lease_->server_id, Seconds(lease_->lease_time),
            lease_->router ? lease_->router->ToString() : std::string("none"));
  actions_->OnLeaseAcquired(*lease_);
}

void Dhcp4Client::HandleNak(const Dhcp4View& v, Instant now) {
  if (state_ == Dhcp4State::kSelecting) return Drop(Dhcp4Counter::kRxDropUnexpected, "nak");
  if (state_ == Dhcp4State::kRequesting) {
    if (auto server = v.server_id(); server && *server != server_) {
      return Drop(Dhcp4Counter::kRxDropWrongServer);
    }
  }
  counters_.Inc(Dhcp4Counter::kRxNaks);
  PYTCP_LOG(log_dhcp4, kInfo, "NAK in {}: {}", ToString(state_), v.message().value_or(""));
  // RFC 2131 §3.1 step 5, §3.2 step 4, §4.4.5: a DHCPNAK sends the client back to INIT,
  // giving up the address it named.
  ++naks_;
  Duration delay = Duration::zero();
  if (naks_ > 1) {
    delay = 1s;
    for (int i = 2; i < naks_ && delay < kMaxNakDelay; ++i) delay *= 2;
    delay = std::min(delay, kMaxNakDelay);
  }
  // §3.2 step 3: a NAK to INIT-REBOOT says the remembered address is wrong here.
  if (state_ == Dhcp4State::kRebooting) ForgetCached("NAK");
  preferred_.reset();
  LoseLease("NAK");
  EnterInit(now, delay);
}

void Dhcp4Client::OnAddressConflict(Instant now) {
  if (!lease_) return;
  counters_.Inc(Dhcp4Counter::kConflicts);
  // RFC 2131 §4.4.1: "If the client detects that the address is already in use ..., the
  // client MUST send a DHCPDECLINE message to the server and restarts the configuration
  // process"; §4.4.4: DECLINE is broadcast, since the client has no usable address.
  const Ip4Address address = lease_->address.address();
  const Ip4Address server = lease_->server_id;
  xid_ = NewXid();
  Dhcp4Message m = Dhcp4Message::Decline(xid_, mac_, address, server);
  counters_.Inc(Dhcp4Counter::kTxDeclines);
  Send(m, Ip4Address::Any(), Ip4Address::Broadcast());
  preferred_.reset();
  LoseLease("address in use");
  // RFC 2131 §3.1.5: "SHOULD wait a minimum of ten seconds before restarting".
  EnterInit(now, config_.decline_wait);
}

void Dhcp4Client::Release(Instant now) {
  (void)now;
  if (lease_ && (state_ == Dhcp4State::kBound || state_ == Dhcp4State::kRenewing ||
                 state_ == Dhcp4State::kRebinding)) {
    // RFC 2131 §4.4.6: "the client unicasts DHCPRELEASE to the server", from the leased
    // address, with ciaddr set.
    xid_ = NewXid();
    Dhcp4Message m =
        Dhcp4Message::Release(xid_, mac_, lease_->address.address(), lease_->server_id);
    counters_.Inc(Dhcp4Counter::kTxReleases);
    Send(m, lease_->address.address(), lease_->server_id);
  }
  state_ = Dhcp4State::kStopped;
  next_tx_ = Instant::Infinite();
  held_offer_.reset();
  offer_deadline_ = Instant::Infinite();
  preferred_.reset();
  LoseLease("released");
}

// --- Time ---

Instant Dhcp4Client::NextDeadline() const {
  switch (state_) {
    case Dhcp4State::kInit:
    case Dhcp4State::kRequesting:
    case Dhcp4State::kRebooting:
      return next_tx_;
    case Dhcp4State::kSelecting:
      return EarliestOf(next_tx_, offer_deadline_);
    case Dhcp4State::kBound:
      return EarliestOf(lease_->renew_at(), EarliestOf(lease_->rebind_at(), lease_->expires_at()));
    case Dhcp4State::kRenewing:
      return EarliestOf(next_tx_, EarliestOf(lease_->rebind_at(), lease_->expires_at()));
    case Dhcp4State::kRebinding:
      return EarliestOf(next_tx_, lease_->expires_at());
    case Dhcp4State::kInitReboot:
    case Dhcp4State::kStopped:
      return Instant::Infinite();
  }
  return Instant::Infinite();
}

void Dhcp4Client::Step(Instant now) {
  switch (state_) {
    case Dhcp4State::kInit:
      return StartDiscover(now);
    case Dhcp4State::kSelecting:
      if (held_offer_ && offer_deadline_ <= now) return SelectOffer(*held_offer_, now);
      return Transmit(now);
    case Dhcp4State::kRequesting:
    case Dhcp4State::kRebooting: {
      const int attempts =
          state_ == Dhcp4State::kRequesting ? config_.request_attempts : config_.reboot_attempts;
      if (sent_ < attempts) return Transmit(now);
      // RFC 2131 §3.1.5 / §3.2: no ACK or NAK after the retransmissions: back to INIT.
      counters_.Inc(Dhcp4Counter::kRequestTimeouts);
      PYTCP_LOG(log_dhcp4, kInfo, "no answer to REQUEST for {} in {}", requested_,
                ToString(state_));
      return EnterInit(now, Duration::zero());
    }
    case Dhcp4State::kBound:
    case Dhcp4State::kRenewing:
    case Dhcp4State::kRebinding:
      // After a long stall several deadlines may have passed: the latest one decides.
      if (lease_->expires_at() <= now) return Expire(now);
      if (state_ != Dhcp4State::kRebinding && lease_->rebind_at() <= now) {
        return EnterRebinding(now);
      }
      if (state_ == Dhcp4State::kBound) return EnterRenewing(now);
      return Transmit(now);
    case Dhcp4State::kInitReboot:
    case Dhcp4State::kStopped:
      return;
  }
}

void Dhcp4Client::Poll(Instant now) {
  // Each Step() moves a deadline past `now` or changes state; the bound guards against a
  // misconfigured zero timeout spinning here.
  for (int i = 0; i < 16 && NextDeadline() <= now; ++i) Step(now);
}

}  // namespace pytcp
