#include "stack/wire/dns.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace pytcp {

namespace {

constexpr size_t kQuestionFixedSize = 4;  // TYPE, CLASS
constexpr size_t kRecordFixedSize = 10;   // TYPE, CLASS, TTL, RDLENGTH
// A 255-byte name has at most 127 labels; no valid name needs more jumps than labels.
constexpr int kMaxJumps = 127;

bool IsPointer(uint8_t b) { return (b & 0xc0) == 0xc0; }

// Validates the name at `off` and returns the offset just after its in-place part.
Result<size_t, DnsParseError> CheckName(ByteSpan msg, size_t off) {
  size_t pos = off;
  size_t segment = off;  // where the current run of labels started
  size_t end = 0;        // set at the first pointer (or the root label)
  bool jumped = false;
  size_t total = 0;
  int jumps = 0;
  for (;;) {
    if (pos >= msg.size()) return Err{DnsParseError::kTruncatedName};
    const uint8_t b = msg[pos];
    if (IsPointer(b)) {
      // RFC 1035 §4.1.4: a two-byte pointer to an earlier occurrence of the name's tail.
      if (msg.size() - pos < 2) return Err{DnsParseError::kTruncatedName};
      const size_t target = size_t{LoadBe16(msg, pos)} & 0x3fff;
      // Only backwards, before the labels just read: jump targets then strictly decrease
      // and the walk ends (the "prior occurrence" of RFC 1035 §4.1.4).
      if (target >= segment) return Err{DnsParseError::kForwardPointer};
      if (++jumps > kMaxJumps) return Err{DnsParseError::kTooManyPointers};
      if (!jumped) end = pos + 2;
      jumped = true;
      pos = segment = target;
      continue;
    }
    // RFC 1035 §4.1.4: 01 and 10 are reserved label types (RFC 6891 §5 retired 01).
    if ((b & 0xc0) != 0) return Err{DnsParseError::kBadLabelType};
    // RFC 1035 §2.3.4: 255 bytes in wire form, counting length bytes and the root label.
    total += 1 + size_t{b};
    if (total > kDnsMaxNameSize) return Err{DnsParseError::kNameTooLong};
    if (b == 0) return jumped ? end : pos + 1;
    if (msg.size() - pos - 1 < b) return Err{DnsParseError::kTruncatedName};
    pos += 1 + size_t{b};
  }
}

}  // namespace

Result<DnsView, DnsParseError> DnsView::Parse(ByteSpan data) {
  if (data.size() < kDnsHeaderSize) return Err{DnsParseError::kTooShort};
  DnsView view(data);
  std::optional<DnsParseError> sanity;

  size_t off = kDnsHeaderSize;
  // RFC 1035 §4.1.2: QDCOUNT entries of name, type, class.
  for (size_t i = 0; i < view.question_count(); ++i) {
    auto end = CheckName(data, off);
    if (!end.ok()) return Err{end.error()};
    off = *end;
    if (data.size() - off < kQuestionFixedSize) return Err{DnsParseError::kTruncatedQuestion};
    off += kQuestionFixedSize;
  }
  // RFC 1035 §4.1.3: the three record sections, each COUNT records of name, type, class,
  // TTL, RDLENGTH and RDLENGTH bytes of RDATA.
  size_t* starts[3] = {&view.answers_, &view.authorities_, &view.additionals_};
  const size_t counts[3] = {view.answer_count(), view.authority_count(), view.additional_count()};
  for (size_t s = 0; s < 3; ++s) {
    *starts[s] = off;
    for (size_t i = 0; i < counts[s]; ++i) {
      auto end = CheckName(data, off);
      if (!end.ok()) return Err{end.error()};
      off = *end;
      if (data.size() - off < kRecordFixedSize) return Err{DnsParseError::kTruncatedRecord};
      const auto type = static_cast<DnsType>(LoadBe16(data, off));
      const auto klass = static_cast<DnsClass>(LoadBe16(data, off + 2));
      const size_t rdlength = LoadBe16(data, off + 8);
      const size_t rdata = off + kRecordFixedSize;
      if (data.size() - rdata < rdlength) return Err{DnsParseError::kTruncatedRecord};
      off = rdata + rdlength;
      if (type == DnsType::kCname || type == DnsType::kPtr) {
        // RFC 1035 §3.3.1 and §3.3.12: the RDATA is exactly one name. Checked within the message up
        // to the RDATA's end (pointers only go backwards, so this loses nothing).
        auto name_end = CheckName(data.first(off), rdata);
        if (!name_end.ok() && name_end.error() != DnsParseError::kTruncatedName) {
          return Err{name_end.error()};
        }
        if ((!name_end.ok() || *name_end != off) && !sanity) {
          sanity = DnsParseError::kBadRdataLength;
        }
      } else if (klass == DnsClass::kIn && !sanity &&
                 ((type == DnsType::kA && rdlength != 4) ||
                  (type == DnsType::kAaaa && rdlength != 16))) {
        // RFC 1035 §3.4.1 (A: 32 bits), RFC 3596 §2.2 (AAAA: 16 octets).
        sanity = DnsParseError::kBadRdataLength;
      }
    }
  }
  if (sanity) return Err{*sanity};
  return view;
}

