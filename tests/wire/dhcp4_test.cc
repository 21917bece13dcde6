#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "stack/wire/dhcp4.h"
#include "tests/wire/captures_ip6_dhcp_dns.h"
#include "tests/wire/wire_test_util.h"

namespace pytcp {
namespace {

using namespace wire_testing;  // NOLINT

constexpr uint32_t kXid = 0x3903f326;
const MacAddress kClientMac = Mac("2a:92:7d:0a:a3:97");
const Ip4Address kServer = A4("10.77.0.1");
const Ip4Address kOffered = A4("10.77.0.133");

std::vector<uint8_t> OptionCodes(const Dhcp4View& v) {
  std::vector<uint8_t> codes;
  for (const Dhcp4Option o : v.options()) codes.push_back(o.code);
  return codes;
}

TEST(Dhcp4ViewTest, DnsmasqOfferFieldByField) {
  auto d = Dhcp4View::Parse(testdata::kDhcpOffer);
  ASSERT_TRUE(d.ok()) << ToString(d.error());
  EXPECT_EQ(d->op(), Dhcp4Op::kBootReply);
  EXPECT_EQ(d->htype(), 1);
  EXPECT_EQ(d->hlen(), 6);
  EXPECT_EQ(d->hops(), 0);
  EXPECT_EQ(d->xid(), kXid);
  EXPECT_EQ(d->secs(), 0);
  EXPECT_EQ(d->flags(), 0x8000);
  EXPECT_TRUE(d->broadcast());
  EXPECT_EQ(d->ciaddr(), Ip4Address());
  EXPECT_EQ(d->yiaddr(), kOffered);
  EXPECT_EQ(d->siaddr(), kServer);
  EXPECT_EQ(d->giaddr(), Ip4Address());
  EXPECT_EQ(d->client_mac(), kClientMac);
  EXPECT_EQ(d->chaddr().size(), 6u);
  EXPECT_EQ(d->sname().size(), 64u);
  EXPECT_EQ(d->file().size(), 128u);
  EXPECT_EQ(d->server_name(), "");
  EXPECT_EQ(d->boot_file_name(), "");

  EXPECT_EQ(d->message_type(), Dhcp4MessageType::kOffer);
  EXPECT_EQ(d->server_id(), kServer);
  EXPECT_EQ(d->lease_time(), 3600u);
  EXPECT_EQ(d->renewal_time(), 1800u);
  EXPECT_EQ(d->rebinding_time(), 3150u);
  EXPECT_EQ(d->subnet_mask(), A4("255.255.255.0"));
  EXPECT_EQ(d->broadcast_address(), A4("10.77.0.255"));
  ASSERT_EQ(d->dns_servers().size(), 1u);
  EXPECT_EQ(d->dns_servers()[0], kServer);
  EXPECT_EQ(d->domain_name(), "lab.test");
  ASSERT_EQ(d->routers().size(), 1u);
  EXPECT_EQ(d->routers()[0], kServer);
  EXPECT_FALSE(d->interface_mtu());
  EXPECT_FALSE(d->requested_ip());
  EXPECT_FALSE(d->client_id());
  EXPECT_FALSE(d->parameter_request_list());
  EXPECT_FALSE(d->max_message_size());
  EXPECT_FALSE(d->host_name());
  EXPECT_FALSE(d->message());
  EXPECT_EQ(OptionCodes(*d), (std::vector<uint8_t>{53, 54, 51, 58, 59, 1, 28, 6, 15, 3}));
  auto found = d->Find(Dhcp4OptionCode::kDomainName);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->data.size(), 8u);
  EXPECT_FALSE(d->Find(Dhcp4OptionCode::kClientId));
}

TEST(Dhcp4ViewTest, DnsmasqAck) {
  auto d = Dhcp4View::Parse(testdata::kDhcpAck);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->message_type(), Dhcp4MessageType::kAck);
  EXPECT_EQ(d->yiaddr(), kOffered);
  EXPECT_EQ(d->lease_time(), 3600u);
  EXPECT_EQ(d->server_id(), kServer);
}

TEST(Dhcp4ViewTest, ClientRequest) {
  auto d = Dhcp4View::Parse(testdata::kDhcpRequest);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->op(), Dhcp4Op::kBootRequest);
  EXPECT_EQ(d->message_type(), Dhcp4MessageType::kRequest);
  EXPECT_EQ(d->requested_ip(), kOffered);
  EXPECT_EQ(d->server_id(), kServer);
  ASSERT_TRUE(d->parameter_request_list());
  EXPECT_EQ(Bytes(d->parameter_request_list()->begin(), d->parameter_request_list()->end()),
            (Bytes{1, 3, 6, 15, 26, 28, 51}));
  ASSERT_TRUE(d->client_id());
  EXPECT_EQ(Bytes(d->client_id()->begin(), d->client_id()->end()),
            (Bytes{1, 0x2a, 0x92, 0x7d, 0x0a, 0xa3, 0x97}));
}

