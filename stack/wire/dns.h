// DNS messages (the UDP payload on port 53): header, questions, resource records, names
// with compression; a query emitter and a small message writer.
//
// To read: RFC 1035 §4.1 (message format: §4.1.1 header, §4.1.2 question, §4.1.3 resource
// record, §4.1.4 compression), §3.1 and §2.3.4 (names: labels up to 63 bytes, names up to
// 255 bytes), §3.4.1 (A), §3.3.12 (PTR), RFC 3596 §2 (AAAA), RFC 6891 §5 (the 0x40
// extended label type is deprecated: rejected) and §6.1 (the OPT pseudo-record a query
// carries to say it takes EDNS(0)), RFC 4343 (names compare case-insensitively), RFC 1034
// §3.6.2 (CNAME).
//
// Compression pointers are only followed backwards: each jump must land before the start of
// the label sequence it was read from, so jumps strictly decrease and a loop is impossible;
// the number of jumps is bounded as well. Real servers only point backwards (a name can only
// point at a name written before it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "stack/base/bytes.h"
#include "stack/base/forward_iterator.h"
#include "stack/base/named_enum.h"
#include "stack/base/result.h"
#include "stack/net/ip4_address.h"
#include "stack/net/ip6_address.h"

namespace pytcp {

// Wire enums: any value may appear.
enum class DnsType : uint16_t {
  kA = 1,
  kNs = 2,
  kCname = 5,
  kSoa = 6,
  kPtr = 12,
  kMx = 15,
  kTxt = 16,
  kAaaa = 28,
  kSrv = 33,
  kOpt = 41,
  kAny = 255,
};
enum class DnsClass : uint16_t { kIn = 1, kCh = 3, kAny = 255 };
enum class DnsOpcode : uint8_t { kQuery = 0, kIQuery = 1, kStatus = 2, kNotify = 4, kUpdate = 5 };
enum class DnsRcode : uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};

PYTCP_NAMED_ENUM(DnsParseError, uint8_t,
  // Integrity: is the message safe to read?
  kTooShort,           // fewer than the 12-byte header
  kTruncatedName,      // a name's labels or pointer run past the message
  kBadLabelType,       // a length byte with top bits 01 or 10 (RFC 1035 §4.1.4, RFC 6891)
  kForwardPointer,     // a compression pointer not pointing before its label sequence
  kTooManyPointers,    // more compression jumps than a 255-byte name can need
  kNameTooLong,        // a name longer than 255 bytes in wire form (RFC 1035 §2.3.4)
  kTruncatedQuestion,  // QDCOUNT promises more questions than the message holds
  kTruncatedRecord,    // AN/NS/ARCOUNT promise more records (or RDATA) than it holds
  // Sanity: does it follow the RFC rules?
  kBadRdataLength,  // an IN A record not 4 bytes, IN AAAA not 16, a CNAME or PTR whose
                    // name does not fill its RDATA exactly
);
constexpr bool IsIntegrityError(DnsParseError e) { return e < DnsParseError::kBadRdataLength; }

inline constexpr size_t kDnsHeaderSize = 12;
inline constexpr size_t kDnsMaxNameSize = 255;      // wire form, RFC 1035 §2.3.4
inline constexpr size_t kDnsMaxLabelSize = 63;      // RFC 1035 §2.3.4
inline constexpr size_t kDnsMaxNameTextSize = 253;  // dotted form, no trailing dot
inline constexpr uint16_t kDnsPort = 53;
// RFC 1035 §4.2.1: UDP messages are at most 512 bytes without EDNS.
inline constexpr size_t kDnsMaxUdpSize = 512;

// A validated (possibly compressed) name inside a message.
class DnsNameView {
 public:
  // The labels in order, pointers followed.
  class Iterator : public ForwardIteratorBase<Iterator, std::string_view> {
   public:
    using ForwardIteratorBase::operator++;
    Iterator() = default;
    std::string_view operator*() const {
      return std::string_view(reinterpret_cast<const char*>(msg_.data()) + pos_ + 1, msg_[pos_]);
    }
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return pos_ == o.pos_; }

   private:
    friend class DnsNameView;
    Iterator(ByteSpan msg, size_t pos);
    void Follow();
    ByteSpan msg_;
    size_t pos_ = 0;  // at a label length byte; kEnd at the root label
  };
  static constexpr size_t kEnd = ~size_t{0};

  Iterator begin() const { return Iterator(msg_, offset_); }
  Iterator end() const { return Iterator(msg_, kEnd); }

  // Dotted text without the trailing dot ("" for the root). Label bytes are copied as they
  // are (no escaping).
  std::string ToString() const;
  // The same into a caller buffer of at least kDnsMaxNameTextSize bytes; returns the length.
  size_t FormatTo(char* out) const;
  // RFC 4343: ASCII case-insensitive comparison with dotted text; a trailing dot on `dotted`
  // is ignored.
  bool Equals(std::string_view dotted) const;
  // Offset of the name in the message.
  size_t offset() const { return offset_; }

 private:
  friend class DnsView;
  friend class DnsQuestionView;
  friend class DnsRecordView;
  DnsNameView(ByteSpan msg, size_t offset) : msg_(msg), offset_(offset) {}
  ByteSpan msg_;
  size_t offset_;
};

