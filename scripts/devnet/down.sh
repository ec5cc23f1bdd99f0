#!/usr/bin/env bash
# Stop the devnet that up.sh started in $RUN_DIR, by the PIDs it recorded (never anything else).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUN_DIR=${RUN_DIR:-$REPO/run/devnet}
for name in watchdog alto anvil; do
  pidfile=$RUN_DIR/$name.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "stopped $name ($pid)"
  fi
  rm -f "$pidfile"
done
rm -rf "$RUN_DIR/anvil-states"
