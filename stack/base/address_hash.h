// Hashes any address type by its bytes(), so that the net layer's value types can key
// absl containers without depending on absl themselves.
#pragma once

#include <cstddef>

#include "absl/hash/hash.h"

namespace pytcp {

struct AddressHash {
  template <typename Addr>
  size_t operator()(const Addr& a) const {
    return absl::Hash<typename Addr::Bytes>{}(a.bytes());
  }
};

}  // namespace pytcp
