#include "stack/tcp/tcp_listener.h"

namespace pytcp {

void TcpListener::OnEstablished(std::shared_ptr<TcpConnection> conn) {
  OnEmbryonicClosed();
  accept_queue_.push_back(std::move(conn));
  if (observer_ != nullptr) observer_->OnTcpEvent();
}

std::shared_ptr<TcpConnection> TcpListener::Accept() {
  if (accept_queue_.empty()) return nullptr;
  auto conn = std::move(accept_queue_.front());
  accept_queue_.pop_front();
  conn->clear_listener();
  return conn;
}

}  // namespace pytcp
