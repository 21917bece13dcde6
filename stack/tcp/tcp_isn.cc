#include "stack/tcp/tcp_isn.h"

#include <array>
#include <cstring>

namespace pytcp {
namespace {

uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The tuple as bytes: both addresses (16 each), both ports, two extra words.
std::array<uint8_t, 44> TupleBytes(const TcpFourTuple& t, uint32_t a, uint32_t b) {
  std::array<uint8_t, 44> m{};
  std::memcpy(m.data(), t.local_ip.v6().bytes().data(), 16);
  std::memcpy(m.data() + 16, t.remote_ip.v6().bytes().data(), 16);
  StoreBe16(m.data() + 32, t.local_port);
  StoreBe16(m.data() + 34, t.remote_port);
  StoreBe32(m.data() + 36, a);
  StoreBe32(m.data() + 40, b);
  return m;
}

// Linux's table (msstab in net/ipv4/syncookies.c).
constexpr std::array<uint16_t, 4> kMssTable = {536, 1300, 1440, 1460};
constexpr int kCookieBits = 24;
constexpr uint32_t kCookieMask = (1u << kCookieBits) - 1;
constexpr uint32_t kMaxCookieAge = 2;  // minutes

uint32_t CookieMinutes(Instant now) { return static_cast<uint32_t>(now.nanos() / 60'000'000'000); }

}  // namespace

TcpSecrets::TcpSecrets(Random& random) {
  for (auto& k : keys_) {
    k[0] = random.Next();
    k[1] = random.Next();
  }
}

TcpSecrets::TcpSecrets(const HostKey& key) {
  // Each key is SipHash of its index under the host's key (a PRF used as a KDF), so no
  // hash below reveals anything about another.
  const uint64_t k0 = LoadLe64(key.data()) ^ LoadLe64(key.data() + 16);
  const uint64_t k1 = LoadLe64(key.data() + 8) ^ LoadLe64(key.data() + 24);
  for (int i = 0; i < kKeys; ++i) {
    for (int half = 0; half < 2; ++half) {
      const uint8_t label[2] = {static_cast<uint8_t>(i), static_cast<uint8_t>(half)};
      keys_[i][half] = SipHash24(k0, k1, ByteSpan(label, 2));
    }
  }
}

uint32_t TcpSecrets::Hash(const TcpFourTuple& t, uint32_t a, uint32_t b, Key key) const {
  const auto m = TupleBytes(t, a, b);
  return static_cast<uint32_t>(SipHash24(keys_[key][0], keys_[key][1], m));
}

SeqNum TcpSecrets::Isn(const TcpFourTuple& t, Instant now) const {
  const uint32_t m = static_cast<uint32_t>(now.nanos() / 4000);
  return SeqNum(m + Hash(t, 0, 0, kIsnKey));
}

uint32_t TcpSecrets::TsOffset(const TcpFourTuple& t) const {
  TcpFourTuple pair = t;
  pair.local_port = 0;
  pair.remote_port = 0;
  return Hash(pair, 0, 0, kTsKey);
}

uint32_t TcpSecrets::PortOffset(const TcpFourTuple& t) const {
  TcpFourTuple dest = t;
  dest.local_port = 0;
  return Hash(dest, 0, 0, kPortKey);
}

SeqNum TcpSynCookies::Make(const TcpFourTuple& t, SeqNum peer_isn, uint16_t mss,
                           Instant now) const {
  uint32_t index = 0;
  for (uint32_t i = 0; i < kMssTable.size(); ++i) {
    if (mss >= kMssTable[i]) index = i;
  }
  const uint32_t count = CookieMinutes(now);
  return SeqNum(secrets_->Hash(t, 0, 0, TcpSecrets::kCookieKey0) + peer_isn.value() + (count << kCookieBits) +
                ((secrets_->Hash(t, count, 1, TcpSecrets::kCookieKey1) + index) & kCookieMask));
}

std::optional<TcpSynCookies::Decoded> TcpSynCookies::Check(const TcpFourTuple& t,
                                                           SeqNum peer_isn, SeqNum cookie,
                                                           Instant now) const {
  const uint32_t count = CookieMinutes(now);
  const uint32_t c = cookie.value() - (secrets_->Hash(t, 0, 0, TcpSecrets::kCookieKey0) + peer_isn.value());
  const uint32_t diff = (count - (c >> kCookieBits)) & (0xffffffffu >> kCookieBits);
  if (diff >= kMaxCookieAge) return std::nullopt;
  const uint32_t index = (c - secrets_->Hash(t, count - diff, 1, TcpSecrets::kCookieKey1)) & kCookieMask;
  if (index >= kMssTable.size()) return std::nullopt;
  return Decoded{kMssTable[index]};
}

uint32_t TcpSynCookies::EncodeTs(uint32_t tsval, const TsOptions& o) {
  // cookie_init_timestamp: 4 bits of window scale (0xf: none), then SACK, then ECN. The
  // value is moved back below the real clock so TSval never runs backwards later.
  uint32_t opts = o.wscale ? (*o.wscale & 0xf) : 0xf;
  if (o.sack) opts |= 1u << 4;
  uint32_t ts = (tsval & ~0x3fu) | opts;
  if (ts > tsval) ts -= 64;
  return ts;
}

TcpSynCookies::TsOptions TcpSynCookies::DecodeTs(uint32_t tsecr) {
  TsOptions o;
  const uint32_t ws = tsecr & 0xf;
  if (ws != 0xf) o.wscale = static_cast<uint8_t>(ws);
  o.sack = (tsecr & (1u << 4)) != 0;
  return o;
}

}  // namespace pytcp
