// Neighbor Discovery messages (ICMPv6 types 133..137) and their options.
//
// To read: RFC 4861 §4 (message formats), §4.6 (option formats: §4.6.1 link-layer address,
// §4.6.2 prefix information, §4.6.3 redirected header, §4.6.4 MTU), §6.1.1/§6.1.2 (RS/RA
// validation), §7.1.1/§7.1.2 (NS/NA validation), §8.1 (Redirect validation); RFC 2464 §8
// (an Ethernet link-layer address option is 8 bytes long); RFC 4191 §2.2 (router
// preference); RFC 8106 §5.1/§5.2 (RDNSS and DNSSL options).
//
// Parse (Icmp6View::Parse) applies the validation rules that need only the ICMPv6 message:
// code 0, minimum lengths, every option with a non-zero length inside the message, known
// options with the lengths their RFCs give, targets not multicast. The rules that need the
// IPv6 header (hop limit 255, an unspecified source without a source link-layer option, the
// solicited flag on multicast NAs, a link-local RA source) are the engine's.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "stack/base/bytes.h"
#include "stack/base/forward_iterator.h"
#include "stack/net/ip6_address.h"
#include "stack/net/mac_address.h"
#include "stack/wire/icmp6.h"

namespace pytcp {

// Wire enum: IANA "IPv6 Neighbor Discovery Option Formats". Any value may appear; unknown
// options are skipped (RFC 4861 §4.6: "silently ignore").
enum class NdOptionType : uint8_t {
  kSourceLinkLayerAddress = 1,
  kTargetLinkLayerAddress = 2,
  kPrefixInformation = 3,
  kRedirectedHeader = 4,
  kMtu = 5,
  kNonce = 14,             // RFC 3971 §5.3.2
  kRouteInformation = 24,  // RFC 4191 §2.3
  kRdnss = 25,             // RFC 8106 §5.1
  kDnssl = 31,             // RFC 8106 §5.2
};

// RFC 4191 §2.1: the 2-bit Default Router Preference of an RA.
enum class NdRouterPreference : uint8_t { kMedium = 0, kHigh = 1, kReserved = 2, kLow = 3 };

inline constexpr size_t kNdRouterSolicitSize = 8;
inline constexpr size_t kNdRouterAdvertSize = 16;
inline constexpr size_t kNdNeighborSolicitSize = 24;
inline constexpr size_t kNdNeighborAdvertSize = 24;
inline constexpr size_t kNdRedirectSize = 40;
// Lifetime value meaning "forever" (RFC 4861 §4.6.2, RFC 8106 §5.1).
inline constexpr uint32_t kNdInfiniteLifetime = 0xffffffffu;

// Prefix Information (RFC 4861 §4.6.2), read and write side.
struct NdPrefixInfo {
  Ip6Address prefix;
  uint8_t prefix_length = 64;
  bool on_link = true;              // L
  bool autonomous = true;           // A
  uint32_t valid_lifetime = 0;      // seconds
  uint32_t preferred_lifetime = 0;  // seconds
  bool operator==(const NdPrefixInfo&) const = default;
};

// One option of a validated ND message.
class NdOption {
 public:
  NdOptionType type() const { return static_cast<NdOptionType>(data_[0]); }
  // In 8-byte units, never 0.
  uint8_t length_units() const { return data_[1]; }
  // The whole option, and what follows the type and length bytes.
  ByteSpan bytes() const { return data_; }
  ByteSpan body() const { return data_.subspan(2); }

