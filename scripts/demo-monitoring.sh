#!/usr/bin/env bash
# The monitoring part of the demo: starts `butler serve --prometheus` against the demo devnet and a real
# Prometheus with the shipped configuration and alert rules (config/prometheus: intervals cut to 1 s, the
# targets pointed at the demo's exporter, watcher and alto), waits until every rule has been evaluated, prints
# the alerts that fire (and those still pending, waiting out their `for:`), then stops both by PID.
#
# Usage: scripts/demo-monitoring.sh [CONFIG]
#   CONFIG  the butler config of a running devnet (default: ./run/demo/butler.toml, which
#           `scripts/demo.sh --keep` writes and leaves running)
# Env: WATCHER_ADDR (host:port of a running `serve --watcher` to scrape too; none by default).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
case "${1:-}" in -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
CONFIG=${1:-$REPO/run/demo/butler.toml}
[ -f "$CONFIG" ] || { echo "no config at $CONFIG: run scripts/demo.sh --keep first" >&2; exit 1; }
for tool in cargo curl jq; do
  command -v "$tool" >/dev/null 2>&1 || { echo "needs \`$tool\` on PATH" >&2; exit 1; }
done
if ! command -v prometheus >/dev/null 2>&1; then
  echo "prometheus is not installed (Debian: apt-get install prometheus); skipping the monitoring step"
  exit 0
fi

cargo build --bin butler
BUTLER=${CARGO_TARGET_DIR:-$REPO/target}/debug/butler
RUN=$(dirname "$CONFIG")/prometheus
rm -rf "$RUN"
mkdir -p "$RUN/alerts" "$RUN/targets"

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  echo "no free port found" >&2; return 1
}
EXPORTER=127.0.0.1:$(free_port)
PROM=127.0.0.1:$(free_port)
BUNDLER=$(sed -n 's/^rpc_url = "http:\/\/\([^"/]*\).*/\1/p' "$CONFIG" | tail -n 1)

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

"$BUTLER" --config "$CONFIG" serve --prometheus --exporter-listen "$EXPORTER" 2>"$RUN/exporter.log" &
PIDS+=($!)

sed -e 's/scrape_interval: 15s/scrape_interval: 1s/' -e 's/scrape_timeout: 10s/scrape_timeout: 1s/' \
  -e 's/evaluation_interval: 15s/evaluation_interval: 1s/' config/prometheus/prometheus.yml >"$RUN/prometheus.yml"
cp config/prometheus/alerts/*.yml "$RUN/alerts/"
echo "- targets: [\"$EXPORTER\"]" >"$RUN/targets/exporter.yml"
if [ -n "${WATCHER_ADDR:-}" ]; then echo "- targets: [\"$WATCHER_ADDR\"]" >"$RUN/targets/watcher.yml"; else echo "[]" >"$RUN/targets/watcher.yml"; fi
printf -- '- targets: ["%s"]\n  labels:\n    bundler: alto\n' "$BUNDLER" >"$RUN/targets/bundlers.yml"

printf '\n$ promtool check config %s\n' "$RUN/prometheus.yml"
promtool check config "$RUN/prometheus.yml" 2>&1 | grep -E 'SUCCESS|FAILED' || true

printf '\n$ prometheus --config.file=%s --web.listen-address=%s &\n' "$RUN/prometheus.yml" "$PROM"
prometheus --config.file="$RUN/prometheus.yml" --storage.tsdb.path="$RUN/data" \
  --web.listen-address="$PROM" --log.level=warn 2>"$RUN/prometheus.log" &
PIDS+=($!)

API=http://$PROM/api/v1
RULES=$(cat config/prometheus/alerts/*.yml | grep -c -- '- alert: ')
evaluated=0
for _ in $(seq 1 150); do
  evaluated=$(curl -sf "$API/rules" 2>/dev/null | jq '[.data.groups[].rules[] | select(.health == "ok")] | length' 2>/dev/null || echo 0)
  up=$(curl -sf "$API/query?query=sum(up)" 2>/dev/null | jq -r '.data.result[0].value[1] // "0"' 2>/dev/null || echo 0)
  [ "$evaluated" = "$RULES" ] && [ "$up" != "0" ] && break
  sleep 0.2
done
sleep 3  # a few more evaluations, so rates over fresh series have two samples
echo "$evaluated of $RULES rules evaluated; targets:"
curl -sf "$API/targets" | jq -r '.data.activeTargets[] | "  \(.labels.job) \(.scrapeUrl) \(.health)"'

printf '\n$ curl -s %s/alerts   # the shipped rules against the demo\n' "$API"
curl -sf "$API/alerts" | jq -r '
  .data.alerts as $a
  | if ($a | length) == 0 then "no alert fires or is pending"
    else ($a | sort_by(.state, .labels.alertname)[]
      | "  \(.state | ascii_upcase)\t\(.labels.severity)\t\(.labels.alertname)\t\(.annotations.summary)")
    end'
echo "(pending: the condition holds, and the alert fires once it has held for the rule's \`for:\`)"
cleanup
trap - EXIT
echo "Prometheus and the exporter stopped (logs in $RUN)"
