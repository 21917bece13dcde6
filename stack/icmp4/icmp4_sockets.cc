#include "stack/icmp4/icmp4_sockets.h"

#include "stack/wire/checksum.h"

namespace pytcp {

Result<void, int> Icmp4Family::Transmit(Icmp4Engine& /*icmp*/, Ip4Engine& ip, Ip4Address src,
                                        Ip4Address dst, PacketBuffer& message,
                                        const Icmp4SendOptions& options, Instant now) {
  if (options.checksum_offset >= 0) {
    // RFC 792: the checksum covers the whole message.
    auto bytes = message.data();
    const auto at = static_cast<size_t>(options.checksum_offset);
    StoreBe16(bytes.data() + at, 0);
    StoreBe16(bytes.data() + at, InternetChecksum(bytes));
  }
  const Ip4SendParams params{.src = src,
                             .dst = dst,
                             .protocol = IpProto::kIcmp4,
                             .ttl = options.ttl,
                             .tos = options.tos,
                             .dont_fragment = options.dont_fragment,
                             .allow_broadcast = options.allow_broadcast};
  return ToErrno(ip.Send(params, message, now));
}

std::optional<Ip4ErrorInfo> Icmp4Family::ErrorAboutOurMessage(const Ip4PacketInfo& info,
                                                              const Icmp4View& icmp) {
  // RFC 1122 §3.2.2: the quoted header names the sender. It may be truncated (RFC 792
  // quotes the header and 64 bits), so it is read with explicit bounds.
  if (!icmp.is_error()) return std::nullopt;
  ByteSpan orig = icmp.original_datagram();
  if (orig.size() < kIp4MinHeaderSize || (orig[0] >> 4) != 4) return std::nullopt;
  const size_t ihl = static_cast<size_t>(orig[0] & 0x0f) * 4;
  if (ihl < kIp4MinHeaderSize || orig.size() < ihl + kIcmp4HeaderSize) return std::nullopt;
  if (orig[9] != static_cast<uint8_t>(IpProto::kIcmp4)) return std::nullopt;
  const int err = Icmp4ErrorToErrno(static_cast<uint8_t>(icmp.type()), icmp.code());
  if (err == 0) return std::nullopt;  // source quench and friends (RFC 6633)
  return Ip4ErrorInfo{static_cast<uint8_t>(icmp.type()),
                      icmp.code(),
                      info.src,
                      Ip4Address::FromBytes(orig.data() + 12),
                      Ip4Address::FromBytes(orig.data() + 16),
                      IpProto::kIcmp4,
                      orig.subspan(ihl),
                      icmp.type() == Icmp4Type::kDestinationUnreachable ? icmp.next_hop_mtu() : 0u,
                      err,
                      false};
}

}  // namespace pytcp
