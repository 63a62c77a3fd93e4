//! Seed 002 "Shipments" and "Rates": rate shopping against a rate card uploaded as CSV, with every
//! expected price worked out by hand from the card below.

use domain::account::Mode;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    expect, is_object_id, is_shippo_time, spawn_app, spawn_app_without_jobs, start_server, TestApp,
};

/// A Portuguese courier's price list: EUR, kg, cm.
const CARD: &str = "\
record,fields
card,Correio Teste,EUR,kg,cm
service,std,Normal,2-3 dias úteis,2,yes,yes,5000,30,150,
service,exp,Expresso,Dia útil seguinte,1,yes,no,,10,,
zone,PT,Portugal,PT,PT
zone,US,Estados Unidos,PT,US
price,std,PT,1,4.50
price,std,PT,5,6.90
step,std,PT,1,0.80
price,std,US,2,30.00
step,std,US,1,6.00
price,exp,PT,1,9.00
price,exp,PT,5,12.00
surcharge,fuel,Combustível,always,10%,,
surcharge,ilhas,Ilhas,remote,5.00,PT:9000-9999,
surcharge,sig,Assinatura,signature,1.50,,
surcharge,seguro,Seguro,insurance,,,
band,seguro,500,2.00
band,seguro,5000,1%
";

/// The same card a month later: every PT price up by one euro.
const CARD_V2: &str = "\
record,fields
card,Correio Teste,EUR,kg,cm
service,std,Normal,2-3 dias úteis,2,yes,yes,5000,30,150,
service,exp,Expresso,Dia útil seguinte,1,yes,no,,10,,
zone,PT,Portugal,PT,PT
price,std,PT,1,5.50
price,std,PT,5,7.90
step,std,PT,1,0.80
price,exp,PT,1,10.00
price,exp,PT,5,13.00
surcharge,fuel,Combustível,always,10%,,
";