Dhcp4Message DnsmasqOffer() {
  static const Ip4Address kList[] = {A4("10.77.0.1")};
  Dhcp4Message m;
  m.op = Dhcp4Op::kBootReply;
  m.xid = kXid;
  m.broadcast = true;
  m.yiaddr = kOffered;
  m.siaddr = kServer;
  m.chaddr = kClientMac;
  m.message_type = Dhcp4MessageType::kOffer;
  m.server_id = kServer;
  m.lease_time = 3600;
  m.renewal_time = 1800;
  m.rebinding_time = 3150;
  m.subnet_mask = A4("255.255.255.0");
  m.broadcast_address = A4("10.77.0.255");
  m.dns_servers = kList;
  m.domain_name = "lab.test";
  m.routers = kList;
  return m;
}

TEST(Dhcp4MessageTest, OfferEmitMatchesDnsmasqByteForByte) {
  const Dhcp4Message m = DnsmasqOffer();
  ASSERT_EQ(m.size(), sizeof(testdata::kDhcpOffer));
  Bytes out(m.size(), 0xee);
  m.Emit(out);
  EXPECT_EQ(out, ToBytes(testdata::kDhcpOffer));
}

TEST(Dhcp4MessageTest, DiscoverBytes) {
  const Dhcp4Message m = Dhcp4Message::Discover(kXid, kClientMac);
  ASSERT_EQ(m.size(), 300u);  // padded to the BOOTP minimum
  Bytes out(m.size(), 0xee);
  m.Emit(out);
  Bytes expected(300, 0);
  const Bytes fixed = {1, 1, 6, 0, 0x39, 0x03, 0xf3, 0x26};
  std::copy(fixed.begin(), fixed.end(), expected.begin());
  const Bytes chaddr = {0x2a, 0x92, 0x7d, 0x0a, 0xa3, 0x97};
  std::copy(chaddr.begin(), chaddr.end(), expected.begin() + 28);
  const Bytes options = {0x63, 0x82, 0x53, 0x63,  // magic cookie
                         53,   1,    1,           // DISCOVER
                         55,   9,    1,    3,    6,  15,
                         26,   28,   51,   58,   59,  // parameter request list
                         255};
  std::copy(options.begin(), options.end(), expected.begin() + 236);
  EXPECT_EQ(out, expected);
  auto d = Dhcp4View::Parse(out);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->message_type(), Dhcp4MessageType::kDiscover);
  EXPECT_FALSE(d->broadcast());
  EXPECT_FALSE(d->server_id());
}

TEST(Dhcp4MessageTest, ClientMessagesFollowRfc2131Table5) {
  struct Case {
    Dhcp4Message m;
    Dhcp4MessageType type;
    Ip4Address ciaddr;
    std::optional<Ip4Address> requested;
    std::optional<Ip4Address> server;
    bool prl;
  };
  const Ip4Address leased = A4("10.77.0.133");
  const Case cases[] = {
      {Dhcp4Message::RequestSelecting(1, kClientMac, kOffered, kServer), Dhcp4MessageType::kRequest,
       Ip4Address(), kOffered, kServer, true},
      {Dhcp4Message::RequestInitReboot(2, kClientMac, leased), Dhcp4MessageType::kRequest,
       Ip4Address(), leased, std::nullopt, true},
      {Dhcp4Message::RequestRenewing(3, kClientMac, leased), Dhcp4MessageType::kRequest, leased,
       std::nullopt, std::nullopt, true},
      {Dhcp4Message::Decline(4, kClientMac, leased, kServer), Dhcp4MessageType::kDecline,
       Ip4Address(), leased, kServer, false},
      {Dhcp4Message::Release(5, kClientMac, leased, kServer), Dhcp4MessageType::kRelease, leased,
       std::nullopt, kServer, false},
  };
  for (const Case& c : cases) {
    Bytes out(c.m.size());
    c.m.Emit(out);
    auto d = Dhcp4View::Parse(out);
    ASSERT_TRUE(d.ok()) << ToString(d.error());
    EXPECT_EQ(d->op(), Dhcp4Op::kBootRequest);
    EXPECT_EQ(d->xid(), c.m.xid);
    EXPECT_EQ(d->message_type(), c.type);
    EXPECT_EQ(d->ciaddr(), c.ciaddr);
    EXPECT_EQ(d->requested_ip(), c.requested);
    EXPECT_EQ(d->server_id(), c.server);
    EXPECT_EQ(d->parameter_request_list().has_value(), c.prl);
    EXPECT_EQ(d->client_mac(), kClientMac);
    EXPECT_FALSE(d->lease_time());
  }
}

