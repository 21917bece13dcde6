#include "stack/stack_query.h"

#include <mutex>

#include "stack/stack.h"

namespace pytcp {

std::vector<StackInterfaceInfo> StackQuery::Interfaces() const {
  std::lock_guard lock(stack_.mutex());
  std::vector<StackInterfaceInfo> out;
  for (size_t i = 0; i < stack_.interface_count(); ++i) {
    const Interface& each = stack_.iface(i);
    out.push_back(StackInterfaceInfo{std::string(each.name()), each.mac(), each.mtu()});
  }
  return out;
}

StackAddresses StackQuery::Addresses() const {
  std::lock_guard lock(stack_.mutex());
  return StackAddresses{.now = stack_.clock().Now(),
                        .ip4 = stack_.ip4_addresses().entries(),
                        .ip6 = stack_.ip6_addresses().entries()};
}

std::vector<TcpState> StackQuery::TcpConnectionStates() const {
  std::lock_guard lock(stack_.mutex());
  std::vector<TcpState> out;
  stack_.tcp().ForEachConnection([&](const TcpConnection& c) { out.push_back(c.state()); });
  return out;
}

Result<IpAddress, int> StackQuery::SourceAddressFor(const IpAddress& dst) const {
  std::lock_guard lock(stack_.mutex());
  return stack_.udp().SourceFor(dst, IpAddress());
}

}  // namespace pytcp
