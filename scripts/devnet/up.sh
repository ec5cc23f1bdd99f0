#!/usr/bin/env bash
# Bring up a local ERC-4337 stack on loopback: anvil (chain id 31337), EntryPoint v0.7 and v0.8 at their
# canonical addresses, SimpleAccountFactory for each, a VerifyingPaymaster on v0.7 (10 ETH deposit, 1 ETH stake)
# and the alto bundler. Needs ./install.sh once.
#
# Env: ANVIL_PORT (8545), BUNDLER_PORT (4337; ALTO_PORT is accepted too), RUN_DIR (<repo>/run/devnet),
#      ANVIL_ARGS (extra anvil flags), LIFETIME (hard upper bound in seconds for the daemons, 3600),
#      BUTLER_DEVNET_HOME (where install.sh put the packages),
#      WATCH_PID (stop the devnet when this process exits: test harnesses set it to their own PID).
# Writes $RUN_DIR/env with RPC URLs, contract addresses, dev keys and PIDs. Stop with ./down.sh.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DEVNET_HOME=${BUTLER_DEVNET_HOME:-$REPO/.devnet}
ANVIL_PORT=${ANVIL_PORT:-8545}
BUNDLER_PORT=${BUNDLER_PORT:-${ALTO_PORT:-4337}}
RUN_DIR=${RUN_DIR:-$REPO/run/devnet}
LIFETIME=${LIFETIME:-3600}
RPC=http://127.0.0.1:$ANVIL_PORT
BUNDLER=http://127.0.0.1:$BUNDLER_PORT
BIN=$DEVNET_HOME/node_modules/.bin
[ -x "$BIN/anvil" ] || { echo "devnet is not installed in $DEVNET_HOME: run scripts/devnet/install.sh" >&2; exit 1; }
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)

STARTED=""
cleanup_on_failure() {
  local rc=$?
  if [ $rc -ne 0 ] && [ -n "$STARTED" ]; then kill $STARTED 2>/dev/null || true; fi
  exit $rc
}
trap cleanup_on_failure EXIT

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$ANVIL_PORT" "$BUNDLER_PORT"; do
  if port_busy "$p"; then echo "port $p is already in use" >&2; exit 1; fi
done

# anvil's well-known development keys (mnemonic "test test ... junk")
DEPLOYER_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80   # account 0
EXECUTOR_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d   # account 1: bundler executor
UTILITY_KEY=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a    # account 2: bundler utility
OWNER_KEY=0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6      # account 3: SimpleAccount owner
PM_SIGNER_KEY=0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a  # account 4: paymaster signer
CREATE2=0x4e59b44847b379578588920ca78fbf26c0b4956c
A7=$DEVNET_HOME/node_modules/aa-contracts-07/artifacts
A8=$DEVNET_HOME/node_modules/aa-contracts-08/artifacts

# Historical states anvil moves out of memory stay in the run dir (down.sh and the watchdog remove them).
mkdir -p "$RUN_DIR/anvil-states"
timeout "$LIFETIME" "$BIN/anvil" --host 127.0.0.1 --port "$ANVIL_PORT" --silent --cache-path "$RUN_DIR/anvil-states" ${ANVIL_ARGS:-} \
  >"$RUN_DIR/anvil.log" 2>&1 &
echo $! >"$RUN_DIR/anvil.pid"; STARTED="$STARTED $!"
for _ in $(seq 1 200); do timeout 2 "$BIN/cast" chain-id --rpc-url "$RPC" >/dev/null 2>&1 && break; sleep 0.05; done
timeout 5 "$BIN/cast" chain-id --rpc-url "$RPC" >/dev/null || { echo "anvil did not start; see $RUN_DIR/anvil.log" >&2; exit 1; }

send() { timeout 60 "$BIN/cast" send --rpc-url "$RPC" --private-key "$DEPLOYER_KEY" --json "$@"; }
create() {  # create ARTIFACT [ABI-ENCODED-CONSTRUCTOR-ARGS-WITHOUT-0x]
  local code; code=$(jq -r .bytecode "$1")
  send --create "${code}${2:-}" | jq -r .contractAddress | xargs "$BIN/cast" to-check-sum-address
}
create2() {  # create2 ARTIFACT SALT: deploy through the deterministic deployer, print the canonical address
  local code addr; code=$(jq -r .bytecode "$1")
  addr=$("$BIN/cast" create2 --deployer "$CREATE2" --salt "$2" --init-code "$code")
  send "$CREATE2" "$2${code#0x}" >/dev/null
  [ "$(timeout 5 "$BIN/cast" codesize "$addr" --rpc-url "$RPC")" -gt 0 ] || { echo "CREATE2 deployment of $1 failed" >&2; exit 1; }
  echo "$addr"
}
ctor() { "$BIN/cast" abi-encode "$@" | cut -c3-; }

