#!/usr/bin/env bash
# API ingest benchmark (release build): events/s of POST /api/logs/ingest with its durability promise
# (200 = written and fsynced), single events and batches of 100, without and with 100 SSE subscribers,
# each as a ratio to a minimal hyper server that parses the same JSON and discards it, in one run.
# Everything listens on 127.0.0.1 and stops by itself. Knobs: BENCH_SECS (per case), BENCH_CLIENTS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec cargo bench --bench api_ingest
