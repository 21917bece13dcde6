// libFuzzer target: arbitrary bytes as a DNS message (UDP payload); on success every
// question and record is walked, every name decoded. The same bytes are also tried as a name
// in text form: when DnsEncodeName accepts it, the query built from it must parse back to
// the same name.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "stack/wire/dns.h"

using namespace pytcp;  // NOLINT

namespace {

volatile uint64_t sink = 0;

void ReadName(const DnsNameView& n) {
  char text[kDnsMaxNameTextSize];
  const size_t len = n.FormatTo(text);
  if (len > kDnsMaxNameTextSize) __builtin_trap();
  // Equals agrees with the text form when no label holds a dot.
  bool dotted_label = false;
  for (std::string_view label : n) {
    sink = sink + label.size();
    if (label.empty() || label.size() > kDnsMaxLabelSize) __builtin_trap();
    dotted_label |= label.find('.') != std::string_view::npos;
  }
  if (!dotted_label && !n.Equals(std::string_view(text, len))) __builtin_trap();
  sink = sink + len + n.offset();
}

void ReadRecords(const DnsRecords& records) {
  size_t count = 0;
  for (const DnsRecordView r : records) {
    ++count;
    ReadName(r.name());
    sink = sink + static_cast<uint16_t>(r.type()) + static_cast<uint16_t>(r.klass()) + r.ttl() +
           r.rdata().size();
    if (auto a = r.a()) sink = sink + a->value();
    if (auto a = r.aaaa()) sink = sink + a->bytes()[15];
    if (auto c = r.cname()) ReadName(*c);
  }
  if (count != records.size()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto v = DnsView::Parse(ByteSpan(data, size));
  if (v.ok()) {
    sink = sink + v->id() + v->flags() + v->is_response() + static_cast<uint8_t>(v->opcode()) +
           v->authoritative() + v->truncated() + v->recursion_desired() + v->recursion_available() +
           static_cast<uint8_t>(v->rcode());
    for (const DnsQuestionView q : v->questions()) {
      ReadName(q.name());
      sink = sink + static_cast<uint16_t>(q.type()) + static_cast<uint16_t>(q.klass());
    }
    ReadRecords(v->answers());
    ReadRecords(v->authorities());
    ReadRecords(v->additionals());
  } else if (ToString(v.error()) == "unknown") {
    __builtin_trap();
  }

  const std::string_view text(reinterpret_cast<const char*>(data), size);
  uint8_t query[DnsQuery::kMaxSize];
  auto n = DnsQuery{0x1234, text, DnsType::kA}.Emit(query);
  if (n.ok()) {
    auto q = DnsView::Parse(ByteSpan(query, *n));
    if (!q.ok()) __builtin_trap();
    const DnsNameView name = (*q->questions().begin()).name();
    bool dotted_label = false;
    for (std::string_view label : name) dotted_label |= label.find('.') != std::string_view::npos;
    if (!dotted_label && !name.Equals(text)) __builtin_trap();
  }
  return 0;
}