class DnsQuestionView {
 public:
  DnsNameView name() const { return DnsNameView(msg_, offset_); }
  DnsType type() const { return static_cast<DnsType>(LoadBe16(msg_, fixed_)); }
  DnsClass klass() const { return static_cast<DnsClass>(LoadBe16(msg_, fixed_ + 2)); }

 private:
  friend class DnsSection;
  DnsQuestionView(ByteSpan msg, size_t offset, size_t fixed)
      : msg_(msg), offset_(offset), fixed_(fixed) {}
  ByteSpan msg_;
  size_t offset_;
  size_t fixed_;  // offset of TYPE
};

class DnsRecordView {
 public:
  DnsNameView name() const { return DnsNameView(msg_, offset_); }
  DnsType type() const { return static_cast<DnsType>(LoadBe16(msg_, fixed_)); }
  DnsClass klass() const { return static_cast<DnsClass>(LoadBe16(msg_, fixed_ + 2)); }
  uint32_t ttl() const { return LoadBe32(msg_, fixed_ + 4); }
  ByteSpan rdata() const { return msg_.subspan(fixed_ + 10, LoadBe16(msg_, fixed_ + 8)); }
  // Typed RDATA: set only for a record of that type (and class IN for A/AAAA).
  std::optional<Ip4Address> a() const;
  std::optional<Ip6Address> aaaa() const;
  std::optional<DnsNameView> cname() const;
  std::optional<DnsNameView> ptr() const;  // RFC 1035 §3.3.12: the RDATA is one name

 private:
  friend class DnsSection;
  DnsRecordView(ByteSpan msg, size_t offset, size_t fixed)
      : msg_(msg), offset_(offset), fixed_(fixed) {}
  ByteSpan msg_;
  size_t offset_;
  size_t fixed_;  // offset of TYPE
};

// The questions or one record section of a validated message.
class DnsSection {
 public:
  template <typename T>
  class Iterator : public ForwardIteratorBase<Iterator<T>, T> {
   public:
    using ForwardIteratorBase<Iterator<T>, T>::operator++;
    Iterator() = default;
    T operator*() const { return T(msg_, offset_, SkipName(msg_, offset_)); }
    Iterator& operator++() {
      offset_ = Next(msg_, offset_, question_);
      ++index_;
      return *this;
    }
    bool operator==(const Iterator& o) const { return index_ == o.index_; }

   private:
    friend class DnsQuestions;
    friend class DnsRecords;
    Iterator(ByteSpan msg, size_t offset, size_t index, bool question)
        : msg_(msg), offset_(offset), index_(index), question_(question) {}
    ByteSpan msg_;
    size_t offset_ = 0;
    size_t index_ = 0;
    bool question_ = false;
  };

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

 protected:
  DnsSection(ByteSpan msg, size_t offset, size_t count, bool question)
      : msg_(msg), offset_(offset), count_(count), question_(question) {}
  // Offset just after the in-place part of the (validated) name at `offset`.
  static size_t SkipName(ByteSpan msg, size_t offset);
  // Offset of the entry after the one at `offset`.
  static size_t Next(ByteSpan msg, size_t offset, bool question);
  ByteSpan msg_;
  size_t offset_;
  size_t count_;
  bool question_;
};

class DnsQuestions : public DnsSection {
 public:
  Iterator<DnsQuestionView> begin() const { return {msg_, offset_, 0, true}; }
  Iterator<DnsQuestionView> end() const { return {msg_, offset_, count_, true}; }

 private:
  friend class DnsView;
  DnsQuestions(ByteSpan msg, size_t offset, size_t count) : DnsSection(msg, offset, count, true) {}
};

class DnsRecords : public DnsSection {
 public:
  Iterator<DnsRecordView> begin() const { return {msg_, offset_, 0, false}; }
  Iterator<DnsRecordView> end() const { return {msg_, offset_, count_, false}; }

 private:
  friend class DnsView;
  DnsRecords(ByteSpan msg, size_t offset, size_t count) : DnsSection(msg, offset, count, false) {}
};

class DnsView {
 public:
  // `data` is the UDP payload. Every question and record the counts announce is walked and
  // its names decoded; bytes after the last record are ignored.
  static Result<DnsView, DnsParseError> Parse(ByteSpan data);

  uint16_t id() const { return LoadBe16(data_, 0); }
  uint16_t flags() const { return LoadBe16(data_, 2); }
  bool is_response() const { return (data_[2] & 0x80) != 0; }  // QR
  DnsOpcode opcode() const { return static_cast<DnsOpcode>((data_[2] >> 3) & 0x0f); }
  bool authoritative() const { return (data_[2] & 0x04) != 0; }        // AA
  bool truncated() const { return (data_[2] & 0x02) != 0; }            // TC
  bool recursion_desired() const { return (data_[2] & 0x01) != 0; }    // RD
  bool recursion_available() const { return (data_[3] & 0x80) != 0; }  // RA
  DnsRcode rcode() const { return static_cast<DnsRcode>(data_[3] & 0x0f); }
  uint16_t question_count() const { return LoadBe16(data_, 4); }
  uint16_t answer_count() const { return LoadBe16(data_, 6); }
  uint16_t authority_count() const { return LoadBe16(data_, 8); }
  uint16_t additional_count() const { return LoadBe16(data_, 10); }

