#!/usr/bin/env bash
# Runs every Go fuzz target for FUZZTIME (default 5s) each.
#   FUZZTIME=10m bash scripts/fuzz.sh    # a long run, as in docs/RELIABILITY.md
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-5s}
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg=./$(dirname "${f#./}")
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "== fuzz $pkg $target ($t)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" "$pkg" 2>&1 | grep -v '^fuzz: elapsed' | tail -3
  done
done
