// The ephemeral port range and its search (RFC 6056), shared by TCP's bind and connect,
// UDP's automatic bind and the ping sockets' identifiers (Linux's ping_get_port takes them
// from the same range), and the map from a port to its users the three keep.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace pytcp {

// Linux's net.ipv4.ip_local_port_range default, which RFC 6056 §3.2 also recommends
// the IANA range over (1024-65535 would collide with registered services).
inline constexpr uint16_t kEphemeralPortFirst = 32768;
inline constexpr uint16_t kEphemeralPortLast = 60999;
inline constexpr uint32_t kEphemeralPortCount = kEphemeralPortLast - kEphemeralPortFirst + 1;

// RFC 6056 §3.3.1 (Algorithm 1) and §3.3.3 (Algorithm 3): from the port at `offset` in the
// range (a random number for Algorithm 1; a keyed hash of the destination plus a random
// number for Algorithm 3), a linear search for the first port `usable` accepts, wrapping
// once around the range. nullopt when every port is taken (the caller's errno: EAGAIN for
// UDP and ping, EADDRINUSE for bind, EADDRNOTAVAIL for connect, as Linux).
template <typename Usable>
std::optional<uint16_t> SearchEphemeralPort(uint32_t offset, Usable&& usable) {
  for (uint32_t i = 0; i < kEphemeralPortCount; ++i) {
    const auto port =
        static_cast<uint16_t>(kEphemeralPortFirst + (offset + i) % kEphemeralPortCount);
    if (usable(port)) return port;
  }
  return std::nullopt;
}

// The first port (or ping identifier) from `offset` that `users` (a map from port to a
// container of its users) has no user for.
template <typename Map>
std::optional<uint16_t> FreeEphemeralPort(uint32_t offset, const Map& users) {
  return SearchEphemeralPort(offset, [&](uint16_t p) {
    auto it = users.find(p);
    return it == users.end() || it->second.empty();
  });
}

// Takes `user` off `port`'s list in `users` (a map from port to a vector of its users) and
// drops the port once nobody uses it, so that searches and lookups see it free.
template <typename Map, typename User>
void RemovePortUser(Map& users, uint16_t port, User* user) {
  auto it = users.find(port);
  if (it == users.end()) return;
  std::erase(it->second, user);
  if (it->second.empty()) users.erase(it);
}

}  // namespace pytcp
