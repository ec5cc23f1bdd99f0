#!/usr/bin/env bash
# The butler demo on a fresh machine: installs the local ERC-4337 devnet if missing (anvil, EntryPoint v0.7
# and v0.8, SimpleAccountFactory, VerifyingPaymaster, the alto bundler), builds butler, brings the devnet
# up, sends a few sponsored UserOperations with `butler probe userop`, and shows `butler chain status`,
# `butler paymaster status` and `butler health` against it, then the exporter, the fee manager, the watcher and
# the Aztec staking helpers (scripts/demo-*.sh); it ends with a real Prometheus running the shipped alert rules
# against the demo (scripts/demo-monitoring.sh) and the operator console (scripts/demo-console.sh: its URL is
# printed; at a terminal it keeps serving until Ctrl-C).
#
# Usage: scripts/demo.sh [--stop | --keep]
#   --stop   stop the devnet at the end (the default when stdin is not a terminal, e.g. in CI)
#   --keep   leave it running and print how to stop it (the default at a terminal)
# Env: RUN_DIR (./run/demo), ANVIL_PORT and BUNDLER_PORT (8545 and 4337, or free ports when those are busy),
#      COUNT (sponsored operations to send, 3), BUTLER_DEVNET_HOME (where the devnet is installed, ./.devnet),
#      LIFETIME (upper bound in seconds for the devnet's processes, 3600).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

STOP=
for arg in "$@"; do
  case "$arg" in
    --stop) STOP=1 ;;
    --keep) STOP=0 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$STOP" ]; then
  if [ -t 0 ] && [ -z "${CI:-}" ]; then STOP=0; else STOP=1; fi
fi

RUN_DIR=${RUN_DIR:-$REPO/run/demo}
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
COUNT=${COUNT:-3}
if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD= PLAIN=; fi
step() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$PLAIN"; }

for tool in cargo node npm jq curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "the demo needs \`$tool\` on PATH" >&2; exit 1; }
done

step "devnet packages (installed once into ${BUTLER_DEVNET_HOME:-$REPO/.devnet})"
scripts/devnet/install.sh

step "building butler (cargo build; the test suite reuses this build)"
cargo build --bin butler
BUTLER=${CARGO_TARGET_DIR:-$REPO/target}/debug/butler
[ -x "$BUTLER" ] || { echo "no butler binary at $BUTLER after the build" >&2; exit 1; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {  # pick_port PREFERRED: the preferred port if free, else a free one
  local p=$1
  for _ in $(seq 1 50); do
    port_busy "$p" || { echo "$p"; return 0; }
    p=$((20000 + RANDOM % 30000))
  done
  echo "no free port found" >&2; return 1
}

# A previous demo run in the same RUN_DIR is stopped first (down.sh stops only the PIDs it recorded), and its
# data dir goes: it belongs to the previous run's chain (top-up audit, event store, the bundlers' registry).
RUN_DIR=$RUN_DIR scripts/devnet/down.sh >/dev/null || true
rm -rf "$RUN_DIR/data"

stop_devnet() { RUN_DIR=$RUN_DIR "$REPO/scripts/devnet/down.sh" || true; }
on_exit() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "demo failed (exit $rc); logs in $RUN_DIR (anvil.log, alto.log)" >&2
    stop_devnet
  elif [ "$STOP" = 1 ]; then
    step "stopping the devnet"
    stop_devnet
  fi
  exit $rc
}
trap on_exit EXIT

ANVIL_PORT=$(pick_port "${ANVIL_PORT:-8545}")
BUNDLER_PORT=$(pick_port "${BUNDLER_PORT:-4337}")
[ "$ANVIL_PORT" != "$BUNDLER_PORT" ] || BUNDLER_PORT=$(pick_port $((ANVIL_PORT + 1)))
step "devnet up: anvil on 127.0.0.1:$ANVIL_PORT, alto on 127.0.0.1:$BUNDLER_PORT, run dir $RUN_DIR"
RUN_DIR=$RUN_DIR ANVIL_PORT=$ANVIL_PORT BUNDLER_PORT=$BUNDLER_PORT LIFETIME=${LIFETIME:-3600} \
  scripts/devnet/up.sh

env_get() { sed -n "s/^$1=//p" "$RUN_DIR/env"; }
KEY_FILE=$RUN_DIR/paymaster-signer.key
(umask 077 && env_get PM_SIGNER_KEY >"$KEY_FILE")
CONFIG=$RUN_DIR/butler.toml
cat >"$CONFIG" <<TOML
# butler configuration for the demo devnet (written by scripts/demo.sh).

[chain]
rpc_url = "$(env_get ANVIL_RPC)"
chain_id = $(env_get CHAIN_ID)

[[paymasters]]
name = "verifying"
address = "$(env_get VERIFYING_PAYMASTER)"
entrypoint = "$(env_get ENTRYPOINT_V07)"
min_deposit_eth = "1.0"

[probe]
factory = "$(env_get SIMPLE_ACCOUNT_FACTORY)"
bundler = "$(env_get BUNDLER_RPC)"
entrypoint = "$(env_get ENTRYPOINT_V07)"
paymaster = "$(env_get VERIFYING_PAYMASTER)"
paymaster_signer_key_file = "$KEY_FILE"

[[bundlers]]
name = "alto"
rpc_url = "$(env_get BUNDLER_RPC)"
executors = ["$(env_get EXECUTOR_ADDRESS)"]

[health]
# The demo chain is seconds old: the spend rate of its few blocks makes any deposit look short-lived.
min_runway_hours = 1
TOML
echo "config: $CONFIG"

run() { printf '\n$ butler %s\n' "$*"; "$BUTLER" --config "$CONFIG" "$@"; }

step "sending $COUNT sponsored UserOperations through alto"
run probe userop --count "$COUNT"