EP07=$(create2 "$A7/EntryPoint.json" 0x90d8084deab30c2a37c45e8d47f49f2f7965183cb6990a98943ef94940681de3)
EP08=$(create2 "$A8/EntryPoint.json" 0x0a59dbff790c23c976a548690c27297883cc66b4c67024f9117b0238995e35e9)
FACTORY=$(create "$A7/SimpleAccountFactory.json" "$(ctor 'f(address)' "$EP07")")
FACTORY08=$(create "$A8/SimpleAccountFactory.json" "$(ctor 'f(address)' "$EP08")")
PM_SIGNER=$("$BIN/cast" wallet address --private-key "$PM_SIGNER_KEY")
PAYMASTER=$(create "$A7/VerifyingPaymaster.json" "$(ctor 'f(address,address)' "$EP07" "$PM_SIGNER")")
send "$EP07" 'depositTo(address)' "$PAYMASTER" --value 10ether >/dev/null
send "$PAYMASTER" 'addStake(uint32)' 86400 --value 1ether >/dev/null

# alto: safe mode off (anvil has no geth JS tracer); it deploys its own simulation contracts.
timeout "$LIFETIME" node "$DEVNET_HOME/node_modules/@pimlico/alto/esm/cli/alto.js" \
  --entrypoints "$EP07,$EP08" --rpc-url "$RPC" --port "$BUNDLER_PORT" \
  --executor-private-keys "$EXECUTOR_KEY" --utility-private-key "$UTILITY_KEY" \
  --safe-mode false --enable-debug-endpoints --json \
  --log-level info --public-client-log-level warn --wallet-client-log-level warn \
  >"$RUN_DIR/alto.log" 2>&1 &
echo $! >"$RUN_DIR/alto.pid"; STARTED="$STARTED $!"
rpc() { timeout 3 curl -sf -X POST -H 'content-type: application/json' \
  --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":${3:-[]}}" "$1"; }
for _ in $(seq 1 600); do rpc "$BUNDLER" eth_chainId >/dev/null 2>&1 && break; sleep 0.1; done
rpc "$BUNDLER" eth_chainId >/dev/null || { echo "alto did not start; see $RUN_DIR/alto.log" >&2; exit 1; }

if [ -n "${WATCH_PID:-}" ]; then
  ANVIL_PID_=$(cat "$RUN_DIR/anvil.pid"); ALTO_PID_=$(cat "$RUN_DIR/alto.pid")
  (while kill -0 "$WATCH_PID" 2>/dev/null; do sleep 1; done; kill "$ALTO_PID_" "$ANVIL_PID_" 2>/dev/null
   for _ in $(seq 1 50); do kill -0 "$ANVIL_PID_" 2>/dev/null || break; sleep 0.1; done; rm -rf "$RUN_DIR/anvil-states") \
    </dev/null >/dev/null 2>&1 &
  echo $! >"$RUN_DIR/watchdog.pid"
fi

cat >"$RUN_DIR/env.tmp" <<ENV
ANVIL_RPC=$RPC
BUNDLER_RPC=$BUNDLER
CHAIN_ID=31337
ENTRYPOINT_V07=$EP07
ENTRYPOINT_V08=$EP08
SIMPLE_ACCOUNT_FACTORY=$FACTORY
SIMPLE_ACCOUNT_FACTORY_V08=$FACTORY08
VERIFYING_PAYMASTER=$PAYMASTER
PM_SIGNER_KEY=$PM_SIGNER_KEY
OWNER_KEY=$OWNER_KEY
DEPLOYER_KEY=$DEPLOYER_KEY
EXECUTOR_ADDRESS=$("$BIN/cast" wallet address --private-key "$EXECUTOR_KEY")
ANVIL_PID=$(cat "$RUN_DIR/anvil.pid")
ALTO_PID=$(cat "$RUN_DIR/alto.pid")
ENV
mv "$RUN_DIR/env.tmp" "$RUN_DIR/env"
echo "devnet up: anvil $RPC, alto $BUNDLER, paymaster $PAYMASTER; env in $RUN_DIR/env"
