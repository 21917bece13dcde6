// libFuzzer target: arbitrary bytes as an ICMPv6 message. The checksum is verified against a
// pseudo-header sum taken from the first four input bytes on odd inputs and skipped on even
// ones, so the fuzzer reaches the type-specific checks. On success every typed view (ND, MLD,
// echo, errors) and every option and record is read.
#include <cstddef>
#include <cstdint>

#include "stack/wire/icmp6.h"
#include "stack/wire/icmp6_mld.h"
#include "stack/wire/icmp6_nd.h"

using namespace pytcp;  // NOLINT

namespace {

volatile uint64_t sink = 0;

void ReadOptions(const NdOptionsView& options) {
  for (const NdOption o : options) {
    sink = sink + static_cast<uint8_t>(o.type()) + o.length_units() + o.bytes().size() +
           o.body().size();
    switch (o.type()) {
      case NdOptionType::kSourceLinkLayerAddress:
      case NdOptionType::kTargetLinkLayerAddress:
        sink = sink + o.link_layer_address().bytes()[5];
        break;
      case NdOptionType::kPrefixInformation: {
        const NdPrefixInfo p = o.prefix_info();
        sink = sink + p.prefix.bytes()[15] + p.prefix_length + p.on_link + p.autonomous +
               p.valid_lifetime + p.preferred_lifetime;
        break;
      }
      case NdOptionType::kRedirectedHeader:
        for (uint8_t b : o.redirected_packet()) sink = sink + b;
        break;
      case NdOptionType::kMtu:
        sink = sink + o.mtu();
        break;
      case NdOptionType::kRdnss:
        sink = sink + o.rdnss_lifetime();
        for (size_t i = 0; i < o.rdnss_count(); ++i) sink = sink + o.rdnss_address(i).bytes()[15];
        break;
      case NdOptionType::kDnssl:
        sink = sink + o.dnssl_lifetime();
        for (uint8_t b : o.dnssl_domain_names()) sink = sink + b;
        break;
      default:
        break;
    }
  }
}

void ReadAll(const Icmp6View& icmp) {
  sink = sink + static_cast<uint8_t>(icmp.type()) + icmp.code() + icmp.checksum() +
         icmp.body().size() + icmp.is_error();
  if (icmp.is_echo()) {
    sink = sink + icmp.echo_id() + icmp.echo_seq() + icmp.echo_data().size();
  }
  if (icmp.is_error() && icmp.message().size() >= kIcmp6HeaderSize) {
    sink = sink + icmp.rest_of_header();
  }
  switch (icmp.type()) {
    case Icmp6Type::kDestinationUnreachable:
    case Icmp6Type::kTimeExceeded:
      sink = sink + icmp.invoking_packet().size() + icmp.invoking_packet()[0];
      break;
    case Icmp6Type::kPacketTooBig:
      sink = sink + icmp.mtu() + icmp.invoking_packet()[39];
      break;
    case Icmp6Type::kParameterProblem:
      sink = sink + icmp.pointer() + icmp.invoking_packet()[39];
      break;
    default:
      break;
  }
  if (auto rs = NdRouterSolicitView::From(icmp)) {
    ReadOptions(rs->options());
    if (auto m = rs->source_link_layer_address()) sink = sink + m->bytes()[0];
  }
  if (auto ra = NdRouterAdvertView::From(icmp)) {
    sink = sink + ra->cur_hop_limit() + ra->managed() + ra->other() +
           static_cast<uint8_t>(ra->preference()) + ra->router_lifetime() + ra->reachable_time() +
           ra->retrans_timer();
    ReadOptions(ra->options());
    if (auto m = ra->source_link_layer_address()) sink = sink + m->bytes()[0];
    if (auto mtu = ra->mtu()) sink = sink + *mtu;
  }
  if (auto ns = NdNeighborSolicitView::From(icmp)) {
    sink = sink + ns->target().bytes()[15];
    ReadOptions(ns->options());
    if (auto m = ns->source_link_layer_address()) sink = sink + m->bytes()[0];
    if (ns->target().is_multicast()) __builtin_trap();
  }
  if (auto na = NdNeighborAdvertView::From(icmp)) {
    sink = sink + na->router() + na->solicited() + na->override_flag() + na->target().bytes()[15];
    ReadOptions(na->options());
    if (auto m = na->target_link_layer_address()) sink = sink + m->bytes()[0];
  }
  if (auto r = NdRedirectView::From(icmp)) {
    sink = sink + r->target().bytes()[15] + r->destination().bytes()[15];
    ReadOptions(r->options());
    if (auto m = r->target_link_layer_address()) sink = sink + m->bytes()[0];
    if (auto p = r->redirected_packet()) sink = sink + p->size();
  }
  if (auto q = MldQueryView::From(icmp)) {
    sink = sink + q->is_v2() + q->max_resp_code() + q->max_response_delay_ms() +
           q->multicast_address().bytes()[15] + q->is_general() + q->suppress_router_processing() +
           q->qrv() + q->qqic() + q->qqi_seconds();
    for (size_t i = 0; i < q->source_count(); ++i) sink = sink + q->source(i).bytes()[15];
  }
  if (auto v1 = MldV1View::From(icmp)) {
    sink = sink + v1->is_done() + v1->max_response_delay() + v1->multicast_address().bytes()[1];
  }
  if (auto report = MldV2ReportView::From(icmp)) {
    size_t n = 0;
    for (const MldRecordView r : report->records()) {
      ++n;
      sink = sink + static_cast<uint8_t>(r.type()) + r.aux_data_length() +
             r.multicast_address().bytes()[15] + r.aux_data().size() + r.bytes().size();
      for (size_t i = 0; i < r.source_count(); ++i) sink = sink + r.source(i).bytes()[15];
    }
    if (n != report->record_count()) __builtin_trap();
  }
  uint8_t out[kIcmp6HeaderSize];
  if (icmp.message().size() >= kIcmp6HeaderSize) icmp.ToHeader().Emit(out, icmp.body(), 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteSpan message(data, size);
  const bool verify = size % 2 == 1 && size >= 4;
  const uint32_t pseudo = verify ? static_cast<uint32_t>(data[0]) << 8 | data[1] : 0;
  auto icmp =
      Icmp6View::Parse(message, pseudo, verify ? ChecksumPolicy::kVerify : ChecksumPolicy::kSkip);
  if (!icmp.ok()) {
    if (ToString(icmp.error()) == "unknown") __builtin_trap();
    return 0;
  }
  ReadAll(*icmp);
  return 0;
}