step "the chain, the paymaster (its deposit paid for the operations above) and the health checks"
run chain status
run paymaster status
run health

step "several RPC URLs: the first a stopped port, so every call goes to the second (docs/chain.md)"
DOWN_PORT=$(pick_port $((ANVIL_PORT + 7)))
run --rpc-url "http://127.0.0.1:$DOWN_PORT" --rpc-url "$(env_get ANVIL_RPC)" chain status

step "config check runs on the merged values: an env override with a wrong EIP-55 checksum is refused (exit 2)"
PM=$(env_get VERIFYING_PAYMASTER)
TYPO=$(printf '%s\n' "$PM" | awk '{ for (i = 3; i <= length($0); i++) { c = substr($0, i, 1)
  if (c ~ /[a-f]/) { print substr($0, 1, i - 1) toupper(c) substr($0, i + 1); exit }
  if (c ~ /[A-F]/) { print substr($0, 1, i - 1) tolower(c) substr($0, i + 1); exit } } }')
printf '\n$ BUTLER_PAYMASTERS__0__ADDRESS=%s butler config check\n' "$TYPO"
code=0
BUTLER_PAYMASTERS__0__ADDRESS=$TYPO "$BUTLER" --config "$CONFIG" config check || code=$?
[ "$code" = 2 ] || { echo "expected exit code 2, got $code" >&2; exit 1; }

step "the exporter: butler serve --prometheus, scraped once"
scripts/demo-exporter.sh "$CONFIG"

step "the fee manager: a configuration imported, a pattern Go would refuse, what one validator gets, the lint"
FEES_KEY=0x97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb
cat >"$RUN_DIR/fees.json" <<JSON
{"version": 1,
 "default_configs": [{"name": "demo", "fee_recipient": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
   "gas_limit": "30000000", "relays": [{"url": "https://relay.example.com/", "min_value": "0.05"}]}],
 "proposer_patterns": [{"name": "pool1", "pattern": "Pool1/.*", "tags": ["demo"], "min_value": "0.1"}]}
JSON
run fees import "$RUN_DIR/fees.json"
printf '\n$ butler fees patterns create bad --pattern (?x)Pool2/.* --tag demo\n'
if "$BUTLER" --config "$CONFIG" fees patterns create bad --pattern '(?x)Pool2/.*' --tag demo; then
  echo "a pattern Go refuses was accepted" >&2
  exit 1
fi
run fees explain "$FEES_KEY" --default-config demo --tags demo --account Pool1/validator-1
run fees check
step "paymaster top-up: a dry run, then a real one (lock, audit file, exit code 0), then the audit history"
TOPUP_CONFIG=$RUN_DIR/butler-topup.toml
FUNDER_KEY_FILE=$RUN_DIR/funder.key
OWNER_KEY_FILE=$RUN_DIR/paymaster-owner.key
(umask 077 && env_get DEPLOYER_KEY >"$FUNDER_KEY_FILE" && env_get DEPLOYER_KEY >"$OWNER_KEY_FILE")
{
  echo "data_dir = \"$RUN_DIR/data\""
  cat "$CONFIG"
  printf '\n[paymaster_ops]\nfunder_key_file = "%s"\nadmin_key_file = "%s"\n' "$FUNDER_KEY_FILE" "$OWNER_KEY_FILE"
} >"$TOPUP_CONFIG"
topup() { printf '\n$ butler %s\n' "$*"; "$BUTLER" --config "$TOPUP_CONFIG" "$@"; }
topup paymaster topup --below 20 --to 25 --dry-run
topup paymaster topup --below 20 --to 25 --yes
topup paymaster topup --below 20 --to 25 --yes
topup paymaster topup --history
step "admin writes: a withdrawal shown as a dry run and written as a Safe Transaction Builder batch"
topup paymaster withdraw --to "$(env_get EXECUTOR_ADDRESS)" --amount 1 --dry-run
topup paymaster withdraw --to "$(env_get EXECUTOR_ADDRESS)" --amount 1 --safe-json "$RUN_DIR/withdraw-safe.json"
jq -c .transactions "$RUN_DIR/withdraw-safe.json"
step "the watcher and operations: its own /metrics, butler health across every part, log export, backup and restore"
scripts/demo-watcher.sh "$CONFIG"
step "the watcher on PostgreSQL: the store copied into a throwaway database, read back, served read-only"
scripts/demo-watcher-pg.sh "$RUN_DIR/watcher/butler.toml"
step "Aztec staking: the real Aztec L1 contracts on the devnet, a provider, keys, a stake, attester states"
scripts/demo-aztec.sh "$CONFIG"
step "bundler supervision: butler serve --watcher spawns a second alto and a UserOperation goes through it"
scripts/demo-bundlers.sh "$CONFIG"
step "monitoring: Prometheus with the shipped alert rules against the demo, and the alerts that fire"
scripts/demo-monitoring.sh "$CONFIG"

if [ "$STOP" = 0 ]; then
  step "the devnet keeps running (for at most ${LIFETIME:-3600} s)"
  cat <<EOF
Try, for example:
  $BUTLER --config $CONFIG probe userop --count 10
  $BUTLER --config $CONFIG paymaster status --output json
  $BUTLER --config $CONFIG serve --prometheus    # then: curl http://127.0.0.1:9464/metrics
Stop it with:
  RUN_DIR=$RUN_DIR scripts/devnet/down.sh
EOF
fi

step "the operator console: butler serve --watcher serves it; signed in with curl, its URL printed"
if [ "$STOP" = 0 ] && [ -t 0 ]; then
  scripts/demo-console.sh "$CONFIG"    # at a terminal: keeps serving the console until Ctrl-C
else
  scripts/demo-console.sh "$CONFIG" </dev/null
fi