// --- Names ---

DnsNameView::Iterator::Iterator(ByteSpan msg, size_t pos) : msg_(msg), pos_(pos) { Follow(); }

void DnsNameView::Iterator::Follow() {
  if (pos_ == kEnd) return;
  while (IsPointer(msg_[pos_])) pos_ = size_t{LoadBe16(msg_, pos_)} & 0x3fff;
  if (msg_[pos_] == 0) pos_ = kEnd;
}

DnsNameView::Iterator& DnsNameView::Iterator::operator++() {
  pos_ += 1 + size_t{msg_[pos_]};
  Follow();
  return *this;
}

size_t DnsNameView::FormatTo(char* out) const {
  size_t n = 0;
  for (const std::string_view label : *this) {
    if (n != 0) out[n++] = '.';
    std::memcpy(out + n, label.data(), label.size());
    n += label.size();
  }
  return n;
}

std::string DnsNameView::ToString() const {
  char buf[kDnsMaxNameTextSize];
  return std::string(buf, FormatTo(buf));
}

namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

}  // namespace

bool DnsNameView::Equals(std::string_view dotted) const {
  if (!dotted.empty() && dotted.back() == '.') dotted.remove_suffix(1);
  bool first = true;
  for (const std::string_view label : *this) {
    if (!first) {
      if (dotted.empty() || dotted.front() != '.') return false;
      dotted.remove_prefix(1);
    }
    first = false;
    if (dotted.size() < label.size() || !EqualsIgnoreCase(label, dotted.substr(0, label.size()))) {
      return false;
    }
    dotted.remove_prefix(label.size());
  }
  return dotted.empty();
}

// --- Sections ---

size_t DnsSection::SkipName(ByteSpan msg, size_t offset) {
  for (;;) {
    const uint8_t b = msg[offset];
    if (b == 0) return offset + 1;
    if (IsPointer(b)) return offset + 2;
    offset += 1 + size_t{b};
  }
}

size_t DnsSection::Next(ByteSpan msg, size_t offset, bool question) {
  const size_t fixed = SkipName(msg, offset);
  if (question) return fixed + kQuestionFixedSize;
  return fixed + kRecordFixedSize + LoadBe16(msg, fixed + 8);
}

std::optional<Ip4Address> DnsRecordView::a() const {
  if (type() != DnsType::kA || klass() != DnsClass::kIn) return std::nullopt;
  return Ip4Address::FromBytes(rdata().data());
}

std::optional<Ip6Address> DnsRecordView::aaaa() const {
  if (type() != DnsType::kAaaa || klass() != DnsClass::kIn) return std::nullopt;
  return Ip6Address::FromBytes(rdata().data());
}

