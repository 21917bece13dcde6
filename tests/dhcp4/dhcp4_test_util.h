// A scripted DHCP server for the client tests: it reads the client's messages with the wire
// view and answers with messages built by the wire emitter.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stack/base/clock.h"
#include "stack/dhcp4/dhcp4_client.h"
#include "stack/wire/dhcp4.h"

namespace pytcp::testing {

inline constexpr MacAddress kMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x02});
inline constexpr MacAddress kOtherMac(MacAddress::Bytes{0x02, 0, 0, 0x77, 0, 0x03});
inline constexpr Ip4Address kServer(10, 77, 0, 1);
inline constexpr Ip4Address kServer2(10, 77, 0, 254);
inline constexpr Ip4Address kOffered(10, 77, 0, 50);
inline constexpr Ip4Address kOffered2(10, 77, 0, 51);
inline constexpr Ip4Address kRouter(10, 77, 0, 1);
inline constexpr Ip4Address kDns1(10, 77, 0, 1);
inline constexpr Ip4Address kDns2(9, 9, 9, 9);
inline constexpr Ip4Address kMask24(255, 255, 255, 0);
inline constexpr uint32_t kLeaseSeconds = 3600;

// What the client handed to SendDhcp, and when.
struct Sent {
  std::vector<uint8_t> bytes;
  Ip4Address src, dst;
  Instant at;
  Dhcp4View view() const {
    auto v = Dhcp4View::Parse(bytes);
    EXPECT_TRUE(v.ok()) << "client sent a message its own parser refuses";
    return *v;
  }
};

class Recorder : public Dhcp4Client::Actions {
 public:
  explicit Recorder(const Clock* clock) : clock_(clock) {}
  void SendDhcp(ByteSpan message, Ip4Address src, Ip4Address dst) override {
    sent.push_back({std::vector<uint8_t>(message.begin(), message.end()), src, dst, clock_->Now()});
  }
  void OnLeaseAcquired(const Dhcp4Lease& lease) override { acquired.push_back(lease); }
  void OnLeaseRenewed(const Dhcp4Lease& lease) override { renewed.push_back(lease); }
  void OnLeaseLost(const Dhcp4Lease& lease) override { lost.push_back(lease); }
  void OnCachedLeaseStale() override { ++stale; }

  std::vector<Sent> sent;
  std::vector<Dhcp4Lease> acquired, renewed, lost;
  int stale = 0;  // OnCachedLeaseStale calls

 private:
  const Clock* clock_;
};

// A server reply: a template with the fields a test overrides.
struct Reply {
  Dhcp4MessageType type = Dhcp4MessageType::kOffer;
  Dhcp4Op op = Dhcp4Op::kBootReply;
  uint32_t xid = 0;
  Ip4Address yiaddr = kOffered;
  MacAddress chaddr = kMac;
  std::optional<Ip4Address> server_id = kServer;
  std::optional<uint32_t> lease_time = kLeaseSeconds;
  std::optional<Ip4Address> mask = kMask24;
  std::vector<Ip4Address> routers = {kRouter};
  std::vector<Ip4Address> dns = {kDns1, kDns2};
  std::string domain = "lab.example";
  std::optional<uint16_t> mtu = 1400;
  std::optional<uint32_t> t1, t2;
  std::string message;

  std::vector<uint8_t> Bytes() const {
    Dhcp4Message m;
    m.op = op;
    m.message_type = type;
    m.xid = xid;
    m.yiaddr = type == Dhcp4MessageType::kNak ? Ip4Address() : yiaddr;
    m.chaddr = chaddr;
    m.server_id = server_id;
    m.lease_time = lease_time;
    m.subnet_mask = mask;
    m.routers = routers;
    m.dns_servers = dns;
    m.domain_name = domain;
    m.interface_mtu = mtu;
    m.renewal_time = t1;
    m.rebinding_time = t2;
    m.message = message;
    std::vector<uint8_t> out(m.size());
    m.Emit(out);
    return out;
  }
};

// The data of option `code` in a client message, or nullopt.
inline std::optional<std::vector<uint8_t>> OptionData(const Dhcp4View& v, Dhcp4OptionCode code) {
  auto o = v.Find(code);
  if (!o) return std::nullopt;
  return std::vector<uint8_t>(o->data.begin(), o->data.end());
}

inline std::map<std::string, uint64_t> Snapshot(const Dhcp4Client& c) {
  std::map<std::string, uint64_t> m;
  c.counters().AppendTo(&m);
  return m;
}

}  // namespace pytcp::testing