  // Source / Target Link-Layer Address (RFC 4861 §4.6.1, RFC 2464 §8).
  MacAddress link_layer_address() const {
    assert(type() == NdOptionType::kSourceLinkLayerAddress ||
           type() == NdOptionType::kTargetLinkLayerAddress);
    return MacAddress::FromBytes(data_.data() + 2);
  }
  NdPrefixInfo prefix_info() const;
  // MTU (RFC 4861 §4.6.4).
  uint32_t mtu() const {
    assert(type() == NdOptionType::kMtu);
    return LoadBe32(data_, 4);
  }
  // Redirected Header (RFC 4861 §4.6.3): the start of the redirected packet (possibly
  // with zero padding at the end).
  ByteSpan redirected_packet() const {
    assert(type() == NdOptionType::kRedirectedHeader);
    return data_.subspan(8);
  }
  // RDNSS (RFC 8106 §5.1).
  uint32_t rdnss_lifetime() const {
    assert(type() == NdOptionType::kRdnss);
    return LoadBe32(data_, 4);
  }
  size_t rdnss_count() const {
    assert(type() == NdOptionType::kRdnss);
    return (size_t{length_units()} - 1) / 2;
  }
  Ip6Address rdnss_address(size_t i) const {
    assert(i < rdnss_count());
    return Ip6Address::FromBytes(data_.data() + 8 + 16 * i);
  }
  // DNSSL (RFC 8106 §5.2): the lifetime and the raw domain names (RFC 1035 §3.1 encoding,
  // no compression, zero padded to the option's end).
  uint32_t dnssl_lifetime() const {
    assert(type() == NdOptionType::kDnssl);
    return LoadBe32(data_, 4);
  }
  ByteSpan dnssl_domain_names() const {
    assert(type() == NdOptionType::kDnssl);
    return data_.subspan(8);
  }