TEST(Dhcp4MessageTest, EveryOptionRoundTrips) {
  Dhcp4Message m = DnsmasqOffer();
  const uint8_t client_id[] = {1, 0x2a, 0x92, 0x7d, 0x0a, 0xa3, 0x97};
  const uint8_t prl[] = {1, 3};
  const Ip4Address two[] = {A4("10.77.0.1"), A4("10.77.0.2")};
  m.client_id = client_id;
  m.requested_ip = kOffered;
  m.max_message_size = 1500;
  m.host_name = "pytcp";
  m.parameter_request_list = prl;
  m.interface_mtu = 1400;
  m.message = "hello";
  m.dns_servers = two;
  m.hops = 2;
  m.secs = 7;
  m.ciaddr = A4("10.77.0.5");
  m.giaddr = A4("10.77.1.1");
  Bytes out(m.size());
  m.Emit(out);
  auto d = Dhcp4View::Parse(out);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->hops(), 2);
  EXPECT_EQ(d->secs(), 7);
  EXPECT_EQ(d->ciaddr(), A4("10.77.0.5"));
  EXPECT_EQ(d->giaddr(), A4("10.77.1.1"));
  EXPECT_EQ(Bytes(d->client_id()->begin(), d->client_id()->end()), ToBytes(client_id));
  EXPECT_EQ(d->requested_ip(), kOffered);
  EXPECT_EQ(d->max_message_size(), 1500);
  EXPECT_EQ(d->host_name(), "pytcp");
  EXPECT_EQ(d->parameter_request_list()->size(), 2u);
  EXPECT_EQ(d->interface_mtu(), 1400);
  EXPECT_EQ(d->message(), "hello");
  ASSERT_EQ(d->dns_servers().size(), 2u);
  EXPECT_EQ(d->dns_servers()[1], A4("10.77.0.2"));
}

TEST(Dhcp4ViewTest, EveryTruncationIsRejected) {
  const ByteSpan full(testdata::kDhcpOffer);
  for (size_t n = 0; n < full.size(); ++n) {
    auto d = Dhcp4View::Parse(full.first(n));
    ASSERT_FALSE(d.ok()) << n;
    EXPECT_TRUE(IsIntegrityError(d.error())) << n;
    if (n < 240) {
      EXPECT_EQ(d.error(), Dhcp4ParseError::kTooShort);
    } else {
      EXPECT_TRUE(d.error() == Dhcp4ParseError::kOptionOverrun ||
                  d.error() == Dhcp4ParseError::kNoEnd)
          << n;
    }
  }
}

TEST(Dhcp4ViewTest, PadAndTrailingBytesAfterEnd) {
  // Pad (0) between options and padding after End, as clients pad to 300 bytes.
  Bytes b(testdata::kDhcpOffer, testdata::kDhcpOffer + 240);
  const Bytes options = {0, 0, 53, 1, 5, 0, 54, 4, 10, 77, 0, 1, 255, 0, 0, 7, 7};
  b.insert(b.end(), options.begin(), options.end());
  auto d = Dhcp4View::Parse(b);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->message_type(), Dhcp4MessageType::kAck);
  EXPECT_EQ(d->server_id(), kServer);
  EXPECT_EQ(OptionCodes(*d), (std::vector<uint8_t>{53, 54}));
}

// The offer's fixed part and cookie followed by `options`.
Result<Dhcp4View, Dhcp4ParseError> WithOptions(Bytes& b, const Bytes& options) {
  b.assign(testdata::kDhcpOffer, testdata::kDhcpOffer + 240);
  b.insert(b.end(), options.begin(), options.end());
  return Dhcp4View::Parse(b);
}

