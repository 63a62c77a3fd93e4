#!/usr/bin/env python3
"""Regenerates crates/carriers/data/shippo-carriers.json: Shippo's carrier tokens with their names
and service levels, from Shippo's OpenAPI description (CarriersEnum, ServiceLevel*Enum tables)
and the seed's carrier table (names). Run by hand, with the two inputs from the design folder
beside the checkout (fixtures/shippo/public-api.yaml, Shippo's OpenAPI description as served at
https://docs.goshippo.com/spec/shippoapi/public-api.yaml, and seeds/002_bf6b17625871caa5.txt);
neither the build nor the tests read them.

    python3 scripts/shippo-carriers.py PATH/TO/public-api.yaml PATH/TO/002_bf6b17625871caa5.txt
"""
import json
import os
import re
import sys

import yaml

spec = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
seed = open(sys.argv[2], encoding="utf-8").read().splitlines()
schemas = spec["components"]["schemas"]
tokens = schemas["CarriersEnum"]["enum"]

# Seed lines look like "airterraAirterra": the longest known token that prefixes the line.
names = {}
start = seed.index("Carriers") if "Carriers" in seed else 0
for line in seed[start:start + 80]:
    for token in sorted(tokens, key=len, reverse=True):
        if line.startswith(token) and len(line) > len(token) and not line[len(token)].islower():
            names.setdefault(token, line[len(token):].strip())
            break

levels = {t: [] for t in tokens}
row = re.compile(r"^\|\s*([a-z0-9_]+)\s*\|\s*(.*?)\s*\|?\s*$")
for name, schema in schemas.items():
    if not (name.startswith("ServiceLevel") and name.endswith("Enum")):
        continue
    for line in (schema.get("description") or "").splitlines():
        m = row.match(line.strip())
        if not m or m.group(1) == "token":
            continue
        service = m.group(1)
        owner = max((t for t in tokens if service.startswith(t + "_")), key=len, default=None)
        if owner is None:
            continue
        label = m.group(2).rstrip("|").strip().replace("&amp;", "&")
        if all(s["token"] != service for s in levels[owner]):
            levels[owner].append({"token": service, "name": label})

out = [{"token": t, "name": names.get(t, t), "service_levels": levels[t]} for t in tokens]
dest = os.path.join(os.path.dirname(__file__), "..", "crates", "carriers", "data", "shippo-carriers.json")
with open(dest, "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, indent=1)
print(f"{len(out)} carriers, {sum(len(v) for v in levels.values())} service levels → {dest}")