 private:
  friend class NdOptionsView;
  explicit NdOption(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// The options of a validated ND message; iterate with a range-for.
class NdOptionsView {
 public:
  class Iterator : public ForwardIteratorBase<Iterator, NdOption> {
   public:
    using ForwardIteratorBase::operator++;
    Iterator() = default;
    NdOption operator*() const {
      return NdOption(data_.subspan(offset_, size_t{data_[offset_ + 1]} * 8));
    }
    Iterator& operator++() {
      offset_ += size_t{data_[offset_ + 1]} * 8;
      return *this;
    }
    bool operator==(const Iterator& o) const { return offset_ == o.offset_; }

   private:
    friend class NdOptionsView;
    Iterator(ByteSpan data, size_t offset) : data_(data), offset_(offset) {}
    ByteSpan data_;
    size_t offset_ = 0;
  };

  NdOptionsView() = default;
  Iterator begin() const { return Iterator(data_, 0); }
  Iterator end() const { return Iterator(data_, data_.size()); }
  ByteSpan bytes() const { return data_; }
  // The first option of a type.
  std::optional<NdOption> Find(NdOptionType type) const;

 private:
  friend class NdRouterSolicitView;
  friend class NdRouterAdvertView;
  friend class NdNeighborSolicitView;
  friend class NdNeighborAdvertView;
  friend class NdRedirectView;
  explicit NdOptionsView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// Router Solicitation (RFC 4861 §4.1).
class NdRouterSolicitView {
 public:
  static std::optional<NdRouterSolicitView> From(const Icmp6View& icmp);
  NdOptionsView options() const { return NdOptionsView(data_.subspan(kNdRouterSolicitSize)); }
  std::optional<MacAddress> source_link_layer_address() const;

 private:
  explicit NdRouterSolicitView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// Router Advertisement (RFC 4861 §4.2).
class NdRouterAdvertView {
 public:
  static std::optional<NdRouterAdvertView> From(const Icmp6View& icmp);
  // 0 means unspecified by this router.
  uint8_t cur_hop_limit() const { return data_[4]; }
  bool managed() const { return (data_[5] & 0x80) != 0; }  // M
  bool other() const { return (data_[5] & 0x40) != 0; }    // O
  NdRouterPreference preference() const {
    return static_cast<NdRouterPreference>((data_[5] >> 3) & 0x03);
  }
  // Seconds; 0: not a default router.
  uint16_t router_lifetime() const { return LoadBe16(data_, 6); }
  // Milliseconds; 0: unspecified.
  uint32_t reachable_time() const { return LoadBe32(data_, 8); }
  uint32_t retrans_timer() const { return LoadBe32(data_, 12); }
  NdOptionsView options() const { return NdOptionsView(data_.subspan(kNdRouterAdvertSize)); }
  std::optional<MacAddress> source_link_layer_address() const;
  std::optional<uint32_t> mtu() const;

 private:
  explicit NdRouterAdvertView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// Neighbor Solicitation (RFC 4861 §4.3).
class NdNeighborSolicitView {
 public:
  static std::optional<NdNeighborSolicitView> From(const Icmp6View& icmp);
  Ip6Address target() const { return Ip6Address::FromBytes(data_.data() + 8); }
  NdOptionsView options() const { return NdOptionsView(data_.subspan(kNdNeighborSolicitSize)); }
  std::optional<MacAddress> source_link_layer_address() const;

 private:
  explicit NdNeighborSolicitView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// Neighbor Advertisement (RFC 4861 §4.4).
class NdNeighborAdvertView {
 public:
  static std::optional<NdNeighborAdvertView> From(const Icmp6View& icmp);
  bool router() const { return (data_[4] & 0x80) != 0; }         // R
  bool solicited() const { return (data_[4] & 0x40) != 0; }      // S
  bool override_flag() const { return (data_[4] & 0x20) != 0; }  // O
  Ip6Address target() const { return Ip6Address::FromBytes(data_.data() + 8); }
  NdOptionsView options() const { return NdOptionsView(data_.subspan(kNdNeighborAdvertSize)); }
  std::optional<MacAddress> target_link_layer_address() const;

 private:
  explicit NdNeighborAdvertView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// Redirect (RFC 4861 §4.5).
class NdRedirectView {
 public:
  static std::optional<NdRedirectView> From(const Icmp6View& icmp);
  Ip6Address target() const { return Ip6Address::FromBytes(data_.data() + 8); }
  Ip6Address destination() const { return Ip6Address::FromBytes(data_.data() + 24); }
  NdOptionsView options() const { return NdOptionsView(data_.subspan(kNdRedirectSize)); }
  std::optional<MacAddress> target_link_layer_address() const;
  std::optional<ByteSpan> redirected_packet() const;

 private:
  explicit NdRedirectView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// --- Write side ---
// Each message: size() bytes; Emit writes them with the checksum, given the pseudo-header
// sum Icmp6PseudoHeaderSum(src, dst, size()). Link-layer address options are the 8-byte
// Ethernet form (RFC 2464 §8).

struct NdRouterSolicitMessage {
  std::optional<MacAddress> source_lla;

  size_t size() const;
  void Emit(MutableByteSpan out, uint32_t pseudo_sum) const;
};

struct NdRouterAdvertMessage {
  uint8_t cur_hop_limit = 64;
  bool managed = false;
  bool other = false;
  NdRouterPreference preference = NdRouterPreference::kMedium;
  uint16_t router_lifetime = 1800;  // seconds
  uint32_t reachable_time = 0;      // ms
  uint32_t retrans_timer = 0;       // ms
  std::optional<MacAddress> source_lla;
  std::optional<uint32_t> mtu;
  std::span<const NdPrefixInfo> prefixes;
  // One RDNSS option when non-empty (RFC 8106 §5.1), at most 127 addresses.
  std::span<const Ip6Address> rdnss;
  uint32_t rdnss_lifetime = 0;

  size_t size() const;
  void Emit(MutableByteSpan out, uint32_t pseudo_sum) const;
};

struct NdNeighborSolicitMessage {
  Ip6Address target;
  // Omitted for DAD (RFC 4862 §5.4.2: the source is unspecified).
  std::optional<MacAddress> source_lla;

  size_t size() const;
  void Emit(MutableByteSpan out, uint32_t pseudo_sum) const;
};

struct NdNeighborAdvertMessage {
  Ip6Address target;
  bool router = false;
  bool solicited = false;
  bool override_flag = false;
  std::optional<MacAddress> target_lla;

  size_t size() const;
  void Emit(MutableByteSpan out, uint32_t pseudo_sum) const;
};

struct NdRedirectMessage {
  Ip6Address target;
  Ip6Address destination;
  std::optional<MacAddress> target_lla;
  // Cut so that the whole message fits in the minimum MTU (RFC 4861 §4.5) and zero padded
  // to a multiple of 8 bytes; empty: no Redirected Header option.
  ByteSpan redirected_packet;

  size_t size() const;
  void Emit(MutableByteSpan out, uint32_t pseudo_sum) const;
};

namespace icmp6_internal {
// Validation of ND messages for Icmp6View::Parse: integrity errors, then sanity errors.
std::optional<Icmp6ParseError> CheckNd(ByteSpan message);
}  // namespace icmp6_internal

}  // namespace pytcp
