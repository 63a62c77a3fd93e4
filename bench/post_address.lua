-- wrk script: POST /addresses with the seed's example address (wrk itself reports non-2xx answers).
wrk.method = "POST"
wrk.body = '{"name":"Shawn Ippotle","company":"Shippo","street1":"215 Clayton St.","city":"San Francisco","state":"CA","zip":"94117","country":"US","phone":"+1 555 341 9393","email":"shippotle@goshippo.com","metadata":"Customer ID 123456"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "ShippoToken " .. os.getenv("TOKEN")

