# shellcheck shell=bash
# What every lab test script counts and prints, sourced after scripts/lib/lab.sh:
#   check NAME CMD...   runs CMD; prints "ok   - NAME" or "FAIL - NAME" and counts it
#   has FILE REGEX      whether FILE has a line matching the extended REGEX
# A script ends with: echo "$passed passed, $failed failed"; [[ $failed -eq 0 ]]
passed=0
failed=0
check() {  # check NAME CMD...
  local name=$1; shift
  if "$@"; then echo "ok   - $name"; passed=$((passed + 1)); else echo "FAIL - $name"; failed=$((failed + 1)); fi
}
has() { grep -qE "$2" "$1"; }  # has FILE REGEX
