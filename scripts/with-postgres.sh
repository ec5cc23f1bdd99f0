#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL (BUTLER_TEST_POSTGRES_URL set), stopped afterwards.
# Example: scripts/with-postgres.sh cargo test --test it fees_
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/postgres.sh"
trap pg_stop EXIT
pg_start
"$@"
