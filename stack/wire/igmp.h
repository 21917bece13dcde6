// IGMP messages: the IGMPv3 membership query and report (RFC 3376 §4), and the IGMPv1 and
// IGMPv2 messages a host still meets on links with older routers (RFC 1112 Appendix I,
// RFC 2236 §2).
//
// To read: RFC 3376 §4.1 (query: §4.1.1 Max Resp Code and §4.1.7 QQIC with an exponential
// form, §4.1.8 the source list), §4.2 (report and group records), §7.1 (a query's length
// and Max Resp Code say its version: 8 bytes with code 0 is IGMPv1, 8 bytes otherwise
// IGMPv2, 12 or more IGMPv3, anything else is ignored); RFC 2236 §2 (the 8-byte layout).
// The checksum covers the whole IGMP message (RFC 3376 §4.1.2, §4.2.2).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/net/ip4_address.h"
#include "stack/wire/igmp_mld_common.h"

namespace pytcp {

// Wire enum: unknown types are parsed and ignored by the engine (RFC 3376 §4).
enum class IgmpType : uint8_t {
  kQuery = 0x11,
  kV1Report = 0x12,
  kV2Report = 0x16,
  kV2Leave = 0x17,
  kV3Report = 0x22,
};

// RFC 3376 §4.2.12.
using IgmpRecordType = GroupRecordType;

inline constexpr size_t kIgmpV2Size = 8;          // every IGMPv1/v2 message, and the common header
inline constexpr size_t kIgmpV3QueryMinSize = 12;
inline constexpr size_t kIgmpV3ReportMinSize = 8;
inline constexpr size_t kIgmpRecordMinSize = 8;

PYTCP_NAMED_ENUM(IgmpParseError, uint8_t,
  // Integrity.
  kTooShort,          // fewer than 8 bytes
  kBadChecksum,
  kSourcesOverrun,    // a query's Number of Sources runs past the message
  kRecordsOverrun,    // a report's records run past the message
  // Sanity.
  kBadQueryLength,    // a query of 9 to 11 bytes (RFC 3376 §7.1: ignored)
);
constexpr bool IsIntegrityError(IgmpParseError e) { return e < IgmpParseError::kBadQueryLength; }

// RFC 3376 §4.1.1: Max Resp Code -> Max Resp Time in tenths of a second.
constexpr uint32_t IgmpDecodeMaxRespCode(uint8_t code) { return DecodeFloatCode<4>(code); }
// The inverse, rounding down to a representable value.
constexpr uint8_t IgmpEncodeMaxRespCode(uint32_t tenths) {
  return static_cast<uint8_t>(EncodeFloatCode<4>(tenths));
}
// RFC 3376 §4.1.7: QQIC has the same form, in seconds.
constexpr uint32_t IgmpDecodeQqic(uint8_t qqic) { return IgmpDecodeMaxRespCode(qqic); }

// A checked IGMP message. Parse verifies the length the type needs, the counts against the
// length and the checksum, so no accessor reads past the buffer.
class IgmpView {
 public:
  static Result<IgmpView, IgmpParseError> Parse(ByteSpan message);

  IgmpType type() const { return static_cast<IgmpType>(data_[0]); }
  uint8_t max_resp_code() const { return data_[1]; }
  // The group field (0.0.0.0 in a general query, and in an IGMPv3 report's header).
  Ip4Address group() const { return Ip4Address(LoadBe32(data_, 4)); }
  ByteSpan bytes() const { return data_; }

  // Queries (RFC 3376 §7.1).
  bool is_v3_query() const { return type() == IgmpType::kQuery && data_.size() >= kIgmpV3QueryMinSize; }
  bool is_v1_query() const { return type() == IgmpType::kQuery && data_.size() == kIgmpV2Size && data_[1] == 0; }
  bool is_v2_query() const { return type() == IgmpType::kQuery && data_.size() == kIgmpV2Size && data_[1] != 0; }
  // Max Resp Time in tenths of a second: IGMPv3's coded form, IGMPv2's plain value, and
  // for IGMPv1 (no field) RFC 2236 §4's 10 seconds.
  uint32_t max_resp_tenths() const {
    if (is_v1_query()) return 100;
    return is_v3_query() ? IgmpDecodeMaxRespCode(max_resp_code()) : max_resp_code();
  }
  bool suppress_router_processing() const { return is_v3_query() && (data_[8] & 0x08) != 0; }
  uint8_t qrv() const { return is_v3_query() ? (data_[8] & 0x07) : 0; }
  uint8_t qqic() const { return is_v3_query() ? data_[9] : 0; }
  uint16_t source_count() const { return is_v3_query() ? LoadBe16(data_, 10) : 0; }
  Ip4Address source(size_t i) const {
    assert(i < source_count());
    return Ip4Address(LoadBe32(data_, kIgmpV3QueryMinSize + 4 * i));
  }

  // IGMPv3 reports (RFC 3376 §4.2): records, each checked by Parse.
  uint16_t record_count() const { return type() == IgmpType::kV3Report ? LoadBe16(data_, 6) : 0; }
  struct Record {
    IgmpRecordType type;
    Ip4Address group;
    ByteSpan sources;  // 4 bytes each
    size_t source_count() const { return sources.size() / 4; }
    Ip4Address source(size_t i) const { return Ip4Address(LoadBe32(sources, 4 * i)); }
  };
  // The record at byte offset `*offset` (start with kIgmpV3ReportMinSize); advances it.
  Record RecordAt(size_t* offset) const;

 private:
  explicit IgmpView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
};

// --- Write side ---

struct IgmpRecord {
  IgmpRecordType type = IgmpRecordType::kChangeToExclude;
  Ip4Address group;
  std::span<const Ip4Address> sources;
  size_t size() const { return kIgmpRecordMinSize + 4 * sources.size(); }
};

// An IGMPv3 Membership Report (RFC 3376 §4.2) with its checksum.
struct IgmpV3ReportMessage {
  std::span<const IgmpRecord> records;
  size_t size() const;
  void Emit(MutableByteSpan out) const;
};

// An IGMPv3 query (RFC 3376 §4.1); for tests and tools (a host sends none).
struct IgmpV3QueryMessage {
  Ip4Address group;  // 0.0.0.0: general query
  uint8_t max_resp_code = 100;
  bool suppress_router_processing = false;
  uint8_t qrv = 2;
  uint8_t qqic = 125;
  std::span<const Ip4Address> sources;
  size_t size() const { return kIgmpV3QueryMinSize + 4 * sources.size(); }
  void Emit(MutableByteSpan out) const;
};

// The 8-byte IGMPv1/v2 messages (a query with max_resp_code 0 is IGMPv1's).
struct IgmpV2Message {
  IgmpType type = IgmpType::kV2Report;
  uint8_t max_resp_code = 0;
  Ip4Address group;
  static constexpr size_t size() { return kIgmpV2Size; }
  void Emit(MutableByteSpan out) const;
};

}  // namespace pytcp
