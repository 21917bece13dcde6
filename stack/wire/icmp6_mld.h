// Multicast Listener Discovery messages: MLDv2 query and report, MLDv1 query, report and
// done.
//
// To read: RFC 3810 §5.1 (query format; §5.1.3 Maximum Response Code, §5.1.9 QQIC, both
// with an exponential form), §5.2 (report format and multicast address records), §8.1 (a
// query's length says its version); RFC 2710 §3 (MLDv1 messages). MLD messages travel with
// a Hop-by-Hop Router Alert (ip6_ext.h, Ip6RouterAlertHopByHop) and hop limit 1, which the
// engine checks.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "stack/base/bytes.h"
#include "stack/base/forward_iterator.h"
#include "stack/net/ip6_address.h"
#include "stack/wire/icmp6.h"
#include "stack/wire/igmp_mld_common.h"

namespace pytcp {

// RFC 3810 §5.2.12.
using MldRecordType = GroupRecordType;

inline constexpr size_t kMldV1Size = 24;
inline constexpr size_t kMldV2QueryMinSize = 28;
inline constexpr size_t kMldV2ReportMinSize = 8;
inline constexpr size_t kMldRecordMinSize = 20;

// RFC 3810 §5.1.3: Maximum Response Code -> Maximum Response Delay in milliseconds.
constexpr uint32_t MldDecodeMaxRespCode(uint16_t code) { return DecodeFloatCode<12>(code); }
// The inverse, rounding down to a representable value (delays above 8387584 ms saturate).
constexpr uint16_t MldEncodeMaxRespCode(uint32_t delay_ms) {
  return static_cast<uint16_t>(EncodeFloatCode<12>(delay_ms));
}

// RFC 3810 §5.1.9: Querier's Query Interval Code -> seconds.
constexpr uint32_t MldDecodeQqic(uint8_t qqic) { return DecodeFloatCode<4>(qqic); }
constexpr uint8_t MldEncodeQqic(uint32_t seconds) {
  return static_cast<uint8_t>(EncodeFloatCode<4>(seconds));
}

// Multicast Listener Query, MLDv1 (24 bytes, RFC 2710 §3) or MLDv2 (28+ bytes, RFC 3810
// §5.1).
class MldQueryView {
 public:
  static std::optional<MldQueryView> From(const Icmp6View& icmp);

  bool is_v2() const { return data_.size() >= kMldV2QueryMinSize; }
  uint16_t max_resp_code() const { return LoadBe16(data_, 4); }
  // Milliseconds: the MLDv1 delay, or the decoded MLDv2 code.
  uint32_t max_response_delay_ms() const {
    return is_v2() ? MldDecodeMaxRespCode(max_resp_code()) : max_resp_code();
  }
  Ip6Address multicast_address() const { return Ip6Address::FromBytes(data_.data() + 8); }
  // A general query asks about every group (RFC 3810 §5.1.5).
  bool is_general() const { return multicast_address().is_unspecified(); }

  // MLDv2 only (false / 0 for MLDv1).
  bool suppress_router_processing() const { return is_v2() && (data_[24] & 0x08) != 0; }  // S
  uint8_t qrv() const { return is_v2() ? (data_[24] & 0x07) : 0; }
  uint8_t qqic() const { return is_v2() ? data_[25] : 0; }
  uint32_t qqi_seconds() const { return MldDecodeQqic(qqic()); }
  uint16_t source_count() const { return is_v2() ? LoadBe16(data_, 26) : 0; }
  Ip6Address source(size_t i) const {
    assert(i < source_count());
    return Ip6Address::FromBytes(data_.data() + kMldV2QueryMinSize + 16 * i);
  }

 private:
  explicit MldQueryView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// MLDv1 Report (131) or Done (132) (RFC 2710 §3).
class MldV1View {
 public:
  static std::optional<MldV1View> From(const Icmp6View& icmp);
  bool is_done() const { return data_[0] == static_cast<uint8_t>(Icmp6Type::kMldV1Done); }
  uint16_t max_response_delay() const { return LoadBe16(data_, 4); }
  Ip6Address multicast_address() const { return Ip6Address::FromBytes(data_.data() + 8); }