  DnsQuestions questions() const { return DnsQuestions(data_, kDnsHeaderSize, question_count()); }
  DnsRecords answers() const { return DnsRecords(data_, answers_, answer_count()); }
  DnsRecords authorities() const { return DnsRecords(data_, authorities_, authority_count()); }
  DnsRecords additionals() const { return DnsRecords(data_, additionals_, additional_count()); }

  ByteSpan message() const { return data_; }

 private:
  explicit DnsView(ByteSpan data) : data_(data) {}
  ByteSpan data_;
  size_t answers_ = kDnsHeaderSize;
  size_t authorities_ = kDnsHeaderSize;
  size_t additionals_ = kDnsHeaderSize;
};

// --- Write side ---

PYTCP_NAMED_ENUM(DnsNameError, uint8_t,
  kEmpty,           // "" or "."
  kEmptyLabel,      // "a..b", ".a"
  kLabelTooLong,    // a label over 63 bytes
  kNameTooLong,     // over 255 bytes in wire form
  kBufferTooSmall,  // the output buffer cannot hold it
);

// Encodes dotted text (one optional trailing dot) as RFC 1035 §3.1 labels, uncompressed.
// Returns the number of bytes written.
Result<size_t, DnsNameError> DnsEncodeName(std::string_view name, MutableByteSpan out);

struct DnsHeader {
  uint16_t id = 0;
  bool response = false;
  DnsOpcode opcode = DnsOpcode::kQuery;
  bool authoritative = false;
  bool truncated = false;
  bool recursion_desired = true;
  bool recursion_available = false;
  DnsRcode rcode = DnsRcode::kNoError;
  uint16_t question_count = 0;
  uint16_t answer_count = 0;
  uint16_t authority_count = 0;
  uint16_t additional_count = 0;

  static constexpr size_t size() { return kDnsHeaderSize; }
  void Emit(MutableByteSpan out) const;
};

// A standard query (RFC 1035 §4.1.1: opcode QUERY, RD set) for one name.
struct DnsQuery {
  uint16_t id = 0;
  std::string_view name;
  DnsType type = DnsType::kA;
  bool recursion_desired = true;
  // RFC 6891 §6.1.2: when not 0, an OPT record in the additional section announces EDNS(0)
  // and the largest UDP answer we take (glibc's "options edns0" says 1200).
  uint16_t edns_udp_size = 0;

  static constexpr size_t kOptRecordSize = 11;  // root name, TYPE, CLASS, TTL, RDLENGTH 0
  static constexpr size_t kMaxSize = kDnsHeaderSize + kDnsMaxNameSize + 4 + kOptRecordSize;
  // Writes the query and returns its size, or why the name cannot be encoded.
  Result<size_t, DnsNameError> Emit(MutableByteSpan out) const;
};

// Builds a message section by section (questions, then answers, authorities, additionals;
// no compression). The header counts are filled in by Finish. For tests of the resolver and
// for answering queries.
class DnsMessageWriter {
 public:
  enum class Section : uint8_t { kQuestion, kAnswer, kAuthority, kAdditional };

  DnsMessageWriter(MutableByteSpan out, const DnsHeader& header);

  std::optional<DnsNameError> AddQuestion(std::string_view name, DnsType type,
                                          DnsClass klass = DnsClass::kIn);
  // Records go to `section`, which may not go back to an earlier one.
  std::optional<DnsNameError> AddRecord(Section section, std::string_view name, DnsType type,
                                        DnsClass klass, uint32_t ttl, ByteSpan rdata);
  std::optional<DnsNameError> AddA(Section section, std::string_view name, uint32_t ttl,
                                   Ip4Address a);
  std::optional<DnsNameError> AddAaaa(Section section, std::string_view name, uint32_t ttl,
                                      const Ip6Address& a);
  std::optional<DnsNameError> AddCname(Section section, std::string_view name, uint32_t ttl,
                                       std::string_view target);
  std::optional<DnsNameError> AddPtr(Section section, std::string_view name, uint32_t ttl,
                                     std::string_view target);
  // Writes the header with the counts; returns the message size.
  size_t Finish();

 private:
  std::optional<DnsNameError> StartEntry(Section section, std::string_view name);
  // A record whose RDATA is one name, uncompressed (CNAME, PTR).
  std::optional<DnsNameError> AddNameRecord(Section section, std::string_view name,
                                            DnsType type, uint32_t ttl, std::string_view target);
  MutableByteSpan out_;
  DnsHeader header_;
  size_t pos_ = kDnsHeaderSize;
  Section section_ = Section::kQuestion;
};

}  // namespace pytcp
