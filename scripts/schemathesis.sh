#!/usr/bin/env bash
# Schemathesis against a real `consign serve`: every operation of /openapi.json, with a test
# token and one object of every kind created first so operations with ids reach real objects.
#
#   scripts/schemathesis.sh [DATABASE_URL]   (empty = SQLite)
#   ST_EXAMPLES  examples per operation and phase (default 25)
#   ST_MAX_TIME  time budget in seconds for the whole run (default 240)
#
# Checks: all of them but two, which measure a schema's strictness rather than the server's
# correctness, and which a Shippo-compatible server cannot pass by design:
#   - positive_data_acceptance: a schema-valid body must be accepted, but a postal code must fit
#     its country, a rate id must exist and a shipment date must not be in the past; JSON Schema
#     cannot say those, so valid-looking data is rightly refused with 400.
#   - negative_data_rejection: a body with a number where the schema says string must be
#     refused, but Shippo (and so Consign) accepts "5" and 5 alike in its numeric and text fields,
#     because its SDKs and clients send both.
# Every other check (server errors, status codes, content types, response schemas and headers,
# Allow, auth, use-after-free, resource availability) must pass with zero failures.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

VENV=target/schemathesis-venv
if [[ ! -x "$VENV/bin/schemathesis" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==4.32.5"
fi
BIN=target/debug/consign
[[ -x "$BIN" ]] || cargo build -q -p consign

export CONSIGN_ALLOW_PRIVATE_NETWORK=true
start_server "$BIN" "${1:-}"
trap stop_server EXIT
TOKEN=$("$BIN" token create --mode test)
api() { # METHOD PATH [JSON] → body
  curl -sf -X "$1" -H "Authorization: ShippoToken $TOKEN" -H 'content-type: application/json' \
    ${3:+--data "$3"} "$SERVER_URL$2"
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d' + sys.argv[1]))" "$1"; }

FROM='{"name":"Shawn Ippotle","street1":"215 Clayton St.","city":"San Francisco","state":"CA","zip":"94117","country":"US"}'
TO='{"name":"Mr Hippo","street1":"965 Mission St","city":"New York","state":"NY","zip":"10001","country":"US"}'
PARCEL='{"length":"10","width":"8","height":"4","distance_unit":"in","weight":"2","mass_unit":"lb"}'
address=$(api POST /addresses "$FROM" | field '["object_id"]')
parcel=$(api POST /parcels "$PARCEL" | field '["object_id"]')
item=$(api POST /customs/items '{"description":"T-shirt","quantity":1,"net_weight":"0.2","mass_unit":"kg","value_amount":"20","value_currency":"USD","origin_country":"US"}' | field '["object_id"]')
declaration=$(api POST /customs/declarations "{\"contents_type\":\"MERCHANDISE\",\"non_delivery_option\":\"RETURN\",\"certify\":true,\"certify_signer\":\"Shawn Ippotle\",\"items\":[\"$item\"]}" | field '["object_id"]')
hook=$(api POST /webhooks "{\"url\":\"http://127.0.0.1:9/hook\",\"event\":\"all\"}" | field '["object_id"]')
shipment_json=$(api POST /shipments "{\"address_from\":$FROM,\"address_to\":$TO,\"parcels\":[$PARCEL],\"async\":false}")
shipment=$(field '["object_id"]' <<<"$shipment_json")
rate=$(field '["rates"][0]["object_id"]' <<<"$shipment_json")
rate2=$(field '["rates"][1]["object_id"]' <<<"$shipment_json")
test_carrier=$(field '["rates"][0]["carrier_account"]' <<<"$shipment_json")
transaction=$(api POST /transactions "{\"rate\":\"$rate\",\"async\":false}" | field '["object_id"]')
refunded=$(api POST /transactions "{\"rate\":\"$rate2\",\"async\":false}" | field '["object_id"]')
refund=$(api POST /refunds "{\"transaction\":\"$refunded\"}" | field '["object_id"]')
manifest=$(api POST /manifests "{\"carrier_account\":\"$test_carrier\",\"shipment_date\":\"$(date -u +%Y-%m-%dT00:00:00Z)\",\"address_from\":\"$address\"}" | field '["object_id"]')
courier=$(api POST /carrier_accounts '{"carrier":"ratecard","account_id":"schemathesis","parameters":{}}' | field '["object_id"]')
scan_key=$(api POST "/carrier_accounts/$courier/scan_keys" '{}' | field '["object_id"]')
sleep 1 # the webhook's first deliveries are written by then
delivery=$(api GET "/webhooks/$hook/deliveries" | field '["results"][0]["object_id"]')
transaction_json=$(api GET "/transactions/$transaction")
number=$(field '["tracking_number"]' <<<"$transaction_json")
file_key=$(field '["label_url"].split("/files/")[1].split("?")[0]' <<<"$transaction_json")
# A crowdfunding project with one backer, a key, a provider account (unreachable) and a sync.
project=$(api POST /projects '{"name":"Schemathesis","reward_weight":{"weight":"1","mass_unit":"lb"}}' | field '["object_id"]')
printf 'Backer Number,Backer UID,Backer Name,Email,Shipping Country,Reward Title,Pledge Amount,Pledged At,Shipping Name,Shipping Address 1,Shipping Address 2,Shipping City,Shipping State,Shipping Postal Code,Shipping Country Code,Shipping Phone Number\n1,st-1,Alex Smith,backer@example.com,US,Standard,$30.00,"2026/05/25, 10:00",Alex Smith,123 Main St,,Portland,OR,97201,US,\n' |
  curl -sf -X POST -H "Authorization: ShippoToken $TOKEN" -H 'content-type: text/csv' --data-binary @- "$SERVER_URL/projects/$project/backers/import" >/dev/null
project_key=$(api POST "/projects/$project/keys" '{}' | field '["key"]')
api PUT "/projects/$project/provider" "{\"provider\":\"easypost\",\"api_key\":\"EZTK_schemathesis\",\"webhook_secret\":\"s\",\"base_url\":\"http://127.0.0.1:9\",\"return_address\":\"$address\"}" >/dev/null
sync=$(api POST "/projects/$project/sync" '{}' | field '["object_id"]')

CONFIG=$(mktemp)
op() { # PATH_PREFIX PARAMETERS: operations under the prefix reach these objects
  printf '[[operations]]\ninclude-path-regex = "^%s"\nparameters = { %s }\n' "$1" "$2" >>"$CONFIG"
}
op /addresses/ "id = \"$address\""
op /parcels/ "id = \"$parcel\""
op /customs/items/ "id = \"$item\""
op /customs/declarations/ "id = \"$declaration\""
op /shipments/ "id = \"$shipment\", currency = \"EUR\""
op /rates/ "id = \"$rate\""
op /transactions/ "id = \"$transaction\""
op /refunds/ "id = \"$refund\""
op /manifests/ "id = \"$manifest\""
op /carrier_accounts/ "id = \"$courier\""
op /scan_keys/ "id = \"$scan_key\""
op /webhooks/ "id = \"$hook\", delivery = \"$delivery\""
op /tracks/ 'carrier = "shippo", tracking_number = "SHIPPO_DELIVERED"'
op /projects/ "id = \"$project\", sync = \"$sync\""
op /api/fulfillment/ "provider = \"easypost\", project = \"$project\""
op /track/ "carrier_account = \"$test_carrier\", number = \"$number\""
op /files/ "account = \"${file_key%%/*}\", object = \"$(cut -d/ -f2 <<<"$file_key")\", name = \"${file_key##*/}\""
# The seed's custom API takes the project's key, not a Shippo token.
printf '[[operations]]\ninclude-path-regex = "^/api/shipping/"\nparameters = { project = "%s" }\nheaders = { Authorization = "Bearer %s" }\n' "$project" "$project_key" >>"$CONFIG"

echo "-- schemathesis ${1:+on $1}"
status=0
(cd "$(mktemp -d)" && "$OLDPWD/$VENV/bin/schemathesis" --config-file "$CONFIG" run "$SERVER_URL/openapi.json" \
  -H "Authorization: ShippoToken $TOKEN" \
  --checks all --exclude-checks positive_data_acceptance,negative_data_rejection \
  --max-examples "${ST_EXAMPLES:-25}" --max-time "${ST_MAX_TIME:-240}" --workers 2 \
  --seed 20261201 --generation-database none --no-color --warnings off) || status=$?
rm -f "$CONFIG"
if ((status != 0)); then
  echo "schemathesis found failures (above); server log:" >&2
  tail -50 "$SERVER_DIR/serve.log" >&2
fi
exit $status
