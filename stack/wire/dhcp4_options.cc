#include "stack/wire/dhcp4_options.h"

#include <algorithm>

namespace pytcp {

bool Dhcp4OptionWriter::Add(Dhcp4OptionCode code, ByteSpan data) {
  if (data.size() > 255 || out_.size() - pos_ < 2 + data.size()) return false;
  out_[pos_] = static_cast<uint8_t>(code);
  out_[pos_ + 1] = static_cast<uint8_t>(data.size());
  std::copy(data.begin(), data.end(), out_.begin() + static_cast<std::ptrdiff_t>(pos_ + 2));
  pos_ += 2 + data.size();
  return true;
}

bool Dhcp4OptionWriter::AddU8(Dhcp4OptionCode code, uint8_t v) {
  const uint8_t b[1] = {v};
  return Add(code, b);
}

bool Dhcp4OptionWriter::AddU16(Dhcp4OptionCode code, uint16_t v) {
  uint8_t b[2];
  StoreBe16(b, v);
  return Add(code, b);
}

bool Dhcp4OptionWriter::AddU32(Dhcp4OptionCode code, uint32_t v) {
  uint8_t b[4];
  StoreBe32(b, v);
  return Add(code, b);
}

bool Dhcp4OptionWriter::AddAddress(Dhcp4OptionCode code, Ip4Address a) {
  return AddU32(code, a.value());
}

bool Dhcp4OptionWriter::AddAddresses(Dhcp4OptionCode code, std::span<const Ip4Address> a) {
  // RFC 2132 §3.5/§3.8: a list of 4-byte addresses, so at most 63 in one option.
  if (a.size() > 63 || out_.size() - pos_ < 2 + 4 * a.size()) return false;
  out_[pos_] = static_cast<uint8_t>(code);
  out_[pos_ + 1] = static_cast<uint8_t>(4 * a.size());
  for (size_t i = 0; i < a.size(); ++i) a[i].CopyTo(out_.data() + pos_ + 2 + 4 * i);
  pos_ += 2 + 4 * a.size();
  return true;
}

bool Dhcp4OptionWriter::AddEnd() {
  if (pos_ >= out_.size()) return false;
  out_[pos_++] = static_cast<uint8_t>(Dhcp4OptionCode::kEnd);
  return true;
}

}  // namespace pytcp
