// The option list layout IPv4 (RFC 791 §3.1) and TCP (RFC 9293 §3.1) share: kind 0 (End
// of Option List) ends the list and what follows is padding, kind 1 (No-Operation) is a
// single octet, and every other option is kind, length (counting the kind and length
// octets) and value. One checked walker and one iterator serve both headers; each keeps
// its own kinds, errors and per-kind rules (ip4_options.h, tcp_options.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>

#include "stack/base/bytes.h"
#include "stack/base/forward_iterator.h"

namespace pytcp {

inline constexpr uint8_t kTlvEndOfList = 0;
inline constexpr uint8_t kTlvNoOperation = 1;

// The errors a header names for the three ways the generic layout can be broken.
template <typename Error>
struct TlvLayoutErrors {
  Error zero_length;  // a length byte of 0: the walk could not advance
  Error one_length;   // a length byte of 1: it would land inside the option itself
  Error overrun;      // an option, or its length byte, runs past the end of the area
};

// Walks `options` up to End of List, checking the layout. `check(kind, length)` sees every
// option but NOP, in order, and may refuse it with an error of its own (std::nullopt: it
// is fine). Returns the first error, or std::nullopt when the area is sound.
template <typename Error, typename Check>
std::optional<Error> CheckTlvLayout(ByteSpan options, const TlvLayoutErrors<Error>& errors,
                                    Check&& check) {
  size_t pos = 0;
  while (pos < options.size()) {
    const uint8_t kind = options[pos];
    if (kind == kTlvEndOfList) break;
    if (kind == kTlvNoOperation) {
      ++pos;
      continue;
    }
    if (pos + 1 >= options.size()) return errors.overrun;
    const uint8_t len = options[pos + 1];
    if (len == 0) return errors.zero_length;
    if (len == 1) return errors.one_length;
    if (len > options.size() - pos) return errors.overrun;
    if (std::optional<Error> e = check(kind, len)) return e;
    pos += len;
  }
  return std::nullopt;
}

// A checked options area (see CheckTlvLayout). Iteration yields every option as
// Option{Kind, value}, NOPs included (with an empty value), and stops at End of List.
template <typename Option, typename Kind>
class TlvOptionsView {
 public:
  class Iterator : public ForwardIteratorBase<Iterator, Option> {
   public:
    using ForwardIteratorBase<Iterator, Option>::operator++;
    Iterator() = default;
    Iterator(ByteSpan data, size_t pos) : data_(data), pos_(pos) { SkipEndOfList(); }
    Option operator*() const {
      const auto kind = static_cast<Kind>(data_[pos_]);
      if (data_[pos_] == kTlvNoOperation) return Option{kind, ByteSpan()};
      return Option{kind, data_.subspan(pos_ + 2, data_[pos_ + 1] - 2u)};
    }
    Iterator& operator++() {
      pos_ += data_[pos_] == kTlvNoOperation ? 1 : data_[pos_ + 1];
      SkipEndOfList();
      return *this;
    }
    bool operator==(const Iterator& o) const { return pos_ == o.pos_; }

   private:
    void SkipEndOfList() {
      if (pos_ < data_.size() && data_[pos_] == kTlvEndOfList) pos_ = data_.size();
    }
    ByteSpan data_;
    size_t pos_ = 0;
  };

  // An empty options area.
  TlvOptionsView() = default;

  Iterator begin() const { return Iterator(data_, 0); }
  Iterator end() const { return Iterator(data_, data_.size()); }
  bool empty() const { return begin() == end(); }
  ByteSpan bytes() const { return data_; }

 protected:
  // `data` has passed CheckTlvLayout.
  explicit TlvOptionsView(ByteSpan data) : data_(data) {}

 private:
  ByteSpan data_;
};

}  // namespace pytcp
