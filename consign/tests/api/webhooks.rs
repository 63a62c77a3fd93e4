//! Seed 002 "Webhooks": subscriptions, checked URLs, deliveries retried until a receiver that
//! was down comes back, the delivery log, redelivery by hand, and no delivery lost to kill -9.

use std::collections::BTreeSet;

use consign::config::Layer;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fakes::Receiver;
use crate::helpers::{expect, fresh_database, is_object_id, serve, spawn_app, spawn_app_with};

#[tokio::test]
async fn webhooks_are_created_listed_updated_and_deleted() {
    let app = spawn_app().await;
    let w = expect(
        app.post_json(
            "/webhooks",
            &json!({"url": "https://hooks.example.com/shippo", "event": "transaction_created"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(is_object_id(&w["object_id"]));
    assert_eq!(
        (
            w["event"].as_str(),
            w["active"].as_bool(),
            w["is_test"].as_bool()
        ),
        (Some("transaction_created"), Some(true), Some(true))
    );
    assert!(w["secret"].as_str().unwrap().starts_with("whsec_"));
    let id = w["object_id"].as_str().unwrap();

    let got = expect(app.get(&format!("/webhooks/{id}")).await, StatusCode::OK).await;
    assert_eq!(got["url"], "https://hooks.example.com/shippo");
    assert!(got.get("secret").is_none(), "the secret is shown once");
    let res = app
        .client
        .put(app.url(&format!("/webhooks/{id}")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .json(&json!({"event": "all", "active": false}))
        .send()
        .await
        .unwrap();
    let updated = expect(res, StatusCode::OK).await;
    assert_eq!(
        (updated["event"].as_str(), updated["active"].as_bool()),
        (Some("all"), Some(false))
    );
    assert_eq!(
        updated["url"], "https://hooks.example.com/shippo",
        "fields left out keep their value"
    );
    let list = expect(app.get("/webhooks").await, StatusCode::OK).await;
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["object_id"], id);

    // Another account sees none of it.
    let other = app.other_account_token(domain::account::Mode::Test).await;
    expect(
        app.get_as(&other, &format!("/webhooks/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Bad input names the field.
    let bad = expect(
        app.post_json(
            "/webhooks",
            &json!({"url": "ftp://example.com/x", "event": "parcel_lost"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        bad["fields"]["url"][0].as_str().unwrap().contains("http"),
        "{bad}"
    );
    assert!(
        bad["fields"]["event"][0]
            .as_str()
            .unwrap()
            .contains("track_updated"),
        "{bad}"
    );
    let bad = expect(
        app.post_json("/webhooks", &json!({"event": "all"})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(bad["fields"]["url"].is_array());

    let res = app
        .client
        .delete(app.url(&format!("/webhooks/{id}")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    expect(
        app.get(&format!("/webhooks/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(
        expect(app.get("/webhooks").await, StatusCode::OK).await["count"],
        0
    );
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed() {
    let app = spawn_app_with(Layer {
        allow_private_network: Some(false),
        ..Default::default()
    })
    .await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.0.0.5/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data",
    ] {
        let bad = expect(
            app.post_json("/webhooks", &json!({"url": url, "event": "all"}))
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(
            bad["fields"]["url"][0]
                .as_str()
                .unwrap()
                .contains("internal address"),
            "{url}: {bad}"
        );
    }
    expect(
        app.post_json(
            "/webhooks",
            &json!({"url": "https://hooks.example.com/x", "event": "all"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn a_receiver_that_was_down_gets_the_event_and_the_log_shows_every_attempt() {
    // Retry delays at 1 %: 0.1 s, 0.6 s, 3 s, …
    let app = spawn_app_with(Layer {
        webhook_retry_scale_percent: Some(1),
        ..Default::default()
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.answer(503);
    let w = expect(
        app.post_json(
            "/webhooks",
            &json!({"url": receiver.url, "event": "track_updated"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = w["object_id"].as_str().unwrap().to_string();
    expect(
        app.post_json(
            "/tracks",
            &json!({"carrier": "shippo", "tracking_number": "SHIPPO_DELIVERED"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    receiver.wait_until(20, |g| g.len() >= 2).await;
    receiver.answer(200);
    let got = receiver
        .wait_until(20, |g| g.iter().any(|r| r.answered == 200))
        .await;
    let delivery_ids: BTreeSet<&str> = got
        .iter()
        .map(|r| r.headers["consign-delivery"].as_str())
        .collect();
    assert_eq!(delivery_ids.len(), 1, "every attempt is the same delivery");
    let bodies: BTreeSet<&[u8]> = got.iter().map(|r| r.body.as_slice()).collect();
    assert_eq!(bodies.len(), 1, "every attempt sends the same bytes");

    // The log: each attempt with its status code and latency; DELIVERED.
    let log = wait_for_delivered(&app, &id).await;
    let d = &log["results"][0];
    let codes: Vec<Value> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].clone())
        .collect();
    assert_eq!(codes.len(), got.len());
    assert_eq!(codes.last().unwrap(), &json!(200));
    assert!(
        codes[..codes.len() - 1].iter().all(|c| c == &json!(503)),
        "{codes:?}"
    );
    assert!(d["attempts"][0]["latency_ms"].as_i64().unwrap() >= 0);
    assert_eq!(
        serde_json::from_str::<Value>(d["payload"].as_str().unwrap()).unwrap()["data"]
            ["tracking_number"],
        "SHIPPO_DELIVERED"
    );

    // Redelivery by hand: a new attempt with the same delivery id.
    let delivery = d["object_id"].as_str().unwrap();
    let again = expect(
        app.post_json(
            &format!("/webhooks/{id}/deliveries/{delivery}/redeliver"),
            &json!({}),
        )
        .await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(again["status"], "PENDING");
    let more = receiver.wait_until(20, |g| g.len() > got.len()).await;
    assert_eq!(more.last().unwrap().headers["consign-delivery"], delivery);
    let one = loop {
        let one = expect(
            app.get(&format!("/webhooks/{id}/deliveries/{delivery}"))
                .await,
            StatusCode::OK,
        )
        .await;
        if one["status"] == "DELIVERED" {
            break one;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(one["attempts"].as_array().unwrap().len(), got.len() + 1);
    expect(
        app.get(&format!(
            "/webhooks/{id}/deliveries/00000000000000000000000000000000"
        ))
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn wait_for_delivered(app: &crate::helpers::TestApp, webhook: &str) -> Value {
    for _ in 0..200 {
        let log = expect(
            app.get(&format!("/webhooks/{webhook}/deliveries")).await,
            StatusCode::OK,
        )
        .await;
        if log["results"][0]["status"] == "DELIVERED" {
            return log;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the delivery never reached DELIVERED");
}

/// On PostgreSQL a crashed worker's deliveries are picked up again after 2 s.
const LEASE_2S: &[(&str, &str)] = &[("CONSIGN_JOB_LEASE_S", "2")];

#[tokio::test]
async fn kill_9_in_the_middle_of_deliveries_loses_none() {
    let data_dir = std::env::temp_dir().join(format!("consign-kill-{}", domain::ObjectId::new()));
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::write(data_dir.join("fresh"), b"").unwrap();
    let database_url = fresh_database(&data_dir).await;
    let (mut first, base, token) = serve(&database_url, &data_dir, LEASE_2S);
    let token = token.expect("the first start prints the demo token");
    let client = reqwest::Client::new();
    let receiver = Receiver::start().await;
    receiver.slow(300);
    let res = client
        .post(format!("{base}/webhooks"))
        .header("Authorization", format!("ShippoToken {token}"))
        .json(&json!({"url": receiver.url, "event": "track_updated"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    // 40 registrations of a test number: 40 deliveries, written with the changes that caused them.
    const N: usize = 40;
    for _ in 0..N {
        let res = client
            .post(format!("{base}/tracks"))
            .header("Authorization", format!("ShippoToken {token}"))
            .json(&json!({"carrier": "shippo", "tracking_number": "SHIPPO_TRANSIT"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Deliveries are under way (the receiver takes 300 ms each): kill -9 now.
    receiver.wait_until(20, |g| !g.is_empty()).await;
    first.0.kill().unwrap(); // SIGKILL
    first.0.wait().unwrap();
    let before: BTreeSet<String> = receiver
        .got()
        .iter()
        .map(|r| r.headers["consign-delivery"].clone())
        .collect();
    assert!(
        before.len() < N,
        "the kill came before every delivery was done ({} of {N})",
        before.len()
    );

    std::fs::remove_file(data_dir.join("fresh")).unwrap();
    let (_second, _, _) = serve(&database_url, &data_dir, LEASE_2S);
    receiver.slow(0);
    let got = receiver
        .wait_until(60, |g| {
            g.iter()
                .map(|r| &r.headers["consign-delivery"])
                .collect::<BTreeSet<_>>()
                .len()
                >= N
        })
        .await;
    let ids: BTreeSet<&String> = got.iter().map(|r| &r.headers["consign-delivery"]).collect();
    assert_eq!(ids.len(), N, "every delivery arrived, none lost");
    for r in &got {
        assert_eq!(r.json()["data"]["tracking_number"], "SHIPPO_TRANSIT");
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn purchases_and_refunds_send_transaction_events() {
    use crate::labels::{rate_for, us_from, us_to};
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    expect(
        app.post_json("/webhooks", &json!({"url": receiver.url, "event": "all"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let shipment = || json!({"address_from": us_from(), "address_to": us_to(), "parcels": [{"length": "10", "width": "8", "height": "4", "distance_unit": "in", "weight": "2", "mass_unit": "lb"}]});

    // Bought at once: transaction_created in the purchase's own transaction.
    let rate = rate_for(&app, shipment(), "usps_priority").await;
    let t = expect(
        app.post_json("/transactions", &json!({"rate": rate, "async": false}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = t["object_id"].as_str().unwrap().to_string();
    // Bought in the background: transaction_created when the job has made the label.
    let rate2 = rate_for(&app, shipment(), "usps_priority").await;
    let queued = expect(
        app.post_json("/transactions", &json!({"rate": rate2}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(queued["status"], "QUEUED");
    let got = receiver.wait_until(20, |g| g.len() >= 2).await;
    let created: Vec<Value> = got
        .iter()
        .map(|r| r.json())
        .filter(|p| p["event"] == "transaction_created")
        .collect();
    assert_eq!(created.len(), 2, "{created:?}");
    for p in &created {
        assert_eq!(p["data"]["status"], "SUCCESS");
        assert!(p["data"]["label_url"]
            .as_str()
            .unwrap()
            .contains("signature="));
        assert!(p["data"]["tracking_number"]
            .as_str()
            .is_some_and(|n| !n.is_empty()));
        assert!(p["data"].get("created_by").is_some());
    }
    let ids: BTreeSet<&str> = created
        .iter()
        .map(|p| p["data"]["object_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(id.as_str()) && ids.contains(queued["object_id"].as_str().unwrap()));
    // A label downloads through the link in the payload, without a token.
    let link = created[0]["data"]["label_url"].as_str().unwrap();
    assert_eq!(
        app.client.get(link).send().await.unwrap().status(),
        StatusCode::OK
    );

    // A refund settles: transaction_updated with the label REFUNDED.
    expect(
        app.post_json("/refunds", &json!({"transaction": id})).await,
        StatusCode::CREATED,
    )
    .await;
    let got = receiver
        .wait_until(20, |g| {
            g.iter().any(|r| r.json()["event"] == "transaction_updated")
        })
        .await;
    let updated = got
        .iter()
        .map(|r| r.json())
        .find(|p| p["event"] == "transaction_updated")
        .unwrap();
    assert_eq!(updated["data"]["object_id"], id.as_str());
    assert_eq!(updated["data"]["status"], "REFUNDED");
}

#[tokio::test]
async fn a_slow_receiver_does_not_hold_up_other_deliveries() {
    let app = spawn_app().await;
    let (slow, fast) = (Receiver::start().await, Receiver::start().await);
    slow.slow(4000);
    for r in [&slow, &fast] {
        expect(
            app.post_json(
                "/webhooks",
                &json!({"url": r.url, "event": "track_updated"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let body = json!({"carrier": "shippo", "tracking_number": "SHIPPO_TRANSIT"});
    let register = || app.post_json("/tracks", &body);
    expect(register().await, StatusCode::OK).await;
    fast.wait_until(10, |g| !g.is_empty()).await;
    // The slow receiver still holds its first delivery; the next event reaches the fast one at once.
    let started = std::time::Instant::now();
    expect(register().await, StatusCode::OK).await;
    fast.wait_until(10, |g| g.len() >= 2).await;
    assert!(
        started.elapsed() < std::time::Duration::from_millis(2500),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        slow.got().is_empty(),
        "the slow receiver has not answered yet"
    );
}
