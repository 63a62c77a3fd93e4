//! Upstream providers as carriers (EasyPost, the user's own Shippo account, another Consign):
//! a merchant connects an account, gets the real carriers' rates beside its own, buys a label,
//! downloads it from Consign, and sees tracking arrive by signed webhook — against fakes that
//! answer with the recorded traffic (`providers.rs`).

use std::time::Duration;

use consign::config::Layer;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use unicode_normalization::UnicodeNormalization;

use crate::fakes::SmtpServer;
use crate::helpers::{expect, spawn_app, spawn_app_with, TestApp};
use crate::labels::{buy, courier, download, lisboa, parcel, porto, us_from, us_to};
use crate::providers::{self, Fake};

const EASYPOST_KEY: &str = "EZTK_consign_test_key";
const EASYPOST_SECRET: &str = "s\u{e9}cret";

async fn easypost_account(app: &TestApp, fake: &Fake, key: &str) -> Value {
    easypost_account_as(app, fake, "my-easypost", true, key).await
}

/// An EasyPost carrier account (test or live) with `key`, pointing at `fake`.
async fn easypost_account_as(
    app: &TestApp,
    fake: &Fake,
    account_id: &str,
    test: bool,
    key: &str,
) -> Value {
    expect(
        app.post_json(
            "/carrier_accounts",
            &json!({"carrier": "easypost", "account_id": account_id, "test": test,
                    "parameters": {"api_key": key, "api_base": fake.base, "webhook_secret": EASYPOST_SECRET}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

fn us_shipment(account: &str) -> Value {
    let mut to = us_to();
    to["email"] = json!("hippo@example.com");
    json!({"address_from": us_from(), "address_to": to, "parcels": [parcel()], "carrier_accounts": [account], "async": false})
}

async fn rates_of(app: &TestApp, body: &Value) -> Value {
    expect(app.post_json("/shipments", body).await, StatusCode::CREATED).await
}

fn rate<'a>(shipment: &'a Value, account: &str, token: &str) -> &'a Value {
    shipment["rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["carrier_account"] == account && r["servicelevel"]["token"] == token)
        .unwrap_or_else(|| panic!("no {token} rate of {account}: {shipment}"))
}

/// An EasyPost `tracker.updated` event for `number`, built from the published fixture: its two
/// recorded details plus a delivery, signed the way EasyPost signs (NFKD secret, hex HMAC).
fn delivered_event(number: &str) -> (Vec<u8>, String) {
    let raw = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/fixtures/easypost/event-body.json"),
    )
    .unwrap();
    let mut event: Value = serde_json::from_slice(&raw).unwrap();
    let tracker = &mut event["result"];
    tracker["tracking_code"] = json!(number);
    tracker["status"] = json!("delivered");
    let details = tracker["tracking_details"].as_array_mut().unwrap();
    details.truncate(2);
    let mut delivered = details[1].clone();
    delivered["status"] = json!("delivered");
    delivered["status_detail"] = json!("arrived_at_destination");
    delivered["message"] = json!("Delivered, Front Door/Porch");
    delivered["datetime"] = json!("2024-08-02T19:26:00Z");
    delivered["tracking_location"]["city"] = json!("NEW YORK");
    details.push(delivered);
    let body = serde_json::to_vec(&event).unwrap();
    let key: String = EASYPOST_SECRET.nfkd().collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(&body);
    (
        body,
        format!(
            "hmac-sha256-hex={}",
            hex::encode(mac.finalize().into_bytes())
        ),
    )
}

async fn push(
    app: &TestApp,
    account: &str,
    header: (&str, &str),
    body: &[u8],
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/carrier_accounts/{account}/events")))
        .header("content-type", "application/json")
        .header(header.0, header.1)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

async fn wait_for_status(app: &TestApp, path: &str, field: &str, want: &str) -> Value {
    for _ in 0..100 {
        let v = expect(app.get(path).await, StatusCode::OK).await;
        if v[field] == want {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never reached {field} = {want}");
}

#[tokio::test]
async fn easypost_rates_beside_ours_a_label_downloaded_from_consign_and_tracking_by_webhook() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(Layer {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(smtp.port),
        smtp_tls: Some("none".into()),
        smtp_from: Some("Shop <ship@shop.example>".into()),
        ..Default::default()
    })
    .await;
    let fake = providers::easypost(EASYPOST_KEY).await;
    let account = easypost_account(&app, &fake, EASYPOST_KEY).await;
    let id = account["object_id"].as_str().unwrap().to_string();
    assert_eq!(account["carrier"], "easypost");
    assert_eq!(
        account["parameters"]["api_key"], "****_key",
        "the key is never echoed: {account}"
    );
    assert_eq!(account["parameters"]["webhook_secret"], "****");
    assert_eq!(
        account["events_url"],
        format!("{}/carrier_accounts/{id}/events", app.base).as_str()
    );

    // Rates: the test carrier's and EasyPost's, side by side (no carrier_accounts: every account).
    let mut body = us_shipment(&id);
    body.as_object_mut().unwrap().remove("carrier_accounts");
    let shipment = rates_of(&app, &body).await;
    let rates = shipment["rates"].as_array().unwrap();
    let ground = rate(&shipment, &id, "usps_ground_advantage");
    assert_eq!(ground["provider"], "USPS");
    assert_eq!(ground["amount"], "6.07");
    assert_eq!(ground["currency"], "USD");
    assert_eq!(ground["servicelevel"]["name"], "Ground Advantage");
    assert_eq!(ground["estimated_days"], 3);
    assert_eq!(
        rate(&shipment, &id, "usps_priority_express")["amount"],
        "34.15"
    );
    assert!(
        rates.iter().any(|r| r["carrier_account"] != id.as_str()),
        "the test carrier's rates are there too: {shipment}"
    );
    // What Consign sent EasyPost: its credentials, the addresses, the parcel in inches and ounces.
    let sent = fake.calls("POST", "/v2/shipments");
    assert_eq!(sent.len(), 1);
    assert!(sent[0].authorization.starts_with("Basic "));
    let sh = &sent[0].body["shipment"];
    assert_eq!(sh["to_address"]["street1"], "965 Mission St");
    assert_eq!(sh["from_address"]["zip"], "94117");
    assert_eq!(sh["parcel"]["weight"], json!(52.91), "1.5 kg in ounces");
    assert_eq!(sh["parcel"]["length"], json!(7.87), "20 cm in inches");

    // A forged event before the label exists changes nothing either way.
    let (event, signature) = delivered_event("9400100208303109505657");
    let res = push(
        &app,
        &id,
        ("x-hmac-signature", "hmac-sha256-hex=00ff"),
        &event,
    )
    .await;
    assert_eq!(
        expect(res, StatusCode::UNAUTHORIZED).await["code"],
        "unauthorized"
    );

    // The purchase: EasyPost buys, Consign keeps the label.
    let t = buy(
        &app,
        json!({"rate": ground["object_id"], "label_file_type": "PNG", "async": false}),
    )
    .await;
    assert_eq!(t["status"], "SUCCESS", "{t}");
    assert_eq!(t["tracking_number"], "9400100208303109505657");
    let label_url = t["label_url"].as_str().unwrap();
    assert!(
        label_url.starts_with(&app.base),
        "Consign's own signed link: {label_url}"
    );
    assert_eq!(
        download(&app, label_url).await.1,
        fake.label(),
        "the provider's label, byte for byte"
    );
    let bought = fake.calls("POST", "/buy");
    assert_eq!(bought.len(), 1);
    assert_eq!(
        bought[0].body["rate"]["id"],
        "rate_4d1f36fa716c4b1292cacbdf19227c2d"
    );
    assert_eq!(
        bought[0].idempotency_key.as_deref(),
        Some(format!("consign-{}", ground["object_id"].as_str().unwrap()).as_str())
    );
    assert_eq!(
        fake.calls("GET", ".png").len(),
        1,
        "downloaded once: {:?}",
        fake.seen()
    );
    // A retry of the purchase answers the first label and buys nothing more.
    let again = buy(&app, json!({"rate": ground["object_id"], "async": false})).await;
    assert_eq!(again["object_id"], t["object_id"]);
    assert_eq!(fake.buys(), 1);

    // Forged and unsigned events are refused and change nothing.
    let number = "9400100208303109505657";
    let res = push(
        &app,
        &id,
        ("x-hmac-signature", "hmac-sha256-hex=00ff"),
        &event,
    )
    .await;
    assert_eq!(
        expect(res, StatusCode::UNAUTHORIZED).await["code"],
        "unauthorized"
    );
    let res = push(&app, &id, ("x-other", "1"), &event).await;
    expect(res, StatusCode::UNAUTHORIZED).await;
    // Unsigned requests learn nothing about which accounts exist; signed ones to an unknown
    // account, or to one whose carrier does not push, find nothing.
    let nobody = "0123456789abcdef0123456789abcdef";
    let res = push(&app, nobody, ("x-other", "1"), &event).await;
    expect(res, StatusCode::UNAUTHORIZED).await;
    let res = push(&app, nobody, ("x-hmac-signature", &signature), &event).await;
    expect(res, StatusCode::NOT_FOUND).await;
    let before = expect(
        app.get(&format!("/tracks/usps/{number}")).await,
        StatusCode::OK,
    )
    .await;
    assert_ne!(before["tracking_status"]["status"], "DELIVERED");

    // The signed event: three events, the parcel DELIVERED (asked by the real carrier's token).
    let res = push(&app, &id, ("x-hmac-signature", &signature), &event).await;
    let got = expect(res, StatusCode::OK).await;
    assert_eq!(
        (got["received"].as_u64(), got["accepted"].as_u64()),
        (Some(3), Some(3)),
        "{got}"
    );
    let track = expect(
        app.get(&format!("/tracks/usps/{number}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(track["tracking_status"]["status"], "DELIVERED", "{track}");
    assert_eq!(track["tracking_status"]["location"]["city"], "NEW YORK");
    assert_eq!(track["transaction"], t["object_id"]);
    let history: Vec<&str> = track["tracking_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["PRE_TRANSIT", "TRANSIT", "DELIVERED"]);
    let tx = expect(
        app.get(&format!(
            "/transactions/{}",
            t["object_id"].as_str().unwrap()
        ))
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tx["tracking_status"], "DELIVERED");

    // A replay (the same bytes, the documented header spelling) changes nothing.
    let res = push(&app, &id, ("x-hmac-signature-256", &signature), &event).await;
    let replay = expect(res, StatusCode::OK).await;
    assert_eq!(
        (replay["accepted"].as_u64(), replay["duplicates"].as_u64()),
        (Some(0), Some(3))
    );

    // The buyer hears once that it shipped and once that it arrived, however often EasyPost repeats.
    let mails = smtp.wait_for(2, 20).await;
    crate::helpers::settled(&app.database_url).await;
    let mails_after = smtp.mails();
    assert_eq!(mails_after.len(), 2, "{mails_after:?}");
    let delivered: Vec<_> = mails
        .iter()
        .filter(|m| m.header("Subject").unwrap().contains("delivered"))
        .collect();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].to, ["hippo@example.com"]);
    assert!(delivered[0].data.contains(&format!("/track/{id}/{number}")));

    // The public page shows it too.
    let page = app
        .client
        .get(app.url(&format!("/track/{id}/{number}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Delivered"));
}

#[tokio::test]
async fn easypost_async_purchase_survives_a_429_and_refunds_stay_pending_until_easypost_decides() {
    let app = spawn_app().await;
    let fake = providers::easypost(EASYPOST_KEY).await;
    let id = easypost_account(&app, &fake, EASYPOST_KEY).await["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let shipment = rates_of(&app, &us_shipment(&id)).await;
    let ground = rate(&shipment, &id, "usps_ground_advantage").clone();

    // EasyPost answers 429 (Retry-After: 1) once: the purchase waits and goes through, once.
    fake.fail_next(1, 429, Some(1));
    let queued = buy(
        &app,
        json!({"rate": ground["object_id"], "label_file_type": "PDF_4x6"}),
    )
    .await;
    assert_eq!(queued["status"], "QUEUED");
    let path = format!("/transactions/{}", queued["object_id"].as_str().unwrap());
    let t = wait_for_status(&app, &path, "status", "SUCCESS").await;
    let calls = fake.calls("POST", "/buy");
    assert_eq!(calls.len(), 2, "the 429 and the retry");
    assert_eq!(
        calls[0].idempotency_key, calls[1].idempotency_key,
        "one key for both attempts"
    );
    assert_eq!(fake.buys(), 1);
    // PDF was asked for and EasyPost answered PNG: Consign asked EasyPost for the PDF link.
    assert_eq!(fake.calls("GET", "/label").len(), 1);
    assert!(t["label_url"].as_str().unwrap().starts_with(&app.base));

    // The label is followed by polling too (the fallback when no webhook comes): once due, the
    // poller asks EasyPost for the label's tracker and the recorded pre_transit events apply.
    {
        let mut conn = app.services.store.conn().await.unwrap();
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM tracks WHERE poll_at_ms IS NOT NULL")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        assert_eq!(n, 1, "the bought label's track is scheduled for polling");
        sqlx::query("UPDATE tracks SET poll_at_ms = 1")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    assert_eq!(service::tracking::poll_due(&app.services).await.unwrap(), 1);
    assert_eq!(
        fake.calls("GET", "/v2/trackers/trk_279431562ef84af89555e5c8a2029b2f")
            .len(),
        1
    );
    let tracked = expect(app.get(&path).await, StatusCode::OK).await;
    assert_eq!(tracked["tracking_status"], "PRE_TRANSIT", "{tracked}");

    // The refund: EasyPost answers "submitted", so the refund is PENDING and the label REFUNDPENDING.
    let refund = expect(
        app.post_json("/refunds", &json!({"transaction": t["object_id"]}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let rpath = format!("/refunds/{}", refund["object_id"].as_str().unwrap());
    wait_for_status(&app, &rpath, "status", "PENDING").await;
    assert_eq!(fake.calls("POST", "/refund").len(), 1);
    let t = expect(app.get(&path).await, StatusCode::OK).await;
    assert_eq!(t["status"], "REFUNDPENDING");
}

#[tokio::test]
async fn a_slow_or_refusing_provider_is_a_message_and_the_shipment_keeps_its_other_rates() {
    let app = spawn_app_with(Layer {
        rate_timeout_ms: Some(500),
        ..Default::default()
    })
    .await;
    let slow = providers::easypost(EASYPOST_KEY).await;
    slow.delay(Duration::from_secs(3));
    let slow_id = easypost_account(&app, &slow, EASYPOST_KEY).await["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let wrong = providers::easypost("EZTK_the_real_key").await;
    let wrong_id = easypost_account_as(&app, &wrong, "typo", true, "EZTK_a_typo").await
        ["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    // A live EasyPost account: real postage, so test-mode shipments never ask it.
    let live = providers::easypost("EZAK_live_key").await;
    let live_id = easypost_account_as(&app, &live, "live", false, "EZAK_live_key").await
        ["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let named = rates_of(&app, &us_shipment(&live_id)).await;
    assert!(named["rates"].as_array().unwrap().is_empty());
    assert!(
        named["messages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("buys real postage"),
        "{named}"
    );
    let mut body = us_shipment(&slow_id);
    body.as_object_mut().unwrap().remove("carrier_accounts");
    let started = std::time::Instant::now();
    let shipment = rates_of(&app, &body).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the slow provider is not waited for"
    );
    let messages = shipment["messages"].as_array().unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m["source"] == "EasyPost" && m["code"] == "carrier_timeout"),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m["source"] == "EasyPost"
            && m["text"]
                .as_str()
                .unwrap()
                .contains("EasyPost refused the API key")),
        "{messages:?}"
    );
    let rates = shipment["rates"].as_array().unwrap();
    assert!(!rates.is_empty(), "the test carrier still rates");
    assert!(rates
        .iter()
        .all(|r| r["carrier_account"] != slow_id.as_str()
            && r["carrier_account"] != wrong_id.as_str()));
    assert_eq!(wrong.buys(), 0);
    assert!(
        live.seen().is_empty(),
        "the live account was never asked: {:?}",
        live.seen()
    );

    // Accounts are checked when made: no key, a live key on a test account, a bad base URL.
    let bad = expect(
        app.post_json(
            "/carrier_accounts",
            &json!({"carrier": "easypost", "account_id": "x", "test": true,
                    "parameters": {"api_base": "ftp://example.com"}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["parameters.api_key"].is_array(), "{bad}");
    assert!(bad["fields"]["parameters.api_base"].is_array(), "{bad}");
    let live = expect(
        app.post_json(
            "/carrier_accounts",
            &json!({"carrier": "easypost", "account_id": "y", "test": true, "parameters": {"api_key": "EZAK_live"}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        live["fields"]["parameters.api_key"][0]
            .as_str()
            .unwrap()
            .contains("test key"),
        "{live}"
    );
}

#[tokio::test]
async fn several_parcels_become_an_easypost_order_and_manifests_are_refused() {
    let app = spawn_app().await;
    let fake = providers::easypost(EASYPOST_KEY).await;
    let id = easypost_account(&app, &fake, EASYPOST_KEY).await["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut body = us_shipment(&id);
    body["parcels"] = json!([parcel(), parcel()]);
    let shipment = rates_of(&app, &body).await;
    let ground = rate(&shipment, &id, "usps_ground_advantage");
    assert_eq!(ground["amount"], "11.74", "the order's summed rate");
    let sent = fake.calls("POST", "/v2/orders");
    assert_eq!(
        sent[0].body["order"]["shipments"].as_array().unwrap().len(),
        2
    );
    let t = buy(
        &app,
        json!({"rate": ground["object_id"], "label_file_type": "PNG", "async": false}),
    )
    .await;
    assert_eq!(t["status"], "SUCCESS", "{t}");
    assert_eq!(t["tracking_number"], "9400100208303109500713");
    let order_buy = fake.calls("POST", "/buy");
    assert_eq!(
        order_buy[0].body,
        json!({"carrier": "USPS", "service": "GroundAdvantage"})
    );
    assert!(
        t["messages"].as_array().unwrap().iter().any(|m| m["text"]
            .as_str()
            .unwrap()
            .contains("9434600208303109492683")),
        "{t}"
    );

    let refused = expect(
        app.post_json("/manifests", &json!({"carrier_account": id, "shipment_date": "2026-11-23T00:00:00Z", "address_from": us_from()})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        refused["fields"]["carrier_account"][0]
            .as_str()
            .unwrap()
            .contains("EasyPost does not support manifests"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_shippo_account_upstream_rates_sells_and_tracks_through_its_signed_webhook() {
    let app = spawn_app().await;
    let token = "shippo_test_upstream_token";
    let fake = providers::shippo(token).await;
    let secret = "whsec_from_shippo";
    let account = expect(
        app.post_json(
            "/carrier_accounts",
            &json!({"carrier": "shippo_upstream", "account_id": "my-shippo", "test": true,
                    "parameters": {"api_key": token, "api_base": fake.base, "webhook_secret": secret}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = account["object_id"].as_str().unwrap().to_string();
    let shipment = rates_of(&app, &us_shipment(&id)).await;
    let recorded = providers::find(
        &providers::cassette("shippo/python-client-cassettes/pickup/test_create.yaml"),
        "POST",
        "/shipments",
    )
    .json();
    let first = &recorded["rates"][0];
    let ours = rate(
        &shipment,
        &id,
        first["servicelevel"]["token"].as_str().unwrap(),
    );
    assert_eq!(ours["amount"], first["amount"]);
    assert_eq!(ours["provider"], first["provider"]);
    let sent = fake.calls("POST", "/shipments");
    assert_eq!(sent[0].authorization, format!("ShippoToken {token}"));
    assert_eq!(sent[0].body["async"], false);
    assert_eq!(sent[0].body["parcels"][0]["mass_unit"], "kg");

    let t = buy(&app, json!({"rate": ours["object_id"], "async": false})).await;
    assert_eq!(t["status"], "SUCCESS", "{t}");
    assert_eq!(t["tracking_number"], "92108901755477000000000018");
    assert_eq!(
        download(&app, t["label_url"].as_str().unwrap()).await.1,
        fake.label()
    );
    let bought = fake.calls("POST", "/transactions");
    assert_eq!(bought[0].body["rate"], first["object_id"]);
    assert!(bought[0]
        .idempotency_key
        .as_deref()
        .unwrap()
        .starts_with("consign-"));

    // Shippo's track_updated: the recorded Track (DELIVERED), for our label, hex-signed.
    let mut track =
        providers::cassette("shippo/python-client-cassettes/track/test_get_status.yaml")[0].json();
    track["tracking_number"] = json!("92108901755477000000000018");
    let body = serde_json::to_vec(&json!({"event": "track_updated", "test": true, "data": track}))
        .unwrap();
    let sign = |key: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(&body);
        hex::encode(mac.finalize().into_bytes())
    };
    let res = push(
        &app,
        &id,
        ("x-shippo-signature", &sign("whsec_forged")),
        &body,
    )
    .await;
    expect(res, StatusCode::UNAUTHORIZED).await;
    let res = push(&app, &id, ("x-shippo-signature", &sign(secret)), &body).await;
    let got = expect(res, StatusCode::OK).await;
    assert!(got["accepted"].as_u64().unwrap() >= 1, "{got}");
    let tx = expect(
        app.get(&format!(
            "/transactions/{}",
            t["object_id"].as_str().unwrap()
        ))
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tx["tracking_status"], "DELIVERED", "{tx}");
}

#[tokio::test]
async fn consign_as_the_upstream_of_another_consign() {
    // Upstream: a merchant account with its own courier; downstream: an account whose carrier is
    // the upstream Consign, reached through the Shippo adapter.
    let upstream = spawn_app_with(Layer {
        allow_private_network: Some(true),
        ..Default::default()
    })
    .await;
    let courier_id = courier(&upstream).await;
    let downstream = spawn_app_with(Layer {
        refund_recheck_s: Some(1),
        ..Default::default()
    })
    .await;
    let account = expect(
        downstream
            .post_json(
                "/carrier_accounts",
                &json!({"carrier": "shippo_upstream", "account_id": "our-other-consign", "test": true,
                        "parameters": {"api_key": upstream.token, "api_base": upstream.base}}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = account["object_id"].as_str().unwrap().to_string();
    // The upstream tells the downstream of tracking changes through a webhook to its events URL.
    let hook = expect(
        upstream
            .post_json(
                "/webhooks",
                &json!({"url": account["events_url"], "event": "track_updated"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    expect(
        downstream
            .client
            .put(downstream.url(&format!("/carrier_accounts/{id}")))
            .header("Authorization", format!("ShippoToken {}", downstream.token))
            .json(&json!({"parameters": {"api_key": account["parameters"]["api_key"], "api_base": upstream.base, "webhook_secret": hook["secret"]}}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;

    let mut to = porto();
    to["email"] = json!("ana@example.pt");
    let shipment = rates_of(
        &downstream,
        &json!({"address_from": lisboa(), "address_to": to, "parcels": [parcel()], "carrier_accounts": [id], "async": false}),
    )
    .await;
    let std = rate(&shipment, &id, "std");
    assert_eq!(
        std["provider"], "Correio Teste",
        "the upstream's courier: {shipment}"
    );
    assert_eq!(std["amount"], "6.90");
    let t = buy(
        &downstream,
        json!({"rate": std["object_id"], "label_file_type": "PDF_4x6", "async": false}),
    )
    .await;
    assert_eq!(t["status"], "SUCCESS", "{t}");
    let number = t["tracking_number"].as_str().unwrap().to_string();
    assert!(
        number.starts_with("CT") && number.ends_with("PT"),
        "{number}"
    );
    // The same label on both sides, byte for byte, served by each from its own store.
    let theirs = expect(upstream.get("/transactions").await, StatusCode::OK).await;
    let up_t = &theirs["results"][0];
    assert_eq!(up_t["tracking_number"], number.as_str());
    let ours = download(&downstream, t["label_url"].as_str().unwrap())
        .await
        .1;
    assert!(ours.starts_with(b"%PDF"));
    assert_eq!(
        ours,
        download(&upstream, up_t["label_url"].as_str().unwrap())
            .await
            .1
    );

    // The upstream's courier scans the parcel; the downstream hears it through the webhook.
    let key = expect(
        upstream
            .post_json(
                &format!("/carrier_accounts/{courier_id}/scan_keys"),
                &json!({}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let res = upstream
        .client
        .post(upstream.url("/scans"))
        .header("Authorization", format!("Bearer {key}"))
        .json(&json!({"tracking_number": number, "status": "DELIVERED", "substatus": "delivered", "occurred_at": "2026-11-21T11:30:00Z", "location": {"city": "Porto", "country": "PT"}}))
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::CREATED).await;
    let path = format!("/transactions/{}", t["object_id"].as_str().unwrap());
    wait_for_status(&downstream, &path, "tracking_status", "DELIVERED").await;

    // A second label to refund through the upstream (the first has been used).
    let shipment = rates_of(
        &downstream,
        &json!({"address_from": lisboa(), "address_to": porto(), "parcels": [parcel()], "carrier_accounts": [id], "async": false}),
    )
    .await;
    let t2 = buy(
        &downstream,
        json!({"rate": rate(&shipment, &id, "std")["object_id"], "async": false}),
    )
    .await;
    let refund = expect(
        downstream
            .post_json("/refunds", &json!({"transaction": t2["object_id"]}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let rpath = format!("/refunds/{}", refund["object_id"].as_str().unwrap());
    wait_for_status(&downstream, &rpath, "status", "SUCCESS").await;
    let t2 = expect(
        downstream
            .get(&format!(
                "/transactions/{}",
                t2["object_id"].as_str().unwrap()
            ))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(t2["status"], "REFUNDED");
    let up_refunds = expect(upstream.get("/refunds").await, StatusCode::OK).await;
    assert_eq!(
        up_refunds["results"][0]["status"], "SUCCESS",
        "refunded at the upstream too"
    );
}