 private:
  explicit MldV1View(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// One Multicast Address Record of an MLDv2 report (RFC 3810 §5.2.4).
class MldRecordView {
 public:
  MldRecordType type() const { return static_cast<MldRecordType>(data_[0]); }
  // In 32-bit words.
  uint8_t aux_data_length() const { return data_[1]; }
  uint16_t source_count() const { return LoadBe16(data_, 2); }
  Ip6Address multicast_address() const { return Ip6Address::FromBytes(data_.data() + 4); }
  Ip6Address source(size_t i) const {
    assert(i < source_count());
    return Ip6Address::FromBytes(data_.data() + kMldRecordMinSize + 16 * i);
  }
  ByteSpan aux_data() const {
    return data_.subspan(kMldRecordMinSize + 16 * size_t{source_count()});
  }
  ByteSpan bytes() const { return data_; }

 private:
  friend class MldV2ReportView;
  explicit MldRecordView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// MLDv2 Report (RFC 3810 §5.2); iterate records() with a range-for.
class MldV2ReportView {
 public:
  static std::optional<MldV2ReportView> From(const Icmp6View& icmp);
  uint16_t record_count() const { return LoadBe16(data_, 6); }

  class Iterator : public ForwardIteratorBase<Iterator, MldRecordView> {
   public:
    using ForwardIteratorBase::operator++;
    Iterator() = default;
    MldRecordView operator*() const { return MldRecordView(data_.subspan(offset_, RecordSize())); }
    Iterator& operator++() {
      offset_ += RecordSize();
      ++index_;
      return *this;
    }
    bool operator==(const Iterator& o) const { return index_ == o.index_; }

   private:
    friend class MldV2ReportView;
    Iterator(ByteSpan data, size_t offset, size_t index)
        : data_(data), offset_(offset), index_(index) {}
    size_t RecordSize() const {
      return kMldRecordMinSize + 16 * size_t{LoadBe16(data_, offset_ + 2)} +
             4 * size_t{data_[offset_ + 1]};
    }
    ByteSpan data_;
    size_t offset_ = 0;
    size_t index_ = 0;
  };
  class Records {
   public:
    Iterator begin() const { return Iterator(data_, kMldV2ReportMinSize, 0); }
    Iterator end() const { return Iterator(data_, 0, LoadBe16(data_, 6)); }

   private:
    friend class MldV2ReportView;
    explicit Records(ByteSpan data) : data_(data) {}
    ByteSpan data_;
  };
  Records records() const { return Records(data_); }

 private:
  explicit MldV2ReportView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// --- Write side --- (checksums as in icmp6_nd.h: pseudo-header sum for size() bytes)

struct MldQueryMessage {
  Ip6Address multicast_address;  // :: for a general query
  // Raw Maximum Response Code (MLDv2) or delay in ms (MLDv1); see MldEncodeMaxRespCode.
  uint16_t max_resp_code = 10000;
  bool v1 = false;  // 24-byte MLDv1 form
  bool suppress_router_processing = false;
  uint8_t qrv = 2;
  uint8_t qqic = 125;
  std::span<const Ip6Address> sources;

  size_t size() const;
  void Emit(MutableByteSpan out, uint32_t pseudo_sum) const;
};

struct MldRecord {
  MldRecordType type = MldRecordType::kChangeToExclude;
  Ip6Address multicast_address;
  std::span<const Ip6Address> sources;
};

struct MldV2ReportMessage {
  std::span<const MldRecord> records;

  size_t size() const;
  void Emit(MutableByteSpan out, uint32_t pseudo_sum) const;
};

struct MldV1Message {
  bool done = false;  // Done (132) instead of Report (131)
  Ip6Address multicast_address;

  static constexpr size_t size() { return kMldV1Size; }
  void Emit(MutableByteSpan out, uint32_t pseudo_sum) const;
};

namespace icmp6_internal {
// Validation of MLD messages for Icmp6View::Parse: integrity errors, then sanity errors.
std::optional<Icmp6ParseError> CheckMld(ByteSpan message);
}  // namespace icmp6_internal

}  // namespace pytcp
