-- wrk script: the fake provider's own POST /v2/shipments/{id}/buy, the baseline of a purchase
-- (with the label download, bench/upstream.sh).
wrk.method = "POST"
wrk.body = '{"rate":{"id":"rate_4d1f36fa716c4b1292cacbdf19227c2d"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("PROVIDER_AUTH")
