#include "shim/shim_socket.h"

#include <time.h>

#include <algorithm>

namespace pytcp::shim {

ShimSocket::ShimSocket(int domain, int type, int protocol, std::shared_ptr<Socket> impl)
    : FdObject(FdKind::kSocket),
      domain_(domain),
      type_(type),
      protocol_(protocol),
      impl_(std::move(impl)) {
  impl_->AddListener(this);
}

ShimSocket::~ShimSocket() {
  if (inherited()) {
    // The parent's stack: its lock may have been held at fork(), and closing would send
    // on the parent's behalf. Leak a reference instead of releasing the socket.
    new std::shared_ptr<Socket>(std::move(impl_));
    return;
  }
  if (!closed_) {
    impl_->RemoveListener(this);
    impl_->Close();
  }
}

void ShimSocket::AddWaiter(ReadinessWaiter* w) {
  std::lock_guard lock(waiters_mu_);
  waiters_.push_back(w);
}

void ShimSocket::RemoveWaiter(ReadinessWaiter* w) {
  std::lock_guard lock(waiters_mu_);
  std::erase(waiters_, w);
}

void ShimSocket::AddEpollWaiter(std::shared_ptr<ReadinessWaiter> w) {
  std::lock_guard lock(waiters_mu_);
  epoll_waiters_.push_back(std::move(w));
}

void ShimSocket::RemoveEpollWaiter(const ReadinessWaiter* w) {
  std::lock_guard lock(waiters_mu_);
  std::erase_if(epoll_waiters_, [w](const auto& p) { return p.get() == w; });
}

std::vector<std::shared_ptr<ReadinessWaiter>> ShimSocket::TakeEpollWaiters() {
  std::lock_guard lock(waiters_mu_);
  return std::move(epoll_waiters_);
}

void RecordOptionIn(std::vector<RecordedOption>& options, int level, int name, const void* value,
                    socklen_t len) {
  std::vector<uint8_t> bytes;
  if (value != nullptr && len > 0) {
    const auto* p = static_cast<const uint8_t*>(value);
    bytes.assign(p, p + len);
  }
  std::erase_if(options, [&](const RecordedOption& o) { return o.level == level && o.name == name; });
  options.push_back(RecordedOption{level, name, std::move(bytes)});
}

void ShimSocket::RecordOption(int level, int name, const void* value, socklen_t len) {
  if (committed_) return;
  RecordOptionIn(options_, level, name, value, len);
}

void ShimSocket::OnReadinessChange(ReadinessMask mask) {
  std::lock_guard lock(waiters_mu_);
  for (ReadinessWaiter* w : waiters_) w->OnReadiness(mask);
  for (const auto& w : epoll_waiters_) w->OnReadiness(mask);
}

void ShimSocket::OnLastFdClosed() {
  if (inherited()) return;  // see the destructor
  std::vector<std::shared_ptr<ReadinessWaiter>> epoll_waiters;
  {
    std::lock_guard lock(waiters_mu_);
    epoll_waiters.swap(epoll_waiters_);
  }
  for (const auto& w : epoll_waiters) w->OnSocketClosed();
  // With a call still working on it, the last of them closes it (CallScope).
  if (calls_.fetch_add(kClosePending, std::memory_order_acq_rel) == 0 ||
      close_at_once_.load(std::memory_order_acquire)) {
    FinishClose();
  }
}

void ShimSocket::FinishClose() {
  if (finished_.exchange(true, std::memory_order_acq_rel)) return;
  // Wakes blocked callers (EBADF) and poll waiters; then no more notifications.
  impl_->Close();
  impl_->RemoveListener(this);
  closed_ = true;
}


}  // namespace pytcp::shim