async fn upload(app: &TestApp, account: &str, csv: &str) {
    let res = app
        .client
        .put(app.url(&format!("/carrier_accounts/{account}/rate_card")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
}

/// A rate-card carrier account with [`CARD`]; returns its id.
async fn courier(app: &TestApp) -> String {
    let a = expect(
        app.post_json(
            "/carrier_accounts",
            &json!({"carrier": "ratecard", "account_id": "correio-teste", "parameters": {}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = a["object_id"].as_str().unwrap().to_string();
    upload(app, &id, CARD).await;
    id
}

fn lisboa() -> Value {
    json!({"name": "Loja Lisboa", "street1": "Rua Augusta 100", "city": "Lisboa", "zip": "1100-053", "country": "PT", "email": "loja@example.pt"})
}

fn porto() -> Value {
    json!({"name": "Ana Silva", "street1": "Rua de Santa Catarina 1", "city": "Porto", "zip": "4000-447", "country": "PT"})
}

fn funchal() -> Value {
    json!({"name": "Rui Sousa", "street1": "Avenida Arriaga 20", "city": "Funchal", "zip": "9000-060", "country": "PT"})
}

fn new_york() -> Value {
    json!({"name": "Mr Hippo", "street1": "965 Mission St", "city": "New York", "state": "NY", "zip": "10001", "country": "US"})
}

fn box_cm(l: &str, w: &str, h: &str, kg: &str) -> Value {
    json!({"length": l, "width": w, "height": h, "distance_unit": "cm", "weight": kg, "mass_unit": "kg"})
}

fn rate<'a>(shipment: &'a Value, token: &str) -> &'a Value {
    shipment["rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["servicelevel"]["token"] == token)
        .unwrap_or_else(|| panic!("no {token} rate in {shipment}"))
}

fn codes(shipment: &Value) -> Vec<String> {
    shipment["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap().to_string())
        .collect()
}

async fn create(app: &TestApp, body: Value) -> Value {
    expect(
        app.post_json("/shipments", &body).await,
        StatusCode::CREATED,
    )
    .await
}

#[tokio::test]
async fn domestic_rates_are_priced_from_the_uploaded_csv_card() {
    let app = spawn_app().await;
    let courier = courier(&app).await;
    let s = create(
        &app,
        json!({"address_from": lisboa(), "address_to": porto(), "parcels": [box_cm("30", "20", "10", "3.2")],
               "carrier_accounts": [courier], "metadata": "Order 1001", "async": false}),
    )
    .await;
    assert!(is_object_id(&s["object_id"]) && is_shippo_time(&s["object_created"]));
    assert_eq!(s["status"], "SUCCESS");
    assert_eq!(s["metadata"], "Order 1001");
    assert_eq!(s["carrier_accounts"], json!([courier]));
    assert_eq!(
        s["address_from"]["city"], "Lisboa",
        "addresses come back as objects"
    );
    assert_eq!(s["parcels"][0]["weight"], "3.2");
    assert_eq!(
        s["rates"].as_array().unwrap().len(),
        2,
        "only the listed carrier account is asked"
    );

    // Normal: dim weight 30×20×10/5000 = 1.2 kg < 3.2 kg → the ≤5 kg bracket, 6.90; fuel 10 % = 0.69.
    let std = rate(&s, "std");
    assert_eq!(
        (std["amount"].as_str(), std["currency"].as_str()),
        (Some("7.59"), Some("EUR"))
    );
    assert_eq!(
        (std["amount_local"].as_str(), std["currency_local"].as_str()),
        (Some("7.59"), Some("EUR"))
    );
    assert_eq!(std["provider"], "Correio Teste");
    assert_eq!(std["servicelevel"]["name"], "Normal");
    assert_eq!(std["servicelevel"]["terms"], "2-3 dias úteis");
    assert_eq!(std["estimated_days"], 2);
    assert_eq!(std["zone"], "PT");
    assert_eq!(std["carrier_account"], courier.as_str());
    assert_eq!(std["shipment"], s["object_id"]);
    // Expresso: no dim divisor, 3.2 kg → 12.00 + fuel 1.20.
    let exp = rate(&s, "exp");
    assert_eq!(exp["amount"], "13.20");
    // CHEAPEST 7.59; FASTEST 1 day; BESTVALUE min(7.59×2 = 15.18, 13.20×1) = Expresso.
    assert_eq!(std["attributes"], json!(["CHEAPEST"]));
    assert_eq!(exp["attributes"], json!(["FASTEST", "BESTVALUE"]));

    // The rates are stored: by id, and as the shipment's list.
    let id = std["object_id"].as_str().unwrap();
    let got = expect(app.get(&format!("/rates/{id}")).await, StatusCode::OK).await;
    assert_eq!(&got, std);
    let listed = expect(
        app.get(&format!(
            "/shipments/{}/rates",
            s["object_id"].as_str().unwrap()
        ))
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["count"], 2);
    assert_eq!(listed["results"], s["rates"]);
    let again = expect(
        app.get(&format!("/shipments/{}", s["object_id"].as_str().unwrap()))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again, s, "retrieving answers what creating answered");
}

#[tokio::test]
async fn international_rates_use_dim_weight_steps_insurance_and_both_currencies() {
    let app = spawn_app().await;
    let courier = courier(&app).await;
    // 223.10 USD declared = 200.00 EUR at the bundled ECB table (1 EUR = 1.1155 USD).
    let s = create(
        &app,
        json!({"address_from": lisboa(), "address_to": new_york(), "parcels": [box_cm("40", "30", "30", "2")],
               "carrier_accounts": [courier], "extra": {"insurance": {"amount": "223.10", "currency": "USD"}}}),
    )
    .await;
    // Dim weight 36000/5000 = 7.2 kg > 2 kg. Last bracket ≤2 kg = 30.00, then 5.2 kg above it is
    // 6 started kg × 6.00 = 36.00 → base 66.00; fuel 6.60; insurance band ≤500 EUR = 2.00.
    let std = rate(&s, "std");
    assert_eq!(
        (std["amount"].as_str(), std["currency"].as_str()),
        (Some("74.60"), Some("EUR"))
    );
    // 74.60 EUR × 1.1155 = 83.2163 → 83.22 USD.
    assert_eq!(
        (std["amount_local"].as_str(), std["currency_local"].as_str()),
        (Some("83.22"), Some("USD"))
    );
    assert_eq!(std["included_insurance_price"], "2.00");
    assert_eq!(std["zone"], "US");
    // Expresso has no US prices: omitted, with a message saying why.
    assert_eq!(s["rates"].as_array().unwrap().len(), 1);
    let m = &s["messages"][0];
    assert_eq!(
        (m["source"].as_str(), m["code"].as_str()),
        (Some("Correio Teste"), Some("zone_not_served"))
    );
    assert!(m["text"].as_str().unwrap().contains("Expresso"), "{m}");

    // The same rates with amount_local in yen: 74.60 EUR × 160.78 = 11994.188 → 11994 JPY.
    let sid = s["object_id"].as_str().unwrap();
    let jpy = expect(
        app.get(&format!("/shipments/{sid}/rates/JPY")).await,
        StatusCode::OK,
    )
    .await;
    let r = &jpy["results"][0];
    assert_eq!(
        (r["amount"].as_str(), r["currency"].as_str()),
        (Some("74.60"), Some("EUR"))
    );
    assert_eq!(
        (r["amount_local"].as_str(), r["currency_local"].as_str()),
        (Some("11994"), Some("JPY"))
    );
    let bad = expect(
        app.get(&format!("/shipments/{sid}/rates/XYZ")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        bad["currency"][0].as_str().unwrap().contains("ISO 4217"),
        "{bad}"
    );
    let unquoted = expect(
        app.get(&format!("/shipments/{sid}/rates/CLP")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        unquoted["currency"][0]
            .as_str()
            .unwrap()
            .contains("26 September 2024"),
        "{unquoted}"
    );
}

#[tokio::test]
async fn multi_piece_shipments_add_per_parcel_surcharges_and_stored_parcels_work() {
    let app = spawn_app().await;
    let courier = courier(&app).await;
    let stored = app.create_parcel(&box_cm("20", "20", "20", "4")).await;
    let from = app.create_address(&lisboa()).await;
    let s = create(
        &app,
        json!({"address_from": from["object_id"], "address_to": funchal(),
               "parcels": [box_cm("10", "10", "10", "1"), stored["object_id"]],
               "carrier_accounts": [courier], "extra": {"signature_confirmation": "STANDARD"}}),
    )
    .await;
    assert_eq!(s["address_from"]["object_id"], from["object_id"]);
    assert_eq!(s["parcels"][1]["object_id"], stored["object_id"]);
    // Normal, per piece: 1 kg → 4.50 + fuel 0.45 + Madeira 5.00 + signature 1.50 = 11.45;
    // 4 kg (dim 1.6 kg) → 6.90 + 0.69 + 5.00 + 1.50 = 14.09. Shipment: 25.54.
    assert_eq!(rate(&s, "std")["amount"], "25.54");
    // Expresso: 9.00 + 0.90 + 5.00 + 1.50 = 16.40; 12.00 + 1.20 + 5.00 + 1.50 = 19.70 → 36.10.
    assert_eq!(rate(&s, "exp")["amount"], "36.10");
}

#[tokio::test]
async fn parcels_beyond_the_limits_get_messages_not_rates() {
    let app = spawn_app().await;
    let courier = courier(&app).await;
    let s = create(
        &app,
        json!({"address_from": lisboa(), "address_to": porto(), "parcels": [box_cm("50", "40", "40", "35")],
               "carrier_accounts": [courier]}),
    )
    .await;
    assert_eq!(s["status"], "SUCCESS");
    assert_eq!(s["rates"], json!([]));
    assert_eq!(codes(&s), ["max_weight_exceeded", "max_weight_exceeded"]);
    let long = create(
        &app,
        json!({"address_from": lisboa(), "address_to": porto(), "parcels": [box_cm("160", "10", "10", "1")],
               "carrier_accounts": [courier]}),
    )
    .await;
    assert_eq!(
        long["rates"].as_array().unwrap().len(),
        1,
        "Expresso has no length limit"
    );
    assert_eq!(codes(&long), ["max_length_exceeded"]);
}

#[tokio::test]
async fn a_new_card_never_changes_rates_already_given() {
    let app = spawn_app().await;
    let courier = courier(&app).await;
    let body = json!({"address_from": lisboa(), "address_to": porto(), "parcels": [box_cm("30", "20", "10", "3.2")], "carrier_accounts": [courier]});
    let before = create(&app, body.clone()).await;
    upload(&app, &courier, CARD_V2).await;
    let after = create(&app, body).await;
    // New card: 7.90 + fuel 0.79 = 8.69.
    assert_eq!(rate(&after, "std")["amount"], "8.69");
    let old = rate(&before, "std");
    let reread = expect(
        app.get(&format!("/rates/{}", old["object_id"].as_str().unwrap()))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(reread["amount"], "7.59");
}

#[tokio::test]
async fn test_tokens_get_the_shippo_test_carrier_without_configuration() {
    let app = spawn_app().await;
    let s = create(
        &app,
        json!({"address_from": {"name": "A", "street1": "215 Clayton St.", "city": "San Francisco", "state": "CA", "zip": "94117", "country": "US"},
               "address_to": new_york(),
               "parcels": [{"length": "10", "width": "8", "height": "4", "distance_unit": "in", "weight": "2.5", "mass_unit": "lb"}]}),
    )
    .await;
    // data/test-carrier.json: 5.00 up to 1 lb + 1.00 per started lb; Priority 8.00 + 1.50/lb.
    assert_eq!(rate(&s, "usps_ground_advantage")["amount"], "7.00");
    assert_eq!(rate(&s, "usps_priority")["amount"], "11.00");
    assert_eq!(rate(&s, "usps_priority_express")["amount"], "31.00");
    assert_eq!(rate(&s, "usps_priority")["provider"], "USPS");
    assert_eq!(rate(&s, "usps_priority")["test"], true);

    // A live token never rates with test carrier accounts.
    let live = app.token_in_mode(Mode::Live).await;
    let res = app
        .post_json_as(
            &live,
            "/shipments",
            &json!({"address_from": lisboa(), "address_to": porto(), "parcels": [box_cm("10", "10", "10", "1")]}),
        )
        .await;
    let s = expect(res, StatusCode::CREATED).await;
    assert_eq!(s["rates"], json!([]));
    assert_eq!(codes(&s), ["no_carrier_accounts"]);
    assert_eq!(s["test"], false);
}

#[tokio::test]
async fn async_shipments_answer_queued_and_rate_in_the_background() {
    let app = spawn_app().await;
    let courier = courier(&app).await;
    let s = create(
        &app,
        json!({"address_from": lisboa(), "address_to": porto(), "parcels": [box_cm("30", "20", "10", "3.2")],
               "carrier_accounts": [courier], "async": true}),
    )
    .await;
    assert_eq!(s["status"], "QUEUED");
    assert_eq!(s["rates"], json!([]));
    let done = wait_for_success(&app, &app.base, s["object_id"].as_str().unwrap()).await;
    assert_eq!(rate(&done, "std")["amount"], "7.59");
    assert_eq!(
        rate(&done, "exp")["attributes"],
        json!(["FASTEST", "BESTVALUE"])
    );
}

async fn wait_for_success(app: &TestApp, base: &str, id: &str) -> Value {
    for _ in 0..100 {
        let res = app
            .client
            .get(format!("{base}/shipments/{id}"))
            .header("Authorization", format!("ShippoToken {}", app.token))
            .send()
            .await
            .unwrap();
        let s = expect(res, StatusCode::OK).await;
        if s["status"] != "QUEUED" {
            assert_eq!(s["status"], "SUCCESS", "{s}");
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("shipment {id} still QUEUED after 10 s");
}

#[tokio::test]
async fn queued_rating_survives_a_restart() {
    // A server whose worker never runs (as if it died right after answering): the shipment it
    // accepted stays QUEUED, with its job in the database.
    let app = spawn_app_without_jobs().await;
    let courier = courier(&app).await;
    let s = create(
        &app,
        json!({"address_from": lisboa(), "address_to": porto(), "parcels": [box_cm("30", "20", "10", "3.2")],
               "carrier_accounts": [courier], "async": true}),
    )
    .await;
    assert_eq!(s["status"], "QUEUED");
    let id = s["object_id"].as_str().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let still = expect(app.get(&format!("/shipments/{id}")).await, StatusCode::OK).await;
    assert_eq!(still["status"], "QUEUED", "no worker ran it");
    // The next start on the same database finds the job and finishes it.
    let (restarted, _) = start_server(&app.database_url, &app.data_dir, true).await;
    let done = wait_for_success(&app, &restarted, id).await;
    assert_eq!(rate(&done, "std")["amount"], "7.59");
}

#[tokio::test]
async fn the_seed_shape_is_answered_to_old_api_versions() {
    let app = spawn_app().await;
    let courier = courier(&app).await;
    // The seed's request: form-encoded, object_purpose, a single `parcel`, top-level references.
    let res = app
        .client
        .post(app.url("/shipments/"))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("Shippo-API-Version", "2014-02-11")
        .form(&[
            ("object_purpose", "PURCHASE"),
            ("address_from[object_purpose]", "PURCHASE"),
            ("address_from[name]", "Loja Lisboa"),
            ("address_from[street1]", "Rua Augusta 100"),
            ("address_from[city]", "Lisboa"),
            ("address_from[zip]", "1100-053"),
            ("address_from[country]", "PT"),
            ("address_to[name]", "Ana Silva"),
            ("address_to[street1]", "Rua de Santa Catarina 1"),
            ("address_to[city]", "Porto"),
            ("address_to[zip]", "4000-447"),
            ("address_to[country]", "PT"),
            ("parcel[length]", "30"),
            ("parcel[width]", "20"),
            ("parcel[height]", "10"),
            ("parcel[distance_unit]", "cm"),
            ("parcel[weight]", "3.2"),
            ("parcel[mass_unit]", "kg"),
            ("carrier_accounts[]", courier.as_str()),
            ("reference_1", "Order 1001"),
            ("async", "false"),
        ])
        .send()
        .await
        .unwrap();
    let s = expect(res, StatusCode::CREATED).await;
    assert_eq!(
        (
            s["object_status"].as_str(),
            s["object_purpose"].as_str(),
            s["object_state"].as_str()
        ),
        (Some("SUCCESS"), Some("PURCHASE"), Some("VALID"))
    );
    assert!(
        is_object_id(&s["address_from"]) && is_object_id(&s["parcel"]),
        "{s}"
    );
    assert_eq!(s["address_return"], s["address_from"]);
    assert_eq!(s["reference_1"], "Order 1001");
    let id = s["object_id"].as_str().unwrap();
    assert_eq!(
        s["rates_url"],
        format!("{}/shipments/{id}/rates/", app.base)
    );
    assert!(s.get("rates").is_none() && s.get("status").is_none());
    let std = s["rates_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["servicelevel_token"] == "std")
        .unwrap();
    assert_eq!(
        (
            std["servicelevel_name"].as_str(),
            std["amount"].as_str(),
            std["days"].as_u64()
        ),
        (Some("Normal"), Some("7.59"), Some(2))
    );
    assert_eq!(std["object_purpose"], "PURCHASE");
    assert_eq!(std["trackable"], true);

    // Without the header, the same shipment in today's shape.
    let now = expect(app.get(&format!("/shipments/{id}")).await, StatusCode::OK).await;
    assert_eq!(now["status"], "SUCCESS");
    assert_eq!(now["address_from"]["name"], "Loja Lisboa");
    assert_eq!(rate(&now, "std")["servicelevel"]["name"], "Normal");
}

#[tokio::test]
async fn quote_addresses_give_quote_only_rates() {
    let app = spawn_app().await;
    let courier = courier(&app).await;
    let res = app
        .client
        .post(app.url("/shipments"))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("Shippo-API-Version", "2013-08-01")
        .json(&json!({"address_from": {"country": "PT", "zip": "1100-053"}, "address_to": {"country": "PT", "zip": "4000-447"},
                      "parcels": [box_cm("30", "20", "10", "3.2")], "carrier_accounts": [courier]}))
        .send()
        .await
        .unwrap();
    let s = expect(res, StatusCode::CREATED).await;
    assert_eq!(s["object_purpose"], "QUOTE");
    assert!(s["rates_list"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["object_purpose"] == "QUOTE"));
    // Asking for PURCHASE with a quote address is refused.
    let res = app
        .post_json(
            "/shipments",
            &json!({"object_purpose": "PURCHASE", "address_from": {"country": "PT", "zip": "1100-053"}, "address_to": porto(),
                    "parcels": [box_cm("30", "20", "10", "3.2")]}),
        )
        .await;
    let err = expect(res, StatusCode::BAD_REQUEST).await;
    assert!(
        err["address_from"][0].as_str().unwrap().contains("QUOTE"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_shipments_are_refused_with_every_field_named() {
    let app = spawn_app().await;
    let res = app
        .post_json(
            "/shipments",
            &json!({"address_from": {"country": "Atlantis"}, "parcels": [{"length": "-1", "width": "1", "height": "1", "distance_unit": "cm", "weight": "1", "mass_unit": "kg"}, "0123456789abcdef0123456789abcdef"],
                    "extra": {"signature_confirmation": "MAYBE"}, "carrier_accounts": ["nope"], "shipment_date": "tomorrow"}),
        )
        .await;
    let err = expect(res, StatusCode::BAD_REQUEST).await;
    for field in [
        "address_from.country",
        "address_to",
        "parcels.0.length",
        "parcels.1",
        "extra.signature_confirmation",
        "carrier_accounts.0",
        "shipment_date",
    ] {
        assert!(
            err["fields"].get(field).is_some(),
            "{field} not named in {err}"
        );
    }
    let err = expect(
        app.post_json(
            "/shipments",
            &json!({"address_from": lisboa(), "address_to": 5, "parcels": []}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(err["fields"].get("address_to").is_some(), "{err}");
    let err = expect(
        app.post_json(
            "/shipments",
            &json!({"address_from": lisboa(), "address_to": porto(), "parcels": []}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(err["parcels"][0], "At least one parcel is required.");
    let huge = json!({"address_from": lisboa(), "address_to": porto(), "parcels": [box_cm("10", "10", "10", "1")],
                      "extra": {"notes": "x".repeat(40_000)}, "customs_declaration": {"items": ["y".repeat(40_000)]}});
    let err = expect(
        app.post_json("/shipments", &huge).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        err["extra"][0].as_str().unwrap().contains("32768 bytes"),
        "{err}"
    );
    assert!(
        err["fields"].get("customs_declaration.items.0").is_some()
            && err["fields"].get("customs_declaration.certify").is_some(),
        "{err}"
    );
    // Nothing of a refused shipment was stored.
    let listed = expect(app.get("/addresses").await, StatusCode::OK).await;
    assert_eq!(listed["count"], 0);
}

#[tokio::test]
async fn shipments_are_private_and_listed_by_creation_date() {
    let app = spawn_app().await;
    let s = create(
        &app,
        json!({"address_from": lisboa(), "address_to": porto(), "parcels": [box_cm("10", "10", "10", "1")]}),
    )
    .await;
    let id = s["object_id"].as_str().unwrap();
    let other = app.other_account_token(Mode::Test).await;
    expect(
        app.get_as(&other, &format!("/shipments/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect(
        app.get_as(&other, &format!("/shipments/{id}/rates")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let res = app
        .post_json_as(&other, "/shipments", &json!({"address_from": s["address_from"]["object_id"], "address_to": porto(), "parcels": [box_cm("10", "10", "10", "1")]}))
        .await;
    let err = expect(res, StatusCode::BAD_REQUEST).await;
    assert!(
        err["address_from"][0]
            .as_str()
            .unwrap()
            .starts_with("No address"),
        "another account's address is not usable: {err}"
    );

    let created = s["object_created"].as_str().unwrap();
    let list = expect(
        app.get(&format!("/shipments?object_created_gte={created}"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["object_id"], id);
    let list = expect(
        app.get(&format!("/shipments?object_created_gt={created}"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["count"], 0);
    let list = expect(
        app.get("/shipments?object_created_lt=2017-04-01T00:00:30")
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["count"], 0);
    let err = expect(
        app.get("/shipments?object_created_gte=yesterday").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(err["fields"].get("object_created_gte").is_some());
    let err = expect(
        app.get("/shipments?object_created_gte=2017-01-01&object_created_lt=2017-06-01")
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(err["detail"].as_str().unwrap().contains("90 days"), "{err}");
}

#[tokio::test]
async fn an_operator_exchange_rate_table_adds_currencies() {
    // A Chilean courier (CLP, which the bundled ECB table does not quote) and an operator's
    // table in the ECB format with a CLP column: 1 EUR = 1.05 USD = 985.4 CLP.
    let app = spawn_app().await;
    let table = app.data_dir.join("rates.csv");
    std::fs::write(&table, "Date, USD, CLP,\n21 November 2026, 1.05, 985.4,\n").unwrap();
    let (base, _) = crate::helpers::start_configured(consign::config::Layer {
        database_url: Some(app.database_url.clone()),
        data_dir: Some(app.data_dir.clone()),
        exchange_rates: Some(table),
        ..Default::default()
    })
    .await;
    let on = |path: &str| format!("{base}{path}");
    let auth = format!("ShippoToken {}", app.token);
    let post = |path: &str, body: Value| {
        app.client
            .post(on(path))
            .header("Authorization", &auth)
            .json(&body)
            .send()
    };
    let account = expect(
        post(
            "/carrier_accounts",
            json!({"carrier": "ratecard", "account_id": "courier-cl"}),
        )
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let id = account["object_id"].as_str().unwrap();
    let res = app
        .client
        .put(on(&format!("/carrier_accounts/{id}/rate_card")))
        .header("Authorization", &auth)
        .header("content-type", "text/csv")
        .body(include_str!(
            "../../../crates/carriers/tests/fixtures/courier-cl.csv"
        ))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
    let santiago = |name: &str, street: &str| json!({"name": name, "street1": street, "city": "Santiago", "state": "RM", "zip": "8320000", "country": "CL"});
    let s = expect(
        post(
            "/shipments",
            json!({"address_from": santiago("Tienda", "Av. Libertador 1000"), "address_to": santiago("Ana", "Calle Merced 50"),
                   "parcels": [box_cm("20", "10", "10", "1")], "carrier_accounts": [id]}),
        )
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    // Normal, zone RM, 1 kg: 2990 + fuel 7.5 % (224.25) = 3214.25 → 3214 CLP (no minor unit).
    let normal = rate(&s, "normal");
    assert_eq!(
        (normal["amount"].as_str(), normal["currency"].as_str()),
        (Some("3214"), Some("CLP"))
    );
    assert_eq!(normal["amount_local"], "3214");
    // In dollars through the operator's table: 3214 / 985.4 × 1.05 = 3.4247… → 3.42 USD.
    let sid = s["object_id"].as_str().unwrap();
    let res = app
        .client
        .get(on(&format!("/shipments/{sid}/rates/USD")))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    let usd = expect(res, StatusCode::OK).await;
    let normal = usd["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["servicelevel"]["token"] == "normal")
        .unwrap();
    assert_eq!(
        (
            normal["amount_local"].as_str(),
            normal["currency_local"].as_str()
        ),
        (Some("3.42"), Some("USD"))
    );
}
