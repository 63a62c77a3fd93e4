//! The cross-tenant sweep: one object of every kind made by one account, then every operation of
//! the OpenAPI document that names an object in its path called with another account's token
//! and with a live token of the same account. Each answers 404 and nothing of the object shows.
//! The routes come from the document, so a new route is swept without editing this test.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect, spawn_app, TestApp};
use crate::labels::{buy, courier, lisboa, parcel, porto, rate_for, us_from, us_to};

/// Account-level configuration, shared by the account's test and live tokens (as at Shippo,
/// where `test` on a carrier account says whether it buys test labels): carrier accounts, their
/// rate cards and their scan keys. Everything made with them carries its mode.
const SHARED_ACROSS_MODES: &[&str] = &["/carrier_accounts/", "/scan_keys/"];

/// A name no other object carries: it must never appear in another tenant's answers.
const MARK: &str = "Tenant Alpha Only";

/// One object of every kind, by the path prefix whose `{id}` it fills.
async fn objects(app: &TestApp) -> BTreeMap<&'static str, String> {
    let id = |v: &Value| v["object_id"].as_str().unwrap().to_string();
    let mut from = us_from();
    from["name"] = json!(MARK);
    let mut o = BTreeMap::new();
    o.insert("/addresses/", id(&app.create_address(&from).await));
    o.insert("/parcels/", id(&app.create_parcel(&parcel()).await));
    let item = expect(
        app.post_json("/customs/items", &json!({"description": MARK, "quantity": 1, "net_weight": "0.2", "mass_unit": "kg", "value_amount": "20", "value_currency": "USD", "origin_country": "US"})).await,
        StatusCode::CREATED,
    )
    .await;
    o.insert("/customs/items/", id(&item));
    let declaration = expect(
        app.post_json("/customs/declarations", &json!({"contents_type": "MERCHANDISE", "non_delivery_option": "RETURN", "certify": true, "certify_signer": MARK, "items": [id(&item)]})).await,
        StatusCode::CREATED,
    )
    .await;
    o.insert("/customs/declarations/", id(&declaration));
    let hook = expect(
        app.post_json(
            "/webhooks",
            &json!({"url": "http://127.0.0.1:9/alpha", "event": "all"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    o.insert("/webhooks/", id(&hook));
    let shipment = expect(
        app.post_json("/shipments", &json!({"address_from": from, "address_to": us_to(), "parcels": [parcel()], "metadata": MARK})).await,
        StatusCode::CREATED,
    )
    .await;
    o.insert("/shipments/", id(&shipment));
    let rate = id(&shipment["rates"][0]);
    o.insert("/rates/", rate.clone());
    let t = buy(app, json!({"rate": rate, "async": false, "metadata": MARK})).await;
    o.insert("/transactions/", id(&t));
    let other_rate = id(&shipment["rates"][1]);
    let refunded = buy(app, json!({"rate": other_rate, "async": false})).await;
    let refund = expect(
        app.post_json("/refunds", &json!({"transaction": id(&refunded)}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    o.insert("/refunds/", id(&refund));
    let ca = courier(app).await;
    let manifest = expect(
        app.post_json("/manifests", &json!({"carrier_account": ca, "shipment_date": "2026-11-23T00:00:00Z", "address_from": from})).await,
        StatusCode::CREATED,
    )
    .await;
    o.insert("/manifests/", id(&manifest));
    o.insert("/carrier_accounts/", ca.clone());
    let key = expect(
        app.post_json(&format!("/carrier_accounts/{ca}/scan_keys"), &json!({}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    o.insert("/scan_keys/", id(&key));
    let order = expect(
        app.post_json(
            "/orders",
            &json!({"placed_at": "2026-11-30T10:00:00Z", "to_address": from, "weight": "1", "weight_unit": "kg", "notes": MARK,
                "line_items": [{"title": MARK, "quantity": 1}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    o.insert("/orders/", id(&order));
    let test_carrier = expect(
        app.get("/carrier_accounts?carrier=shippo").await,
        StatusCode::OK,
    )
    .await["results"][0]["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let batch = expect(
        app.post_json(
            "/batches",
            &json!({"default_carrier_account": test_carrier, "default_servicelevel_token": "usps_priority", "metadata": MARK,
                "batch_shipments": [{"shipment": {"address_from": from, "address_to": us_to(), "parcels": [parcel()]}}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    o.insert("/batches/", id(&batch));
    let template = expect(
        app.post_json(
            "/user-parcel-templates",
            &json!({"name": MARK, "length": "10", "width": "10", "height": "10", "distance_unit": "cm"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    o.insert("/user-parcel-templates/", id(&template));
    // The webhook has deliveries by now (the purchases above).
    let mut delivery = None;
    for _ in 0..100 {
        let log = expect(
            app.get(&format!("/webhooks/{}/deliveries", id(&hook)))
                .await,
            StatusCode::OK,
        )
        .await;
        if let Some(d) = log["results"][0]["object_id"].as_str() {
            delivery = Some(d.to_string());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    o.insert("delivery", delivery.expect("a delivery was logged"));
    o
}

/// The path with its parameters filled from `objects`; `None` for a path naming no object.
fn fill(path: &str, objects: &BTreeMap<&'static str, String>) -> Option<String> {
    if !path.contains("{id}") {
        return None;
    }
    let (prefix, _) = objects
        .iter()
        .filter(|(p, _)| p.starts_with('/') && path.starts_with(**p))
        .max_by_key(|(p, _)| p.len())
        .unwrap_or_else(|| panic!("no object made for {path}: add one to objects()"));
    let id = &objects[prefix];
    Some(
        path.replace("{id}", id)
            .replace("{delivery}", &objects["delivery"])
            .replace("{currency}", "EUR"),
    )
}

/// Routes authenticated by a provider's signature instead of a token.
const SIGNED_NOT_TOKEN: &[&str] = &["/carrier_accounts/{id}/events"];

#[tokio::test]
async fn no_route_with_an_id_answers_another_account_or_the_other_mode() {
    let app = spawn_app().await;
    let objects = objects(&app).await;
    let doc = expect(app.get("/openapi.json").await, StatusCode::OK).await;
    let others = [
        (
            "another account",
            app.other_account_token(domain::account::Mode::Test).await,
        ),
        (
            "a live token",
            app.token_in_mode(domain::account::Mode::Live).await,
        ),
    ];
    let mut swept = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(url) = fill(path, &objects) else {
            continue;
        };
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            for (who, token) in &others {
                let shared = SHARED_ACROSS_MODES.iter().any(|p| path.starts_with(p));
                if shared && *who == "a live token" {
                    continue;
                }
                let mut req = app
                    .client
                    .request(method.clone(), app.url(&url))
                    .header("Authorization", format!("ShippoToken {token}"));
                if method == Method::POST || method == Method::PUT {
                    req = req.json(&json!({"url": "http://127.0.0.1:9/x", "event": "all"}));
                }
                let res = req.send().await.unwrap();
                let status = res.status();
                let body = res.text().await.unwrap();
                // Routes a provider calls with a signature, not a token, refuse any unsigned
                // request before looking anything up (401, naming nothing).
                let expected = if SIGNED_NOT_TOKEN.contains(&path.as_str()) {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(status, expected, "{method} {path} with {who}: {body}");
                for id in objects.values() {
                    assert!(
                        !body.contains(id.as_str()),
                        "{method} {path} with {who} shows {id}"
                    );
                }
                assert!(!body.contains(MARK), "{method} {path} with {who}: {body}");
                swept += 1;
            }
        }
    }
    assert!(swept >= 40, "only {swept} calls swept");
    // The objects are all still there for their owner.
    for (prefix, id) in &objects {
        if prefix.starts_with('/') && *prefix != "/scan_keys/" {
            expect(app.get(&format!("{prefix}{id}")).await, StatusCode::OK).await;
        }
    }
}

#[tokio::test]
async fn a_scan_key_moves_only_its_own_accounts_parcels_even_with_the_same_number() {
    let alpha = spawn_app().await;
    let beta = alpha.other_account(domain::account::Mode::Test).await;
    let mut numbers = Vec::new();
    let mut accounts = Vec::new();
    for app in [&alpha, &beta] {
        let ca = courier(app).await;
        let rate = rate_for(
            app,
            json!({"address_from": lisboa(), "address_to": porto(), "parcels": [parcel()], "carrier_accounts": [ca]}),
            "std",
        )
        .await;
        let t = buy(app, json!({"rate": rate, "async": false})).await;
        numbers.push(t["tracking_number"].as_str().unwrap().to_string());
        accounts.push(ca);
    }
    assert_eq!(
        numbers[0], numbers[1],
        "the same card issues the same first number"
    );
    let key = expect(
        alpha
            .post_json(
                &format!("/carrier_accounts/{}/scan_keys", accounts[0]),
                &json!({}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let key = key["key"].as_str().unwrap();
    let res = alpha
        .client
        .post(alpha.url("/scans"))
        .header("Authorization", format!("Bearer {key}"))
        .json(&json!({"tracking_number": numbers[0], "status": "DELIVERED", "occurred_at": "2026-11-21T11:30:00Z"}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::CREATED).await;
    let mine = expect(
        alpha.get(&format!("/tracks/ratecard/{}", numbers[0])).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["tracking_status"]["status"], "DELIVERED");
    let theirs = expect(
        beta.get(&format!("/tracks/ratecard/{}", numbers[1])).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        theirs["tracking_status"]["status"], "UNKNOWN",
        "alpha's key moved beta's parcel: {theirs}"
    );
    // Beta cannot use, list or revoke alpha's key.
    let res = beta
        .get(&format!("/carrier_accounts/{}/scan_keys", accounts[0]))
        .await;
    expect(res, StatusCode::NOT_FOUND).await;
}
