#include "stack/neigh/neighbour_cache.h"

namespace pytcp {

std::string_view ToString(NeighbourState s) {
  switch (s) {
    case NeighbourState::kIncomplete: return "INCOMPLETE";
    case NeighbourState::kReachable: return "REACHABLE";
    case NeighbourState::kStale: return "STALE";
    case NeighbourState::kDelay: return "DELAY";
    case NeighbourState::kProbe: return "PROBE";
    case NeighbourState::kPermanent: return "PERMANENT";
  }
  return "?";
}

}  // namespace pytcp
