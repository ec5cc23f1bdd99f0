#!/usr/bin/env bash
# Deploy the real Aztec L1 contracts (Rollup, GSE, Registry, staking asset, ...) from @aztec/l1-artifacts 4.1.2
# on a running anvil, offline, with the package's prebuilt Foundry artifacts and its own network defaults
# (l1-contracts/generated/default.json). Needs ./install.sh once.
#
# Usage: aztec-up.sh RPC_URL
# Env:   DEPLOYER_KEY (anvil account 0), BUTLER_DEVNET_HOME (where install.sh put the packages),
#        any AZTEC_* deployment setting (overrides default.json; e.g. AZTEC_ENTRY_QUEUE_FLUSH_SIZE_MIN).
# Prints one JSON object on stdout: the script's deployment result (rollupAddress, registryAddress, gseAddress,
# stakingAssetAddress, ...) plus l1ChainId. Everything else goes to stderr.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DEVNET_HOME=${BUTLER_DEVNET_HOME:-$REPO/.devnet}
RPC=${1:?usage: aztec-up.sh RPC_URL}
DEPLOYER_KEY=${DEPLOYER_KEY:-0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80}
BIN=$DEVNET_HOME/node_modules/.bin
L1=$DEVNET_HOME/node_modules/@aztec/l1-artifacts/l1-contracts
[ -d "$L1/out" ] || { echo "@aztec/l1-artifacts is not installed in $DEVNET_HOME: run scripts/devnet/install.sh" >&2; exit 1; }

# The artifacts are prebuilt: forge only asks the compiler for its version, which must match foundry.toml.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/solc" <<'EOF'
#!/bin/sh
if [ "$1" = "--version" ]; then
  echo "solc, the solidity compiler commandline interface"
  echo "Version: 0.8.30+commit.73712a01.Linux.g++"
  exit 0
fi
echo "this solc shim only answers --version (the Aztec artifacts are prebuilt)" >&2
exit 1
EOF
chmod +x "$WORK/solc"

# Network defaults as the deploy script reads them: one env var per key, unless already set.
while IFS=$'\t' read -r key value; do
  if [ -z "${!key:-}" ]; then export "$key=$value"; fi
done < <(jq -r 'to_entries[] | [.key, (.value | tostring)] | @tsv' "$L1/generated/default.json")

CHAIN_ID=$(timeout 10 "$BIN/cast" chain-id --rpc-url "$RPC")
cd "$L1"
FOUNDRY_SOLC="$WORK/solc" FOUNDRY_BROADCAST="$WORK/broadcast" timeout 300 "$BIN/forge" script script/deploy/DeployAztecL1Contracts.s.sol \
  --rpc-url "$RPC" --private-key "$DEPLOYER_KEY" --broadcast --offline --slow \
  >"$WORK/forge.log" 2>&1 ||
  { cat "$WORK/forge.log" >&2; echo "forge script failed" >&2; exit 1; }
RESULT=$(grep -o 'JSON DEPLOY RESULT: {.*}' "$WORK/forge.log" | head -1 | sed 's/^JSON DEPLOY RESULT: //')
[ -n "$RESULT" ] || { cat "$WORK/forge.log" >&2; echo "no deployment result in the forge output" >&2; exit 1; }
echo "$RESULT" | jq -c --argjson id "$CHAIN_ID" '. + {l1ChainId: $id}'
