// libFuzzer target: arbitrary bytes as an Ethernet frame, reaching every IPv4-side parser
// behind it (ARP, IPv4, ICMPv4, UDP, TCP) the way the stack's receive path would.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "stack/wire/arp.h"
#include "stack/wire/ethernet.h"
#include "stack/wire/icmp4.h"
#include "stack/wire/ip4.h"
#include "stack/wire/tcp.h"
#include "stack/wire/udp.h"

namespace {
using namespace pytcp;  // NOLINT

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void Ip4Payload(const Ip4View& ip) {
  // Checksums of fuzzed bytes rarely verify; skip them to reach the rest of each parser.
  switch (ip.protocol()) {
    case IpProto::kIcmp4:
      if (auto v = Icmp4View::Parse(ip.payload(), ChecksumPolicy::kSkip); v.ok()) {
        Check(v->body().size() + kIcmp4HeaderSize == v->message().size());
      }
      break;
    case IpProto::kUdp:
      if (auto v = UdpView::Parse(ip.payload(), ip.pseudo_header_sum(), {ChecksumPolicy::kSkip}); v.ok()) {
        Check(v->payload().size() + kUdpHeaderSize == v->length());
      }
      break;
    case IpProto::kTcp:
      if (auto v = TcpView::Parse(ip.payload(), ip.pseudo_header_sum(), ChecksumPolicy::kSkip); v.ok()) {
        Check(v->header_size() + v->payload().size() == ip.payload().size());
        (void)v->options().Decode();
      }
      break;
    default:
      break;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto eth = EthernetView::Parse(ByteSpan(data, size));
  if (!eth.ok()) return 0;
  uint8_t hdr[kEthernetHeaderSize];
  EthernetHeader{eth->dst(), eth->src(), eth->ethertype()}.Emit(hdr);
  Check(std::memcmp(hdr, eth->header().data(), sizeof(hdr)) == 0);
  Check(eth->payload().size() + kEthernetHeaderSize == size);
  switch (eth->ethertype()) {
    case EtherType::kArp:
      if (auto arp = ArpView::Parse(eth->payload()); arp.ok()) {
        (void)arp->is_probe();
        (void)arp->is_announcement();
      }
      break;
    case EtherType::kIp4:
      if (auto ip = Ip4View::Parse(eth->payload(), ChecksumPolicy::kSkip); ip.ok()) {
        for (const Ip4Option& o : ip->options()) Check(o.value.size() <= kIp4MaxOptionsSize);
        Ip4Payload(*ip);
      }
      break;
    default:
      break;
  }
  return 0;
}
