#!/usr/bin/env bash
# The web app's pages under load, side by side with GET /health and the API's GET /orders in one
# run, on SQLite then PostgreSQL (release build), with 50,000 orders (25,000 PAID of two line
# items, 25,000 SHIPPED, imported by CSV) and labels bought for 8,000 of them in one batch:
#
#   the orders inbox (newest first; the PAID view), the search box by order number, buyer email
#   and tracking number, an order's page, the labels page, the batch page, home; the API's
#   GET /orders — req/s, p50 and p99 at CONNECTIONS connections, medians of RUNS runs; and the
#   bytes of the inbox page with its CSS and JavaScript.
#
#   CONNECTIONS=32 DURATION=5s RUNS=3 BACKENDS="sqlite postgres" bench/web.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS="${CONNECTIONS:-32}"
DURATION="${DURATION:-5s}"
RUNS="${RUNS:-3}"
export THREADS="${THREADS:-2}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
command -v wrk >/dev/null || { echo "install wrk first: apt-get install wrk" >&2; exit 1; }

source scripts/lib.sh
cargo build --release -q -p consign --bin consign
BIN=target/release/consign
OUT=$(mktemp -d)
echo "(raw output in $OUT)" >&2
source bench/lib.sh

python3 - "$OUT" <<'PY'
import sys
out = sys.argv[1]
head = "order_number,placed_at,order_status,buyer_email,ship_to_name,ship_to_street1,ship_to_city,ship_to_state,ship_to_zip,ship_to_country,sku,title,quantity,weight,weight_unit\n"
def orders(path, prefix, status):
    with open(path, "w") as f:
        f.write(head)
        for n in range(25000):
            for sku, title in (("MUG", "Mug"), ("CARD", "Card")):
                f.write(f"{prefix}{n},2026-11-{1 + n % 28:02d}T10:00:00Z,{status},b{n}@example.com,Buyer {prefix}{n},{n} Main St,Springfield,IL,62701,US,{sku},{title},1,0.4,lb\n")
orders(f"{out}/paid.csv", "P-", "PAID")
orders(f"{out}/shipped.csv", "S-", "SHIPPED")
PY

