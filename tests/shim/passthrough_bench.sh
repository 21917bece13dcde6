#!/usr/bin/env bash
# passthrough_bench.sh BUILD_DIR: the cost of the shim on calls that are not on stack
# sockets, natively and under LD_PRELOAD=libpytcp.so (no TAP needed: no INET socket is made).
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
BENCH=$BUILD/tests/shim/shim_passthrough_bench
native=$("$BENCH")
shim=$(LD_PRELOAD="$BUILD/shim/libpytcp.so" PYTCP_IFACE=pytcp-absent0 "$BENCH")
printf '%-28s %9s %9s %7s\n' "call (ns/call)" native shim ratio
paste <(echo "$native") <(echo "$shim") | awk -F'\t' '{
  n = split($1, a, " "); m = split($2, b, " ");
  name = a[1]; for (i = 2; i < n; i++) name = name " " a[i];
  printf "%-28s %9.1f %9.1f %7.2f\n", name, a[n], b[m], b[m] / a[n] }'
