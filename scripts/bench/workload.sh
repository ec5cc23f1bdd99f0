# Sourced by the benchmarks on the shared workload (backfill.sh, users.sh, console.sh), from the repo root:
# their common defaults, the saved chain (built once with make-chain.sh, about 2 minutes, then reused from
# WORK_DIR) served on 127.0.0.1:$PORT, and the watcher configuration that indexes it.
#
# Env: WORKLOAD    the bench-workload folder (default: ../shared/bench-workload next to the repo)
#      STACK       the devnet install with anvil, cast and solc-js (default: $BUTLER_DEVNET_HOME or ./.devnet)
#      WORK_DIR    where the workload copy, the saved chain and the data dirs go (default: /tmp/butler-bench)
#      PORT        port for the served chain (default: 28650); GEN_PORT for building it (default: 28651)
#      BUTLER      the butler binary to measure (default: a release build, see workload_butler)
REPO=$(pwd)
WORKLOAD=${WORKLOAD:-$REPO/../shared/bench-workload}
STACK=${STACK:-${BUTLER_DEVNET_HOME:-$REPO/.devnet}}
WORK_DIR=${WORK_DIR:-/tmp/butler-bench}
PORT=${PORT:-28650}
GEN_PORT=${GEN_PORT:-28651}
WL=$WORK_DIR/workload
export STACK
[ -x "$STACK/node_modules/.bin/anvil" ] || { echo "no devnet install in $STACK (scripts/devnet/install.sh)" >&2; exit 1; }

# workload_serve: builds the saved chain when WORK_DIR has none, serves it until the script exits (then runs the
# script's `bench_cleanup` if it defines one, and stops the chain), and sets CONTRACT and EVENTS.
workload_serve() {
  mkdir -p "$WORK_DIR"
  if [ ! -f "$WL/chain/state.json" ]; then
    echo "==> building the saved chain in $WL (make-chain.sh, about 2 minutes)"
    rm -rf "$WL"; cp -r "$WORKLOAD" "$WL"; chmod -R u+w "$WL"
    WORKLOAD_DIR=$WL PORT=$GEN_PORT "$WL/make-chain.sh" >"$WORK_DIR/make-chain.log" 2>&1 \
      || { tail -20 "$WORK_DIR/make-chain.log" >&2; exit 1; }
  fi
  CONTRACT=$(jq -r .contract "$WL/chain/chain.json")
  EVENTS=$(jq -r .events "$WL/chain/chain.json")
  echo "==> serving the chain on 127.0.0.1:$PORT"
  WORKLOAD_DIR=$WL "$WL/serve-chain.sh" start "$PORT"
  trap workload_stop EXIT
}

workload_stop() {
  if declare -F bench_cleanup >/dev/null; then bench_cleanup || true; fi
  WORKLOAD_DIR=$WL "$WL/serve-chain.sh" stop "$PORT"
}

# workload_config DATA_DIR [WATCHER KEYS]: a configuration (on stdout) with this data dir, the served chain and
# one EntryPoint source over the workload's contract; WATCHER KEYS are extra `[watcher]` lines.
workload_config() {
  printf 'data_dir = "%s"\n[chain]\nrpc_url = "http://127.0.0.1:%s"\nchain_id = 31337\n[watcher]\n' "$1" "$PORT"
  [ -z "${2:-}" ] || printf '%s\n' "$2"
  printf '[[watcher.sources]]\nname = "bench"\npreset = "entrypoint"\naddress = "%s"\nstart_block = 0\n' "$CONTRACT"
}

# workload_butler: sets BUTLER to a fresh release build unless it is given.
workload_butler() {
  if [ -z "${BUTLER:-}" ]; then
    echo "==> building butler (release)"
    cargo build --release --quiet --bin butler
    BUTLER=${CARGO_TARGET_DIR:-$REPO/target}/release/butler
  fi
}
