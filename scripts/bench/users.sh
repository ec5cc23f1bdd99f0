#!/usr/bin/env bash
# GET /api/admin/users on the shared workload (100,000 UserOperationEvent-shaped events from 100,000 senders):
# a page of 100 (by address, sorted by gas, and the last page) against the whole list read page by page
# (1,000 a page), after `butler index --to-head` of the saved chain, served by `butler serve --watcher`.
# Prints the median time and the size of each answer over REPS requests.
#
# Env: WORKLOAD, STACK, WORK_DIR, PORT, GEN_PORT as in backfill.sh (the same saved chain is reused);
#      API_PORT (default 28652), REPS (default 5), BUTLER (a butler binary; default: a release build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)
WORKLOAD=${WORKLOAD:-$REPO/../shared/bench-workload}
STACK=${STACK:-${BUTLER_DEVNET_HOME:-$REPO/.devnet}}
WORK_DIR=${WORK_DIR:-/tmp/butler-bench}
PORT=${PORT:-28650}
GEN_PORT=${GEN_PORT:-28651}
API_PORT=${API_PORT:-28652}
REPS=${REPS:-5}
export STACK
[ -x "$STACK/node_modules/.bin/anvil" ] || { echo "no devnet install in $STACK (scripts/devnet/install.sh)" >&2; exit 1; }
if [ -z "${BUTLER:-}" ]; then
  echo "==> building butler (release)"
  cargo build --release --quiet --bin butler
  BUTLER=$REPO/target/release/butler
fi

WL=$WORK_DIR/workload
mkdir -p "$WORK_DIR"
if [ ! -f "$WL/chain/state.json" ]; then
  echo "==> building the saved chain in $WL (make-chain.sh, about 2 minutes)"
  rm -rf "$WL"; cp -r "$WORKLOAD" "$WL"; chmod -R u+w "$WL"
  WORKLOAD_DIR=$WL PORT=$GEN_PORT "$WL/make-chain.sh" >"$WORK_DIR/make-chain.log" 2>&1 \
    || { tail -20 "$WORK_DIR/make-chain.log" >&2; exit 1; }
fi
CONTRACT=$(jq -r .contract "$WL/chain/chain.json")

echo "==> serving the chain on 127.0.0.1:$PORT"
WORKLOAD_DIR=$WL "$WL/serve-chain.sh" start "$PORT"
SERVE_PID=
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
  WORKLOAD_DIR=$WL "$WL/serve-chain.sh" stop "$PORT"
}
trap cleanup EXIT

CONFIG=$WORK_DIR/users.toml
DATA=$WORK_DIR/users-data
cat >"$CONFIG" <<TOML
data_dir = "$DATA"
[chain]
rpc_url = "http://127.0.0.1:$PORT"
chain_id = 31337
[watcher]
[[watcher.sources]]
name = "bench"
preset = "entrypoint"
address = "$CONTRACT"
start_block = 0
TOML
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