std::optional<DnsNameView> DnsRecordView::cname() const {
  if (type() != DnsType::kCname) return std::nullopt;
  return DnsNameView(msg_, fixed_ + kRecordFixedSize);
}

std::optional<DnsNameView> DnsRecordView::ptr() const {
  if (type() != DnsType::kPtr) return std::nullopt;
  return DnsNameView(msg_, fixed_ + kRecordFixedSize);
}

// --- Write side ---

Result<size_t, DnsNameError> DnsEncodeName(std::string_view name, MutableByteSpan out) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return Err{DnsNameError::kEmpty};
  // Validate everything before writing anything.
  size_t total = 1;  // the root label
  for (std::string_view rest = name;;) {
    const size_t dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty()) return Err{DnsNameError::kEmptyLabel};
    if (label.size() > kDnsMaxLabelSize) return Err{DnsNameError::kLabelTooLong};
    total += 1 + label.size();
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (total > kDnsMaxNameSize) return Err{DnsNameError::kNameTooLong};
  if (out.size() < total) return Err{DnsNameError::kBufferTooSmall};
  size_t pos = 0;
  for (std::string_view rest = name;;) {
    const size_t dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    out[pos++] = static_cast<uint8_t>(label.size());
    std::memcpy(out.data() + pos, label.data(), label.size());
    pos += label.size();
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  out[pos++] = 0;
  return pos;
}

void DnsHeader::Emit(MutableByteSpan out) const {
  assert(out.size() >= kDnsHeaderSize);
  uint8_t* p = out.data();
  StoreBe16(p, id);
  p[2] = static_cast<uint8_t>((response ? 0x80 : 0) | ((static_cast<uint8_t>(opcode) & 0x0f) << 3) |
                              (authoritative ? 0x04 : 0) | (truncated ? 0x02 : 0) |
                              (recursion_desired ? 0x01 : 0));
  p[3] =
      static_cast<uint8_t>((recursion_available ? 0x80 : 0) | (static_cast<uint8_t>(rcode) & 0x0f));
  StoreBe16(p + 4, question_count);
  StoreBe16(p + 6, answer_count);
  StoreBe16(p + 8, authority_count);
  StoreBe16(p + 10, additional_count);
}

Result<size_t, DnsNameError> DnsQuery::Emit(MutableByteSpan out) const {
  if (out.size() < kDnsHeaderSize) return Err{DnsNameError::kBufferTooSmall};
  auto n = DnsEncodeName(name, out.subspan(kDnsHeaderSize));
  if (!n.ok()) return Err{n.error()};
  const size_t fixed = kDnsHeaderSize + *n;
  DnsHeader h;
  h.id = id;
  h.recursion_desired = recursion_desired;
  h.question_count = 1;
  h.additional_count = edns_udp_size != 0 ? 1 : 0;
  const size_t need = kQuestionFixedSize + (edns_udp_size != 0 ? kOptRecordSize : 0);
  if (out.size() - fixed < need) return Err{DnsNameError::kBufferTooSmall};
  h.Emit(out);
  StoreBe16(out.data() + fixed, static_cast<uint16_t>(type));
  StoreBe16(out.data() + fixed + 2, static_cast<uint16_t>(DnsClass::kIn));
  if (edns_udp_size != 0) {
    // RFC 6891 §6.1.2-§6.1.3: owner the root, TYPE OPT, CLASS the UDP payload size, TTL
    // extended RCODE 0, VERSION 0 and flags 0 (no DO bit), no options.
    uint8_t* opt = out.data() + fixed + kQuestionFixedSize;
    opt[0] = 0;
    StoreBe16(opt + 1, static_cast<uint16_t>(DnsType::kOpt));
    StoreBe16(opt + 3, edns_udp_size);
    StoreBe32(opt + 5, 0);
    StoreBe16(opt + 9, 0);
  }
  return fixed + need;
}

DnsMessageWriter::DnsMessageWriter(MutableByteSpan out, const DnsHeader& header)
    : out_(out), header_(header) {
  assert(out.size() >= kDnsHeaderSize);
  header_.question_count = header_.answer_count = 0;
  header_.authority_count = header_.additional_count = 0;
}

