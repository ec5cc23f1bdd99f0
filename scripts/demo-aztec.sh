#!/usr/bin/env bash
# The Aztec part of the demo: deploys the real Aztec L1 contracts (scripts/devnet/aztec-up.sh) and the test
# StakingRegistry on the demo devnet's anvil, serves node_getNodeInfo from a small stub node, then runs
# `butler aztec`: a provider created and sent, two attester keys generated (sealed keystore), added to the
# provider's queue, one staked through the registry, and the attesters, entry queue, coinbases and publishers
# shown. The stub node is stopped by PID at the end.
#
# Usage: scripts/demo-aztec.sh [CONFIG]
#   CONFIG  the butler config of a running devnet (default: ./run/demo/butler.toml)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
CONFIG=${1:-$REPO/run/demo/butler.toml}
[ -f "$CONFIG" ] || { echo "no config at $CONFIG: run scripts/demo.sh --keep first" >&2; exit 1; }
for tool in cargo jq python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "needs \`$tool\` on PATH" >&2; exit 1; }
done
DIR=$(dirname "$CONFIG")
RPC=$(sed -n 's/^rpc_url = "\(.*\)"/\1/p' "$CONFIG" | head -1)
BIN=${BUTLER_DEVNET_HOME:-$REPO/.devnet}/node_modules/.bin
cargo build --bin butler
BUTLER=${CARGO_TARGET_DIR:-$REPO/target}/debug/butler
KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80   # anvil account 0 (deployer)
ME=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266

printf '\n$ scripts/devnet/aztec-up.sh %s\n' "$RPC"
DEPLOY=$(scripts/devnet/aztec-up.sh "$RPC")
echo "$DEPLOY" | jq '{rollupAddress, gseAddress, registryAddress, stakingAssetAddress, l1ChainId}'
REGISTRY=$(timeout 60 "$BIN/cast" send --rpc-url "$RPC" --private-key "$KEY" --json \
  --create "$(jq -r .bytecode tests/contracts/artifacts/StakingRegistry.json)" | jq -r .contractAddress)
echo "test StakingRegistry: $REGISTRY"

# A stub Aztec node: answers node_getNodeInfo with the deployment's addresses.
NODE_PORT=$((20000 + RANDOM % 30000))
echo "$DEPLOY" >"$DIR/aztec-deploy.json"
python3 - "$NODE_PORT" "$DIR/aztec-deploy.json" <<'PY' &
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
d = json.load(open(sys.argv[2]))
info = {"l1ChainId": d["l1ChainId"], "l1ContractAddresses": {k: d[k] for k in ("rollupAddress", "registryAddress", "stakingAssetAddress", "gseAddress")}}
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["content-length"])))
        body = json.dumps({"jsonrpc": "2.0", "id": req.get("id"), "result": info}).encode()
        self.send_response(200); self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
NODE_PID=$!
trap 'kill $NODE_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$NODE_PORT") 2>/dev/null && break; sleep 0.05; done

umask 077
printf '%s\n' "$KEY" >"$DIR/aztec-signer.key"
printf 'demo keystore passphrase\n' >"$DIR/aztec-keystore.pass"
rm -f "$DIR/aztec-keys.json"
AZ=$DIR/aztec.toml
cat >"$AZ" <<TOML
[chain]
rpc_url = "$RPC"

[aztec]
node_url = "http://127.0.0.1:$NODE_PORT"
staking_registry = "$REGISTRY"
provider_id = 1
keys_file = "$DIR/aztec-keys.json"
publishers = ["0x90F79bf6EB2c4f870365E785982E1f101E93b906"]
signer_key_file = "$DIR/aztec-signer.key"
keystore_passphrase_file = "$DIR/aztec-keystore.pass"
TOML
run() { printf '\n$ butler aztec %s\n' "$*"; "$BUTLER" --config "$AZ" aztec "$@"; }

run provider create --admin "$ME" --commission-bps 500 --rewards-recipient "$ME" --send --yes
run provider id --output json
run keys generate --count 2
run keys add --output json
run keys add --send --yes
ROLLUP=$(echo "$DEPLOY" | jq -r .rollupAddress)
ASSET=$(echo "$DEPLOY" | jq -r .stakingAssetAddress)
printf '\n(a staker stakes once with the provider: the registry deposits its first queued key)\n'
for call in "$ASSET mint(address,uint256) $ME 100000000000000000000" \
            "$ASSET approve(address,uint256) $REGISTRY 100000000000000000000" \
            "$REGISTRY stake(uint256,address,address,bool) 1 $ROLLUP $ME false"; do
  # shellcheck disable=SC2086
  timeout 60 "$BIN/cast" send --rpc-url "$RPC" --private-key "$KEY" $call >/dev/null
done
run attesters
run queue
run coinbases --from-block 0
run publishers
