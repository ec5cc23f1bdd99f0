#!/usr/bin/env bash
# GET /api/admin/users on the shared workload (100,000 UserOperationEvent-shaped events from 100,000 senders):
# a page of 100 (by address, sorted by gas, and the last page) against the whole list read page by page
# (1,000 a page), after `butler index --to-head` of the saved chain, served by `butler serve --watcher`.
# Prints the median time and the size of each answer over REPS requests.
#
# Env: WORKLOAD, STACK, WORK_DIR, PORT, GEN_PORT, BUTLER as scripts/bench/workload.sh says (the saved chain is
#      shared);
#      API_PORT (default 28652), REPS (default 5).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. scripts/bench/workload.sh
API_PORT=${API_PORT:-28652}
REPS=${REPS:-5}
workload_butler

SERVE_PID=
bench_cleanup() { [ -z "$SERVE_PID" ] || { kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; }; }
workload_serve

CONFIG=$WORK_DIR/users.toml
DATA=$WORK_DIR/users-data
workload_config "$DATA" >"$CONFIG"
rm -rf "$DATA"
echo "==> indexing"
"$BUTLER" --config "$CONFIG" --output json -q index --to-head >"$WORK_DIR/users-index.json"
TOKEN=bench-$RANDOM$RANDOM
BUTLER_API__ADMIN_TOKEN=$TOKEN "$BUTLER" --config "$CONFIG" serve --watcher --api-listen "127.0.0.1:$API_PORT" \
  >"$WORK_DIR/users-serve.log" 2>&1 &
SERVE_PID=$!
API=http://127.0.0.1:$API_PORT
for _ in $(seq 1 600); do
  [ "$(curl -sf -H "Authorization: Bearer $TOKEN" "$API/api/admin/users?limit=1" | jq -r .total 2>/dev/null)" -ge 100000 ] 2>/dev/null && break
  sleep 0.1
done
TOTAL=$(curl -sf -H "Authorization: Bearer $TOKEN" "$API/api/admin/users?limit=1" | jq -r .total)
echo "senders: $TOTAL"

# one QUERY: median seconds and bytes over REPS requests
measure() {
  for _ in $(seq 1 "$REPS"); do
    curl -sf -o /dev/null -w '%{time_total} %{size_download}\n' -H "Authorization: Bearer $TOKEN" "$API/api/admin/users?$1"
  done | sort -n | awk '{t[NR]=$1; s=$2} END {printf "%9.1f ms %10d bytes\n", t[int((NR+1)/2)]*1000, s}'
}

printf '\n%-34s %s\n' query "median time, answer size"
for q in "limit=100" "limit=100&sort=gas" "limit=100&sort=lastOp" "limit=100&offset=$((TOTAL - 100))" "limit=1000"; do
  printf '%-34s %s\n' "$q" "$(measure "$q")"
done
START=$(date +%s%N)
BYTES=0
for offset in $(seq 0 1000 $((TOTAL - 1))); do
  n=$(curl -sf -o /dev/null -w '%{size_download}' -H "Authorization: Bearer $TOKEN" "$API/api/admin/users?limit=1000&offset=$offset")
  BYTES=$((BYTES + n))
done
printf '%-34s %9.1f ms %10d bytes\n' "whole list, 1000 a page" "$(echo "($(date +%s%N) - $START) / 1000000" | bc -l)" "$BYTES"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
