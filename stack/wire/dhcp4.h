// DHCPv4 messages (the UDP payload on ports 67/68).
//
// To read: RFC 2131 §2 (message format, the broadcast flag), §3.1 and §4.3.1 (client and
// server behaviour), §4.4.1 and Table 5 (which fields and options each client message
// carries); RFC 2132 (options; §9.3 option overload, which this stack rejects, §9.6 message
// type); RFC 951 (the BOOTP fixed part), RFC 1542 §2.1 (a BOOTP message is at least 300
// bytes, which clients pad to).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/net/ip4_address.h"
#include "stack/net/mac_address.h"
#include "stack/wire/dhcp4_options.h"

namespace pytcp {

// RFC 2131 §2 "op".
enum class Dhcp4Op : uint8_t { kBootRequest = 1, kBootReply = 2 };

// RFC 2132 §9.6. Wire enum: any value may appear (RFC 3203, RFC 4388 define more).
enum class Dhcp4MessageType : uint8_t {
  kDiscover = 1,
  kOffer = 2,
  kRequest = 3,
  kDecline = 4,
  kAck = 5,
  kNak = 6,
  kRelease = 7,
  kInform = 8,
};

PYTCP_NAMED_ENUM(Dhcp4ParseError, uint8_t,
  // Integrity: is the message safe to read?
  kTooShort,        // shorter than the 236-byte fixed part + the 4-byte magic cookie
  kBadMagicCookie,  // RFC 2131 §3: options start with 99.130.83.99
  kOptionOverrun,   // an option's length byte or data runs past the message
  kNoEnd,           // RFC 2132 §3.2: the options end with End (255)
  // Sanity: does it follow the RFC rules?
  kBadOp,                // op is neither BOOTREQUEST nor BOOTREPLY
  kBadHardwareLength,    // hlen larger than the 16-byte chaddr field
  kMissingMessageType,   // RFC 2131 §3: every DHCP message carries option 53
  kBadOptionLength,      // a known option with a length RFC 2132 forbids
  kBadOptionValue,       // RFC 2132 §5.1 MTU < 68, §9.10 maximum message size < 576
  kOverloadUnsupported,  // RFC 2132 §9.3 option overload (sname/file hold options)
);
constexpr bool IsIntegrityError(Dhcp4ParseError e) { return e < Dhcp4ParseError::kBadOp; }

inline constexpr size_t kDhcp4FixedSize = 236;
inline constexpr size_t kDhcp4OptionsOffset = 240;  // after the magic cookie
inline constexpr uint32_t kDhcp4MagicCookie = 0x63825363;
// RFC 1542 §2.1 / RFC 951: the smallest BOOTP message; relays and old servers drop less.
inline constexpr size_t kDhcp4MinMessageSize = 300;
inline constexpr uint16_t kDhcp4ServerPort = 67;
inline constexpr uint16_t kDhcp4ClientPort = 68;
inline constexpr uint16_t kDhcp4BroadcastFlag = 0x8000;

// A list of IPv4 addresses inside an option (routers, DNS servers).
class Dhcp4AddressList {
 public:
  Dhcp4AddressList() = default;
  size_t size() const { return data_.size() / 4; }
  bool empty() const { return data_.empty(); }
  Ip4Address operator[](size_t i) const { return Ip4Address::FromBytes(data_.data() + 4 * i); }

