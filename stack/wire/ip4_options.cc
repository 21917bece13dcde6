#include "stack/wire/ip4_options.h"

namespace pytcp {

Result<Ip4OptionsView, Ip4OptionError> Ip4OptionsView::Parse(ByteSpan options) {
  // RFC 791 §3.1: EOL ends the list; what follows is padding and is not interpreted. The
  // length counts the type and length octets, so below 2 the walk could not advance (0)
  // or would land inside the option itself (1).
  static constexpr TlvLayoutErrors<Ip4OptionError> kErrors{Ip4OptionError::kOptionBadLength,
                                                           Ip4OptionError::kOptionBadLength,
                                                           Ip4OptionError::kOptionOverrun};
  auto no_kind_rules = [](uint8_t, uint8_t) { return std::optional<Ip4OptionError>(); };
  if (auto e = CheckTlvLayout(options, kErrors, no_kind_rules)) return Err{*e};
  return Ip4OptionsView(options);
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
