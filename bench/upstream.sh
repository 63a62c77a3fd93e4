#!/usr/bin/env bash
# Upstream-provider benchmark, side by side in one run (SQLite): a fake EasyPost that answers at
# once with the recorded traffic (consign/examples/fake_provider.rs) and Consign in front of it.
#
#   GET /health                        the ceiling (routing + a DB ping)
#   fake POST /v2/shipments            the provider alone: the baseline of a rate request
#   POST /shipments (EasyPost only)    Consign + the provider (3 rates written)
#   fake POST …/buy, GET label file    the provider alone: the baseline of a purchase (the sum)
#   POST /transactions (EasyPost)      Consign + the provider (buy, label download, label stored
#                                      with fsync, transaction + its polling track in one commit)
#   POST /carrier_accounts/{id}/events signed tracker events, each new (HMAC check, one event
#                                      stored, track_updated outbox) — events/s
#
# Consign's overhead = its latency minus the provider's, at p50 and p99 (medians of RUNS runs).
#
#   CONNECTIONS=32 DURATION=5s RUNS=3 bench/upstream.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS="${CONNECTIONS:-32}"
DURATION="${DURATION:-5s}"
RUNS="${RUNS:-3}"
export THREADS="${THREADS:-2}"
KEY=EZTK_bench_key
SECRET=bench_secret
command -v wrk >/dev/null || { echo "install wrk first: apt-get install wrk" >&2; exit 1; }

source scripts/lib.sh
cargo build --release -q -p consign --bin consign --example fake_provider
BIN=target/release/consign
OUT=$(mktemp -d)
BACKEND=sqlite
echo "(raw wrk output in $OUT)" >&2
source bench/lib.sh

target/release/examples/fake_provider "$KEY" >"$OUT/fake.out" 2>&1 &
FAKE_PID=$!
trap 'kill $FAKE_PID 2>/dev/null || true; stop_server' EXIT
for _ in $(seq 1 50); do [[ -s "$OUT/fake.out" ]] && break; sleep 0.1; done
FAKE=$(head -1 "$OUT/fake.out")
export PROVIDER_AUTH="Basic $(printf '%s:' "$KEY" | base64)"

start_server "$BIN" ""
token=$("$BIN" token create --mode test)
export TOKEN="$token"
ACCOUNT=$(curl -sf "$SERVER_URL/carrier_accounts" -H "Authorization: ShippoToken $token" -H 'content-type: application/json' \
  -d "{\"carrier\":\"easypost\",\"account_id\":\"bench\",\"test\":true,\"parameters\":{\"api_key\":\"$KEY\",\"api_base\":\"$FAKE\",\"webhook_secret\":\"$SECRET\"}}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["object_id"])')
export CARRIER_ACCOUNT="$ACCOUNT"

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, median of $RUNS runs, $(nproc) cores, $(date -u +%F), SQLite"
echo
echo "| endpoint | req/s | p50 ms | p99 ms |"
echo "|---|---|---|---|"
run_wrk "GET /health" "$SERVER_URL/health"
run_wrk "fake EasyPost POST /v2/shipments (provider alone)" "$FAKE/v2/shipments" bench/post_provider.lua
run_wrk "POST /shipments, one EasyPost account" "$SERVER_URL/shipments" bench/post_shipment.lua
run_wrk "fake EasyPost POST …/buy (provider alone)" "$FAKE/v2/shipments/shp_x/buy" bench/post_provider_buy.lua
run_wrk "fake EasyPost GET label file (provider alone)" "$FAKE/files/postage_label/x.png"
run_wrk "POST /transactions, EasyPost label" "$SERVER_URL/transactions" bench/post_transaction.lua
# Events for labels bought above: numbers from the database, PER new events each.
numbers=$(sqlite3 "$SERVER_DIR/consign.db" "SELECT tracking_number FROM transactions WHERE status = 'SUCCESS' LIMIT 2000" 2>/dev/null ||
  python3 -c "import sqlite3,sys; print('\n'.join(r[0] for r in sqlite3.connect(sys.argv[1]).execute(\"SELECT tracking_number FROM transactions WHERE status = 'SUCCESS' LIMIT 2000\")))" "$SERVER_DIR/consign.db")
export EVENTS_FILE="$OUT/events.txt"
echo "$numbers" | python3 bench/events.py "$SECRET" 40 >"$EVENTS_FILE"
run_wrk "POST /carrier_accounts/{id}/events (1 new event each)" "$SERVER_URL/carrier_accounts/$ACCOUNT/events" bench/push_events.lua
echo
echo "events file: $(wc -l <"$EVENTS_FILE") distinct signed events (more requests than that replay them)"
# Latency without queueing: one connection, so p50/p99 are one request's own time and Consign's
# overhead is its latency minus the provider's.
echo
echo "One connection (wrk -t1 -c1):"
echo
echo "| endpoint | req/s | p50 ms | p99 ms |"
echo "|---|---|---|---|"
CONNECTIONS=1 THREADS=1
export THREADS
TEST_CARRIER=$(curl -sf "$SERVER_URL/carrier_accounts?carrier=shippo" -H "Authorization: ShippoToken $token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["object_id"])')
run_wrk "fake EasyPost POST /v2/shipments (provider alone)" "$FAKE/v2/shipments" bench/post_provider.lua
CARRIER_ACCOUNT="$TEST_CARRIER" run_wrk "POST /shipments, the test carrier only (no provider)" "$SERVER_URL/shipments" bench/post_shipment.lua
run_wrk "POST /shipments, one EasyPost account" "$SERVER_URL/shipments" bench/post_shipment.lua
run_wrk "fake EasyPost POST …/buy (provider alone)" "$FAKE/v2/shipments/shp_x/buy" bench/post_provider_buy.lua
run_wrk "fake EasyPost GET label file (provider alone)" "$FAKE/files/postage_label/x.png"
run_wrk "POST /transactions, EasyPost label" "$SERVER_URL/transactions" bench/post_transaction.lua
