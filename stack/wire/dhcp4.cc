#include "stack/wire/dhcp4.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace pytcp {

namespace {

// RFC 2132: the lengths a known option may have. Returns false for a forbidden length.
bool LengthOk(Dhcp4OptionCode code, size_t len) {
  switch (code) {
    case Dhcp4OptionCode::kSubnetMask:        // §3.3
    case Dhcp4OptionCode::kBroadcastAddress:  // §5.3
    case Dhcp4OptionCode::kRequestedIp:       // §9.1
    case Dhcp4OptionCode::kLeaseTime:         // §9.2
    case Dhcp4OptionCode::kServerId:          // §9.7
    case Dhcp4OptionCode::kRenewalTime:       // §9.11
    case Dhcp4OptionCode::kRebindingTime:     // §9.12
      return len == 4;
    case Dhcp4OptionCode::kRouter:     // §3.5: "minimum length ... is 4 octets, and the
    case Dhcp4OptionCode::kDnsServer:  // §3.8   length MUST always be a multiple of 4"
      return len >= 4 && len % 4 == 0;
    case Dhcp4OptionCode::kHostName:              // §3.14
    case Dhcp4OptionCode::kDomainName:            // §3.17
    case Dhcp4OptionCode::kParameterRequestList:  // §9.8
    case Dhcp4OptionCode::kMessage:               // §9.9
      return len >= 1;
    case Dhcp4OptionCode::kInterfaceMtu:    // §5.1
    case Dhcp4OptionCode::kMaxMessageSize:  // §9.10
      return len == 2;
    case Dhcp4OptionCode::kMessageType:  // §9.6
      return len == 1;
    case Dhcp4OptionCode::kClientId:  // §9.14: "minimum length is 2"
      return len >= 2;
    default:
      return true;
  }
}

}  // namespace

int Dhcp4View::TrackedIndex(uint8_t code) {
  for (size_t i = 0; i < kTracked.size(); ++i) {
    if (kTracked[i] == code) return static_cast<int>(i);
  }
  return -1;
}

Result<Dhcp4View, Dhcp4ParseError> Dhcp4View::Parse(ByteSpan data) {
  // Integrity checks.
  if (data.size() < kDhcp4OptionsOffset) return Err{Dhcp4ParseError::kTooShort};
  if (LoadBe32(data, kDhcp4FixedSize) != kDhcp4MagicCookie) {
    return Err{Dhcp4ParseError::kBadMagicCookie};
  }
  Dhcp4View view(data);
  // RFC 2132 §2: Pad and End are one byte; every other option has a length byte and that
  // many data bytes. The walk stops at End, which must be there: a message cut at an
  // option boundary would otherwise parse as a shorter, valid one. Bytes after End are
  // padding (RFC 1542 §2.1).
  size_t i = kDhcp4OptionsOffset;
  bool end = false;
  while (i < data.size()) {
    const uint8_t code = data[i];
    if (code == static_cast<uint8_t>(Dhcp4OptionCode::kPad)) {
      ++i;
      continue;
    }
    if (code == static_cast<uint8_t>(Dhcp4OptionCode::kEnd)) {
      end = true;
      break;
    }
    if (data.size() - i < 2 || data.size() - i - 2 < data[i + 1]) {
      return Err{Dhcp4ParseError::kOptionOverrun};
    }
    const int t = TrackedIndex(code);
    if (t >= 0 && view.offsets_[static_cast<size_t>(t)] == kAbsent) {
      view.offsets_[static_cast<size_t>(t)] = static_cast<uint32_t>(i);
    }
    i += 2 + size_t{data[i + 1]};
  }
  if (!end) return Err{Dhcp4ParseError::kNoEnd};
  view.options_end_ = i;

  // Sanity checks.
  // RFC 2131 §2: op is 1 (BOOTREQUEST) or 2 (BOOTREPLY).
  if (data[0] != 1 && data[0] != 2) return Err{Dhcp4ParseError::kBadOp};
  // RFC 2131 §2: chaddr is 16 bytes; hlen says how many of them are the address.
  if (data[2] > 16) return Err{Dhcp4ParseError::kBadHardwareLength};
  for (const Dhcp4Option o : view.options()) {
    // RFC 2132 §9.3: with overload, sname/file carry more options. The stack's own servers
    // (dnsmasq, ISC) do not use it for the options a client needs; refuse it rather than
    // half-parse a message.
    if (o.option_code() == Dhcp4OptionCode::kOverload) {
      return Err{Dhcp4ParseError::kOverloadUnsupported};
    }
    if (!LengthOk(o.option_code(), o.data.size())) return Err{Dhcp4ParseError::kBadOptionLength};
    // RFC 2132 §5.1: "The minimum legal value for the MTU is 68"; §9.10: "The minimum
    // legal value is 576".
    if (o.option_code() == Dhcp4OptionCode::kInterfaceMtu && LoadBe16(o.data, 0) < 68) {
      return Err{Dhcp4ParseError::kBadOptionValue};
    }
    if (o.option_code() == Dhcp4OptionCode::kMaxMessageSize && LoadBe16(o.data, 0) < 576) {
      return Err{Dhcp4ParseError::kBadOptionValue};
    }
  }
  // RFC 2131 §3: "DHCP messages ... MUST include the 'DHCP message type' option"; without
  // it this is a plain BOOTP message, which the client does not handle.
  if (!view.Tracked(Dhcp4OptionCode::kMessageType)) {
    return Err{Dhcp4ParseError::kMissingMessageType};
  }
  return view;
}

