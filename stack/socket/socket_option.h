// setsockopt/getsockopt value helpers with the kernel's conventions: a value shorter than
// the option's type is EINVAL, a getsockopt buffer shorter than the value gets it cut and
// *len the bytes written.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/base/result.h"

namespace pytcp {

template <typename T>
Result<void, int> ReadOpt(const void* value, socklen_t len, T* out) {
  if (value == nullptr || len < static_cast<socklen_t>(sizeof(T))) return Err{EINVAL};
  std::memcpy(out, value, sizeof(T));
  return Ok();
}

template <typename T>
Result<void, int> WriteOpt(void* value, socklen_t* len, T v) {
  if (value == nullptr || len == nullptr) return Err{EFAULT};
  if (static_cast<int>(*len) < 0) return Err{EINVAL};  // the kernel's optlen is an int
  const socklen_t n = std::min<socklen_t>(*len, sizeof(T));
  std::memcpy(value, &v, static_cast<size_t>(n));
  *len = n;
  return Ok();
}

// do_ip_getsockopt: an int-valued IPPROTO_IP option asked for with a buffer shorter than
// an int gets one byte when the value fits in one.
inline Result<void, int> WriteIpOpt(void* value, socklen_t* len, int v) {
  if (value == nullptr || len == nullptr) return Err{EFAULT};
  if (static_cast<int>(*len) < 0) return Err{EINVAL};
  if (*len > 0 && *len < sizeof(int) && v >= 0 && v <= 255) {
    const auto byte = static_cast<unsigned char>(v);
    std::memcpy(value, &byte, 1);
    *len = 1;
    return Ok();
  }
  return WriteOpt(value, len, v);
}

}  // namespace pytcp
