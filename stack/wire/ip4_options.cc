#include "stack/wire/ip4_options.h"

namespace pytcp {

std::string_view ToString(Ip4OptionError e) {
  switch (e) {
    case Ip4OptionError::kBadLength: return "option_bad_length";
    case Ip4OptionError::kOverrun: return "option_overrun";
  }
  return "unknown";
}

Result<Ip4OptionsView, Ip4OptionError> Ip4OptionsView::Parse(ByteSpan options) {
  size_t pos = 0;
  while (pos < options.size()) {
    const uint8_t type = options[pos];
    // RFC 791 §3.1: EOL ends the list; what follows is padding and is not interpreted.
    if (type == static_cast<uint8_t>(Ip4OptionType::kEol)) break;
    if (type == static_cast<uint8_t>(Ip4OptionType::kNop)) {
      ++pos;
      continue;
    }
    if (pos + 1 >= options.size()) return Err{Ip4OptionError::kOverrun};
    const uint8_t len = options[pos + 1];
    // The length counts the type and length octets, so below 2 the walk could not advance
    // (0) or would land inside the option itself (1).
    if (len < 2) return Err{Ip4OptionError::kBadLength};
    if (len > options.size() - pos) return Err{Ip4OptionError::kOverrun};
    pos += len;
  }
  return Ip4OptionsView(options);
}

void Ip4OptionsView::Iterator::SkipEol() {
  if (pos_ < data_.size() && data_[pos_] == static_cast<uint8_t>(Ip4OptionType::kEol)) {
    pos_ = data_.size();
  }
}

Ip4Option Ip4OptionsView::Iterator::operator*() const {
  const auto type = static_cast<Ip4OptionType>(data_[pos_]);
  if (type == Ip4OptionType::kNop) return {type, ByteSpan()};
  return {type, data_.subspan(pos_ + 2, data_[pos_ + 1] - 2u)};
}

Ip4OptionsView::Iterator& Ip4OptionsView::Iterator::operator++() {
  pos_ += data_[pos_] == static_cast<uint8_t>(Ip4OptionType::kNop) ? 1 : data_[pos_ + 1];
  SkipEol();
  return *this;
}

std::optional<Ip4Option> Ip4OptionsView::Find(Ip4OptionType type) const {
  for (const Ip4Option& o : *this) {
    if (o.type == type) return o;
  }
  return std::nullopt;
}

bool Ip4OptionsBuilder::AddNop() {
  if (size_ + 1 > buf_.size()) return false;
  buf_[size_++] = static_cast<uint8_t>(Ip4OptionType::kNop);
  return true;
}

bool Ip4OptionsBuilder::Add(Ip4OptionType type, ByteSpan value) {
  if (type == Ip4OptionType::kNop) return value.empty() && AddNop();
  if (type == Ip4OptionType::kEol || value.size() + 2 > buf_.size() - size_) return false;
  buf_[size_] = static_cast<uint8_t>(type);
  buf_[size_ + 1] = static_cast<uint8_t>(value.size() + 2);
  for (size_t i = 0; i < value.size(); ++i) buf_[size_ + 2 + i] = value[i];
  size_ += value.size() + 2;
  return true;
}

}  // namespace pytcp
