#include "stack/iface/ip_send_error.h"

#include <cerrno>

namespace pytcp {

int ToErrno(IpSendError e) {
  switch (e) {
    case IpSendError::kNoRoute: return ENETUNREACH;
    case IpSendError::kNoSource: return EADDRNOTAVAIL;
    case IpSendError::kTooBig: return EMSGSIZE;
    case IpSendError::kBroadcastDenied: return EACCES;
    case IpSendError::kLinkError: return ENOBUFS;
    case IpSendError::kHostUnreachable: return EHOSTUNREACH;
    case IpSendError::kDisabled: return ENETDOWN;
  }
  return EIO;
}

}  // namespace pytcp
