-- wrk script: POST /shipments (as post_shipment.lua) and keep the first rate of every answer in
-- $RATES_DIR/rates-<thread>.txt, so post_transaction.lua can buy fresh rates.
wrk.method = "POST"
wrk.body = '{"address_from":{"name":"Mrs Hippo","street1":"1092 Indian Summer Ct","city":"San Jose","state":"CA","zip":"95122","country":"US","phone":"4159876543","email":"mrshippo@goshippo.com"},"address_to":{"name":"Mr Hippo","street1":"965 Mission St #572","city":"San Francisco","state":"CA","zip":"94103","country":"US","phone":"4151234567","email":"mrhippo@goshippo.com"},"parcels":[{"length":"10","width":"15","height":"10","distance_unit":"in","weight":"1","mass_unit":"lb"}],"async":false}'
-- CARRIER_ACCOUNT (optional): rate with that carrier account only (bench/upstream.sh).
local only = os.getenv("CARRIER_ACCOUNT")
if only and only ~= "" then
  wrk.body = (wrk.body:gsub('"async":false', '"carrier_accounts":["' .. only .. '"],"async":false'))
end
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "ShippoToken " .. os.getenv("TOKEN")

local n = 0
function setup(thread)
  n = n + 1
  thread:set("id", n)
end

local out
function init(args)
  out = io.open(os.getenv("RATES_DIR") .. "/rates-" .. id .. ".txt", "a")
end

function response(status, headers, body)
  local rate = body:match('"rates":%[{"object_id":"(%x+)"')
  if rate then out:write(rate, "\n") out:flush() end
end
