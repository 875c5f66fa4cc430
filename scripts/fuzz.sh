#!/usr/bin/env bash
# Runs every Go fuzz target (every func Fuzz* in a _test.go file: a new one
# is picked up without being listed) for FUZZTIME (default 5s) each.
#   FUZZTIME=1h bash scripts/fuzz.sh     # the long run of docs/RELIABILITY.md
# Each input that finds new code is minimised with at most FUZZMINIMIZE runs
# (default 10x; Go's own default, 60 s per input, leaves the slow targets (a
# real server, a recorder) no time to fuzz in a short run). A failing input
# is written to testdata/fuzz/<target>/ for `go test` to replay, and fails
# the run. A run that fails without one (the fuzzing engine lost a worker,
# or a slow target's seeds outlasted a short FUZZTIME: "context deadline
# exceeded") is printed whole and tried once more, for twice as long.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-5s}
m=${FUZZMINIMIZE:-10x}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=0
for f in $(grep -rl --include='*_test.go' '^func Fuzz' .); do
  pkg=./$(dirname "${f#./}")
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    tt=$t
    for try in 1 2; do
      echo "== fuzz $pkg $target ($tt)"
      if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$tt" -fuzzminimizetime "$m" "$pkg" >"$log" 2>&1; then
        grep -v '^fuzz: elapsed' "$log" | tail -3
        break
      fi
      grep -v '^fuzz: elapsed' "$log" | tail -40
      if grep -q 'Failing input written to' "$log" || [ "$try" = 2 ]; then
        echo "FAIL: fuzz target $target in $pkg"
        failed=1
        break
      fi
      echo "-- $target failed without a failing input; once more, for twice as long"
      [[ $t =~ ^([0-9]+)s$ ]] && tt=$((BASH_REMATCH[1] * 2))s
    done
  done
done
exit $failed
