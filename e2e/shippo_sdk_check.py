#!/usr/bin/env python3
"""End-to-end check: Shippo's official Python SDK (shippo 3.9.0, unmodified) against Consign.

Only `server_url` differs from talking to Shippo. Reads CONSIGN_URL and CONSIGN_TOKEN; exits
non-zero on the first failed expectation. Run by .ci/run against a real `consign serve`.
"""
import os
import sys

import shippo
from shippo.models import components, errors, operations

URL = os.environ["CONSIGN_URL"]
TOKEN = os.environ["CONSIGN_TOKEN"]
checks = 0


def check(condition, what):
    global checks
    checks += 1
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok - {what}")


sdk = shippo.Shippo(api_key_header=TOKEN, server_url=URL)

# Addresses: create, get, list, validate.
created = sdk.addresses.create(
    components.AddressCreateRequest(
        name="Shawn Ippotle",
        company="Shippo",
        street1="215 Clayton St.",
        city="San Francisco",
        state="California",
        zip="94117",
        country="US",
        phone="+1 555 341 9393",
        email="shippotle@goshippo.com",
        is_residential=True,
        metadata="Customer ID 123456",
    )
)
check(len(created.object_id) == 32, "addresses.create returns an Address with a 32-hex object_id")
check(created.is_complete is True and created.state == "California", "a complete address is complete and keeps the entered values")
check(created.object_created is not None and created.object_created.tzinfo is not None, "object_created parses as an aware datetime")

fetched = sdk.addresses.get(created.object_id)
check(fetched.object_id == created.object_id and fetched.street1 == "215 Clayton St.", "addresses.get returns the same address")

validated = sdk.addresses.validate(created.object_id)
check(validated.state == "CA", "addresses.validate normalises the state to its code")
check(validated.validation_results is not None and validated.validation_results.is_valid is True, "validation_results.is_valid is true")
check(any(m.code == "administrative_area_change" for m in validated.validation_results.messages), "validation messages carry codes")
check(validated.is_complete is True, "a validated address is complete")

quote = sdk.addresses.create(components.AddressCreateRequest(country="US", zip="94117"))
check(quote.is_complete is False, "a quote address is not complete")

invalid = sdk.addresses.create(components.AddressCreateRequest(country="US", name="X", street1="1 Main St", city="Springfield", state="IL", zip="9411"))
check(invalid.is_complete is False, "an address with a malformed ZIP is not complete")

page = sdk.addresses.list(page=1, results=2)
check(len(page.results) == 2 and page.next is not None, "addresses.list pages with a next link")
page2 = sdk.addresses.list(page=2, results=2)
check(len(page2.results) == 1 and page2.previous is not None, "page 2 holds the rest")
ids = {a.object_id for a in page.results + page2.results}
check({created.object_id, quote.object_id, invalid.object_id} == ids, "the pages hold exactly the created addresses")

try:
    sdk.addresses.create(components.AddressCreateRequest(country="XX"))
    check(False, "an unknown country is refused")
except errors.SDKError as e:
    check(e.status_code == 400 and "country" in e.body, "an unknown country is refused with 400 naming the field")

# Parcels: create (dimensions and template), get, list.
parcel = sdk.parcels.create(
    components.ParcelCreateRequest(
        length="10",
        width="15",
        height="10",
        distance_unit=components.DistanceUnitEnum.IN,
        weight="1",
        mass_unit=components.WeightUnitEnum.LB,
        metadata="Customer ID 123456",
        extra=components.ParcelExtra(
            cod=components.Cod(amount="5.50", currency="USD", payment_method=components.PaymentMethod.CASH),
            insurance=components.ParcelInsurance(amount="200", currency="USD", provider=components.ParcelInsuranceProvider.UPS, content="T-Shirts"),
            reference_1="Order 42",
        ),
    )
)
check(parcel.object_state.value == "VALID", "parcels.create returns a VALID parcel")
check(parcel.length == "10" and parcel.distance_unit == components.DistanceUnitEnum.IN, "dimensions and units round-trip")
check(parcel.extra.cod.amount == "5.50" and parcel.extra.insurance.provider == components.ParcelInsuranceProvider.UPS, "extras round-trip")

templated = sdk.parcels.create(
    components.ParcelCreateFromTemplateRequest(
        template=components.ParcelTemplateFedExEnum.FED_EX_BOX_10KG,
        weight="2",
        mass_unit=components.WeightUnitEnum.KG,
    )
)
check((templated.length, templated.width, templated.height) == ("15.81", "12.94", "10.19"), "a template brings its published dimensions")

got = sdk.parcels.get(parcel.object_id)
check(got.object_id == parcel.object_id and got.weight == "1", "parcels.get returns the same parcel")
parcels = sdk.parcels.list()
check({p.object_id for p in parcels.results} == {parcel.object_id, templated.object_id}, "parcels.list holds both parcels")

try:
    sdk.parcels.create(components.ParcelCreateRequest(length="0", width="1", height="1", distance_unit=components.DistanceUnitEnum.CM, weight="1", mass_unit=components.WeightUnitEnum.KG))
    check(False, "a zero length is refused")
except errors.SDKError as e:
    check(e.status_code == 400 and "length" in e.body, "a zero length is refused with 400 naming the field")

# Carrier parcel templates.
usps = sdk.carrier_parcel_templates.list(carrier="usps")
check(len(usps.results) > 0 and all(t.carrier == "usps" for t in usps.results), "carrier_parcel_templates.list filters by carrier")
box = sdk.carrier_parcel_templates.get("USPS_SmallFlatRateBox")
check((box.length, box.width, box.height, box.distance_unit) == ("8.69", "5.44", "1.75", components.DistanceUnitEnum.IN), "carrier_parcel_templates.get gives the published size")

# Carrier accounts: credentials never come back in clear.
acct = sdk.carrier_accounts.create(
    components.ConnectExistingOwnAccountRequest(account_id="e2e-courier", carrier="ratecard", parameters={"api_key": "sk_test_abcdefghijklmnop"})
)
check(acct.carrier == "ratecard" and acct.account_id == "e2e-courier", "carrier_accounts.create returns the account")
check("abcdefghijkl" not in str(acct.parameters), "carrier account credentials are masked")
got = sdk.carrier_accounts.get(acct.object_id)
check(got.object_id == acct.object_id and got.active is True, "carrier_accounts.get returns it")
listed = sdk.carrier_accounts.list(operations.ListCarrierAccountsRequest(account_id="e2e-courier"))
check([a.object_id for a in listed.results] == [acct.object_id], "carrier_accounts.list filters by account_id")
updated = sdk.carrier_accounts.update(acct.object_id, components.CarrierAccountBase(account_id="e2e-courier", carrier="ratecard", active=False))
check(updated.active is False, "carrier_accounts.update (PUT) changes active")

# Auth: a wrong token is a 401 the SDK reports.
try:
    shippo.Shippo(api_key_header="shippo_test_" + "0" * 40, server_url=URL).addresses.list()
    check(False, "an unknown token is refused")
except errors.SDKError as e:
    check(e.status_code == 401, "an unknown token is refused with 401")

print(f"{checks} passed, 0 failed")
