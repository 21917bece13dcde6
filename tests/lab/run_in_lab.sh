#!/usr/bin/env bash
# run_in_lab.sh PROGRAM [ARGS...]: brings up a lab of its own, runs PROGRAM inside the lab's
# host namespace with the LAB_* variables (scripts/lab, lab.env) in its environment, and
# takes the lab down afterwards, also when PROGRAM fails or the run is interrupted.
# Exit status: PROGRAM's; 77 (skipped) when not root.
set -euo pipefail
# shellcheck source=../../scripts/lib/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
lab_require_root
[[ $# -ge 1 ]] || { echo "usage: $0 PROGRAM [ARGS...]" >&2; exit 2; }
lab_up "$(lab_unique_name run)"
set -a
lab_load "$LAB_NAME"
set +a
# In the background, so that a signal to this script runs the cleanup trap at once
# instead of after PROGRAM ends (cleanup stops PROGRAM along with the lab).
set +e
lab_exec host "$@" &
wait $!
exit $?
