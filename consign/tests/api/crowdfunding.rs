//! Crowdfunding fulfilment (seed 000): a backer report imported into a project, the seed's
//! custom API with a project key (its examples as printed, its error table), exactly one
//! dispatch email per backer (also under 50 concurrent reports), and the native sync into
//! fake EasyPost and Shippo accounts with their signed webhooks back.

use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use unicode_normalization::UnicodeNormalization;

use crate::fakes::SmtpServer;
use crate::helpers::{expect, shawn, spawn_app_with, TestApp};
use crate::providers;

const HEADER: &str = "Backer Number,Backer UID,Backer Name,Email,Shipping Country,Reward Title,Pledge Amount,Pledged At,Shipping Name,Shipping Address 1,Shipping Address 2,Shipping City,Shipping State,Shipping Postal Code,Shipping Country Code,Shipping Phone Number";

/// The seed's backer (Alex Smith, Portland) and two who will not ship: one without an address,
/// one with a postal code the US does not have.
fn report() -> String {
    format!(
        "{HEADER}\n\
1,xyz789,Alex Smith,backer@example.com,US,Standard Edition,$30.00,\"2026/05/25, 10:00\",Alex Smith,123 Main St,,Portland,OR,97201,US,\n\
2,pl-2,Sam Jones,sam@example.com,US,Deluxe Edition,$60.00,\"2026/05/26, 09:30\",,,,,,,,\n\
3,pl-3,Kim Lee,kim@example.com,US,Standard Edition,$30.00,\"2026/05/27, 08:00\",Kim Lee,9 Elm St,Apt 2,Salem,OR,ABCDE,US,\n"
    )
}

async fn app_with_mail() -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(consign::config::Layer {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(smtp.port),
        smtp_tls: Some("none".into()),
        smtp_from: Some("Board Game Co <ship@boardgame.example>".into()),
        ..Default::default()
    })
    .await;
    (app, smtp)
}

async fn project(app: &TestApp, name: &str) -> Value {
    let body = json!({"name": name, "reward_weight": {"weight": "1.5", "mass_unit": "lb"}});
    expect(app.post_json("/projects", &body).await, StatusCode::CREATED).await
}