bench_backend() { # label database-url
  BACKEND=$1
  start_server "$BIN" "$2"
  export TOKEN COOKIE
  TOKEN=$("$BIN" token create --mode test)
  local auth="Authorization: ShippoToken $TOKEN"
  curl -sf "$SERVER_URL/orders/import" -H "$auth" -H 'content-type: text/csv' --data-binary @"$OUT/paid.csv" >/dev/null
  curl -sf "$SERVER_URL/orders/import" -H "$auth" -H 'content-type: text/csv' --data-binary @"$OUT/shipped.csv" >/dev/null
  echo "a long bench password" | "$BIN" user create --email "bench-$BACKEND@shop.example" --role owner --password-stdin >/dev/null
  COOKIE=$(curl -s -o /dev/null -D - "$SERVER_URL/app/sign-in" -H "Origin: $SERVER_URL" \
    --data-urlencode "email=bench-$BACKEND@shop.example" --data-urlencode "password=a long bench password" |
    awk -F'[: ;]+' 'tolower($1)=="set-cookie" {print $2}')
  [[ "$COOKIE" == consign_session=* ]] || { echo "sign-in failed" >&2; exit 1; }
  # Labels for the 8,000 PAID orders placed 1–9 November: one batch from orders, bought.
  python3 - "$SERVER_URL" "$TOKEN" >"$OUT/seed-$BACKEND.txt" <<'PY'
import json, sys, time, urllib.request
base, token = sys.argv[1:]
def call(method, url, body=None):
    req = urllib.request.Request(base + url, data=json.dumps(body).encode() if body is not None else None, method=method,
                                 headers={"Authorization": f"ShippoToken {token}", "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=300))
accounts = call("GET", "/carrier_accounts?results=100")["results"]
courier = next(a for a in accounts if a["carrier"] == "ratecard")
sender = call("POST", "/addresses", {"name": "Shop", "street1": "1 Market St", "city": "San Francisco", "state": "CA", "zip": "94105", "country": "US"})
t0 = time.time()
b = call("POST", "/batches/from_orders", {"address_from": sender["object_id"], "default_carrier_account": courier["object_id"],
        "default_servicelevel_token": "demo_ground", "start_date": "2026-11-01T00:00:00Z", "end_date": "2026-11-09T23:59:59Z",
        "length": "10", "width": "8", "height": "4", "distance_unit": "in"})
while b["status"] == "VALIDATING":
    time.sleep(0.1); b = call("GET", f"/batches/{b['object_id']}?results=1")
assert b["status"] == "VALID", b["object_results"]
call("POST", f"/batches/{b['object_id']}/purchase")
while b["status"] != "PURCHASED":
    time.sleep(0.1); b = call("GET", f"/batches/{b['object_id']}?results=1")
t = call("GET", "/transactions?results=1")["results"][0]
orders = call("GET", "/orders?results=1")["results"]
print(b["object_id"], t["tracking_number"], orders[0]["object_id"], b["object_results"]["purchase_succeeded"], f"{time.time() - t0:.0f}")
PY
  local batch tracking order labels secs
  read -r batch tracking order labels secs <"$OUT/seed-$BACKEND.txt"

  echo "### $BACKEND (50,000 orders, $labels labels bought in one batch in $secs s)"
  echo
  echo "| page | req/s | p50 ms | p99 ms |"
  echo "|---|---|---|---|"
  run_wrk "GET /health" "$SERVER_URL/health"
  run_wrk "GET /app/orders (inbox, 50 newest)" "$SERVER_URL/app/orders" bench/get_page.lua
  run_wrk "GET /app/orders?status=PAID" "$SERVER_URL/app/orders?status=PAID" bench/get_page.lua
  run_wrk "search: order number" "$SERVER_URL/app/orders?q=P-12345" bench/get_page.lua
  run_wrk "search: buyer email" "$SERVER_URL/app/orders?q=b777%40example.com" bench/get_page.lua
  run_wrk "search: tracking number" "$SERVER_URL/app/orders?q=$tracking" bench/get_page.lua
  run_wrk "GET /app/orders/{id}" "$SERVER_URL/app/orders/$order" bench/get_page.lua
  run_wrk "GET /app/labels" "$SERVER_URL/app/labels" bench/get_page.lua
  run_wrk "GET /app/batches/{id} (8,000 shipments)" "$SERVER_URL/app/batches/$batch" bench/get_page.lua
  run_wrk "GET / (home)" "$SERVER_URL/" bench/get_page.lua
  run_wrk "API GET /orders (25 newest)" "$SERVER_URL/orders" bench/get_authed.lua
  echo
  local html css js
  html=$(curl -s -H "Cookie: $COOKIE" "$SERVER_URL/app/orders" | tee "$OUT/inbox.html" | wc -c)
  css=$(curl -s "$SERVER_URL$(grep -o '/app/static/app-[0-9a-f]*\.css' "$OUT/inbox.html")" | wc -c)
  js=$(curl -s "$SERVER_URL$(grep -o '/app/static/htmx-[0-9a-f]*\.js' "$OUT/inbox.html")" | wc -c)
  echo "Inbox page weight: HTML $html + CSS $css + JS $js = $((html + css + js)) bytes (uncompressed)"
  echo
  stop_server
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, median of $RUNS runs, $(nproc) cores, $(date -u +%F)"
echo
trap stop_server EXIT
BACKENDS="${BACKENDS:-sqlite postgres}"
for b in $BACKENDS; do
  case $b in
    sqlite) bench_backend sqlite "" ;;
    postgres)
      db="consign_bench_web_$$"
      psql "$PG_URL" -qc "CREATE DATABASE $db"
      trap 'stop_server; psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
      bench_backend postgres "${PG_URL%/*}/$db"
      ;;
  esac
done
