//! Hostile and malformed input never produces a 5xx, and is answered in the error shape.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn nasty_inputs_get_4xx_never_5xx() {
    let app = spawn_app().await;
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let raw_bodies: Vec<(&str, String)> = vec![
        ("/addresses", deep.clone()),
        ("/parcels", deep),
        ("/addresses", "\u{0}".into()),
        ("/addresses", "{\"country\": \"US\", \"name\": \"\\u0000\"}".into()),
        ("/parcels", "{\"weight\": 1e400, \"mass_unit\": \"lb\"}".into()),
        ("/parcels", "{\"weight\": 123456789012345678901234567890, \"mass_unit\": \"lb\", \"template\": \"FedEx_Tube\"}".into()),
        ("/parcels", "{\"extra\": \"COD\"}".into()),
        ("/parcels", "{\"extra\": {\"COD\": [1, 2]}}".into()),
        ("/addresses", "{\"country\": [\"US\"]}".into()),
        ("/addresses", "{\"country\": \"\\ud800\"}".into()),
        ("/addresses", "null".into()),
        ("/addresses", "\"just a string\"".into()),
        ("/shipments", "{\"address_from\": [], \"address_to\": {}, \"parcels\": {}}".into()),
        ("/shipments", "{\"address_from\": {\"country\": \"US\\u0000\"}, \"address_to\": \"\\u0000\", \"parcels\": [null]}".into()),
        ("/shipments", "{\"parcels\": [1e400], \"extra\": {\"insurance\": {\"amount\": \"1e30\", \"currency\": \"USD\"}}}".into()),
        ("/shipments", "{\"carrier_accounts\": {\"a\": 1}, \"async\": \"maybe\"}".into()),
        ("/shipments", format!("{{\"parcels\": [{}]}}", vec!["\"0123456789abcdef0123456789abcdef\""; 500].join(","))),
    ];
    for (path, body) in raw_bodies {
        let res = app
            .client
            .post(app.url(path))
            .header("Authorization", &app.token)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = res.status();
        let json: serde_json::Value = res
            .json()
            .await
            .unwrap_or_else(|_| panic!("non-JSON answer to {body:.60}"));
        assert!(
            status.is_client_error(),
            "{path} {body:.60} → {status} {json}"
        );
        assert!(
            json["code"].is_string() && json["detail"].is_string(),
            "{json}"
        );
    }
    let json_bodies = vec![
        (
            "/parcels",
            json!({"length": "5", "width": "5", "height": "5", "distance_unit": "cm", "weight": "2", "mass_unit": "lb", "metadata": "a\u{0}b"}),
        ),
        (
            "/parcels",
            json!({"length": "5", "width": "5", "height": "5", "distance_unit": "cm", "weight": "2", "mass_unit": "lb", "extra": {"reference_1": "x\u{0}"}}),
        ),
        (
            "/parcels",
            json!({"length": "NaN", "width": "inf", "height": "-0", "distance_unit": "cm", "weight": "1e3", "mass_unit": "lb"}),
        ),
        ("/addresses", json!({"country": "US", "city": "\u{0}"})),
        (
            "/addresses",
            json!({"country": "US", "zip": "9".repeat(10_000)}),
        ),
    ];
    for (path, body) in json_bodies {
        let res = app.post_json(path, &body).await;
        let status = res.status();
        assert!(
            status.is_client_error() || status == StatusCode::CREATED,
            "{path} {body} → {status}"
        );
        assert_ne!(status, StatusCode::CREATED, "{path} {body} must be refused");
    }
    // Form bodies with odd keys.
    let res = app
        .post_form(
            "/addresses",
            &[("country[", "US"), ("][", "x"), ("name[a][b][c]", "y")],
        )
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    // Still healthy, nothing stored.
    let list: serde_json::Value = app.get("/addresses").await.json().await.unwrap();
    assert_eq!(list["count"], 0);
    let list: serde_json::Value = app.get("/parcels").await.json().await.unwrap();
    assert_eq!(list["count"], 0);
    let list: serde_json::Value = app.get("/shipments").await.json().await.unwrap();
    assert_eq!(list["count"], 0);
}