std::optional<MacAddress> Dhcp4View::client_mac() const {
  // RFC 1700 / IANA hardware types: 1 is Ethernet.
  if (htype() != 1 || hlen() != 6) return std::nullopt;
  return MacAddress::FromBytes(data_.data() + 28);
}

namespace {

std::string_view TextUpToNul(ByteSpan b) {
  const auto nul = std::find(b.begin(), b.end(), uint8_t{0});
  return std::string_view(reinterpret_cast<const char*>(b.data()),
                          static_cast<size_t>(nul - b.begin()));
}

}  // namespace

std::string_view Dhcp4View::server_name() const { return TextUpToNul(sname()); }
std::string_view Dhcp4View::boot_file_name() const { return TextUpToNul(file()); }

std::optional<Dhcp4Option> Dhcp4View::Find(Dhcp4OptionCode code) const {
  for (const Dhcp4Option o : options()) {
    if (o.option_code() == code) return o;
  }
  return std::nullopt;
}

std::optional<ByteSpan> Dhcp4View::Tracked(Dhcp4OptionCode code) const {
  const int t = TrackedIndex(static_cast<uint8_t>(code));
  assert(t >= 0);
  const uint32_t off = offsets_[static_cast<size_t>(t)];
  if (off == kAbsent) return std::nullopt;
  return data_.subspan(off + 2, data_[off + 1]);
}

std::optional<Ip4Address> Dhcp4View::TrackedAddress(Dhcp4OptionCode code) const {
  auto d = Tracked(code);
  if (!d) return std::nullopt;
  return Ip4Address::FromBytes(d->data());
}

std::optional<uint32_t> Dhcp4View::TrackedU32(Dhcp4OptionCode code) const {
  auto d = Tracked(code);
  if (!d) return std::nullopt;
  return LoadBe32(*d, 0);
}

std::optional<uint16_t> Dhcp4View::TrackedU16(Dhcp4OptionCode code) const {
  auto d = Tracked(code);
  if (!d) return std::nullopt;
  return LoadBe16(*d, 0);
}

std::optional<std::string_view> Dhcp4View::TrackedText(Dhcp4OptionCode code) const {
  auto d = Tracked(code);
  if (!d) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(d->data()), d->size());
}

