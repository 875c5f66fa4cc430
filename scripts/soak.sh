#!/usr/bin/env bash
# Soak: runs the real binary for MINUTES under calls and chat load (rounds of
# `calls loadtest`, each joining, talking, chatting and leaving), samples the
# server's goroutines, open files and RSS from /metrics every 30 s, and at
# the end checks that every acknowledged post is stored and the database is
# intact. Prints a CSV of the samples and a summary.
#   bash scripts/soak.sh [minutes] [round-seconds]
set -euo pipefail
minutes=${1:-30}
round=${2:-170}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill "$pid" "$sampler" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$work/calls" .
data="$work/data"
port=$((20000 + RANDOM % 20000))
printf 'soak-password\n' | "$work/calls" user add admin --admin --password-stdin --data "$data" >/dev/null
"$work/calls" serve --insecure --listen "127.0.0.1:$port" --rtc-port 0 --turn-port 0 --data "$data" --log-level warn 2>"$work/server.log" &
pid=$!
until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do sleep 0.05; done

metric() { awk -v m="$1" '$1 == m {printf "%d", $2}' "$work/metrics"; }
echo "t_s,goroutines,open_fds,rss_mib,ws_clients,call_participants"
(
  t0=$(date +%s)
  while true; do
    curl -fsS "http://127.0.0.1:$port/metrics" >"$work/metrics" 2>/dev/null || true
    echo "$(( $(date +%s) - t0 )),$(metric go_goroutines),$(metric process_open_fds),$(( $(metric process_resident_memory_bytes) / 1048576 )),$(metric calls_websocket_clients),$(metric calls_call_participants)"
    sleep 30
  done
) &
sampler=$!

end=$(( $(date +%s) + minutes * 60 ))
rounds=0 acked=0 failed_parts=0 lost=0
while [ "$(date +%s)" -lt "$end" ]; do
  left=$(( end - $(date +%s) ))
  d=$(( left < round ? left : round ))
  [ "$d" -lt 20 ] && break
  "$work/calls" loadtest --url "http://127.0.0.1:$port" --admin-user admin --admin-password soak-password \
    --calls 4 --participants 6 --speakers 2 --video-publishers 1 --screen-sharers 1 \
    --chat-clients 20 --posts-per-second 10 --ramp 10 --duration "${d}s" --keep --json \
    >"$work/round$rounds.json" 2>>"$work/loadtest.log"
  r=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); c=r.get("chat") or {}; print(c.get("posts_sent",0)-c.get("posts_failed",0), r["participants"]["failed"], r["media"]["loss_percent"])' "$work/round$rounds.json")
  set -- $r
  acked=$((acked + $1)); failed_parts=$((failed_parts + $2))
  echo "# round $rounds: ${d}s, posts acknowledged $1, failed participants $2, loss $3 %" >&2
  rounds=$((rounds + 1))
done
sleep 31 # one more sample after the load
kill "$sampler" 2>/dev/null || true
kill -TERM "$pid"; wait "$pid" || true
stored=$(sqlite3 "$data/calls.db" "SELECT count(*) FROM posts WHERE message LIKE '%load test post%' AND deleted_at IS NULL")
check=$(sqlite3 "$data/calls.db" "PRAGMA integrity_check")
echo "# $rounds rounds over $minutes min; posts acknowledged $acked, stored $stored; failed participants $failed_parts; integrity_check: $check" >&2
[ "$stored" -ge "$acked" ] && [ "$check" = ok ]
