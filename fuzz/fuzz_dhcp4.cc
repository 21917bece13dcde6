// libFuzzer target: arbitrary bytes as a DHCPv4 message (UDP payload). On success every
// field, every option and every typed accessor is read.
#include <cstddef>
#include <cstdint>

#include "stack/wire/dhcp4.h"

using namespace pytcp;  // NOLINT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto d = Dhcp4View::Parse(ByteSpan(data, size));
  if (!d.ok()) {
    if (ToString(d.error()) == "unknown") __builtin_trap();
    return 0;
  }
  volatile uint64_t sink = 0;
  sink = sink + static_cast<uint8_t>(d->op()) + d->htype() + d->hlen() + d->hops() + d->xid() +
         d->secs() + d->flags() + d->broadcast() + d->ciaddr().value() + d->yiaddr().value() +
         d->siaddr().value() + d->giaddr().value() + d->chaddr().size() + d->sname().size() +
         d->file().size() + d->server_name().size() + d->boot_file_name().size();
  for (uint8_t b : d->chaddr()) sink = sink + b;
  if (auto mac = d->client_mac()) sink = sink + mac->bytes()[5];
  for (const Dhcp4Option o : d->options()) {
    sink = sink + o.code + o.data.size();
    for (uint8_t b : o.data) sink = sink + b;
    if (!d->Find(o.option_code())) __builtin_trap();
  }
  sink = sink + static_cast<uint8_t>(d->message_type());
  if (auto v = d->subnet_mask()) sink = sink + v->value();
  for (size_t i = 0; i < d->routers().size(); ++i) sink = sink + d->routers()[i].value();
  for (size_t i = 0; i < d->dns_servers().size(); ++i) sink = sink + d->dns_servers()[i].value();
  if (auto v = d->host_name()) sink = sink + v->size() + static_cast<uint8_t>(v->front());
  if (auto v = d->domain_name()) sink = sink + v->size() + static_cast<uint8_t>(v->back());
  if (auto v = d->interface_mtu()) sink = sink + *v;
  if (auto v = d->broadcast_address()) sink = sink + v->value();
  if (auto v = d->requested_ip()) sink = sink + v->value();
  if (auto v = d->lease_time()) sink = sink + *v;
  if (auto v = d->server_id()) sink = sink + v->value();
  if (auto v = d->parameter_request_list()) sink = sink + v->size() + v->front();
  if (auto v = d->message()) sink = sink + v->size();
  if (auto v = d->max_message_size()) sink = sink + *v;
  if (auto v = d->renewal_time()) sink = sink + *v;
  if (auto v = d->rebinding_time()) sink = sink + *v;
  if (auto v = d->client_id()) sink = sink + v->size() + v->back();
  return 0;
}
