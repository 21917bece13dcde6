#include "stack/tcp/tcp_types.h"

namespace pytcp {

std::string_view ToString(TcpState s) {
  switch (s) {
    case TcpState::kClosed: return "CLOSED";
    case TcpState::kListen: return "LISTEN";
    case TcpState::kSynSent: return "SYN_SENT";
    case TcpState::kSynReceived: return "SYN_RECEIVED";
    case TcpState::kEstablished: return "ESTABLISHED";
    case TcpState::kFinWait1: return "FIN_WAIT_1";
    case TcpState::kFinWait2: return "FIN_WAIT_2";
    case TcpState::kCloseWait: return "CLOSE_WAIT";
    case TcpState::kClosing: return "CLOSING";
    case TcpState::kLastAck: return "LAST_ACK";
    case TcpState::kTimeWait: return "TIME_WAIT";
  }
  return "?";
}

uint8_t ToLinuxState(TcpState s) {
  switch (s) {
    case TcpState::kEstablished: return 1;
    case TcpState::kSynSent: return 2;
    case TcpState::kSynReceived: return 3;
    case TcpState::kFinWait1: return 4;
    case TcpState::kFinWait2: return 5;
    case TcpState::kTimeWait: return 6;
    case TcpState::kClosed: return 7;
    case TcpState::kCloseWait: return 8;
    case TcpState::kLastAck: return 9;
    case TcpState::kListen: return 10;
    case TcpState::kClosing: return 11;
  }
  return 7;
}

}  // namespace pytcp
