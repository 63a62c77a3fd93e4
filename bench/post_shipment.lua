-- wrk script: POST /shipments with async false, the seed's nested addresses and parcel, priced
-- by the demo rate card and the shippo test carrier (6 rates written per request).
wrk.method = "POST"
wrk.body = '{"address_from":{"name":"Mrs Hippo","street1":"1092 Indian Summer Ct","city":"San Jose","state":"CA","zip":"95122","country":"US","phone":"4159876543","email":"mrshippo@goshippo.com"},"address_to":{"name":"Mr Hippo","street1":"965 Mission St #572","city":"San Francisco","state":"CA","zip":"94103","country":"US","phone":"4151234567","email":"mrhippo@goshippo.com"},"parcels":[{"length":"10","width":"15","height":"10","distance_unit":"in","weight":"1","mass_unit":"lb"}],"async":false}'
-- CARRIER_ACCOUNT (optional): rate with that carrier account only (bench/upstream.sh).
local only = os.getenv("CARRIER_ACCOUNT")
if only and only ~= "" then
  wrk.body = (wrk.body:gsub('"async":false', '"carrier_accounts":["' .. only .. '"],"async":false'))
end
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "ShippoToken " .. os.getenv("TOKEN")
