#!/usr/bin/env bash
# The bundler supervision part of the demo: starts `butler serve --watcher` with a [supervisor] section
# (the devnet's alto as template, a key pool of two fresh funded keys), spawns a second bundler with
# `butler bundlers spawn`, waits until it is UP, sends a sponsored UserOperation through it (through
# butler's policy gateway), lists the bundlers and shows its log lines, then stops the watcher, which
# stops the bundler.
#
# Usage: scripts/demo-bundlers.sh [CONFIG]
#   CONFIG  the butler config of a running devnet (default: ./run/demo/butler.toml, which
#           `scripts/demo.sh --keep` writes and leaves running)
# Env: BUTLER_DEVNET_HOME (./.devnet), API_PORT (a free port).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
CONFIG=${1:-$REPO/run/demo/butler.toml}
[ -f "$CONFIG" ] || { echo "no config at $CONFIG: run scripts/demo.sh --keep first" >&2; exit 1; }
DIR=$(cd "$(dirname "$CONFIG")" && pwd)
DEVNET_BIN=${BUTLER_DEVNET_HOME:-$REPO/.devnet}/node_modules/.bin
for tool in cargo curl jq; do
  command -v "$tool" >/dev/null 2>&1 || { echo "needs \`$tool\` on PATH" >&2; exit 1; }
done
[ -x "$DEVNET_BIN/alto" ] || { echo "alto is not installed in $DEVNET_BIN: run scripts/devnet/install.sh" >&2; exit 1; }

cargo build --bin butler
BUTLER=${CARGO_TARGET_DIR:-$REPO/target}/debug/butler
RPC=$(sed -n 's/^rpc_url = "\(.*\)"$/\1/p' "$CONFIG" | head -1)

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=${API_PORT:-$((20000 + RANDOM % 30000))}
for _ in $(seq 1 50); do port_busy "$PORT" || break; PORT=$((20000 + RANDOM % 30000)); done
LOW=$((20000 + RANDOM % 30000))

# two fresh keys (an executor and a utility key), funded on the devnet, in a 0600 file
KEYS=$DIR/bundler-keys
(umask 077 && : >"$KEYS")
for _ in 1 2; do
  key=0x$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  addr=$("$DEVNET_BIN/cast" wallet address --private-key "$key")
  "$DEVNET_BIN/cast" rpc --rpc-url "$RPC" anvil_setBalance "$addr" 0x56bc75e2d63100000 >/dev/null
  echo "$key" >>"$KEYS"
done

SUP_CONFIG=$DIR/butler-bundlers.toml
{
  echo "data_dir = \"$DIR/data\""
  cat "$CONFIG"
  sed -n '/^\[supervisor\]/,/^\[exporter\]/p' config/butler.example.toml | sed '$d' \
    | sed "s|^port_range = .*|port_range = [$LOW, $((LOW + 19))]|; s|^executor_keys_file = .*|executor_keys_file = \"$KEYS\"|; s|^health_interval_secs = .*|health_interval_secs = 2|"
  printf '[api]\nurl = "http://127.0.0.1:%s"\n' "$PORT"
} >"$SUP_CONFIG"
export BUTLER_API__ADMIN_TOKEN=demo-admin-token
LOG=$DIR/watcher.log
run() { printf '\n$ butler'; printf ' %q' "$@"; printf '\n'; "$BUTLER" --config "$SUP_CONFIG" "$@"; }

printf '\n$ butler serve --watcher --api-listen 127.0.0.1:%s &   # [supervisor] from the example config\n' "$PORT"
PATH=$DEVNET_BIN:$PATH "$BUTLER" --config "$SUP_CONFIG" serve --watcher --api-listen "127.0.0.1:$PORT" 2>"$LOG" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && break; sleep 0.1; done

run bundlers spawn --base alto --name "second bundler" --min-priority-fee-gwei 0 --delay-ms 20
ID=$("$BUTLER" --config "$SUP_CONFIG" bundlers list --output json | jq -r '.bundlers[] | select(.kind == "spawned") | .id' | head -1)
for _ in $(seq 1 900); do
  STATUS=$("$BUTLER" --config "$SUP_CONFIG" bundlers list --output json | jq -r --arg id "$ID" '.bundlers[] | select(.id == $id) | .status')
  [ "$STATUS" = UP ] && break
  sleep 0.1
done
[ "$STATUS" = UP ] || { echo "bundler $ID did not come up; see $LOG" >&2; exit 1; }
URL=$("$BUTLER" --config "$SUP_CONFIG" bundlers list --output json | jq -r --arg id "$ID" '.bundlers[] | select(.id == $id) | .rpcUrl')
run probe userop --bundler "$URL" --count 1
run bundlers list
run bundlers logs "$ID" -n 5

kill "$PID"
wait "$PID" 2>/dev/null || true
trap - EXIT
echo
echo "watcher stopped, and with it $ID (log: $LOG; registry: $DIR/data/bundlers/registry.json); see docs/bundlers.md"
