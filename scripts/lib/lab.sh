# Helpers for tests and demos that need the lab (scripts/lab). Source it from bash:
#
#   source "$(dirname "$0")/../../scripts/lib/lab.sh"   # path relative to your script
#   lab_require_root                  # exit 77 (meson's "skipped") unless root
#   lab_up "$(lab_unique_name mytest)"  # brings a lab up; sets the LAB_* variables of lab.env
#   lab_defer rm -f "$tmpfile"        # optional: more cleanup, run before the lab goes down
#   lab_exec host ./my_program        # run inside the host namespace (peer, far likewise)
#   ...                               # any failure, exit or signal: the lab is torn down
#   lab_down                          # optional: explicit teardown (checks it succeeded)
#
# lab_up installs EXIT/INT/TERM traps that run the deferred commands and take down every
# lab this shell brought up, preserving the script's exit status. Do not set your own EXIT
# trap after lab_up; use lab_defer.
#
# The variables (see scripts/lab, write_env): LAB_NAME LAB_RUN_DIR LAB_HOST_NS LAB_PEER_NS
# LAB_FAR_NS LAB_TAP LAB_BRIDGE LAB_PEER_IP4 LAB_PEER_IP6 LAB_PEER_MAC LAB_FAR_IP4
# LAB_FAR_IP6 LAB_GW4 LAB_DNS4 LAB_DNS6 LAB_DHCP_FIRST LAB_DHCP_LAST LAB_HTTP_PORT
# LAB_HTTP_ROOT LAB_HTTP_10M_SHA256 LAB_IPERF_PORT LAB_ECHO_PORT ...

PYTCP_ROOT=${PYTCP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LAB_SCRIPT=$PYTCP_ROOT/scripts/lab
_LAB_UP=()
_LAB_DEFERRED=()
_LAB_TRAPPED=0

lab_require_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: the lab needs root (network namespaces, TAP)" >&2
    exit 77
  fi
}

# A lab name unique to this process: PREFIX-PID-RANDOM.
lab_unique_name() {
  echo "${1:-t}-$$-$RANDOM"
}

_lab_cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#_LAB_DEFERRED[@]} - 1; i >= 0; i--)); do
    eval "${_LAB_DEFERRED[i]}" || true
  done
  _LAB_DEFERRED=()
  for i in "${_LAB_UP[@]}"; do
    "$LAB_SCRIPT" down "$i" >/dev/null 2>&1 || echo "lab.sh: 'scripts/lab down $i' failed" >&2
  done
  _LAB_UP=()
  exit "$rc"
}

_lab_install_traps() {
  if ((_LAB_TRAPPED == 0)); then
    trap _lab_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    _LAB_TRAPPED=1
  fi
}

# Runs "$@" at cleanup, before the labs go down (last deferred runs first).
lab_defer() {
  _lab_install_traps
  local q
  printf -v q '%q ' "$@"
  _LAB_DEFERRED+=("$q")
}

# lab_up NAME: brings the lab up (its output goes to stderr) and loads its lab.env.
lab_up() {
  local name=${1:?lab_up needs a name}
  _lab_install_traps
  _LAB_UP+=("$name")  # registered first: a failed `up` is cleaned too
  "$LAB_SCRIPT" up "$name" >&2 || {
    echo "lab.sh: scripts/lab up $name failed" >&2
    return 1
  }
  lab_load "$name"
}

# lab_load NAME: sets the LAB_* variables of an existing lab.
lab_load() {
  local env=${PYTCP_LAB_RUN:-/run/pytcp-lab}/$1/lab.env
  [[ -f $env ]] || {
    echo "lab.sh: lab $1 is not up" >&2
    return 1
  }
  # shellcheck disable=SC1090
  source "$env"
}

# lab_down [NAME]: takes the lab down now (default: the last one brought up).
lab_down() {
  local name=${1:-} i keep=()
  if [[ -z $name ]] && ((${#_LAB_UP[@]} > 0)); then
    name=${_LAB_UP[${#_LAB_UP[@]} - 1]}
  fi
  [[ -n $name ]] || return 0
  "$LAB_SCRIPT" down "$name" >&2 || return 1
  for i in "${_LAB_UP[@]}"; do
    [[ $i == "$name" ]] || keep+=("$i")
  done
  _LAB_UP=("${keep[@]}")
}

# lab_wait_released PID [TRIES]: waits (10 ms steps, 300 by default) until process PID is
# gone or a zombie: its files, a TAP among them, are closed by then, while a detached
# process (pytcpd started on demand) may be reaped by init a second or two later.
lab_wait_released() {
  local pid=$1 i
  for ((i = 0; i < ${2:-300}; i++)); do
    [[ -r /proc/$pid/stat ]] || return 0
    [[ $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) == Z ]] && return 0
    sleep 0.01
  done
  return 1
}

# lab_stop_daemon RUN_DIR: stops the pytcpd of the lab's TAP whose pid file is in RUN_DIR
# (SIGTERM, up to 5 s to let go of the TAP, then SIGKILL); nothing if none runs.
lab_stop_daemon() {
  local pid
  pid=$(cat "$1/$LAB_TAP.pid" 2>/dev/null) || return 0
  [[ -n $pid ]] || return 0
  kill "$pid" 2>/dev/null || return 0
  lab_wait_released "$pid" 500 || kill -9 "$pid" 2>/dev/null || true
}

# lab_exec host|peer|far CMD...: runs CMD in that namespace of the current lab (LAB_NAME).
lab_exec() {
  local role=$1 ns
  shift
  case $role in
    host) ns=$LAB_HOST_NS ;;
    peer) ns=$LAB_PEER_NS ;;
    far) ns=$LAB_FAR_NS ;;
    kern) ns=${LAB_KERN_NS:?lab_exec kern: call lab_add_kernel_ns first} ;;
    *)
      echo "lab_exec: host, peer, far or kern, not '$role'" >&2
      return 2
      ;;
  esac
  ip netns exec "$ns" "$@"
}

