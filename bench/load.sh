#!/usr/bin/env bash
# Load benchmark of the real server with wrk (Debian package `wrk`), side by side in one run:
# GET /health (the ceiling: routing + a DB ping), POST /addresses (auth + validation + one
# INSERT transaction), GET /addresses/{id} (auth + one SELECT) and POST /shipments with
# async false (auth, two nested addresses and a parcel validated, the demo rate card and the
# test carrier asked, 2 addresses + 1 parcel + 1 shipment + 6 rates written in one
# transaction) and POST /transactions with async false on fresh rates (a tracking number, a
# PDF_4x6 label rendered and written to the file store, the transaction row), on SQLite and
# PostgreSQL, plus the server's idle resident memory. Each cell is
# the median of RUNS runs; wrk reports any non-2xx answer, which fails the run.
#
#   CONNECTIONS=32 DURATION=5s RUNS=3 BACKENDS="sqlite postgres" bench/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS="${CONNECTIONS:-32}"
DURATION="${DURATION:-5s}"
RUNS="${RUNS:-3}"
export THREADS="${THREADS:-2}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
command -v wrk >/dev/null || { echo "install wrk first: apt-get install wrk" >&2; exit 1; }

source scripts/lib.sh
cargo build --release -q -p consign
BIN=target/release/consign
OUT=$(mktemp -d)
echo "(raw wrk output in $OUT)" >&2
# A failed run (run_wrk exits on any non-2xx answer) must not leave its server running.
trap stop_server EXIT

source bench/lib.sh

bench_backend() { # name database-url-or-empty
  BACKEND=${1%% *}
  local name=$1 url=$2 token id rss
  start_server "$BIN" "$url"
  sleep 1
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
  token=$("$BIN" token create --mode test)
  export TOKEN="$token"
  id=$(curl -sf "$SERVER_URL/addresses" -H "Authorization: ShippoToken $token" -H 'content-type: application/json' \
    -d '{"name":"A","street1":"1 Main St","city":"Springfield","state":"IL","zip":"62701","country":"US"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["object_id"])')
  echo "### $name (idle RSS after start: $((rss / 1024)) MiB)"
  echo
  echo "| endpoint | req/s | p50 ms | p99 ms |"
  echo "|---|---|---|---|"
  run_wrk "GET /health" "$SERVER_URL/health"
  run_wrk "POST /addresses" "$SERVER_URL/addresses" bench/post_address.lua
  run_wrk "GET /addresses/{id}" "$SERVER_URL/addresses/$id" bench/get_authed.lua
  run_wrk "POST /shipments" "$SERVER_URL/shipments" bench/post_shipment.lua
  run_wrk "POST /transactions (PDF_4x6 label)" "$SERVER_URL/transactions" bench/post_transaction.lua
  echo
  echo "Peak RSS under load ($CONNECTIONS connections): $(($(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status") / 1024)) MiB"
  echo
  stop_server
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, median of $RUNS runs, $(nproc) cores, $(date -u +%F)"
echo
BACKENDS="${BACKENDS:-sqlite postgres}"
if [[ " $BACKENDS " == *" sqlite "* ]]; then
  bench_backend "SQLite (embedded, WAL)" ""
fi
if [[ " $BACKENDS " == *" postgres "* ]]; then
  db="consign_bench_$$"
  psql "$PG_URL" -qc "CREATE DATABASE $db"
  bench_backend "PostgreSQL 127.0.0.1:5432" "${PG_URL%/*}/$db"
  psql "$PG_URL" -qc "DROP DATABASE $db"
fi
