#!/usr/bin/env bash
# The operator console part of the demo: starts `butler serve --watcher` against the demo devnet (indexing
# EntryPoint v0.7) with an admin token in a 0600 file, signs in to the console with curl, fetches the
# overview and the user operations page, and prints the console's URL. Run at a terminal (stdin is a TTY)
# it keeps serving until Ctrl-C, so the console can be opened in a browser; otherwise it stops the server
# by PID.
#
# Usage: scripts/demo-console.sh [CONFIG]
#   CONFIG  the butler config of a running devnet (default: ./run/demo/butler.toml, which
#           `scripts/demo.sh --keep` writes and leaves running)
# Env: CONSOLE_PORT (8090, or a free port when it is busy).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BASE=${1:-$REPO/run/demo/butler.toml}
[ -f "$BASE" ] || { echo "no config at $BASE: run scripts/demo.sh --keep first" >&2; exit 1; }
for tool in cargo curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "needs \`$tool\` on PATH" >&2; exit 1; }
done

cargo build --bin butler
BUTLER=${CARGO_TARGET_DIR:-$REPO/target}/debug/butler

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=${CONSOLE_PORT:-8090}
for _ in $(seq 1 50); do port_busy "$PORT" || break; PORT=$((20000 + RANDOM % 30000)); done

DIR=$(cd "$(dirname "$BASE")" && pwd)/console
rm -rf "$DIR" && mkdir -p "$DIR"
TOKEN_FILE=$DIR/admin-token
(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOKEN_FILE")
CONFIG=$DIR/butler.toml
EP=$(sed -n 's/^entrypoint = "\(.*\)"/\1/p' "$BASE" | head -n 1)
{
  echo "data_dir = \"$DIR/data\""
  cat "$BASE"
  cat <<TOML

[watcher]
confirmations = 0
poll_interval_secs = 1

[[watcher.sources]]
name = "entrypoint-v07"
preset = "entrypoint"
address = "$EP"
start_block = 0

[api]
listen = "127.0.0.1:$PORT"
admin_token_file = "$TOKEN_FILE"
monitor_interval_secs = 1
console = true
TOML
} >"$CONFIG"
echo "config: $CONFIG"

LOG=$DIR/serve.log
printf '\n$ butler serve --watcher &\n'
"$BUTLER" --config "$CONFIG" serve --watcher 2>"$LOG" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true' EXIT
URL=http://127.0.0.1:$PORT
for _ in $(seq 1 200); do
  curl -sf "$URL/health" 2>/dev/null | grep -q '"caughtUp":true' && break
  sleep 0.1
done

JAR=$DIR/cookies
printf '\n$ curl -X POST %s/ui/login -d token=...   (a session cookie, not the token, comes back)\n' "$URL"
curl -sf -o /dev/null -c "$JAR" --data-urlencode "token@$TOKEN_FILE" "$URL/ui/login"
grep -o 'butler_console.*' "$JAR" | awk '{print "cookie butler_console=" substr($2, 1, 8) "… (HttpOnly, SameSite=Strict)"}'
printf '\n$ curl -b cookies %s/   (the overview: chain head, indexer lag, paymaster deposit and runway)\n' "$URL"
curl -sf -b "$JAR" "$URL/" |
  grep -oE '<span class="label">[^<]*</span><span class="value">(<span[^>]*>)?[^<]*' |
  sed -E 's|<span class="label">([^<]*)</span><span class="value">(<span[^>]*>)?(.*)|  \1: \3|'
printf '\n$ curl -b cookies %s/ui/userops   (indexed UserOperations)\n' "$URL"
echo "$(curl -sf -b "$JAR" "$URL/ui/userops" | grep -o 'data-hash="0x[0-9a-f]*"' | wc -l) operations listed"

echo
echo "console: $URL/  (sign in with the token in $TOKEN_FILE); docs/console.md"
if [ -t 0 ]; then
  echo "serving until Ctrl-C (log: $LOG)"
  # Ctrl-C stops the server (it gets the SIGINT too) and this script, not the demo that called it
  trap 'kill -INT "$PID" 2>/dev/null || true' INT
  wait "$PID" || wait "$PID" || true
  trap - INT
else
  kill "$PID"
  wait "$PID" 2>/dev/null || true
fi
trap - EXIT
echo "console stopped"
