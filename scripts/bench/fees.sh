#!/usr/bin/env bash
# Fee-manager benchmark: Vouch execution config for 10,000 keys against 10,000 stored proposers and 100
# patterns, over loopback HTTP; on SQLite, and on a throwaway PostgreSQL when one can be started.
# Usage: scripts/bench/fees.sh [--sqlite-only]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo build --release --example fees_bench
bin=target/release/examples/fees_bench
"$bin"
if [ "${1:-}" != "--sqlite-only" ]; then
  . scripts/lib/postgres.sh
  trap pg_stop EXIT
  if pg_start; then
    BUTLER_BENCH_POSTGRES_URL="$BUTLER_TEST_POSTGRES_URL" "$bin"
  else
    echo "PostgreSQL not available: Postgres figures skipped" >&2
  fi
fi