# lab_add_kernel_ns [ADDR]: adds a namespace LAB_NAME-kern whose kernel owns ADDR/24
# (default 10.77.0.3, outside the DHCP range) on a veth attached to the lab's bridge beside
# the TAP, with the peer as default gateway: the kernel's own TCP/IP on the same bridge path
# that PyTCP uses (scripts/bench compares the two). Sets LAB_KERN_NS and LAB_KERN_IP4;
# `lab_exec kern CMD` runs there. Removed at cleanup (before the lab goes down).
lab_add_kernel_ns() {
  local addr=${1:-10.77.0.3} ns=${LAB_NAME:?lab_add_kernel_ns needs a lab (lab_up)}-kern
  ip netns add "$ns" || return 1
  lab_defer ip netns del "$ns"
  mkdir -p "/etc/netns/$ns" && lab_defer rm -rf -- "/etc/netns/$ns"
  printf 'nameserver %s\n' "$LAB_PEER_IP4" >"/etc/netns/$ns/resolv.conf"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$LAB_HOST_NS" link add veth-k type veth peer name veth-kk netns "$ns" || return 1
  ip -n "$LAB_HOST_NS" link set veth-k master "$LAB_BRIDGE" up
  ip -n "$ns" -batch - <<EOF || return 1
link set lo up
addr add $addr/24 dev veth-kk
link set veth-kk up
route add default via $LAB_GW4
EOF
  LAB_KERN_NS=$ns
  LAB_KERN_IP4=$addr
}

# A second TAP for a stack on two interfaces (a router, issue 18): tap8 in the host
# namespace on its own bridge (br8), and a kernel host namespace behind it on 10.78.0.128/25
# (host 10.78.0.130, default route via the router's 10.78.0.129), the link's MTU MTU (1500).
# Sets LAB_TAP2, LAB_B_NS, LAB_B_IP4, LAB_B_ROUTER_IP4, LAB_B_NET4. The namespace goes
# with the lab; tap8, br8 and veth-b with the host namespace.
lab_add_second_tap() {
  local mtu=${1:-1500} ns=${LAB_NAME:?lab_add_second_tap needs a lab (lab_up)}-b
  ip netns add "$ns" || return 1
  lab_defer ip netns del "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$LAB_HOST_NS" -batch - <<EOF || return 1
link add br8 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
tuntap add name tap8 mode tap
link set tap8 mtu $mtu
link add veth-b mtu $mtu type veth peer name veth-bb netns $ns
link set tap8 master br8 up
link set veth-b master br8 up
link set br8 up
EOF
  ip netns exec "$LAB_HOST_NS" sysctl -qw net.ipv6.conf.br8.disable_ipv6=1 \
    net.ipv6.conf.tap8.disable_ipv6=1 net.ipv6.conf.veth-b.disable_ipv6=1
  ip -n "$ns" -batch - <<EOF || return 1
link set lo up
link set veth-bb mtu $mtu
addr add 10.78.0.130/25 dev veth-bb
link set veth-bb up
route add default via 10.78.0.129
EOF
  LAB_TAP2=tap8
  LAB_B_NS=$ns
  LAB_B_IP4=10.78.0.130
  LAB_B_ROUTER_IP4=10.78.0.129
  LAB_B_NET4=10.78.0.128/25
}

# lab_start_holder ENV_CMD...: in the host namespace, under ENV_CMD (env LD_PRELOAD=...
# PYTCP_...=...), a python3 that opens a socket, so that the shim brings its stack up, and
# then sleeps. Sets LAB_HOLDER_PID to the program's pid (ip netns exec and env exec in
# place, so $! is it); it is stopped at cleanup. lab_stop_holder PID stops it and waits
# until its TAPs are let go.
lab_start_holder() {
  ip netns exec "$LAB_HOST_NS" "$@" python3 -c 'import socket, time; s = socket.socket(); time.sleep(600)' \
    </dev/null &
  LAB_HOLDER_PID=$!
  lab_defer sh -c "kill $LAB_HOLDER_PID 2>/dev/null; true"
}
lab_stop_holder() {
  kill "$1" 2>/dev/null || true
  lab_wait_released "$1" || true
}

# lab_retry TRIES CMD...: runs CMD (output discarded) until it succeeds, at most TRIES
# times, 0.1 s apart.
lab_retry() {
  local tries=$1 i
  shift
  for ((i = 0; i < tries; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
