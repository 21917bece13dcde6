// _exit and _Exit: a program that ends with _exit() (skipping atexit handlers) still has
// its connections deliver what it wrote, as the kernel would after the process is gone
// (runtime.h, ShutdownForExit). exit() and a return from main are covered by the atexit
// handler the stack registers when it starts.
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/interpose.h"
#include "shim/libc.h"

namespace {

[[noreturn]] void RealExit(int status) {
  pytcp::shim::libc()._exit(status);
  syscall(SYS_exit_group, status);  // only if libc had no _exit
  __builtin_unreachable();
}

}  // namespace

PYTCP_EXPORT void _exit(int status) {
  pytcp::shim::ShutdownForExit();
  RealExit(status);
}

PYTCP_EXPORT void _Exit(int status) {
  pytcp::shim::ShutdownForExit();
  RealExit(status);
}
