// DHCPv4 options: codes, the option walker and an option writer.
//
// To read: RFC 2132 §2 (option format: Pad and End are single bytes, every other option is
// code, length, data), §3-§9 (the options and their lengths), RFC 2131 §4.1 (options are in
// a variable-length field after the magic cookie), RFC 3396 (long options split into several
// instances: not supported, accessors use the first instance).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>

#include "stack/base/bytes.h"
#include "stack/base/forward_iterator.h"
#include "stack/net/ip4_address.h"

namespace pytcp {

// Wire enum: IANA "BOOTP Vendor Extensions and DHCP Options". Any value may appear.
enum class Dhcp4OptionCode : uint8_t {
  kPad = 0,
  kSubnetMask = 1,
  kRouter = 3,
  kDnsServer = 6,
  kHostName = 12,
  kDomainName = 15,
  kInterfaceMtu = 26,
  kBroadcastAddress = 28,
  kRequestedIp = 50,
  kLeaseTime = 51,
  kOverload = 52,
  kMessageType = 53,
  kServerId = 54,
  kParameterRequestList = 55,
  kMessage = 56,
  kMaxMessageSize = 57,
  kRenewalTime = 58,    // T1
  kRebindingTime = 59,  // T2
  kClientId = 61,
  kEnd = 255,
};

struct Dhcp4Option {
  uint8_t code = 0;
  ByteSpan data;
  Dhcp4OptionCode option_code() const { return static_cast<Dhcp4OptionCode>(code); }
};

// The options field of a validated message, up to (not including) End; Pad bytes are
// skipped. Iterate with a range-for.
class Dhcp4OptionsView {
 public:
  class Iterator : public ForwardIteratorBase<Iterator, Dhcp4Option> {
   public:
    using ForwardIteratorBase::operator++;
    Iterator() = default;
    Dhcp4Option operator*() const {
      return Dhcp4Option{data_[offset_], data_.subspan(offset_ + 2, data_[offset_ + 1])};
    }
    Iterator& operator++() {
      offset_ += 2 + size_t{data_[offset_ + 1]};
      SkipPad();
      return *this;
    }
    bool operator==(const Iterator& o) const { return offset_ == o.offset_; }

   private:
    friend class Dhcp4OptionsView;
    Iterator(ByteSpan data, size_t offset) : data_(data), offset_(offset) { SkipPad(); }
    void SkipPad() {
      while (offset_ < data_.size() && data_[offset_] == 0) ++offset_;
    }
    ByteSpan data_;
    size_t offset_ = 0;
  };

  Dhcp4OptionsView() = default;
  Iterator begin() const { return Iterator(data_, 0); }
  Iterator end() const { return Iterator(data_, data_.size()); }
  ByteSpan bytes() const { return data_; }

 private:
  friend class Dhcp4View;
  explicit Dhcp4OptionsView(ByteSpan data) : data_(data) {}
  ByteSpan data_;  // the options before End (validated)
};

// Appends options to a buffer. Each Add returns false (and writes nothing) when the option
// does not fit or its data is longer than 255 bytes.
class Dhcp4OptionWriter {
 public:
  explicit Dhcp4OptionWriter(MutableByteSpan out) : out_(out) {}
  bool Add(Dhcp4OptionCode code, ByteSpan data);
  bool AddU8(Dhcp4OptionCode code, uint8_t v);
  bool AddU16(Dhcp4OptionCode code, uint16_t v);
  bool AddU32(Dhcp4OptionCode code, uint32_t v);
  bool AddAddress(Dhcp4OptionCode code, Ip4Address a);
  bool AddAddresses(Dhcp4OptionCode code, std::span<const Ip4Address> a);
  bool AddEnd();
  size_t size() const { return pos_; }

 private:
  MutableByteSpan out_;
  size_t pos_ = 0;
};

}  // namespace pytcp
