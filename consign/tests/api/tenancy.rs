//! The cross-tenant sweep: one object of every kind made by one account, then every operation of
//! the OpenAPI document that names an object called with another account's credentials and with
//! the same account's live ones. Each answers 404 (401 where a provider's signature, not a token,
//! is the credential) and nothing of the object shows. The routes come from the document
//! (`openapi.rs` checks that it lists every route), and how each is called from its security:
//! a Shippo token for most, a project key for the seed's custom API (`?project=` and the body's
//! `orderId` name the object), none for the public tracking pages (each has its rule in
//! [`PUBLIC`]), so a new route is swept without editing this test, or fails until its rule is
//! written down.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{expect, spawn_app, TestApp};
use crate::labels::{buy, courier, lisboa, parcel, porto, rate_for, us_from, us_to};
use crate::providers;

/// Account-level configuration, shared by the account's test and live tokens (as at Shippo,
/// where `test` on a carrier account says whether it buys test labels): carrier accounts, their
/// rate cards and their scan keys. Everything made with them carries its mode.
const SHARED_ACROSS_MODES: &[&str] = &["/carrier_accounts/", "/scan_keys/"];

/// A name no other object carries: it must never appear in another tenant's answers.
const MARK: &str = "Tenant Alpha Only";

/// A Kickstarter backer report's header (as `crowdfunding.rs` imports it).
const BACKERS: &str = "Backer Number,Backer UID,Backer Name,Email,Shipping Country,Reward Title,Pledge Amount,Pledged At,Shipping Name,Shipping Address 1,Shipping Address 2,Shipping City,Shipping State,Shipping Postal Code,Shipping Country Code,Shipping Phone Number";

/// What the public routes are called with: a parcel of the account's, by its number and the
/// carrier account that issued it.
struct Parcel {
    number: String,
    carrier_account: String,
}