 private:
  friend class Dhcp4View;
  explicit Dhcp4AddressList(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

class Dhcp4View {
 public:
  static Result<Dhcp4View, Dhcp4ParseError> Parse(ByteSpan data);

  Dhcp4Op op() const { return static_cast<Dhcp4Op>(data_[0]); }
  uint8_t htype() const { return data_[1]; }
  uint8_t hlen() const { return data_[2]; }
  uint8_t hops() const { return data_[3]; }
  uint32_t xid() const { return LoadBe32(data_, 4); }
  uint16_t secs() const { return LoadBe16(data_, 8); }
  uint16_t flags() const { return LoadBe16(data_, 10); }
  bool broadcast() const { return (flags() & kDhcp4BroadcastFlag) != 0; }
  Ip4Address ciaddr() const { return Ip4Address::FromBytes(data_.data() + 12); }
  Ip4Address yiaddr() const { return Ip4Address::FromBytes(data_.data() + 16); }
  Ip4Address siaddr() const { return Ip4Address::FromBytes(data_.data() + 20); }
  Ip4Address giaddr() const { return Ip4Address::FromBytes(data_.data() + 24); }
  // The hlen bytes of client hardware address.
  ByteSpan chaddr() const { return data_.subspan(28, hlen()); }
  // The client MAC, when the message is for Ethernet (htype 1, hlen 6).
  std::optional<MacAddress> client_mac() const;
  // The raw 64-byte sname and 128-byte file fields, and their text up to the first NUL.
  ByteSpan sname() const { return data_.subspan(44, 64); }
  ByteSpan file() const { return data_.subspan(108, 128); }
  std::string_view server_name() const;
  std::string_view boot_file_name() const;

  Dhcp4OptionsView options() const {
    return Dhcp4OptionsView(data_.subspan(kDhcp4OptionsOffset, options_end_ - kDhcp4OptionsOffset));
  }
  // The first instance of an option.
  std::optional<Dhcp4Option> Find(Dhcp4OptionCode code) const;

  // Typed accessors (lengths checked at Parse). Absent options give nullopt / empty.
  Dhcp4MessageType message_type() const;                   // 53 (always there)
  std::optional<Ip4Address> subnet_mask() const;           // 1
  Dhcp4AddressList routers() const;                        // 3
  Dhcp4AddressList dns_servers() const;                    // 6
  std::optional<std::string_view> host_name() const;       // 12
  std::optional<std::string_view> domain_name() const;     // 15
  std::optional<uint16_t> interface_mtu() const;           // 26
  std::optional<Ip4Address> broadcast_address() const;     // 28
  std::optional<Ip4Address> requested_ip() const;          // 50
  std::optional<uint32_t> lease_time() const;              // 51, seconds
  std::optional<Ip4Address> server_id() const;             // 54
  std::optional<ByteSpan> parameter_request_list() const;  // 55
  std::optional<std::string_view> message() const;         // 56
  std::optional<uint16_t> max_message_size() const;        // 57
  std::optional<uint32_t> renewal_time() const;            // 58, T1 seconds
  std::optional<uint32_t> rebinding_time() const;          // 59, T2 seconds
  std::optional<ByteSpan> client_id() const;               // 61

  ByteSpan message_bytes() const { return data_; }

 private:
  // The options the typed accessors read, with the offset of their first instance.
  static constexpr std::array<uint8_t, 17> kTracked = {1,  3,  6,  12, 15, 26, 28, 50, 51,
                                                       53, 54, 55, 56, 57, 58, 59, 61};
  static constexpr uint32_t kAbsent = 0;
  explicit Dhcp4View(ByteSpan data) : data_(data) {}
  static int TrackedIndex(uint8_t code);
  std::optional<ByteSpan> Tracked(Dhcp4OptionCode code) const;
  std::optional<Ip4Address> TrackedAddress(Dhcp4OptionCode code) const;
  std::optional<uint32_t> TrackedU32(Dhcp4OptionCode code) const;
  std::optional<uint16_t> TrackedU16(Dhcp4OptionCode code) const;
  std::optional<std::string_view> TrackedText(Dhcp4OptionCode code) const;

  ByteSpan data_;
  size_t options_end_ = kDhcp4OptionsOffset;         // offset of the End option
  std::array<uint32_t, kTracked.size()> offsets_{};  // option code byte; kAbsent if none
};

// The parameter request list a client sends (RFC 2131 §4.4.1): what this stack uses.
inline constexpr std::array<uint8_t, 9> kDhcp4DefaultParameterRequestList = {1,  3,  6,  15, 26,
                                                                             28, 51, 58, 59};

// Write side: a message with the options this stack sends or (in tests) receives. Options
// are written when set, in a fixed order (message type first), followed by End and zero
// padding to kDhcp4MinMessageSize.
struct Dhcp4Message {
  Dhcp4Op op = Dhcp4Op::kBootRequest;
  uint8_t hops = 0;
  uint32_t xid = 0;
  uint16_t secs = 0;
  bool broadcast = false;
  Ip4Address ciaddr, yiaddr, siaddr, giaddr;
  MacAddress chaddr;

  Dhcp4MessageType message_type = Dhcp4MessageType::kDiscover;
  ByteSpan client_id;                           // 61
  std::optional<Ip4Address> requested_ip;       // 50
  std::optional<Ip4Address> server_id;          // 54
  std::optional<uint32_t> lease_time;           // 51
  std::optional<uint16_t> max_message_size;     // 57
  std::string_view host_name;                   // 12
  ByteSpan parameter_request_list;              // 55
  std::optional<Ip4Address> subnet_mask;        // 1
  std::span<const Ip4Address> routers;          // 3, at most 63
  std::span<const Ip4Address> dns_servers;      // 6, at most 63
  std::string_view domain_name;                 // 15
  std::optional<uint16_t> interface_mtu;        // 26
  std::optional<Ip4Address> broadcast_address;  // 28
  std::optional<uint32_t> renewal_time;         // 58
  std::optional<uint32_t> rebinding_time;       // 59
  std::string_view message;                     // 56

  // RFC 2131 §4.4.1 and Table 5, client side.
  static Dhcp4Message Discover(uint32_t xid, const MacAddress& mac);
  // SELECTING: accept `offered` from `server`.
  static Dhcp4Message RequestSelecting(uint32_t xid, const MacAddress& mac, Ip4Address offered,
                                       Ip4Address server);
  // INIT-REBOOT: confirm a remembered address.
  static Dhcp4Message RequestInitReboot(uint32_t xid, const MacAddress& mac, Ip4Address address);
  // RENEWING (unicast to the server) or REBINDING (broadcast): ciaddr is the leased address.
  static Dhcp4Message RequestRenewing(uint32_t xid, const MacAddress& mac, Ip4Address leased);
  static Dhcp4Message Decline(uint32_t xid, const MacAddress& mac, Ip4Address declined,
                              Ip4Address server);
  static Dhcp4Message Release(uint32_t xid, const MacAddress& mac, Ip4Address leased,
                              Ip4Address server);

  size_t size() const;
  // Writes size() bytes. The caller provides a buffer of at least size() bytes; options that
  // would not fit an option (over 255 bytes) are asserted against.
  void Emit(MutableByteSpan out) const;
};

}  // namespace pytcp