Dhcp4MessageType Dhcp4View::message_type() const {
  return static_cast<Dhcp4MessageType>((*Tracked(Dhcp4OptionCode::kMessageType))[0]);
}
std::optional<Ip4Address> Dhcp4View::subnet_mask() const {
  return TrackedAddress(Dhcp4OptionCode::kSubnetMask);
}
Dhcp4AddressList Dhcp4View::routers() const {
  auto d = Tracked(Dhcp4OptionCode::kRouter);
  return d ? Dhcp4AddressList(*d) : Dhcp4AddressList();
}
Dhcp4AddressList Dhcp4View::dns_servers() const {
  auto d = Tracked(Dhcp4OptionCode::kDnsServer);
  return d ? Dhcp4AddressList(*d) : Dhcp4AddressList();
}
std::optional<std::string_view> Dhcp4View::host_name() const {
  return TrackedText(Dhcp4OptionCode::kHostName);
}
std::optional<std::string_view> Dhcp4View::domain_name() const {
  return TrackedText(Dhcp4OptionCode::kDomainName);
}
std::optional<uint16_t> Dhcp4View::interface_mtu() const {
  return TrackedU16(Dhcp4OptionCode::kInterfaceMtu);
}
std::optional<Ip4Address> Dhcp4View::broadcast_address() const {
  return TrackedAddress(Dhcp4OptionCode::kBroadcastAddress);
}
std::optional<Ip4Address> Dhcp4View::requested_ip() const {
  return TrackedAddress(Dhcp4OptionCode::kRequestedIp);
}
std::optional<uint32_t> Dhcp4View::lease_time() const {
  return TrackedU32(Dhcp4OptionCode::kLeaseTime);
}
std::optional<Ip4Address> Dhcp4View::server_id() const {
  return TrackedAddress(Dhcp4OptionCode::kServerId);
}
std::optional<ByteSpan> Dhcp4View::parameter_request_list() const {
  return Tracked(Dhcp4OptionCode::kParameterRequestList);
}
std::optional<std::string_view> Dhcp4View::message() const {
  return TrackedText(Dhcp4OptionCode::kMessage);
}
std::optional<uint16_t> Dhcp4View::max_message_size() const {
  return TrackedU16(Dhcp4OptionCode::kMaxMessageSize);
}
std::optional<uint32_t> Dhcp4View::renewal_time() const {
  return TrackedU32(Dhcp4OptionCode::kRenewalTime);
}
std::optional<uint32_t> Dhcp4View::rebinding_time() const {
  return TrackedU32(Dhcp4OptionCode::kRebindingTime);
}
std::optional<ByteSpan> Dhcp4View::client_id() const { return Tracked(Dhcp4OptionCode::kClientId); }

// --- Write side ---