std::optional<DnsNameError> DnsMessageWriter::StartEntry(Section section, std::string_view name) {
  assert(section >= section_);
  section_ = section;
  auto n = DnsEncodeName(name, out_.subspan(pos_));
  if (!n.ok()) return n.error();
  pos_ += *n;
  return std::nullopt;
}

std::optional<DnsNameError> DnsMessageWriter::AddQuestion(std::string_view name, DnsType type,
                                                          DnsClass klass) {
  const size_t start = pos_;
  if (auto e = StartEntry(Section::kQuestion, name)) return e;
  if (out_.size() - pos_ < kQuestionFixedSize) {
    pos_ = start;
    return DnsNameError::kBufferTooSmall;
  }
  StoreBe16(out_.data() + pos_, static_cast<uint16_t>(type));
  StoreBe16(out_.data() + pos_ + 2, static_cast<uint16_t>(klass));
  pos_ += kQuestionFixedSize;
  ++header_.question_count;
  return std::nullopt;
}

std::optional<DnsNameError> DnsMessageWriter::AddRecord(Section section, std::string_view name,
                                                        DnsType type, DnsClass klass, uint32_t ttl,
                                                        ByteSpan rdata) {
  assert(section != Section::kQuestion);
  assert(rdata.size() <= 0xffff);
  const size_t start = pos_;
  if (auto e = StartEntry(section, name)) return e;
  if (out_.size() - pos_ < kRecordFixedSize + rdata.size()) {
    pos_ = start;
    return DnsNameError::kBufferTooSmall;
  }
  uint8_t* p = out_.data() + pos_;
  StoreBe16(p, static_cast<uint16_t>(type));
  StoreBe16(p + 2, static_cast<uint16_t>(klass));
  StoreBe32(p + 4, ttl);
  StoreBe16(p + 8, static_cast<uint16_t>(rdata.size()));
  std::memcpy(p + kRecordFixedSize, rdata.data(), rdata.size());
  pos_ += kRecordFixedSize + rdata.size();
  switch (section) {
    case Section::kAnswer:
      ++header_.answer_count;
      break;
    case Section::kAuthority:
      ++header_.authority_count;
      break;
    default:
      ++header_.additional_count;
      break;
  }
  return std::nullopt;
}

std::optional<DnsNameError> DnsMessageWriter::AddA(Section section, std::string_view name,
                                                   uint32_t ttl, Ip4Address a) {
  const auto b = a.bytes();
  return AddRecord(section, name, DnsType::kA, DnsClass::kIn, ttl, b);
}

std::optional<DnsNameError> DnsMessageWriter::AddAaaa(Section section, std::string_view name,
                                                      uint32_t ttl, const Ip6Address& a) {
  return AddRecord(section, name, DnsType::kAaaa, DnsClass::kIn, ttl, a.bytes());
}

std::optional<DnsNameError> DnsMessageWriter::AddCname(Section section, std::string_view name,
                                                       uint32_t ttl, std::string_view target) {
  return AddNameRecord(section, name, DnsType::kCname, ttl, target);
}

std::optional<DnsNameError> DnsMessageWriter::AddPtr(Section section, std::string_view name,
                                                     uint32_t ttl, std::string_view target) {
  return AddNameRecord(section, name, DnsType::kPtr, ttl, target);
}

std::optional<DnsNameError> DnsMessageWriter::AddNameRecord(Section section,
                                                            std::string_view name, DnsType type,
                                                            uint32_t ttl,
                                                            std::string_view target) {
  uint8_t encoded[kDnsMaxNameSize];
  auto n = DnsEncodeName(target, encoded);
  if (!n.ok()) return n.error();
  return AddRecord(section, name, type, DnsClass::kIn, ttl, ByteSpan(encoded, *n));
}

size_t DnsMessageWriter::Finish() {
  header_.Emit(out_);
  return pos_;
}

}  // namespace pytcp
