-- wrk script: the fake provider's own POST /v2/shipments, what Consign sends it for one rate
-- request: the baseline that Consign's overhead is measured against (bench/upstream.sh).
wrk.method = "POST"
wrk.body = '{"shipment":{"from_address":{"name":"Mrs Hippo","street1":"1092 Indian Summer Ct","city":"San Jose","state":"CA","zip":"95122","country":"US"},"to_address":{"name":"Mr Hippo","street1":"965 Mission St #572","city":"San Francisco","state":"CA","zip":"94103","country":"US"},"parcel":{"length":10,"width":15,"height":10,"weight":16},"options":{}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("PROVIDER_AUTH")