#[tokio::test]
async fn a_form_body_nested_ten_thousand_levels_deep_is_refused_and_the_server_lives_on() {
    let app = spawn_app().await;
    let hostile = format!("name{}=x", "[a]".repeat(10_000));
    assert!(hostile.len() > 30_000);
    let res = app
        .client
        .post(app.url("/addresses"))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(hostile)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "validation_error", "{body}");
    assert!(body.to_string().contains("levels deep"), "{body}");
    // Invalid UTF-8 in a form value is refused, not stored with replacement characters.
    let res = app
        .client
        .post(app.url("/addresses"))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=%ff%fe&country=US")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_body", "{body}");
    let list = app.get("/addresses").await;
    let list: serde_json::Value = list.json().await.unwrap();
    assert_eq!(list["results"], json!([]), "nothing was stored");
    // Still up.
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn invalid_utf8_in_a_path_segment_answers_the_json_error() {
    let app = spawn_app().await;
    for path in ["/track/%ff", "/addresses/%ff%fe", "/tracks/usps/%c3"] {
        let res = app
            .client
            .get(app.url(path))
            .header("Authorization", format!("ShippoToken {}", app.token))
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert!(status.is_client_error(), "{path} → {status}");
        assert_eq!(res.headers()["content-type"], "application/json", "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["code"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn email_templates_refuse_nul_and_other_control_characters_and_keep_the_old_ones() {
    let app = spawn_app().await;
    let put = |body: serde_json::Value| {
        app.client
            .put(app.url("/settings/notifications"))
            .header("Authorization", format!("ShippoToken {}", app.token))
            .json(&body)
            .send()
    };
    let ok = put(json!({"enabled": true, "shipped_text": "Hi {{tracking_number}}\n\tThanks"}))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    // NUL is refused at the edge, before any field is read.
    let res = put(json!({"enabled": true, "shipped_text": "Hi\u{0}there"}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_body", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("NUL"), "{body}");
    let res = put(
        json!({"enabled": true, "shipped_text": "Hi\u{1b}there", "delivered_subject": "Done\u{7}"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["fields"]["shipped_text"][0]
            .as_str()
            .unwrap()
            .contains("Control characters"),
        "{body}"
    );
    assert!(body["fields"]["delivered_subject"].is_array(), "{body}");
    let now: serde_json::Value = app
        .get("/settings/notifications")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["shipped_text"], "Hi {{tracking_number}}\n\tThanks");
}

#[tokio::test]
async fn a_bug_answers_500_with_a_request_id_and_no_internal_detail() {
    use sqlx::Connection;
    let app = spawn_app().await;
    let account = crate::labels::courier(&app).await;
    // A stored card that no longer validates (a bad manual edit, a bug in an old version).
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    sqlx::query(&format!(
        "UPDATE rate_cards SET card = '{{\"secret_internal_detail\": 1}}' WHERE carrier_account_id = '{account}'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let res = app
        .client
        .get(app.url(&format!("/carrier_accounts/{account}/rate_card")))
        .header("Authorization", format!("ShippoToken {}", app.token))
        .header("X-Request-Id", "probe-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(res.headers()["x-request-id"], "probe-42");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "internal_error", "{body}");
    assert_eq!(body["request_id"], "probe-42", "{body}");
    let text = body.to_string();
    assert!(
        !text.contains("secret_internal_detail") && !text.contains("no longer validates"),
        "opaque: {body}"
    );
    // Every answer carries an id, made up when the client sends none.
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.headers()["x-request-id"].len(), 32);
}

#[tokio::test]
async fn a_job_whose_payload_no_longer_decodes_is_abandoned_once_with_its_id_not_retried() {
    use sqlx::{Connection, Row};
    let app = spawn_app().await;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let id = domain::ObjectId::new().to_string();
    let now = domain::Timestamp::now().millis();
    sqlx::query(&format!(
        "INSERT INTO jobs (id, kind, payload, created_ms, run_at_ms, attempts) \
         VALUES ('{id}', 'buy_label', '{{\"account\": 42}}', {now}, {now}, 0)"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let row = loop {
        let row = sqlx::query(&format!(
            "SELECT done_ms, attempts, last_error FROM jobs WHERE id = '{id}'"
        ))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if row.try_get::<Option<i64>, _>("done_ms").unwrap().is_some() {
            break row;
        }
        assert!(std::time::Instant::now() < deadline, "the job never ended");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(row.try_get::<i64, _>("attempts").unwrap(), 1, "not retried");
    let error: String = row.try_get("last_error").unwrap();
    assert!(
        error.contains(&id) && error.contains("does not decode"),
        "{error}"
    );
}

#[tokio::test]
async fn past_its_budget_a_token_gets_429_with_retry_after_and_others_carry_on() {
    let app = crate::helpers::spawn_app_with(consign::config::Layer {
        rate_limit_per_token: Some(1),
        rate_limit_token_burst: Some(3),
        rate_limit_per_ip: Some(0),
        rate_limit_loopback: Some(true),
        ..Default::default()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/addresses").await.status(), StatusCode::OK);
    }
    let res = app.get("/addresses").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited", "{body}");
    // Another token has a budget of its own.
    let other = app.other_account_token(domain::account::Mode::Test).await;
    assert_eq!(
        app.get_as(&other, "/addresses").await.status(),
        StatusCode::OK
    );
    // The budget refills.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(app.get("/addresses").await.status(), StatusCode::OK);
}
