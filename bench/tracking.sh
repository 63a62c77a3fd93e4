#!/usr/bin/env bash
# Tracking and webhook benchmark against the real release server, on SQLite and PostgreSQL:
# bulk scan ingest (1,000 events a request) in events/s, single scans (req/s, p50, p99), webhook
# deliveries/s to a local receiver, and the time from a scan to its webhook arriving (p50, p99).
# The driver is consign/examples/tracking_load.rs; any error fails the run.
#
#   SECONDS_EACH=5 BACKENDS="sqlite postgres" bench/tracking.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${SECONDS_EACH:-5}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
source scripts/lib.sh
cargo build --release -q -p consign --bin consign --example tracking_load
BIN=target/release/consign
LOAD=target/release/examples/tracking_load
# The receiver listens on loopback.
export CONSIGN_ALLOW_PRIVATE_NETWORK=true

run() { # name database-url-or-empty
  start_server "$BIN" "$2"
  local token
  token=$("$BIN" token create --mode test)
  echo "#### $1"
  echo
  "$LOAD" "$SERVER_URL" "$token" "$SECONDS_EACH" || { cat "$SERVER_DIR/serve.log" >&2; stop_server; exit 1; }
  echo
  stop_server
}

echo "$(nproc) cores, $(date -u +%F), ${SECONDS_EACH} s per measure"
echo
BACKENDS="${BACKENDS:-sqlite postgres}"
if [[ " $BACKENDS " == *" sqlite "* ]]; then
  run "SQLite (embedded, WAL)" ""
fi
if [[ " $BACKENDS " == *" postgres "* ]]; then
  db="consign_bench_$$"
  psql "$PG_URL" -qc "CREATE DATABASE $db"
  run "PostgreSQL 127.0.0.1:5432" "${PG_URL%/*}/$db"
  psql "$PG_URL" -qc "DROP DATABASE $db"
fi
