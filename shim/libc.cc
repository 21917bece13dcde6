#include "shim/libc.h"

#include <dlfcn.h>

#include <cerrno>
#include <type_traits>

namespace pytcp::shim {
namespace {

// Stands in for a function this C library does not have: fails as the kernel would for a
// system call it does not know.
template <typename F>
struct EnosysStub;
template <typename R, typename... A>
struct EnosysStub<R (*)(A...)> {
  static R Call(A...) {
    errno = ENOSYS;
    if constexpr (std::is_pointer_v<R>) return nullptr;
    if constexpr (!std::is_void_v<R> && !std::is_pointer_v<R>) return static_cast<R>(-1);
  }
};
template <typename R, typename... A>
struct EnosysStub<R (*)(A..., ...)> {
  static R Call(A..., ...) {
    errno = ENOSYS;
    if constexpr (!std::is_void_v<R>) return static_cast<R>(-1);
  }
};

Libc Resolve() {
  Libc l;
#define PYTCP_SHIM_LIBC_RESOLVE(name, type)                      \
  l.name = reinterpret_cast<type>(dlsym(RTLD_NEXT, #name));      \
  if (l.name == nullptr) l.name = &EnosysStub<type>::Call;
  PYTCP_SHIM_LIBC_FUNCTIONS(PYTCP_SHIM_LIBC_RESOLVE)
#undef PYTCP_SHIM_LIBC_RESOLVE
  return l;
}

}  // namespace

const Libc& libc() noexcept {
  static const Libc table = Resolve();
  return table;
}

}  // namespace pytcp::shim
