#!/usr/bin/env bash
# The exporter part of the demo: starts `butler serve --prometheus` against the demo devnet, shows /healthz
# and a few lines of /metrics (chain head, paymaster deposit, spend, sponsored operations and runway, bundler
# up), then stops it by PID.
#
# Usage: scripts/demo-exporter.sh [CONFIG]
#   CONFIG  the butler config of a running devnet (default: ./run/demo/butler.toml, which
#           `scripts/demo.sh --keep` writes and leaves running)
# Env: EXPORTER_PORT (9464, or a free port when it is busy).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
CONFIG=${1:-$REPO/run/demo/butler.toml}
[ -f "$CONFIG" ] || { echo "no config at $CONFIG: run scripts/demo.sh --keep first" >&2; exit 1; }
for tool in cargo curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "needs \`$tool\` on PATH" >&2; exit 1; }
done

cargo build --bin butler
BUTLER=${CARGO_TARGET_DIR:-$REPO/target}/debug/butler

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=${EXPORTER_PORT:-9464}
for _ in $(seq 1 50); do port_busy "$PORT" || break; PORT=$((20000 + RANDOM % 30000)); done
ADDR=127.0.0.1:$PORT
LOG=$(dirname "$CONFIG")/exporter.log

printf '\n$ butler serve --prometheus --exporter-listen %s &\n' "$ADDR"
"$BUTLER" --config "$CONFIG" serve --prometheus --exporter-listen "$ADDR" 2>"$LOG" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://$ADDR/healthz" && break; sleep 0.1; done

printf '\n$ curl http://%s/healthz\n' "$ADDR"
curl -sf "http://$ADDR/healthz"
printf '\n$ curl -s http://%s/metrics | grep ...\n' "$ADDR"
curl -sf "http://$ADDR/metrics" | grep -E \
  '^butler_(chain_up|chain_head_block|paymaster_(up|deposit_wei|sponsored_userops|spend_wei|runway_seconds)|bundler_up|scrape_duration_seconds)[{ ]'

kill "$PID"
wait "$PID" 2>/dev/null || true
trap - EXIT
echo
echo "exporter stopped (log: $LOG); every metric is described in docs/metrics.md"
