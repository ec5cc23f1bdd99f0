#!/usr/bin/env bash
# eth_getLogs requests sent against the minimum, for each of the three error styles of the big hosted providers:
# a backfill of ~2,500 blocks on a private anvil through a proxy that refuses ranges over 100 blocks
# (`max_block_range = 2000`, four concurrent fetches), then a later run over ~800 new blocks that starts from
# the caps learned into the checkpoint. The workload and the proxy are the tests' (tests/it/chain_caps.rs); this
# script runs them and prints their figures (counts, so the debug build is as good as a release one).
#
# Env: BUTLER_DEVNET_HOME  the devnet install with anvil (default: ./.devnet)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
[ -x "${BUTLER_DEVNET_HOME:-.devnet}/node_modules/.bin/anvil" ] \
  || { echo "no devnet install (scripts/devnet/install.sh)" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cargo test --quiet --test it chain_caps -- --nocapture --test-threads 1 >"$out" 2>&1 \
  || { cat "$out" >&2; exit 1; }
echo "first backfill, then the later run"
for style in Suggest Limit Results; do
  first=$(grep -oE "$style: [0-9]+ eth_getLogs.*" "$out" | head -1)
  later=$(grep -oE "$style: later run.*" "$out" | head -1)
  printf '%s\n    %s\n' "$first" "$later"
done
