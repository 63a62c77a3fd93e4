//! Seed 002 "Tracking Status", seed 001's courier status updates, seed 000's dispatch emails:
//! a courier posts scans, the merchant's receiver gets signed `track_updated` webhooks, the
//! buyer gets exactly one "shipped" and one "delivered" email, and the public page shows it.

use consign::config::Layer;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fakes::{Receiver, SmtpServer};
use crate::helpers::{expect, spawn_app, spawn_app_with, TestApp};
use crate::labels::{buy, courier, lisboa, parcel, porto, rate_for};

pub(crate) async fn scan_key(app: &TestApp, carrier_account: &str) -> String {
    let k = expect(
        app.post_json(
            &format!("/carrier_accounts/{carrier_account}/scan_keys"),
            &json!({}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let key = k["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("consign_scan_"), "{k}");
    key
}

pub(crate) async fn scan(app: &TestApp, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/scans"))
        .header("Authorization", format!("Bearer {key}"))
        .json(body)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn webhook(app: &TestApp, url: &str, event: &str) -> (String, String) {
    let w = expect(
        app.post_json("/webhooks", &json!({"url": url, "event": event}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    (
        w["object_id"].as_str().unwrap().to_string(),
        w["secret"].as_str().unwrap().to_string(),
    )
}

/// A rate-card label from Lisbon to Porto whose recipient has an email; (carrier account,
/// transaction, tracking number).
pub(crate) async fn label(app: &TestApp) -> (String, String, String) {
    let account = courier(app).await;
    let mut to = porto();
    to["email"] = json!("ana@example.pt");
    let rate = rate_for(
        app,
        json!({"address_from": lisboa(), "address_to": to, "parcels": [parcel()], "carrier_accounts": [account]}),
        "std",
    )
    .await;
    let t = buy(app, json!({"rate": rate, "async": false})).await;
    assert_eq!(t["status"], "SUCCESS", "{t}");
    (
        account,
        t["object_id"].as_str().unwrap().to_string(),
        t["tracking_number"].as_str().unwrap().to_string(),
    )
}

fn statuses(history: &Value) -> Vec<&str> {
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_courier_scans_and_the_merchant_and_buyer_hear_of_it() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(Layer {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(smtp.port),
        smtp_tls: Some("none".into()),
        smtp_from: Some("Loja Lisboa <envios@loja.example>".into()),
        ..Default::default()
    })
    .await;
    let receiver = Receiver::start().await;
    let (_, secret) = webhook(&app, &receiver.url, "track_updated").await;
    let (account, transaction, number) = label(&app).await;
    let key = scan_key(&app, &account).await;

    // The merchant's token is not a scan key, and no key is no entry.
    let res = scan(&app, &app.token, &json!({})).await;
    assert_eq!(
        expect(res, StatusCode::UNAUTHORIZED).await["code"],
        "unauthorized"
    );

    // One scan: the parcel is handed over.
    let one = expect(
        scan(&app, &key, &json!({"tracking_number": number, "status": "PRE_TRANSIT", "substatus": "information_received",
            "occurred_at": "2026-11-20T08:00:00Z", "location": {"city": "Lisboa", "zip": "1100-053", "country": "pt"}})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(one["result"], "accepted");
    assert_eq!(one["status"], "PRE_TRANSIT");

    // A batch, out of order, with a repeat and a stranger's number.
    let batch = expect(
        scan(&app, &key, &json!({"events": [
            {"tracking_number": number, "status": "TRANSIT", "substatus": "package_departed", "details": "Saiu do centro de Lisboa", "occurred_at": "2026-11-20T18:00:00Z", "location": {"city": "Lisboa", "country": "PT"}},
            {"tracking_number": number, "status": "TRANSIT", "substatus": "package_accepted", "occurred_at": "2026-11-20T10:00:00+00:00"},
            {"tracking_number": number, "status": "PRE_TRANSIT", "substatus": "information_received", "occurred_at": "2026-11-20T08:00:00Z"},
            {"tracking_number": "CT999999999PT", "status": "TRANSIT", "occurred_at": "2026-11-20T10:00:00Z"},
            {"tracking_number": number, "status": "DELIVERED", "substatus": "delivered", "occurred_at": "2026-11-21T11:30:00Z", "location": {"city": "Porto", "zip": "4000-447", "country": "PT"}},
            {"tracking_number": number, "status": "LOST", "occurred_at": "2026-11-21T11:30:00Z"}
        ]})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            batch["accepted"].as_u64(),
            batch["duplicates"].as_u64(),
            batch["rejected"].as_u64()
        ),
        (Some(3), Some(1), Some(2)),
        "{batch}"
    );
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results[2]["result"], "duplicate");
    assert!(results[3]["errors"]["tracking_number"][0]
        .as_str()
        .unwrap()
        .contains("not a label of this carrier account"));
    assert!(results[5]["errors"]["status"][0]
        .as_str()
        .unwrap()
        .contains("Unknown status"));
    assert_eq!(results[4]["status"], "DELIVERED");

    // Nothing moves after DELIVERED but RETURNED.
    let late = expect(
        scan(&app, &key, &json!({"tracking_number": number, "status": "TRANSIT", "occurred_at": "2026-11-22T09:00:00Z"})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        late["fields"]["status"][0]
            .as_str()
            .unwrap()
            .contains("cannot follow DELIVERED"),
        "{late}"
    );

    // The track, in Shippo's shape: history sorted by event time, latest event current.
    let track = expect(
        app.get(&format!("/tracks/ratecard/{number}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        statuses(&track["tracking_history"]),
        ["PRE_TRANSIT", "TRANSIT", "TRANSIT", "DELIVERED"]
    );
    assert_eq!(
        track["tracking_history"][1]["substatus"]["code"],
        "package_accepted"
    );
    assert_eq!(
        track["tracking_history"][2]["status_details"],
        "Saiu do centro de Lisboa"
    );
    assert_eq!(track["tracking_status"]["status"], "DELIVERED");
    assert_eq!(
        track["tracking_status"]["status_date"],
        "2026-11-21T11:30:00.000Z"
    );
    assert_eq!(track["tracking_status"]["location"]["city"], "Porto");
    assert_eq!(track["transaction"], transaction.as_str());
    assert_eq!(
        track["address_to"],
        json!({"city": "Porto", "state": null, "zip": "4000-447", "country": "PT"})
    );
    assert_eq!(track["servicelevel"]["token"], "std");
    assert_eq!(track["tracking_history"][0]["location"]["country"], "PT");

    // The transaction carries the same status and history.
    let t = expect(
        app.get(&format!("/transactions/{transaction}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(t["tracking_status"], "DELIVERED");
    assert_eq!(
        statuses(&t["tracking_history"]),
        ["PRE_TRANSIT", "TRANSIT", "TRANSIT", "DELIVERED"]
    );
    let delivered = expect(
        app.get("/transactions?tracking_status=DELIVERED").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(delivered["count"], 1);
    let moving = expect(
        app.get("/transactions?tracking_status=TRANSIT").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moving["count"], 0);
    let bad = expect(
        app.get("/transactions?tracking_status=LOST").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["tracking_status"].is_array());

    // A used label cannot be refunded.
    let refused = expect(
        app.post_json("/refunds", &json!({"transaction": transaction}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        refused["fields"]["transaction"][0]
            .as_str()
            .unwrap()
            .contains("has been used"),
        "{refused}"
    );

    // The merchant's receiver got two signed track_updated events (one per request that changed
    // the parcel), each verifiable with the secret over the raw bytes.
    let got = receiver.wait_until(20, |g| g.len() >= 2).await;
    let now = domain::Timestamp::now().millis() / 1000;
    let mut ids = std::collections::BTreeSet::new();
    for r in &got {
        assert_eq!(r.headers["consign-event"], "track_updated");
        assert!(
            service::webhooks::verify(&secret, &r.headers["consign-signature"], &r.body, now, 300),
            "{:?}",
            r.headers
        );
        assert!(!service::webhooks::verify(
            "whsec_wrong",
            &r.headers["consign-signature"],
            &r.body,
            now,
            300
        ));
        ids.insert(r.headers["consign-delivery"].clone());
        let payload = r.json();
        assert_eq!(payload["event"], "track_updated");
        assert_eq!(payload["test"], true);
        assert_eq!(payload["data"]["tracking_number"], number.as_str());
        assert_eq!(payload["data"]["transaction"], transaction.as_str());
    }
    assert_eq!(ids.len(), got.len(), "each delivery has its own id");
    let last = got
        .iter()
        .map(|r| r.json())
        .find(|p| p["data"]["tracking_status"]["status"] == "DELIVERED");
    assert!(last.is_some(), "the batch's webhook shows the delivery");

    // The buyer: exactly one "shipped" and one "delivered" email, even when scans repeat.
    let mails = smtp.wait_for(2, 20).await;
    let again = expect(
        scan(&app, &key, &json!([{"tracking_number": number, "status": "DELIVERED", "substatus": "delivered", "occurred_at": "2026-11-21T11:30:00Z"},
                                 {"tracking_number": number, "status": "TRANSIT", "substatus": "package_accepted", "occurred_at": "2026-11-20T10:00:00Z"}])).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["duplicates"], 2);
    crate::helpers::settled(&app.database_url).await;
    let mails_after = smtp.mails();
    assert_eq!(mails_after.len(), 2, "{mails_after:?}");
    let subjects: Vec<String> = mails.iter().map(|m| m.header("Subject").unwrap()).collect();
    assert!(
        subjects.contains(&format!("Your parcel is on its way ({number})")),
        "{subjects:?}"
    );
    assert!(
        subjects.contains(&format!("Your parcel was delivered ({number})")),
        "{subjects:?}"
    );
    for m in &mails {
        assert_eq!(m.to, ["ana@example.pt"]);
        assert_eq!(m.from, "envios@loja.example");
        assert!(
            m.data.contains(&format!("/track/{account}/{number}")),
            "{}",
            m.data
        );
        assert!(
            m.data.contains("text/html") && m.data.contains("text/plain"),
            "both parts"
        );
    }
    let delivered_mail = mails
        .iter()
        .find(|m| m.header("Subject").unwrap().contains("delivered"))
        .unwrap();
    assert!(
        delivered_mail.data.contains("was delivered in Porto, PT"),
        "{}",
        delivered_mail.data
    );

    // The public page: no login, the history, cities only; a page for anyone, so locked down.
    let page = app
        .client
        .get(app.url(&format!("/track/{account}/{number}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    assert!(html.contains("data-status=\"DELIVERED\""), "{html}");
    assert!(html.contains("Saiu do centro de Lisboa") && html.contains("Porto, PT"));
    // Times as read in Porto, the zone named (Portugal keeps WET in November).
    assert!(
        html.contains(
            "<time datetime=\"2026-11-21T11:30:00.000Z\">Sat 21 Nov 2026, 11:30 WET</time>"
        ),
        "{html}"
    );
    // The courier's own name (its rate card's), never the internal token.
    assert!(html.contains("Correio Teste"), "{html}");
    assert!(!html.contains("ratecard"), "{html}");
    assert!(
        !html.contains("Santa Catarina") && !html.contains("4000-447") && !html.contains("ana@"),
        "no addresses beyond city/country"
    );
    let unknown = app
        .client
        .get(app.url("/track/NOPE123"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_new_label_has_a_page_before_its_first_scan_and_scan_keys_can_be_revoked() {
    let app = spawn_app().await;
    let (account, transaction, number) = label(&app).await;
    let t = expect(
        app.get(&format!("/transactions/{transaction}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(t["tracking_status"], "UNKNOWN");
    assert_eq!(t["tracking_history"], json!([]));
    let url = t["tracking_url_provider"].as_str().unwrap();
    assert!(
        url.ends_with(&format!("/track/{account}/{number}")),
        "{url}"
    );
    let html = app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-status=\"UNKNOWN\"") && html.contains("Lisboa, PT → Porto, PT"),
        "{html}"
    );

    let key = scan_key(&app, &account).await;
    let keys = expect(
        app.get(&format!("/carrier_accounts/{account}/scan_keys"))
            .await,
        StatusCode::OK,
    )
    .await;
    let key_id = keys[0]["object_id"].as_str().unwrap().to_string();
    assert!(
        keys[0].get("key").is_none(),
        "the key is shown once: {keys}"
    );
    assert!(key.starts_with(keys[0]["prefix"].as_str().unwrap()));
    // CSV upload, as a scanner exports it.
    let csv = format!("tracking_number,status,substatus,details,occurred_at,city,state,zip,country\n{number},TRANSIT,package_accepted,Recolhido,2026-11-20T10:00:00Z,Lisboa,,1100-053,PT\n{number},WHATEVER,,,2026-11-20T11:00:00Z,,,,\n");
    let res = app
        .client
        .post(app.url("/scans"))
        .header("Authorization", format!("Bearer {key}"))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let out = expect(res, StatusCode::OK).await;
    assert_eq!(
        (out["accepted"].as_u64(), out["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{out}"
    );
    let track = expect(
        app.get(&format!("/tracks/ratecard/{number}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(track["tracking_status"]["status_details"], "Recolhido");

    // Another account's token sees nothing of it, and cannot mint keys for this courier.
    let other = app.other_account_token(domain::account::Mode::Test).await;
    let theirs = expect(
        app.get_as(&other, &format!("/tracks/ratecard/{number}"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(theirs["tracking_status"]["status"], "UNKNOWN");
    assert!(theirs["transaction"].is_null() && theirs["tracking_history"] == json!([]));
    let res = app
        .post_json_as(
            &other,
            &format!("/carrier_accounts/{account}/scan_keys"),
            &json!({}),
        )
        .await;
    expect(res, StatusCode::NOT_FOUND).await;
    // Nor list them: another account's (or an unknown) carrier account is a 404, not [].
    let res = app
        .get_as(&other, &format!("/carrier_accounts/{account}/scan_keys"))
        .await;
    let body = expect(res, StatusCode::NOT_FOUND).await;
    assert_eq!(body["code"], "not_found");
    let res = app
        .get(&format!(
            "/carrier_accounts/{}/scan_keys",
            domain::ObjectId::new()
        ))
        .await;
    expect(res, StatusCode::NOT_FOUND).await;

    let res = app
        .client
        .delete(app.url(&format!("/scan_keys/{key_id}")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = scan(&app, &key, &json!({"tracking_number": number, "status": "DELIVERED", "occurred_at": "2026-11-21T10:00:00Z"})).await;
    let body = expect(res, StatusCode::UNAUTHORIZED).await;
    assert!(body["detail"].as_str().unwrap().contains("scan key"));
}

#[tokio::test]
async fn shippo_test_numbers_answer_their_status_and_announce_themselves() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let (_, secret) = webhook(&app, &receiver.url, "all").await;

    let got = expect(
        app.get("/tracks/shippo/SHIPPO_DELIVERED").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(got["tracking_status"]["status"], "DELIVERED");
    assert_eq!(
        statuses(&got["tracking_history"]),
        ["PRE_TRANSIT", "TRANSIT", "TRANSIT", "TRANSIT", "DELIVERED"]
    );
    assert_eq!(got["messages"], json!([]));

    // Registering (200, not 201, as the SDK expects) sends a track_updated webhook.
    let res = app.post_json("/tracks", &json!({"carrier": "shippo", "tracking_number": "SHIPPO_TRANSIT", "metadata": "Order 000123"})).await;
    let t = expect(res, StatusCode::OK).await;
    assert_eq!(t["tracking_status"]["status"], "TRANSIT");
    assert_eq!(t["metadata"], "Order 000123");
    assert!(t["eta"].is_string());
    let got = receiver.wait_until(20, |g| !g.is_empty()).await;
    let payload = got[0].json();
    assert_eq!(payload["event"], "track_updated");
    assert_eq!(payload["data"]["tracking_number"], "SHIPPO_TRANSIT");
    assert_eq!(payload["data"]["metadata"], "Order 000123");
    assert_eq!(payload["data"]["tracking_status"]["status"], "TRANSIT");
    let now = domain::Timestamp::now().millis() / 1000;
    assert!(service::webhooks::verify(
        &secret,
        &got[0].headers["consign-signature"],
        &got[0].body,
        now,
        300
    ));

    for status in ["PRE_TRANSIT", "RETURNED", "FAILURE", "UNKNOWN"] {
        let t = expect(
            app.get(&format!("/tracks/shippo/SHIPPO_{status}")).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(t["tracking_status"]["status"], status);
    }
    // A number nobody reports: UNKNOWN, with a message saying why.
    let t = expect(
        app.get("/tracks/usps/9205590164917312751089").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(t["tracking_status"]["status"], "UNKNOWN");
    assert!(
        t["messages"][0]
            .as_str()
            .unwrap()
            .contains("no usps tracking connection"),
        "{t}"
    );
    let bad = expect(
        app.post_json("/tracks", &json!({"carrier": "shippo"}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["tracking_number"].is_array());
}

#[tokio::test]
async fn concurrent_first_registrations_of_one_number_all_succeed() {
    let app = spawn_app().await;
    let body =
        json!({"carrier": "usps", "tracking_number": "9400100000000000000001", "metadata": "race"});
    let answers =
        futures_util::future::join_all((0..8).map(|_| app.post_json("/tracks", &body))).await;
    for res in answers {
        let t = expect(res, StatusCode::OK).await;
        assert_eq!(t["tracking_number"], "9400100000000000000001");
    }
    let t = expect(
        app.get("/tracks/usps/9400100000000000000001").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(t["metadata"], "race");
}

/// Fetches a public page without credentials: (status, html).
async fn public_page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn two_merchants_whose_couriers_issue_the_same_number_each_see_their_own_parcel_only() {
    let app = spawn_app().await;
    let (account_a, _, number) = label(&app).await;
    // While the number names one parcel, the old unscoped link still answers.
    let (status, html) = public_page(&app, &format!("/track/{number}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Lisboa, PT → Porto, PT"), "{html}");

    // A second merchant with the same card: its first label gets the same number.
    let other = app.other_account(domain::account::Mode::Test).await;
    let account_b = courier(&other).await;
    let coimbra = json!({"name": "Loja Coimbra", "street1": "Rua Ferreira Borges 1", "city": "Coimbra", "zip": "3000-180", "country": "PT"});
    let rate = rate_for(
        &other,
        json!({"address_from": coimbra, "address_to": porto(), "parcels": [parcel()], "carrier_accounts": [account_b]}),
        "std",
    )
    .await;
    let t = buy(&other, json!({"rate": rate, "async": false})).await;
    assert_eq!(
        t["tracking_number"],
        number.as_str(),
        "same card, same series"
    );
    assert!(t["tracking_url_provider"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/track/{account_b}/{number}")));

    // The first merchant's parcel moves on; the second's page must not show it.
    let key = scan_key(&app, &account_a).await;
    expect(
        scan(&app, &key, &json!({"tracking_number": number, "status": "DELIVERED", "occurred_at": "2026-11-21T11:30:00Z", "location": {"city": "Porto", "country": "PT"}})).await,
        StatusCode::CREATED,
    )
    .await;
    let (status, a) = public_page(&app, &format!("/track/{account_a}/{number}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        a.contains("data-status=\"DELIVERED\"") && a.contains("Lisboa, PT → Porto, PT"),
        "{a}"
    );
    let (status, b) = public_page(&app, &format!("/track/{account_b}/{number}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        b.contains("data-status=\"UNKNOWN\"") && b.contains("Coimbra, PT → Porto, PT"),
        "{b}"
    );
    assert!(!b.contains("Lisboa"), "nothing of the other parcel: {b}");
    // The unscoped link is now ambiguous: it names no parcel rather than the wrong one.
    let (status, html) = public_page(&app, &format!("/track/{number}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("Porto, PT"), "{html}");
    // A carrier account that did not issue the number has no page for it.
    let (status, _) = public_page(
        &app,
        &format!("/track/{}/{number}", domain::ObjectId::new()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn test_carrier_numbers_never_repeat_across_accounts() {
    let app = spawn_app().await;
    let other = app.other_account(domain::account::Mode::Test).await;
    let first = test_label_number(&app).await;
    let second = test_label_number(&other).await;
    let third = test_label_number(&app).await;
    assert!(
        first.starts_with("92055901755477") && first.len() == 26,
        "{first}"
    );
    assert_ne!(first, second, "each account's first test label");
    assert_ne!(second, third);
    assert_ne!(first, third);
}

/// Buys a test-carrier label and returns its tracking number.
async fn test_label_number(app: &TestApp) -> String {
    let body = json!({"address_from": crate::labels::us_from(), "address_to": crate::labels::us_to(), "parcels": [parcel()]});
    let rate = rate_for(app, body, "usps_priority").await;
    let t = buy(app, json!({"rate": rate, "async": false})).await;
    t["tracking_number"].as_str().unwrap().to_string()
}
