#!/usr/bin/env python3
"""Signed EasyPost tracker events for bench/push_events.lua: for every tracking number on stdin,
PER events (in_transit, one hour apart), each a tracker.updated body built from the published
fixture (testdata/fixtures/easypost/event-body.json) with one new detail, signed as EasyPost signs
(HMAC-SHA256 of the body, NFKD-normalised secret). Lines: "<X-Hmac-Signature>\\t<body>"."""
import hashlib, hmac, json, os, sys, unicodedata

secret = unicodedata.normalize("NFKD", sys.argv[1]).encode()
per = int(sys.argv[2]) if len(sys.argv) > 2 else 20
here = os.path.dirname(os.path.abspath(__file__))
base = json.load(open(os.path.join(here, "../testdata/fixtures/easypost/event-body.json")))
numbers = [l.strip() for l in sys.stdin if l.strip()]
for k in range(per):
    for n in numbers:
        ev = json.loads(json.dumps(base))
        detail = ev["result"]["tracking_details"][1]
        detail["datetime"] = "2026-11-%02dT%02d:00:00Z" % (1 + k // 24, k % 24)
        detail["message"] = "Arrived at facility %d" % k
        ev["result"]["tracking_code"] = n
        ev["result"]["tracking_details"] = [detail]
        body = json.dumps(ev, separators=(",", ":"))
        sig = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
        print("hmac-sha256-hex=%s\t%s" % (sig, body))