TEST(Dhcp4ViewTest, MalformedMessagesAreRejectedWithTheirReason) {
  struct Case {
    Bytes options;
    Dhcp4ParseError error;
  };
  const Case cases[] = {
      {{53, 1, 2, 54, 4, 10, 77}, Dhcp4ParseError::kOptionOverrun},
      {{53, 1, 2, 54}, Dhcp4ParseError::kOptionOverrun},
      {{53, 1, 2}, Dhcp4ParseError::kNoEnd},
      {{54, 4, 10, 77, 0, 1, 255}, Dhcp4ParseError::kMissingMessageType},
      {{53, 2, 2, 2, 255}, Dhcp4ParseError::kBadOptionLength},
      {{53, 1, 2, 1, 3, 255, 255, 0, 255}, Dhcp4ParseError::kBadOptionLength},       // mask
      {{53, 1, 2, 3, 6, 1, 2, 3, 4, 5, 6, 255}, Dhcp4ParseError::kBadOptionLength},  // router
      {{53, 1, 2, 6, 0, 255}, Dhcp4ParseError::kBadOptionLength},                    // DNS
      {{53, 1, 2, 15, 0, 255}, Dhcp4ParseError::kBadOptionLength},                   // domain
      {{53, 1, 2, 51, 2, 0, 1, 255}, Dhcp4ParseError::kBadOptionLength},             // lease
      {{53, 1, 2, 61, 1, 1, 255}, Dhcp4ParseError::kBadOptionLength},                // client id
      {{53, 1, 2, 26, 2, 0, 67, 255}, Dhcp4ParseError::kBadOptionValue},             // MTU < 68
      {{53, 1, 2, 57, 2, 0x02, 0x3f, 255}, Dhcp4ParseError::kBadOptionValue},        // 575
      {{53, 1, 2, 52, 1, 3, 255}, Dhcp4ParseError::kOverloadUnsupported},
  };
  Bytes b;
  for (const Case& c : cases) {
    auto d = WithOptions(b, c.options);
    ASSERT_FALSE(d.ok()) << ToString(c.error);
    EXPECT_EQ(d.error(), c.error);
  }
  // The accepted edges.
  EXPECT_TRUE(WithOptions(b, {53, 1, 2, 26, 2, 0, 68, 57, 2, 0x02, 0x40, 255}).ok());
  EXPECT_TRUE(WithOptions(b, {53, 1, 2, 200, 0, 255}).ok());  // unknown, empty
}

TEST(Dhcp4ViewTest, FixedPartSanity) {
  Bytes b = ToBytes(testdata::kDhcpOffer);
  b[236] = 0;  // cookie
  auto cookie = Dhcp4View::Parse(b);
  ASSERT_FALSE(cookie.ok());
  EXPECT_EQ(cookie.error(), Dhcp4ParseError::kBadMagicCookie);

  b = ToBytes(testdata::kDhcpOffer);
  b[0] = 3;
  auto op = Dhcp4View::Parse(b);
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.error(), Dhcp4ParseError::kBadOp);
  EXPECT_FALSE(IsIntegrityError(op.error()));

  b = ToBytes(testdata::kDhcpOffer);
  b[2] = 17;
  auto hlen = Dhcp4View::Parse(b);
  ASSERT_FALSE(hlen.ok());
  EXPECT_EQ(hlen.error(), Dhcp4ParseError::kBadHardwareLength);

  // A non-Ethernet client: no MAC, the raw chaddr is there.
  b[1] = 6;
  b[2] = 16;
  auto other = Dhcp4View::Parse(b);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->client_mac());
  EXPECT_EQ(other->chaddr().size(), 16u);

  // Server name and file up to their first NUL.
  b = ToBytes(testdata::kDhcpOffer);
  const std::string name = "peer";
  std::copy(name.begin(), name.end(), b.begin() + 44);
  std::copy(name.begin(), name.end(), b.begin() + 108);
  auto named = Dhcp4View::Parse(b);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->server_name(), "peer");
  EXPECT_EQ(named->boot_file_name(), "peer");
}

TEST(Dhcp4OptionWriterTest, RefusesWhatDoesNotFit) {
  uint8_t buf[8];
  Dhcp4OptionWriter w(buf);
  EXPECT_TRUE(w.AddU32(Dhcp4OptionCode::kLeaseTime, 60));
  EXPECT_FALSE(w.AddU16(Dhcp4OptionCode::kInterfaceMtu, 1500));  // 4 bytes, 2 left
  EXPECT_EQ(w.size(), 6u);
  EXPECT_TRUE(w.AddEnd());
  EXPECT_TRUE(w.AddU8(Dhcp4OptionCode::kPad, 0) == false);  // 1 byte left
  EXPECT_TRUE(w.AddEnd());
  EXPECT_FALSE(w.AddEnd());
  Bytes big(300, 1);
  uint8_t buf2[400];
  Dhcp4OptionWriter w2(buf2);
  EXPECT_FALSE(w2.Add(Dhcp4OptionCode::kMessage, big));  // longer than 255
  std::vector<Ip4Address> many(64, A4("10.0.0.1"));
  EXPECT_FALSE(w2.AddAddresses(Dhcp4OptionCode::kRouter, many));
  EXPECT_EQ(w2.size(), 0u);
}

TEST(Dhcp4ParseErrorTest, NamesAreDistinct) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(Dhcp4ParseError::kOverloadUnsupported); ++i) {
    names.insert(std::string(ToString(static_cast<Dhcp4ParseError>(i))));
  }
  EXPECT_EQ(names.size(), 10u);
  EXPECT_EQ(names.count("unknown"), 0u);
}

}  // namespace
}  // namespace pytcp
