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
