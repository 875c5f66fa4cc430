#!/usr/bin/env bash
# Footprint of the calls binary: stripped size, time from exec to the first
# 200 on /healthz, and resident memory once idle. Prints medians of N runs.
#   bash scripts/footprint.sh [runs]
set -euo pipefail
runs=${1:-5}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/calls" .
size=$(stat -c %s "$work/calls")
echo "binary: $((size / 1024 / 1024)) MiB ($size bytes), $(go env GOOS)/$(go env GOARCH), stripped"

port=$((20000 + RANDOM % 20000))
starts=() rss=()
for i in $(seq "$runs"); do
  data="$work/data$i"
  printf 'footprint-pass\n' | "$work/calls" user add admin --admin --password-stdin --data "$data" >/dev/null
  t0=$(date +%s%N)
  "$work/calls" serve --insecure --listen "127.0.0.1:$port" --data "$data" --log-level warn &
  pid=$!
  until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do sleep 0.005; done
  t1=$(date +%s%N)
  starts+=($(( (t1 - t0) / 1000000 )))
  sleep 3 # idle
  rss+=($(awk '/VmRSS/ {print $2}' "/proc/$pid/status"))
  kill -TERM "$pid"; wait "$pid" || true
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "exec to /healthz 200: median $(median "${starts[@]}") ms over $runs runs (${starts[*]})"
echo "idle RSS after start: median $(( $(median "${rss[@]}") / 1024 )) MiB over $runs runs (${rss[*]} KiB)"
