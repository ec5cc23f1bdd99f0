#!/usr/bin/env bash
# Install what the tests need, then run the whole suite: fmt check, clippy (warnings are errors), all tests.
# In CI (CI=true) a missing part is a failure; locally, tests that need one skip with a loud message.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

# Debian packages: promtool (prometheus) for the exposition-format checks, PostgreSQL for the Postgres paths,
# jq and curl for the devnet scripts.
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# The monitoring kit's checks: amtool and Alertmanager itself, systemd-analyze for the units.
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v curl >/dev/null 2>&1 || need+=(curl)
# The operator console's browser tests: headless Debian chromium, driven over the DevTools protocol.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    step "installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing Debian packages (${need[*]}) and cannot install them (not root or no apt-get)" >&2
    [ "${CI:-}" = true ] && exit 1
  fi
fi

# PyPI: schemathesis (pinned; the version scripts/schemathesis.sh expects) for the OpenAPI property test.
SCHEMATHESIS_VERSION=4.32.5
if [ "$(st --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
  step "installing schemathesis==$SCHEMATHESIS_VERSION from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" ||
    { echo "cannot install schemathesis" >&2; if [ "${CI:-}" = true ]; then exit 1; fi; }
fi

step "devnet (anvil, EntryPoints, alto) from npm"
scripts/devnet/install.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets -- -D warnings

step "PostgreSQL for the fee manager's and the watcher's Postgres tests (fees_*, watcher_pg*)"
. scripts/lib/postgres.sh
trap pg_stop EXIT
if ! pg_start; then
  echo "cannot start PostgreSQL; the Postgres tests will fail in CI and skip locally" >&2
fi

step "cargo test"
TEST_LOG=$(mktemp)
cargo test --all-targets -- --color never 2>&1 | tee "$TEST_LOG"

step "schemathesis against /api/openapi.json"
scripts/schemathesis.sh

# One closing line for the whole suite (cargo prints one result line per test target).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "\ntests: %d passed, %d failed\n", p, f }' "$TEST_LOG"
rm -f "$TEST_LOG"
