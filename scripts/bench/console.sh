#!/usr/bin/env bash
# Console benchmark: how long each page of the operator console takes to render, with an empty store and
# with the shared workload's 100,000 indexed events, next to the JSON API call behind it on the same store
# (median and p95 of REQUESTS sequential requests each, release build, one `butler serve --watcher`).
#
# Env: WORKLOAD, STACK, WORK_DIR, PORT, GEN_PORT, BUTLER as scripts/bench/workload.sh says (the saved chain is
#      shared)
#      API_PORT    port for the watcher (default: 28660)
#      REQUESTS    requests per route (default: 20)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. scripts/bench/workload.sh
API_PORT=${API_PORT:-28660}
REQUESTS=${REQUESTS:-20}
for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || { echo "needs \`$tool\` on PATH" >&2; exit 1; }
done

workload_butler

SERVER=
bench_cleanup() { [ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }; }
workload_serve

TOKEN_FILE=$WORK_DIR/console-admin-token
(umask 077 && echo "bench-console-token" >"$TOKEN_FILE")
API=http://127.0.0.1:$API_PORT

# config STORE: a config whose data dir is $WORK_DIR/console-STORE, indexing the workload when STORE=full
config() {
  local dir=$WORK_DIR/console-$1
  {
    if [ "$1" = full ]; then
      workload_config "$dir" "retention_max = 100000"
    else
      printf 'data_dir = "%s"\n[chain]\nrpc_url = "http://127.0.0.1:%s"\nchain_id = 31337\n' "$dir" "$PORT"
    fi
    printf '[api]\nlisten = "127.0.0.1:%s"\nadmin_token_file = "%s"\n' "$API_PORT" "$TOKEN_FILE"
  } >"$WORK_DIR/console-$1.toml"
  echo "$WORK_DIR/console-$1.toml"
}

# timings URL [CURL ARGS...]: median and p95 of REQUESTS requests, in ms (fails unless every answer is 200)
timings() {
  local url=$1; shift
  for _ in $(seq 1 "$REQUESTS"); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$@" "$url"
  done | sort -k2 -n | awk -v url="$url" '
    $1 != 200 { print "GET " url " answered " $1 > "/dev/stderr"; bad = 1 }
    { a[NR] = $2 * 1000 }
    END { if (bad) exit 1; printf "%8.1f %8.1f", a[int((NR + 1) / 2)], a[int(NR * 0.95 + 0.5)] }'
}

declare -A RESULT
run_store() {
  local store=$1 cfg
  cfg=$(config "$store")
  rm -rf "$WORK_DIR/console-$store"
  if [ "$store" = full ]; then
    echo "==> indexing $EVENTS events"
    "$BUTLER" --config "$cfg" -q index --to-head >/dev/null
  fi
  "$BUTLER" --config "$cfg" serve --watcher 2>"$WORK_DIR/console-$store.log" &
  SERVER=$!
  local want=0
  [ "$store" = full ] && want=$EVENTS
  for _ in $(seq 1 1200); do
    curl -sf -H "authorization: Bearer $(cat "$TOKEN_FILE")" "$API/api/admin/metrics/summary" 2>/dev/null |
      jq -e --argjson n "$want" '.ops.total == $n' >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -sf -H "authorization: Bearer $(cat "$TOKEN_FILE")" "$API/api/admin/metrics/summary" |
    jq -e --argjson n "$want" '.ops.total == $n' >/dev/null || { echo "the $store store never held $want operations" >&2; exit 1; }
  local jar=$WORK_DIR/console-cookies
  curl -sf -o /dev/null -c "$jar" --data-urlencode "token@$TOKEN_FILE" "$API/ui/login"
  local sender
  sender=$(curl -sf -H "authorization: Bearer $(cat "$TOKEN_FILE")" "$API/api/admin/userops?limit=1" |
    jq -r '.userops[0].sender // "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"')
  for row in "${ROWS[@]}"; do
    local page=${row%%|*} api=${row#*|}
    RESULT[$store|$page]=$(timings "$API${page//SENDER/$sender}" -b "$jar")
    RESULT[$store|api$api]=$(timings "$API${api//SENDER/$sender}" -H "authorization: Bearer $(cat "$TOKEN_FILE")")
  done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
}

# page|the API call behind it
ROWS=(
  "/|/api/public/status"
  "/ui/userops|/api/admin/userops?limit=50"
  "/ui/userops?success=true&fromBlock=1000|/api/admin/userops?limit=50&success=true&fromBlock=1000"
  "/ui/senders/SENDER|/api/admin/userops?limit=50&sender=SENDER"
  "/ui/bundlers|/api/admin/bundlers"
  "/ui/paymasters|/api/admin/metrics/timeseries?bucket=86400"
  "/ui/workflows|/workflows?limit=50"
  "/ui/logs|/api/logs?limit=200"
)
run_store empty
run_store full

printf '\n%-44s %17s %17s %17s\n' "page (ms: median p95)" "empty store" "100k events" "its API, 100k"
for row in "${ROWS[@]}"; do
  page=${row%%|*} api=${row#*|}
  printf '%-44s %17s %17s %17s\n' "$page" "${RESULT[empty|$page]}" "${RESULT[full|$page]}" "${RESULT[full|api$api]}"
done
echo "(the API column is the JSON call behind each page: ${ROWS[*]#*|})" | fold -s -w 110
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
