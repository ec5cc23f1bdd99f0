#!/usr/bin/env bash
# Backfill benchmark on the shared workload (100,000 UserOperationEvent-shaped events over 2,101 blocks):
# cold-start-to-done wall time, events/s and peak memory of `butler index --to-head` with its durable store
# (fsync per batch), then replay events/s from the NDJSON files against plain serde_json parsing of the
# same files into the record struct.
#
# Env: WORKLOAD, STACK, WORK_DIR, PORT, GEN_PORT as scripts/bench/workload.sh says
#      RUNS        cold runs of `butler index --to-head` (default: 3)
#      STORE       `ndjson` (default) or `postgres`: with `postgres` the same runs follow into a throwaway
#                  PostgreSQL (scripts/lib/postgres.sh, fsync on) beside the NDJSON ones: wall time, events/s,
#                  peak RSS of butler and the database's size after the backfill
# The saved chain is built once (make-chain.sh, about 2 minutes) and reused from WORK_DIR afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. scripts/bench/workload.sh
RUNS=${RUNS:-3}
STORE=${STORE:-ndjson}
case "$STORE" in ndjson | postgres) ;; *) echo "STORE must be ndjson or postgres, not $STORE" >&2; exit 2 ;; esac
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (Debian package: time)" >&2; exit 1; }

echo "==> building butler (release)"
cargo build --release --quiet --bin butler --example parse_records
BUTLER=$REPO/target/release/butler
PARSE=$REPO/target/release/examples/parse_records

workload_serve

CONFIG=$WORK_DIR/butler.toml
DATA=$WORK_DIR/data
workload_config "$DATA" >"$CONFIG"

printf '\n%-5s %10s %12s %12s\n' run wall_s events/s peak_MB
for i in $(seq 1 "$RUNS"); do
  rm -rf "$DATA"
  /usr/bin/time -v "$BUTLER" --config "$CONFIG" --output json -q index --to-head \
    >"$WORK_DIR/index-$i.json" 2>"$WORK_DIR/time-$i.txt"
  [ "$(jq -r .events "$WORK_DIR/index-$i.json")" = "$EVENTS" ] || { echo "run $i indexed the wrong number of events" >&2; exit 1; }
  WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(j=1;j<=n;j++) s=s*60+a[j]; print s}' "$WORK_DIR/time-$i.txt")
  RSS=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK_DIR/time-$i.txt")
  printf '%-5s %10.2f %12.0f %12s\n' "$i" "$WALL" "$(echo "$EVENTS / $WALL" | bc -l)" "$RSS"
done

echo
"$BUTLER" --config "$CONFIG" --output json -q replay --verify >"$WORK_DIR/replay.json"
"$PARSE" "$DATA/chain" >"$WORK_DIR/parse.json"
REPLAY=$(jq -r .eventsPerSec "$WORK_DIR/replay.json")
PLAIN=$(jq -r .eventsPerSec "$WORK_DIR/parse.json")
printf 'replay (parse + reducers):      %10.0f events/s (state hash matches: %s)\n' "$REPLAY" "$(jq -r .matches "$WORK_DIR/replay.json")"
printf 'plain serde_json into Record:   %10.0f events/s\n' "$PLAIN"
printf 'ratio replay / plain parse:     %10.2f\n' "$(echo "$REPLAY / $PLAIN" | bc -l)"
NDJSON_HASH=$(jq -r .stateHash "$WORK_DIR/index-$RUNS.json")

if [ "$STORE" = postgres ]; then
  echo
  echo "==> PostgreSQL store (throwaway server, fsync on)"
  . scripts/lib/postgres.sh
  bench_cleanup() { pg_stop; }
  PG_FSYNC=on pg_start
  PSQL=$(pg_bin)/psql
  PG_CONFIG=$WORK_DIR/butler-pg.toml
  sed -e 's|^\[watcher\]$|[watcher]\nstore = "postgres"\ndatabase_url = "'"${BUTLER_TEST_POSTGRES_URL%/*}/bench"'"|' \
    -e 's|^data_dir = .*|data_dir = "'"$WORK_DIR/data-pg"'"|' "$CONFIG" >"$PG_CONFIG"
  printf '\n%-5s %10s %12s %12s %12s\n' run wall_s events/s peak_MB db_MB
  for i in $(seq 1 "$RUNS"); do
    rm -rf "$WORK_DIR/data-pg"
    PGOPTIONS='-c client_min_messages=warning' "$PSQL" -X -q -d "$BUTLER_TEST_POSTGRES_URL" \
      -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
    /usr/bin/time -v "$BUTLER" --config "$PG_CONFIG" --output json -q index --to-head \
      >"$WORK_DIR/pg-index-$i.json" 2>"$WORK_DIR/pg-time-$i.txt"
    [ "$(jq -r .events "$WORK_DIR/pg-index-$i.json")" = "$EVENTS" ] || { echo "postgres run $i indexed the wrong number of events" >&2; exit 1; }
    [ "$(jq -r .stateHash "$WORK_DIR/pg-index-$i.json")" = "$NDJSON_HASH" ] || { echo "postgres run $i: state hash differs from the NDJSON store's" >&2; exit 1; }
    WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(j=1;j<=n;j++) s=s*60+a[j]; print s}' "$WORK_DIR/pg-time-$i.txt")
    RSS=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$WORK_DIR/pg-time-$i.txt")
    DB_MB=$("$PSQL" -X -A -t -d "$BUTLER_TEST_POSTGRES_URL" -c "SELECT round(pg_database_size('bench') / 1048576.0)")
    printf '%-5s %10.2f %12.0f %12s %12s\n' "$i" "$WALL" "$(echo "$EVENTS / $WALL" | bc -l)" "$RSS" "$DB_MB"
  done
  "$BUTLER" --config "$PG_CONFIG" --output json -q replay --verify >"$WORK_DIR/pg-replay.json"
  printf '\nreplay from PostgreSQL (read + reducers): %.0f events/s (state hash matches: %s, same as NDJSON: yes)\n' \
    "$(jq -r .eventsPerSec "$WORK_DIR/pg-replay.json")" "$(jq -r .matches "$WORK_DIR/pg-replay.json")"
  printf 'NDJSON store on disk: %s MB\n' "$(du -sm "$DATA/chain" | cut -f1)"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
