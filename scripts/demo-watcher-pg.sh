#!/usr/bin/env bash
# The watcher-on-PostgreSQL part of the demo: starts a throwaway PostgreSQL (scripts/lib/postgres.sh), copies
# the demo watcher's NDJSON store into it (`butler store copy`), reads it back through the same commands
# (`stats`, `replay --verify`), and serves it with `butler serve --watcher --read-only` for one /stats answer.
# Stops the reader and the database by PID afterwards.
#
# Usage: scripts/demo-watcher-pg.sh [CONFIG]
#   CONFIG  the watcher config scripts/demo-watcher.sh wrote (default: ./run/demo/watcher/butler.toml)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
SOURCE=${1:-$REPO/run/demo/watcher/butler.toml}
[ -f "$SOURCE" ] || { echo "no watcher config at $SOURCE: run scripts/demo-watcher.sh first" >&2; exit 1; }
. scripts/lib/postgres.sh
if [ -z "$(pg_bin)" ]; then
  echo "PostgreSQL is not installed: skipping the PostgreSQL store (Debian package postgresql)"
  exit 0
fi
BUTLER=${CARGO_TARGET_DIR:-$REPO/target}/debug/butler
DIR=$(cd "$(dirname "$SOURCE")" && pwd)/pg
rm -rf "$DIR" && mkdir -p "$DIR"
READER=
cleanup() {
  if [ -n "$READER" ]; then kill "$READER" 2>/dev/null || true; wait "$READER" 2>/dev/null || true; fi
  pg_stop
}
trap cleanup EXIT
pg_start
DB=$BUTLER_TEST_POSTGRES_URL

printf '\n$ butler store copy --to %s\n' "$DB"
"$BUTLER" --config "$SOURCE" store copy --to "$DB"

PORT=$((20000 + RANDOM % 30000))
CONFIG=$DIR/butler.toml
sed -e "s|^data_dir = .*|data_dir = \"$DIR/data\"|" \
  -e "s|^\[watcher\]$|[watcher]\nstore = \"postgres\"\ndatabase_url = \"$DB\"|" \
  -e "s|^listen = \"127.0.0.1:[0-9]*\"$|listen = \"127.0.0.1:$PORT\"|" "$SOURCE" >"$CONFIG"
printf '\n$ butler stats   # [watcher] store = "postgres"\n'
"$BUTLER" --config "$CONFIG" stats
printf '\n$ butler replay --verify\n'
"$BUTLER" --config "$CONFIG" replay --verify
printf '\n$ psql -c "SELECT event_type, count(*) FROM chain_event GROUP BY 1"\n'
"$(pg_bin)/psql" -X -d "$DB" -c "SELECT event_type, count(*) FROM chain_event GROUP BY 1"

printf '\n$ butler serve --watcher --read-only --api-listen 127.0.0.1:%s &\n' "$PORT"
"$BUTLER" --config "$CONFIG" serve --watcher --read-only --api-listen "127.0.0.1:$PORT" >"$DIR/reader.log" 2>&1 &
READER=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/stats" >/dev/null 2>&1 && break
  sleep 0.1
done
printf '$ curl -s http://127.0.0.1:%s/stats\n' "$PORT"
curl -sf "http://127.0.0.1:$PORT/stats" | jq -c .
echo
echo "the PostgreSQL store answers as the NDJSON one; docs/watcher.md#postgresql-store covers readers and sizing"
