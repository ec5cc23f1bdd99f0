#!/usr/bin/env bash
# Bundler supervision benchmark on a devnet of its own (debug build, real alto processes):
#   1. time from `POST /api/admin/bundlers/spawn` to UP for one alto instance;
#   2. butler's CPU (share of one core over SAMPLE_SECS) and RSS with 10 supervised idle instances;
#   3. the policy gateway's added latency per eth_sendUserOperation, as the ratio of the median round trip
#      through the gateway to the median straight to alto's internal port (the operation is one alto
#      refuses at validation, so no bundle is sent; the gateway parses it and checks its fee floor).
# Everything listens on 127.0.0.1 and is stopped at the end. Knobs: INSTANCES (10), SAMPLE_SECS (10),
# CALLS (300), BUTLER_DEVNET_HOME.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO"
INSTANCES=${INSTANCES:-10}
SAMPLE_SECS=${SAMPLE_SECS:-10}
CALLS=${CALLS:-300}
DEVNET_BIN=${BUTLER_DEVNET_HOME:-$REPO/.devnet}/node_modules/.bin
for tool in cargo curl jq python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "needs \`$tool\` on PATH" >&2; exit 1; }
done
cargo build --bin butler
BUTLER=${CARGO_TARGET_DIR:-$REPO/target}/debug/butler

WORK=$(mktemp -d)
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { local p; for _ in $(seq 1 100); do p=$((20000 + RANDOM % 30000)); port_busy "$p" || { echo "$p"; return; }; done; exit 1; }
ANVIL_PORT=$(free_port); BUNDLER_PORT=$(free_port); API_PORT=$(free_port); LOW=$(free_port)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  RUN_DIR=$WORK/devnet scripts/devnet/down.sh >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
RUN_DIR=$WORK/devnet ANVIL_PORT=$ANVIL_PORT BUNDLER_PORT=$BUNDLER_PORT LIFETIME=900 scripts/devnet/up.sh >/dev/null
env_get() { sed -n "s/^$1=//p" "$WORK/devnet/env"; }
RPC=$(env_get ANVIL_RPC)

(umask 077 && : >"$WORK/keys")
for _ in $(seq 1 $((2 * INSTANCES))); do
  key=0x$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  "$DEVNET_BIN/cast" rpc --rpc-url "$RPC" anvil_setBalance "$("$DEVNET_BIN/cast" wallet address --private-key "$key")" 0x56bc75e2d63100000 >/dev/null
  echo "$key" >>"$WORK/keys"
done
{
  echo "data_dir = \"$WORK/data\""
  printf '[chain]\nrpc_url = "%s"\n' "$RPC"
  sed -n '/^\[supervisor\]/,/^\[exporter\]/p' config/butler.example.toml | sed '$d' \
    | sed "s|^port_range = .*|port_range = [$LOW, $((LOW + 4 * INSTANCES))]|; s|^executor_keys_file = .*|executor_keys_file = \"$WORK/keys\"|"
} >"$WORK/butler.toml"
export BUTLER_API__ADMIN_TOKEN=bench
API=http://127.0.0.1:$API_PORT
PATH=$DEVNET_BIN:$PATH "$BUTLER" --config "$WORK/butler.toml" serve --watcher --api-listen "127.0.0.1:$API_PORT" 2>"$WORK/watcher.log" &
PID=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "$API/health" && break; sleep 0.1; done

admin() { curl -sf -H "authorization: Bearer bench" -H 'content-type: application/json' "$@"; }
spawn() { admin -X POST --data "{\"base\":\"alto\",\"name\":\"$1\",\"policy\":{\"minPriorityFeeGwei\":${2:-0}}}" "$API/api/admin/bundlers/spawn" | jq -r .id; }
status_of() { admin "$API/api/admin/bundlers" | jq -r --arg id "$1" '.bundlers[] | select(.id == $id) | .status'; }
now() { date +%s.%N; }

T0=$(now)
FIRST=$(spawn bench-0 0.000000001)
until [ "$(status_of "$FIRST")" = UP ]; do sleep 0.05; done
T1=$(now)
SPAWN_SECS=$(echo "$T1 - $T0" | bc)

for i in $(seq 1 $((INSTANCES - 1))); do spawn "bench-$i" >/dev/null; done
until [ "$(admin "$API/api/admin/bundlers" | jq '[.bundlers[] | select(.status == "UP")] | length')" = "$INSTANCES" ]; do sleep 0.2; done
ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)
C0=$(ticks); S0=$(now)
sleep "$SAMPLE_SECS"
C1=$(ticks); S1=$(now)
CPU=$(echo "scale=4; ($C1 - $C0) / $HZ / ($S1 - $S0) * 100" | bc)
RSS_KB=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status")

ENTRY=$(admin "$API/api/admin/bundlers" | jq -c --arg id "$FIRST" '.bundlers[] | select(.id == $id)')
GATEWAY=$(echo "$ENTRY" | jq -r .rpcUrl)
DIRECT=http://127.0.0.1:$(echo "$ENTRY" | jq -r .internalPort)
RATIO=$(python3 - "$GATEWAY" "$DIRECT" "$CALLS" "$(env_get ENTRYPOINT_V07)" <<'PY'
import http.client, json, statistics, sys, time, urllib.parse
gateway, direct, calls, ep = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
op = {"sender": "0x" + "11" * 20, "nonce": "0x0", "callData": "0x", "callGasLimit": "0x10000",
      "verificationGasLimit": "0x10000", "preVerificationGas": "0x10000", "maxFeePerGas": "0x3b9aca00",
      "maxPriorityFeePerGas": "0x3b9aca00", "signature": "0x" + "00" * 65}
body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_sendUserOperation", "params": [op, ep]})
def run(url):
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    out = []
    for i in range(calls + 20):
        t = time.perf_counter()
        conn.request("POST", "/", body, {"content-type": "application/json"})
        r = conn.getresponse(); answer = json.loads(r.read())
        if i >= 20: out.append(time.perf_counter() - t)
    assert "error" in answer, answer
    return statistics.median(out)
d = run(direct); g = run(gateway)
print(f"{g / d:.2f} (median {g * 1000:.2f} ms through the gateway, {d * 1000:.2f} ms straight to alto)")
PY
)
printf 'spawn request to UP (one alto):              %.2f s\n' "$SPAWN_SECS"
printf 'butler with %d idle instances:               CPU %.2f %% of one core, RSS %d MiB\n' "$INSTANCES" "$CPU" "$((RSS_KB / 1024))"
printf 'gateway latency per eth_sendUserOperation:   ratio %s\n' "$RATIO"
