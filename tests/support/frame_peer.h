// Test aid: the far end of a MemoryLink, driven by a test. It collects every frame the
// stack under test sends and injects frames the test builds, so protocol tests assert
// bytes on the wire with no network and no sleeps.
#pragma once

#include <cstdint>
#include <vector>

#include "stack/base/bytes.h"
#include "stack/link/memory_link.h"
#include "stack/net/mac_address.h"

namespace pytcp::testing {

class FramePeer {
 public:
  explicit FramePeer(MemoryLink* link) : link_(link) {}

  // Frames the stack sent that have become deliverable, in order.
  std::vector<std::vector<uint8_t>> Drain() {
    std::vector<std::vector<uint8_t>> out;
    while (link_->Receive([&](ByteSpan f) { out.emplace_back(f.begin(), f.end()); }, 64).frames >
           0) {
    }
    return out;
  }
  void Inject(ByteSpan frame) { (void)link_->Send(frame); }
  void Inject(const std::vector<uint8_t>& frame) { Inject(ByteSpan(frame)); }

 private:
  MemoryLink* link_;
};

}  // namespace pytcp::testing
