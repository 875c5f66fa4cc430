#!/usr/bin/env bash
# Runs every Go fuzz target (every func Fuzz* in a _test.go file: a new one
# is picked up without being listed) for FUZZTIME (default 5s) each.
#   FUZZTIME=10m bash scripts/fuzz.sh    # a long run, as in docs/RELIABILITY.md
# Each input that finds new code is minimised with at most FUZZMINIMIZE runs
# (default 10x; Go's own default, 60 s per input, leaves the slow targets (a
# real server, a recorder) no time to fuzz in a short run). A failing input
# is still written to testdata/fuzz/<target>/ for `go test` to replay.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-5s}
m=${FUZZMINIMIZE:-10x}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg=./$(dirname "${f#./}")
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "== fuzz $pkg $target ($t)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" -fuzzminimizetime "$m" "$pkg" 2>&1 | grep -v '^fuzz: elapsed' | tail -3
  done
done