/// One object of every kind, by the path prefix whose `{id}` it fills (and, not prefixed, the
/// other values paths and bodies name: a webhook delivery, a project sync, a backer's order in
/// the seed's API, a label file's key).
async fn objects(app: &TestApp) -> (BTreeMap<&'static str, String>, Parcel) {
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
    // The label's file, by its key (`/files/{account}/{object}/{name}`).
    let label = t["label_url"].as_str().unwrap();
    let key = label
        .split("/files/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    o.insert("file", key.to_string());
    let parcel = Parcel {
        number: t["tracking_number"].as_str().unwrap().to_string(),
        carrier_account: shipment["rates"][0]["carrier_account"]
            .as_str()
            .unwrap()
            .to_string(),
    };

    // A crowdfunding project with a backer (named MARK), a key, the creator's provider account
    // and a sync into it.
    let project = expect(
        app.post_json(
            "/projects",
            &json!({"name": MARK, "reward_weight": {"weight": "1", "mass_unit": "lb"}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let project = id(&project);
    let report = format!(
        "{BACKERS}\n1,alpha-1,{MARK},alpha@example.com,US,Standard,$30.00,\"2026/05/25, 10:00\",{MARK},123 Main St,,Portland,OR,97201,US,\n"
    );
    let res = app
        .client
        .post(app.url(&format!("/projects/{project}/backers/import")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "text/csv")
        .body(report)
        .send()
        .await
        .unwrap();
    let imported = expect(res, StatusCode::OK).await;
    assert_eq!(imported["shippable"], 1, "{imported}");
    let key = project_key(app, &app.token, &project).await;
    let orders = expect(
        app.client
            .get(app.url(&format!("/api/shipping/orders?project={project}")))
            .header("Authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    o.insert(
        "order",
        orders["orders"][0]["orderId"].as_str().unwrap().to_string(),
    );
    let ep = providers::easypost("EZTK_alpha").await;
    let res = app
        .client
        .put(app.url(&format!("/projects/{project}/provider")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .json(&json!({"provider": "easypost", "api_key": "EZTK_alpha", "webhook_secret": "alpha-secret", "base_url": ep.base, "return_address": from}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
    let sync = expect(
        app.post_json(&format!("/projects/{project}/sync"), &json!({}))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    o.insert("sync", id(&sync));
    o.insert("/projects/", project);
    (o, parcel)
}

/// A new project of the token's account (in its mode) and a key for it.
async fn project_key(app: &TestApp, token: &str, project: &str) -> String {
    let k = expect(
        app.post_json_as(token, &format!("/projects/{project}/keys"), &json!({}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    k["key"].as_str().unwrap().to_string()
}

/// A project of the token's own, with a key: what another party calls the seed's API with.
async fn own_project_key(app: &TestApp, token: &str) -> String {
    let p = expect(
        app.post_json_as(token, "/projects", &json!({"name": "Someone else's"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    project_key(app, token, p["object_id"].as_str().unwrap()).await
}

/// The path with its parameters filled from `objects`; `None` for a path naming no object.
fn fill(path: &str, objects: &BTreeMap<&'static str, String>) -> Option<String> {
    let filled = if path == "/files/{account}/{object}/{name}" {
        format!("/files/{}", objects["file"])
    } else if path.contains("{id}") {
        let (prefix, _) = objects
            .iter()
            .filter(|(p, _)| p.starts_with('/') && path.starts_with(**p))
            .max_by_key(|(p, _)| p.len())
            .unwrap_or_else(|| panic!("no object made for {path}: add one to objects()"));
        path.replace("{id}", &objects[prefix])
            .replace("{delivery}", &objects["delivery"])
            .replace("{sync}", &objects["sync"])
            .replace("{currency}", "EUR")
    } else if path.contains("{project}") {
        path.replace("{project}", &objects["/projects/"])
            .replace("{provider}", "easypost")
    } else {
        return None;
    };
    assert!(!filled.contains('{'), "no value for a parameter of {path}");
    Some(filled)
}

/// How an operation is authenticated, from its `security` in the document.
#[derive(Debug, PartialEq)]
enum Credential {
    Token,
    ProjectKey,
    /// A provider's signature over the body (no token): unsigned requests answer 401 before
    /// anything is looked up, naming nothing.
    Signature,
    ScanKey,
    Public,
}

fn credential(op: &Value) -> Credential {
    let schemes: Vec<&str> = op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s.as_object().unwrap().keys().map(String::as_str))
        .collect();
    match schemes.as_slice() {
        [] => Credential::Public,
        s if s.contains(&"ShippoToken") => Credential::Token,
        ["ProjectKey"] => Credential::ProjectKey,
        ["ProviderSignature"] | ["ProjectSignature"] => Credential::Signature,
        ["ScanKey"] => Credential::ScanKey,
        other => panic!("no sweep rule for security {other:?}"),
    }
}

/// The public routes with a parameter, and what anyone gets there with this account's parcel:
/// a parcel's page is named by the carrier account that issued the number (two accounts'
/// couriers can issue the same numbers), so another account's carrier account with this
/// number is no page (404) while its own is (200); the number-only link answers while one parcel
/// carries the number (by design: the number is the link). Either way a page shows no name, no
/// street and no id (`MARK` is the sender's name).
const PUBLIC: &[(&str, StatusCode)] = &[
    ("/track/{carrier_account}/{number}", StatusCode::NOT_FOUND),
    ("/track/{number}", StatusCode::OK),
    // A logo is public by design (buyers' pages and emails show it); the sweep's account has
    // none, and a path that names no account finds none.
    ("/brand/{account}/logo", StatusCode::NOT_FOUND),
];

/// The body a write is swept with: one that passes the route's own checks, so the answer is
/// about the object, not the body.
fn body_for(path: &str) -> Value {
    match path {
        "/projects/{id}" => json!({"name": "Renamed"}),
        "/projects/{id}/provider" => {
            json!({"provider": "easypost", "api_key": "EZTK_other", "webhook_secret": "s", "return_address": us_to()})
        }
        _ => json!({"url": "http://127.0.0.1:9/x", "event": "all"}),
    }
}

/// Asserts the status and that nothing of the account's objects shows in `body`.
fn check(
    what: &str,
    status: StatusCode,
    expected: StatusCode,
    body: &str,
    objects: &BTreeMap<&'static str, String>,
) {
    assert_eq!(status, expected, "{what}: {body}");
    for id in objects.values() {
        assert!(!body.contains(id.as_str()), "{what} shows {id}");
    }
    assert!(!body.contains(MARK), "{what}: {body}");
}

#[tokio::test]
async fn no_route_with_an_id_answers_another_account_or_the_other_mode() {
    let app = spawn_app().await;
    let (objects, parcel) = objects(&app).await;
    let doc = expect(app.get("/openapi.json").await, StatusCode::OK).await;
    let beta = app.other_account_token(domain::account::Mode::Test).await;
    let live = app.token_in_mode(domain::account::Mode::Live).await;
    // Each other party with its own credentials: a token, and a key of a project of its own.
    let others = [
        ("another account", own_project_key(&app, &beta).await, beta),
        ("a live token", own_project_key(&app, &live).await, live),
    ];
    let beta_carrier_account = expect(
        app.get_as(&others[0].2, "/carrier_accounts?carrier=shippo")
            .await,
        StatusCode::OK,
    )
    .await["results"][0]["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut swept = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let credential = credential(op);
            if credential == Credential::Public {
                if !path.contains('{') {
                    continue;
                }
                let (_, expected) = PUBLIC.iter().find(|(p, _)| p == path).unwrap_or_else(|| {
                    panic!("{path} is public: write down in PUBLIC what another account gets there")
                });
                let page = |carrier_account: &str| {
                    path.replace("{carrier_account}", carrier_account)
                        .replace("{number}", &parcel.number)
                };
                if path.contains("{carrier_account}") {
                    // The owner's link is a page: the 404 below is about the carrier account.
                    let own = page(&parcel.carrier_account);
                    let res = app.client.get(app.url(&own)).send().await.unwrap();
                    let (status, body) = (res.status(), res.text().await.unwrap());
                    check(
                        &format!("{method} {own}"),
                        status,
                        StatusCode::OK,
                        &body,
                        &objects,
                    );
                }
                let url = page(&beta_carrier_account);
                let res = app
                    .client
                    .request(method.clone(), app.url(&url))
                    .send()
                    .await
                    .unwrap();
                let (status, body) = (res.status(), res.text().await.unwrap());
                check(
                    &format!("{method} {path} by anyone"),
                    status,
                    *expected,
                    &body,
                    &objects,
                );
                swept += 1;
                continue;
            }
            if credential == Credential::ProjectKey {
                // The seed's API names the project in its query and the order in its body.
                for (who, key, _) in &others {
                    let req = match path.as_str() {
                        "/api/shipping/orders" => app
                            .client
                            .get(app.url(&format!("{path}?project={}", objects["/projects/"]))),
                        "/api/shipping/tracking" => app.client.post(app.url(path)).json(&json!({
                            "orderId": objects["order"], "trackingNumber": "1Z999AA10123456784",
                            "carrier": "UPS", "status": "shipped"
                        })),
                        _ => {
                            panic!("{path} takes a project key: write down how it names a project")
                        }
                    };
                    let res = req
                        .header("Authorization", format!("Bearer {key}"))
                        .send()
                        .await
                        .unwrap();
                    let (status, body) = (res.status(), res.text().await.unwrap());
                    let what = format!("{method} {path} with {who}'s project key");
                    check(&what, status, StatusCode::NOT_FOUND, &body, &objects);
                    swept += 1;
                }
                continue;
            }
            let Some(url) = fill(path, &objects) else {
                continue;
            };
            for (who, _, token) in &others {
                let shared = SHARED_ACROSS_MODES.iter().any(|p| path.starts_with(p));
                if shared && *who == "a live token" {
                    continue;
                }
                let mut req = app
                    .client
                    .request(method.clone(), app.url(&url))
                    .header("Authorization", format!("ShippoToken {token}"));
                if method == Method::POST || method == Method::PUT {
                    req = req.json(&body_for(path));
                }
                let res = req.send().await.unwrap();
                let status = res.status();
                let body = res.text().await.unwrap();
                let expected = match credential {
                    Credential::Signature => StatusCode::UNAUTHORIZED,
                    _ => StatusCode::NOT_FOUND,
                };
                check(
                    &format!("{method} {path} with {who}"),
                    status,
                    expected,
                    &body,
                    &objects,
                );
                swept += 1;
            }
        }
    }
    assert!(swept >= 60, "only {swept} calls swept");
    // Another party's report moved nothing: the backer's order is still pending.
    let key = project_key(&app, &app.token, &objects["/projects/"]).await;
    let pending = expect(
        app.client
            .get(app.url(&format!(
                "/api/shipping/orders?project={}&status=pending",
                objects["/projects/"]
            )))
            .header("Authorization", format!("Bearer {key}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(pending["total"], 1, "{pending}");
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
