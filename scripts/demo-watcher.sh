#!/usr/bin/env bash
# The watcher and operations part of the demo: starts `butler serve --watcher --fee-manager` against the demo
# devnet (indexing EntryPoint v0.7), ingests a few log events, shows the watcher's own /metrics (indexer head
# and blocks behind, events by source, API requests by route, ingest counters), runs `butler health` across
# every part it started (RPC, paymaster, alto, a probe, the watcher's API and indexer lag, the fee manager),
# exports the logs, takes a backup while serving, restores it and verifies the restored store; then stops
# the server by PID.
#
# Usage: scripts/demo-watcher.sh [CONFIG]
#   CONFIG  the butler config of a running devnet (default: ./run/demo/butler.toml, which
#           `scripts/demo.sh --keep` writes and leaves running)
# Env: API_PORT and FEES_PORT (8080 and 8081, or free ports when they are busy).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BASE=${1:-$REPO/run/demo/butler.toml}
[ -f "$BASE" ] || { echo "no config at $BASE: run scripts/demo.sh --keep first" >&2; exit 1; }
for tool in cargo curl jq; do
  command -v "$tool" >/dev/null 2>&1 || { echo "needs \`$tool\` on PATH" >&2; exit 1; }
done

cargo build --bin butler
BUTLER=${CARGO_TARGET_DIR:-$REPO/target}/debug/butler

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p=$1
  for _ in $(seq 1 50); do port_busy "$p" || { echo "$p"; return 0; }; p=$((20000 + RANDOM % 30000)); done
  echo "no free port found" >&2; return 1
}
API_PORT=$(pick_port "${API_PORT:-8080}")
FEES_PORT=$(pick_port "${FEES_PORT:-8081}")
[ "$API_PORT" != "$FEES_PORT" ] || FEES_PORT=$(pick_port $((API_PORT + 1)))

DIR=$(cd "$(dirname "$BASE")" && pwd)/watcher
rm -rf "$DIR" && mkdir -p "$DIR"
CONFIG=$DIR/butler.toml
RPC=$(sed -n 's/^rpc_url = "\(.*\)"/\1/p' "$BASE" | head -n 1)
EP=$(sed -n 's/^entrypoint = "\(.*\)"/\1/p' "$BASE" | head -n 1)
{
  echo "data_dir = \"$DIR/data\""
  cat "$BASE"
  cat <<TOML

[watcher]
confirmations = 0
poll_interval_secs = 1

[[watcher.sources]]
name = "entrypoint-v07"
preset = "entrypoint"
address = "$EP"
start_block = 0

[api]
listen = "127.0.0.1:$API_PORT"

[fees]
listen = "127.0.0.1:$FEES_PORT"

[exporter]

[[exporter.probes]]
name = "anvil-head"
url = "$RPC"
method = "eth_blockNumber"
TOML
} >"$CONFIG"
echo "config: $CONFIG"
run() { printf '\n$ butler %s\n' "$*"; "$BUTLER" --config "$CONFIG" "$@"; }

LOG=$DIR/serve.log
# WebSocket heads: anvil serves WebSocket on its HTTP port; each new block wakes the indexer at once
export BUTLER_CHAIN__WS_URL=${RPC/#http/ws}
printf '\n$ BUTLER_CHAIN__WS_URL=%s\n' "$BUTLER_CHAIN__WS_URL"
printf '\n$ butler serve --watcher --fee-manager &\n'
"$BUTLER" --config "$CONFIG" serve --watcher --fee-manager 2>"$LOG" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true' EXIT
API=http://127.0.0.1:$API_PORT
for _ in $(seq 1 200); do
  [ "$(curl -sf "$API/health" | jq -r '.caughtUp // false' 2>/dev/null)" = true ] && break
  sleep 0.1
done

printf '\n$ curl -X POST %s/api/logs/ingest (three events)\n' "$API"
curl -sf -H 'content-type: application/json' "$API/api/logs/ingest" -d "[
  {\"ts\": $(date +%s), \"service\": \"alto\", \"level\": \"info\", \"msg\": \"bundle sent\"},
  {\"ts\": $(date +%s), \"service\": \"alto\", \"level\": \"warn\", \"msg\": \"gas price spike\"},
  {\"ts\": $(date +%s), \"service\": \"paymaster-api\", \"level\": \"error\", \"msg\": \"quote denied\"}]"
echo

printf '\n$ curl -s %s/metrics | grep ...\n' "$API"
curl -sf "$API/metrics" | grep -E \
  '^butler_(indexer_(head_block|chain_head_block|blocks_behind|events_total|checkpoint_age_seconds)|store_(bytes|files)|api_requests_total|logs_ingested_total|build_info)[{ ]'

printf '\n$ curl -s %s/metrics | grep butler_chain_ws_   (the newHeads subscription)\n' "$API"
for _ in $(seq 1 100); do curl -sf "$API/metrics" | grep -q '^butler_chain_ws_connected 1' && break; sleep 0.1; done
curl -sf "$API/metrics" | grep '^butler_chain_ws_'

run health

run logs export --level warn --out "$DIR/warn.ndjson"
cat "$DIR/warn.ndjson"

run backup --out "$DIR/backup.tar.gz"
ls -l "$DIR/backup.tar.gz"
run restore "$DIR/backup.tar.gz" --data-dir "$DIR/restored"
sed "s|^data_dir = .*|data_dir = \"$DIR/restored\"|" "$CONFIG" >"$DIR/restored.toml"
printf '\n$ butler --config restored.toml replay --verify\n'
"$BUTLER" --config "$DIR/restored.toml" replay --verify

kill "$PID"
wait "$PID" 2>/dev/null || true
trap - EXIT
echo
echo "watcher stopped (log: $LOG); docs/operations.md covers health, backup and log export"
