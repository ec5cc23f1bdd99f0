#!/usr/bin/env bash
# Inclusion-to-indexed latency of `butler serve --watcher`: on a private anvil (automine: a transaction is in a
# block when eth_sendTransaction returns), BLOCKS blocks each holding one WorkflowStarted event of the test
# emitter; for each, the time from its inclusion to GET /workflows/{id} answering 200 (the event indexed and
# served). Once with polling only ([watcher] poll_interval_secs, default 5) and once with [chain] ws_url
# (newHeads over anvil's WebSocket). Before each block the script waits a random time (below the poll interval
# when polling, below 1 s with heads) so blocks do not line up with the poll timer; the seed is printed.
# Median and p99 per mode.
#
# Env: BLOCKS (default 50), POLL_SECS (default 5), SEED (default: random), MODES (default "poll ws"),
#      PORT / API_PORT (defaults 28660 / 28661), STACK (the devnet install, default $BUTLER_DEVNET_HOME or
#      ./.devnet), WORK_DIR (default /tmp/butler-bench-heads), BUTLER (a butler binary; default: a release
#      build of this tree).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)
BLOCKS=${BLOCKS:-50}
POLL_SECS=${POLL_SECS:-5}
SEED=${SEED:-$RANDOM}
MODES=${MODES:-poll ws}
PORT=${PORT:-28660}
API_PORT=${API_PORT:-28661}
STACK=${STACK:-${BUTLER_DEVNET_HOME:-$REPO/.devnet}}
WORK_DIR=${WORK_DIR:-/tmp/butler-bench-heads}
BIN=$STACK/node_modules/.bin
[ -x "$BIN/anvil" ] || { echo "no devnet install in $STACK (scripts/devnet/install.sh)" >&2; exit 1; }
if [ -z "${BUTLER:-}" ]; then
  echo "==> building butler (release)"
  cargo build --release --quiet --bin butler
  BUTLER=$REPO/target/release/butler
fi
RANDOM=$SEED
echo "seed $SEED, $BLOCKS blocks per mode, poll interval $POLL_SECS s"

RPC=http://127.0.0.1:$PORT
DEV=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
rm -rf "$WORK_DIR"; mkdir -p "$WORK_DIR"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

rpc() { curl -sf -m 10 -H 'content-type: application/json' --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$RPC" | jq -r .result; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

"$BIN/anvil" --host 127.0.0.1 --port "$PORT" --silent >"$WORK_DIR/anvil.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do rpc eth_chainId '[]' >/dev/null 2>&1 && break; sleep 0.1; done
CODE=$(jq -r .bytecode tests/contracts/artifacts/TestEmitter.json)
TX=$(rpc eth_sendTransaction "[{\"from\":\"$DEV\",\"data\":\"$CODE\",\"gas\":\"0x1000000\"}]")
EMITTER=$(rpc eth_getTransactionReceipt "[\"$TX\"]" | jq -r .contractAddress)
START=$("$BIN/cast" sig 'start(bytes32)')

# run MODE WS_LINE SPREAD_SECS: starts the watcher, sends BLOCKS blocks, prints the sorted latencies (ms) to MODE.ms
run() {
  local mode=$1 ws_line=$2 spread=$3 data=$WORK_DIR/data-$1
  cat >"$WORK_DIR/$mode.toml" <<TOML
data_dir = "$data"
[chain]
rpc_url = "$RPC"
$ws_line
[watcher]
confirmations = 0
poll_interval_secs = $POLL_SECS
[[watcher.sources]]
name = "wf"
preset = "workflow"
address = "$EMITTER"
start_block = 0
TOML
  "$BUTLER" --config "$WORK_DIR/$mode.toml" serve --watcher --api-listen "127.0.0.1:$API_PORT" \
    >"$WORK_DIR/$mode.log" 2>&1 &
  local pid=$!
  PIDS+=($pid)
  local api=http://127.0.0.1:$API_PORT
  for _ in $(seq 1 300); do curl -sf -o /dev/null "$api/health" && break; sleep 0.1; done
  if [ -n "$ws_line" ]; then
    for _ in $(seq 1 300); do curl -sf "$api/metrics" | grep -q '^butler_chain_ws_connected 1' && break; sleep 0.1; done
  fi
  : >"$WORK_DIR/$mode.raw"
  for i in $(seq 1 "$BLOCKS"); do
    local id
    id=$(printf '0x%s%062x' "$([ "$mode" = poll ] && echo 0a || echo 0b)" "$i")
    sleep "$(( RANDOM % spread )).$(printf '%03d' $(( RANDOM % 1000 )))"
    rpc eth_sendTransaction "[{\"from\":\"$DEV\",\"to\":\"$EMITTER\",\"data\":\"$START${id#0x}\",\"gas\":\"0x100000\"}]" >/dev/null
    local t0 t1
    t0=$(now_ms)
    until curl -sf -o /dev/null "$api/workflows/$id"; do sleep 0.01; done
    t1=$(now_ms)
    echo $(( t1 - t0 )) >>"$WORK_DIR/$mode.raw"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  sort -n "$WORK_DIR/$mode.raw" >"$WORK_DIR/$mode.ms"
}

pct() { # pct FILE P: the P-th percentile (nearest rank)
  local n rank
  n=$(wc -l <"$1"); rank=$(( (n * $2 + 99) / 100 )); [ "$rank" -lt 1 ] && rank=1
  sed -n "${rank}p" "$1"
}

for mode in $MODES; do
  case $mode in
    poll)
      echo "==> polling every $POLL_SECS s"
      run poll "" "$POLL_SECS" ;;
    ws)
      echo "==> WebSocket heads (ws://127.0.0.1:$PORT)"
      run ws "ws_url = \"ws://127.0.0.1:$PORT\"" 1
      grep -q "subscribed to new heads over WebSocket" "$WORK_DIR/ws.log" || { echo "the ws run never subscribed; see $WORK_DIR/ws.log" >&2; exit 1; } ;;
    *) echo "unknown mode $mode (poll, ws)" >&2; exit 2 ;;
  esac
done

printf '\n%-22s %10s %10s %10s\n' mode median_ms p99_ms max_ms
for mode in $MODES; do
  label="WebSocket heads"; [ "$mode" = poll ] && label="polling ($POLL_SECS s)"
  printf '%-22s %10s %10s %10s\n' "$label" "$(pct "$WORK_DIR/$mode.ms" 50)" "$(pct "$WORK_DIR/$mode.ms" 99)" "$(tail -1 "$WORK_DIR/$mode.ms")"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
