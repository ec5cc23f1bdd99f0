#!/usr/bin/env bash
# Exporter benchmark on a devnet of its own (loopback only, bounded loops):
#  1. scrape time of `butler serve --prometheus` with 10 paymasters and 5 bundlers, no cache: median and p99
#     over SCRAPES sequential scrapes (curl's time_total);
#  2. /metrics requests per second from the exporter serving a cached body (cache_secs = 3600), as a ratio to
#     a minimal hyper server (examples/static_metrics_server.rs) returning the same bytes; both measured in this
#     run with wrk (Debian package wrk) for DURATION seconds each.
# The 10 paymasters are 10 names for the devnet's VerifyingPaymaster (each one is its own target: its own
# getDepositInfo, balance and eth_getLogs over the window), the 5 bundlers 5 names for its alto.
#
# Env: PROFILE (release), SCRAPES (200), DURATION (10), CONNECTIONS (32), THREADS (2), USEROPS (20: sponsored
#      operations sent first so the spend window has logs), BUTLER_DEVNET_HOME (see scripts/devnet/up.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PROFILE=${PROFILE:-release}
SCRAPES=${SCRAPES:-200}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
USEROPS=${USEROPS:-20}

for tool in wrk curl jq python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install -y $tool)" >&2; exit 1; }
done

echo "==> building butler and the baseline server ($PROFILE)"
cargo build -q --profile "$PROFILE" --bin butler --example static_metrics_server
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)
OUT=$TARGET_DIR/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
BUTLER=$OUT/butler
STATIC=$OUT/examples/static_metrics_server

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  RUN_DIR=$WORK/devnet scripts/devnet/down.sh >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "$1 did not answer" >&2; exit 1
}

echo "==> devnet"
RUN_DIR=$WORK/devnet ANVIL_PORT=$(free_port) BUNDLER_PORT=$(free_port) LIFETIME=1800 WATCH_PID=$$ \
  scripts/devnet/up.sh >/dev/null
# shellcheck disable=SC1091
. "$WORK/devnet/env"
echo "$PM_SIGNER_KEY" >"$WORK/pm-signer.key"
"$BUTLER" -q --rpc-url "$ANVIL_RPC" --output json probe userop --bundler "$BUNDLER_RPC" \
  --entrypoint "$ENTRYPOINT_V07" --factory "$SIMPLE_ACCOUNT_FACTORY" --paymaster "$VERIFYING_PAYMASTER" \
  --paymaster-signer-key-file "$WORK/pm-signer.key" --count "$USEROPS" | jq -e .ok >/dev/null

config() {  # config CACHE_SECS
  printf '[chain]\nrpc_url = "%s"\nchain_id = 31337\n\n' "$ANVIL_RPC"
  for i in $(seq 0 9); do
    printf '[[paymasters]]\nname = "pm%d"\naddress = "%s"\nentrypoint = "%s"\n\n' "$i" "$VERIFYING_PAYMASTER" "$ENTRYPOINT_V07"
  done
  for i in $(seq 0 4); do
    printf '[[bundlers]]\nname = "b%d"\nrpc_url = "%s"\nexecutors = ["%s"]\n\n' "$i" "$BUNDLER_RPC" "$EXECUTOR_ADDRESS"
  done
  printf '[exporter]\ncache_secs = %s\nbundler_entrypoints = ["%s"]\n' "$1" "$ENTRYPOINT_V08"
}
config 0 >"$WORK/fresh.toml"
config 3600 >"$WORK/cached.toml"

FRESH=127.0.0.1:$(free_port)
CACHED=127.0.0.1:$(free_port)
BASE=127.0.0.1:$(free_port)
"$BUTLER" -q --config "$WORK/fresh.toml" serve --prometheus --exporter-listen "$FRESH" &
PIDS+=($!)
"$BUTLER" -q --config "$WORK/cached.toml" serve --prometheus --exporter-listen "$CACHED" &
PIDS+=($!)
wait_http "http://$FRESH/healthz"
wait_http "http://$CACHED/healthz"

echo "==> $SCRAPES scrapes, 10 paymasters + 5 bundlers, no cache"
curl -sf "http://$FRESH/metrics" >"$WORK/fresh.txt"
grep -q '^butler_paymaster_up{.*} 1$' "$WORK/fresh.txt" || { echo "paymasters are not up" >&2; exit 1; }
for _ in $(seq 1 "$SCRAPES"); do
  curl -sf -o /dev/null -w '%{time_total}\n' "http://$FRESH/metrics"
done | sort -n >"$WORK/times.txt"
n=$(wc -l <"$WORK/times.txt")
median=$(sed -n "$(( (n + 1) / 2 ))p" "$WORK/times.txt")
p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$WORK/times.txt")
awk -v m="$median" -v p="$p99" -v n="$n" -v b="$(wc -c <"$WORK/fresh.txt")" -v s="$(grep -vc '^#' "$WORK/fresh.txt")" \
  'BEGIN { printf "scrape time: median %.1f ms, p99 %.1f ms (n=%d, %d bytes, %d samples)\n", m * 1000, p * 1000, n, b, s }'

echo "==> requests/s: cached /metrics vs a minimal hyper server with the same bytes"
curl -sf "http://$CACHED/metrics" >"$WORK/body.txt"
"$STATIC" "$WORK/body.txt" "$BASE" &
PIDS+=($!)
wait_http "http://$BASE/metrics"
cmp -s "$WORK/body.txt" <(curl -sf "http://$BASE/metrics") || { echo "baseline body differs" >&2; exit 1; }
rps() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
butler_rps=$(rps "http://$CACHED/metrics")
base_rps=$(rps "http://$BASE/metrics")
awk -v a="$butler_rps" -v b="$base_rps" -v n="$(wc -c <"$WORK/body.txt")" \
  -v w="wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s" \
  'BEGIN { printf "cached /metrics: %.0f req/s; minimal hyper server: %.0f req/s; ratio %.2f (%d bytes, %s)\n", a, b, a / b, n, w }'