async fn import(app: &TestApp, project: &str, what: &str, query: &str, csv: &str) -> Value {
    let res = app
        .client
        .post(app.url(&format!("/projects/{project}/{what}/import{query}")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await
}

async fn key(app: &TestApp, project: &str) -> String {
    let k = expect(
        app.post_json(&format!("/projects/{project}/keys"), &json!({}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    k["key"].as_str().unwrap().to_string()
}

async fn seed_get(app: &TestApp, key: Option<&str>, query: &str) -> reqwest::Response {
    let mut req = app
        .client
        .get(app.url(&format!("/api/shipping/orders{query}")));
    if let Some(k) = key {
        req = req.header("Authorization", format!("Bearer {k}"));
    }
    req.send().await.unwrap()
}

async fn seed_track(app: &TestApp, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/shipping/tracking"))
        .json(body);
    if let Some(k) = key {
        req = req.header("Authorization", format!("Bearer {k}"));
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_backer_report_and_the_seeds_custom_api_as_printed_with_one_dispatch_email() {
    let (app, smtp) = app_with_mail().await;
    let p = project(&app, "Board Game").await;
    let id = p["object_id"].as_str().unwrap().to_string();
    assert_eq!(
        p["webhook_urls"]["easypost"],
        json!(app.url(&format!("/api/fulfillment/easypost/{id}")))
    );
    // Before any key exists: 403, as the seed's table says.
    let res = seed_get(&app, None, &format!("?project={id}")).await;
    let body = expect(res, StatusCode::FORBIDDEN).await;
    assert!(
        body["detail"].as_str().unwrap().contains("No API key"),
        "{body}"
    );

    // Dry run: the report, nothing stored.
    let dry = import(&app, &id, "backers", "?dry_run=true", &report()).await;
    assert_eq!(
        (
            dry["rows"].as_u64(),
            dry["created"].as_u64(),
            dry["shippable"].as_u64()
        ),
        (Some(3), Some(3), Some(1)),
        "{dry}"
    );
    let not: Vec<&str> = dry["not_shippable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["pledge_id"].as_str().unwrap())
        .collect();
    assert_eq!(not, ["pl-2", "pl-3"], "{dry}");
    assert!(dry["not_shippable"][0]["message"]
        .as_str()
        .unwrap()
        .contains("street address"));
    let view = expect(app.get(&format!("/projects/{id}")).await, StatusCode::OK).await;
    assert_eq!(view["counts"]["pledges"], 0, "{view}");

    let done = import(&app, &id, "backers", "", &report()).await;
    assert_eq!(
        (done["created"].as_u64(), done["shippable"].as_u64()),
        (Some(3), Some(1))
    );
    // Again: nothing new, nothing duplicated.
    let again = import(&app, &id, "backers", "", &report()).await;
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(3)),
        "{again}"
    );

    let k = key(&app, &id).await;
    assert!(k.starts_with("cpk_"));
    // Keys are listed by prefix only.
    let view = expect(app.get(&format!("/projects/{id}")).await, StatusCode::OK).await;
    assert_eq!(view["counts"]["pledges"], 3);
    assert!(!view.to_string().contains(&k));
    // 401 without or with a wrong key.
    expect(
        seed_get(&app, Some("cpk_wrong"), &format!("?project={id}")).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // 400 naming the missing parameter.
    let e = expect(seed_get(&app, Some(&k), "").await, StatusCode::BAD_REQUEST).await;
    assert!(e["fields"]["project"].is_array(), "{e}");
    // 404 for a project the key is not for.
    let other = project(&app, "Other").await;
    let other_id = other["object_id"].as_str().unwrap();
    expect(
        seed_get(&app, Some(&k), &format!("?project={other_id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // The seed's example, as printed (host changed): exactly its shape.
    let res = seed_get(&app, Some(&k), &format!("?project={id}&status=pending")).await;
    let got = expect(res, StatusCode::OK).await;
    let order_id = got["orders"][0]["orderId"].as_str().unwrap().to_string();
    assert_eq!(
        got,
        json!({"total": 1, "orders": [{
            "orderId": order_id, "pledgeId": "xyz789", "backerEmail": "backer@example.com",
            "tierName": "Standard Edition", "orderDate": "2026-05-25T10:00:00.000Z",
            "shipTo": {"name": "Alex Smith", "line1": "123 Main St", "line2": null, "city": "Portland",
                       "state": "OR", "postalCode": "97201", "country": "US"}}]})
    );
    // Paging keeps the shape.
    let paged = expect(
        seed_get(&app, Some(&k), &format!("?project={id}&limit=1&offset=1")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(paged, json!({"total": 1, "orders": []}));
    let e = expect(
        seed_get(&app, Some(&k), &format!("?project={id}&limit=0")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(e["fields"]["limit"].is_array(), "{e}");

    // The tracking errors: 400 naming each parameter, 404 for an order not the project's.
    let seed_body = json!({"orderId": order_id, "trackingNumber": "1Z999AA10123456784", "carrier": "UPS", "status": "shipped"});
    for (missing, name) in [
        ("orderId", "orderId"),
        ("trackingNumber", "trackingNumber"),
        ("carrier", "carrier"),
        ("status", "status"),
    ] {
        let mut b = seed_body.clone();
        b.as_object_mut().unwrap().remove(missing);
        let e = expect(
            seed_track(&app, Some(&k), &b).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(e["fields"][name].is_array(), "{missing}: {e}");
    }
    let mut b = seed_body.clone();
    b["status"] = json!("lost");
    let e = expect(
        seed_track(&app, Some(&k), &b).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        e["fields"]["status"][0]
            .as_str()
            .unwrap()
            .contains("shipped"),
        "{e}"
    );
    let mut b = seed_body.clone();
    b["orderId"] = json!(other_id);
    expect(seed_track(&app, Some(&k), &b).await, StatusCode::NOT_FOUND).await;
    expect(
        seed_track(&app, None, &seed_body).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // The seed's curl: the first `shipped` emails the backer; repeats and `delivered` do not.
    let first = expect(seed_track(&app, Some(&k), &seed_body).await, StatusCode::OK).await;
    assert_eq!(
        (first["emailSent"].as_bool(), first["carrier"].as_str()),
        (Some(true), Some("UPS")),
        "{first}"
    );
    assert_eq!(
        (first["emailQueued"].as_bool(), first["email"].as_str()),
        (Some(true), Some("queued")),
        "{first}"
    );
    let mut lower = seed_body.clone();
    lower["carrier"] = json!("United Parcel Service");
    let repeat = expect(seed_track(&app, Some(&k), &lower).await, StatusCode::OK).await;
    assert_eq!(
        (repeat["emailSent"].as_bool(), repeat["changed"].as_bool()),
        (Some(false), Some(false)),
        "{repeat}"
    );
    assert_eq!(
        (repeat["emailQueued"].as_bool(), repeat["email"].as_str()),
        (Some(false), Some("not_queued")),
        "{repeat}"
    );
    let mut delivered = seed_body.clone();
    delivered["status"] = json!("delivered");
    let d = expect(seed_track(&app, Some(&k), &delivered).await, StatusCode::OK).await;
    assert_eq!(
        (d["emailSent"].as_bool(), d["status"].as_str()),
        (Some(false), Some("delivered"))
    );
    // A late "shipped" does not undo delivery.
    let late = expect(seed_track(&app, Some(&k), &seed_body).await, StatusCode::OK).await;
    assert_eq!(late["status"], "delivered");

    let pending = expect(
        seed_get(&app, Some(&k), &format!("?project={id}&status=pending")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(pending, json!({"total": 0, "orders": []}));
    let all = expect(
        seed_get(&app, Some(&k), &format!("?project={id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(all["total"], 1);
    let order = expect(
        app.get(&format!("/orders/{order_id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            order["consign_status"].as_str(),
            order["order_status"].as_str()
        ),
        (Some("DELIVERED"), Some("SHIPPED")),
        "{order}"
    );

    let mails = smtp.wait_for(1, 10).await;
    crate::helpers::settled(&app.database_url).await;
    let mails = if smtp.mails().len() > mails.len() {
        smtp.mails()
    } else {
        mails
    };
    assert_eq!(mails.len(), 1, "exactly one dispatch email");
    assert_eq!(mails[0].to, vec!["backer@example.com".to_string()]);
    assert!(mails[0].header("Subject").unwrap().contains("Board Game"));
    assert!(
        mails[0]
            .data
            .contains("https://www.ups.com/track?tracknum=1Z999AA10123456784"),
        "{}",
        mails[0].data
    );

    // Re-import with a moved backer: updated; then locked, a further move is refused by row.
    let moved = report().replace(
        "123 Main St,,Portland,OR,97201",
        "500 Oak Ave,Suite 5,Portland,OR,97205",
    );
    let r = import(&app, &id, "backers", "", &moved).await;
    assert_eq!(r["updated"], 1, "{r}");
    let got = expect(
        seed_get(&app, Some(&k), &format!("?project={id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            got["orders"][0]["shipTo"]["line2"].as_str(),
            got["orders"][0]["orderId"].as_str()
        ),
        (Some("Suite 5"), Some(order_id.as_str()))
    );
    let locked = expect(
        app.client
            .put(app.url(&format!("/projects/{id}")))
            .header("Authorization", format!("ShippoToken {}", app.token))
            .json(&json!({"lock_addresses": true}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(locked["addresses_locked"], true);
    let again = report().replace(
        "123 Main St,,Portland,OR,97201",
        "1 Pine Rd,,Eugene,OR,97401",
    );
    let r = import(&app, &id, "backers", "", &again).await;
    assert_eq!(r["rejections"][0]["pledge_id"], "xyz789", "{r}");
    assert!(
        r["rejections"][0]["message"]
            .as_str()
            .unwrap()
            .contains("locked"),
        "{r}"
    );

    // Rotating revokes the old key.
    let k2 = expect(
        app.post_json(&format!("/projects/{id}/keys"), &json!({"rotate": true}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    expect(
        seed_get(&app, Some(&k), &format!("?project={id}")).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    expect(
        seed_get(&app, k2["key"].as_str(), &format!("?project={id}")).await,
        StatusCode::OK,
    )
    .await;
    // Another account cannot see the project.
    let stranger = app.other_account(consign_mode()).await;
    expect(
        stranger.get(&format!("/projects/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

fn consign_mode() -> domain::account::Mode {
    domain::account::Mode::Test
}

#[tokio::test]
async fn fifty_simultaneous_shipped_reports_send_one_email_and_a_tracking_csv_the_rest() {
    let (app, smtp) = app_with_mail().await;
    let id = project(&app, "Race").await["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let two = format!(
        "{HEADER}\n1,a-1,Ann,ann@example.com,US,Std,$1,\"2026/05/25, 10:00\",Ann,1 Main St,,Portland,OR,97201,US,\n\
2,a-2,Bo,bo@example.com,US,Std,$1,\"2026/05/25, 11:00\",Bo,2 Main St,,Portland,OR,97201,US,\n"
    );
    import(&app, &id, "backers", "", &two).await;
    let k = key(&app, &id).await;
    let list = expect(
        seed_get(&app, Some(&k), &format!("?project={id}")).await,
        StatusCode::OK,
    )
    .await;
    let order = list["orders"][0]["orderId"].as_str().unwrap().to_string();
    let body = json!({"orderId": order, "trackingNumber": "9400111899223197428490", "carrier": "usps", "status": "shipped"});
    let calls = (0..50).map(|_| seed_track(&app, Some(&k), &body));
    let answers = futures_util::future::join_all(calls).await;
    let mut sent = 0;
    for a in answers {
        let v = expect(a, StatusCode::OK).await;
        if v["emailSent"] == true {
            sent += 1;
        }
    }
    assert_eq!(sent, 1, "one of 50 concurrent reports queues the email");
    // The second backer by tracking CSV (pledge id), dry first.
    let csv = "pledgeId,carrier,trackingNumber\na-2,FedEx,7712 3456 7890\na-9,FedEx,1\n";
    let dry = import(&app, &id, "tracking", "?dry_run=true", csv).await;
    assert_eq!(
        (dry["updated"].as_u64(), dry["dispatch_emails"].as_u64()),
        (Some(1), Some(1)),
        "{dry}"
    );
    assert_eq!(dry["rejections"][0]["row"], 3, "{dry}");
    let done = import(&app, &id, "tracking", "", csv).await;
    assert_eq!(done["dispatch_emails"], 1, "{done}");
    let again = import(&app, &id, "tracking", "", csv).await;
    assert_eq!(
        (
            again["dispatch_emails"].as_u64(),
            again["unchanged"].as_u64()
        ),
        (Some(0), Some(1)),
        "{again}"
    );
    let mails = smtp.wait_for(2, 10).await;
    crate::helpers::settled(&app.database_url).await;
    assert_eq!(
        smtp.mails().len(),
        2,
        "{:?}",
        mails.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    let fedex = mails
        .iter()
        .find(|m| m.to == vec!["bo@example.com".to_string()])
        .unwrap();
    assert!(
        fedex
            .data
            .contains("https://www.fedex.com/fedextrack/?trknbr=771234567890"),
        "{}",
        fedex.data
    );
}

fn easypost_signed(secret: &str, shipment: &str, number: &str, status: &str) -> (Vec<u8>, String) {
    let raw = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../testdata/fixtures/easypost/event-body.json"),
    )
    .unwrap();
    let mut event: Value = serde_json::from_slice(&raw).unwrap();
    event["id"] = json!(format!("evt_{shipment}_{status}"));
    event["result"]["shipment_id"] = json!(shipment);
    event["result"]["tracking_code"] = json!(number);
    event["result"]["status"] = json!(status);
    let body = serde_json::to_vec(&event).unwrap();
    let key: String = secret.nfkd().collect();
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

async fn wait_sync(app: &TestApp, project: &str, sync: &Value) -> Value {
    let path = format!(
        "/projects/{project}/syncs/{}",
        sync["object_id"].as_str().unwrap()
    );
    for _ in 0..100 {
        let s = expect(app.get(&path).await, StatusCode::OK).await;
        if s["status"] == "DONE" {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sync did not finish");
}

#[tokio::test]
async fn syncs_into_easypost_and_shippo_and_their_signed_events_email_each_backer_once() {
    let (app, smtp) = app_with_mail().await;
    // EasyPost, with the fixture's non-ASCII secret.
    let ep = providers::easypost("EZTK_creator").await;
    let id = project(&app, "Dice").await["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = "s\u{e9}cret";
    let before = expect(
        app.post_json(&format!("/projects/{id}/sync"), &json!({}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        before["detail"]
            .as_str()
            .unwrap()
            .contains("Connect a provider"),
        "{before}"
    );
    let linked = app
        .client
        .put(app.url(&format!("/projects/{id}/provider")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .json(&json!({"provider": "easypost", "api_key": "EZTK_creator", "webhook_secret": secret, "base_url": ep.base, "return_address": shawn()}))
        .send()
        .await
        .unwrap();
    let linked = expect(linked, StatusCode::OK).await;
    assert!(
        !linked.to_string().contains("EZTK_creator"),
        "the key is never echoed"
    );
    assert_eq!(linked["provider"]["provider"], "easypost");
    let two = format!(
        "{HEADER}\n1,e-1,Ann,ann@example.com,US,Std,$1,\"2026/05/25, 10:00\",Ann,1 Main St,,Portland,OR,97201,US,\n\
2,e-2,Bo,bo@example.com,US,Std,$1,\"2026/05/25, 11:00\",Bo,2 Main St,,Portland,OR,97201,US,\n"
    );
    import(&app, &id, "backers", "", &two).await;
    let sync = expect(
        app.post_json(&format!("/projects/{id}/sync"), &json!({}))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let s = wait_sync(&app, &id, &sync).await;
    assert_eq!(
        (
            s["created"].as_u64(),
            s["skipped"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(2), Some(0), Some(0)),
        "{s}"
    );
    let pushed = ep.calls("POST", "/v2/shipments");
    assert_eq!(pushed.len(), 2);
    assert_eq!(
        pushed[0].body["shipment"]["parcel"]["weight"].as_f64(),
        Some(24.0),
        "1.5 lb in ounces: {:?}",
        pushed[0].body
    );
    let refs: Vec<String> = pushed
        .iter()
        .map(|c| {
            c.body["shipment"]["reference"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // A second sync creates nothing; a moved backer is pushed again.
    let s2 = wait_sync(
        &app,
        &id,
        &expect(
            app.post_json(&format!("/projects/{id}/sync"), &json!({}))
                .await,
            StatusCode::ACCEPTED,
        )
        .await,
    )
    .await;
    assert_eq!(
        (s2["created"].as_u64(), s2["skipped"].as_u64()),
        (Some(0), Some(2)),
        "{s2}"
    );
    import(
        &app,
        &id,
        "backers",
        "",
        &two.replace("2 Main St", "7 Side St"),
    )
    .await;
    let s3 = wait_sync(
        &app,
        &id,
        &expect(
            app.post_json(&format!("/projects/{id}/sync"), &json!({}))
                .await,
            StatusCode::ACCEPTED,
        )
        .await,
    )
    .await;
    assert_eq!(
        (s3["updated"].as_u64(), s3["skipped"].as_u64()),
        (Some(1), Some(1)),
        "{s3}"
    );
    assert_eq!(ep.calls("POST", "/v2/shipments").len(), 3);

    // The provider's signed tracker event for the first backer's shipment.
    let hook = format!("/api/fulfillment/easypost/{id}");
    let (body, sig) = easypost_signed(
        secret,
        &format!("shp_{}", refs[0]),
        "EZ1000000001",
        "in_transit",
    );
    let post = |body: Vec<u8>, name: &'static str, sig: String| {
        app.client
            .post(app.url(&hook))
            .header(name, sig)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = expect(
        post(body.clone(), "X-Hmac-Signature-256", sig.clone())
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (r["matched"].as_u64(), r["duplicates"].as_u64()),
        (Some(1), Some(0)),
        "{r}"
    );
    // A replay changes nothing; a forged one is refused; an unknown project is 404.
    let r = expect(
        post(body.clone(), "X-Hmac-Signature", sig.clone())
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(r["duplicates"], 1);
    expect(
        post(
            body.clone(),
            "X-Hmac-Signature",
            "hmac-sha256-hex=00".into(),
        )
        .await
        .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let res = app
        .client
        .post(app.url(&format!(
            "/api/fulfillment/easypost/{}",
            domain::ObjectId::new()
        )))
        .header("X-Hmac-Signature", sig.clone())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::NOT_FOUND).await;
    // Delivered later: no second email.
    let (body, sig) = easypost_signed(
        secret,
        &format!("shp_{}", refs[0]),
        "EZ1000000001",
        "delivered",
    );
    expect(
        post(body, "X-Hmac-Signature", sig).await.unwrap(),
        StatusCode::OK,
    )
    .await;
    // An event for a shipment no backer has is kept and listed.
    let (body, sig) = easypost_signed(secret, "shp_unknown", "EZ9999999999", "in_transit");
    let r = expect(
        post(body, "X-Hmac-Signature", sig).await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(r["unmatched"], 1);
    let listed = expect(
        app.get(&format!("/projects/{id}/events?unmatched=true"))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["results"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["results"][0]["tracking_number"], "EZ9999999999");

    // Shippo: an order per backer, its track_updated webhook matched by the pledge id.
    let sh = providers::shippo("shippo_test_creator").await;
    let sid = project(&app, "Cards").await["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let linked = app
        .client
        .put(app.url(&format!("/projects/{sid}/provider")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .json(&json!({"provider": "shippo", "api_key": "shippo_test_creator", "webhook_secret": "whsec_cards", "base_url": sh.base, "return_address": shawn()}))
        .send()
        .await
        .unwrap();
    expect(linked, StatusCode::OK).await;
    let one = format!("{HEADER}\n1,s-1,Cy,cy@example.com,US,Std,$1,\"2026/05/25, 10:00\",Cy,3 Main St,,Portland,OR,97201,US,\n");
    import(&app, &sid, "backers", "", &one).await;
    let s = wait_sync(
        &app,
        &sid,
        &expect(
            app.post_json(&format!("/projects/{sid}/sync"), &json!({}))
                .await,
            StatusCode::ACCEPTED,
        )
        .await,
    )
    .await;
    assert_eq!(s["created"], 1, "{s}");
    let orders = sh.calls("POST", "/orders");
    assert_eq!(orders[0].body["order_number"], "s-1");
    assert_eq!(orders[0].authorization, "ShippoToken shippo_test_creator");
    let event = json!({"event": "track_updated", "test": true, "data": {"carrier": "usps", "tracking_number": "92055901755477000000000015", "metadata": "Order #s-1", "tracking_status": {"status": "TRANSIT"}}});
    let body = serde_json::to_vec(&event).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_cards").unwrap();
    mac.update(&body);
    let sig = hex::encode(mac.finalize().into_bytes());
    let shook = format!("/api/fulfillment/shippo/{sid}");
    let res = app
        .client
        .post(app.url(&shook))
        .header("X-Shippo-Signature", &sig)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let r = expect(res, StatusCode::OK).await;
    assert_eq!(r["matched"], 1, "{r}");
    let res = app
        .client
        .post(app.url(&shook))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::UNAUTHORIZED).await;
    // The EasyPost URL of a Shippo project is not this project's.
    let res = app
        .client
        .post(app.url(&format!("/api/fulfillment/easypost/{sid}")))
        .header("X-Hmac-Signature", "x")
        .body(body)
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::NOT_FOUND).await;

    let mails = smtp.wait_for(2, 10).await;
    crate::helpers::settled(&app.database_url).await;
    let all = smtp.mails();
    assert_eq!(
        all.len(),
        2,
        "one per backer whose parcel moved: {:?}",
        all.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    let to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    assert!(
        to.contains(&"ann@example.com".to_string()) && to.contains(&"cy@example.com".to_string()),
        "{to:?}"
    );
    let usps = all
        .iter()
        .find(|m| m.to == vec!["cy@example.com".to_string()])
        .unwrap();
    assert!(usps.data.contains("tools.usps.com"), "{}", usps.data);
}

/// Issue 21: a US backer who left out the ZIP code or the state has not completed the address
/// form (the US requires both): not listed, not counted shippable, not pushed to the provider,
/// and named under `not_shippable` with the missing field. A backer who was complete and is
/// re-imported without a ZIP keeps the order made earlier but stops being shippable.
#[tokio::test]
async fn a_us_backer_without_zip_or_state_is_not_shippable_listed_or_pushed() {
    let app = crate::helpers::spawn_app().await;
    let ep = providers::easypost("EZTK_creator").await;
    let id = project(&app, "Zipless").await["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let linked = app
        .client
        .put(app.url(&format!("/projects/{id}/provider")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .json(&json!({"provider": "easypost", "api_key": "EZTK_creator", "webhook_secret": "s", "base_url": ep.base, "return_address": shawn()}))
        .send()
        .await
        .unwrap();
    expect(linked, StatusCode::OK).await;
    let csv = format!(
        "{HEADER}\n1,z-1,Ann,ann@example.com,US,Std,$1,\"2026/05/25, 10:00\",Ann,1 Main St,,Portland,OR,97201,US,\n\
2,z-2,Bo,bo@example.com,US,Std,$1,\"2026/05/25, 11:00\",Bo,2 Main St,,Portland,OR,,US,\n\
3,z-3,Cy,cy@example.com,US,Std,$1,\"2026/05/25, 12:00\",Cy,3 Main St,,Portland,,97201,US,\n"
    );
    let r = import(&app, &id, "backers", "", &csv).await;
    assert_eq!(r["shippable"], 1, "{r}");
    let not: Vec<(String, String)> = r["not_shippable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["pledge_id"].as_str().unwrap().to_string(),
                n["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(not.len(), 2, "{r}");
    assert_eq!(not[0].0, "z-2");
    assert!(not[0].1.starts_with("ship_postal_code:"), "{r}");
    assert_eq!(not[1].0, "z-3");
    assert!(not[1].1.starts_with("ship_state:"), "{r}");

    let k = key(&app, &id).await;
    let list = expect(
        seed_get(&app, Some(&k), &format!("?project={id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["orders"][0]["pledgeId"], "z-1", "{list}");
    let view = expect(app.get(&format!("/projects/{id}")).await, StatusCode::OK).await;
    assert_eq!(
        (
            view["counts"]["pledges"].as_u64(),
            view["counts"]["shippable"].as_u64()
        ),
        (Some(3), Some(1)),
        "{view}"
    );
    let sync = expect(
        app.post_json(&format!("/projects/{id}/sync"), &json!({}))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    let s = wait_sync(&app, &id, &sync).await;
    assert_eq!(
        (s["created"].as_u64(), s["failed"].as_u64()),
        (Some(1), Some(0)),
        "{s}"
    );
    let pushed = ep.calls("POST", "/v2/shipments");
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].body["shipment"]["to_address"]["zip"], "97201");

    // The complete backer re-imported without a ZIP: no longer listed nor counted.
    let r = import(
        &app,
        &id,
        "backers",
        "",
        &csv.replace("Portland,OR,97201,US,\n2", "Portland,OR,,US,\n2"),
    )
    .await;
    assert_eq!(
        (r["shippable"].as_u64(), r["updated"].as_u64()),
        (Some(0), Some(1)),
        "{r}"
    );
    let list = expect(
        seed_get(&app, Some(&k), &format!("?project={id}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list, json!({"total": 0, "orders": []}));
    let view = expect(app.get(&format!("/projects/{id}")).await, StatusCode::OK).await;
    assert_eq!(view["counts"]["shippable"], 0, "{view}");
}

/// Issue 21: a sync into a provider nobody answers for does not stay RUNNING with `failed: 0`:
/// each job attempt's error is in the report (short, without the API key), and after the last
/// retry the sync is FAILED with its reason. (The worker's backoff is skipped by making the
/// retried job due at once.)
#[tokio::test]
async fn a_sync_to_an_unreachable_provider_reports_each_attempt_and_ends_failed() {
    use sqlx::Connection;
    let app = crate::helpers::spawn_app().await;
    // A port nothing listens on: bound, then released.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let id = project(&app, "Unreachable").await["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let linked = app
        .client
        .put(app.url(&format!("/projects/{id}/provider")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .json(&json!({"provider": "easypost", "api_key": "EZTK_secretkey", "webhook_secret": "s", "base_url": base, "return_address": shawn()}))
        .send()
        .await
        .unwrap();
    expect(linked, StatusCode::OK).await;
    let one = format!(
        "{HEADER}\n1,u-1,Ann,ann@example.com,US,Std,$1,\"2026/05/25, 10:00\",Ann,1 Main St,,Portland,OR,97201,US,\n"
    );
    import(&app, &id, "backers", "", &one).await;
    let sync = expect(
        app.post_json(&format!("/projects/{id}/sync"), &json!({}))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(sync["attempts"], json!([]), "{sync}");
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let path = format!(
        "/projects/{id}/syncs/{}",
        sync["object_id"].as_str().unwrap()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let mut seen_running_attempt = false;
    let s = loop {
        let s = expect(app.get(&path).await, StatusCode::OK).await;
        if s["status"] == "FAILED" {
            break s;
        }
        assert_eq!(s["status"], "RUNNING", "{s}");
        if !s["attempts"].as_array().unwrap().is_empty() {
            // Between retries the report already says why.
            seen_running_attempt = true;
            assert!(
                s["attempts"][0]["error"]
                    .as_str()
                    .unwrap()
                    .contains("/v2/shipments"),
                "{s}"
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sync never ended: {s}"
        );
        // Skip the backoff: a retried (unlocked) sync job is due now.
        sqlx::query(
            "UPDATE jobs SET run_at_ms = 0 WHERE kind = 'sync_project' AND done_ms IS NULL AND locked_until_ms IS NULL",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(seen_running_attempt, "{s}");
    let attempts = s["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 8, "{s}");
    for (i, a) in attempts.iter().enumerate() {
        assert_eq!(a["attempt"], i as u64 + 1, "{s}");
        let e = a["error"].as_str().unwrap();
        assert!(e.contains("POST /v2/shipments failed"), "{e}");
        assert!(e.chars().count() <= 200, "{e}");
    }
    assert_eq!(s["error"], attempts[7]["error"], "{s}");
    assert!(!s.to_string().contains("EZTK_secretkey"), "{s}");
    assert_eq!(
        (s["created"].as_u64(), s["failed"].as_u64()),
        (Some(0), Some(0)),
        "{s}"
    );
    // The job is over: nothing left to retry.
    crate::helpers::settled(&app.database_url).await;
    let again = expect(app.get(&path).await, StatusCode::OK).await;
    assert_eq!(again["attempts"].as_array().unwrap().len(), 8, "{again}");
}

/// Issue 21: without a mail server the custom API does not claim an email went: `emailSent` and
/// `emailQueued` are false, `email` says it is not configured, the project counts no dispatch
/// email, and the tracking CSV's dry run promises none.
#[tokio::test]
async fn without_a_mail_server_a_shipped_report_says_no_email_went() {
    let app = crate::helpers::spawn_app().await;
    let id = project(&app, "Mailless").await["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let two = format!(
        "{HEADER}\n1,m-1,Ann,ann@example.com,US,Std,$1,\"2026/05/25, 10:00\",Ann,1 Main St,,Portland,OR,97201,US,\n\
2,m-2,Bo,bo@example.com,US,Std,$1,\"2026/05/25, 11:00\",Bo,2 Main St,,Portland,OR,97201,US,\n"
    );
    import(&app, &id, "backers", "", &two).await;
    let k = key(&app, &id).await;
    let list = expect(
        seed_get(&app, Some(&k), &format!("?project={id}")).await,
        StatusCode::OK,
    )
    .await;
    let order = list["orders"][0]["orderId"].as_str().unwrap().to_string();
    let body = json!({"orderId": order, "trackingNumber": "1Z999AA10123456784", "carrier": "UPS", "status": "shipped"});
    let got = expect(seed_track(&app, Some(&k), &body).await, StatusCode::OK).await;
    assert_eq!(
        got,
        json!({"ok": true, "orderId": order, "trackingNumber": "1Z999AA10123456784",
               "carrier": "UPS", "status": "shipped", "changed": true,
               "emailQueued": false, "emailSent": false, "email": "not_configured"})
    );
    let view = expect(app.get(&format!("/projects/{id}")).await, StatusCode::OK).await;
    assert_eq!(
        (
            view["counts"]["shipped"].as_u64(),
            view["counts"]["dispatch_emails"].as_u64()
        ),
        (Some(1), Some(0)),
        "{view}"
    );
    let csv = "pledgeId,carrier,trackingNumber\nm-2,FedEx,771234567890\n";
    let dry = import(&app, &id, "tracking", "?dry_run=true", csv).await;
    assert_eq!(
        (
            dry["updated"].as_u64(),
            dry["dispatch_emails"].as_u64(),
            dry["email"].as_str()
        ),
        (Some(1), Some(0), Some("not_configured")),
        "{dry}"
    );
    let done = import(&app, &id, "tracking", "", csv).await;
    assert_eq!(
        (done["dispatch_emails"].as_u64(), done["email"].as_str()),
        (Some(0), Some("not_configured")),
        "{done}"
    );
    let view = expect(app.get(&format!("/projects/{id}")).await, StatusCode::OK).await;
    assert_eq!(view["counts"]["dispatch_emails"], 0, "{view}");
}

/// Issue 21: a backer report larger than the server's default body limit (2 MB) imports, as a
/// text/csv body and as a multipart file: the route has the import's own limit (64 MB). Other
/// routes keep the default.
#[tokio::test]
async fn a_backer_report_over_two_megabytes_imports() {
    let app = crate::helpers::spawn_app().await;
    let id = project(&app, "Big").await["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Two backers and a long column Consign does not read: 3 MB in all.
    let notes = "n".repeat(3 * 1024 * 1024);
    let csv = format!(
        "{HEADER},Shipping Delivery Notes\n1,b-1,Ann,ann@example.com,US,Std,$1,\"2026/05/25, 10:00\",Ann,1 Main St,,Portland,OR,97201,US,,{notes}\n\
2,b-2,Bo,bo@example.com,US,Std,$1,\"2026/05/25, 11:00\",Bo,2 Main St,,Portland,OR,97201,US,,\n"
    );
    assert!(csv.len() > 3 * 1024 * 1024);
    let r = import(&app, &id, "backers", "", &csv).await;
    assert_eq!(
        (
            r["rows"].as_u64(),
            r["created"].as_u64(),
            r["shippable"].as_u64()
        ),
        (Some(2), Some(2), Some(2)),
        "{}",
        r.to_string().chars().take(500).collect::<String>()
    );
    let mut form = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"backers.csv\"\r\nContent-Type: text/csv\r\n\r\n".to_vec();
    form.extend_from_slice(csv.as_bytes());
    form.extend_from_slice(b"\r\n--XyZ--\r\n");
    let res = app
        .client
        .post(app.url(&format!("/projects/{id}/backers/import")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(form)
        .send()
        .await
        .unwrap();
    let r = expect(res, StatusCode::OK).await;
    assert_eq!(
        (r["rows"].as_u64(), r["unchanged"].as_u64()),
        (Some(2), Some(2)),
        "{r}"
    );
    // The tracking upload keeps the default limit.
    let big =
        format!("pledgeId,carrier,trackingNumber,notes\nb-1,UPS,1Z999AA10123456784,{notes}\n");
    let res = app
        .client
        .post(app.url(&format!("/projects/{id}/tracking/import")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "text/csv")
        .body(big)
        .send()
        .await
        .unwrap();
    let e = expect(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(e["code"], "payload_too_large", "{e}");
}

/// Issue 21: a backer report whose header names a column Consign reads twice (two `Email`
/// columns) is refused naming it, instead of reading the first silently.
#[tokio::test]
async fn a_backer_report_with_a_duplicated_column_is_refused_naming_it() {
    let app = crate::helpers::spawn_app().await;
    let id = project(&app, "Dup").await["object_id"]
        .as_str()
        .unwrap()
        .to_string();
    let csv = "Backer UID,Email,Shipping Address 1,Email\nd-1,old@example.com,1 Main St,new@example.com\n";
    let res = app
        .client
        .post(app.url(&format!("/projects/{id}/backers/import")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let e = expect(res, StatusCode::BAD_REQUEST).await;
    let m = e["fields"]["email"][0].as_str().unwrap_or_default();
    assert!(
        m.contains("2 columns named \"Email\" (columns 2, 4)"),
        "{e}"
    );
    let view = expect(app.get(&format!("/projects/{id}")).await, StatusCode::OK).await;
    assert_eq!(view["counts"]["pledges"], 0, "{view}");
}
