#!/usr/bin/env bash
# pthread_cancel under the shim (issue 19 item 3). Usage: cancel_lab_test.sh BUILD_DIR
# shim_cancel (cancel_test.cc) runs natively against the kernel (far namespace -> peer) and
# under LD_PRELOAD=libpytcp.so (host namespace, where only PyTCP has an address): threads
# blocked in recv, accept, poll, select, epoll_wait and a pipe read are cancelled and join
# with PTHREAD_CANCELED, the sockets and the stack work afterwards, and a 10 s loop of
# cancelled threads neither crashes nor leaks an fd.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB=$BUILD/shim/libpytcp.so
PROG=$BUILD/tests/shim/shim_cancel
lab_up "$(lab_unique_name cancel)"
set -a; lab_load "$LAB_NAME"; set +a
TMP=$(mktemp -d)
[[ -z ${KEEP_TMP:-} ]] && lab_defer rm -rf "$TMP"
[[ -n ${KEEP_TMP:-} ]] && echo "logs in $TMP"
ME=10.77.0.2
SHIM=(env LD_PRELOAD="$LIB" PYTCP_IFACE="$LAB_TAP" PYTCP_IP4="$ME/24" PYTCP_GW4="$LAB_PEER_IP4"
      PYTCP_IP6=none)

source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/checks.sh"
run() {  # run NS LOG [PREFIX...]: shim_cancel, bounded
  local ns=$1 log=$2; shift 2
  lab_exec "$ns" "$@" env CANCEL_PEER="$LAB_PEER_IP4" CANCEL_LOOP_SECONDS=10 \
    timeout 60 "$PROG" --gtest_brief=1 >"$log" 2>&1
}
show() { grep -E "FAILED|Failure|cancelled|FATAL|terminate|Expected|Which is|Value of" "$1" | sed 's/^/    /' | head -30 || true; }
check "pthread_cancel: Linux kernel (far namespace)" run far "$TMP/kernel.log"
show "$TMP/kernel.log"
check "pthread_cancel: PyTCP under LD_PRELOAD (host namespace)" run host "$TMP/pytcp.log" "${SHIM[@]}"
show "$TMP/pytcp.log"

echo "cancel lab: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