namespace {

Dhcp4Message ClientMessage(Dhcp4MessageType type, uint32_t xid, const MacAddress& mac) {
  Dhcp4Message m;
  m.op = Dhcp4Op::kBootRequest;
  m.message_type = type;
  m.xid = xid;
  m.chaddr = mac;
  return m;
}

size_t TextOptionSize(std::string_view s) { return s.empty() ? 0 : 2 + s.size(); }
size_t BytesOptionSize(ByteSpan b) { return b.empty() ? 0 : 2 + b.size(); }
size_t ListOptionSize(std::span<const Ip4Address> a) { return a.empty() ? 0 : 2 + 4 * a.size(); }

ByteSpan AsBytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace

Dhcp4Message Dhcp4Message::Discover(uint32_t xid, const MacAddress& mac) {
  Dhcp4Message m = ClientMessage(Dhcp4MessageType::kDiscover, xid, mac);
  m.parameter_request_list = kDhcp4DefaultParameterRequestList;
  return m;
}

Dhcp4Message Dhcp4Message::RequestSelecting(uint32_t xid, const MacAddress& mac, Ip4Address offered,
                                            Ip4Address server) {
  // RFC 2131 §4.3.2 SELECTING: ciaddr 0, 'requested IP address' and 'server identifier'
  // MUST be filled in.
  Dhcp4Message m = ClientMessage(Dhcp4MessageType::kRequest, xid, mac);
  m.requested_ip = offered;
  m.server_id = server;
  m.parameter_request_list = kDhcp4DefaultParameterRequestList;
  return m;
}

Dhcp4Message Dhcp4Message::RequestInitReboot(uint32_t xid, const MacAddress& mac,
                                             Ip4Address address) {
  // RFC 2131 §4.3.2 INIT-REBOOT: no server identifier, 'requested IP address' filled in.
  Dhcp4Message m = ClientMessage(Dhcp4MessageType::kRequest, xid, mac);
  m.requested_ip = address;
  m.parameter_request_list = kDhcp4DefaultParameterRequestList;
  return m;
}

Dhcp4Message Dhcp4Message::RequestRenewing(uint32_t xid, const MacAddress& mac, Ip4Address leased) {
  // RFC 2131 §4.3.2 RENEWING/REBINDING: ciaddr is the client's address; neither server
  // identifier nor requested IP address.
  Dhcp4Message m = ClientMessage(Dhcp4MessageType::kRequest, xid, mac);
  m.ciaddr = leased;
  m.parameter_request_list = kDhcp4DefaultParameterRequestList;
  return m;
}

Dhcp4Message Dhcp4Message::Decline(uint32_t xid, const MacAddress& mac, Ip4Address declined,
                                   Ip4Address server) {
  // RFC 2131 Table 5: DECLINE has ciaddr 0, 'requested IP address' and 'server identifier'
  // MUST, parameter request list MUST NOT.
  Dhcp4Message m = ClientMessage(Dhcp4MessageType::kDecline, xid, mac);
  m.requested_ip = declined;
  m.server_id = server;
  return m;
}

Dhcp4Message Dhcp4Message::Release(uint32_t xid, const MacAddress& mac, Ip4Address leased,
                                   Ip4Address server) {
  // RFC 2131 Table 5: RELEASE has ciaddr set, 'server identifier' MUST, requested IP
  // address MUST NOT.
  Dhcp4Message m = ClientMessage(Dhcp4MessageType::kRelease, xid, mac);
  m.ciaddr = leased;
  m.server_id = server;
  return m;
}

size_t Dhcp4Message::size() const {
  size_t n = kDhcp4OptionsOffset + 3;  // message type
  n += BytesOptionSize(client_id);
  n += requested_ip ? 6 : 0;
  n += server_id ? 6 : 0;
  n += lease_time ? 6 : 0;
  n += max_message_size ? 4 : 0;
  n += TextOptionSize(host_name);
  n += BytesOptionSize(parameter_request_list);
  n += subnet_mask ? 6 : 0;
  n += ListOptionSize(routers);
  n += ListOptionSize(dns_servers);
  n += TextOptionSize(domain_name);
  n += interface_mtu ? 4 : 0;
  n += broadcast_address ? 6 : 0;
  n += renewal_time ? 6 : 0;
  n += rebinding_time ? 6 : 0;
  n += TextOptionSize(message);
  n += 1;  // End
  return std::max(n, kDhcp4MinMessageSize);
}

void Dhcp4Message::Emit(MutableByteSpan out) const {
  const size_t total = size();
  assert(out.size() >= total);
  uint8_t* p = out.data();
  std::memset(p, 0, total);
  p[0] = static_cast<uint8_t>(op);
  p[1] = 1;  // Ethernet (RFC 1700 hardware type)
  p[2] = MacAddress::kSize;
  p[3] = hops;
  StoreBe32(p + 4, xid);
  StoreBe16(p + 8, secs);
  StoreBe16(p + 10, broadcast ? kDhcp4BroadcastFlag : 0);
  ciaddr.CopyTo(p + 12);
  yiaddr.CopyTo(p + 16);
  siaddr.CopyTo(p + 20);
  giaddr.CopyTo(p + 24);
  chaddr.CopyTo(p + 28);
  StoreBe32(p + kDhcp4FixedSize, kDhcp4MagicCookie);

  Dhcp4OptionWriter w(out.subspan(kDhcp4OptionsOffset, total - kDhcp4OptionsOffset));
  // Message type first; the server options in the order dnsmasq writes them.
  bool ok = w.AddU8(Dhcp4OptionCode::kMessageType, static_cast<uint8_t>(message_type));
  if (!client_id.empty()) ok &= w.Add(Dhcp4OptionCode::kClientId, client_id);
  if (requested_ip) ok &= w.AddAddress(Dhcp4OptionCode::kRequestedIp, *requested_ip);
  if (server_id) ok &= w.AddAddress(Dhcp4OptionCode::kServerId, *server_id);
  if (lease_time) ok &= w.AddU32(Dhcp4OptionCode::kLeaseTime, *lease_time);
  if (renewal_time) ok &= w.AddU32(Dhcp4OptionCode::kRenewalTime, *renewal_time);
  if (rebinding_time) ok &= w.AddU32(Dhcp4OptionCode::kRebindingTime, *rebinding_time);
  if (subnet_mask) ok &= w.AddAddress(Dhcp4OptionCode::kSubnetMask, *subnet_mask);
  if (broadcast_address) ok &= w.AddAddress(Dhcp4OptionCode::kBroadcastAddress, *broadcast_address);
  if (!dns_servers.empty()) ok &= w.AddAddresses(Dhcp4OptionCode::kDnsServer, dns_servers);
  if (!domain_name.empty()) ok &= w.Add(Dhcp4OptionCode::kDomainName, AsBytes(domain_name));
  if (!routers.empty()) ok &= w.AddAddresses(Dhcp4OptionCode::kRouter, routers);
  if (interface_mtu) ok &= w.AddU16(Dhcp4OptionCode::kInterfaceMtu, *interface_mtu);
  if (max_message_size) ok &= w.AddU16(Dhcp4OptionCode::kMaxMessageSize, *max_message_size);
  if (!host_name.empty()) ok &= w.Add(Dhcp4OptionCode::kHostName, AsBytes(host_name));
  if (!parameter_request_list.empty()) {
    ok &= w.Add(Dhcp4OptionCode::kParameterRequestList, parameter_request_list);
  }
  if (!message.empty()) ok &= w.Add(Dhcp4OptionCode::kMessage, AsBytes(message));
  ok &= w.AddEnd();
  assert(ok);
  (void)ok;
}

}  // namespace pytcp
