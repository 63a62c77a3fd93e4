#!/usr/bin/env bash
# Orders and batches, side by side in one run, on SQLite then PostgreSQL (release build):
#
#   POST /orders/import          a 50,000-row CSV (25,000 orders of two line items) — rows/s
#   GET /health                  the ceiling (routing + a DB ping)
#   GET /orders?order_status[]=PAID over those 25,000 orders (plus 25,000 SHIPPED ones) — p99
#   a 10,000-shipment batch      POST /batches (rate-card courier) → VALID → purchase →
#                                PURCHASED with its 100 merged PDFs written — seconds
#
#   CONNECTIONS=32 DURATION=5s RUNS=3 bench/orders.sh      (ONLY_BATCH=1: the batch alone)
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

# The files: a 50,000-row CSV of PAID orders, 25,000 more to be SHIPPED, a 10,000-shipment batch.
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
head = "order_number,placed_at,order_status,buyer_email,ship_to_name,ship_to_street1,ship_to_city,ship_to_zip,ship_to_country,sku,title,quantity,weight,weight_unit\n"
def orders(path, prefix, status):
    with open(path, "w") as f:
        f.write(head)
        for n in range(25000):
            for sku, title in (("MUG", "Caneca"), ("CARD", "Postal")):
                f.write(f"{prefix}{n},2026-11-{1 + n % 28:02d}T10:00:00Z,{status},b{n}@example.pt,Buyer {n},Rua {n},Porto,4000-447,PT,{sku},{title},1,0.4,kg\n")
orders(f"{out}/paid.csv", "P-", "PAID")
orders(f"{out}/shipped.csv", "S-", "SHIPPED")
shipment = {"address_from": {"name": "Loja", "street1": "Rua Augusta 100", "city": "Lisboa", "zip": "1100-053", "country": "PT"},
            "address_to": {"name": "Ana", "street1": "Rua de Santa Catarina 1", "city": "Porto", "zip": "4000-447", "country": "PT"},
            "parcels": [{"length": "20", "width": "15", "height": "10", "distance_unit": "cm", "weight": "1.5", "mass_unit": "kg"}]}
json.dump({"batch_shipments": [{"shipment": shipment} for _ in range(10000)]}, open(f"{out}/batch.json", "w"))
PY
cat >"$OUT/card.csv" <<'CSV'
record,fields
card,Correio Teste,EUR,kg,cm
service,std,Normal,2-3 dias úteis,2,yes,yes,5000,30,150,
zone,PT,Portugal,PT,PT
price,std,PT,5,6.90
tracking,CT,8,PT,s10
CSV

bench_backend() { # label database-url
  BACKEND=$1
  start_server "$BIN" "$2"
  export TOKEN
  TOKEN=$("$BIN" token create --mode test)
  local auth="Authorization: ShippoToken $TOKEN"
  local t0 t1
  if [[ -z "${ONLY_BATCH:-}" ]]; then
  t0=$(date +%s.%N)
  curl -sf "$SERVER_URL/orders/import" -H "$auth" -H 'content-type: text/csv' --data-binary @"$OUT/paid.csv" >"$OUT/import-$BACKEND.json"
  t1=$(date +%s.%N)
  curl -sf "$SERVER_URL/orders/import" -H "$auth" -H 'content-type: text/csv' --data-binary @"$OUT/shipped.csv" >/dev/null
  local created
  created=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["created"])' "$OUT/import-$BACKEND.json")
  [[ "$created" == 25000 ]] || { echo "import created $created orders" >&2; cat "$OUT/import-$BACKEND.json" >&2; exit 1; }
  IMPORT_RATE=$(python3 -c "print(f'{50000 / ($t1 - $t0):,.0f}')")
  IMPORT_S=$(python3 -c "print(f'{$t1 - $t0:.1f}')")

  echo "### $BACKEND"
  echo
  echo "| endpoint | req/s | p50 ms | p99 ms |"
  echo "|---|---|---|---|"
  run_wrk "GET /health" "$SERVER_URL/health"
  run_wrk "GET /orders?order_status[]=PAID (25,000 of 50,000)" "$SERVER_URL/orders?order_status%5B%5D=PAID" bench/get_authed.lua
  run_wrk "GET /orders?order_status[]=SHIPPED&page=40" "$SERVER_URL/orders?order_status%5B%5D=SHIPPED&page=40" bench/get_authed.lua
  echo
  echo "CSV import: 50,000 rows (25,000 orders) in $IMPORT_S s = $IMPORT_RATE rows/s"
  fi

  # The batch: a rate-card courier, 10,000 inline shipments, from POST to PURCHASED.
  local account
  account=$(curl -sf "$SERVER_URL/carrier_accounts" -H "$auth" -H 'content-type: application/json' \
    -d '{"carrier":"ratecard","account_id":"bench-courier","parameters":{}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["object_id"])')
  curl -sf -X PUT "$SERVER_URL/carrier_accounts/$account/rate_card" -H "$auth" -H 'content-type: text/csv' --data-binary @"$OUT/card.csv" >/dev/null
  python3 - "$OUT/batch.json" "$account" >"$OUT/batch-$BACKEND.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
b.update(default_carrier_account=sys.argv[2], default_servicelevel_token="std", label_filetype="PDF_4x6")
print(json.dumps(b))
PY
  python3 - "$SERVER_URL" "$TOKEN" "$OUT/batch-$BACKEND.json" <<'PY'
import json, sys, time, urllib.request
base, token, path = sys.argv[1:]
def call(method, url, body=None):
    req = urllib.request.Request(base + url, data=body, method=method, headers={"Authorization": f"ShippoToken {token}", "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=120))
body = open(path, "rb").read()
t0 = time.time()
b = call("POST", "/batches", body)
while b["status"] == "VALIDATING":
    time.sleep(0.05)
    b = call("GET", f"/batches/{b['object_id']}?results=1")
t_valid = time.time()
assert b["status"] == "VALID", b["object_results"]
call("POST", f"/batches/{b['object_id']}/purchase", b"")
while b["status"] != "PURCHASED":
    time.sleep(0.05)
    b = call("GET", f"/batches/{b['object_id']}?results=1")
t1 = time.time()
r = b["object_results"]
assert r["purchase_succeeded"] == 10000 and len(b["label_url"]) == 100, (r, len(b["label_url"]))
print(f"10,000-shipment batch: POST → VALID {t_valid - t0:.1f} s, → PURCHASED (100 merged PDFs written) {t1 - t0:.1f} s in all")
PY
  echo
  stop_server
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, median of $RUNS runs, $(nproc) cores, $(date -u +%F)"
echo
trap stop_server EXIT
bench_backend sqlite ""
db="consign_bench_orders_$$"
psql "$PG_URL" -qc "CREATE DATABASE $db"
trap 'stop_server; psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
bench_backend postgres "${PG_URL%/*}/$db"
