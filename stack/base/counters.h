// Packet-flow counters, one block per protocol: received, sent, and one counter per drop
// reason, like the original's packet flow counters. Each protocol declares its list once,
//
//   PYTCP_COUNTERS(ArpCounter,
//     kRxFrames,
//     kRxDropBadLength,  // why it is counted
//   );
//
// which makes `enum class ArpCounter : uint16_t { kRxFrames, kRxDropBadLength, kCount }` and
// `CounterName(ArpCounter)` (found by ADL) giving each name in snake case without the k
// ("rx_frames", "rx_drop_bad_length": what the console and the tests read), and it holds
// a Counters<ArpCounter>. Counters are plain integers: they are only written
// under the owning stack's lock. Tests take a Snapshot before and after and assert the
// exact set that moved. The names come from the table PYTCP_NAMED_ENUM uses (named_enum.h).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "stack/base/named_enum.h"

namespace pytcp {

// Declares the counter enum `Name` from its enumerators (each followed by a comma) and its
// CounterName(); see the top of this file.
#define PYTCP_COUNTERS(Name, ...)                                                     \
  enum class Name : uint16_t { __VA_ARGS__ kCount };                                  \
  inline std::string_view CounterName(Name c) {                                        \
    static constexpr ::pytcp::EnumNameTable<static_cast<size_t>(Name::kCount),         \
                                            sizeof(#__VA_ARGS__)>                      \
        kNames(#__VA_ARGS__);                                                          \
    return kNames[static_cast<size_t>(c)];                                             \
  }

template <typename Enum>
class Counters {
 public:
  static constexpr size_t kSize = static_cast<size_t>(Enum::kCount);

  void Inc(Enum c, uint64_t n = 1) { values_[static_cast<size_t>(c)] += n; }
  // A received packet that did not parse: kRxDropMalformed for an integrity failure
  // (length, checksum), kRxDropInvalid for a sanity one (an RFC rule), as the parse error's
  // IsIntegrityError (next to it in stack/wire) sorts it.
  template <typename ParseError>
  void IncUnparsed(ParseError e) {
    Inc(IsIntegrityError(e) ? Enum::kRxDropMalformed : Enum::kRxDropInvalid);
  }
  uint64_t Get(Enum c) const { return values_[static_cast<size_t>(c)]; }
  void Reset() { values_.fill(0); }

  template <typename Fn>  // fn(std::string_view name, uint64_t value)
  void ForEach(Fn&& fn) const {
    for (size_t i = 0; i < kSize; ++i) fn(CounterName(static_cast<Enum>(i)), values_[i]);
  }

  // name -> value of every non-zero counter, with an optional prefix ("arp.").
  void AppendTo(std::map<std::string, uint64_t>* out, std::string_view prefix = {}) const {
    ForEach([&](std::string_view name, uint64_t v) {
      if (v != 0) (*out)[std::string(prefix) + std::string(name)] += v;
    });
  }

 private:
  std::array<uint64_t, kSize> values_{};
};

// The counters that differ between two snapshots, as name -> (after - before).
inline std::map<std::string, int64_t> CounterDelta(const std::map<std::string, uint64_t>& before,
                                                   const std::map<std::string, uint64_t>& after) {
  std::map<std::string, int64_t> delta;
  for (const auto& [name, v] : after) {
    auto it = before.find(name);
    const uint64_t b = it == before.end() ? 0 : it->second;
    if (v != b) delta[name] = static_cast<int64_t>(v - b);
  }
  for (const auto& [name, v] : before) {
    if (!after.contains(name) && v != 0) delta[name] = -static_cast<int64_t>(v);
  }
  return delta;
}

}  // namespace pytcp
